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

import { ClientDisconnectedError, HttpProtocolError, describeError, renderErrorResponse } from "../errors.js";
import { dateHeaderLine } from "../http1/date.js";
import {
  Framing,
  chooseFraming,
  encodeBodyEnd,
  encodeDataEnd,
  encodeDataStart,
  lengthShortfall,
  type EncoderState,
} from "../http1/body-encoder.js";
import {
  contentLengthLine,
  mayCarryContentLength,
  responseHasNoBody,
  type CheckedStatus,
} from "../http1/response-head.js";
import { responseKeepsConnection, type ResponseFacts } from "../http1/keep-alive.js";
import type { RequestFraming } from "../http1/request-framing.js";
import type { RequestHead } from "../http1/request-head.js";
import { MAX_SOCKET_WRITE_BYTES, SOCKET_BATCH_BYTES } from "../limits.js";
import type { GatewayConfig } from "./config.js";
import { ClientGoneListeners } from "./disconnect.js";
import type { ExchangeControl, Takeover } from "./exchange-link.js";
import type { Input } from "./input.js";
import { iterateAsync, iterateSync } from "./body-iteration.js";
import { ChunkGatherer } from "./chunk-gatherer.js";
import { assembleHead, checkUpgradeHeaders, keepAliveLines } from "./head-assembly.js";
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

export interface ExchangeHost extends Transport {
  readonly config: GatewayConfig;
  /** The connection may serve another request after this one: http1/keep-alive.ts's connectionMayContinue(). */
  readonly mayKeepAlive: boolean;
  /** ms, now, from the shared coarse clock (server/clock.ts) the Date header is made from (Date.now() when absent). */
  readonly now?: number;
  /** Hands the socket over once the output (ending with a 101's head) is in the kernel (upgrade.ts). */
  upgrade(): Promise<Takeover>;
}

const RESOLVED = Promise.resolve();

function isThenable<T>(v: unknown): v is PromiseLike<T> {
  return v !== null && typeof v === "object" && typeof (v as { then?: unknown }).then === "function";
}

function quietReject(err: unknown): Promise<never> {
  const p = Promise.reject(err);
  p.catch(() => {});
  return p;
}

function noop(): void {}

/**
 * Where an exchange is, in order (one field, rather than a flag for each):
 * the head not yet written; the body going out; then one of the ends.
 */
export const enum Phase {
  /** The app runs; nothing of the response is written (startResponse may have been called). */
  Head,
  /** The head is written; the body goes out. */
  Body,
  /** The whole response is in the connection's output. */
  Complete,
  /** Cut short after an error, or the client left: the connection is cut, nothing more is sent. */
  Aborted,
  /** The application took the socket (eventlet.already_handled, getSocket()). */
  HandedOver,
  /** takeOver(): a 101 went out and the socket is another protocol's. */
  Upgraded,
}

/** How an exchange ended, as the connection reads it (conclude()). */
export const enum Outcome {
  /** The response is complete and the connection may serve another request. */
  KeepAlive,
  /** The response is complete (or the client left) and said Connection: close: end the connection. */
  Close,
  /** The response is incomplete: cut the connection, send nothing more. */
  Aborted,
  /** The socket is another protocol's, and that protocol is over: destroy it. */
  Upgraded,
  /** The application took the socket: the server lets it go. */
  HandedOver,
}

export class Exchange implements ExchangeControl, EncoderState, ResponseFacts {
  readonly environ: Environ;
  readonly input: Input;
  readonly head: RequestHead;
  readonly host: ExchangeHost;
  private readonly framing: RequestFraming;
  /** Both ends speak HTTP/1.1 (the request's version, capped by maxHttpVersion). */
  readonly http11: boolean;

  // What startResponse set.
  private status: CheckedStatus | null = null;
  private headerBlock = "";
  private appContentLength = -1;
  private appHasDate = false;
  appWantsClose = false;

  // The response as it goes out.
  /** Where the exchange is (Phase); every transition is in a method named for it. */
  private phase = Phase.Head;
  /** The body encoder's state (http1/body-encoder.ts). */
  bodyFraming = Framing.None;
  /** With Framing.Length: body bytes still owed. */
  remaining = 0;
  /** Body chunks gathered up to the minimum write size (chunk-gatherer.ts). */
  private readonly gathered = new ChunkGatherer();
  /** The socket asked to wait for drain after the last flush. */
  mustWait = false;
  /** The head said the connection stays open (http1/keep-alive.ts); a short body can still turn it off. */
  private keepAlive = false;
  /** The code of an error response the server sent itself (a 500, or the input's 4xx). */
  private serverStatusCode: string | null = null;
  /** Bytes written for this response, head included (eventlet's body_length). */
  bytesSent = 0;
  /** Where this response starts in the connection's output (request-end.ts). */
  readonly outputStart: number;
  /** ms (performance.now()) when the app was called; 0 without an access log. */
  private startedAt = 0;
  /** Seconds from the app's call to the end of its exchange, for the access log. */
  wallSeconds = 0;
  /** The client left before the response was complete. */
  private clientLeft = false;
  private goneListeners: ClientGoneListeners | null = null;

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

