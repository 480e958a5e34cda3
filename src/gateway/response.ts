/**
 * One application call, from environ to the last byte of the response
 * (wsgiref's `run` → `finish_response`, eventlet's `handle_one_response`).
 *
 * The life of a response. The application is called with the environ and
 * `startResponse`. startResponse only checks and remembers the status and
 * headers; nothing goes out until the first body bytes (or the end of the
 * body) — so a generator may call it lazily, and an error before then can
 * still become a clean 500. Body chunks are gathered until they reach
 * `minimumChunkSize`, then written; the head goes out just before the first
 * of them, with its framing chosen then: the application's Content-Length,
 * or one computed for an array body, or chunked on HTTP/1.1, or
 * close-delimited on HTTP/1.0. `write()` bypasses the gathering.
 *
 * Everything is synchronous until something must wait — a promise from the
 * application, an async iterable, or a socket that asked for `drain` — so
 * an application returning an array is served without a single await; the
 * connection flushes its output once per batch of requests.
 *
 * `run()` never throws or rejects: application errors become a 500 (before
 * the head went out) or `aborted` (after: the connection is cut without a
 * final chunk), and are logged. `close()` on the body is called exactly once.
 */

import { ClientDisconnectedError, HttpProtocolError, renderErrorResponse } from "../errors.js";
import { dateHeaderLine } from "../http1/date.js";
import {
  Framing,
  LAST_CHUNK,
  chooseFraming,
  chunkHeader,
  contentLengthLine,
  mayCarryContentLength,
  responseHasNoBody,
  type CheckedStatus,
} from "../http1/response-head.js";
import type { RequestFraming } from "../http1/request-framing.js";
import type { RequestHead } from "../http1/request-head.js";
import type { ServerConfig } from "../options.js";
import { describeError } from "../server/logger.js";
import { provideClientGone } from "./disconnect.js";
import type { Input } from "./input.js";
import { checkResponseHeaders, checkResponseStatus } from "./start-response.js";
import type { App, Body, Chunk, Environ, StartResponse, Write } from "./types.js";

/** Where response bytes go: the connection's output. */
export interface Transport {
  /** Appends Latin-1 text (a head, or an ASCII body) to the output. */
  writeText(text: string): void;
  /** Appends bytes to the output. */
  writeBytes(data: Uint8Array): void;
  /** Hands the output to the socket; false when the socket asks to wait for `drain`. */
  flush(): boolean;
  /** Resolves when the socket can take more, or the connection is gone. */
  drained(): Promise<void>;
  /** The client went away: nothing written will arrive. */
  readonly gone: boolean;
  /**
   * Calls `listener` once when the connection goes (the client left); returns
   * the function that unregisters it. An async body waiting for its next
   * chunk learns of it this way, as nothing else would wake it.
   */
  onGone(listener: () => void): () => void;
  /** Bytes appended and not yet flushed (approximate for text: its length). */
  readonly outputBytes: number;
}

/** Bytes: the smallest buffer copied chunks are gathered in (see Exchange.copyIn). */
const COPY_BUFFER_BYTES = 16 * 1024;

/** Bytes of framed body the output may hold before it is handed to the socket. */
const SOCKET_BATCH_BYTES = 64 * 1024;

export interface ExchangeHost extends Transport {
  readonly config: ServerConfig;
  /** The connection may serve another request after this one (keepalive on, server not closing, peer still sending). */
  readonly mayKeepAlive: boolean;
  /** ms, now, from the shared coarse clock (server/clock.ts) the Date header is made from (Date.now() when absent). */
  readonly now?: number;
}

const RESOLVED = Promise.resolve();
/** What an async body's wait for its next chunk resolves with when the client left. */
const GONE = Symbol("gone");
/** ms an async body's return() is waited for once the client left during its next() (see returnWaiting). */
const RETURN_GRACE_MS = 500;

