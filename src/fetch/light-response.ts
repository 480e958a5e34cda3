/**
 * A lighter `Response`, as @hono/node-server has one: `new Response("text",
 * init)` made for the server to send costs no Headers, no ReadableStream and
 * no undici state until someone reads more than `status` and `headers`.
 * fetchApp installs it as the global `Response` (as @hono/node-server's serve()
 * does) unless told not to (`overrideGlobalObjects: false`).
 *
 * It is made light only for a string, bytes or no body; anything else (a
 * stream, a Blob, FormData) goes to Node's own Response at once. Any member
 * other than status, statusText, ok and headers makes the native Response
 * (once) and answers from it; undici's internal slots are forwarded to it, so
 * `new Response(res.body, res)`, `res.clone()` and `fetch` internals see a
 * real one. `instanceof Response` holds for both kinds.
 */

const NativeResponse = globalThis.Response;
const DEFAULT_TEXT_TYPE = "text/plain;charset=UTF-8";

/** What fetchApp reads of a light Response that nothing has made native: [status, statusText, body, headers]. */
export const lightParts = Symbol("eventwsgi.lightResponse");

export type LightHeaders = Headers | [string, string][] | Record<string, string> | undefined;
export interface LightParts {
  status: number;
  statusText: string;
  body: string | Uint8Array | null;
  /** The headers as given (not a Headers unless one was given, or `headers` was read). */
  headers: LightHeaders;
}

function isLightBody(body: unknown): body is string | Uint8Array | null | undefined {
  return body === null || body === undefined || typeof body === "string" || body instanceof Uint8Array;
}

function hasContentType(headers: LightHeaders): boolean {
  if (headers === undefined) return false;
  if (headers instanceof Headers) return headers.has("content-type");
  if (Array.isArray(headers)) return headers.some(([n]) => n.toLowerCase() === "content-type");
  for (const k in headers) if (k.length === 12 && k.toLowerCase() === "content-type") return true;
  return false;
}

export class LightResponse {
  #parts: LightParts | null;
  #native: Response | null = null;

  constructor(body?: ConstructorParameters<typeof Response>[0], init?: ResponseInit) {
    const status = init?.status ?? 200;
    const plainHeaders =
      init?.headers === undefined ||
      init.headers instanceof Headers ||
      Array.isArray(init.headers) ||
      Object.getPrototypeOf(init.headers) === Object.prototype;
    if (!isLightBody(body) || !plainHeaders || !Number.isInteger(status) || status < 200 || status > 599) {
      // Node's own rules and errors for everything else (RangeError for a bad status, ...).
      this.#parts = null;
      this.#native = new NativeResponse(body, init);
      return;
    }
    this.#parts = {
      status,
      statusText: init?.statusText ?? "",
      body: body ?? null,
      headers: init?.headers as LightHeaders,
    };
    // A body of a status that may not have one is Node's error to raise (null body status).
    if (body !== null && body !== undefined && (status === 204 || status === 205 || status === 304)) {
      this.#parts = null;
      this.#native = new NativeResponse(body, init);
    }
  }

  /** The light parts, while nothing has needed the native Response; the default Content-Type included. */
  get [lightParts](): LightParts | null {
    const parts = this.#parts;
    if (parts !== null && typeof parts.body === "string" && !hasContentType(parts.headers)) {
      // As Node's Response does for a string body (the fetch standard's "extract a body").
      const h = parts.headers;
      if (h === undefined) parts.headers = { "content-type": DEFAULT_TEXT_TYPE };
      else if (h instanceof Headers) h.set("content-type", DEFAULT_TEXT_TYPE);
      else if (Array.isArray(h)) parts.headers = [...h, ["content-type", DEFAULT_TEXT_TYPE]];
      else parts.headers = { ...h, "content-type": DEFAULT_TEXT_TYPE };
    }
    return parts;
  }

  get status(): number {
    return this.#parts?.status ?? (this.#native as Response).status;
  }

  get statusText(): string {
    return this.#parts?.statusText ?? (this.#native as Response).statusText;
  }

  get ok(): boolean {
    const s = this.status;
    return s >= 200 && s < 300;
  }

  /** A live Headers: changes made through it are what the server sends. */
  get headers(): Headers {
    const parts = this[lightParts];
    if (parts === null) return (this.#native as Response).headers;
    if (!(parts.headers instanceof Headers)) parts.headers = new Headers(parts.headers);
    return parts.headers;
  }

  /** @internal the native Response, made once. */
  get [Symbol.for("eventwsgi.nativeResponse")](): Response {
    if (this.#native === null) {
      const parts = this[lightParts] as LightParts;
      this.#native = new NativeResponse(parts.body, {
        status: parts.status,
        statusText: parts.statusText,
        headers: parts.headers,
      });
      this.#parts = null;
    }
    return this.#native;
  }

  static json(data: unknown, init?: ResponseInit): Response {
    // JSON.stringify gives undefined for undefined, a function, a symbol: Node's TypeError then.
    const body = JSON.stringify(data) as string | undefined;
    if (body === undefined) return NativeResponse.json(data, init);
    const headers = new Headers(init?.headers);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
    return new LightResponse(body, { ...init, headers }) as unknown as Response;
  }
}

const NATIVE = Symbol.for("eventwsgi.nativeResponse");

function forward(key: string | symbol, method: boolean): void {
  const target = LightResponse.prototype;
  if (method) {
    Object.defineProperty(target, key, {
      value: function (
        this: Record<symbol, Record<string | symbol, (...a: unknown[]) => unknown>>,
        ...args: unknown[]
      ) {
        const native = this[NATIVE] as Record<string | symbol, (...a: unknown[]) => unknown>;
        return (native[key] as (...a: unknown[]) => unknown).apply(native, args);
      },
      configurable: true,
      writable: true,
    });
  } else {
    Object.defineProperty(target, key, {
      get(this: Record<symbol, Record<string | symbol, unknown>>) {
        return (this[NATIVE] as Record<string | symbol, unknown>)[key];
      },
      configurable: true,
    });
  }
}

for (const key of Object.getOwnPropertyNames(NativeResponse.prototype)) {
  if (key === "constructor" || Object.prototype.hasOwnProperty.call(LightResponse.prototype, key)) continue;
  const desc = Object.getOwnPropertyDescriptor(NativeResponse.prototype, key);
  if (desc === undefined) continue;
  forward(key, typeof desc.value === "function");
}
for (const key of Object.getOwnPropertySymbols(new NativeResponse("x"))) forward(key, false);
Object.setPrototypeOf(LightResponse.prototype, NativeResponse.prototype);
Object.setPrototypeOf(LightResponse, NativeResponse);
Object.defineProperty(LightResponse, Symbol.hasInstance, {
  value: (v: unknown) => v instanceof NativeResponse,
});
/** Makes the light Response the global one (idempotent). */
export function installLightResponse(): void {
  if (globalThis.Response !== (LightResponse as unknown as typeof Response))
    globalThis.Response = LightResponse as unknown as typeof Response;
}
