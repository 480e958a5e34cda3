/**
 * Starts a compiled example (dist/examples/NAME.js) as a child process on a free port (PORT=0, and
 * HOST=127.0.0.1 for the examples that read it), finds its port in its "wsgi starting up on" log
 * line, and stops it afterwards, so that an example is tested as a user runs it.
 */

import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { within } from "../support/wait.js";

/** The repository root (this file runs from dist/test/examples/). */
export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** A child's output, kept whole, with a wait for a line that matches. */
export class Output {
  text = "";
  private waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];

  constructor(stream: NodeJS.ReadableStream) {
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      this.text += chunk;
      this.waiters = this.waiters.filter((w) => {
        const m = this.text.match(w.re);
        if (m !== null) w.resolve(m);
        return m === null;
      });
    });
  }

  /** The first match of `re` in the output so far or to come, within `ms`. */
  waitFor(re: RegExp, ms = 10_000): Promise<RegExpMatchArray> {
    const m = this.text.match(re);
    if (m !== null) return Promise.resolve(m);
    return within(
      ms,
      `${String(re)} in the example's output (so far: ${JSON.stringify(this.text.slice(-500))})`,
      new Promise((resolve) => this.waiters.push({ re, resolve })),
    );
  }
}

export interface RunningExample {
  /** "http://127.0.0.1:40123" or "https://…" */
  readonly origin: string;
  readonly port: number;
  readonly child: ChildProcess;
  readonly stdout: Output;
  readonly stderr: Output;
  /** The exit code (null when killed by a signal), once the process has exited. */
  readonly exited: Promise<number | null>;
}

/** How an example starts: node's arguments (from the repository root) and its environment. */
export interface Launch {
  /** Default: ["dist/examples/NAME.js"]. */
  args?: string[];
  env?: Record<string, string>;
}

/**
 * Starts `name` (dist/examples/NAME.js, or `launch.args`) in a process group of its own, so that
 * stopping it also stops any worker it forked.
 */
export async function startExample(name: string, launch: Launch = {}): Promise<RunningExample> {
  const args = launch.args ?? [`dist/examples/${name}.js`];
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", EVENTWSGI_CMD_ARGS: "", ...launch.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => {
      resolve(code);
    });
  });
  const stdout = new Output(child.stdout as NodeJS.ReadableStream);
  const stderr = new Output(child.stderr as NodeJS.ReadableStream);
  try {
    const started = await Promise.race([
      // Any host (an example that ignores HOST listens on 0.0.0.0): it is reached on 127.0.0.1.
      // The eventwsgi command says "listening on" instead.
      stderr.waitFor(/(?:wsgi starting up on|listening on) (https?):\/\/\S+:(\d+)/),
      exited.then((code) => {
        throw new Error(`example ${name} exited (${String(code)}) before listening: ${stderr.text}`);
      }),
    ]);
    const [, scheme = "", port = ""] = started;
    return { origin: `${scheme}://127.0.0.1:${port}`, port: Number(port), child, stdout, stderr, exited };
  } catch (err) {
    await stopExample({ child, exited });
    throw err;
  }
}

/** Sends `signal` to the example's process group (the example and anything it forked). */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // The group is gone already.
  }
}

/**
 * SIGTERM to the example, and SIGKILL to its whole process group if it has not exited 10 s later;
 * resolves once it has exited. Its process group is then killed in any case, so that no worker of
 * an example outlives the test.
 */
export async function stopExample(ex: Pick<RunningExample, "child" | "exited">): Promise<void> {
  if (ex.child.exitCode === null && ex.child.signalCode === null) {
    ex.child.kill("SIGTERM");
    try {
      await within(10_000, "the example to exit after SIGTERM", ex.exited);
    } catch {
      signalGroup(ex.child, "SIGKILL");
      await ex.exited;
    }
  }
  signalGroup(ex.child, "SIGKILL");
}