/** A part of the body: a string here is ASCII-only (its bytes are its chars). */
type Part = string | Uint8Array;

function isThenable<T>(v: unknown): v is PromiseLike<T> {
  return v !== null && typeof v === "object" && typeof (v as { then?: unknown }).then === "function";
}

function quietReject(err: unknown): Promise<never> {
  const p = Promise.reject(err);
  p.catch(() => {});
  return p;
}

/** The last head assembled, and its parts (see assembleHead). */
const lastParts = ["", "", "", "", "", ""];
let lastHead = "";

/**
 * status line + the application's headers + Date + Content-Length +
 * Transfer-Encoding + Connection, and the blank line. A server answering
 * the same way again (the same status, headers, second and length) gets the
 * same string back: one piece per head in the output rather than six, which
 * is less to join when a batch of responses goes to the socket.
 */
function assembleHead(
  status: string,
  block: string,
  date: string,
  length: string,
  coding: string,
  connection: string,
): string {
  const p = lastParts;
  if (p[0] === status && p[1] === block && p[2] === date && p[3] === length && p[4] === coding && p[5] === connection)
    return lastHead;
  p[0] = status;
  p[1] = block;
  p[2] = date;
  p[3] = length;
  p[4] = coding;
  p[5] = connection;
  lastHead = `${status}${block}${date}${length}${coding}${connection}\r\n`;
  return lastHead;
}

let keepAliveSeconds = -1;
let keepAliveText = "";

/** "Connection: keep-alive" and "Keep-Alive: timeout=N" lines, made once for N. */
function keepAliveLines(seconds: number): string {
  if (seconds !== keepAliveSeconds) {
    keepAliveSeconds = seconds;
    keepAliveText = `Connection: keep-alive\r\nKeep-Alive: timeout=${seconds}\r\n`;
  }
  return keepAliveText;
}

export class Exchange {
  readonly environ: Environ;
  readonly input: Input;
  readonly head: RequestHead;
  private readonly host: ExchangeHost;
  private readonly framing: RequestFraming;
  /** Both ends speak HTTP/1.1 (the request's version, capped by maxHttpVersion). */
  private readonly http11: boolean;

  // What startResponse set.
  private status: CheckedStatus | null = null;
  private headerBlock = "";
  private appContentLength = -1;
  private appHasDate = false;
  private appWantsClose = false;

  // The response as it goes out.
  /** The head has been written. */
  headersSent = false;
  private bodyFraming = Framing.None;
  /** With Framing.Length: body bytes still owed. */
  private remaining = 0;
  private parts: Part[] = [];
  private partBytes = 0;
  /**
   * Copied chunk bytes not yet in `parts` are copyBuf[copyStart, copyEnd); the
   * room past copyEnd takes the next copies. Bytes below copyEnd are never
   * written again (views of them go to the socket), so a full buffer is
   * replaced, not reused.
   */
  private copyBuf: Buffer | null = null;
  private copyStart = 0;
  private copyEnd = 0;
  /** The socket asked to wait for drain after the last flush. */
  private mustWait = false;
  /**
   * The response is over (finished, failed, or the socket handed over): a
   * write() now — from an app that kept it — must not put bytes on a
   * connection that may already carry the next response.
   */
  private over = false;

  // The outcome, read by the connection once run() is over.
  /** The connection may serve another request. */
  keepAlive = false;
  /** The response is incomplete: cut the connection, send nothing more. */
  aborted = false;
  /** The application took the socket over (eventlet.already_handled). */
  handedOver = false;
  /** The code of an error response the server sent itself (a 500, or the input's 4xx). */
  private serverStatusCode: string | null = null;
  /** Bytes written for this response, head included (eventlet's body_length). */
  bytesSent = 0;

