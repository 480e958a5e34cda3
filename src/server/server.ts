/**
 * server(): accepts connections from a ListenSocket and serves an app on
 * them (eventlet's `wsgi.server`). Owns the connection limit, the one
 * timer that enforces every connection's time limits, the startup and exit
 * log lines, and graceful shutdown.
 */

import type net from "node:net";
import type tls from "node:tls";
import type { App } from "../gateway/types.js";
import { normalizeOptions, type ServerConfig, type ServerOptions } from "../options.js";
import { AcceptGuard } from "./accept-guard.js";
import { FIRST_REQUEST_GRACE_MS, MAX_SWEEP_MS, MIN_SWEEP_MS } from "../limits.js";
import { Connection, type ConnectionCloseReason, type ConnectionOwner } from "./connection.js";
import type { ConnectionLife } from "./connection-life.js";
import { emitConnectionClosed } from "./connection-closed.js";

export { onConnectionClosed, type ConnectionClosedEvent, type ConnectionClosedListener } from "./connection-closed.js";
import type { Acceptor, Address, ListenSocket } from "./listen.js";
import { createServerContext, secureSocket, type SslOptions } from "./tls.js";
import { ProxyHeaderStage, describePeer, socketPeer, type PeerAddress } from "./proxy-stage.js";

export interface CloseOptions {
  /** Milliseconds to let active requests finish; then every remaining connection is cut. */
  deadline?: number;
}

export interface WsgiServer {
  /** Where it listens, as ListenSocket.address(). */
  readonly address: Address;
  /** Resolves (never rejects) when the server has stopped. */
  readonly closed: Promise<void>;
  /** Graceful shutdown; see docs/api.md. */
  close(opts?: CloseOptions): Promise<void>;
  /** Requests being handled now. */
  readonly outstandingRequests: number;
  /** Connections being served now (not those in a TLS handshake or waiting for a slot). */
  readonly connectionCount: number;
  /** Loads a new certificate and key for new TLS connections (renewal without restart); throws, keeping the old one, when they are bad. */
  setSecureContext(opts: SslOptions): void;
}

function sweepInterval(cfg: ServerConfig): number {
  const limits = [cfg.keepaliveTimeoutMs, cfg.headersTimeoutMs, cfg.requestTimeoutMs, cfg.socketTimeoutMs].filter(
    (ms) => ms > 0,
  );
  const smallest = limits.length === 0 ? MAX_SWEEP_MS : Math.min(...limits);
  return Math.max(MIN_SWEEP_MS, Math.min(MAX_SWEEP_MS, Math.floor(smallest / 4)));
}

function describeAddress(address: Address, secure: boolean): string {
  const scheme = secure ? "https" : "http";
  if ("path" in address) return `${scheme}:${address.path}`;
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  return `${scheme}://${host}:${address.port}`;
}

/** One line for a TLS failure: OpenSSL's reason ("wrong version number") and code, or the socket error. */
function describeTlsError(err: NodeJS.ErrnoException & { reason?: string }): string {
  const what = err.reason ?? err.message.split("\n")[0] ?? "";
  return err.code !== undefined && !what.includes(err.code) ? `${what} (${err.code})` : what;
}

/** A TLS connection still in its handshake: it holds a slot but has no Connection yet. */
interface Handshake {
  /** ms: when the connection was accepted (the handshake's deadline counts from here). */
  readonly acceptedAt: number;
  /** "1.2.3.4:5678", for log lines. */
  readonly peer: string;
}

class Server implements WsgiServer, ConnectionOwner {
  readonly config: ServerConfig;
  readonly app: App;
  readonly address: Address;
  readonly closed: Promise<void>;
  /** close() was called: nothing more is accepted and no connection is kept alive. */
  closing = false;
  outstandingRequests = 0;

