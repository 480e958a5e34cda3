/**
 * The watchdog thread (see watchdog.ts): takes the main thread's JavaScript stack once each time
 * its heartbeat goes stale, and writes it to the stack file (whole, through a rename).
 */

import { renameSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { workerData } from "node:worker_threads";
import type { WatchdogData } from "./watchdog.js";

interface CallFrame {
  functionName: string;
  location: { scriptId: string; lineNumber: number; columnNumber: number };
}

const CHECK_MS = 100;
const data = workerData as WatchdogData;
/** The beat for which a stack was taken: one stack per blocked stretch. */
let takenFor = -1n;
let busy = false;

function describeFrames(frames: CallFrame[], scripts: Map<string, string>): string {
  return frames
    .map((f) => {
      const url = scripts.get(f.location.scriptId) ?? "<unknown>";
      const where = `${url}:${f.location.lineNumber + 1}:${f.location.columnNumber + 1}`;
      return `    at ${f.functionName === "" ? "<anonymous>" : f.functionName} (${where})`;
    })
    .join("\n");
}

function write(text: string): void {
  const tmp = `${data.stackFile}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, data.stackFile);
}

function takeStack(blockedMs: number): void {
  busy = true;
  const session = new Session();
  const scripts = new Map<string, string>();
  const done = (): void => {
    session.disconnect();
    busy = false;
  };
  session.connectToMainThread();
  session.on("Debugger.scriptParsed", (m: { params: { scriptId: string; url: string } }) => {
    scripts.set(m.params.scriptId, m.params.url);
  });
  session.once("Debugger.paused", (m: { params: { callFrames: CallFrame[] } }) => {
    write(
      `taken when its event loop had been blocked for ${(blockedMs / 1000).toFixed(1)} s:\n${describeFrames(m.params.callFrames, scripts)}\n`,
    );
    session.post("Debugger.resume", () => {
      session.post("Debugger.disable", done);
    });
  });
  session.post("Debugger.enable", (err) => {
    if (err !== null) {
      done();
      return;
    }
    session.post("Debugger.pause");
  });
}

setInterval(() => {
  if (busy) return;
  const last = Atomics.load(data.beat, 0);
  const blockedMs = Date.now() - Number(last);
  if (blockedMs < data.stackAfterMs || last === takenFor) return;
  takenFor = last;
  try {
    takeStack(blockedMs);
  } catch {
    busy = false;
  }
}, CHECK_MS);
