/**
 * How the adapters' hooks (upgrade.ts, disconnect.ts) find the exchange an
 * environ belongs to: a symbol-keyed slot the connection fills when it builds
 * the environ. A symbol is not a string key, so it is not an environ key
 * apps, middleware or validators see (Object.keys, JSON, `for in`).
 */

import type { Socket } from "node:net";

export const EXCHANGE = Symbol("eventwsgi.exchange");

/** Taking a connection over for another protocol (WebSocket); see upgrade.ts. */
export interface Takeover {
  /** The connection's socket (net.Socket, or TLSSocket over TLS). The server has removed its
   *  data listeners and timers from it and will not read or write it again; it is paused. */
  readonly socket: Socket;
  /** Bytes already received past the request head (the new protocol's first bytes); may be empty. */
  readonly head: Buffer;
  /** Called once when WsgiServer.close() begins: `deadlineMs` is the time left, or undefined. */
  onShutdown(listener: (deadlineMs: number | undefined) => void): void;
}

/** What the hooks ask of an exchange. */
export interface ExchangeControl {
  takeOver(status: string, headers: [string, string][]): Promise<Takeover>;
  onClientGone(listener: () => void): () => void;
}

/** The exchange of an environ the server made, or undefined for any other object. */
export function exchangeOf(environ: object): ExchangeControl | undefined {
  return (environ as Record<symbol, ExchangeControl | undefined>)[EXCHANGE];
}
