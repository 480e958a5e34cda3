/**
 * Who a connection's peer is (socketPeer), and the PROXY protocol stage
 * (`proxyProtocol`): on each accepted socket, before TLS and before any
 * HTTP, read the header a load balancer sends (proxy/proxy-header.ts) and
 * learn whose connection it is.
 *
 * - A peer outside `proxyAllowFrom` is closed at once, unread: anyone else
 *   could claim any client address.
 * - The header is required, never guessed: a connection that opens with
 *   anything else, a malformed or truncated header, or one that has not
 *   arrived within `headersTimeout` (socketTimeout when that is 0), is
 *   closed with one debug line; nothing of it is read as HTTP.
 * - While it reads, a connection holds one of the `maxSize` slots, as a TLS
 *   handshake does, so a flood of silent connections waits in the kernel.
 * - The bytes that came after the header are put back on the socket
 *   (`unshift`), paused, for the TLS socket or the HTTP connection to read
 *   as if they were the first.
 */

import type net from "node:net";
import type { ServerConfig } from "../options.js";
import { UNIX_PEER } from "../proxy/allow-list.js";
import { ProxyHeaderError, ProxyHeaderReader, type ProxyHeader } from "../proxy/proxy-header.js";

/** Who a connection's client is, as REMOTE_ADDR and REMOTE_PORT will say. */
export interface PeerAddress {
  /** An IP address, or "unix". */
  readonly remoteAddr: string;
  /** Decimal, or "" when there is none (a Unix socket). */
  readonly remotePort: string;
}

/** "::ffff:1.2.3.4" (an IPv4 peer on a dual-stack socket) → "1.2.3.4". */
function plainAddress(address: string | undefined): string {
  if (address === undefined) return "";
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

/** A socket's own peer; "unix" (no port) on a Unix socket. */
export function socketPeer(raw: net.Socket, unix: boolean): PeerAddress {
  if (unix) return { remoteAddr: UNIX_PEER, remotePort: "" };
  return {
    remoteAddr: plainAddress(raw.remoteAddress),
    remotePort: raw.remotePort === undefined ? "" : String(raw.remotePort),
  };
}

/** "1.2.3.4:5678", "[::1]:5678" or "unix", for log lines. */
export function describePeer(peer: PeerAddress): string {
  if (peer.remotePort === "") return peer.remoteAddr;
  const host = peer.remoteAddr.includes(":") ? `[${peer.remoteAddr}]` : peer.remoteAddr;
  return `${host}:${peer.remotePort}`;
}

/** The client a header names; the socket's own peer for LOCAL, UNSPEC and UNKNOWN. */
function clientOf(header: ProxyHeader, socketPeer: PeerAddress): PeerAddress {
  if (header.command === "local") return socketPeer;
  if (header.family === "unix") return { remoteAddr: UNIX_PEER, remotePort: "" };
  return { remoteAddr: header.sourceAddress, remotePort: String(header.sourcePort) };
}

interface Pending {
  /** ms: when the socket was accepted; the header's deadline counts from here. */
  readonly acceptedAt: number;
  readonly peer: PeerAddress;
  /** Removes the stage's listeners from the socket. */
  readonly detach: () => void;
}

export class ProxyHeaderStage {
  private readonly config: ServerConfig;
  /** Called when a socket that held a slot here closes without being handed on. */
  private readonly slotFreed: () => void;
  private readonly pending = new Map<net.Socket, Pending>();

  constructor(config: ServerConfig, slotFreed: () => void) {
    this.config = config;
    this.slotFreed = slotFreed;
  }

  /** Sockets reading their header: each holds a slot. */
  get size(): number {
    return this.pending.size;
  }

  /**
   * Reads the header on `raw` (paused, unread), then calls `next` with the
   * client it names, the socket paused and the bytes after the header unread
   * on it; or closes `raw` with one debug line.
   */
  start(raw: net.Socket, socketPeer: PeerAddress, acceptedAt: number, next: (client: PeerAddress) => void): void {
    const log = this.config.log;
    if (!this.config.proxyAllowFrom.allows(socketPeer.remoteAddr)) {
      log.debug(
        `connection from ${describePeer(socketPeer)} refused: not in proxyAllowFrom, it may not send a PROXY header`,
      );
      raw.destroy();
      return;
    }
    const reader = new ProxyHeaderReader();
    let failed = false;
    const fail = (why: string): void => {
      if (!failed) log.debug(`connection from ${describePeer(socketPeer)} closed: ${why}`);
      failed = true;
      raw.destroy();
    };
    const onData = (chunk: Buffer): void => {
      let done;
      try {
        done = reader.push(chunk);
      } catch (err) {
        fail(err instanceof ProxyHeaderError ? err.message : String(err));
        return;
      }
      if (done === null) return;
      raw.pause();
      detach();
      this.pending.delete(raw);
      if (done.rest.length > 0) raw.unshift(done.rest);
      next(clientOf(done.header, socketPeer));
    };
    const onEnd = (): void => {
      fail("the client closed before its PROXY header was complete");
    };
    const onError = (err: Error): void => {
      fail(`before its PROXY header: ${err.message}`);
    };
    const onClose = (): void => {
      detach();
      if (this.pending.delete(raw)) this.slotFreed();
    };
    const detach = (): void => {
      raw.removeListener("data", onData);
      raw.removeListener("end", onEnd);
      raw.removeListener("error", onError);
      raw.removeListener("close", onClose);
    };
    raw.on("data", onData);
    raw.once("end", onEnd);
    raw.on("error", onError);
    raw.once("close", onClose);
    this.pending.set(raw, { acceptedAt, peer: socketPeer, detach });
    raw.resume();
  }

  /** Closes the sockets whose header is late: headersTimeout, or socketTimeout when that is 0. */
  checkTimeouts(now: number): void {
    const limitMs = this.config.headersTimeoutMs > 0 ? this.config.headersTimeoutMs : this.config.socketTimeoutMs;
    if (limitMs === 0) return;
    for (const [raw, p] of this.pending) {
      if (now - p.acceptedAt > limitMs) {
        this.config.log.debug(
          `connection from ${describePeer(p.peer)} closed: no complete PROXY header within ${limitMs / 1000} s`,
        );
        p.detach();
        this.pending.delete(raw);
        raw.destroy();
        this.slotFreed();
      }
    }
  }

  /** Closes every socket still reading its header (the server is closing). */
  destroyAll(): void {
    for (const raw of this.pending.keys()) raw.destroy();
  }
}
