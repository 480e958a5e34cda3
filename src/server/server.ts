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
import { Connection, type ConnectionOwner } from "./connection.js";
import type { Acceptor, Address, ListenSocket } from "./listen.js";
import { createServerContext, secureSocket, type SslOptions } from "./tls.js";

export interface CloseOptions {
  /** Milliseconds to let active requests finish; then every remaining connection is cut. */
  deadline?: number;
}

export interface WsgiServer {
  /** Where it listens, as ListenSocket.address(). */
  readonly address: Address;
  /** Resolves (never rejects) when the server has stopped. */
  readonly closed: Promise<void>;
  /** Graceful shutdown; see API.md. */
  close(opts?: CloseOptions): Promise<void>;
  /** Requests being handled now. */
  readonly outstandingRequests: number;
  /** Connections open now (served, not those waiting for a slot). */
  readonly connectionCount: number;
  /** Loads a new certificate and key for new TLS connections (renewal without restart). */
  setSecureContext(opts: SslOptions): void;
}

/** Milliseconds between two checks of the connections' time limits, at most. */
const MAX_SWEEP_MS = 1000;
const MIN_SWEEP_MS = 20;

function sweepInterval(cfg: ServerConfig): number {
  const limits = [cfg.keepaliveTimeoutMs, cfg.headersTimeoutMs, cfg.requestTimeoutMs].filter((ms) => ms > 0);
  const smallest = limits.length === 0 ? MAX_SWEEP_MS : Math.min(...limits);
  return Math.max(MIN_SWEEP_MS, Math.min(MAX_SWEEP_MS, Math.floor(smallest / 4)));
}

function describeAddress(address: Address, secure: boolean): string {
  const scheme = secure ? "https" : "http";
  if ("path" in address) return `${scheme}:${address.path}`;
  const host = address.host.includes(":") ? `[${address.host}]` : address.host;
  return `${scheme}://${host}:${address.port}`;
}

/** "::ffff:1.2.3.4" (an IPv4 peer on a dual-stack socket) → "1.2.3.4". */
function plainAddress(address: string | undefined): string {
  if (address === undefined) return "";
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

class Server implements WsgiServer, ConnectionOwner {
  readonly config: ServerConfig;
  readonly app: App;
  readonly address: Address;
  readonly closed: Promise<void>;
  closing = false;
  outstandingRequests = 0;

  private readonly sock: ListenSocket & Acceptor;
  private readonly connections = new Set<Connection>();
  /** Accepted beyond maxSize: paused, unread, served when a slot frees. */
  private readonly waiting: net.Socket[] = [];
  private readonly sweep: NodeJS.Timeout;
  private readonly serverName: string;
  private readonly serverPort: string;
  private resolveClosed!: () => void;
  private closePromise: Promise<void> | null = null;

  constructor(sock: ListenSocket, app: App, opts?: ServerOptions) {
    if (typeof (sock as Partial<Acceptor>).attach !== "function") throw new TypeError("server() needs a socket from listen()");
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
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.sweep = setInterval(() => this.checkTimeouts(), sweepInterval(this.config));
    this.sweep.unref();
    this.config.log.info(`(${process.pid}) wsgi starting up on ${describeAddress(this.address, sock.tls)}`);
    this.sock.attach((socket) => this.accept(socket));
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  private accept(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.connections.size >= this.config.maxConnections) {
      socket.on("error", () => {});
      socket.once("close", () => {
        const i = this.waiting.indexOf(socket);
        if (i !== -1) this.waiting.splice(i, 1);
      });
      this.waiting.push(socket);
      return;
    }
    this.serve(socket);
  }

  private serve(raw: net.Socket): void {
    const unix = "path" in this.address;
    const info = {
      serverName: this.serverName,
      serverPort: this.serverPort,
      remoteAddr: unix ? "unix" : plainAddress(raw.remoteAddress),
      remotePort: unix || raw.remotePort === undefined ? "" : String(raw.remotePort),
      https: this.sock.tls,
      errors: process.stderr,
    };
    const context = this.sock.secureContext;
    let socket: net.Socket = raw;
    if (context !== null) {
      const secure = secureSocket(raw, context);
      secure.on("error", () => {}); // handshake failures are logged by the connection at debug
      socket = secure;
    }
    const conn = new Connection(this, socket, info);
    this.connections.add(conn);
    raw.resume();
  }

  connectionClosed(conn: Connection): void {
    if (!this.connections.delete(conn)) return;
    while (this.waiting.length > 0 && this.connections.size < this.config.maxConnections && !this.closing) {
      const next = this.waiting.shift() as net.Socket;
      next.removeAllListeners("close");
      next.removeAllListeners("error");
      if (!next.destroyed) this.serve(next);
    }
    if (this.closing && this.connections.size === 0) this.finishClose();
  }

  requestStarted(): void {
    this.outstandingRequests++;
  }

  requestFinished(): void {
    this.outstandingRequests--;
  }

  private checkTimeouts(): void {
    const now = Date.now();
    for (const conn of this.connections) conn.checkTimeouts(now);
  }

  setSecureContext(opts: SslOptions): void {
    this.sock.setSecureContext(createServerContext(opts) as tls.SecureContext);
  }

  close(opts: CloseOptions = {}): Promise<void> {
    if (this.closePromise !== null) return this.closePromise;
    this.closing = true;
    this.closePromise = (async () => {
      await this.sock.close();
      for (const socket of this.waiting.splice(0)) socket.destroy();
      let timer: NodeJS.Timeout | undefined;
      if (opts.deadline !== undefined) {
        timer = setTimeout(() => {
          for (const conn of this.connections) conn.destroy();
        }, opts.deadline);
      }
      for (const conn of this.connections) conn.shutdown();
      if (this.connections.size === 0) this.finishClose();
      await this.closed;
      if (timer !== undefined) clearTimeout(timer);
    })();
    return this.closePromise;
  }

  private finishClose(): void {
    clearInterval(this.sweep);
    this.config.log.info(`(${process.pid}) wsgi exited, is_accepting=False`);
    this.resolveClosed();
  }
}

/** Starts serving `app` on `sock` at once. */
export function server(sock: ListenSocket, app: App, opts?: ServerOptions): WsgiServer {
  return new Server(sock, app, opts);
}
