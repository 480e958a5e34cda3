/**
 * wsgiFetch(): a WSGI app as a fetch handler, `(request) => Promise<Response>`,
 * run in-process with no socket — for tests, and for mounting a WSGI app in a
 * fetch router.
 *
 * It drives the server's own gateway, not a copy: the request's head is
 * written out as HTTP/1.1 bytes and read back by the server's parser (so a
 * request the server would refuse is refused here too, with its 4xx), the
 * environ, Input and Exchange are the ones the server makes, and the
 * response the Exchange writes is read back from its framing (memory-host.ts).
 * Post hooks run once the response has been read or abandoned, and `close()`
 * on the body exactly once, as on a connection.
 */

import { buildEnviron, type ConnectionInfo } from "../gateway/environ.js";
import { Input } from "../gateway/input.js";
import { Outcome } from "../gateway/phase.js";
import { Exchange } from "../gateway/response.js";
import type { App, Environ, PostHook } from "../gateway/types.js";
import { HttpProtocolError } from "../errors.js";
import { requestFraming, type RequestFraming } from "../http1/request-framing.js";
import { RequestHeadParser, type RequestHead } from "../http1/request-head.js";
import { normalizeOptions, type ServerConfig, type ServerOptions } from "../options.js";
import { describeError } from "../errors.js";
import { MemoryHost } from "./memory-host.js";
import { requestBodyLength } from "./undici-state.js";

/** Options: the ServerOptions that matter without a socket, and who the client is said to be. */
export type WsgiFetchOptions = Pick<
  ServerOptions,
  "environ" | "log" | "debug" | "minimumChunkSize" | "capitalizeResponseHeaders" | "urlLengthLimit"
> & {
  /** REMOTE_ADDR (default "127.0.0.1"). */
  remoteAddr?: string;
  /** REMOTE_PORT (default ""). */
  remotePort?: string;
};

/** The request's head as bytes the server's parser reads. */
function headBytes(request: Request, url: URL, chunked: boolean, length: number | undefined): Buffer {
  let text = `${request.method} ${url.pathname}${url.search} HTTP/1.1\r\n`;
  let hasHost = false;
  for (const [name, value] of request.headers) {
    if (name === "host") hasHost = true;
    if (name === "transfer-encoding" || name === "connection" || name === "keep-alive") continue;
    if (chunked && name === "content-length") continue;
    text += `${name}: ${value}\r\n`;
  }
  if (!hasHost) text = text.replace("\r\n", `\r\nHost: ${url.host}\r\n`);
  if (chunked) text += "Transfer-Encoding: chunked\r\n";
  else if (length !== undefined && request.headers.get("content-length") === null)
    text += `Content-Length: ${length}\r\n`;
  return Buffer.from(`${text}\r\n`, "latin1");
}

function parseHead(bytes: Buffer, config: ServerConfig): { head: RequestHead; framing: RequestFraming } {
  const parser = new RequestHeadParser(config.headLimits);
  if (parser.execute(bytes, 0, bytes.length) < 0) throw new Error("wsgiFetch: incomplete request head");
  const head = parser.head;
  return { head, framing: requestFraming(head, config.rejectBadRequests) };
}

/** Feeds the request's body into the Input, a chunk at a time as the app reads it. */
async function pumpBody(body: ReadableStream<Uint8Array>, input: Input, host: MemoryHost): Promise<void> {
  const reader = body.getReader();
  try {
    for (;;) {
      // Backpressure: wait while the app has bytes it has not read, unless a read waits for more.
      while (input.buffered > 0 && !input.waiting && !host.gone) await host.nextRead();
      if (host.gone) {
        await reader.cancel();
        return;
      }
      const r = await reader.read();
      if (r.done) break;
      input.push(Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength));
    }
    input.end();
  } catch (err) {
    input.fail(err instanceof Error ? err : new Error(String(err)));
  }
}

async function runHooks(environ: Environ, config: ServerConfig): Promise<void> {
  const hooks: PostHook[] = environ["eventlet.posthooks"];
  for (const [fn, args = [], kwargs] of hooks) {
    try {
      await (kwargs === undefined ? fn(environ, ...args) : fn(environ, ...args, kwargs));
    } catch (err) {
      config.log.error(describeError(err));
    }
  }
}

/** A fetch handler that runs `app` in-process. */
export function wsgiFetch(app: App, opts: WsgiFetchOptions = {}): (request: Request) => Promise<Response> {
  const config = normalizeOptions({ ...opts, logOutput: false });
  return async (request) => {
    const url = new URL(request.url);
    const hasBody = request.body !== null;
    // A body made from a string or bytes has a length undici knows (and sends as Content-Length).
    const declared = request.headers.get("content-length") ?? requestBodyLength(request);
    let parsed;
    try {
      parsed = parseHead(
        headBytes(request, url, hasBody && declared === undefined, typeof declared === "number" ? declared : undefined),
        config,
      );
    } catch (err) {
      // Refused as the server refuses it (400, 414, 431, 501).
      if (!(err instanceof HttpProtocolError)) throw err;
      return new Response(`${err.message}\n`, { status: err.status, headers: { "content-type": "text/plain" } });
    }
    const { head, framing } = parsed;
    const host = new MemoryHost(config, head.method === "HEAD");
    const empty = !framing.chunked && framing.contentLength <= 0;
    const input = new Input(host, false, empty);
    const info: ConnectionInfo = {
      serverName: url.hostname.replace(/^\[|\]$/g, ""),
      serverPort: url.port !== "" ? url.port : url.protocol === "https:" ? "443" : "80",
      remoteAddr: opts.remoteAddr ?? "127.0.0.1",
      remotePort: opts.remotePort ?? "",
      https: url.protocol === "https:",
      setIdle: () => {},
      errors: { write: (s: string) => process.stderr.write(s) },
    };
    const environ = buildEnviron(head, framing, info, input, config.environ);
    const exchange = new Exchange(host, head, framing, environ, input);
    // The caller cancelling the body or aborting its request is the client leaving (request.signal).
    host.onGone(() => {
      exchange.clientGone();
    });
    if (!empty && request.body !== null) void pumpBody(request.body, input, host);
    else if (request.body !== null) void request.body.cancel();
    const onAbort = (): void => {
      host.leave();
    };
    if (request.signal.aborted) host.leave();
    else request.signal.addEventListener("abort", onAbort, { once: true });
    void Promise.resolve(exchange.run(app)).then(async () => {
      host.end(exchange.outcome === Outcome.Aborted);
      request.signal.removeEventListener("abort", onAbort);
      await runHooks(environ, config);
    });
    const { status, statusText, headers } = await host.head;
    const nullBody = head.method === "HEAD" || status === 204 || status === 304 || status < 200;
    if (nullBody) void host.body.cancel();
    return new Response(nullBody ? null : host.body, { status: status < 200 ? 502 : status, statusText, headers });
  };
}
