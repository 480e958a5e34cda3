/**
 * A chat room: GET / serves the page (websocket-chat.html), /ws is the WebSocket. Every message is
 * sent to everyone; "/quit" closes the sender's connection with 4000. Run it with
 * `node dist/examples/websocket-chat.js` and open http://localhost:8090/ in two tabs.
 */

import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { listen, server, WebSocketWSGI, type App, type WebSocket } from "eventwsgi";

/** The chat as a WSGI app: the page at "/", the room at "/ws". */
export function chatApp(): App {
  // From dist/examples/ or examples/: the page stays beside the source.
  const page = readFileSync(new URL("../../examples/websocket-chat.html", import.meta.url));
  const room = new Set<WebSocket>();
  let nextId = 1;

  const ws = WebSocketWSGI(async (client) => {
    const name = `guest${nextId++}`;
    room.add(client);
    try {
      for await (const message of client) {
        if (typeof message !== "string") continue;
        if (message === "/quit") {
          await client.close(4000, "bye");
          break;
        }
        // Everyone at once; one slow reader does not hold up the others' sends.
        await Promise.allSettled([...room].map((peer) => peer.send(`${name}: ${message}`)));
      }
    } finally {
      room.delete(client);
    }
  });

  return (environ, startResponse) => {
    if (environ.PATH_INFO === "/ws") return ws(environ, startResponse);
    if (environ.PATH_INFO === "/") {
      startResponse("200 OK", [["Content-Type", "text/html; charset=utf-8"]]);
      return [page];
    }
    startResponse("404 Not Found", [["Content-Type", "text/plain"]]);
    return ["not found\n"];
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = Number(process.env.PORT ?? 8090);
  const wsgi = server(await listen(["", port]), chatApp());
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      void wsgi.close({ deadline: 10_000 });
    });
  }
  await wsgi.closed;
}
