/**
 * ServerOptions (eventlet's keyword arguments, camelCased), their defaults,
 * and their normalised form `ServerConfig`, with every limit in named units.
 */

import {
  DEFAULT_HEADERS_TIMEOUT_S,
  DEFAULT_REQUEST_TIMEOUT_S,
  DEFAULT_LOG_FORMAT,
  DEFAULT_MAX_SIMULTANEOUS_REQUESTS,
  MAX_HEADER_LINE,
  MAX_REQUEST_LINE,
  MAX_TOTAL_HEADER_SIZE,
  MINIMUM_CHUNK_SIZE,
} from "./limits.js";
import type { GatewayConfig } from "./gateway/config.js";
import type { HeadLimits } from "./http1/request-head.js";
import { AllowList } from "./proxy/allow-list.js";
import { compileLogFormat, type AccessLogFields } from "./access-log.js";
import { toLogger, type Logger, type LogTarget } from "./logger.js";

export interface ServerOptions {
  /** A logger with info/debug/error, or a writable stream. Default: process.stderr. */
  log?: LogTarget;
  /** Extra keys for every request's environ. */
  environ?: Record<string, unknown>;
  /** Connections served at once; more wait, unread, until one closes. Default 1024. */
  maxSize?: number;
  /** "HTTP/1.0" makes the server speak HTTP/1.0 only. Default "HTTP/1.1". */
  maxHttpVersion?: "HTTP/1.0" | "HTTP/1.1";
  /** Bytes: response chunks smaller than this are gathered before a write. Default 4096. */
  minimumChunkSize?: number;
  /** Log X-Forwarded-For before the peer's address. Default true. */
  logXForwardedFor?: boolean;
  /** false/0: one request a connection; a positive number: idle seconds allowed between requests. Default true. */
  keepalive?: boolean | number;
  /** false: no access log. Default true. */
  logOutput?: boolean;
  /** `%(name)s` template, or a function of the fields. Default DEFAULT_LOG_FORMAT. */
  logFormat?: string | ((fields: AccessLogFields) => string);
  /** Bytes: a request line this long or longer gets 414. Default 8192. */
  urlLengthLimit?: number;
  /** Bytes: a header line (or chunked trailer line) this long or longer gets 400 (eventlet's MAX_HEADER_LINE; the CLI's --limit-request-field-size). Default 8192. */
  headerLineLimit?: number;
  /** Stack traces in 500 bodies. Default false. */
  debug?: boolean;
  /** Seconds a connection may wait on a silent client (not on a working app, as eventlet's socket_timeout). Default: none. */
  socketTimeout?: number | null;
  /** `content-type` goes out as `Content-Type`. Default true. */
  capitalizeResponseHeaders?: boolean;
  /** false lets Content-Length with Transfer-Encoding through (chunked wins, connection closes). Default true. */
  rejectBadRequests?: boolean;
  /** Seconds a request head may take to arrive, from its first byte (Node's headersTimeout); also bounds a new connection's TLS handshake and first byte. Default 60. 0: none. */
  headersTimeout?: number;
  /** Seconds a whole request (head and body) may take to arrive (Node's requestTimeout). Default 300. 0: none. */
  requestTimeout?: number;
  /**
   * Peers (IPs, CIDRs, `unix`, `*`; a comma-separated string or an array) whose `Forwarded` /
   * `X-Forwarded-For` / `X-Forwarded-Proto` set REMOTE_ADDR, REMOTE_PORT and the scheme. Default: none.
   */
  forwardedAllowIps?: string | readonly string[] | null;
  /** The listener requires a PROXY protocol header (v1 or v2) before anything else. Default false. */
  proxyProtocol?: boolean;
  /** Peers allowed to send a PROXY header (as forwardedAllowIps). Default "127.0.0.1,::1". */
  proxyAllowFrom?: string | readonly string[] | null;
}

