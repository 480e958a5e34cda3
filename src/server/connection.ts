/**
 * One client connection: the socket, its timers and backpressure, and the
 * exchange in progress. What the bytes mean — heads, bodies, pipelining,
 * discarding, whether the connection goes on — is the sans-IO machine's
 * (http1/server-connection.ts); this file moves bytes and events between it,
 * the socket and the gateway.
 *
 * The life of a request, from bytes to app to bytes:
 * 1. `onData` hands the socket's bytes to the machine (`http.receive`) and
 *    calls `pump`, the read loop.
 * 2. `pump` asks the machine for its next event (`http.next`). Before a head
 *    is read it asks `outputBackedUp`: while earlier responses still wait on
 *    the socket it stops reading (a client that pipelines and never reads
 *    stalls on its own send buffer). A malformed head (`HeadError`) goes to
 *    `respondProtocolError` (400/414/431/501/505, one access line, close).
 * 3. On `Request`, `startExchange` builds the Input (gateway/input.ts) and
 *    the environ, links the environ to its Exchange (gateway/exchange-link.ts)
 *    and runs the app (gateway/response.ts: `Exchange.run`). Body bytes go
 *    from the machine's decoder into the Input (`bodySink`); the socket is
 *    paused above INPUT_HIGH_WATER_MARK until the app reads (`consumed`).
 * 4. The Exchange writes its head and body through `writeText`/`writeBytes`
 *    into the output (output.ts), which `flush` hands to the socket, once per
 *    batch of pipelined requests on the synchronous path.
 * 5. `exchangeDone` reads the exchange's outcome (`Exchange.conclude`),
 *    queues the request on the output (its access line and post hooks run once
 *    its bytes are in the kernel, request-end.ts), tells the machine
 *    (`http.responseEnded`: http1/keep-alive.ts decided) and either reads the
 *    next request (back to 2, discarding an unread body first) or ends the
 *    connection.
 * `upgrade` (takeOver) instead hands the socket over once the 101 is in the
 * kernel (takeover.ts): no parser, no timers, still counted by the server.
 * Time limits: deadlines.ts, checked by the server's sweep (`checkTimeouts`).
 */

import type { Socket } from "node:net";
import { ClientDisconnectedError, HttpProtocolError, RequestTimeoutError, renderErrorResponse } from "../errors.js";
import { describeError } from "../errors.js";
import { Event, ReadState, ServerConnection } from "../http1/server-connection.js";
import { buildEnviron, type ConnectionInfo } from "../gateway/environ.js";
import { Input, expectsContinue, type InputSource } from "../gateway/input.js";
import { Exchange, Outcome, type ExchangeHost } from "../gateway/response.js";
import type { App } from "../gateway/types.js";
import { EXCHANGE, type Takeover } from "../gateway/exchange-link.js";
import { INPUT_HIGH_WATER_MARK, PIPELINE_HIGH_WATER_MARK, SOCKET_BATCH_BYTES } from "../limits.js";
import type { ServerConfig } from "../options.js";
import { coarseNow, refreshClock } from "./clock.js";
import { ConnectionClocks, Expiry } from "./deadlines.js";
import { SocketOutput } from "./output.js";
import { endRequest } from "./request-end.js";
import { attachSocket, detachData, onSocketDrain, type SocketHandler } from "./socket-listeners.js";
import { ShutdownListeners, handOver } from "./takeover.js";

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

export class Connection implements ExchangeHost, InputSource, SocketHandler {
  readonly socket: Socket;
  readonly config: ServerConfig;
  private readonly owner: ConnectionOwner;
  private readonly info: ConnectionInfo;
  /** The sans-IO protocol state: received bytes, parser, decoder, read and keep-alive states. */
  private readonly http: ServerConnection;
  /** The request being served, and its body's reader; null between requests (input: once its body is over). */
  private exchange: Exchange | null = null;
  private input: Input | null = null;
  private readonly clocks: ConnectionClocks;
  /** The app called eventlet.set_idle during the current request. */
  private markedIdle = false;
  /** The running request was reported abandoned (shutdown dropped its connection as marked idle). */
  private abandoned = false;

  private pumping = false;
  private closed = false;
  /** The socket is paused: by us (paused), or for good once the application took it (takenOver). */
  private paused = false;
  private takenOver = false;
  /** Reading stopped until the responses queued on the socket drain (see outputBackedUp). */
  private waitingForOutput = false;
  /** Set once takeOver() handed the socket to another protocol. */
  private upgradedTo: ShutdownListeners | null = null;
  /** Why the connection is closing, once known (the first reason wins). */
  private closeReason: ConnectionCloseReason | null = null;
  /** Requests begun on this connection. */
  requests = 0;

