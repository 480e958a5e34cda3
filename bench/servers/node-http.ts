/**
 * Benchmark child: the same routes as eventwsgi, written the ordinary way
 * for node:http (node:https with --cert/--key). Defaults are Node's own,
 * except in the idle scenario (--max-connections above 1024), where the
 * 5 s keepAliveTimeout is turned off so that idle connections stay open,
 * as they do on eventwsgi.
 *
 * `--app async` declares the handler `async` (node:http ignores the promise
 * it returns), the counterpart of eventwsgi's async app. Both upload routes
 * count the body's "data" events, node:http's cheapest ordinary way to read
 * it (and the one its own benchmarks use), in both styles.
 */

import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { BIG_BODY, HELLO_BODY, STREAM_CHUNK, STREAM_CHUNKS, parseServerArgs } from "./routes.js";
import { announceReady, serveIpc } from "./ipc.js";

const HELLO = Buffer.from(HELLO_BODY);

function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  switch (req.url) {
    case "/hello":
      res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": HELLO.length });
      res.end(HELLO);
      return;
    case "/big":
      res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": BIG_BODY.length });
      res.end(BIG_BODY);
      return;
    case "/echo":
    case "/echo-iter": {
      let length = 0;
      req.on("data", (chunk: Buffer) => {
        length += chunk.length;
      });
      req.on("end", () => {
        const text = String(length);
        res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": text.length });
        res.end(text);
      });
      return;
    }
    case "/stream":
      res.writeHead(200, { "Content-Type": "application/octet-stream" });
      for (let i = 0; i < STREAM_CHUNKS; i++) res.write(STREAM_CHUNK);
      res.end();
      return;
    default:
      res.writeHead(404, { "Content-Type": "text/plain", "Content-Length": 11 });
      res.end("not found\r\n");
  }
}

// eslint-disable-next-line @typescript-eslint/require-await -- the point: the same handler, declared async
async function handleAsync(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  handle(req, res);
}

const args = parseServerArgs(process.argv.slice(2));
const handler = args.app === "async" ? handleAsync : handle;
const srv =
  args.certFile !== null && args.keyFile !== null
    ? https.createServer({ cert: readFileSync(args.certFile), key: readFileSync(args.keyFile) }, handler)
    : http.createServer(handler);
if (args.maxConnections > 1024) srv.keepAliveTimeout = 0;
let open = 0;
srv.on("connection", (socket: import("node:net").Socket) => {
  open++;
  socket.once("close", () => open--);
});
srv.listen({ host: "127.0.0.1", port: 0, backlog: args.backlog }, () => {
  serveIpc(() => ({ connections: open }));
  const address = srv.address();
  announceReady(typeof address === "object" && address !== null ? address.port : 0, {
    server: "node:http",
    app: args.app,
  });
});
