/**
 * Operations-test support: servers on any ListenSocket (TCP v4/v6, Unix,
 * TLS) with their log captured, the TLS fixtures, and child processes that
 * are always stopped. The raw peer is test/support/peer.ts.
 */

import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { server, type App, type ListenSocket, type ServerOptions, type WsgiServer } from "../../src/index.js";
import { within } from "../support/wait.js";
import { captureLog, validated, type CapturedLog } from "../support/wire.js";

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root (this file runs from dist/test/ops/). */
export const repoRoot = join(here, "..", "..", "..");
export const fixturesDir = join(repoRoot, "test", "fixtures");
export const fixture = (name: string): string => join(fixturesDir, name);
export const CERT = readFileSync(fixture("cert.pem"), "latin1");
export const KEY = readFileSync(fixture("key.pem"), "latin1");
export const CERT2 = readFileSync(fixture("cert2.pem"), "latin1");

export interface OpsServer {
  readonly server: WsgiServer;
  readonly log: CapturedLog;
  /** Closes the server (cutting connections after `deadlineMs`) and waits for it. */
  close(deadlineMs?: number): Promise<void>;
}

/** Serves `app` on `sock` with a capturing logger (merged under `opts`). */
export function serveOn(sock: ListenSocket, app: App, opts: ServerOptions = {}): OpsServer {
  const { log, logger } = captureLog();
  const srv = server(sock, validated(app), { log: logger, ...opts });
  return { server: srv, log, close: (deadlineMs = 1000) => srv.close({ deadline: deadlineMs }) };
}

/** Runs `fn` with a server that is always closed afterwards. */
export async function withOps<T>(
  sock: ListenSocket,
  app: App,
  opts: ServerOptions,
  fn: (s: OpsServer) => Promise<T>,
): Promise<T> {
  const s = serveOn(sock, app, opts);
  try {
    return await fn(s);
  } finally {
    await within(5000, "server close", s.close(200));
  }
}

/** An app that reports selected environ keys as JSON. */
export const environApp: App = (env, startResponse) => {
  const keys = ["SERVER_NAME", "SERVER_PORT", "REMOTE_ADDR", "REMOTE_PORT", "wsgi.url_scheme", "HTTPS"];
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = env[k];
  startResponse("200 OK", [["Content-Type", "application/json"]]);
  return [JSON.stringify(out)];
};

/** A child node process that is killed when the test ends, whatever happens. */
export interface Child {
  readonly proc: ChildProcess;
  stderr: string;
  stdout: string;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  readonly exited: Promise<number | string>;
  /** Waits until `re` matches stderr+stdout, returning the match. */
  waitOutput(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Sends SIGKILL if still running and waits for the exit. */
  kill(): Promise<void>;
}

export function spawnNode(args: string[], opts: { ipc?: boolean; env?: NodeJS.ProcessEnv } = {}): Child {
  const proc = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, ...opts.env },
    stdio: opts.ipc === true ? ["ignore", "pipe", "pipe", "ipc"] : ["ignore", "pipe", "pipe"],
  });
  const waiters = new Set<() => void>();
  const child: Child = {
    proc,
    stderr: "",
    stdout: "",
    exited: new Promise((resolve) => {
      proc.once("exit", (code, signal) => {
        resolve(code ?? signal ?? "unknown");
        for (const w of [...waiters]) w();
      });
    }),
    waitOutput(re, timeoutMs) {
      let waiter!: () => void;
      const p = new Promise<RegExpMatchArray>((resolve, reject) => {
        waiter = () => {
          const m = (child.stderr + child.stdout).match(re);
          if (m !== null) resolve(m);
          else if (proc.exitCode !== null || proc.signalCode !== null)
            reject(new Error(`child exited before ${re}: ${child.stderr}`));
        };
        waiters.add(waiter);
        waiter();
      });
      return within(timeoutMs, `${re} from the child (stderr: ${child.stderr.slice(-500)})`, p).finally(() =>
        waiters.delete(waiter),
      );
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await within(5000, "the child to exit", child.exited);
    },
  };
  proc.stdout?.setEncoding("utf8").on("data", (d: string) => {
    child.stdout += d;
    for (const w of [...waiters]) w();
  });
  proc.stderr?.setEncoding("utf8").on("data", (d: string) => {
    child.stderr += d;
    for (const w of [...waiters]) w();
  });
  return child;
}
