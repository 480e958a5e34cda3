/**
 * One client connection: socket bytes in, parser, exchanges, bytes out.
 *
 * States, derived from three fields rather than stored:
 * - reading a head: no `exchange`, the body `decoder` is done;
 * - busy: an `exchange` is running (the app has the request); bytes that
 *   arrive go to its body decoder, and once that is done they wait in
 *   the read buffer (read-buffer.ts) as the next (pipelined) request;
 * - discarding: the exchange is over but its body is not: the decoder
 *   drops the rest before the next head is read;
 * - closing: no further request will be read; the socket is ended once
 *   the output is flushed.
 * Requests on a connection are handled strictly one after another, so
 * pipelined requests are answered in order; after any framing error
 * nothing more is read as a request.
 *
 * Output: heads and bodies are appended to `outText` (Latin-1) and
 * `outParts` and handed to the socket by `flush()` — once per batch of
 * pipelined requests on the synchronous path — as one write, or one
 * corked writev when there are buffers.
 *
 * Backpressure: the socket is paused while the app's unread body exceeds
 * INPUT_HIGH_WATER_MARK or pipelined bytes exceed PIPELINE_HIGH_WATER_MARK,
 * and resumed when the app reads or the exchange ends. Responses wait for
 * `drain` (see gateway/response.ts).
 */

import type { Socket } from "node:net";
import { ClientDisconnectedError, HttpProtocolError, RequestTimeoutError, renderErrorResponse } from "../errors.js";
import { ChunkedDecoder, EmptyDecoder, LengthDecoder, type BodyDecoder } from "../http1/body-decoder.js";
import { logDateTime } from "../http1/date.js";
import { requestFraming } from "../http1/request-framing.js";
import { RequestHeadParser, type RequestHead } from "../http1/request-head.js";
import { buildEnviron, type ConnectionInfo } from "../gateway/environ.js";
import { Input, type InputSource } from "../gateway/input.js";
import { Exchange, type ExchangeHost } from "../gateway/response.js";
import { checkContinueHeaders } from "../gateway/start-response.js";
import { continueResponse } from "../http1/response-head.js";
import type { App, PostHook } from "../gateway/types.js";
import { INPUT_HIGH_WATER_MARK, PIPELINE_HIGH_WATER_MARK } from "../limits.js";
import type { ServerConfig } from "../options.js";
import { logClient } from "./access-log.js";
import { coarseNow, refreshClock } from "./clock.js";
import { describeError } from "./logger.js";
import { ReadBuffer } from "./read-buffer.js";

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
  connectionClosed(conn: Connection): void;
}

const EMPTY_DECODER = new EmptyDecoder();
/** Milliseconds an ended connection may wait for the client's FIN before it is destroyed. */
const LINGER_MS = 5000;

export class Connection implements ExchangeHost, InputSource {
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
  private fresh = true;

  private pumping = false;
  /** No further request will be read. */
  private closing = false;
  private closed = false;
  private peerEnded = false;
  private paused = false;
  private takenOver = false;

