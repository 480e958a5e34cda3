/**
 * Benchmark child: eventwsgi serving the routes of routes.ts on
 * 127.0.0.1 (a free port), over TLS with --cert/--key. Started by the
 * harness (bench/run.ts, bench/soak.ts, bench/profile.ts) with an IPC channel.
 *
 * `--app sync` (the default) serves a plain function returning arrays;
 * `--app async` the same routes from an `async function app`, as most real
 * apps are written. The upload routes read the body as real apps do:
 * /echo with `await input.read(65536)` until it is empty, /echo-iter with
 * `for await`; neither joins the chunks.
 *
 * Two routes beyond routes.ts, used by the soak only:
 *   GET /write  the body sent through write() alone (chunked, no Content-Length)
 *   GET /error  the application throws: a 500 and a closed connection
 *
 * The stream route leaves eventlet.minimum_write_chunk_size alone: the
 * default minimumChunkSize (4096) gathers the 1 KiB chunks four at a time.
 */

import {
  listen,
  server,
  wrapSsl,
  type App,
  type Body,
  type Environ,
  type Input,
  type StartResponse,
} from "../../src/index.js";
import { BIG_BODY, HELLO_BODY, READ_SIZE, STREAM_CHUNK, STREAM_CHUNKS, parseServerArgs } from "./routes.js";
import { announceReady, serveIpc } from "./ipc.js";

const HELLO: [string, string][] = [
  ["Content-Type", "text/plain"],
  ["Content-Length", String(HELLO_BODY.length)],
];
const TEXT: [string, string][] = [["Content-Type", "text/plain"]];
const OCTETS: [string, string][] = [["Content-Type", "application/octet-stream"]];

function* stream(): Generator<Uint8Array> {
  for (let i = 0; i < STREAM_CHUNKS; i++) yield STREAM_CHUNK;
}

/** The body's length, read with read(65536) until it is empty. */
async function lengthByRead(input: Input): Promise<number> {
  let length = 0;
  for (;;) {
    const chunk = await input.read(READ_SIZE);
    if (chunk.length === 0) return length;
    length += chunk.length;
  }
}

/** The body's length, read with for await. */
async function lengthByIteration(input: Input): Promise<number> {
  let length = 0;
  for await (const chunk of input) length += chunk.length;
  return length;
}

function answerLength(length: number, startResponse: StartResponse): Body {
  const text = String(length);
  startResponse("200 OK", [...TEXT, ["Content-Length", String(text.length)]]);
  return [text];
}

/** Everything but the uploads, answered synchronously (shared by both styles). */
function answer(environ: Environ, startResponse: StartResponse): Body {
  switch (environ.PATH_INFO) {
    case "/hello":
      startResponse("200 OK", HELLO);
      return [HELLO_BODY];
    case "/big":
      startResponse("200 OK", OCTETS);
      return [BIG_BODY];
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

function syncApp(environ: Environ, startResponse: StartResponse): Body | Promise<Body> {
  switch (environ.PATH_INFO) {
    case "/echo":
      return lengthByRead(environ["wsgi.input"]).then((n) => answerLength(n, startResponse));
    case "/echo-iter":
      return lengthByIteration(environ["wsgi.input"]).then((n) => answerLength(n, startResponse));
    default:
      return answer(environ, startResponse);
  }
}

async function asyncApp(environ: Environ, startResponse: StartResponse): Promise<Body> {
  switch (environ.PATH_INFO) {
    case "/echo":
      return answerLength(await lengthByRead(environ["wsgi.input"]), startResponse);
    case "/echo-iter":
      return answerLength(await lengthByIteration(environ["wsgi.input"]), startResponse);
    default:
      return answer(environ, startResponse);
  }
}

const args = parseServerArgs(process.argv.slice(2));
const app: App = args.app === "async" ? asyncApp : syncApp;
let sock = await listen(["127.0.0.1", 0], { backlog: args.backlog });
if (args.certFile !== null && args.keyFile !== null) {
  sock = wrapSsl(sock, { certfile: args.certFile, keyfile: args.keyFile, serverSide: true });
}
// Application errors (the soak's /error) are logged through log.error; keep them off the terminal.
const quiet = { info: () => {}, debug: () => {}, error: () => {} };
const wsgi = server(sock, app, { logOutput: false, log: quiet, maxSize: args.maxConnections });
serveIpc(() => ({ connections: wsgi.connectionCount, outstandingRequests: wsgi.outstandingRequests }));
const address = wsgi.address;
announceReady("port" in address ? address.port : 0, { server: "eventwsgi", app: args.app });