  constructor(
    host: ExchangeHost,
    head: RequestHead,
    framing: RequestFraming,
    environ: Environ,
    input: Input,
    outputStart = 0,
  ) {
    this.host = host;
    this.outputStart = outputStart;
    this.head = head;
    this.framing = framing;
    this.environ = environ;
    this.input = input;
    this.http11 = host.config.http11 && head.version === "HTTP/1.1";
  }

  /**
   * The status code for the access log (eventlet starts at 200): made when
   * asked for, not for every response. A checked status starts with its
   * three digits, so they are its code as text.
   */
  get requestLine(): string {
    return this.head.requestLine;
  }

  /** Bytes of this response queued for the socket (request-end.ts's EndedRequest). */
  get outputBytes(): number {
    return this.bytesSent;
  }

  get statusCode(): string {
    if (this.serverStatusCode !== null) return this.serverStatusCode;
    return this.status === null ? "200" : String(this.status.code);
  }

  /** The head has been written (or the response ended otherwise than by the app's body): no 100 Continue now. */
  get responseStarted(): boolean {
    return this.phase !== Phase.Head && this.phase !== Phase.HandedOver;
  }

  /** How the exchange ended; asked once run() is over. */
  get outcome(): Outcome {
    switch (this.phase) {
      case Phase.Complete:
        return this.keepAlive ? Outcome.KeepAlive : Outcome.Close;
      case Phase.Aborted:
        return Outcome.Aborted;
      case Phase.Upgraded:
        return Outcome.Upgraded;
      case Phase.HandedOver:
        return Outcome.HandedOver;
      default:
        // Run ended without the body's end: the client left mid-body (a large array's slices).
        return Outcome.Close;
    }
  }

  /** The exchange is over: its Input stops acting on the connection, its wall time is taken; its outcome. */
  conclude(): Outcome {
    this.input.retire();
    if (this.startedAt !== 0) this.wallSeconds = (performance.now() - this.startedAt) / 1000;
    return this.outcome;
  }

  /** The server failed to run the exchange (a bug, not the app's): it is cut. */
  abort(): void {
    if (this.phase !== Phase.Upgraded) this.phase = Phase.Aborted;
  }

  /** Calls the application and sends its response. Undefined when all of it happened synchronously. */
  run(app: App): Promise<void> | undefined {
    // The access log's wall_seconds wants a fine clock (eventlet's time.time(), to the
    // microsecond in %(wall_seconds).6f); nothing else reads it.
    if (this.host.config.logAccess !== null) this.startedAt = performance.now();
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
    // After a takeover the other protocol owns the socket; the body should be empty and is not sent.
    if (this.phase === Phase.Upgraded) return undefined;
    if (this.environ["eventlet.already_handled"] === true) {
      this.phase = Phase.HandedOver;
      return undefined;
    }
    if (typeof body === "string" || body instanceof Uint8Array) return this.sendArray([body]);
    if (Array.isArray(body)) return this.sendArray(body as Chunk[]);
    if (body !== null && typeof body === "object") {
      if (typeof (body as Iterable<Chunk>)[Symbol.iterator] === "function") {
        return iterateSync(this, (body as Iterable<Chunk>)[Symbol.iterator]());
      }
      if (typeof (body as AsyncIterable<Chunk>)[Symbol.asyncIterator] === "function") {
        return iterateAsync(this, (body as AsyncIterable<Chunk>)[Symbol.asyncIterator]());
      }
    }
    throw new TypeError(`the application returned ${String(body)}, not an iterable body`);
  }

  /** An array: its length is known, so it gets a Content-Length (unless write() already sent the head). */
  private sendArray(chunks: Chunk[]): Promise<void> | undefined {
    let known = -1;
    if (this.phase === Phase.Head && this.status !== null && this.appContentLength < 0) {
      for (const chunk of chunks) this.gathered.add(chunk, false);
      known = this.gathered.bytes;
    } else {
      for (const chunk of chunks) this.gathered.add(chunk, false);
    }
    if (this.gathered.bytes > MAX_SOCKET_WRITE_BYTES) return this.sendInSlices(known);
    this.finish(known);
    return undefined;
  }