  private outText = "";
  private outParts: (string | Uint8Array)[] = [];
  /** Bytes in outParts. */
  private outPartBytes = 0;
  /** Waiting for "drain"; null until something first waits (the listener is added then). */
  private drainWaiters: (() => void)[] | null = null;

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
    if (!this.decoder.done) this.input?.fail(new ClientDisconnectedError());
    if (this.exchange === null) this.endConnection();
  }

  /** @internal */
  onError(err: Error): void {
    this.config.log.debug(`connection error from ${this.info.remoteAddr}: ${err.message}`);
  }

  /** @internal */
  onClose(): void {
    this.closed = true;
    this.closing = true;
    if (!this.decoder.done) this.input?.fail(new ClientDisconnectedError());
    this.wakeDrainWaiters();
    this.owner.connectionClosed(this);
  }

  /** @internal */
  onDrain(): void {
    this.wakeDrainWaiters();
  }

  /** @internal */
  onTimeout(): void {
    // As eventlet's socket_timeout, this bounds waits on the client: an app still
    // working (nothing left unsent, no body it waits for) is not cut off.
    if (this.exchange !== null && this.socket.writableLength === 0 && (this.decoder.done || this.paused)) return;
    this.config.log.debug(`connection from ${this.info.remoteAddr} timed out`);
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
        if (buf === null || !this.readHead(buf)) break;
      }
    } finally {
      this.pumping = false;
    }
    this.flush();
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
      this.respondProtocolError(err);
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
      this.respondProtocolError(err);
      return false;
    }
    this.decoder = framing.chunked
      ? new ChunkedDecoder(this.config.headLimits)
      : framing.contentLength > 0
        ? new LengthDecoder(framing.contentLength)
        : EMPTY_DECODER;
    // A server limited to HTTP/1.0 sends no 100 Continue: 1xx responses are HTTP/1.1's
    // (RFC 9110 §15.2), and every other response it sends says HTTP/1.0.
    const input = new Input(this, framing.expectContinue && this.config.http11, this.decoder.done);
    this.input = input;
    const environ = buildEnviron(head, framing, this.info, input, this.config.environ);
    const exchange = new Exchange(this, head, framing, environ, input);
    this.exchange = exchange;
    this.markedIdle = false;
    this.fresh = false;
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
    const input = exchange.input;
    input.retire();
    // exchange.keepAlive was decided when the head went out; since then the connection may
    // have learnt it cannot serve another request (a body timed out or was malformed, the
    // client half-closed, the server began shutting down): mayKeepAlive is asked again.
    let keepAlive =
      exchange.keepAlive && !exchange.aborted && !exchange.handedOver && !this.takenOver && this.mayKeepAlive;
    if (!this.decoder.done) {
      if (keepAlive && input.error === null) input.drop();
      else keepAlive = false;
    }
    this.runPostHooks(exchange);
    this.logAccess(exchange, startedMs);
    // After the post hooks are under way: a server closing may be waiting for this.
    this.owner.requestFinished(this.abandoned);
    this.abandoned = false;
    if (exchange.aborted) {
      this.closing = true;
      this.flush();
      this.socket.destroy();
      return;
    }
    if (!keepAlive) {
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
      this.endConnection();
      return;
    }
    if (this.decoder.done && this.rb.empty) this.idleSince = this.now;
    if (this.paused) this.resumeReading();
    this.pump();
    // A client that half-closed is answered what it pipelined before its FIN, then no more can come.
    if (this.peerEnded && this.exchange === null) this.endConnection();
  }

  // ---- timeouts, driven by the server's sweep ----

  /** Closes the connection if one of its time limits has passed. */
  checkTimeouts(now: number): void {
    const cfg = this.config;
    if (this.closed) return;
    if (this.endedAt > 0) {
      if (now - this.endedAt > LINGER_MS) this.socket.destroy();
      return;
    }
    if (this.idleSince > 0) {
      // A new connection's first request must begin within headersTimeout (a client that
      // connects and says nothing cannot hold a slot); later waits are keepalive's.
      const idleLimitMs = this.fresh ? cfg.headersTimeoutMs : cfg.keepaliveTimeoutMs;
      if (idleLimitMs > 0 && now - this.idleSince > idleLimitMs) {
        this.config.log.debug(`closing idle connection from ${this.info.remoteAddr}`);
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
        this.input?.fail(new RequestTimeoutError());
        if (this.exchange === null) this.endConnection();
      }
    } else if (this.exchange === null) {
      if (cfg.headersTimeoutMs > 0 && now - this.requestStartedAt > cfg.headersTimeoutMs) {
        this.respondProtocolError(new RequestTimeoutError());
      }
    }
  }

  /** Idle: waiting for a request with nothing of one received, or marked idle by the app. */
  get idle(): boolean {
    return (this.idleSince > 0 && this.rb.empty && this.exchange === null) || this.markedIdle;
  }

  /** Server shutdown: idle connections end now, busy ones after their response (with Connection: close). */
  shutdown(): void {
    // eventlet shuts a connection marked idle down even while its app runs (a long poll).
    if (this.markedIdle && this.exchange !== null) {
      if (!this.abandoned) {
        this.abandoned = true;
        this.owner.requestAbandoned();
      }
      this.destroy();
    } else if (this.idle) {
      // Nothing is owed to an idle client: once our FIN is out the socket is
      // closed, rather than lingering (up to LINGER_MS) for the client's own.
      this.endConnection();
      this.socket.destroySoon();
    }
  }

  destroy(): void {
    this.socket.destroy();
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

  private respondProtocolError(err: unknown): void {
    if (!(err instanceof HttpProtocolError)) throw err;
    this.config.log.debug(`bad request from ${this.info.remoteAddr}: ${err.message}`);
    this.writeText(renderErrorResponse(err));
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

  // ---- post hooks and the access log ----

  private runPostHooks(exchange: Exchange): void {
    const hooks = exchange.environ["eventlet.posthooks"];
    if (!Array.isArray(hooks) || hooks.length === 0) return;
    const run = (): void => {
      void runHooks(hooks, exchange, this.config);
    };
    this.flush();
    if (this.closed || this.socket.writableLength === 0) queueMicrotask(run);
    else this.socket.write("", run);
  }

  private logAccess(exchange: Exchange, startedMs: number): void {
    const format = this.config.logAccess;
    if (format === null) return;
    const client = logClient(
      this.info,
      exchange.head.headers,
      exchange.environ.HTTP_X_FORWARDED_FOR,
      this.config.logXForwardedFor,
    );
    const now = Date.now();
    try {
      this.config.log.info(
        format({
          client_ip: client.ip,
          client_port: client.port,
          date_time: logDateTime(now),
          request_line: exchange.head.requestLine,
          status_code: exchange.statusCode,
          body_length: exchange.bytesSent,
          wall_seconds: (performance.now() - startedMs) / 1000,
        }),
      );
    } catch (err) {
      // A logFormat function (or logger) that throws is the user's bug, like an app's: logged,
      // and the connection goes on — it must not take the response or the process with it.
      this.config.log.error(describeError(err));
    }
  }

  // ---- Transport (gateway/response.ts) ----

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
    return this.config.keepalive && !this.owner.closing && !this.closing && (!this.peerEnded || !this.rb.empty);
  }

  writeText(text: string): void {
    this.outText += text;
  }

  writeBytes(data: Uint8Array): void {
    if (this.outText.length > 0) {
      this.outPartBytes += this.outText.length;
      this.outParts.push(this.outText);
      this.outText = "";
    }
    this.outPartBytes += data.length;
    this.outParts.push(data);
  }

  get outputBytes(): number {
    return this.outPartBytes + this.outText.length;
  }

  flush(): boolean {
    const socket = this.socket;
    if (this.closed || socket.destroyed) {
      this.outText = "";
      this.outParts = [];
      this.outPartBytes = 0;
      return true;
    }
    if (this.outParts.length === 0) {
      if (this.outText.length > 0) {
        const text = this.outText;
        this.outText = "";
        return socket.write(text, "latin1");
      }
      return !socket.writableNeedDrain;
    }
    if (this.outText.length > 0) this.outParts.push(this.outText);
    const parts = this.outParts;
    this.outText = "";
    this.outParts = [];
    this.outPartBytes = 0;
    if (parts.length > 1) socket.cork();
    let ok = true;
    for (const part of parts) ok = typeof part === "string" ? socket.write(part, "latin1") : socket.write(part);
    if (parts.length > 1) socket.uncork();
    return ok && !socket.writableNeedDrain;
  }

  drained(): Promise<void> {
    if (this.gone || !this.socket.writableNeedDrain) return Promise.resolve();
    if (this.drainWaiters === null) {
      this.drainWaiters = [];
      this.socket.on("drain", onSocketDrain);
    }
    const waiters = this.drainWaiters;
    return new Promise((resolve) => waiters.push(resolve));
  }

  private wakeDrainWaiters(): void {
    const waiters = this.drainWaiters;
    if (waiters === null || waiters.length === 0) return;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }

  // ---- InputSource (gateway/input.ts) ----

  get finalResponseStarted(): boolean {
    return this.exchange === null || this.exchange.headersSent;
  }

  sendContinue(headerBlock: string): void {
    this.writeText(continueResponse(headerBlock));
    this.flush();
  }

  renderContinueHeaders(headers: [string, string][]): string {
    return checkContinueHeaders(headers, this.config.capitalizeResponseHeaders);
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

async function runHooks(hooks: PostHook[], exchange: Exchange, config: ServerConfig): Promise<void> {
  for (const hook of hooks) {
    try {
      const [fn, args = [], kwargs] = hook;
      const r = kwargs === undefined ? fn(exchange.environ, ...args) : fn(exchange.environ, ...args, kwargs);
      if (r !== undefined && typeof r.then === "function") await r;
    } catch (err) {
      config.log.error(describeError(err));
    }
  }
}
