/**
 * The life of a connection's socket: its events, why it closes, its time
 * limits (deadlines.ts, checked by the server's sweep), and its part in the
 * server's shutdown. What the requests on it do is connection.ts's, which
 * extends this class.
 */

import type { Socket } from "node:net";
import { ClientDisconnectedError, HttpProtocolError, RequestTimeoutError, renderErrorResponse } from "../errors.js";
import { ServerConnection } from "../http1/server-connection.js";
import type { ConnectionInfo } from "../gateway/environ.js";
import type { Input } from "../gateway/input.js";
import type { Exchange } from "../gateway/response.js";
import type { ServerConfig } from "../options.js";
import { coarseNow } from "./clock.js";
import type { ConnectionCloseReason, ConnectionOwner } from "./connection-owner.js";
import { ConnectionClocks, Expiry } from "./deadlines.js";
import { SocketOutput } from "./output.js";
import { endRequest } from "./request-end.js";
import { attachSocket, onSocketDrain, type SocketHandler } from "./socket-listeners.js";
import type { ShutdownListeners } from "./takeover.js";

export abstract class ConnectionLife implements SocketHandler {
  readonly socket: Socket;
  readonly config: ServerConfig;
  protected readonly owner: ConnectionOwner;
  protected readonly info: ConnectionInfo;
  /** The sans-IO protocol state: received bytes, parser, decoder, read and keep-alive states. */
  protected readonly http: ServerConnection;
  /** The request being served, and its body's reader; null between requests (input: once its body is over). */
  protected exchange: Exchange | null = null;
  protected input: Input | null = null;
  protected readonly clocks: ConnectionClocks;
  /** The app called eventlet.set_idle during the current request. */
  protected markedIdle = false;
  /** The running request was reported abandoned (shutdown dropped its connection as marked idle). */
  protected abandoned = false;

  protected closed = false;
  /** The socket is paused: by us (paused), or for good once the application took it (takenOver). */
  protected paused = false;
  protected takenOver = false;
  /** Set once takeOver() handed the socket to another protocol. */
  protected upgradedTo: ShutdownListeners | null = null;
  /** Why the connection is closing, once known (the first reason wins). */
  protected closeReason: ConnectionCloseReason | null = null;
  /** Requests begun on this connection. */
  requests = 0;

  /** The response bytes on their way to the socket, and the requests waiting for them (output.ts). */
  protected readonly out: SocketOutput;

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
      trustedForwarding: info.trustedForwarding ?? null,
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

  /** An exchange is running (read through a getter: pump() may have ended one). */
  protected get serving(): boolean {
    return this.exchange !== null;
  }

  // ---- socket events (socket-listeners.ts) ----

  abstract onData(chunk: Buffer): void;

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

  protected closeIdle(): void {
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

  protected setCloseReason(reason: ConnectionCloseReason): void {
    this.closeReason ??= reason;
  }

  protected endConnection(): void {
    this.http.stopReading();
    if (this.clocks.endedAt > 0 || this.closed) return;
    this.clocks.endedAt = coarseNow();
    this.clocks.idleSince = 0;
    this.out.flush();
    this.socket.end();
  }

  /** The server answers a request it could not read (a malformed head, a timeout) and closes; one access line for it. */
  protected respondProtocolError(err: unknown, requestLine: string): void {
    if (!(err instanceof HttpProtocolError)) throw err;
    this.config.log.debug(`bad request from ${this.info.remoteAddr}: ${err.message}`);
    this.setCloseReason(err instanceof RequestTimeoutError ? "timeout" : "protocol-error");
    const response = renderErrorResponse(err);
    const outputStart = this.out.position;
    this.out.writeText(response);
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

  protected pauseReading(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  protected resumeReading(): void {
    if (!this.paused || this.takenOver) return;
    this.paused = false;
    this.socket.resume();
  }

  protected readonly trackHooks = (running: Promise<void>): void => {
    this.owner.hooksStarted(running);
  };
}
