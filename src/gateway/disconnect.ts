/**
 * Telling an application that its client went away.
 *
 * PROVISIONAL: replaced by core's implementation at merge. This version is
 * fed by the Exchange (response.ts), which registers, for its environ, how to
 * watch its transport; it covers the connection closing or resetting, not yet
 * a half-close before the request body is complete.
 */

import type { Environ } from "./types.js";

type Watch = (listener: () => void) => () => void;

const watchers = new WeakMap<Environ, Watch>();

/** @internal PROVISIONAL: the Exchange says how to watch its client. */
export function provideClientGone(environ: Environ, watch: Watch): void {
  watchers.set(environ, watch);
}

/**
 * Calls `listener` once if the client goes away before this exchange's response is complete:
 * the connection closes or resets, or the client half-closes before its request body is
 * complete. Never after the response is done. Returns a function that removes the listener.
 */
export function onClientGone(environ: Environ, listener: () => void): () => void {
  const watch = watchers.get(environ);
  return watch === undefined ? () => {} : watch(listener);
}
