/**
 * What an exchange needs from its connection: where response bytes go, and
 * what the connection knows. server/connection.ts is one; the gateway
 * harness (test/gateway/harness.ts) is another, in memory.
 */

import type { GatewayConfig } from "./config.js";
import type { Takeover } from "./exchange-link.js";

/** Where response bytes go: the connection's output. */
export interface Transport {
  /** Appends Latin-1 text (a head, or an ASCII body) to the output. */
  writeText(text: string): void;
  /** Appends bytes to the output. */
  writeBytes(data: Uint8Array): void;
  /** Hands the output to the socket; false when the socket asks to wait for `drain`. */
  flush(): boolean;
  /** Resolves when the socket can take more, or the connection is gone. */
  drained(): Promise<void>;
  /** The client went away: nothing written will arrive. */
  readonly gone: boolean;
  /**
   * Calls `listener` once when the connection goes (the client left); returns
   * the function that unregisters it. An async body waiting for its next
   * chunk learns of it this way, as nothing else would wake it.
   */
  onGone(listener: () => void): () => void;
  /** Bytes appended and not yet flushed (approximate for text: its length). */
  readonly outputBytes: number;
}

export interface ExchangeHost extends Transport {
  readonly config: GatewayConfig;
  /** The connection may serve another request after this one: http1/keep-alive.ts's connectionMayContinue(). */
  readonly mayKeepAlive: boolean;
  /** ms, now, from the shared coarse clock (server/clock.ts) the Date header is made from (Date.now() when absent). */
  readonly now?: number;
  /** Hands the socket over once the output (ending with a 101's head) is in the kernel (upgrade.ts). */
  upgrade(): Promise<Takeover>;
}
