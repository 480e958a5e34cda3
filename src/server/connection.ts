/**
 * One client connection: socket bytes in, parser, exchanges, bytes out.
 *
 * The life of a request, from bytes to app to bytes:
 * 1. `onData` appends the socket's bytes to the read buffer (read-buffer.ts)
 *    and calls `pump`, the read loop.
 * 2. `pump`, with no exchange running, first asks `outputBackedUp`: while
 *    earlier responses still wait on the socket it stops reading (a client
 *    that pipelines and never reads stalls on its own send buffer). Then
 *    `readHead` feeds http1/request-head.ts; a malformed head goes to
 *    `respondProtocolError` (400/414/431/501/505, one access line, close).
 * 3. `startExchange` gets the framing (http1/request-framing.ts), picks the
 *    body decoder, builds the Input and the environ, links the environ to its
 *    Exchange (gateway/exchange-link.ts) and runs the app
 *    (gateway/response.ts: `Exchange.run`). Body bytes that arrive go through
 *    `feedBody` to the decoder and into the Input; the socket is paused above
 *    INPUT_HIGH_WATER_MARK until the app reads (`consumed`).
 * 4. The Exchange writes its head and body through `writeText`/`writeBytes`
 *    into the output (output.ts), which `flush` hands to the socket once per
 *    batch of pipelined requests: on the synchronous path when `pump` stops,
 *    and when an app returned a promise `pump` defers the flush to the end of
 *    the event-loop turn (`deferFlush`) while earlier responses wait unsent,
 *    so a batch answered within microtask turns is still one write.
 * 5. `exchangeDone` reads the exchange's outcome (`keepAlive`, `aborted`,
 *    `handedOver`, `upgraded`), asks http1/keep-alive.ts again with what the
 *    connection has learnt since the head went out, queues the request on
 *    the output (`requestEnded`: its access line and post hooks run once its
 *    bytes are in the kernel, request-end.ts), then either reads the next
 *    request (back to 2, discarding an unread body first) or ends the
 *    connection.
 * `upgrade` (takeOver) instead hands the socket over once the 101 is in the
 * kernel: no parser, no timers, still counted by the server.
 *
 * States, derived from a few fields rather than stored: reading a head (no
 * `exchange`, the decoder done); busy (an `exchange` runs; bytes past its
 * body wait in the read buffer as the next request, up to
 * PIPELINE_HIGH_WATER_MARK); discarding (the exchange is over, its body is
 * not); waiting for output (`waitingForOutput`); closing (no further request
 * is read; the socket ends once the output is flushed); upgraded. Requests
 * are handled strictly one after another, so pipelined requests are answered
 * in order; after any framing error nothing more is read as a request.
 */

import type { Socket } from "node:net";
import { ClientDisconnectedError, HttpProtocolError, RequestTimeoutError, renderErrorResponse } from "../errors.js";
import { ChunkedDecoder, EmptyDecoder, LengthDecoder, type BodyDecoder } from "../http1/body-decoder.js";
import { connectionMayContinue, type ConnectionFacts } from "../http1/keep-alive.js";
import { requestFraming } from "../http1/request-framing.js";
import { RequestHeadParser, type RequestHead } from "../http1/request-head.js";
import { buildEnviron, type ConnectionInfo } from "../gateway/environ.js";
import { Input, expectsContinue, type InputSource } from "../gateway/input.js";
import { Exchange, type ExchangeHost } from "../gateway/response.js";
import type { App } from "../gateway/types.js";
import { EXCHANGE, type Takeover } from "../gateway/exchange-link.js";
import { INPUT_HIGH_WATER_MARK, LINGER_MS, PIPELINE_HIGH_WATER_MARK, SOCKET_BATCH_BYTES } from "../limits.js";
import type { ServerConfig } from "../options.js";
import { coarseNow, refreshClock } from "./clock.js";
import { describeError } from "../errors.js";
import { ReadBuffer } from "./read-buffer.js";
import { SocketOutput } from "./output.js";
import { endRequest } from "./request-end.js";

