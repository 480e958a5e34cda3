/**
 * Child processes of the harness: benchmark servers, the idle-connection
 * client, wrk. Each server child runs pinned to a core with `taskset` (when
 * the machine has two cores and taskset works) under `bash -c 'ulimit -n
 * …; exec node …'`, so it may hold tens of thousands of sockets; `exec`
 * keeps one pid from taskset to node, so /proc/<pid> is the server's own.
 *
 * Every child is registered, and killed when the harness exits, however it
 * exits (normal end, error, SIGINT, SIGTERM).
 */

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import type { ChildStats } from "../servers/ipc.js";

const live = new Set<ChildProcess>();
let exitHooked = false;

function killAll(): void {
  for (const proc of live) {
    try {
      proc.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  live.clear();
}

/** Kills every registered child when this process ends, however it ends. */
export function hookExit(cleanups: (() => void)[] = []): void {
  if (exitHooked) return;
  exitHooked = true;
  const cleanup = (): void => {
    killAll();
    for (const fn of cleanups) {
      try {
        fn();
      } catch {
        // best effort on the way out
      }
    }
  };
  process.on("exit", cleanup);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      process.stderr.write(`\n${signal}: stopping every child process\n`);
      cleanup();
      process.exit(130);
    });
  }
}

export function register(proc: ChildProcess): void {
  live.add(proc);
  proc.once("exit", () => live.delete(proc));
}

/** Cores for the server and for the load generator, or null when pinning is not possible here. */
export interface Pinning {
  serverCore: number;
  clientCore: number;
}

let pinningProbe: Pinning | null | undefined;

export function pinning(): Pinning | null {
  if (pinningProbe !== undefined) return pinningProbe;
  pinningProbe = null;
  if (os.availableParallelism() >= 2) {
    const probe = spawnSync("taskset", ["-c", "1", "true"], { stdio: "ignore" });
    if (probe.status === 0) pinningProbe = { serverCore: 0, clientCore: 1 };
  }
  return pinningProbe;
}

/** The command line: [taskset -c CORE] bash -c 'ulimit -n …; exec "$@"' node FLAGS SCRIPT ARGS. */
function command(core: number | null, nodeFlags: string[], script: string, args: string[]): [string, string[]] {
  const raiseLimit = 'ulimit -n 65535 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"';
  const inner = ["bash", "-c", raiseLimit, "bash", process.execPath, ...nodeFlags, script, ...args];
  if (core === null) return [inner[0] as string, inner.slice(1)];
  return ["taskset", ["-c", String(core), ...inner]];
}

export interface ChildOptions {
  script: string;
  args?: string[];
  nodeFlags?: string[];
  core: number | null;
  /** Milliseconds to wait for the child's "ready" message. */
  readyTimeoutMs?: number;
  cwd?: string;
  /** A file descriptor for the child's stdout (e.g. --trace-deopt's output), instead of ours. */
  stdoutFd?: number;
}

interface ReadyMessage {
  type: "ready";
  port: number;
  pid: number;
  [key: string]: unknown;
}

/** A harness child speaking the protocol of servers/ipc.ts. */
export class IpcChild {
  readonly proc: ChildProcess;
  readonly ready: ReadyMessage;
  private exited = false;
  private readonly exitPromise: Promise<void>;

  private constructor(proc: ChildProcess, ready: ReadyMessage, exitPromise: Promise<void>) {
    this.proc = proc;
    this.ready = ready;
    this.exitPromise = exitPromise;
    void exitPromise.then(() => {
      this.exited = true;
    });
  }

  static start(opts: ChildOptions): Promise<IpcChild> {
    const [cmd, argv] = command(opts.core, opts.nodeFlags ?? [], opts.script, opts.args ?? []);
    const proc = spawn(cmd, argv, {
      stdio: ["ignore", opts.stdoutFd ?? "inherit", "inherit", "ipc"],
      cwd: opts.cwd ?? process.cwd(),
    });
    register(proc);
    const exitPromise = new Promise<void>((resolve) =>
      proc.once("exit", () => {
        resolve();
      }),
    );
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill("SIGKILL");
        reject(new Error(`${opts.script} did not report ready within ${opts.readyTimeoutMs ?? 15000} ms`));
      }, opts.readyTimeoutMs ?? 15000);
      const onExit = (code: number | null, signal: string | null): void => {
        clearTimeout(timer);
        reject(new Error(`${opts.script} exited before it was ready (code ${code}, signal ${signal})`));
      };
      proc.once("exit", onExit);
      proc.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      const onMessage = (msg: { type?: string }): void => {
        if (msg.type !== "ready") return;
        clearTimeout(timer);
        proc.removeListener("exit", onExit);
        proc.removeListener("message", onMessage);
        resolve(new IpcChild(proc, msg as ReadyMessage, exitPromise));
      };
      proc.on("message", onMessage);
    });
  }

  get pid(): number {
    return this.ready.pid;
  }

  get port(): number {
    return this.ready.port;
  }

  /** memoryUsage and active resources, from inside the child (after a GC when asked and --expose-gc is on). */
  stats(gc = false, timeoutMs = 10000): Promise<ChildStats> {
    return new Promise((resolve, reject) => {
      if (this.exited) {
        reject(new Error("the child has exited"));
        return;
      }
      const timer = setTimeout(() => {
        this.proc.removeListener("message", onMessage);
        reject(new Error(`no stats from pid ${this.pid} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onMessage = (msg: { type?: string }): void => {
        if (msg.type !== "stats") return;
        clearTimeout(timer);
        this.proc.removeListener("message", onMessage);
        resolve(msg as unknown as ChildStats);
      };
      this.proc.on("message", onMessage);
      this.proc.send({ type: "stats", gc });
    });
  }

  /** Peak resident set (VmHWM) and current (VmRSS) in bytes, from /proc; null where there is no /proc. */
  memory(): { peak: number; current: number } | null {
    return procMemory(this.pid);
  }

  /** CPU time used so far (user + system), microseconds; null where there is no /proc. */
  cpuUs(): number | null {
    return procCpuUs(this.pid);
  }

  /** Minor page faults so far; null where there is no /proc. */
  minorFaults(): number | null {
    return procMinorFaults(this.pid);
  }

  /** Asks the child to exit (so a --cpu-prof profile gets written), then kills it after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exited) return;
    try {
      this.proc.send({ type: "exit" });
    } catch {
      // the channel is already closed
    }
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), graceMs);
    await this.exitPromise;
    clearTimeout(timer);
  }
}

export function procMemory(pid: number): { peak: number; current: number } | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return null;
  }
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status);
    return m === null ? 0 : Number(m[1]) * 1024;
  };
  return { peak: field("VmHWM"), current: field("VmRSS") };
}

/**
 * CPU time (user + system) the process has used so far, in microseconds, from
 * /proc/<pid>/stat (clock ticks, USER_HZ = 100 on Linux); null where there is no /proc.
 */
export function procCpuUs(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
  return Number.isFinite(ticks) ? ticks * 10_000 : null;
}

/**
 * Minor page faults the process has taken so far (/proc/<pid>/stat field 10);
 * null where there is no /proc. Per request, they show memory the allocator
 * gave back to the kernel and took again (the fresh pages are faulted in and zeroed).
 */
export function procMinorFaults(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  const n = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[7]); // minflt (field 10)
  return Number.isFinite(n) ? n : null;
}

/** Runs a command to completion, capturing stdout; killed after timeoutMs. */
export function runCaptured(
  cmd: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    register(proc);
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    proc.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    proc.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      proc.kill("SIGKILL");
    }, timeoutMs);
    proc.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    proc.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
