/**
 * fetchApp(): a WSGI App that runs a WHATWG fetch handler,
 * `handler(request, env, ctx)` as Hono's `app.fetch`, Cloudflare Workers and
 * Bun modules have it (API.md, "Fetch-style apps" and "Rules of fetchApp").
 *
 * The life of a call: the URL is built (a host no URL can hold gets a 400);
 * the handler gets a lazy Request (request.ts), `env` (`{ environ }` plus
 * `opts.env`) and `ctx` (`waitUntil` as a post hook); what it returns is
 * checked to be Response-shaped and turned into a status, a header list
 * (response-headers.ts) and a body (response-body.ts). A handler that throws
 * or returns something else makes the gateway answer 500 and log the error.
 */

import { STATUS_CODES } from "node:http";
import type { App, Body, Environ, StartResponse } from "../gateway/types.js";
import { BadRequestUrlError, requestUrl } from "./request-url.js";
import { FetchRequest, finishRequest } from "./request.js";
import { installLightResponse, lightParts, type LightParts } from "./light-response.js";
import { classifyBody, streamBody, type ResponseBody } from "./response-body.js";
import { responseHeaderList, type HeadersLike } from "./response-headers.js";

/** The `env` a handler gets: the WSGI environ, and whatever `opts.env` adds. */
export interface FetchEnv {
  environ: Environ;
  [key: string]: unknown;
}

/** Cloudflare's ExecutionContext, as Hono's `c.executionCtx` expects it. */
export interface ExecutionContext {
  /** Runs `promise` past the response: a post hook awaits it (graceful close() waits for it too). */
  waitUntil(promise: Promise<unknown>): void;
  /** Accepted for compatibility; there is no origin to pass through to. */
  passThroughOnException(): void;
  readonly props: Record<string, unknown>;
}

export type FetchHandler = (request: Request, env: FetchEnv, ctx: ExecutionContext) => Response | Promise<Response>;

/** A handler, or a module with one (`export default { fetch }`). */
export type FetchModule = FetchHandler | { fetch: FetchHandler };

export interface FetchAppOptions {
  /** Keys added to every request's `env` (bindings, as Cloudflare's). */
  env?: Record<string, unknown>;
  /**
   * Replace the global `Response` with eventwsgi's lighter one (light-response.ts), as
   * @hono/node-server's serve() does by default; default true. It behaves as Node's own
   * in everything but cost: a Response made from a string goes out without a Headers,
   * a stream or undici's state ever being made.
   */
  overrideGlobalObjects?: boolean;
}

class Context implements ExecutionContext {
  readonly props: Record<string, unknown> = {};
  readonly #environ: Environ;

  constructor(environ: Environ) {
    this.#environ = environ;
  }

  waitUntil(promise: Promise<unknown>): void {
    const p = Promise.resolve(promise);
    // Settled before the hook awaits it is not "unhandled": the hook rethrows it, and the server logs it.
    p.catch(() => {});
    this.#environ["eventlet.posthooks"].push([() => p.then(() => undefined)]);
  }

  passThroughOnException(): void {}
}

/** The shape that makes a Response (API.md: recognised by shape, so polyfills and other realms work). */
interface ResponseShape {
  status: number;
  statusText?: string;
  headers: HeadersLike;
  body: unknown;
}

function isResponseShape(v: unknown): v is ResponseShape {
  return (
    v !== null &&
    typeof v === "object" &&
    typeof (v as ResponseShape).status === "number" &&
    "headers" in v &&
    typeof (v as ResponseShape).headers === "object" &&
    "body" in v
  );
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === "object" && typeof (v as { then?: unknown }).then === "function";
}

function describe(v: unknown): string {
  if (v === null || typeof v !== "object") return String(v);
  return Object.prototype.toString.call(v);
}

function statusLine(res: ResponseShape): string {
  const reason =
    typeof res.statusText === "string" && res.statusText.length > 0 ? res.statusText : STATUS_CODES[res.status];
  return `${res.status} ${reason ?? "Unknown"}`;
}

