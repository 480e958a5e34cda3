/**
 * CLI-test support: the real command (`node dist/src/cli/main.js`) spawned in its own process
 * group, so that `stop()` ends it and every worker it forked, whatever the test did; waits on its
 * output lines (events, not polls); and a free port.
 */

import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { within } from "../support/wait.js";
import { httpGet, type Reply } from "../support/http-get.js";

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root (this file runs from dist/test/cli/). */
export const repoRoot = join(here, "..", "..", "..");
export const MAIN = join(repoRoot, "dist", "src", "cli", "main.js");
/** The compiled fixture app. */
export const APP = join(here, "fixtures", "app.js");
export const BROKEN = join(here, "fixtures", "broken.js");

export class Cli {
  readonly proc: ChildProcess;
  stdout = "";
  stderr = "";
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  private readonly waiters = new Set<() => void>();

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    this.proc = spawn(process.execPath, [MAIN, ...args], {
      cwd: repoRoot,
      env: { ...process.env, EVENTWSGI_CMD_ARGS: "", FORWARDED_ALLOW_IPS: "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    this.proc.stdout?.setEncoding("utf8").on("data", (d: string) => {
      this.stdout += d;
      this.wake();
    });
    this.proc.stderr?.setEncoding("utf8").on("data", (d: string) => {
      this.stderr += d;
      this.wake();
    });
    this.exited = new Promise((resolve) => {
      this.proc.once("exit", (code, signal) => {
        this.wake();
        resolve({ code, signal });
      });
    });
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  /** Waits until `re` matches the output (stderr, then stdout), returning the match. */
  async waitFor(re: RegExp, ms: number, stream: "stderr" | "stdout" = "stderr"): Promise<RegExpMatchArray> {
    let wake!: () => void;
    const check = (): RegExpMatchArray | null => re.exec(stream === "stderr" ? this.stderr : this.stdout);
    const found = new Promise<RegExpMatchArray>((resolve) => {
      wake = () => {
        const m = check();
        if (m !== null) resolve(m);
      };
      this.waiters.add(wake);
      wake();
    });
    try {
      return await within(ms, `${String(re)} in the CLI's ${stream}; it said:\n${this.stderr}`, found);
    } finally {
      this.waiters.delete(wake);
    }
  }

  /** Counts the matches of `re` in stderr. */
  count(re: RegExp): number {
    return (this.stderr.match(new RegExp(re.source, "g")) ?? []).length;
  }

  signal(name: NodeJS.Signals): void {
    process.kill(this.pid, name);
  }

  /** Kills the whole process group (the primary and its workers) if anything is left. */
  async stop(): Promise<void> {
    try {
      process.kill(-this.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
    await within(5000, "the CLI to exit", this.exited);
  }

  private wake(): void {
    for (const w of this.waiters) w();
  }
}

/** Starts the CLI serving the fixture app on a free port; resolves once every worker serves. */
export async function serveCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ cli: Cli; port: number }> {
  const cli = new Cli(["-b", "127.0.0.1:0", ...args], env);
  try {
    const [, port] = await cli.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)/, 10_000);
    await cli.waitFor(/ready: \d+ worker\(s\) serving/, 15_000);
    return { cli, port: Number(port) };
  } catch (err) {
    await cli.stop();
    throw err;
  }
}

/** A GET over a new connection (closed after): status and body. */
export function get(port: number, path: string, timeoutMs = 5000): Promise<Reply> {
  return httpGet(port, path, { agent: false, timeoutMs });
}
