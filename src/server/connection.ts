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
 *    into the output (output.ts), which `flush` hands to the socket once per
 *    batch of pipelined requests: on the synchronous path when `pump` stops,
 *    and when an app returned a promise `pump` defers the flush to the end of
 *    the event-loop turn (output.ts `flushSoon`) while earlier responses wait unsent,
 *    so a batch answered within microtask turns is still one write.
 * 5. `exchangeDone` reads the exchange's outcome (`Exchange.conclude`),
 *    queues the request on the output (its access line and post hooks run once
 *    its bytes are in the kernel, request-end.ts), tells the machine
 *    (`http.responseEnded`: http1/keep-alive.ts decided) and either reads the
 *    next request (back to 2, discarding an unread body first) or ends the
 *    connection.
 * `upgrade` (takeOver) instead hands the socket over once the 101 is in the
 * kernel (takeover.ts): no parser, no timers, still counted by the server.
 * The socket's own life — its events, close reasons, time limits and
 * shutdown — is connection-life.ts's, the class this one extends.
 */

import type { Socket } from "node:net";
import { ClientDisconnectedError, describeError } from "../errors.js";
import type { RequestFraming } from "../http1/request-framing.js";
import type { RequestHead } from "../http1/request-head.js";
import { Event, ReadState } from "../http1/server-connection.js";
import { buildEnviron } from "../gateway/environ.js";
import { Input, expectsContinue, type InputSource } from "../gateway/input.js";
import type { ExchangeHost } from "../gateway/host.js";
import { Outcome } from "../gateway/phase.js";
import { Exchange } from "../gateway/response.js";
import { EXCHANGE, type Takeover } from "../gateway/exchange-link.js";
import { INPUT_HIGH_WATER_MARK, PIPELINE_HIGH_WATER_MARK, SOCKET_BATCH_BYTES } from "../limits.js";
import { coarseNow, refreshClock } from "./clock.js";
import { ConnectionLife } from "./connection-life.js";
import { ShutdownListeners, giveSocket, handOver, kernelTook } from "./takeover.js";

export type { ConnectionCloseReason, ConnectionOwner } from "./connection-owner.js";

export class Connection extends ConnectionLife implements ExchangeHost, InputSource {
  private pumping = false;
  /** Reading stopped until the responses queued on the socket drain (see outputBackedUp). */
  private waitingForOutput = false;

  // ---- socket data (socket-listeners.ts) ----

  onData(chunk: Buffer): void {
    if (this.http.readingStopped) return; // bytes after the last request are ignored
    this.http.receive(chunk);
    this.pump();
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
    // Stopped at an app that returned a promise, with responses to earlier pipelined requests
    // not yet sent: this one likely follows within a few microtask turns and goes out with
    // them, in one write as on the synchronous path. An app that really waits holds them
    // back one turn of the event loop at most (flushSoon).
    if (this.exchange !== null && this.outputBytes > 0 && !this.http.readingStopped) this.out.flushSoon();
    else this.flush();
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
    const head = http.head as RequestHead;
    const framing = http.framing as RequestFraming;
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
    if (http.peerEnded && !this.serving) this.endConnection();
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

  // ---- ExchangeHost (gateway/response.ts) ----

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
    return kernelTook(this.socket).then(() => this.handOver());
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
      giveSocket(this.socket, this.http.takeBuffered());
    }
    return this.socket;
  }
}
