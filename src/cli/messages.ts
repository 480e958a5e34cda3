/**
 * What the primary and a worker say to each other over the cluster's IPC channel, and the
 * settings a worker starts with. One channel carries them in order, with cluster's own
 * connection hand-offs: that order is what makes a worker's stop lose no connection (worker.ts).
 */

import type { BindTarget } from "./bind.js";
import type { CliConfig } from "./flags.js";

/** The environment variable carrying a worker's settings (JSON). */
export const WORKER_SETTINGS_ENV = "EVENTWSGI_WORKER_SETTINGS";

export interface WorkerSettings {
  config: CliConfig;
  /** The addresses the primary bound (ports resolved). */
  binds: BindTarget[];
  /** More than one worker is meant to run: wsgi.multiprocess. */
  multiprocess: boolean;
  /** Requests after which the worker asks to be replaced (jitter applied); 0: never. */
  maxRequests: number;
  /** Milliseconds between two heartbeats. */
  beatMs: number;
  /** Where the watchdog writes the stack of a blocked event loop; null: no watchdog. */
  stackFile: string | null;
  /** Milliseconds without a heartbeat after which the watchdog takes the stack. */
  stackAfterMs: number;
}

export type ToPrimary =
  /** Listening and serving. */
  | { t: "ready" }
  /** The event loop is alive. */
  | { t: "beat" }
  /** Whole lines for the access log and the error log. */
  | { t: "log"; access: string; error: string }
  /** --max-requests reached: replace me (my replacement serves first). */
  | { t: "retire"; requests: number }
  /** My listeners are closed: answer once every connection you handed me before is on its way. */
  | { t: "unlistened" }
  /** The app could not be loaded or a listener failed: one line. */
  | { t: "failed"; message: string };

export type ToWorker =
  /** Stop accepting, drain within deadlineMs, exit 0. */
  | { t: "stop"; deadlineMs: number }
  /** Every hand-off sent before "unlistened" arrived has been delivered: the worker may exit. */
  | { t: "unlisten-ack" };

/** A message of ours (an object with a string `t`), not one of cluster's own. */
export function isMessage(value: unknown): value is { t: string } {
  return typeof value === "object" && value !== null && typeof (value as { t?: unknown }).t === "string";
}
