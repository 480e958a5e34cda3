/** The application side of the gateway (PEP 3333, with asynchronous reads). */

import type { Input } from "./input.js";

/** A body chunk; a string is sent as UTF-8. */
export type Chunk = Uint8Array | string;

/** What an application returns: any (async) iterable of chunks, with an optional close(). */
export type Body = (Iterable<Chunk> | AsyncIterable<Chunk>) & { close?(): void | Promise<void> };

/** write(), as returned by startResponse: resolves once the socket has taken the data. */
export type Write = (data: Chunk) => Promise<void>;

export type StartResponse = (status: string, headers: [string, string][], excInfo?: unknown) => Write;

export type App = (environ: Environ, startResponse: StartResponse) => Body | Promise<Body>;

/** A post hook: called as fn(environ, ...args[, kwargs]) after the response. */

export type PostHook = [
  // any[], as docs/api.md gives it: a hook's own parameter types ((env, what: string) => …) must be accepted,
  // which unknown[] would refuse.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  fn: (env: Environ, ...args: any[]) => void | Promise<void>,
  args?: unknown[],
  kwargs?: Record<string, unknown>,
];

/** A writable stream, as wsgi.errors. */
export interface ErrorStream {
  write(chunk: string): unknown;
}

/** The environ: CGI variables and the wsgi.* / eventlet.* keys (docs/api.md, "The environ"). */
export interface Environ {
  REQUEST_METHOD: string;
  SCRIPT_NAME: string;
  PATH_INFO: string;
  RAW_PATH_INFO: string;
  QUERY_STRING?: string;
  CONTENT_TYPE: string;
  CONTENT_LENGTH?: string;
  SERVER_NAME: string;
  SERVER_PORT: string;
  SERVER_PROTOCOL: string;
  REMOTE_ADDR: string;
  REMOTE_PORT: string;
  GATEWAY_INTERFACE: string;
  HTTPS?: string;
  headers_raw: [string, string][];
  "wsgi.version": [number, number];
  "wsgi.url_scheme": "http" | "https";
  "wsgi.input": Input;
  "eventlet.input": Input;
  "wsgi.errors": ErrorStream;
  "wsgi.multithread": boolean;
  "wsgi.multiprocess": boolean;
  "wsgi.run_once": boolean;
  "eventlet.posthooks": PostHook[];
  "eventlet.set_idle": () => void;
  "eventlet.minimum_write_chunk_size"?: number;
  "eventlet.already_handled"?: boolean;
  [key: string]: unknown;
}
