/**
 * A coarse clock for the request path: Date.now() read at most once every
 * few milliseconds, as node:http caches its Date header. Reading the clock
 * costs ~50 ns here (kvm-clock), a noticeable share of a small request when
 * done for every one; the values it feeds — the time limits, checked by a
 * sweep at most once a second, and the Date header, to the second — need
 * nothing finer. The access log and the sweep itself read Date.now().
 *
 * The reading expires on a timer, and a timer cannot fire while JavaScript
 * runs: after a synchronous app that took seconds, the cached reading is
 * seconds old. A connection stamping idleSince with it would look idle for
 * those seconds already, and the sweep could close it at once (keepalive: 1
 * after a 2 s response). So the connection calls refreshClock() once each
 * exchange is done — one Date.now(), no new timer.
 */

/** How long a reading is reused, ms. */
const TICK_MS = 5;

let cached = 0;

function expire(): void {
  cached = 0;
}

/** ms since the epoch, at most TICK_MS old — except while synchronous work runs (see refreshClock). */
export function coarseNow(): number {
  if (cached === 0) {
    cached = Date.now();
    // unref: the clock never keeps a process alive.
    setTimeout(expire, TICK_MS).unref();
  }
  return cached;
}

/** Reads the clock now: after work that may have run past the expiry timer (an app). */
export function refreshClock(): void {
  // With no reading cached, the next coarseNow() reads the clock anyway.
  if (cached !== 0) cached = Date.now();
}
