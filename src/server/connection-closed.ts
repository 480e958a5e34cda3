/**
 * The server's `connection closed` event (internal, not a root export): one
 * for every connection the server served, with the reason it closed. Tests
 * wait on it instead of polling.
 */

import { describeError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { ConnectionLife } from "./connection-life.js";
import type { ConnectionCloseReason } from "./connection-owner.js";
import type { WsgiServer } from "./server.js";

/**
 * The `connection closed` event: one for every connection the server served
 * (not those refused or cut during a TLS handshake), after its socket closed.
 */
export interface ConnectionClosedEvent {
  readonly reason: ConnectionCloseReason;
  /** The peer, as REMOTE_ADDR / REMOTE_PORT ("unix" and "" on a Unix socket). */
  readonly remoteAddr: string;
  readonly remotePort: string;
  /** Requests begun on the connection. */
  readonly requests: number;
}

export type ConnectionClosedListener = (event: ConnectionClosedEvent) => void;

const closedListeners = new WeakMap<WsgiServer, Set<ConnectionClosedListener>>();

/**
 * Internal (not a root export): calls `listener` each time one of the server's
 * connections has closed, with the reason. Tests wait on it instead of
 * polling. Returns the function that removes the listener.
 */
export function onConnectionClosed(srv: WsgiServer, listener: ConnectionClosedListener): () => void {
  let set = closedListeners.get(srv);
  if (set === undefined) closedListeners.set(srv, (set = new Set()));
  set.add(listener);
  const listeners = set;
  return () => {
    listeners.delete(listener);
  };
}

/** Calls the server's listeners for a connection that has closed; a listener that throws is logged. */
export function emitConnectionClosed(
  srv: WsgiServer,
  conn: ConnectionLife,
  reason: ConnectionCloseReason,
  log: Logger,
): void {
  const listeners = closedListeners.get(srv);
  if (listeners === undefined || listeners.size === 0) return;
  const event: ConnectionClosedEvent = {
    reason,
    remoteAddr: conn.remoteAddr,
    remotePort: conn.remotePort,
    requests: conn.requests,
  };
  for (const listener of listeners) {
    try {
      listener(event);
    } catch (err) {
      log.error(describeError(err));
    }
  }
}
