/**
 * A connection's clocks and the time limits over them: headersTimeout,
 * requestTimeout, keepalive's idle limit, a new connection's wait for its
 * first request, and the linger of an ended socket. The server's one sweep
 * timer (server.ts) asks each connection `expired(now)`; the connection acts
 * on the answer. Nothing here arms a timer.
 */

import { LINGER_MS } from "../limits.js";

/** Which limit has passed. */
export const enum Expiry {
  None,
  /** The socket was ended LINGER_MS ago and the client has not closed: destroy it. */
  Linger,
  /** Waiting for a request too long (keepalive's limit, or headersTimeout for a first request). */
  Idle,
  /** A request's body still arrives past requestTimeout. */
  Body,
  /** A request's head still arrives past headersTimeout. */
  Head,
}

/** The limits, in milliseconds (0: none). */
export interface TimeLimits {
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepaliveTimeoutMs: number;
}

export class ConnectionClocks {
  /** ms: when the first byte of the current request arrived; 0 between requests. */
  requestStartedAt = 0;
  /** ms: since when the connection has been waiting for a request; 0 when it is not. */
  idleSince: number;
  /** ms: when the socket was ended; 0 while open. */
  endedAt = 0;
  /** No request has begun on this connection yet: its wait for one is bounded by headersTimeout. */
  fresh = true;

  constructor(now: number) {
    this.idleSince = now;
  }

  /** A request's first byte is here (a no-op while one is in progress). */
  requestBegins(now: number): void {
    if (this.requestStartedAt !== 0) return;
    this.requestStartedAt = now;
    this.idleSince = 0;
  }

  /** The request is over (its body too): the next begins with its first byte. */
  requestOver(): void {
    this.requestStartedAt = 0;
  }

  /** `bodyIncomplete`: a body still arrives (read by the app or discarded); `serving`: an exchange runs. */
  expired(now: number, limits: TimeLimits, bodyIncomplete: boolean, serving: boolean): Expiry {
    if (this.endedAt > 0) return now - this.endedAt > LINGER_MS ? Expiry.Linger : Expiry.None;
    if (this.idleSince > 0) {
      // A new connection's first request must begin within headersTimeout (a client that
      // connects and says nothing cannot hold a slot); later waits are keepalive's.
      const idleLimitMs = this.fresh ? limits.headersTimeoutMs : limits.keepaliveTimeoutMs;
      return idleLimitMs > 0 && now - this.idleSince > idleLimitMs ? Expiry.Idle : Expiry.None;
    }
    if (this.requestStartedAt === 0) return Expiry.None;
    const elapsed = now - this.requestStartedAt;
    if (bodyIncomplete)
      return limits.requestTimeoutMs > 0 && elapsed > limits.requestTimeoutMs ? Expiry.Body : Expiry.None;
    if (!serving && limits.headersTimeoutMs > 0 && elapsed > limits.headersTimeoutMs) return Expiry.Head;
    return Expiry.None;
  }
}
