/**
 * Benchmark child: eventwsgi serving the routes of routes.ts through a
 * fetch-style handler (`fetchApp`, WHATWG Request → Response), as Hono,
 * Bun and Cloudflare apps are written; every response comes from a promise.
 * /echo reads the body with its reader until done, /echo-iter with
 * `for await`.
 *
 * The hook for the fetch adapter: while `fetchApp` is not exported yet (it
 * is built on another branch), this child says so in its ready message
 * (`unavailable`) and exits, and the harness leaves its column out.
 */

import * as eventwsgi from "../../src/index.js";
import type { App } from "../../src/index.js";
import { BIG_BODY, HELLO_BODY, STREAM_CHUNK, STREAM_CHUNKS, parseServerArgs } from "./routes.js";
import { announceReady, serveIpc } from "./ipc.js";

type FetchHandler = (request: Request) => Promise<Response>;

const TEXT = { "Content-Type": "text/plain" };
const OCTETS = { "Content-Type": "application/octet-stream" };

async function lengthByReader(body: ReadableStream<Uint8Array> | null): Promise<number> {
  if (body === null) return 0;
  const reader = body.getReader();
  let length = 0;
  for (;;) {
    const r = await reader.read();
    if (r.done) return length;
    length += r.value.length;
  }
}

async function lengthByIteration(body: ReadableStream<Uint8Array> | null): Promise<number> {
  if (body === null) return 0;
  let length = 0;
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) length += chunk.length;
  return length;
}

function streamBody(): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent++ < STREAM_CHUNKS) controller.enqueue(STREAM_CHUNK);
      else controller.close();
    },
  });
}

async function handler(request: Request): Promise<Response> {
  const url = request.url;
  const path = url.slice(url.indexOf("/", url.indexOf("//") + 2)); // as Hono's getPath: no URL object
  switch (path) {
    case "/hello":
      return new Response(HELLO_BODY, { headers: TEXT });
    case "/big":
      return new Response(BIG_BODY, { headers: OCTETS });
    case "/echo":
      return new Response(String(await lengthByReader(request.body)), { headers: TEXT });
    case "/echo-iter":
      return new Response(String(await lengthByIteration(request.body)), { headers: TEXT });
    case "/stream":
      return new Response(streamBody(), { headers: OCTETS });
    default:
      return new Response("not found\r\n", { status: 404, headers: TEXT });
  }
}

const fetchApp = (eventwsgi as Record<string, unknown>).fetchApp as ((h: FetchHandler) => App) | undefined;
if (typeof fetchApp !== "function") {
  serveIpc(() => ({}));
  announceReady(0, { server: "eventwsgi-fetch", unavailable: "fetchApp is not exported by src/index.ts yet" });
} else {
  const args = parseServerArgs(process.argv.slice(2));
  let sock = await eventwsgi.listen(["127.0.0.1", 0], { backlog: args.backlog });
  if (args.certFile !== null && args.keyFile !== null) {
    sock = eventwsgi.wrapSsl(sock, { certfile: args.certFile, keyfile: args.keyFile, serverSide: true });
  }
  const quiet = { info: () => {}, debug: () => {}, error: () => {} };
  const wsgi = eventwsgi.server(sock, fetchApp(handler), {
    logOutput: false,
    log: quiet,
    maxSize: args.maxConnections,
  });
  serveIpc(() => ({ connections: wsgi.connectionCount, outstandingRequests: wsgi.outstandingRequests }));
  const address = wsgi.address;
  announceReady("port" in address ? address.port : 0, { server: "eventwsgi-fetch", app: "async" });
}
