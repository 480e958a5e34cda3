/** `--pid FILE`: the primary's PID, written once serving begins and removed at exit. */

import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { StartupError } from "./errors.js";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function writePidFile(path: string): void {
  if (existsSync(path)) {
    const pid = Number(readFileSync(path, "utf8").trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new StartupError(`the pid file ${path} names a running process (${pid}): is eventwsgi already running?`);
    }
  }
  try {
    writeFileSync(path, `${process.pid}\n`);
  } catch (err) {
    throw new StartupError(`cannot write the pid file ${path}: ${(err as Error).message}`);
  }
}

export function removePidFile(path: string): void {
  try {
    if (readFileSync(path, "utf8").trim() === String(process.pid)) rmSync(path, { force: true });
  } catch {
    // Already gone.
  }
}
