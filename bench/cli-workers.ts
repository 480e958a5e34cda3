/**
 * `--workers 2` against `--workers 1`, through the real command (primary + node:cluster
 * workers, round-robin hand-off), with wrk pinned to one core by taskset. Two scenarios: hello
 * on 64 kept-alive connections, and churn (a new connection for every request, where every
 * connection crosses the primary).
 *
 *   npm run build && node dist/bench/cli-workers.js            # 3 runs of 10 s each (~3 minutes)
 *   npm run build && node dist/bench/cli-workers.js --quick    # 1 run of 3 s each (~30 s)
 *
 * On a 2-core machine wrk holds one core, so the primary and the workers share the other one
 * with it (and with each other): the figure says what a second worker costs or gains when no
 * core is free for it, not how eventwsgi scales. On N free cores, expect up to N times one
 * worker's figure for kept-alive connections; churn is bounded by the primary, which accepts
 * every connection and hands it over IPC.
 */

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { hookExit, pinning, register } from "./lib/children.js";
import { ensureWrk, errorCount, runWrk, writeScript } from "./lib/wrk.js";

const here = dirname(fileURLToPath(import.meta.url));
const MAIN = join(here, "..", "src", "cli", "main.js");
const APP = join(here, "servers", "cli-hello.js");

const quick = process.argv.includes("--quick");
const durationSec = quick ? 3 : 10;
const runs = quick ? 1 : 3;

interface Scenario {
  name: string;
  connections: number;
  lua: string;
}

const SCENARIOS: Scenario[] = [
  { name: "hello (64 kept-alive connections)", connections: 64, lua: "" },
  { name: "churn (a new connection per request)", connections: 16, lua: 'wrk.headers["Connection"] = "close"' },
];

function startCli(workers: number): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(
    process.execPath,
    [MAIN, "-w", String(workers), "-b", "127.0.0.1:0", "--no-access-log", "--timeout", "0", APP],
    { stdio: ["ignore", "ignore", "pipe"], detached: true },
  );
  register(proc);
  return new Promise((resolve, reject) => {
    let err = "";
    let port = 0;
    const timer = setTimeout(() => {
      reject(new Error(`the CLI did not start: ${err}`));
    }, 20_000);
    proc.stderr.setEncoding("utf8").on("data", (d: string) => {
      err += d;
      port ||= Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(err)?.[1] ?? 0);
      if (port > 0 && /ready: \d+ worker\(s\) serving/.test(err)) {
        clearTimeout(timer);
        resolve({ proc, port });
      }
    });
  });
}

function stopCli(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    proc.once("exit", () => {
      resolve();
    });
    try {
      process.kill(-(proc.pid ?? 0), "SIGKILL");
    } catch {
      resolve();
    }
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

async function measure(workers: number, scenario: Scenario, dir: string, core: number | null): Promise<string> {
  const { proc, port } = await startCli(workers);
  try {
    const script = writeScript(dir, scenario.name.split(" ")[0] ?? "s", scenario.lua);
    const url = `http://127.0.0.1:${port}/`;
    await runWrk({ url, connections: scenario.connections, durationSec: 1, script, core });
    const rates: number[] = [];
    let errors = 0;
    for (let i = 0; i < runs; i++) {
      const r = await runWrk({ url, connections: scenario.connections, durationSec, script, core });
      rates.push(r.requestsPerSec);
      errors += errorCount(r);
    }
    return `| ${scenario.name} | ${workers} | ${Math.round(median(rates))} | ${rates.map((r) => Math.round(r)).join(", ")} | ${errors} |`;
  } finally {
    await stopCli(proc);
  }
}

async function main(): Promise<void> {
  ensureWrk();
  hookExit();
  const pins = pinning();
  const core = pins?.clientCore ?? null;
  const dir = mkdtempSync(join(tmpdir(), "eventwsgi-cli-bench-"));
  const lines = [
    `wrk pinned to core ${core === null ? "(none: taskset unavailable)" : String(core)}; ${runs} run(s) of ${durationSec} s; Node ${process.version}`,
    "",
    "| scenario | workers | req/s (median) | runs | wrk errors |",
    "| --- | --- | --- | --- | --- |",
  ];
  try {
    for (const scenario of SCENARIOS) {
      for (const workers of [1, 2]) {
        const line = await measure(workers, scenario, dir, core);
        process.stderr.write(`${line}\n`);
        lines.push(line);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

await main();
