/**
 * Hono's WebSocket helper on eventwsgi: `upgradeWebSocket` from `eventwsgi/hono`, served with
 * fetchApp. `node dist/examples/websocket-hono.js`, then connect to ws://localhost:8090/ws.
 */

import { Hono } from "hono";
import { fetchApp, listen, server } from "eventwsgi";
import { upgradeWebSocket } from "eventwsgi/hono";

const app = new Hono();
app.get("/", (c) => c.text("WebSocket at /ws\n"));
app.get(
  "/ws",
  upgradeWebSocket(() => ({
    onMessage(evt, ws) {
      ws.send(`echo: ${String((evt as { data: unknown }).data)}`);
    },
    onClose() {
      console.log("connection closed");
    },
  })),
);

const wsgi = server(await listen(["", Number(process.env.PORT ?? 8090)]), fetchApp(app));
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void wsgi.close({ deadline: 10_000 });
  });
}
await wsgi.closed;
