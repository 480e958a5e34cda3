/**
 * A WebSocket echo server for bench/websocket.ts, as a harness child: `eventwsgi` (WebSocketWSGI on
 * eventwsgi) or `ws` (the ws package on node:http, its usual deployment). No compression on either
 * (ws's server default), no heartbeat (ws has none built in). Reports its port over IPC.
 */

import http from "node:http";
import { WebSocketServer } from "ws";
import { listen, server, WebSocketWSGI } from "../src/index.js";
import { announceReady, serveIpc } from "./servers/ipc.js";

const kind = process.argv[2] ?? "eventwsgi";
let connections = 0;

if (kind === "eventwsgi") {
  const app = WebSocketWSGI(
    async (ws) => {
      connections++;
      try {
        for await (const m of ws) await ws.send(m);
      } finally {
        connections--;
      }
    },
    { permessageDeflate: false, heartbeat: 0, maxMessageBytes: 64 << 20 },
  );
  const srv = server(await listen(["127.0.0.1", 0], { backlog: 4096 }), app, { logOutput: false, maxSize: 100000 });
  serveIpc(() => ({ connections }));
  announceReady((srv.address as { port: number }).port, { kind });
} else {
  const httpServer = http.createServer();
  const wss = new WebSocketServer({ server: httpServer, perMessageDeflate: false, maxPayload: 64 << 20 });
  wss.on("connection", (ws) => {
    connections++;
    ws.on("message", (data, isBinary) => {
      ws.send(data, { binary: isBinary });
    });
    ws.on("close", () => connections--);
  });
  await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", 4096, resolve));
  serveIpc(() => ({ connections }));
  announceReady((httpServer.address() as { port: number }).port, { kind });
}