const NONE: ResponseBody = { kind: "none" };

/** No body, and no Content-Length invented (HEAD; API.md): an iterable that is not an array. */
const NO_BODY: Body = { [Symbol.iterator]: () => [][Symbol.iterator]() };

function send(result: unknown, environ: Environ, start: StartResponse, request: FetchRequest): Body | Promise<Body> {
  // The handler took the connection over (eventwsgi/hono's upgradeWebSocket): nothing more is sent.
  if (environ["eventlet.already_handled"] === true) {
    request[finishRequest]();
    return [];
  }
  // A light Response first: the shape check reads `headers`, which would make it a Headers.
  const light =
    result !== null && typeof result === "object"
      ? (result as { [lightParts]?: LightParts | null })[lightParts]
      : undefined;
  if (light == null && !isResponseShape(result)) {
    request[finishRequest]();
    throw new TypeError(`the fetch handler returned ${describe(result)}, not a Response`);
  }
  const res = result as ResponseShape;
  const headers = responseHeaderList(light != null ? light.headers : res.headers);
  const body: ResponseBody =
    light == null ? classifyBody(res) : light.body === null ? NONE : { kind: "known", chunk: light.body };
  if (environ.REQUEST_METHOD === "HEAD") {
    // RFC 9110 §9.3.2: no body; a Content-Length only if the Response has one.
    if (body.kind === "stream") body.stream.cancel().catch(() => {});
    request[finishRequest]();
    start(statusLine(res), headers);
    return NO_BODY;
  }
  switch (body.kind) {
    case "none":
      request[finishRequest]();
      start(statusLine(res), headers);
      return [];
    case "known": {
      request[finishRequest]();
      const chunk = body.chunk;
      if (typeof chunk === "string" || chunk instanceof Uint8Array) {
        start(statusLine(res), headers);
        return [chunk];
      }
      return chunk.then((bytes) => {
        start(statusLine(res), headers);
        return [bytes];
      });
    }
    case "stream":
      // Each chunk goes out as it comes: an SSE event is not held back by minimumChunkSize.
      environ["eventlet.minimum_write_chunk_size"] = 0;
      return streamBody(
        body.stream,
        (length) => {
          if (length !== null && !headers.some(([n]) => n.toLowerCase() === "content-length"))
            headers.push(["content-length", String(length)]);
          start(statusLine(res), headers);
        },
        () => {
          request[finishRequest]();
        },
      );
  }
}

function badRequest(start: StartResponse, err: BadRequestUrlError): Body {
  start("400 Bad Request", [
    ["Content-Type", "text/plain"],
    ["Connection", "close"],
  ]);
  return [`Bad Request: ${err.message}\n`];
}

/** A WSGI App running a fetch handler (or a `{ fetch }` module). */
export function fetchApp(handler: FetchModule, opts: FetchAppOptions = {}): App {
  const fetch: FetchHandler = typeof handler === "function" ? handler : (req, env, ctx) => handler.fetch(req, env, ctx);
  if (typeof fetch !== "function") throw new TypeError("fetchApp() needs a function or an object with a fetch method");
  const extra = opts.env;
  if (opts.overrideGlobalObjects !== false) installLightResponse();
  return (environ, startResponse) => {
    let url: string;
    try {
      url = requestUrl(environ);
    } catch (err) {
      if (err instanceof BadRequestUrlError) return badRequest(startResponse, err);
      throw err;
    }
    const request = new FetchRequest(environ, url);
    const env: FetchEnv = extra === undefined ? { environ } : { ...extra, environ };
    let result: Response | Promise<Response>;
    try {
      result = fetch(request as unknown as Request, env, new Context(environ));
    } catch (err) {
      request[finishRequest]();
      throw err;
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        (res) => send(res, environ, startResponse, request),
        (err: unknown) => {
          request[finishRequest]();
          throw err;
        },
      );
    }
    return send(result, environ, startResponse, request);
  };
}
