/**
 * Learning that the client went away (fetch's `request.signal`). Internal to
 * the package: adapters import it from here; it is not a root export.
 */

import type { Environ } from "./types.js";
import { exchangeOf } from "./exchange-link.js";

const NOTHING = (): void => {};

/**
 * Calls `listener` once if the client goes away before this exchange's
 * response is complete: the connection closes or resets, or the client
 * half-closes before its request body is complete (a half-close after a
 * complete request does not count). Never after the response is done.
 * Returns a function that removes the listener (cheap; no allocation when
 * unused).
 */
export function onClientGone(environ: Environ, listener: () => void): () => void {
  const exchange = exchangeOf(environ);
  if (exchange === undefined) return NOTHING;
  return exchange.onClientGone(listener);
}

/**
 * The listeners of one exchange. `fire` calls each once, unless the response
 * is already complete (`retire`); a listener added after the client left is
 * called on the next microtask.
 */
export class ClientGoneListeners {
  private listeners: (() => void)[] = [];
  private state: "open" | "gone" | "retired" = "open";

  add(listener: () => void): () => void {
    if (this.state === "retired") return NOTHING;
    if (this.state === "gone") {
      let removed = false;
      queueMicrotask(() => {
        if (!removed) listener();
      });
      return () => {
        removed = true;
      };
    }
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i !== -1) this.listeners.splice(i, 1);
    };
  }

  /** `onError`: a listener that throws is reported there, and the others still run. */
  fire(onError: (err: unknown) => void): void {
    if (this.state !== "open") return;
    this.state = "gone";
    const listeners = this.listeners;
    this.listeners = [];
    for (const listener of listeners) {
      try {
        listener();
      } catch (err) {
        onError(err);
      }
    }
  }

  retire(): void {
    if (this.state !== "open") return;
    this.state = "retired";
    this.listeners = [];
  }
}