  /** The response bytes on their way to the socket, and the requests waiting for them (output.ts). */
  private readonly out: SocketOutput;

  constructor(owner: ConnectionOwner, socket: Socket, info: Omit<ConnectionInfo, "setIdle">) {
    this.owner = owner;
    const config = (this.config = owner.config);
    this.socket = socket;
    this.info = {
      serverName: info.serverName,
      serverPort: info.serverPort,
      remoteAddr: info.remoteAddr,
      remotePort: info.remotePort,
      https: info.https,
      errors: info.errors,
      setIdle: () => {
        this.markedIdle = true;
      },
    };
    this.http = new ServerConnection(config);
    this.http.serverClosing = owner.closing;
    this.out = new SocketOutput(
      socket,
      (req, handedTotal, gone) => {
        endRequest(req, handedTotal, gone, config, this.info, this.trackHooks);
      },
      () => socket.on("drain", onSocketDrain),
    );
    this.clocks = new ConnectionClocks(coarseNow());
    socket.setNoDelay(true);
    attachSocket(socket, this, config.socketTimeoutMs);
  }

  // ---- socket events (socket-listeners.ts) ----

  onData(chunk: Buffer): void {
    if (this.http.readingStopped) return; // bytes after the last request are ignored
    this.http.receive(chunk);
    this.pump();
  }

  onEnd(): void {
    this.http.receiveEnd();
    this.setCloseReason("client");
    if (this.http.bodyIncomplete) {
      this.input?.fail(new ClientDisconnectedError());
      // A half-close before the request body is complete: the request can never be whole.
      this.exchange?.clientGone();
    }
    if (this.exchange === null) this.endConnection();
  }

  onError(err: Error): void {
    this.setCloseReason("error");
    this.config.log.debug(`connection error from ${this.info.remoteAddr}: ${err.message}`);
  }

  onClose(): void {
    this.closed = true;
    if (this.http.bodyIncomplete) this.input?.fail(new ClientDisconnectedError());
    this.http.stopReading();
    this.exchange?.clientGone();
    this.out.socketClosed();
    this.owner.connectionClosed(this, this.closeReason ?? "client");
  }

  onDrain(): void {
    this.out.wakeDrainWaiters();
  }

  onTimeout(): void {
    // As eventlet's socket_timeout, this bounds waits on the client: an app still
    // working (nothing left unsent, no body it waits for) is not cut off.
    if (this.exchange !== null && this.socket.writableLength === 0 && (!this.http.bodyIncomplete || this.paused))
      return;
    this.config.log.debug(`connection from ${this.info.remoteAddr} timed out`);
    this.setCloseReason("timeout");
    this.socket.destroy();
  }