  private readonly sock: ListenSocket & Acceptor;
  /** Connections being served; with `handshakes`, at most maxConnections. */
  private readonly connections = new Set<ConnectionLife>();
  /** TLS connections in their handshake. */
  private readonly handshakes = new Map<tls.TLSSocket, Handshake>();
  /** Accepted beyond maxSize: paused, unread, served in order when a slot frees; each with its close listener. */
  private readonly waiting = new Map<net.Socket, () => void>();
  private readonly sweep: NodeJS.Timeout;
  /** With proxyProtocol: connections reading their PROXY header (each holds a slot). */
  private readonly proxyStage: ProxyHeaderStage | null;
  /** Accept errors and running out of file descriptors: logs them, keeps the listener alive. */
  private readonly acceptGuard: AcceptGuard;
  private readonly serverName: string;
  private readonly serverPort: string;
  private resolveClosed!: () => void;
  private exited = false;
  private closePromise: Promise<void> | null = null;
  /** close()'s deadline passed: what was left is cut, and apps still running are not waited for. */
  private cut = false;
  /** Running apps whose connections shutdown dropped as marked idle (long polls): not waited for. */
  private abandonedRequests = 0;
  /** Post-hook runs not yet over: graceful close waits for them, up to its deadline. */
  private hooksRunning = 0;
  /** Ends the first-request grace that close() gives connections that have not carried a request. */
  private graceTimer: NodeJS.Timeout | null = null;
  private graceOver = false;

  constructor(sock: ListenSocket, app: App, opts?: ServerOptions) {
    if (typeof (sock as Partial<Acceptor>).attach !== "function")
      throw new TypeError("server() needs a socket from listen()");
    if (typeof app !== "function") throw new TypeError("server() needs an application function");
    this.sock = sock as ListenSocket & Acceptor;
    this.app = app;
    this.config = normalizeOptions(opts);
    this.address = sock.address();
    if ("path" in this.address) {
      this.serverName = "unix";
      this.serverPort = "";
    } else {
      this.serverName = this.address.host;
      this.serverPort = String(this.address.port);
    }
    this.proxyStage = this.config.proxyProtocol
      ? new ProxyHeaderStage(this.config, () => {
          this.slotFreed();
        })
      : null;
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    // Before attach, which hands over the connections held so far; a socket
    // already served by another server throws there, leaving nothing behind.
    this.acceptGuard = new AcceptGuard(this.sock.netServer, this.config.log);
    try {
      this.sock.attach((socket) => {
        this.accept(socket);
      });
    } catch (err) {
      this.acceptGuard.close();
      throw err;
    }
    this.sweep = setInterval(() => {
      this.checkTimeouts();
    }, sweepInterval(this.config));
    this.sweep.unref();
    this.config.log.info(`(${process.pid}) wsgi starting up on ${describeAddress(this.address, sock.tls)}`);
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Connections holding a slot: served, in their TLS handshake, or reading their PROXY header. */
  private get slotsInUse(): number {
    return this.connections.size + this.handshakes.size + (this.proxyStage?.size ?? 0);
  }

  private accept(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.acceptGuard.draining) {
      // Out of descriptors, libuv's spare lost: closing it frees the
      // descriptor for the next pending connection (see accept-guard.ts).
      this.acceptGuard.countRefused();
      socket.destroy();
      return;
    }
    if (this.slotsInUse >= this.config.maxConnections) {
      // Held, not refused: the socket stays paused (pauseOnConnect), so the
      // client's bytes wait in the kernel until a slot frees.
      const forget = (): void => {
        this.waiting.delete(socket);
      };
      socket.on("error", ignoreError);
      socket.once("close", forget);
      this.waiting.set(socket, forget);
      return;
    }
    this.serve(socket);
  }

  private serve(raw: net.Socket): void {
    const peer = socketPeer(raw, "path" in this.address);
    const acceptedAt = Date.now();
    // The PROXY header comes first, before TLS (proxy-stage.ts).
    if (this.proxyStage !== null)
      this.proxyStage.start(raw, peer, acceptedAt, (client) => {
        this.serveFrom(raw, client, acceptedAt);
      });
    else this.serveFrom(raw, peer, acceptedAt);
  }