  private bodyClosed = false;
  readonly startResponse: StartResponse = (status, headers, excInfo) => this.start(status, headers, excInfo);
  /**
   * Made with startResponse, sharing its context, rather than in start(): a
   * closure made there needs a context of its own for every call, and while
   * that code is not yet optimized those survive young-generation GCs in
   * bulk (seen with --trace-gc-nvp), which makes V8 grow the young
   * generation for good — megabytes of resident memory.
   */
  private readonly writeFn: Write = (data) => this.write(data);

  constructor(host: ExchangeHost, head: RequestHead, framing: RequestFraming, environ: Environ, input: Input) {
    this.host = host;
    this.head = head;
    this.framing = framing;
    this.environ = environ;
    this.input = input;
    this.http11 = host.config.http11 && head.version === "HTTP/1.1";
    // PROVISIONAL (disconnect.ts): replaced by core's implementation at merge.
    provideClientGone(environ, (listener) => {
      if (this.over) return () => {};
      if (host.gone) {
        queueMicrotask(listener);
        return () => {};
      }
      return host.onGone(() => {
        if (!this.over) listener();
      });
    });
  }

  /**
   * The status code for the access log (eventlet starts at 200): made when
   * asked for, not for every response. A checked status starts with its
   * three digits, so they are its code as text.
   */
  get statusCode(): string {
    if (this.serverStatusCode !== null) return this.serverStatusCode;
    return this.status === null ? "200" : String(this.status.code);
  }

  /** Calls the application and sends its response. Undefined when all of it happened synchronously. */
  run(app: App): Promise<void> | undefined {
    let body: Body | Promise<Body>;
    try {
      body = app(this.environ, this.startResponse);
    } catch (err) {
      this.fail(err);
      return undefined;
    }
    if (isThenable<Body>(body)) {
      return Promise.resolve(body).then(
        (b) => this.consume(b),
        (err: unknown) => {
          this.fail(err);
        },
      );
    }
    return this.consume(body);
  }

  private consume(body: Body): Promise<void> | undefined {
    let pending: Promise<void> | undefined;
    try {
      pending = this.sendBody(body);
    } catch (err) {
      this.fail(err);
      return this.closeBody(body);
    }
    if (pending === undefined) return this.closeBody(body);
    return pending.then(
      () => this.closeBody(body),
      (err: unknown) => {
        this.fail(err);
        return this.closeBody(body);
      },
    );
  }

  private sendBody(body: Body): Promise<void> | undefined {
    if (this.environ["eventlet.already_handled"] === true) {
      this.handedOver = true;
      this.over = true;
      return undefined;
    }
    if (typeof body === "string" || body instanceof Uint8Array) {
      this.sendArray([body]);
      return undefined;
    }
    if (Array.isArray(body)) {
      this.sendArray(body as Chunk[]);
      return undefined;
    }
    if (body !== null && typeof body === "object") {
      if (typeof (body as Iterable<Chunk>)[Symbol.iterator] === "function") {
        return this.iterate((body as Iterable<Chunk>)[Symbol.iterator]());
      }
      if (typeof (body as AsyncIterable<Chunk>)[Symbol.asyncIterator] === "function") {
        return this.iterateAsync((body as AsyncIterable<Chunk>)[Symbol.asyncIterator]());
      }
    }
    throw new TypeError(`the application returned ${String(body)}, not an iterable body`);
  }

  /** An array: its length is known, so it gets a Content-Length (unless write() already sent the head). */
  private sendArray(chunks: Chunk[]): void {
    let known = -1;
    if (!this.headersSent && this.status !== null && this.appContentLength < 0) {
      for (const chunk of chunks) this.addPart(chunk, false);
      known = this.partBytes;
    } else {
      for (const chunk of chunks) this.addPart(chunk, false);
    }
    this.finish(known);
  }

