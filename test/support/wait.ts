/**
 * Bounded waits shared by every suite (and bench/memory.ts): no test may
 * hang, so each wait on an event carries its own limit and names what it
 * waited for when that limit is hit.
 */

import { setTimeout as delay } from "node:timers/promises";

/** Rejects with a message naming `what` when `promise` has not settled within `ms`. */
export function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(timer);
  });
}

/** Polls `cond` every 5 ms for at most `ms` (for state the server has no event for). */
export async function until(ms: number, what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await delay(5);
  }
}

/** A promise with its resolve function: a one-shot event a test (or its app) can wait on. */
export class Signal<T = void> {
  readonly promise: Promise<T>;
  fired = false;
  private resolveFn!: (v: T) => void;
  constructor() {
    this.promise = new Promise<T>((resolve) => {
      this.resolveFn = resolve;
    });
  }
  /** Bound, so that it can be handed to an app as a plain callback. */
  readonly fire = (v: T): void => {
    this.fired = true;
    this.resolveFn(v);
  };
}
