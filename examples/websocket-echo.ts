/** A WebSocket echo server on port 8090 (eventlet.websocket's first example). */

import { listen, server, WebSocketWSGI } from "eventwsgi";

const echo = WebSocketWSGI(async (ws) => {
  for await (const message of ws) await ws.send(message); // string for text, Buffer for binary
});

const wsgi = server(await listen(["", Number(process.env.PORT ?? 8090)]), echo);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void wsgi.close({ deadline: 10_000 });
  });
}
await wsgi.closed;
