/**
 * listen(): a bound, listening socket, before any server is attached
 * (eventlet's `listen(('', 8090))`). Connections that arrive before
 * `server()` attaches are held, paused, and handed over then.
 */

import { existsSync, statSync, unlinkSync } from "node:fs";
import net from "node:net";
import type { SecureContext } from "node:tls";
import { DEFAULT_BACKLOG } from "../limits.js";

export type Address = { host: string; port: number } | { path: string };

export interface ListenSocket {
  /** Where it listens: { host, port } or { path }. */
  address(): Address;
  /** True once wrapped by wrapSsl. */
  readonly tls: boolean;
  /** Stops listening (a Unix socket file is removed). */
  close(): Promise<void>;
}

export interface ListenOptions {
  /** Pending connections the kernel may queue. Default 50, as eventlet. */
  backlog?: number;
  /** SO_REUSEADDR; Node sets it on every TCP listener, so this is always on. */
  reuseAddr?: boolean;
}

/** Internal side of a ListenSocket, used by server(). */
export interface Acceptor {
  readonly netServer: net.Server;
  /** The TLS context for new connections, when wrapped. */
  readonly secureContext: SecureContext | null;
  /** Receives every accepted socket (paused), including those held so far. */
  attach(handler: (socket: net.Socket) => void): void;
  /** Replaces the TLS context (certificate renewal); throws when not TLS. */
  setSecureContext(context: SecureContext): void;
}

/** Swallows errors on sockets nobody serves yet; the server attaches its own handler. */
function ignoreError(): void {}

export class NetListenSocket implements ListenSocket, Acceptor {
  readonly netServer: net.Server;
  readonly tls: boolean = false;
  readonly secureContext: SecureContext | null = null;
  private handler: ((socket: net.Socket) => void) | null = null;
  /** Connections accepted before a server attached (paused, unread), each with its close listener. */
  private held = new Map<net.Socket, () => void>();
  private closedPromise: Promise<void> | null = null;

  constructor(netServer: net.Server) {
    this.netServer = netServer;
    // Accept errors once listening (EMFILE, ENOMEM, …): without a listener
    // net.Server throws them and the process dies. The server's AcceptGuard
    // logs them; before a server attaches they are dropped.
    netServer.on("error", ignoreError);
    netServer.on("connection", (socket: net.Socket) => {
      if (this.handler !== null) {
        this.handler(socket);
        return;
      }
      const forget = (): void => {
        this.held.delete(socket);
      };
      socket.on("error", ignoreError);
      socket.once("close", forget);
      this.held.set(socket, forget);
    });
  }

  address(): Address {
    const a = this.netServer.address();
    if (a === null) throw new Error("socket is not listening");
    if (typeof a === "string") return { path: a };
    return { host: a.address, port: a.port };
  }

  attach(handler: (socket: net.Socket) => void): void {
    if (this.handler !== null) throw new Error("this socket is already served by a server");
    this.handler = handler;
    const held = this.held;
    this.held = new Map();
    for (const [socket, forget] of held) {
      socket.removeListener("close", forget);
      socket.removeListener("error", ignoreError);
      if (!socket.destroyed) handler(socket);
    }
  }

  setSecureContext(): void {
    throw new Error("setSecureContext needs a socket wrapped by wrapSsl");
  }

  close(): Promise<void> {
    this.closedPromise ??= new Promise<void>((resolve) => {
      for (const socket of this.held.keys()) socket.destroy();
      this.held.clear();
      // The listening handle (and a Unix socket's file) is closed at once;
      // connections already accepted are their server's to end.
      if (this.netServer.listening) this.netServer.close();
      setImmediate(resolve);
    });
    return this.closedPromise;
  }
}

/** A Unix socket file left by a dead process: nothing accepts on it. */
function isStaleUnixSocket(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    if (!existsSync(path) || !statSync(path).isSocket()) {
      resolve(false);
      return;
    }
    const probe = net.connect(path);
    probe.once("connect", () => {
      probe.destroy();
      resolve(false);
    });
    probe.once("error", (err: NodeJS.ErrnoException) => {
      resolve(err.code === "ECONNREFUSED");
    });
  });
}

/** "127.0.0.1:8090", "[::1]:8090" or the socket's path, for messages. */
function describeListenAddress(options: net.ListenOptions): string {
  if (options.path !== undefined) return options.path;
  const host = options.host ?? "";
  return `${host.includes(":") ? `[${host}]` : host}:${String(options.port)}`;
}

function listenOnce(options: net.ListenOptions): Promise<NetListenSocket> {
  return new Promise((resolve, reject) => {
    const netServer = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
    // Holding connections from before listen(): in a node:cluster worker the first connection
    // can arrive in the same IPC read as the primary's answer to listen, and so be emitted
    // before 'listening'; with no listener yet it would be orphaned, open and never served.
    const sock = new NetListenSocket(netServer);
    const onError = (err: NodeJS.ErrnoException): void => {
      netServer.close();
      err.message = `cannot listen on ${describeListenAddress(options)}: ${err.message}`;
      reject(err);
    };
    netServer.once("error", onError);
    netServer.listen(options, () => {
      netServer.removeListener("error", onError);
      resolve(sock);
    });
  });
}

/**
 * listen(["", 8090]) — all IPv4 interfaces; ["::", port] — IPv6 (dual-stack
 * where the OS allows); port 0 — a free port; a string — a Unix socket path.
 * Rejects with the system error (EADDRINUSE, EACCES, …) and its `code`.
 */
export async function listen(
  addr: [host: string, port: number] | string,
  opts: ListenOptions = {},
): Promise<ListenSocket> {
  const backlog = opts.backlog ?? DEFAULT_BACKLOG;
  // The kernel caps it (net.core.somaxconn); a negative or fractional one is a mistake, not a request for the cap.
  if (!Number.isInteger(backlog) || backlog < 0)
    throw new TypeError(`listen(): backlog must be a non-negative integer, got ${String(backlog)}`);
  if (typeof addr === "string") {
    try {
      return await listenOnce({ path: addr, backlog });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE" || !(await isStaleUnixSocket(addr))) throw err;
      // Nothing accepts on it: a dead process's socket file, replaced as a restarted server expects.
      try {
        unlinkSync(addr);
      } catch (unlinkErr) {
        const e = unlinkErr as NodeJS.ErrnoException;
        throw Object.assign(new Error(`cannot listen on ${addr}: cannot remove its stale socket file: ${e.message}`), {
          code: e.code,
        });
      }
      return await listenOnce({ path: addr, backlog });
    }
  }
  if (!Array.isArray(addr) || typeof addr[0] !== "string" || !Number.isInteger(addr[1])) {
    throw new TypeError("listen() takes [host, port] or a Unix socket path");
  }
  const host = addr[0] === "" ? "0.0.0.0" : addr[0];
  return listenOnce({ host, port: addr[1], backlog, ipv6Only: false });
}