  /**
   * Serves `raw`, whose client is `peer`: over TLS once its handshake is done, or at once.
   * `acceptedAt` (ms): a PROXY header and the handshake after it share one headersTimeout.
   */
  private serveFrom(raw: net.Socket, peer: PeerAddress, acceptedAt: number): void {
    const context = this.sock.secureContext;
    if (context === null) {
      this.open(raw, peer);
      raw.resume();
      return;
    }
    const secure = secureSocket(raw, context);
    const handshake: Handshake = { acceptedAt, peer: describePeer(peer) };
    let failed = false;
    const onError = (err: NodeJS.ErrnoException): void => {
      if (!failed) this.config.log.debug(`TLS handshake with ${handshake.peer} failed: ${describeTlsError(err)}`);
      failed = true;
      secure.destroy();
    };
    const onClose = (): void => {
      if (!failed) this.config.log.debug(`connection from ${handshake.peer} closed during the TLS handshake`);
      this.handshakes.delete(secure);
      this.slotFreed();
    };
    // The listener allows half-open sockets, so a client's FIN alone would
    // leave a handshake that can never finish holding its slot.
    const onEnd = (): void => {
      secure.destroy();
    };
    secure.on("error", onError);
    secure.once("close", onClose);
    secure.once("end", onEnd);
    secure.once("secure", () => {
      secure.removeListener("error", onError);
      secure.removeListener("close", onClose);
      secure.removeListener("end", onEnd);
      // A server TLSSocket not made by a tls.Server never has its "control released", so a
      // TLS error after the handshake (a record that does not decrypt) is emitted only as
      // "_tlsError": nothing would close the connection, and it would hold its slot, silent.
      // Destroying with the error (OpenSSL's reason, on one line) emits "error", which the
      // Connection logs, then "close".
      secure.on("_tlsError", (err: NodeJS.ErrnoException) => {
        if (!secure.destroyed)
          secure.destroy(Object.assign(new Error(`TLS error: ${describeTlsError(err)}`), { code: err.code }));
      });
      this.handshakes.delete(secure);
      this.open(secure, peer);
    });
    this.handshakes.set(secure, handshake);
    // Bytes the PROXY stage put back on `raw` are taken by the TLS socket on its first tick;
    // resuming `raw` would make them flow out first, to no listener, and the handshake would hang.
    if (raw.readableLength === 0) raw.resume();
  }

  /** Starts serving HTTP on `socket` (the TLS socket once its handshake is done, or the raw one). */
  private open(socket: net.Socket, peer: PeerAddress): void {
    if (this.closing && this.graceOver) {
      socket.destroy();
      return;
    }
    const forwardedAllowIps = this.config.forwardedAllowIps;
    const info = {
      serverName: this.serverName,
      serverPort: this.serverPort,
      remoteAddr: peer.remoteAddr,
      remotePort: peer.remotePort,
      https: this.sock.tls,
      trustedForwarding: forwardedAllowIps?.allows(peer.remoteAddr) === true ? forwardedAllowIps : null,
      errors: process.stderr,
    };
    this.connections.add(new Connection(this, socket, info));
  }

  connectionClosed(conn: ConnectionLife, reason: ConnectionCloseReason): void {
    if (!this.connections.delete(conn)) return;
    emitConnectionClosed(this, conn, reason, this.config.log);
    this.slotFreed();
  }

  hooksStarted(running: Promise<void>): void {
    this.hooksRunning++;
    void running.then(() => {
      this.hooksRunning--;
      this.maybeFinishClose();
    });
  }

  /** A connection closed: serve the longest-waiting socket, or finish closing. */
  private slotFreed(): void {
    for (const [next, forget] of this.waiting) {
      if (this.closing || this.slotsInUse >= this.config.maxConnections) break;
      this.waiting.delete(next);
      next.removeListener("close", forget);
      next.removeListener("error", ignoreError);
      if (!next.destroyed) this.serve(next);
    }
    this.maybeFinishClose();
  }

  requestStarted(): void {
    this.outstandingRequests++;
  }

  requestFinished(abandoned: boolean): void {
    this.outstandingRequests--;
    if (abandoned) this.abandonedRequests--;
    // An app whose client left freed its slot before it finished: close() waited for it.
    this.maybeFinishClose();
  }

  requestAbandoned(): void {
    this.abandonedRequests++;
    this.maybeFinishClose();
  }

  /**
   * Closing is over once no connection holds a slot and no app is running: a connection
   * whose client went away is gone while its app may still be at work. Not waited for: apps
   * after the deadline (they cannot be cut; their connections were), and apps that marked
   * their connections idle (eventlet.set_idle: a long poll, dropped at shutdown as eventlet does).
   */
  private maybeFinishClose(): void {
    const running = this.outstandingRequests - this.abandonedRequests + this.hooksRunning;
    if (this.closing && this.slotsInUse === 0 && (running === 0 || this.cut)) this.finishClose();
  }