  /** A synchronous iterable; waits for drain only when the socket asks for it. */
  private iterate(it: Iterator<Chunk>): Promise<void> | undefined {
    try {
      for (;;) {
        if (this.host.gone) {
          it.return?.();
          return undefined;
        }
        const r = it.next();
        if (r.done === true) break;
        this.gather(r.value);
        if (this.mustWait) {
          this.mustWait = false;
          return this.host.drained().then(() => this.iterate(it));
        }
      }
    } catch (err) {
      // The iterator threw (or a chunk was bad): let it clean up, then fail the response.
      try {
        it.return?.();
      } catch {
        // the iterator's own cleanup failing adds nothing to the first error
      }
      throw err;
    }
    this.finish(-1);
    return undefined;
  }

  /**
   * An async iterable. Its next() may wait for ever (SSE, long-poll): it is
   * raced against the client leaving, so close() and the post hooks run when
   * the client goes, not when the body next yields (maybe never).
   */
  private async iterateAsync(it: AsyncIterator<Chunk>): Promise<void> {
    let wake: ((gone: typeof GONE) => void) | null = null;
    const unregister = this.host.onGone(() => wake?.(GONE));
    try {
      for (;;) {
        if (this.host.gone) {
          await it.return?.();
          return;
        }
        if (this.headersSent) this.host.flush();
        // Promise.resolve: a hand-written iterator's next() may return a plain result, as `await` allows.
        const next = Promise.resolve(it.next());
        const r = await new Promise<IteratorResult<Chunk> | typeof GONE>((resolve, reject) => {
          wake = resolve;
          next.then(resolve, reject);
        });
        wake = null;
        if (r === GONE) {
          await this.returnWaiting(it, next);
          return;
        }
        if (r.done === true) break;
        try {
          this.gather(r.value);
        } catch (err) {
          // A bad chunk: let the iterator clean up (as the synchronous path does), then fail the response.
          try {
            await it.return?.();
          } catch {
            // the iterator's own cleanup failing adds nothing to the first error
          }
          throw err;
        }
        if (this.mustWait) {
          this.mustWait = false;
          await this.host.drained();
        }
      }
    } finally {
      unregister();
    }
    this.finish(-1);
  }

