/** WebSocketOptions (API.md, "WebSocket"): defaults, units and validation in one place. */

import type { DeflateOptions } from "./extensions.js";

export interface PermessageDeflateOptions {
  serverNoContextTakeover?: boolean;
  clientNoContextTakeover?: boolean;
  /** 9–15 (default 15). */
  serverMaxWindowBits?: number;
  /** 9–15 (default 15). Below 15, only offers that allow the client's window to be limited are accepted. */
  clientMaxWindowBits?: number;
  /** Bytes: shorter messages go uncompressed (default 1024). */
  threshold?: number;
}

export interface WebSocketOptions {
  /** The largest message, in bytes, after decompression (default 8 MiB). */
  maxMessageBytes?: number;
  /** Subprotocols the server speaks; the first one the client offers that is listed is chosen. */
  supportedProtocols?: readonly string[];
  /** `(host, origin) => boolean`; false gives 403. `origin` is "" when the request has none. */
  originChecker?: (host: string, origin: string) => boolean;
  /** RFC 7692 compression: true (the default), false, or its parameters. */
  permessageDeflate?: boolean | PermessageDeflateOptions;
  /** Seconds without a frame from the peer before a ping, and again before it is dropped (default 30; 0: off). */
  heartbeat?: number;
}

/** The options with every default applied. */
export interface WebSocketConfig {
  readonly maxMessageBytes: number;
  readonly supportedProtocols: readonly string[];
  readonly originChecker: ((host: string, origin: string) => boolean) | null;
  readonly deflate: DeflateOptions | null;
  readonly heartbeatMs: number;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
export const DEFAULT_DEFLATE_THRESHOLD = 1024;
export const DEFAULT_HEARTBEAT_SECONDS = 30;
/** How long a closing handshake may take before the connection is dropped (API.md). */
export const CLOSE_TIMEOUT_MS = 5000;

export function resolveWebSocketOptions(opts: WebSocketOptions = {}): WebSocketConfig {
  const maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (!Number.isSafeInteger(maxMessageBytes) || maxMessageBytes < 1) {
    throw new RangeError(`maxMessageBytes must be a positive integer, not ${String(maxMessageBytes)}`);
  }
  const heartbeat = opts.heartbeat ?? DEFAULT_HEARTBEAT_SECONDS;
  if (typeof heartbeat !== "number" || !(heartbeat >= 0) || !Number.isFinite(heartbeat)) {
    throw new RangeError(`heartbeat must be a number of seconds >= 0, not ${String(heartbeat)}`);
  }
  return {
    maxMessageBytes,
    supportedProtocols: [...(opts.supportedProtocols ?? [])],
    originChecker: opts.originChecker ?? null,
    deflate: resolveDeflate(opts.permessageDeflate ?? true),
    heartbeatMs: heartbeat * 1000,
  };
}

function resolveDeflate(value: boolean | PermessageDeflateOptions): DeflateOptions | null {
  if (value === false) return null;
  const o = value === true ? {} : value;
  const bits = (name: string, v: number | undefined): number => {
    if (v === undefined) return 15;
    if (!Number.isInteger(v) || v < 9 || v > 15) {
      throw new RangeError(`permessageDeflate.${name} must be an integer from 9 to 15, not ${String(v)}`);
    }
    return v;
  };
  const threshold = o.threshold ?? DEFAULT_DEFLATE_THRESHOLD;
  if (!Number.isSafeInteger(threshold) || threshold < 0) {
    throw new RangeError(`permessageDeflate.threshold must be an integer >= 0, not ${String(threshold)}`);
  }
  return {
    serverNoContextTakeover: o.serverNoContextTakeover ?? false,
    clientNoContextTakeover: o.clientNoContextTakeover ?? false,
    serverMaxWindowBits: bits("serverMaxWindowBits", o.serverMaxWindowBits),
    clientMaxWindowBits: bits("clientMaxWindowBits", o.clientMaxWindowBits),
    threshold,
  };
}