/** What a connection needs from its server. */
export interface ConnectionOwner {
  readonly config: ServerConfig;
  readonly app: App;
  /** The server is shutting down: no connection may be kept alive. */
  readonly closing: boolean;
  requestStarted(): void;
  /** `abandoned`: requestAbandoned() was called for it. */
  requestFinished(abandoned: boolean): void;
  /** Shutdown dropped the connection of a request marked idle: close() need not wait for its app. */
  requestAbandoned(): void;
  connectionClosed(conn: Connection, reason: ConnectionCloseReason): void;
  /** A post-hook run began; graceful close waits for `running` to settle. */
  hooksStarted(running: Promise<void>): void;
}

/**
 * Why a connection closed, as the server's `connection closed` event says:
 * - `client`: the client closed it (FIN, or a close while idle);
 * - `error`: a socket error (a reset, a TLS error);
 * - `protocol-error`: the server answered a malformed request (400, 414, 431, 501, 505) and closed;
 * - `timeout`: headersTimeout, requestTimeout, socketTimeout, or keepalive's idle limit;
 * - `done`: the last response said `Connection: close` (keep-alive off or refused);
 * - `aborted`: a response was cut after its head went out (an app error mid-body);
 * - `shutdown`: WsgiServer.close() closed it (idle, or after its last response);
 * - `deadline`: WsgiServer.close()'s deadline cut it;
 * - `upgraded`: it was taken over (takeOver, or eventlet.already_handled / getSocket()).
 */
export type ConnectionCloseReason =
  "client" | "error" | "protocol-error" | "timeout" | "done" | "aborted" | "shutdown" | "deadline" | "upgraded";

const EMPTY_DECODER = new EmptyDecoder();
const NO_BYTES = Buffer.alloc(0);

export class Connection implements ExchangeHost, InputSource, ConnectionFacts {
  readonly socket: Socket;
  readonly config: ServerConfig;
  private readonly owner: ConnectionOwner;
  private readonly info: ConnectionInfo;
  private readonly parser: RequestHeadParser;

  /** Received bytes not yet consumed. */
  private readonly rb = new ReadBuffer();
  private exchange: Exchange | null = null;
  private decoder: BodyDecoder = EMPTY_DECODER;
  private input: Input | null = null;

  /** ms: when the first byte of the current request arrived; 0 between requests. */
  private requestStartedAt = 0;
  /** ms: since when the connection has been waiting for a request; 0 when it is not. */
  private idleSince: number;
  /** ms: when the socket was ended; 0 while open. */
  private endedAt = 0;
  /** The app called eventlet.set_idle during the current request. */
  private markedIdle = false;
  /** The running request was reported abandoned (shutdown dropped its connection as marked idle). */
  private abandoned = false;
  /** No request has begun on this connection yet: its wait for one is bounded by headersTimeout. */
  private freshConnection = true;

  private pumping = false;
  /** No further request will be read. */
  private closing = false;
  private closed = false;
  private peerEnded = false;
  private paused = false;
  private takenOver = false;
  /** Reading stopped until the responses queued on the socket drain (see outputBackedUp). */
  private waitingForOutput = false;
  /** takeOver() handed the socket to another protocol: no parser, no timers. */
  private upgraded = false;
  private shutdownListeners: ((deadlineMs: number | undefined) => void)[] | null = null;
  /** Why the connection is closing, once known (the first reason wins). */
  private closeReason: ConnectionCloseReason | null = null;
  /** Requests begun on this connection. */
  requests = 0;

  /** The response bytes on their way to the socket, and the requests waiting for them (output.ts). */
  private readonly out: SocketOutput;