  /**
   * A large array body goes out MAX_SOCKET_WRITE_BYTES at a time, each once the
   * socket has taken the one before: each write then completes on its own, so
   * the connection knows what reached the kernel when the client cuts the
   * download short (the access log's body_length), and the socket never holds
   * more than a slice.
   */
  private async sendInSlices(known: number): Promise<void> {
    const parts = this.gathered.take();
    let first = true;
    for (const part of parts) {
      for (let at = 0; at < part.length; at += MAX_SOCKET_WRITE_BYTES) {
        if (this.host.gone) return;
        const slice =
          typeof part === "string"
            ? part.slice(at, at + MAX_SOCKET_WRITE_BYTES)
            : part.subarray(at, at + MAX_SOCKET_WRITE_BYTES);
        this.gathered.add(slice, false);
        this.writeParts(first ? known : -1);
        first = false;
        if (!this.host.flush()) await this.host.drained();
      }
    }
    this.finish(known);
  }

  // ---- startResponse and write ----

  private start(status: string, headers: [string, string][], excInfo?: unknown): Write {
    if (excInfo !== undefined && excInfo !== null) {
      // PEP 3333: once the head is out, the error can only propagate.
      if (this.phase !== Phase.Head) throw excInfo;
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
      if (this.phase > Phase.Body) {
        const err = new Error("write() after the response was complete");
        this.host.config.log.error(describeError(err));
        throw err;
      }
      if (this.host.gone) throw new ClientDisconnectedError("the client went away before the response was sent");
      this.gathered.add(data, true);
      this.writeParts(-1);
      if (this.host.flush()) return RESOLVED;
      return this.host.drained();
    } catch (err) {
      return quietReject(err);
    }
  }

  // ---- body bytes ----

  /** Adds a chunk and writes what was gathered once it reaches the minimum chunk size. */
  gather(chunk: Chunk): void {
    this.gathered.add(chunk, true);
    const min = this.environ["eventlet.minimum_write_chunk_size"];
    // An empty chunk sends nothing, not even the head (PEP 3333: the head waits for the first non-empty chunk).
    const gathered = this.gathered.bytes;
    if (gathered > 0 && gathered >= (typeof min === "number" ? min : this.host.config.minimumChunkBytes)) {
      this.writeParts(-1);
      // Gathered chunks are framed at once; the socket gets them in batches
      // (fewer syscalls), and backpressure is checked at each batch.
      if (this.host.outputBytes >= SOCKET_BATCH_BYTES && !this.host.flush()) this.mustWait = true;
    }
  }

  /** Writes the gathered parts, framed, sending the head first if it has not gone yet. */
  private writeParts(knownLength: number): void {
    if (this.phase === Phase.Head) this.sendHead(knownLength);
    const n = this.gathered.bytes;
    if (n === 0) return;
    const parts = this.gathered.take();
    const before = encodeDataStart(this, n, this.appContentLength);
    if (before === null) return;
    if (before.length > 0) this.host.writeText(before);
    for (const part of parts) {
      if (typeof part === "string") this.host.writeText(part);
      else this.host.writeBytes(part);
    }
    const after = encodeDataEnd(this.bodyFraming);
    if (after.length > 0) this.host.writeText(after);
    this.bytesSent += before.length + n + after.length;
  }