  // ---- the read loop ----

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.takenOver && this.step());
    } finally {
      this.pumping = false;
    }
    this.flush();
  }

  /** One event from the machine, acted on; false when the loop must wait. */
  private step(): boolean {
    const http = this.http;
    if (http.readState === ReadState.Head) {
      if (http.buffered === 0 || this.outputBackedUp()) return false;
      this.clocks.requestBegins(this.now);
    }
    switch (http.next(this.bodySink)) {
      case Event.NeedData:
        if (http.readState === ReadState.Body && (this.input as Input).buffered > INPUT_HIGH_WATER_MARK)
          this.pauseReading();
        return false;
      case Event.Request:
        return this.startExchange();
      case Event.BodyEnd:
        (this.input as Input).end();
        return true;
      case Event.Discarded:
        this.discardOver();
        return true;
      case Event.Waiting:
        if (http.buffered > PIPELINE_HIGH_WATER_MARK) this.pauseReading();
        return false;
      case Event.HeadError:
        this.respondProtocolError(http.error, http.requestLineSoFar);
        return false;
      case Event.BodyError:
        this.bodyFailed(http.error as Error);
        return false;
    }
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
        if (this.http.readingStopped || this.exchange !== null) return;
        this.resumeReading();
        this.pump();
      });
    }
    return true;
  }

  /** A request head was read: its exchange begins. True when it was over synchronously (keep reading). */
  private startExchange(): boolean {
    const http = this.http;
    const head = http.head!;
    const framing = http.framing!;
    const expects = expectsContinue(framing.expectContinue, this.config.http11);
    if (expects) http.expectContinue();
    const input = new Input(this, expects, http.readState !== ReadState.Body);
    this.input = input;
    const environ = buildEnviron(head, framing, this.info, input, this.config.environ);
    const exchange = new Exchange(this, head, framing, environ, input, this.outputPosition);
    (environ as unknown as Record<symbol, unknown>)[EXCHANGE] = exchange;
    this.exchange = exchange;
    this.requests++;
    this.markedIdle = false;
    this.clocks.fresh = false;
    if (http.readState === ReadState.Body) this.step();
    // Pipelined before a FIN that has been read already: the rest of this body can never come.
    if (http.peerEnded && http.bodyIncomplete) input.fail(new ClientDisconnectedError());
    this.owner.requestStarted();
    const pending = exchange.run(this.owner.app);
    if (pending === undefined) {
      this.exchangeDone(exchange);
      return !http.readingStopped;
    }
    pending.then(
      () => {
        this.exchangeDone(exchange);
      },
      (err: unknown) => {
        // run() never rejects; this is a bug in the server, not the app.
        this.config.log.error(describeError(err));
        exchange.abort();
        this.exchangeDone(exchange);
      },
    );
    return false;
  }

  /** The decoder's callback, made the first time a body is read (most connections never see one). */
  private onBodyData: ((data: Buffer) => void) | null = null;

  private get bodySink(): (data: Buffer) => void {
    return (this.onBodyData ??= (data: Buffer): void => {
      (this.input as Input).push(data);
    });
  }

  /** A malformed body: the app's reads fail, and nothing after it is a request. */
  private bodyFailed(err: Error): void {
    this.input?.fail(err);
    if (this.exchange === null) {
      // No app is reading to see the error (eventlet logs it while discarding, too).
      this.config.log.debug(`bad request body from ${this.info.remoteAddr} while discarding it: ${err.message}`);
      this.endConnection();
    }
  }

  /** A discarded body is over: the connection waits for its next request. */
  private discardOver(): void {
    this.input?.end();
    this.clocks.requestOver();
    this.input = null;
    if (this.http.buffered === 0) this.clocks.idleSince = this.now;
    if (this.owner.closing) this.endConnection();
  }

  private exchangeDone(exchange: Exchange): void {
    // The app may have run synchronously past the coarse clock's expiry: idleSince and
    // the next requestStartedAt must not be stamped with a reading from before it (clock.ts).
    refreshClock();
    this.exchange = null;
    // set_idle marks the request it was called in: the next one, perhaps half received, is not idle.
    this.markedIdle = false;
    const http = this.http;
    const bodyOver = !http.bodyIncomplete;
    // While an unread body is discarded, requestTimeout still bounds it.
    if (bodyOver) this.clocks.requestOver();
    const outcome = exchange.conclude();
    const input = this.input as Input;
    if (bodyOver) this.input = null; // nothing more goes to it: an idle connection need not hold it
    // The access line and post hooks wait until the response is in the kernel (request-end.ts).
    this.out.requestEnded(exchange);
    this.owner.requestFinished(this.abandoned);
    this.abandoned = false;
    if (outcome === Outcome.Aborted || outcome === Outcome.Upgraded) {
      // Aborted: the response is incomplete. Upgraded: the other protocol is over when its app returns.
      this.setCloseReason(outcome === Outcome.Upgraded ? "upgraded" : "aborted");
      http.stopReading();
      // Not flush(): what was written goes out, but the requests are ended once the socket
      // has closed, so that a response the kernel never took is logged as such (499).
      this.out.writeOut();
      this.socket.destroy();
      return;
    }
    // The outcome was decided when the head went out (http1/keep-alive.ts); since then the
    // connection may have learnt it cannot serve another request (a body timed out or was
    // malformed, the client half-closed, the server began shutting down): asked again.
    const keep =
      outcome === Outcome.KeepAlive && !this.takenOver && http.mayContinue && (bodyOver || input.error === null);
    if (!http.responseEnded(keep)) {
      this.closeAfterResponse();
      return;
    }
    if (!bodyOver) input.drop(); // discarded as it comes
    if (bodyOver && http.buffered === 0) this.clocks.idleSince = this.now;
    if (this.paused) this.resumeReading();
    this.pump();
    // A client that half-closed is answered what it pipelined before its FIN, then no more can come.
    if (http.peerEnded && this.exchange === null) this.endConnection();
  }

  /** The response said Connection: close (or the socket was taken and is done with): the connection ends. */
  private closeAfterResponse(): void {
    // A paused socket (a body the app did not read, pipelined bytes past the high-water
    // mark, a socket the app took over and is done with) is resumed: what comes is dropped
    // (the machine drops bytes once it reads no more; a taken socket has no data listener)
    // so the client's FIN is seen and the socket closes now. Left paused, it would be destroyed
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

  /** Closes the connection if one of its time limits has passed (deadlines.ts). */
  checkTimeouts(now: number): void {
    if (this.closed || this.upgradedTo !== null) return;
    switch (this.clocks.expired(now, this.config, this.http.bodyIncomplete, this.exchange !== null)) {
      case Expiry.None:
        return;
      case Expiry.Linger:
        this.socket.destroy();
        return;
      case Expiry.Idle:
        this.config.log.debug(`closing idle connection from ${this.info.remoteAddr}`);
        this.setCloseReason("timeout");
        this.endConnection();
        return;
      case Expiry.Body:
        // A body still arriving, read by the app or being discarded.
        this.setCloseReason("timeout");
        this.http.stopReading();
        this.input?.fail(new RequestTimeoutError());
        if (this.exchange === null) this.endConnection();
        return;
      case Expiry.Head:
        this.setCloseReason("timeout");
        this.respondProtocolError(new RequestTimeoutError(), this.http.requestLineSoFar);
        return;
    }
  }

  /** Idle: waiting for a request with nothing of one received, or marked idle by the app. */
  get idle(): boolean {
    return (this.clocks.idleSince > 0 && this.http.buffered === 0 && this.exchange === null) || this.markedIdle;
  }

  get remoteAddr(): string {
    return this.info.remoteAddr;
  }

  get remotePort(): string {
    return this.info.remotePort;
  }

  /** No request has begun on this connection yet. */
  get fresh(): boolean {
    return this.clocks.fresh;
  }

  /**
   * Server shutdown: idle connections that carried requests end now, busy ones after their
   * response (with Connection: close). One that has not carried a request yet is left
   * open: the server gives it FIRST_REQUEST_GRACE_MS for its first request (graceOver).
   * An upgraded connection's new owner is told, with the time left.
   */
  shutdown(deadlineMs: number | undefined): void {
    this.http.serverClosing = true;
    if (this.upgradedTo !== null) {
      this.upgradedTo.fire(deadlineMs);
      return;
    }
    if (this.clocks.fresh && this.idle && !this.markedIdle) return;
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
    if (this.clocks.fresh && this.idle) this.closeIdle();
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

  private endConnection(): void {
    this.http.stopReading();
    if (this.clocks.endedAt > 0 || this.closed) return;
    this.clocks.endedAt = coarseNow();
    this.clocks.idleSince = 0;
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
    const startedAt = this.clocks.requestStartedAt;
    this.out.requestEnded({
      environ: null,
      requestLine,
      statusCode: String(err.status),
      outputStart,
      outputBytes: response.length,
      wallSeconds: startedAt === 0 ? 0 : (coarseNow() - startedAt) / 1000,
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

  // ---- ExchangeHost (gateway/response.ts) ----

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
   * has, but pipelined bytes it sent before its FIN are still to be read (http1/keep-alive.ts).
   */
  get mayKeepAlive(): boolean {
    return this.http.mayContinue;
  }

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
    return this.exchange === null || this.exchange.responseStarted;
  }

  /** A 100 Continue (the only interim response), rendered by the Input, goes out now. */
  writeInterim(response: string): void {
    this.http.continueSent();
    this.writeText(response);
    this.flush();
  }

  get capitalizeResponseHeaders(): boolean {
    return this.config.capitalizeResponseHeaders;
  }

  /** A further 100 Continue went out: after a complete chunked body the machine reads another. */
  expectAnotherBody(): void {
    const input = this.input;
    if (input === null || input.error !== null || this.exchange === null) return;
    if (!this.http.anotherBody()) return;
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
      this.http.bodyIncomplete &&
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
        if ((err !== undefined && err !== null) || this.closed || this.socket.destroyed)
          reject(new ClientDisconnectedError("the client went away before the upgrade"));
        else resolve(this.handOver());
      });
    });
  }

  private handOver(): Takeover {
    const listeners = (this.upgradedTo = new ShutdownListeners());
    const head = this.http.takeBuffered();
    this.http.upgrade();
    this.clocks.idleSince = 0;
    this.clocks.requestOver();
    this.out.wakeDrainWaiters();
    this.paused = false;
    return handOver(this.socket, head, listeners);
  }

  /** eventlet's getSocket(): the application takes the socket; what was read past the head goes back to it. */
  takeSocket(): Socket {
    if (!this.takenOver) {
      this.takenOver = true;
      this.flush();
      detachData(this.socket);
      const rest = this.http.takeBuffered();
      if (rest !== null) this.socket.unshift(rest);
      this.socket.pause();
    }
    return this.socket;
  }
}
