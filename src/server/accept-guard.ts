/**
 * When accept() fails — above all when the process is out of file
 * descriptors (EMFILE, or ENFILE for the whole system).
 *
 * What libuv already does (Node 20 on Unix): it holds one spare descriptor.
 * When accept() fails with EMFILE it closes the spare, accepts and closes
 * every pending connection (their clients see a close at once instead of
 * waiting in the backlog), and reopens the spare. No 'error' reaches
 * JavaScript then; the listener keeps working, open connections are still
 * served, and accepting resumes by itself once descriptors free up.
 *
 * What is left to us:
 * - Telling the operator, which libuv does not. `probe()`, called from the
 *   server's sweep timer, opens and closes /dev/null: when that fails the
 *   process is out of descriptors. The start of a burst is one log.error
 *   line, its end one log.info line — never a line per refused connection.
 * - libuv's spare lost to another thread (a threadpool open() between its
 *   close and reopen). Then accept's EMFILE reaches net.Server as 'error'
 *   (uncaught, it would kill the process), and libuv calls accept() again at
 *   once, in a synchronous loop that ends only when a descriptor frees. So we
 *   keep a spare of our own: on that error we close it, the next accept()
 *   succeeds, and the server closes each connection accepted while `draining`
 *   (as libuv would) until the backlog is empty; the spare is reopened on the
 *   next turn of the event loop.
 * Other accept errors (ENOMEM, ENOBUFS, …) are logged at most once a second.
 */

import { closeSync, openSync } from "node:fs";
import type net from "node:net";
import type { Logger } from "../logger.js";

/** ms between two log lines for accept errors other than EMFILE/ENFILE. */
const OTHER_ERROR_LOG_INTERVAL_MS = 1000;

const SPARE_PATH = "/dev/null";

function isOutOfDescriptors(err: unknown): err is NodeJS.ErrnoException {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === "EMFILE" || code === "ENFILE";
}

/** A descriptor on /dev/null, or null when none can be had (out of descriptors, or no /dev/null). */
function openSpare(): number | null {
  try {
    return openSync(SPARE_PATH, "r");
  } catch {
    return null;
  }
}

export class AcceptGuard {
  /** True between an EMFILE 'error' and the next turn of the event loop: connections accepted now are closed at once. */
  draining = false;
  private readonly netServer: net.Server;
  private readonly log: Logger;
  /** Our spare descriptor (see the top of the file); null while released or unavailable. */
  private spare: number | null;
  /** ms: when the current out-of-descriptors burst was first seen; null outside a burst. */
  private outOfDescriptorsSince: number | null = null;
  /** Connections closed while draining, in this burst (libuv's own refusals cannot be counted). */
  private refused = 0;
  private lastOtherErrorLogAt = -Infinity;
  private otherErrorsNotLogged = 0;
  private readonly onError = (err: Error): void => {
    this.acceptFailed(err);
  };
  private closed = false;

  constructor(netServer: net.Server, log: Logger) {
    this.netServer = netServer;
    this.log = log;
    this.spare = openSpare();
    netServer.on("error", this.onError);
  }

  /** A connection was accepted while draining; the caller destroys it. */
  countRefused(): void {
    this.refused++;
  }

  /** Checks for free descriptors: starts or ends a burst, and takes the spare back when it was lost. */
  probe(now: number): void {
    if (this.closed) return;
    let fd: number;
    try {
      fd = openSync(SPARE_PATH, "r");
    } catch (err) {
      if (isOutOfDescriptors(err)) this.burstSeen(err.code as string, now);
      return;
    }
    if (this.spare === null && !this.draining) this.spare = fd;
    else closeSync(fd);
    if (this.outOfDescriptorsSince !== null) {
      const seconds = ((now - this.outOfDescriptorsSince) / 1000).toFixed(1);
      const refused = this.refused > 0 ? `, ${this.refused} connection(s) closed unserved` : "";
      this.log.info(
        `(${process.pid}) file descriptors are available again after ${seconds} s${refused}: accepting connections`,
      );
      this.outOfDescriptorsSince = null;
      this.refused = 0;
    }
  }

  /** Stops listening for errors and closes the spare (the server has stopped). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    // A late accept error still cannot be thrown: listen.ts keeps a listener of its own.
    this.netServer.removeListener("error", this.onError);
    if (this.spare !== null) closeSync(this.spare);
    this.spare = null;
  }

  private acceptFailed(err: Error): void {
    if (this.closed) return;
    if (isOutOfDescriptors(err)) {
      this.burstSeen(err.code as string, Date.now());
      this.releaseSpare();
      return;
    }
    const now = Date.now();
    if (now - this.lastOtherErrorLogAt < OTHER_ERROR_LOG_INTERVAL_MS) {
      this.otherErrorsNotLogged++;
      return;
    }
    const more = this.otherErrorsNotLogged > 0 ? ` (and ${this.otherErrorsNotLogged} more since the last report)` : "";
    this.log.error(`(${process.pid}) accepting a connection failed: ${err.message}${more}`);
    this.lastOtherErrorLogAt = now;
    this.otherErrorsNotLogged = 0;
  }

  private burstSeen(code: string, now: number): void {
    if (this.outOfDescriptorsSince !== null) return;
    this.outOfDescriptorsSince = now;
    this.log.error(
      `(${process.pid}) out of file descriptors (${code}): new connections are closed at once until some are free; ` +
        "open connections are still served (raise the limit: ulimit -n)",
    );
  }

  /** Frees our spare so libuv's accept loop can take one connection (and close it), instead of spinning. */
  private releaseSpare(): void {
    if (this.spare === null || this.draining) return;
    closeSync(this.spare);
    this.spare = null;
    this.draining = true;
    setImmediate(() => {
      this.draining = false;
      if (!this.closed) this.spare = openSpare();
    });
  }
}
