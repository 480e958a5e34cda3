/**
 * The end of a request: its access-log line and its post hooks, once its
 * response has been handed to the kernel or the client has gone.
 *
 * Every request whose head was read ends here exactly once (docs/api.md,
 * "The access log: one line for every request"): answered by the app, by the
 * server itself (a 400, 408, 414, 431, 501... with the request line as far as
 * it was parsed, `-` otherwise), or abandoned by a client that left. The
 * connection queues an `EndedRequest` when the exchange is over and calls
 * `endRequest` when the bytes before it are known to be in the kernel (or
 * will never be): `body_length` is then the bytes of this response that
 * the kernel took, and a client that left before any of them did is
 * logged `499` (nginx's "client closed request").
 */

import { logDateTime } from "../http1/date.js";
import type { Environ, PostHook } from "../gateway/types.js";
import { describeError } from "../errors.js";
import { logClient, type AccessLogFields, type LoggedPeer } from "../access-log.js";
import type { Logger } from "../logger.js";

/** A request whose exchange is over, waiting for its response to reach the kernel. */
export interface EndedRequest {
  /** Null for a request the server answered before an environ existed (a malformed head). */
  readonly environ: Environ | null;
  /** The request line as received, "-" when none could be parsed. */
  readonly requestLine: string;
  /** The response's status code as text. */
  readonly statusCode: string;
  /** Offset, in the connection's output, of the response's first byte. */
  readonly outputStart: number;
  /** Bytes of the response queued for the socket, head included. */
  readonly outputBytes: number;
  /** Seconds from the request's first byte to the end of its exchange. */
  readonly wallSeconds: number;
  /** The parsed head (its headers name the client behind a trusted proxy); absent for a malformed one. */
  readonly head?: { readonly headers: readonly string[] };
}

/** What ending a request needs from the server. */
export interface RequestEndConfig {
  readonly log: Logger;
  readonly logAccess: ((fields: AccessLogFields) => string) | null;
  readonly logXForwardedFor: boolean;
}

/** The peer, for the access log. */
export type Peer = LoggedPeer;

/** Called when a post-hook run begins, with the promise of its end (graceful close waits for it). */
export type HookTracker = (running: Promise<void>) => void;

/** Status for a client that left before any byte of the response reached the kernel. */
export const CLIENT_CLOSED_REQUEST = "499";

/**
 * Logs the request and runs its post hooks. `handedTotal` is how far into the
 * connection's output the kernel has taken bytes; `gone`: the connection is
 * closed (what was not handed never will be).
 */
export function endRequest(
  req: EndedRequest,
  handedTotal: number,
  gone: boolean,
  config: RequestEndConfig,
  peer: Peer,
  trackHooks: HookTracker,
): void {
  const handed = Math.max(0, Math.min(req.outputBytes, handedTotal - req.outputStart));
  const status = gone && handed === 0 ? CLIENT_CLOSED_REQUEST : req.statusCode;
  if (config.logAccess !== null) logAccess(config.logAccess, config, req, status, handed, peer);
  const env = req.environ;
  if (env === null) return;
  const hooks = env["eventlet.posthooks"];
  if (!Array.isArray(hooks) || hooks.length === 0) return;
  trackHooks(runHooks(hooks, env, config.log));
}

function logAccess(
  format: (fields: AccessLogFields) => string,
  config: RequestEndConfig,
  req: EndedRequest,
  status: string,
  bodyLength: number,
  peer: Peer,
): void {
  const client = logClient(peer, req.head?.headers ?? null, req.environ?.HTTP_X_FORWARDED_FOR, config.logXForwardedFor);
  try {
    config.log.info(
      format({
        client_ip: client.ip,
        client_port: client.port,
        date_time: logDateTime(Date.now()),
        request_line: req.requestLine,
        status_code: status,
        body_length: bodyLength,
        wall_seconds: req.wallSeconds,
      }),
    );
  } catch (err) {
    // A logFormat function (or logger) that throws is the user's bug, like an app's: logged,
    // and the connection goes on — it must not take the response or the process with it.
    config.log.error(describeError(err));
  }
}

/** Runs the hooks in order, each awaited; one that throws is logged and the others still run. */
async function runHooks(hooks: PostHook[], env: Environ, log: Logger): Promise<void> {
  // After the caller's stack: a hook never runs inside the connection's bookkeeping.
  await Promise.resolve();
  for (const hook of hooks) {
    try {
      const [fn, args = [], kwargs] = hook;
      const r = kwargs === undefined ? fn(env, ...args) : fn(env, ...args, kwargs);
      if (r !== undefined && typeof r.then === "function") await r;
    } catch (err) {
      log.error(describeError(err));
    }
  }
}
