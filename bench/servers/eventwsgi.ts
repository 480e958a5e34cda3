/**
 * Benchmark child: eventwsgi serving the routes of routes.ts on
 * 127.0.0.1 (a free port), over TLS with --cert/--key. Started by the
 * harness (bench/run.ts, bench/soak.ts, bench/profile.ts) with an IPC channel.
 *
 * Two routes beyond routes.ts, used by the soak only:
 *   GET /write  the body sent through write() alone (chunked, no Content-Length)
 *   GET /error  the application throws: a 500 and a closed connection
 *
 * The stream route leaves eventlet.minimum_write_chunk_size alone: the
 * default minimumChunkSize (4096) gathers the 1 KiB chunks four at a time.
 */

import { listen, server, wrapSsl, type Body, type Environ, type StartResponse } from "../../src/index.js";
import { BIG_BODY, HELLO_BODY, STREAM_CHUNK, STREAM_CHUNKS, parseServerArgs } from "./routes.js";
import { announceReady, serveIpc } from "./ipc.js";

const TEXT: [string, string][] = [["Content-Type", "text/plain"]];
const OCTETS: [string, string][] = [["Content-Type", "application/octet-stream"]];

function* stream(): Generator<Uint8Array> {
  for (let i = 0; i < STREAM_CHUNKS; i++) yield STREAM_CHUNK;
}

async function echoLength(environ: Environ, startResponse: StartResponse): Promise<Body> {
  // Chunk by chunk, as node-http.ts counts its "data" events: both read every byte, neither copies them together.
  let length = 0;
  for await (const chunk of environ["wsgi.input"]) length += chunk.length;
  startResponse("200 OK", TEXT);
  return [String(length)];
}

function app(environ: Environ, startResponse: StartResponse): Body | Promise<Body> {
  switch (environ.PATH_INFO) {
    case "/hello":
      startResponse("200 OK", TEXT);
      return [HELLO_BODY];
    case "/big":
      startResponse("200 OK", OCTETS);
      return [BIG_BODY];
    case "/echo":
      return echoLength(environ, startResponse);
    case "/stream":
      startResponse("200 OK", OCTETS);
      return stream();
    case "/write": {
      const write = startResponse("200 OK", TEXT);
      void write("written ");
      void write("through write()\r\n");
      return [];
    }
    case "/error":
      throw new Error("soak: an application error on purpose");
    default:
      startResponse("404 Not Found", TEXT);
      return ["not found\r\n"];
  }
}

const args = parseServerArgs(process.argv.slice(2));
let sock = await listen(["127.0.0.1", 0], { backlog: args.backlog });
if (args.certFile !== null && args.keyFile !== null) {
  sock = wrapSsl(sock, { certfile: args.certFile, keyfile: args.keyFile, serverSide: true });
}
// Application errors (the soak's /error) are logged through log.error; keep them off the terminal.
const quiet = { info: () => {}, debug: () => {}, error: () => {} };
const wsgi = server(sock, app, { logOutput: false, log: quiet, maxSize: args.maxConnections });
serveIpc(() => ({ connections: wsgi.connectionCount, outstandingRequests: wsgi.outstandingRequests }));
const address = wsgi.address;
announceReady("port" in address ? address.port : 0, { server: "eventwsgi" });
