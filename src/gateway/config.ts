/**
 * What the gateway needs of the server's configuration, and no more: the
 * server's `ServerConfig` (options.ts) is one, and a test harness can make
 * its own.
 */

import type { AccessLogFields } from "../access-log.js";
import type { Logger } from "../logger.js";

export interface GatewayConfig {
  /** Application and hook errors go to `error`, clients that left to `debug`. */
  readonly log: Logger;
  /** maxHttpVersion is HTTP/1.1: status lines, chunked bodies, 100 Continue. */
  readonly http11: boolean;
  /** Bytes: smaller body chunks are gathered before a write (minimumChunkSize). */
  readonly minimumChunkBytes: number;
  /** The `timeout=N` of the Keep-Alive header; 0: no such header. */
  readonly keepaliveHeaderSeconds: number;
  /** Stack traces in 500 bodies. */
  readonly debug: boolean;
  readonly capitalizeResponseHeaders: boolean;
  /** The access log, when on: an exchange then measures its wall time. */
  readonly logAccess: ((fields: AccessLogFields) => string) | null;
}
