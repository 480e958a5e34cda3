/**
 * The watchdog behind `--timeout`'s stack trace. A worker whose event loop is blocked cannot
 * answer anything, and Node 20's diagnostic report on a signal cannot help: its signal handler is
 * JavaScript, run by the blocked loop. So each worker starts a thread (watchdog-thread.ts) that
 * watches a heartbeat the main thread stores in shared memory. When the beat is stale, the thread
 * pauses the main thread through the inspector (`Session.connectToMainThread`, whose messages are
 * delivered as V8 interrupts, which a busy loop honours), reads its JavaScript stack, resumes it,
 * and writes the stack to a file the primary reads before it kills the worker.
 */

import { Worker } from "node:worker_threads";

/** Milliseconds between two beats of the main thread. */
const BEAT_MS = 100;

export interface WatchdogData {
  beat: BigInt64Array;
  stackFile: string;
  stackAfterMs: number;
}

export function startWatchdog(stackFile: string, stackAfterMs: number, onError: (message: string) => void): void {
  const beat = new BigInt64Array(new SharedArrayBuffer(8));
  const tick = (): void => {
    Atomics.store(beat, 0, BigInt(Date.now()));
  };
  tick();
  setInterval(tick, BEAT_MS).unref();
  const data: WatchdogData = { beat, stackFile, stackAfterMs };
  const thread = new Worker(new URL("./watchdog-thread.js", import.meta.url), { workerData: data });
  thread.unref();
  thread.on("error", (err) => {
    onError(`(${process.pid}) the --timeout watchdog failed: ${err.message}`);
  });
}