  constructor(owner: ConnectionOwner, socket: Socket, info: Omit<ConnectionInfo, "setIdle">) {
    this.owner = owner;
    this.config = owner.config;
    this.socket = socket;
    this.info = {
      serverName: info.serverName,
      serverPort: info.serverPort,
      remoteAddr: info.remoteAddr,
      remotePort: info.remotePort,
      https: info.https,
      trustedForwarding: info.trustedForwarding ?? null,
      errors: info.errors,
      setIdle: () => {
        this.setIdle();
      },
    };
    this.parser = new RequestHeadParser(this.config.headLimits);
    this.out = new SocketOutput(
      socket,
      (req, handedTotal, gone) => {
        endRequest(req, handedTotal, gone, this.config, this.info, this.trackHooks);
      },
      () => socket.on("drain", onSocketDrain),
    );
    this.idleSince = coarseNow();
    socket.setNoDelay(true);
    // The listeners are shared functions that find their Connection on the socket,
    // rather than closures made for every connection: cheaper to accept, less to hold.
    (socket as OwnedSocket)[CONNECTION] = this;
    socket.on("data", onSocketData);
    socket.on("end", onSocketEnd);
    socket.on("error", onSocketError);
    socket.on("close", onSocketClose);
    // "drain" is listened to once something waits for it (drained()).
    if (this.config.socketTimeoutMs > 0) {
      socket.setTimeout(this.config.socketTimeoutMs);
      socket.on("timeout", onSocketTimeout);
    }
  }

  // ---- socket events (through the shared listeners below the class) ----

  /** @internal */
  onData(chunk: Buffer): void {
    if (this.closing) return; // bytes after the last request are ignored
    this.rb.append(chunk);
    this.pump();
  }

  /** @internal */
  onEnd(): void {
    this.peerEnded = true;
    this.setCloseReason("client");
    if (!this.decoder.done) {
      this.input?.fail(new ClientDisconnectedError());
      // A half-close before the request body is complete: the request can never be whole.
      this.exchange?.clientGone();
    }
    if (this.exchange === null) this.endConnection();
  }

  /** @internal */
  onError(err: Error): void {
    this.setCloseReason("error");
    this.config.log.debug(`connection error from ${this.info.remoteAddr}: ${err.message}`);
  }

  /** @internal */
  onClose(): void {
    this.closed = true;
    this.closing = true;
    if (!this.decoder.done) this.input?.fail(new ClientDisconnectedError());
    this.exchange?.clientGone();
    this.out.socketClosed();
    this.owner.connectionClosed(this, this.closeReason ?? "client");
  }

  /** @internal */
  onDrain(): void {
    this.out.wakeDrainWaiters();
  }

  /** @internal */
  onTimeout(): void {
    // As eventlet's socket_timeout, this bounds waits on the client: an app still
    // working (nothing left unsent, no body it waits for) is not cut off.
    if (this.exchange !== null && this.socket.writableLength === 0 && (this.decoder.done || this.paused)) return;
    this.config.log.debug(`connection from ${this.info.remoteAddr} timed out`);
    this.setCloseReason("timeout");
    this.socket.destroy();
  }