  private checkTimeouts(): void {
    const now = Date.now();
    this.acceptGuard.probe(now);
    for (const conn of this.connections) conn.checkTimeouts(now);
    this.proxyStage?.checkTimeouts(now);
    // A handshake must be over within headersTimeout (socketTimeout when there is none): a
    // client that connects and says nothing, or trickles a ClientHello, cannot hold a slot.
    const limitMs = this.config.headersTimeoutMs > 0 ? this.config.headersTimeoutMs : this.config.socketTimeoutMs;
    if (limitMs === 0) return;
    for (const [secure, handshake] of this.handshakes) {
      if (now - handshake.acceptedAt > limitMs) {
        this.config.log.debug(`TLS handshake with ${handshake.peer} timed out`);
        secure.destroy();
      }
    }
  }

  setSecureContext(opts: SslOptions): void {
    if (!this.sock.tls) throw new Error("setSecureContext needs a server on a socket wrapped by wrapSsl");
    this.sock.setSecureContext(createServerContext(opts, "setSecureContext"));
  }

  close(opts: CloseOptions = {}): Promise<void> {
    if (this.closePromise !== null) return this.closePromise;
    const deadline = opts.deadline;
    if (deadline !== undefined && !(typeof deadline === "number" && deadline >= 0)) {
      return Promise.reject(
        new TypeError(`close(): deadline must be a non-negative number of ms, got ${String(deadline)}`),
      );
    }
    this.closing = true;
    const listenerClosed = this.sock.close();
    for (const socket of this.waiting.keys()) socket.destroy();
    this.waiting.clear();
    let timer: NodeJS.Timeout | undefined;
    if (deadline !== undefined) {
      timer = setTimeout(() => {
        this.cut = true;
        this.endGrace();
        for (const conn of this.connections) conn.destroy("deadline");
        this.maybeFinishClose();
      }, deadline);
    }
    const startedAt = Date.now();
    for (const conn of this.connections) conn.shutdown(deadline);
    this.startGrace(deadline === undefined ? undefined : startedAt + deadline);
    this.maybeFinishClose();
    this.maybeFinishClose();
    this.closePromise = Promise.all([listenerClosed, this.closed]).then(() => {
      if (timer !== undefined) clearTimeout(timer);
    });
    return this.closePromise;
  }

  /**
   * docs/api.md's zero-loss rule: a connection that has not carried a request yet
   * (and a TLS handshake, and a PROXY header being read) gets FIRST_REQUEST_GRACE_MS for its first request, which
   * is then served with Connection: close; a client that raced our close with a
   * new connection is answered, not reset.
   */
  private startGrace(deadlineAt: number | undefined): void {
    let fresh = this.handshakes.size > 0 || (this.proxyStage?.size ?? 0) > 0;
    for (const conn of this.connections) if (conn.fresh) fresh = true;
    if (!fresh) {
      this.graceOver = true;
      return;
    }
    const ms =
      deadlineAt === undefined ? FIRST_REQUEST_GRACE_MS : Math.min(FIRST_REQUEST_GRACE_MS, deadlineAt - Date.now());
    this.graceTimer = setTimeout(
      () => {
        this.endGrace();
      },
      Math.max(0, ms),
    );
  }

  private endGrace(): void {
    if (this.graceTimer !== null) clearTimeout(this.graceTimer);
    this.graceTimer = null;
    if (this.graceOver) return;
    this.graceOver = true;
    for (const secure of this.handshakes.keys()) secure.destroy();
    this.proxyStage?.destroyAll();
    for (const conn of this.connections) conn.graceOver();
    this.maybeFinishClose();
  }

  private finishClose(): void {
    if (this.exited) return;
    this.exited = true;
    if (this.graceTimer !== null) clearTimeout(this.graceTimer);
    clearInterval(this.sweep);
    this.acceptGuard.close();
    this.config.log.info(`(${process.pid}) wsgi exited, is_accepting=False`);
    this.resolveClosed();
  }
}

/** Swallows errors on sockets waiting for a slot; whoever serves them attaches its own handler. */
function ignoreError(): void {}

/** Starts serving `app` on `sock` at once. */
export function server(sock: ListenSocket, app: App, opts?: ServerOptions): WsgiServer {
  return new Server(sock, app, opts);
}
