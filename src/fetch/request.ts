/**
 * The `Request` a fetch handler gets: lazy, so that a handler that reads
 * only `method` and `url` (a router) costs no `Headers`, no stream, no
 * `AbortController` and no native `Request`.
 *
 * - `method`, `url`: plain strings from the environ.
 * - `headers`: a native `Headers` from `headers_raw`, in order, built on first use.
 * - `signal`: an `AbortController` made on first use, aborted when the client
 *   goes away before the response is complete (gateway/disconnect.ts), never after.
 * - `body`: a `ReadableStream` over `wsgi.input`, made on first use; `text()`,
 *   `json()`, `arrayBuffer()`, `bytes()` and `blob()` read the input directly.
 * - anything else (`formData()`, `clone()`, `cache`, passing it to
 *   `new Request(req)`): a native `Request` is made once and used from then on.
 *
 * Its prototype chain holds `Request.prototype`, so `req instanceof Request`;
 * and the native Request's internal symbols are forwarded to the native one,
 * so `new Request(req, init)` and undici's other internals accept it.
 */

import { onClientGone } from "../gateway/disconnect.js";
import type { Environ } from "../gateway/types.js";
import { inputStream, ownArrayBuffer, readAll, utf8 } from "./request-body.js";

/** Called by fetchApp once the response is complete: stop watching the client. */
export const finishRequest = Symbol("eventwsgi.finishRequest");

function bodyUnusable(): Promise<never> {
  return Promise.reject(new TypeError("Body is unusable: it has already been read"));
}

export class FetchRequest {
  readonly #environ: Environ;
  readonly #url: string;
  #headers: Headers | null = null;
  #controller: AbortController | null = null;
  #unwatch: (() => void) | null = null;
  #finished = false;
  #stream: ReadableStream<Uint8Array> | null = null;
  #readDirectly = false;
  #native: Request | null = null;

  constructor(environ: Environ, url: string) {
    this.#environ = environ;
    this.#url = url;
  }

  get method(): string {
    return this.#environ.REQUEST_METHOD;
  }

  get url(): string {
    return this.#url;
  }

  get headers(): Headers {
    if (this.#headers === null) {
      const headers = new Headers();
      // Latin-1 strings, as the server decoded them: fetch's ByteStrings.
      for (const [name, value] of this.#environ.headers_raw) headers.append(name, value);
      this.#headers = headers;
    }
    return this.#headers;
  }

  get signal(): AbortSignal {
    if (this.#controller === null) {
      const controller = new AbortController();
      this.#controller = controller;
      if (!this.#finished) {
        this.#unwatch = onClientGone(this.#environ, () => {
          controller.abort(new DOMException("the client went away", "AbortError"));
        });
      }
    }
    return this.#controller.signal;
  }

  /** GET and HEAD have none (a fetch Request cannot); every other method has a stream, maybe empty. */
  get #hasBody(): boolean {
    const m = this.#environ.REQUEST_METHOD;
    return m !== "GET" && m !== "HEAD";
  }

  get body(): ReadableStream<Uint8Array> | null {
    if (this.#native !== null) return this.#native.body;
    if (!this.#hasBody) return null;
    if (this.#stream === null) {
      this.#stream = inputStream(this.#environ["wsgi.input"]);
      if (this.#readDirectly) void this.#stream.cancel();
    }
    return this.#stream;
  }

  get bodyUsed(): boolean {
    if (this.#native !== null) return this.#native.bodyUsed;
    if (this.#readDirectly) return true;
    return this.#stream?.locked ?? false;
  }

  /** The body's bytes, straight from the input when nothing else has touched it. */
  async #bytes(): Promise<Uint8Array> {
    if (!this.#hasBody) return new Uint8Array(0);
    if (this.#native !== null || this.#stream !== null) return new Uint8Array(await this.#toNative().arrayBuffer());
    if (this.#readDirectly) return bodyUnusable();
    this.#readDirectly = true;
    return readAll(this.#environ["wsgi.input"]);
  }

  text(): Promise<string> {
    return this.#bytes().then(utf8);
  }

  json(): Promise<unknown> {
    return this.text().then(JSON.parse);
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#bytes().then(ownArrayBuffer);
  }

  bytes(): Promise<Uint8Array> {
    return this.#bytes().then((b) => new Uint8Array(ownArrayBuffer(b)));
  }

  blob(): Promise<Blob> {
    return this.#bytes().then((b) => new Blob([b], { type: this.headers.get("content-type") ?? "" }));
  }

  formData(): Promise<FormData> {
    if (this.#readDirectly && this.#native === null) return bodyUnusable();
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- the fetch API a handler calls; undici parses it
    return this.#toNative().formData();
  }

  clone(): Request {
    if (this.#readDirectly && this.#native === null) throw new TypeError("Body is unusable: it has already been read");
    return this.#toNative().clone();
  }

  /** The native Request, made once; from then on it holds the body. */
  #toNative(): Request {
    if (this.#native === null) {
      const init: RequestInit & { duplex?: "half" } = {
        method: this.method,
        headers: this.headers,
        signal: this.signal,
      };
      if (this.#hasBody) {
        init.body = this.#readDirectly ? new Uint8Array(0) : this.body;
        init.duplex = "half";
      }
      this.#native = new Request(this.#url, init);
    }
    return this.#native;
  }

  /** @internal the native Request (for the forwarded properties below). */
  get [Symbol.for("eventwsgi.nativeRequest")](): Request {
    return this.#toNative();
  }

  /** The response is complete: the signal will never abort now; the watch is dropped. */
  [finishRequest](): void {
    this.#finished = true;
    this.#unwatch?.();
    this.#unwatch = null;
  }
}

const NATIVE = Symbol.for("eventwsgi.nativeRequest");

/** Forwards a property of Request to the native request, made on first use. */
function forward(key: string | symbol): void {
  Object.defineProperty(FetchRequest.prototype, key, {
    get(this: Record<symbol, Request>) {
      return (this[NATIVE] as unknown as Record<string | symbol, unknown>)[key];
    },
    configurable: true,
  });
}

Object.setPrototypeOf(FetchRequest.prototype, Request.prototype);
// Request's other attributes (cache, credentials, destination, duplex, integrity, keepalive, mode, redirect, referrer, ...).
for (const key of Object.getOwnPropertyNames(Request.prototype)) {
  if (key === "constructor" || Object.prototype.hasOwnProperty.call(FetchRequest.prototype, key)) continue;
  const desc = Object.getOwnPropertyDescriptor(Request.prototype, key);
  if (desc?.get !== undefined) forward(key);
}
// undici's internal slots (state, headers, signal, dispatcher, ...): new Request(req) reads them.
for (const key of Object.getOwnPropertySymbols(new Request("http://localhost/"))) forward(key);