  // ---- the read loop ----

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.closing && !this.takenOver) {
        const buf = this.rb.bytes;
        if (!this.decoder.done) {
          if (buf === null) break;
          this.feedBody(buf);
          if (!this.decoder.done) break;
          continue;
        }
        if (this.exchange !== null) {
          if (this.rb.length > PIPELINE_HIGH_WATER_MARK) this.pauseReading();
          break;
        }
        if (buf === null || this.outputBackedUp() || !this.readHead(buf)) break;
      }
    } finally {
      this.pumping = false;
    }
    // Stopped at an app that returned a promise, with responses to earlier pipelined requests
    // not yet sent: this one likely follows within a few microtask turns and goes out with
    // them, in one write as on the synchronous path. An app that really waits holds them
    // back one turn of the event loop at most (deferFlush).
    if (this.exchange !== null && this.outputBytes > 0 && !this.closing) this.deferFlush();
    else this.flush();
  }

  /** A flush is due at the next check phase of the event loop (setImmediate). */
  private flushDeferred = false;

  private deferFlush(): void {
    if (this.flushDeferred) return;
    this.flushDeferred = true;
    setImmediate(flushLater, this);
  }

  /** @internal */
  deferredFlush(): void {
    this.flushDeferred = false;
    this.flush();
  }

  /**
   * The responses written so far still wait on the socket (it asked for drain):
   * the next request is not read until they have gone. A client that pipelines
   * requests and never reads their responses then stalls on its own send
   * buffer, instead of the server reading every request and holding every
   * response (docs/api.md, backpressure).
   */
  private outputBackedUp(): boolean {
    if (this.outputBytes >= SOCKET_BATCH_BYTES) this.flush();
    if (!this.socket.writableNeedDrain) return false;
    this.pauseReading();
    if (!this.waitingForOutput) {
      this.waitingForOutput = true;
      void this.drained().then(() => {
        this.waitingForOutput = false;
        if (this.closing || this.exchange !== null) return;
        this.resumeReading();
        this.pump();
      });
    }
    return true;
  }

  /** Reads a head from buf (the read buffer's store); true when a request was started and finished synchronously (keep going). */
  private readHead(buf: Buffer): boolean {
    if (this.requestStartedAt === 0) {
      this.requestStartedAt = this.now;
      this.idleSince = 0;
    }
    let end: number;
    try {
      end = this.parser.execute(buf, this.rb.start, this.rb.end);
    } catch (err) {
      this.respondProtocolError(err, this.parser.requestLineSoFar);
      return false;
    }
    if (end < 0) return false;
    const head = this.parser.head;
    this.parser.reset();
    this.rb.advance(end - this.rb.start);
    return this.startExchange(head);
  }

  private startExchange(head: RequestHead): boolean {
    let framing;
    try {
      framing = requestFraming(head, this.config.rejectBadRequests);
    } catch (err) {
      this.respondProtocolError(err, head.requestLine);
      return false;
    }
    this.decoder = framing.chunked
      ? new ChunkedDecoder(this.config.headLimits)
      : framing.contentLength > 0
        ? new LengthDecoder(framing.contentLength)
        : EMPTY_DECODER;
    // (RFC 9110 §15.2), and every other response it sends says HTTP/1.0.
    const input = new Input(this, expectsContinue(framing.expectContinue, this.config.http11), this.decoder.done);
    this.input = input;
    const environ = buildEnviron(head, framing, this.info, input, this.config.environ);
    const exchange = new Exchange(this, head, framing, environ, input);
    (environ as unknown as Record<symbol, unknown>)[EXCHANGE] = exchange;
    exchange.outputStart = this.outputPosition;
    this.exchange = exchange;
    this.requests++;
    this.markedIdle = false;
    this.freshConnection = false;
    const buf = this.rb.bytes;
    if (buf !== null && !this.decoder.done) this.feedBody(buf);
    // Pipelined before a FIN that has been read already: the rest of this body can never come.
    if (this.peerEnded && !this.decoder.done) input.fail(new ClientDisconnectedError());
    this.owner.requestStarted();
    // The access log's wall_seconds wants a fine clock (eventlet's time.time(), to the
    // microsecond in %(wall_seconds).6f); nothing else reads it.
    const started = this.config.logAccess === null ? 0 : performance.now();
    const pending = exchange.run(this.owner.app);
    if (pending === undefined) {
      this.exchangeDone(exchange, started);
      return !this.closing;
    }
    pending.then(
      () => {
        this.exchangeDone(exchange, started);
      },
      (err: unknown) => {
        // run() never rejects; this is a bug in the server, not the app.
        this.config.log.error(describeError(err));
        exchange.aborted = true;
        this.exchangeDone(exchange, started);
      },
    );
    return false;
  }

  /** The decoder's callback, made the first time a body is read (most connections never see one). */
  private onBodyData: ((data: Buffer) => void) | null = null;

  private bodySink(): (data: Buffer) => void {
    return (this.onBodyData ??= (data: Buffer): void => {
      (this.input as Input).push(data);
    });
  }

  /** Feeds the body decoder from buf (the read buffer's store). */
  private feedBody(buf: Buffer): void {
    const input = this.input as Input;
    try {
      this.rb.advance(this.decoder.decode(buf, this.rb.start, this.rb.end, this.bodySink()));
    } catch (err) {
      // A malformed body: the app's reads fail, and nothing after it is a request.
      this.rb.clear();
      this.decoder = EMPTY_DECODER;
      this.closing = true;
      input.fail(err instanceof Error ? err : new Error(String(err)));
      if (this.exchange === null) {
        // No app is reading to see the error (eventlet logs it while discarding, too).
        this.config.log.debug(
          `bad request body from ${this.info.remoteAddr} while discarding it: ${(err as Error).message}`,
        );
        this.endConnection();
      }
      return;
    }
    if (this.decoder.done) {
      input.end();
      if (this.exchange === null) {
        // A discarded body is over: the connection waits for its next request.
        this.requestStartedAt = 0;
        this.input = null;
        if (this.rb.empty) this.idleSince = this.now;
        if (this.owner.closing) this.endConnection();
      }
    } else if (input.buffered > INPUT_HIGH_WATER_MARK) {
      this.pauseReading();
    }
  }

  private exchangeDone(exchange: Exchange, startedMs: number): void {
    // The app may have run synchronously past the coarse clock's expiry: idleSince and
    // the next requestStartedAt must not be stamped with a reading from before it (clock.ts).
    refreshClock();
    this.exchange = null;
    // set_idle marks the request it was called in: the next one, perhaps half received, is not idle.
    this.markedIdle = false;
    // While an unread body is discarded, requestTimeout still bounds it.
    if (this.decoder.done) {
      this.requestStartedAt = 0;
      this.input = null; // nothing more goes to it: an idle connection need not hold it
    }
    exchange.input.retire();
    const keepAlive = this.keepsConnection(exchange);
    // The access line and post hooks wait until the response is in the kernel (settleEnded).
    exchange.wallSeconds = this.config.logAccess === null ? 0 : (performance.now() - startedMs) / 1000;
    this.out.requestEnded(exchange);
    this.owner.requestFinished(this.abandoned);
    this.abandoned = false;
    if (exchange.aborted || exchange.upgraded) {
      // Aborted: the response is incomplete. Upgraded: the other protocol is over when its app returns.
      this.setCloseReason(exchange.upgraded ? "upgraded" : "aborted");
      this.closing = true;
      // Not flush(): what was written goes out, but the requests are ended once the socket
      // has closed, so that a response the kernel never took is logged as such (499).
      this.out.writeOut();
      this.socket.destroy();
      return;
    }
    if (!keepAlive) {
      this.closeAfterResponse();
      return;
    }
    if (this.decoder.done && this.rb.empty) this.idleSince = this.now;
    if (this.paused) this.resumeReading();
    this.pump();
    // A client that half-closed is answered what it pipelined before its FIN, then no more can come.
    if (this.peerEnded && this.exchange === null) this.endConnection();
  }

  /**
   * The exchange's outcome, read: exchange.keepAlive was decided when the head went out
   * (http1/keep-alive.ts); since then the connection may have learnt it cannot serve another
   * request (a body timed out or was malformed, the client half-closed, the server began
   * shutting down), so mayKeepAlive is asked again. An unread body is discarded, if it can be.
   */
  private keepsConnection(exchange: Exchange): boolean {
    const keepAlive =
      exchange.keepAlive &&
      !exchange.aborted &&
      !exchange.handedOver &&
      !exchange.upgraded &&
      !this.takenOver &&
      this.mayKeepAlive;
    if (this.decoder.done) return keepAlive;
    if (!keepAlive || exchange.input.error !== null) return false;
    exchange.input.drop();
    return true;
  }

  /** The response said Connection: close (or the socket was taken and is done with): the connection ends. */
  private closeAfterResponse(): void {
    // A paused socket (a body the app did not read, pipelined bytes past the high-water
    // mark, a socket the app took over and is done with) is resumed: what comes is dropped
    // (onData ignores bytes once closing; a taken socket has no data listener) so the
    // client's FIN is seen and the socket closes now. Left paused, it would be destroyed
    // after LINGER_MS with unread bytes, and the RST that sends can wipe the response
    // from the client's receive buffer (RFC 9112 §9.6).
    if (this.paused || this.takenOver) {
      this.paused = false;
      this.socket.resume();
    }
    if (this.takenOver) this.setCloseReason("upgraded");
    else this.setCloseReason(this.owner.closing ? "shutdown" : "done");
    this.endConnection();
  }

  // ---- timeouts, driven by the server's sweep ----

  /** Closes the connection if one of its time limits has passed. */
  checkTimeouts(now: number): void {
    const cfg = this.config;
    if (this.closed || this.upgraded) return;
    if (this.endedAt > 0) {
      if (now - this.endedAt > LINGER_MS) this.socket.destroy();
      return;
    }
    if (this.idleSince > 0) {
      // A new connection's first request must begin within headersTimeout (a client that
      // connects and says nothing cannot hold a slot); later waits are keepalive's.
      const idleLimitMs = this.freshConnection ? cfg.headersTimeoutMs : cfg.keepaliveTimeoutMs;
      if (idleLimitMs > 0 && now - this.idleSince > idleLimitMs) {
        this.config.log.debug(`closing idle connection from ${this.info.remoteAddr}`);
        this.setCloseReason("timeout");
        this.endConnection();
      }
      return;
    }
    if (this.requestStartedAt === 0) return;
    if (!this.decoder.done) {
      // A body still arriving, read by the app or being discarded.
      if (cfg.requestTimeoutMs > 0 && now - this.requestStartedAt > cfg.requestTimeoutMs) {
        this.decoder = EMPTY_DECODER;
        this.closing = true;
        this.setCloseReason("timeout");
        this.input?.fail(new RequestTimeoutError());
        if (this.exchange === null) this.endConnection();
      }
    } else if (this.exchange === null) {
      if (cfg.headersTimeoutMs > 0 && now - this.requestStartedAt > cfg.headersTimeoutMs) {
        this.setCloseReason("timeout");
        this.respondProtocolError(new RequestTimeoutError(), this.parser.requestLineSoFar);
      }
    }
  }

  /** Idle: waiting for a request with nothing of one received, or marked idle by the app. */
  get idle(): boolean {
    return (this.idleSince > 0 && this.rb.empty && this.exchange === null) || this.markedIdle;
  }

  get remoteAddr(): string {
    return this.info.remoteAddr;
  }

  get remotePort(): string {
    return this.info.remotePort;
  }

  /** No request has begun on this connection yet. */
  get fresh(): boolean {
    return this.freshConnection;
  }

  /**
   * Server shutdown: idle connections that carried requests end now, busy ones after their
   * response (with Connection: close). One that has not carried a request yet is left
   * open: the server gives it FIRST_REQUEST_GRACE_MS for its first request (graceOver).
   * An upgraded connection's new owner is told, with the time left.
   */
  shutdown(deadlineMs: number | undefined): void {
    if (this.upgraded) {
      const listeners = this.shutdownListeners;
      this.shutdownListeners = null;
      if (listeners !== null) for (const listener of listeners) listener(deadlineMs);
      return;
    }
    if (this.freshConnection && this.idle && !this.markedIdle) return;
    // eventlet shuts a connection marked idle down even while its app runs (a long poll).
    if (this.markedIdle && this.exchange !== null) {
      if (!this.abandoned) {
        this.abandoned = true;
        this.owner.requestAbandoned();
      }
      this.destroy("shutdown");
    } else if (this.idle) {
      this.closeIdle();
    }
  }

  /** The grace for a first request after shutdown began is over: a connection still without one ends. */
  graceOver(): void {
    if (this.freshConnection && this.idle) this.closeIdle();
  }

  private closeIdle(): void {
    this.setCloseReason("shutdown");
    // Nothing is owed to an idle client: once our FIN is out the socket is
    // closed, rather than lingering (up to LINGER_MS) for the client's own.
    this.endConnection();
    this.socket.destroySoon();
  }

  /** Cuts the connection now (close()'s deadline, or a connection marked idle at shutdown). */
  destroy(reason: ConnectionCloseReason = "deadline"): void {
    this.setCloseReason(reason);
    this.socket.destroy();
  }

  private setCloseReason(reason: ConnectionCloseReason): void {
    this.closeReason ??= reason;
  }

  private setIdle(): void {
    this.markedIdle = true;
  }

  private endConnection(): void {
    this.closing = true;
    if (this.endedAt > 0 || this.closed) return;
    this.endedAt = coarseNow();
    this.idleSince = 0;
    this.flush();
    this.socket.end();
  }

  /** The server answers a request it could not read (a malformed head, a timeout) and closes; one access line for it. */
  private respondProtocolError(err: unknown, requestLine: string): void {
    if (!(err instanceof HttpProtocolError)) throw err;
    this.config.log.debug(`bad request from ${this.info.remoteAddr}: ${err.message}`);
    this.setCloseReason(err instanceof RequestTimeoutError ? "timeout" : "protocol-error");
    const response = renderErrorResponse(err);
    const outputStart = this.outputPosition;
    this.writeText(response);
    this.out.requestEnded({
      environ: null,
      requestLine,
      statusCode: String(err.status),
      outputStart,
      outputBytes: response.length,
      wallSeconds: this.requestStartedAt === 0 ? 0 : (coarseNow() - this.requestStartedAt) / 1000,
    });
    this.owner.requestStarted();
    this.owner.requestFinished(false);
    this.endConnection();
  }

  private pauseReading(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  private resumeReading(): void {
    if (!this.paused || this.takenOver) return;
    this.paused = false;
    this.socket.resume();
  }

  // ---- Transport (gateway/response.ts) ----

  private readonly trackHooks = (running: Promise<void>): void => {
    this.owner.hooksStarted(running);
  };

  /** ms, now, from the coarse clock (clock.ts): what the time limits and the Date header need. */
  get now(): number {
    return coarseNow();
  }

  get gone(): boolean {
    return this.closed || this.socket.destroyed;
  }

  onGone(listener: () => void): () => void {
    const socket = this.socket;
    socket.once("close", listener);
    return () => socket.removeListener("close", listener);
  }

  /**
   * Another request may follow this one: keepalive is on, the server is not shutting down,
   * no framing error or timeout ended reading, and the client has not half-closed — or it
   * has, but pipelined bytes it sent before its FIN are still to be read.
   */
  get mayKeepAlive(): boolean {
    return connectionMayContinue(this);
  }

  // ---- ConnectionFacts (http1/keep-alive.ts) ----

  get keepaliveEnabled(): boolean {
    return this.config.keepalive;
  }
  get serverClosing(): boolean {
    return this.owner.closing;
  }
  get readingStopped(): boolean {
    return this.closing;
  }
  get peerDone(): boolean {
    return this.peerEnded && this.rb.empty;
  }

  // ---- Transport (gateway/response.ts), through the output ----

  writeText(text: string): void {
    this.out.writeText(text);
  }

  writeBytes(data: Uint8Array): void {
    this.out.writeBytes(data);
  }

  get outputBytes(): number {
    return this.out.pendingBytes;
  }

  /** Where the next byte written goes, counted from the connection's first. */
  get outputPosition(): number {
    return this.out.position;
  }

  flush(): boolean {
    return this.out.flush();
  }

  drained(): Promise<void> {
    return this.out.drained();
  }

  // ---- InputSource (gateway/input.ts) ----

  get finalResponseStarted(): boolean {
    return this.exchange === null || this.exchange.headersSent;
  }

  writeInterim(response: string): void {
    this.writeText(response);
    this.flush();
  }

  get capitalizeResponseHeaders(): boolean {
    return this.config.capitalizeResponseHeaders;
  }

  /**
   * A further 100 Continue after a chunked body was complete: the client may send
   * another chunked body, read through the same Input (docs/api.md, Input; eventlet's
   * multi-phase uploads, as OpenStack Swift uses them). A Content-Length body
   * needs nothing: its rest is still to come.
   */
  expectAnotherBody(): void {
    const input = this.input;
    const decoder = this.decoder;
    if (!(decoder instanceof ChunkedDecoder) || !decoder.done || input === null || input.error !== null) return;
    if (this.exchange === null || this.closing) return;
    this.decoder = new ChunkedDecoder(this.config.headLimits);
    input.reopen();
    this.resumeReading();
    this.pump();
  }

  consumed(): void {
    const input = this.input;
    // Only a pause for the body is the app's to lift: once the body is complete, a pause is
    // for pipelined bytes (PIPELINE_HIGH_WATER_MARK), lifted when the exchange ends.
    if (
      this.paused &&
      !this.decoder.done &&
      input !== null &&
      (input.buffered <= INPUT_HIGH_WATER_MARK / 2 || input.waiting)
    ) {
      this.resumeReading();
    }
  }

  /**
   * takeOver(): the 101 is in the output; once the kernel has taken it, the
   * connection is "upgraded" (no parser, no timers, still counted in maxSize)
   * and its socket is handed over, paused, with the bytes already read past
   * the request head.
   */
  upgrade(): Promise<Takeover> {
    this.flush();
    return new Promise((resolve, reject) => {
      this.socket.write("", (err) => {
        if (err !== undefined && err !== null)
          reject(new ClientDisconnectedError("the client went away before the upgrade"));
        else if (this.closed || this.socket.destroyed)
          reject(new ClientDisconnectedError("the client went away before the upgrade"));
        else resolve(this.handOver());
      });
    });
  }

  private handOver(): Takeover {
    const socket = this.socket;
    this.upgraded = true;
    this.closing = true;
    this.idleSince = 0;
    this.requestStartedAt = 0;
    socket.removeListener("data", onSocketData);
    socket.removeListener("end", onSocketEnd);
    socket.removeListener("drain", onSocketDrain);
    if (this.config.socketTimeoutMs > 0) {
      socket.setTimeout(0);
      socket.removeListener("timeout", onSocketTimeout);
    }
    this.out.wakeDrainWaiters();
    socket.pause();
    this.paused = false;
    const head = this.rb.take() ?? NO_BYTES;
    return {
      socket,
      head,
      onShutdown: (listener) => {
        (this.shutdownListeners ??= []).push(listener);
      },
    };
  }

  takeSocket(): Socket {
    if (!this.takenOver) {
      this.takenOver = true;
      this.flush();
      this.socket.removeListener("data", onSocketData);
      const rest = this.rb.take();
      if (rest !== null) this.socket.unshift(rest);
      this.socket.pause();
    }
    return this.socket;
  }
}

/** Where the shared socket listeners find their Connection. */
const CONNECTION = Symbol("eventwsgi.connection");
type OwnedSocket = Socket & { [CONNECTION]: Connection };

function flushLater(conn: Connection): void {
  conn.deferredFlush();
}
function onSocketData(this: OwnedSocket, chunk: Buffer): void {
  this[CONNECTION].onData(chunk);
}
function onSocketEnd(this: OwnedSocket): void {
  this[CONNECTION].onEnd();
}
function onSocketError(this: OwnedSocket, err: Error): void {
  this[CONNECTION].onError(err);
}
function onSocketClose(this: OwnedSocket): void {
  this[CONNECTION].onClose();
}
function onSocketDrain(this: OwnedSocket): void {
  this[CONNECTION].onDrain();
}
function onSocketTimeout(this: OwnedSocket): void {
  this[CONNECTION].onTimeout();
}
