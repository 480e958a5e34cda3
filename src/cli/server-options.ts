/**
 * The command's settings → ServerOptions, for the workers; and the same options checked by the
 * server core's own normalisation in the primary, so that a value the core refuses (a bad
 * --forwarded-allow-ips list) is a usage error at start, not a worker failing to start.
 */

import { normalizeOptions, type ServerOptions } from "../options.js";
import type { Logger } from "../logger.js";
import { UsageError } from "./errors.js";
import type { CliConfig } from "./flags.js";
import { accessFormat } from "./worker-log.js";

export function serverOptions(c: CliConfig, multiprocess: boolean, log: Logger): ServerOptions {
  return {
    log,
    maxSize: c.maxConnections,
    keepalive: c.keepAlive === 0 ? false : c.keepAlive,
    logOutput: !c.noAccessLog,
    logFormat: accessFormat(c.accessLogformat),
    urlLengthLimit: c.limitRequestLine,
    headerLineLimit: c.limitRequestFieldSize,
    debug: c.debug,
    headersTimeout: c.headersTimeout,
    environ: { "wsgi.multiprocess": multiprocess },
    forwardedAllowIps: c.forwardedAllowIps,
    proxyProtocol: c.proxyProtocol,
    proxyAllowFrom: c.proxyAllowFrom,
  };
}

const silent: Logger = { info() {}, debug() {}, error() {} };

/** The flag behind each ServerOptions name the core may cite in its message. */
const FLAG_OF = new Map<string, string>(
  Object.entries({
    forwardedAllowIps: "--forwarded-allow-ips",
    proxyAllowFrom: "--proxy-allow-from",
    proxyProtocol: "--proxy-protocol",
    logFormat: "--access-logformat",
    urlLengthLimit: "--limit-request-line",
    headerLineLimit: "--limit-request-field-size",
    maxSize: "--max-connections",
    keepalive: "--keep-alive",
    headersTimeout: "--headers-timeout",
  }),
);

function inFlagTerms(message: string): string {
  return message.replace(/\b[a-zA-Z]+\b/g, (word) => FLAG_OF.get(word) ?? word);
}

/** Throws a UsageError with the core's message when it refuses the options. */
export function checkServerOptions(c: CliConfig): void {
  try {
    normalizeOptions(serverOptions(c, false, silent));
  } catch (err) {
    throw new UsageError(inFlagTerms((err as Error).message));
  }
}
