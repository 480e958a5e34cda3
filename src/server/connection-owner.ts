/**
 * What a connection needs from its server, and why a connection closed (the
 * server's `connection closed` event).
 */

import type { App } from "../gateway/types.js";
import type { ServerConfig } from "../options.js";
import type { ConnectionLife } from "./connection-life.js";

/** What a connection needs from its server. */
export interface ConnectionOwner {
  readonly config: ServerConfig;
  readonly app: App;
  /** The server is shutting down: no connection may be kept alive. */
  readonly closing: boolean;
  requestStarted(): void;
  /** `abandoned`: requestAbandoned() was called for it. */
  requestFinished(abandoned: boolean): void;
  /** Shutdown dropped the connection of a request marked idle: close() need not wait for its app. */
  requestAbandoned(): void;
  connectionClosed(conn: ConnectionLife, reason: ConnectionCloseReason): void;
  /** A post-hook run began; graceful close waits for `running` to settle. */
  hooksStarted(running: Promise<void>): void;
}

/**
 * Why a connection closed, as the server's `connection closed` event says:
 * - `client`: the client closed it (FIN, or a close while idle);
 * - `error`: a socket error (a reset, a TLS error);
 * - `protocol-error`: the server answered a malformed request (400, 414, 431, 501, 505) and closed;
 * - `timeout`: headersTimeout, requestTimeout, socketTimeout, or keepalive's idle limit;
 * - `done`: the last response said `Connection: close` (keep-alive off or refused);
 * - `aborted`: a response was cut after its head went out (an app error mid-body);
 * - `shutdown`: WsgiServer.close() closed it (idle, or after its last response);
 * - `deadline`: WsgiServer.close()'s deadline cut it;
 * - `upgraded`: it was taken over (takeOver, or eventlet.already_handled / getSocket()).
 */
export type ConnectionCloseReason =
  "client" | "error" | "protocol-error" | "timeout" | "done" | "aborted" | "shutdown" | "deadline" | "upgraded";