  /**
   * The client left while `next` was pending. An async generator runs
   * return() only once that next() settles: soon when it was between two
   * chunks (then its finally blocks run before close(), as when it stops at a
   * yield), never when it waits for an event that will not come. So return()
   * is waited for at most RETURN_GRACE_MS; what it or next() does later is logged.
   */
  private async returnWaiting(it: AsyncIterator<Chunk>, next: Promise<IteratorResult<Chunk>>): Promise<void> {
    const log = this.host.config.log;
    // As in fail(): the client leaving is not the app's fault, any other error still is.
    next.then(undefined, (err: unknown) => {
      if (err instanceof ClientDisconnectedError)
        log.debug(`client went away during "${this.head.requestLine}": ${describeError(err)}`);
      else log.error(describeError(err));
    });
    let returned: unknown;
    try {
      returned = it.return?.();
    } catch (err) {
      log.error(describeError(err));
      return;
    }
    if (!isThenable(returned)) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, RETURN_GRACE_MS);
    });
    await Promise.race([
      Promise.resolve(returned).then(undefined, (err: unknown) => {
        log.error(describeError(err));
      }),
      grace,
    ]);
    clearTimeout(timer);
  }

  // ---- startResponse and write ----

  private start(status: string, headers: [string, string][], excInfo?: unknown): Write {
    if (excInfo !== undefined && excInfo !== null) {
      // PEP 3333: once the head is out, the error can only propagate.
      if (this.headersSent) throw excInfo;
    } else if (this.status !== null) {
      throw new Error("startResponse called a second time without excInfo (PEP 3333)");
    }
    const checkedStatus = checkResponseStatus(status);
    const code = checkedStatus.code;
    // RFC 9110 §8.6: no Content-Length on 1xx, 204, nor 2xx to CONNECT, even the app's.
    const omitLength = !mayCarryContentLength(this.head.method, code);
    const checked = checkResponseHeaders(headers, this.host.config.capitalizeResponseHeaders, omitLength);
    this.status = checkedStatus;
    this.headerBlock = checked.block;
    this.appContentLength = checked.contentLength;
    this.appHasDate = checked.hasDate;
    this.appWantsClose = checked.wantsClose;
    return this.writeFn;
  }

  private write(data: Chunk): Promise<void> {
    try {
      if (this.status === null) throw new Error("write() before start_response()");
      if (this.over) {
        const err = new Error("write() after the response was complete");
        this.host.config.log.error(describeError(err));
        throw err;
      }
      if (this.host.gone) throw new ClientDisconnectedError("the client went away before the response was sent");
      this.addPart(data, true);
      this.writeParts(-1);
      if (this.host.flush()) return RESOLVED;
      return this.host.drained();
    } catch (err) {
      return quietReject(err);
    }
  }

  // ---- body bytes ----

  /** Adds a chunk and writes what was gathered once it reaches the minimum chunk size. */
  private gather(chunk: Chunk): void {
    this.addPart(chunk, true);
    const min = this.environ["eventlet.minimum_write_chunk_size"];
    // An empty chunk sends nothing, not even the head (PEP 3333: the head waits for the first non-empty chunk).
    if (this.partBytes > 0 && this.partBytes >= (typeof min === "number" ? min : this.host.config.minimumChunkBytes)) {
      this.writeParts(-1);
      // Gathered chunks are framed at once; the socket gets them in batches
      // (fewer syscalls), and backpressure is checked at each batch.
      if (this.host.outputBytes >= SOCKET_BATCH_BYTES && !this.host.flush()) this.mustWait = true;
    }
  }

  /**
   * `copy`: the application gets control back while the bytes may still be
   * held by reference — in `parts` until the minimum chunk size, in the
   * connection's output until its batch, in the socket's buffer until the
   * kernel takes them — so a chunk from a generator or write() is copied: a
   * generator refilling one buffer must not change what was already sent
   * (PEP 3333's bytes are immutable; a WSGI application cannot expect this).
   * An array body is not copied: it was handed over whole, and nothing
   * returns control to the application while it goes out.
   */
  private addPart(chunk: Chunk, copy: boolean): void {
    if (typeof chunk === "string") {
      if (chunk.length === 0) return;
      const n = Buffer.byteLength(chunk);
      this.sealCopies();
      // UTF-8 length equals the string's length only when every char is ASCII.
      if (n === chunk.length) this.parts.push(chunk);
      else this.parts.push(Buffer.from(chunk, "utf8"));
      this.partBytes += n;
    } else if (chunk instanceof Uint8Array) {
      if (chunk.length === 0) return;
      if (copy) {
        this.copyIn(chunk);
      } else {
        this.sealCopies();
        this.parts.push(chunk);
      }
      this.partBytes += chunk.length;
    } else {
      throw new TypeError(`body chunks must be strings or Uint8Arrays, got ${typeof chunk}`);
    }
  }

  /**
   * Copies a chunk into the shared copy buffer: one memcpy, and an allocation
   * only when the buffer is full, rather than a new Buffer for every chunk
   * (a generator of small chunks made that a third of its cost).
   */
  private copyIn(chunk: Uint8Array): void {
    let buf = this.copyBuf;
    if (buf === null || buf.length - this.copyEnd < chunk.length) {
      this.sealCopies();
      buf = this.copyBuf = Buffer.allocUnsafe(Math.max(COPY_BUFFER_BYTES, chunk.length));
      this.copyStart = this.copyEnd = 0;
    }
    buf.set(chunk, this.copyEnd);
    this.copyEnd += chunk.length;
  }

  /** Moves the copied bytes not yet in `parts` there, as one view, keeping the order of parts. */
  private sealCopies(): void {
    if (this.copyEnd === this.copyStart) return;
    this.parts.push((this.copyBuf as Buffer).subarray(this.copyStart, this.copyEnd));
    this.copyStart = this.copyEnd;
  }

  /** Writes the gathered parts, framed, sending the head first if it has not gone yet. */
  private writeParts(knownLength: number): void {
    if (!this.headersSent) this.sendHead(knownLength);
    const n = this.partBytes;
    if (n === 0) return;
    this.sealCopies();
    const parts = this.parts;
    this.parts = [];
    this.partBytes = 0;
    switch (this.bodyFraming) {
      case Framing.None:
        return;
      case Framing.Length:
        if (n > this.remaining) {
          throw new Error(`the response body is longer than its Content-Length (${this.appContentLength})`);
        }
        this.remaining -= n;
        break;
      case Framing.Chunked: {
        const size = chunkHeader(n);
        this.host.writeText(size);
        this.bytesSent += size.length + 2;
        break;
      }
      case Framing.Close:
        break;
    }
    for (const part of parts) {
      if (typeof part === "string") this.host.writeText(part);
      else this.host.writeBytes(part);
    }
    this.bytesSent += n;
    if (this.bodyFraming === Framing.Chunked) this.host.writeText("\r\n");
  }

  /** The body is over: the last gathered bytes, the head if still unsent, the final chunk. */
  private finish(knownLength: number): void {
    this.writeParts(knownLength);
    this.over = true;
    if (this.bodyFraming === Framing.Chunked) {
      this.host.writeText(LAST_CHUNK);
      this.bytesSent += LAST_CHUNK.length;
    } else if (this.bodyFraming === Framing.Length && this.remaining > 0) {
      this.host.config.log.error(
        `response to "${this.head.requestLine}" is ${this.remaining} bytes shorter than its Content-Length; closing the connection`,
      );
      this.keepAlive = false;
    }
  }

  private sendHead(knownLength: number): void {
    const status = this.status;
    // write() checks for itself: here the body came (or ended) with no status to send.
    if (status === null) throw new Error("the application returned a body without calling start_response()");
    const cfg = this.host.config;
    const code = status.code;
    let contentLength = this.appContentLength;
    let addContentLength = false;
    // A length computed from an array body, where one may be sent (HEAD keeps the GET's). Not on a
    // 304: its Content-Length would be the selected representation's (RFC 9110 §8.6), not this empty body's.
    if (contentLength < 0 && knownLength >= 0 && code !== 304 && mayCarryContentLength(this.head.method, code)) {
      contentLength = knownLength;
      addContentLength = true;
    }
    this.bodyFraming = chooseFraming(responseHasNoBody(this.head.method, code), contentLength >= 0, this.http11);
    this.remaining = contentLength;
    const keepAlive = this.decideKeepAlive();
    this.keepAlive = keepAlive;

    let connection = "";
    if (!keepAlive) {
      connection = "Connection: close\r\n";
    } else if (this.framing.connectionKeepAlive) {
      // Only echoed to clients that asked: it is the default in HTTP/1.1.
      connection =
        cfg.keepaliveHeaderSeconds > 0 ? keepAliveLines(cfg.keepaliveHeaderSeconds) : "Connection: keep-alive\r\n";
    }
    const head = assembleHead(
      cfg.http11 ? status.line11 : status.line10,
      this.headerBlock,
      this.appHasDate ? "" : dateHeaderLine(this.host.now),
      addContentLength ? contentLengthLine(contentLength) : "",
      this.bodyFraming === Framing.Chunked ? "Transfer-Encoding: chunked\r\n" : "",
      connection,
    );
    this.headersSent = true;
    this.host.writeText(head);
    this.bytesSent += head.length;
  }

  /** RFC 9112 §9.3 with eventlet's rules; see API.md ("keepalive", "The request body"). */
  private decideKeepAlive(): boolean {
    if (!this.host.mayKeepAlive || this.appWantsClose || this.framing.mustClose) return false;
    if (this.bodyFraming === Framing.Close) return false;
    // A 1xx as the final status: after a 101 the client speaks another protocol (RFC 9110 §15.2.2),
    // after any other it waits for a final response that will not come — HTTP cannot go on.
    const code = (this.status as CheckedStatus).code;
    if (code < 200) return false;
    // A 2xx to CONNECT makes the connection a tunnel (RFC 9110 §9.3.6): what follows is not HTTP.
    // The application may still take the socket (eventlet.already_handled); otherwise it is closed.
    if (this.head.method === "CONNECT" && code < 300) return false;
    if (this.http11 ? this.framing.connectionClose : !this.framing.connectionKeepAlive) return false;
    const input = this.input;
    // A client still waiting for 100 Continue would send its body as the next request (eventlet's rule).
    if (input.continueExpected && !input.continueSent && !input.complete) return false;
    return input.error === null;
  }

  // ---- errors and the end ----

  private fail(err: unknown): void {
    this.over = true;
    this.keepAlive = false;
    const log = this.host.config.log;
    if (err instanceof ClientDisconnectedError || this.input.error instanceof ClientDisconnectedError) {
      // The client left mid-body (a FIN half-closes, so the connection is not yet gone): its
      // request can never be read whole, and that is not the app's fault — no 500 for it.
      this.aborted = true;
      log.debug(`client went away during "${this.head.requestLine}": ${describeError(err)}`);
      return;
    }
    if (this.host.gone) {
      this.aborted = true;
      // The client leaving (a read or write that failed for it) is not the app's fault; any other error still is.
      if (err instanceof ClientDisconnectedError)
        log.debug(`client went away during "${this.head.requestLine}": ${describeError(err)}`);
      else log.error(describeError(err));
      return;
    }
    log.error(describeError(err));
    if (this.headersSent) {
      this.aborted = true;
      return;
    }
    this.parts = [];
    this.partBytes = 0;
    this.copyStart = this.copyEnd;
    const inputError = this.input.error;
    if (inputError instanceof HttpProtocolError) {
      // The request was at fault (a malformed chunk, a body too slow): answered as every protocol error is.
      const response = renderErrorResponse(inputError);
      this.headersSent = true;
      this.serverStatusCode = String(inputError.status);
      this.host.writeText(response);
      this.bytesSent += response.length;
    } else {
      this.sendErrorResponse(500, "Internal Server Error", this.host.config.debug ? describeError(err) : "");
    }
  }

  private sendErrorResponse(code: number, reason: string, text: string): void {
    const body = Buffer.from(text, "utf8");
    const head =
      `${this.host.config.http11 ? "HTTP/1.1" : "HTTP/1.0"} ${code} ${reason}\r\n` +
      `Content-Type: text/plain\r\nContent-Length: ${body.length}\r\n${dateHeaderLine()}Connection: close\r\n\r\n`;
    this.headersSent = true;
    this.serverStatusCode = String(code);
    this.host.writeText(head);
    this.bytesSent += head.length;
    // A HEAD response has its Content-Length but not its body (RFC 9110 §9.3.2): only what was sent counts.
    if (this.head.method !== "HEAD" && body.length > 0) {
      this.host.writeBytes(body);
      this.bytesSent += body.length;
    }
  }

  /** close() on the body, exactly once, whatever happened. Errors it throws are logged. */
  private closeBody(body: Body): Promise<void> | undefined {
    if (this.bodyClosed) return undefined;
    this.bodyClosed = true;
    const close = body !== null && typeof body === "object" ? (body as { close?: unknown }).close : undefined;
    if (typeof close !== "function") return undefined;
    try {
      const r: unknown = close.call(body);
      if (isThenable(r)) {
        return Promise.resolve(r).then(
          () => undefined,
          (err: unknown) => {
            this.host.config.log.error(describeError(err));
          },
        );
      }
    } catch (err) {
      this.host.config.log.error(describeError(err));
    }
    return undefined;
  }
}
