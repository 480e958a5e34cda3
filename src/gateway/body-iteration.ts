/**
 * Body iteration: pulling an application's body, sync or async, chunk by
 * chunk into its exchange, at the pace the socket takes it, stopping when the
 * client leaves (the iterator's return() is its cleanup, as when a
 * generator stops at a yield). Arrays are the exchange's own (sendArray).
 */

import { ClientDisconnectedError, describeError } from "../errors.js";
import { RETURN_GRACE_MS } from "../limits.js";
import type { ExchangeHost } from "./host.js";
import type { Chunk } from "./types.js";

/** What iteration needs from the exchange. */
export interface BodyTarget {
  readonly host: ExchangeHost;
  /** The head has been written. */
  readonly responseStarted: boolean;
  readonly requestLine: string;
  /** The socket asked to wait for drain after the last batch; iteration clears it once it waited. */
  mustWait: boolean;
  /** Adds a chunk; writes what was gathered once it reaches the minimum chunk size. */
  gather(chunk: Chunk): void;
  /** The body is over. */
  finish(knownLength: number): void;
}

/** What an async body's wait for its next chunk resolves with when the client left. */
const GONE = Symbol("gone");

function isThenable<T>(v: unknown): v is PromiseLike<T> {
  return v !== null && typeof v === "object" && typeof (v as { then?: unknown }).then === "function";
}

function noop(): void {}

/** Calls an iterator's return() (its cleanup) when it has one; what that throws or rejects with is dropped. */
function returnQuietly(it: Iterator<Chunk> | AsyncIterator<Chunk>): Promise<void> | undefined {
  try {
    const r: unknown = it.return?.();
    // the iterator's own cleanup failing adds nothing to the error that stopped it
    if (isThenable(r)) return Promise.resolve(r).then(noop, noop);
  } catch {
    // as above
  }
  return undefined;
}

/** A synchronous iterable; waits for drain only when the socket asks for it. */
export function iterateSync(t: BodyTarget, it: Iterator<Chunk>): Promise<void> | undefined {
  try {
    for (;;) {
      if (t.host.gone) {
        void returnQuietly(it);
        return undefined;
      }
      const r = it.next();
      if (r.done === true) break;
      t.gather(r.value);
      if (t.mustWait) {
        t.mustWait = false;
        return t.host.drained().then(() => iterateSync(t, it));
      }
    }
  } catch (err) {
    // The iterator threw (or a chunk was bad): let it clean up, then fail the response.
    void returnQuietly(it);
    throw err;
  }
  t.finish(-1);
  return undefined;
}

/**
 * An async iterable. Its next() may wait for ever (SSE, long-poll): it is
 * raced against the client leaving, so close() and the post hooks run when
 * the client goes, not when the body next yields (maybe never).
 */
export async function iterateAsync(t: BodyTarget, it: AsyncIterator<Chunk>): Promise<void> {
  let wake: ((gone: typeof GONE) => void) | null = null;
  const unregister = t.host.onGone(() => wake?.(GONE));
  // What was gathered goes to the socket on the next tick, not at once: the chunks of a
  // burst (SSE events written in a loop) leave in one write, as node:http corks a response
  // until the next tick; a chunk that comes alone still leaves before any timer or I/O.
  let flushQueued = false;
  const flushSoon = (): void => {
    flushQueued = false;
    t.host.flush();
  };
  try {
    for (;;) {
      if (t.host.gone) {
        await it.return?.();
        return;
      }
      if (t.responseStarted && !flushQueued) {
        flushQueued = true;
        process.nextTick(flushSoon);
      }
      // Promise.resolve: a hand-written iterator's next() may return a plain result, as `await` allows.
      const next = Promise.resolve(it.next());
      const r = await new Promise<IteratorResult<Chunk> | typeof GONE>((resolve, reject) => {
        wake = resolve;
        next.then(resolve, reject);
      });
      wake = null;
      if (r === GONE) {
        await returnWaiting(t, it, next);
        return;
      }
      if (r.done === true) break;
      try {
        t.gather(r.value);
      } catch (err) {
        // A bad chunk: let the iterator clean up (as the synchronous path does), then fail the response.
        await returnQuietly(it);
        throw err;
      }
      if (t.mustWait) {
        t.mustWait = false;
        await t.host.drained();
      }
    }
  } finally {
    unregister();
  }
  t.finish(-1);
}

/**
 * The client left while `next` was pending. An async generator runs
 * return() only once that next() settles: soon when it was between two
 * chunks (then its finally blocks run before close(), as when it stops at a
 * yield), never when it waits for an event that will not come. So return()
 * is waited for at most RETURN_GRACE_MS; what it or next() does later is logged.
 */
async function returnWaiting(
  t: BodyTarget,
  it: AsyncIterator<Chunk>,
  next: Promise<IteratorResult<Chunk>>,
): Promise<void> {
  const log = t.host.config.log;
  // As in fail(): the client leaving is not the app's fault, any other error still is.
  next.then(undefined, (err: unknown) => {
    if (err instanceof ClientDisconnectedError)
      log.debug(`client went away during "${t.requestLine}": ${describeError(err)}`);
    else log.error(describeError(err));
  });
  let returned: unknown;
  try {
    returned = it.return?.();
  } catch (err) {
    log.error(describeError(err));
    return;
  }
  if (!isThenable(returned)) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const grace = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, RETURN_GRACE_MS);
  });
  await Promise.race([
    Promise.resolve(returned).then(undefined, (err: unknown) => {
      log.error(describeError(err));
    }),
    grace,
  ]);
  clearTimeout(timer);
}
