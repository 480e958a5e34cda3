/**
 * One application call, from environ to the last byte of the response
 * (wsgiref's `run` → `finish_response`, eventlet's `handle_one_response`).
 *
 * The life of a request in the gateway, in the order the functions run:
 * 1. the connection builds the environ and the Input, and `new Exchange`;
 * 2. `run(app)` calls the application with the environ and `startResponse`
 *    (response-writer.ts `start`: status and headers checked, remembered);
 * 3. `consume` → `sendBody` takes the body: an array (`sendArray`, large
 *    ones `sendInSlices`), a sync or an async iterable (body-iteration.ts
 *    `iterateSync`/`iterateAsync`, chunk by chunk into `gather`);
 * 4. the first bytes send the head (`writeParts` → `sendHead`: framing,
 *    http1/keep-alive.ts's decision, Connection header); `finish` writes the
 *    last bytes and the body's end; phase Complete;
 * 5. `closeBody` calls the body's close(), once, whatever happened;
 * 6. the connection calls `conclude()` and reads the outcome (phase.ts).
 * An error on the way goes to `fail`: a 500 (or the Input's 4xx) before the
 * head went out, phase Aborted after it. The adapters' hooks `takeOver`
 * (phase Upgraded) and `onClientGone` act on the exchange of an environ.
 *
 * Everything is synchronous until something must wait — a promise from the
 * application, an async iterable, or a socket that asked for `drain` — so
 * an application returning an array is served without a single await; the
 * connection flushes its output once per batch of requests.
 *
 * `run()` never throws or rejects: application errors become a 500 (before
 * the head went out) or Aborted (after: the connection is cut without a
 * final chunk), and are logged. `close()` on the body is called exactly once.
 */

import { ClientDisconnectedError, HttpProtocolError, describeError, renderErrorResponse } from "../errors.js";
import type { RequestFraming } from "../http1/request-framing.js";
import type { RequestHead } from "../http1/request-head.js";
import { MAX_SOCKET_WRITE_BYTES } from "../limits.js";
import { ClientGoneListeners } from "./disconnect.js";
import type { ExchangeControl, Takeover } from "./exchange-link.js";
import type { ExchangeHost } from "./host.js";
import type { Input } from "./input.js";
import { iterateAsync, iterateSync } from "./body-iteration.js";
import { checkUpgradeHeaders } from "./head-assembly.js";
import { Outcome, Phase } from "./phase.js";
import { ResponseWriter, quietReject } from "./response-writer.js";
import { checkResponseStatus } from "./start-response.js";
import type { App, Body, Chunk, Environ } from "./types.js";

export type { ExchangeHost, Transport } from "./host.js";
export { Outcome, Phase } from "./phase.js";

function isThenable<T>(v: unknown): v is PromiseLike<T> {
  return v !== null && typeof v === "object" && typeof (v as { then?: unknown }).then === "function";
}

function noop(): void {}

export class Exchange extends ResponseWriter implements ExchangeControl {
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

  constructor(
    host: ExchangeHost,
    head: RequestHead,
    framing: RequestFraming,
    environ: Environ,
    input: Input,
    outputStart = 0,
  ) {
    super(host, head, framing, environ, input);
    this.outputStart = outputStart;
  }

  /** The request line, for the access log. */
  get requestLine(): string {
    return this.head.requestLine;
  }

  /** Bytes of this response queued for the socket (request-end.ts's EndedRequest). */
  get outputBytes(): number {
    return this.bytesSent;
  }

  /** The status code for the access log (eventlet starts at 200): made when asked for, not for every response. */
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
    // What a JavaScript app returns is checked whatever its declared type says.
    const value: unknown = body;
    if (typeof value === "string" || value instanceof Uint8Array) return this.sendArray([value]);
    if (Array.isArray(value)) return this.sendArray(value as Chunk[]);
    if (value === null || typeof value !== "object")
      throw new TypeError(`the application returned ${String(value)}, not an iterable body`);
    if (typeof (value as Iterable<Chunk>)[Symbol.iterator] === "function")
      return iterateSync(this, (value as Iterable<Chunk>)[Symbol.iterator]());
    if (typeof (value as AsyncIterable<Chunk>)[Symbol.asyncIterator] === "function")
      return iterateAsync(this, (value as AsyncIterable<Chunk>)[Symbol.asyncIterator]());
    throw new TypeError("the application returned an object that is not an iterable body");
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

  protected responseCompleted(): void {
    this.goneListeners?.retire();
  }

  private reportListenerError(err: unknown): void {
    this.host.config.log.error(describeError(err));
  }

  /** close() on the body, exactly once, whatever happened. Errors it throws are logged. */
  private closeBody(body: Body): Promise<void> | undefined {
    if (this.bodyClosed) return undefined;
    this.bodyClosed = true;
    const value: unknown = body;
    const close = value !== null && typeof value === "object" ? (value as { close?: unknown }).close : undefined;
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