  /** The body is over: the last gathered bytes, the head if still unsent, the final chunk. */
  finish(knownLength: number): void {
    this.writeParts(knownLength);
    this.completeResponse();
    const end = encodeBodyEnd(this.bodyFraming);
    if (end.length > 0) {
      this.host.writeText(end);
      this.bytesSent += end.length;
    }
    const short = lengthShortfall(this);
    if (short > 0) {
      this.host.config.log.error(
        `response to "${this.head.requestLine}" is ${short} bytes shorter than its Content-Length; closing the connection`,
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
    this.phase = Phase.Body;
    this.host.writeText(head);
    this.bytesSent += head.length;
  }

  /** Whether the connection stays open after this response: http1/keep-alive.ts decides. */
  private decideKeepAlive(): boolean {
    return responseKeepsConnection(this.host.mayKeepAlive, this);
  }

  // ---- ResponseFacts (http1/keep-alive.ts) ----

  get method(): string {
    return this.head.method;
  }
  get statusNumber(): number {
    return (this.status as CheckedStatus).code;
  }
  get requestClose(): boolean {
    return this.framing.connectionClose;
  }
  get requestKeepAlive(): boolean {
    return this.framing.connectionKeepAlive;
  }
  get framingMustClose(): boolean {
    return this.framing.mustClose;
  }
  get closeDelimited(): boolean {
    return this.bodyFraming === Framing.Close;
  }
  get continuePending(): boolean {
    const input = this.input;
    return input.continueExpected && !input.continueSent && !input.complete;
  }
  get inputFailed(): boolean {
    return this.input.error !== null;
  }

  // ---- errors and the end ----

  private fail(err: unknown): void {
    this.keepAlive = false;
    const log = this.host.config.log;
    if (err instanceof ClientDisconnectedError || this.input.error instanceof ClientDisconnectedError) {
      // The client left mid-body (a FIN half-closes, so the connection is not yet gone): its
      // request can never be read whole, and that is not the app's fault — no 500 for it.
      this.abortResponse();
      log.debug(`client went away during "${this.head.requestLine}": ${describeError(err)}`);
      return;
    }
    log.error(describeError(err));
    // The client left (nothing would arrive), or the head is out (a 500 can no longer be said).
    if (this.host.gone || this.phase !== Phase.Head) {
      this.abortResponse();
      return;
    }
    this.gathered.drop();
    const inputError = this.input.error;
    if (inputError instanceof HttpProtocolError) {
      // The request was at fault (a malformed chunk, a body too slow): answered as every protocol error is.
      const response = renderErrorResponse(inputError);
      this.completeResponse();
      this.serverStatusCode = String(inputError.status);
      this.host.writeText(response);
      this.bytesSent += response.length;
    } else {
      this.sendErrorResponse(500, "Internal Server Error", this.host.config.debug ? describeError(err) : "");
    }
  }

  /** The response is cut short (after a takeover, the other protocol's end stands). */
  private abortResponse(): void {
    if (this.phase !== Phase.Upgraded) this.phase = Phase.Aborted;
  }

  private sendErrorResponse(code: number, reason: string, text: string): void {
    const body = Buffer.from(text, "utf8");
    const head =
      `${this.host.config.http11 ? "HTTP/1.1" : "HTTP/1.0"} ${code} ${reason}\r\n` +
      `Content-Type: text/plain\r\nContent-Length: ${body.length}\r\n${dateHeaderLine()}Connection: close\r\n\r\n`;
    this.completeResponse();
    this.serverStatusCode = String(code);
    this.host.writeText(head);
    this.bytesSent += head.length;
    // A HEAD response has its Content-Length but not its body (RFC 9110 §9.3.2): only what was sent counts.
    if (this.head.method !== "HEAD" && body.length > 0) {
      this.host.writeBytes(body);
      this.bytesSent += body.length;
    }
  }

  // ---- the adapters' hooks (upgrade.ts, disconnect.ts) ----

  /** See upgrade.ts. */
  takeOver(status: string, headers: [string, string][]): Promise<Takeover> {
    try {
      if (this.phase !== Phase.Head) throw new Error("takeOver(): the response has already started");
      if (!this.input.complete || this.input.buffered > 0)
        throw new Error("takeOver(): the request has a body still unread");
      if (!this.http11) throw new Error("takeOver(): a protocol switch needs HTTP/1.1 (RFC 9110 §7.8)");
      const checkedStatus = checkResponseStatus(status);
      const head = `${checkedStatus.line11}${checkUpgradeHeaders(headers, this.host.config.capitalizeResponseHeaders)}\r\n`;
      this.status = checkedStatus;
      this.completeResponse(Phase.Upgraded);
      this.host.writeText(head);
      this.bytesSent += head.length;
    } catch (err) {
      return quietReject(err);
    }
    return this.host.upgrade();
  }

  /** See disconnect.ts. */
  onClientGone(listener: () => void): () => void {
    if (this.responseDone) return noop;
    const listeners = (this.goneListeners ??= new ClientGoneListeners());
    if (this.clientLeft)
      listeners.fire((err) => {
        this.reportListenerError(err);
      });
    return listeners.add(listener);
  }

  /** The whole response is in the output (or the socket is another protocol's): a client leaving is not reported. */
  private get responseDone(): boolean {
    return this.phase === Phase.Complete || this.phase === Phase.Upgraded;
  }

  /** The connection: the client closed, reset, or half-closed before the request body was complete. */
  clientGone(): void {
    if (this.responseDone || this.clientLeft) return;
    this.clientLeft = true;
    this.goneListeners?.fire((err) => {
      this.reportListenerError(err);
    });
  }

  private reportListenerError(err: unknown): void {
    this.host.config.log.error(describeError(err));
  }

  /** The whole response is in the connection's output: the client leaving is no longer reported. */
  private completeResponse(phase: Phase.Complete | Phase.Upgraded = Phase.Complete): void {
    this.phase = phase;
    this.goneListeners?.retire();
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