/** ServerOptions normalised: units in the names, defaults applied. The gateway sees only its part (gateway/config.ts). */
export interface ServerConfig extends GatewayConfig {
  readonly log: Logger;
  readonly environ: Readonly<Record<string, unknown>> | null;
  readonly maxConnections: number;
  readonly http11: boolean;
  readonly minimumChunkBytes: number;
  readonly logXForwardedFor: boolean;
  /** Connections may serve more than one request. */
  readonly keepalive: boolean;
  /** Milliseconds a kept-alive connection may wait for its next request; 0: no limit. */
  readonly keepaliveTimeoutMs: number;
  /** The `timeout=N` of the Keep-Alive header; 0: no such header. */
  readonly keepaliveHeaderSeconds: number;
  readonly logAccess: ((fields: AccessLogFields) => string) | null;
  readonly debug: boolean;
  /** Milliseconds of silence before a connection is closed; 0: none. */
  readonly socketTimeoutMs: number;
  readonly capitalizeResponseHeaders: boolean;
  readonly rejectBadRequests: boolean;
  /** Milliseconds from a head's first byte to its end; 0: none. */
  readonly headersTimeoutMs: number;
  /** Milliseconds from a head's first byte to the end of its body; 0: none. */
  readonly requestTimeoutMs: number;
  readonly headLimits: HeadLimits;
  /** Peers whose forwarding headers are believed; null when none is. */
  readonly forwardedAllowIps: AllowList | null;
  /** Connections must open with a PROXY protocol header. */
  readonly proxyProtocol: boolean;
  /** Peers allowed to send a PROXY header. */
  readonly proxyAllowFrom: AllowList;
}

/** The default of `proxyAllowFrom` (and the CLI's of `forwardedAllowIps`, as gunicorn's): the loopback addresses. */
export const DEFAULT_PROXY_ALLOW_FROM = "127.0.0.1,::1";

function nonNegative(name: string, value: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`${name} must be a non-negative number, got ${String(value)}`);
  }
  return value;
}

export function normalizeOptions(opts: ServerOptions = {}): ServerConfig {
  const keepaliveOpt = opts.keepalive ?? true;
  const keepalive = keepaliveOpt !== false && keepaliveOpt !== 0;
  const keepaliveSeconds = typeof keepaliveOpt === "number" ? nonNegative("keepalive", keepaliveOpt) : 0;
  // Checked whatever the declared type says: a JavaScript caller may pass anything.
  const maxHttpVersion: string = opts.maxHttpVersion ?? "HTTP/1.1";
  if (maxHttpVersion !== "HTTP/1.0" && maxHttpVersion !== "HTTP/1.1") {
    throw new TypeError(`maxHttpVersion must be "HTTP/1.0" or "HTTP/1.1"`);
  }
  const maxConnections = opts.maxSize ?? DEFAULT_MAX_SIMULTANEOUS_REQUESTS;
  if (!Number.isInteger(maxConnections) || maxConnections < 1)
    throw new TypeError("maxSize must be a positive integer");
  const log = toLogger(opts.log ?? process.stderr);
  const forwardedAllowIps = AllowList.parse(opts.forwardedAllowIps, "forwardedAllowIps");
  const proxyProtocol = opts.proxyProtocol ?? false;
  if (typeof proxyProtocol !== "boolean") throw new TypeError("proxyProtocol must be a boolean");
  return {
    log,
    environ: opts.environ ?? null,
    maxConnections,
    http11: maxHttpVersion === "HTTP/1.1",
    minimumChunkBytes: nonNegative("minimumChunkSize", opts.minimumChunkSize ?? MINIMUM_CHUNK_SIZE),
    logXForwardedFor: opts.logXForwardedFor ?? true,
    keepalive,
    keepaliveTimeoutMs: keepaliveSeconds * 1000,
    keepaliveHeaderSeconds: Math.floor(keepaliveSeconds),
    logAccess: opts.logOutput === false ? null : compileLogFormat(opts.logFormat ?? DEFAULT_LOG_FORMAT),
    debug: opts.debug ?? false,
    socketTimeoutMs: nonNegative("socketTimeout", opts.socketTimeout ?? 0) * 1000,
    capitalizeResponseHeaders: opts.capitalizeResponseHeaders ?? true,
    rejectBadRequests: opts.rejectBadRequests ?? true,
    headersTimeoutMs: nonNegative("headersTimeout", opts.headersTimeout ?? DEFAULT_HEADERS_TIMEOUT_S) * 1000,
    requestTimeoutMs: nonNegative("requestTimeout", opts.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_S) * 1000,
    headLimits: {
      maxRequestLine: nonNegative("urlLengthLimit", opts.urlLengthLimit ?? MAX_REQUEST_LINE),
      maxHeaderLine: nonNegative("headerLineLimit", opts.headerLineLimit ?? MAX_HEADER_LINE),
      maxHeadersSize: MAX_TOTAL_HEADER_SIZE,
    },
    forwardedAllowIps: forwardedAllowIps.empty ? null : forwardedAllowIps,
    proxyProtocol,
    proxyAllowFrom: AllowList.parse(opts.proxyAllowFrom ?? DEFAULT_PROXY_ALLOW_FROM, "proxyAllowFrom"),
  };
}
