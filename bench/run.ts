/**
 * `npm run bench`: eventwsgi against node:http and a raw node:net ceiling,
 * driven by wrk (issue "eventwsgi performance").
 *
 * Each server runs in a child process of its own, pinned to core 0, with
 * wrk pinned to core 1 (when the machine has two cores and taskset). In a
 * scenario every server it lists is started fresh, warmed up, then the
 * servers take turns, run by run (the order rotating), so slow drift on a
 * shared machine falls on all of them alike. A number is the median of the
 * runs; peak RSS is the server process's VmHWM over the scenario.
 *
 *   node dist/bench/run.js [--duration 5] [--runs 3] [--warmup 1]
 *                          [--only hello,pipelined,...] [--idle 10000] [--out FILE]
 *
 * Writes the table, the targets and the machine to bench/results/latest.md.
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { makeCertificate } from "./lib/cert.js";
import { IpcChild, hookExit, pinning, sleep } from "./lib/children.js";
import {
  idleNotes,
  loadAverage,
  machineInfo,
  markdownTable,
  markdownTargets,
  machineLines,
  median,
  targets,
  textTable,
  textTargets,
  type IdleMeasurement,
  type Measurement,
} from "./lib/report.js";
import { ensureWrk, errorCount, runWrk, writeScript, wrkVersion, type WrkResult } from "./lib/wrk.js";
import { SERVER_SCRIPTS, scenarios, type Scenario, type ServerKind } from "./scenarios.js";

const HERE = dirname(fileURLToPath(import.meta.url)); // dist/bench
const REPO = resolve(HERE, "../..");

interface Options {
  durationSec: number;
  runs: number;
  warmupSec: number;
  only: string[] | null;
  idleConnections: number;
  out: string;
}

const USAGE = `usage: node dist/bench/run.js [--duration SECONDS] [--runs N] [--warmup SECONDS]
                             [--only SCENARIO,...] [--idle CONNECTIONS] [--out FILE]
scenarios: ${scenarios(10000)
  .map((s) => s.name)
  .join(", ")}`;

function parseOptions(argv: string[]): Options {
  const opts: Options = {
    durationSec: 5,
    runs: 3,
    warmupSec: 1,
    only: null,
    idleConnections: 10000,
    out: join(REPO, "bench/results/latest.md"),
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    if (flag === "--help" || flag === "-h") {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
    const num = (): number => {
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} needs a non-negative number, got ${value}`);
      return n;
    };
    switch (flag) {
      case "--duration":
        opts.durationSec = Math.max(1, Math.round(num()));
        break;
      case "--runs":
        opts.runs = Math.max(1, Math.round(num()));
        break;
      case "--warmup":
        opts.warmupSec = Math.round(num());
        break;
      case "--idle":
        opts.idleConnections = Math.round(num());
        break;
      case "--only":
        opts.only = value
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s.length > 0);
        break;
      case "--out":
        opts.out = resolve(value);
        break;
      default:
        throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
  }
  const known = new Set(scenarios(0).map((s) => s.name));
  for (const name of opts.only ?? []) if (!known.has(name)) throw new Error(`unknown scenario ${name}\n${USAGE}`);
  return opts;
}

class Bench {
  readonly results: Measurement[] = [];
  private readonly pin = pinning();

  constructor(
    private readonly opts: Options,
    private readonly tmp: string,
    private readonly tlsFiles: { cert: string; key: string } | null,
  ) {}

  private serverArgs(sc: Scenario): string[] {
    const args: string[] = [];
    if (sc.tls && this.tlsFiles !== null) args.push("--cert", this.tlsFiles.cert, "--key", this.tlsFiles.key);
    if (sc.idleConnections > 0) args.push("--max-connections", String(sc.idleConnections + 1024));
    return args;
  }

  private startServer(kind: ServerKind, sc: Scenario): Promise<IpcChild> {
    return IpcChild.start({
      script: join(HERE, SERVER_SCRIPTS[kind]),
      args: this.serverArgs(sc),
      // --expose-gc only lets the idle scenario also measure RSS after a full GC; it changes nothing else.
      nodeFlags: ["--expose-gc"],
      core: this.pin?.serverCore ?? null,
    });
  }

  private async wrk(sc: Scenario, server: IpcChild, script: string, durationSec: number): Promise<WrkResult> {
    const cpuBefore = server.cpuUs();
    const r = await runWrk({
      url: `${sc.tls ? "https" : "http"}://127.0.0.1:${server.port}${sc.path}`,
      connections: sc.connections,
      durationSec,
      script,
      core: this.pin?.clientCore ?? null,
    });
    // CPU per request is what the server itself spends: far less noisy than requests/s on a shared machine.
    const cpuAfter = server.cpuUs();
    if (cpuBefore !== null && cpuAfter !== null && r.requests > 0)
      r.serverCpuUsPerRequest = (cpuAfter - cpuBefore) / r.requests;
    return r;
  }

  private progress(sc: Scenario, kind: ServerKind, label: string, r: WrkResult): void {
    const errs = errorCount(r);
    process.stdout.write(
      `  ${sc.name.padEnd(10)} ${kind.padEnd(10)} ${label.padEnd(9)} ${Math.round(r.requestsPerSec).toLocaleString("en-US").padStart(9)} req/s` +
        `  p99 ${(r.p99Us / 1000).toFixed(2).padStart(7)} ms` +
        `${r.serverCpuUsPerRequest === null ? "" : `  cpu ${r.serverCpuUsPerRequest.toFixed(1).padStart(6)} µs/req`}${errs > 0 ? `  errors ${JSON.stringify(r.errors)}` : ""}\n`,
    );
  }

  private measurement(
    sc: Scenario,
    kind: ServerKind,
    runs: WrkResult[],
    server: IpcChild,
    fallbackRss: number,
  ): Measurement {
    const mem = server.memory();
    return {
      scenario: sc.name,
      server: kind,
      runs,
      requestsPerSec: median(runs.map((r) => r.requestsPerSec)),
      p99Us: median(runs.map((r) => r.p99Us)),
      cpuUsPerRequest: runs.every((r) => r.serverCpuUsPerRequest !== null)
        ? median(runs.map((r) => r.serverCpuUsPerRequest as number))
        : null,
      peakRssBytes: mem?.peak ?? fallbackRss,
      errors: runs.reduce((n, r) => n + errorCount(r), 0),
    };
  }

  /** All servers up at once, taking turns run by run. */
  async runScenario(sc: Scenario): Promise<void> {
    const script = writeScript(this.tmp, sc.name, sc.lua);
    const servers = new Map<ServerKind, IpcChild>();
    try {
      for (const kind of sc.servers) servers.set(kind, await this.startServer(kind, sc));
      const runs = new Map<ServerKind, WrkResult[]>(sc.servers.map((k) => [k, []]));
      if (this.opts.warmupSec > 0) {
        for (const [kind, server] of servers)
          this.progress(sc, kind, "warm-up", await this.wrk(sc, server, script, this.opts.warmupSec));
      }
      for (let run = 0; run < this.opts.runs; run++) {
        const order = [...sc.servers.slice(run % sc.servers.length), ...sc.servers.slice(0, run % sc.servers.length)];
        for (const kind of order) {
          const r = await this.wrk(sc, servers.get(kind) as IpcChild, script, this.opts.durationSec);
          this.progress(sc, kind, `run ${run + 1}/${this.opts.runs}`, r);
          (runs.get(kind) as WrkResult[]).push(r);
        }
      }
      for (const kind of sc.servers) {
        const server = servers.get(kind) as IpcChild;
        const stats = await server.stats();
        this.results.push(this.measurement(sc, kind, runs.get(kind) as WrkResult[], server, stats.rss));
      }
    } finally {
      await Promise.all([...servers.values()].map((s) => s.stop()));
    }
  }

  /** One server at a time: its idle connections, then the hello load beside them. */
  async runIdleScenario(sc: Scenario): Promise<void> {
    const script = writeScript(this.tmp, sc.name, sc.lua);
    for (const kind of sc.servers) {
      const server = await this.startServer(kind, sc);
      let clients: IpcChild | null = null;
      try {
        await sleep(300);
        const rssBefore = server.memory()?.current ?? (await server.stats()).rss;
        clients = await IpcChild.start({
          script: join(HERE, "idle-clients.js"),
          args: ["--port", String(server.port), "--count", String(sc.idleConnections)],
          core: this.pin?.clientCore ?? null,
          readyTimeoutMs: 180_000,
        });
        const opened = clients.ready as unknown as { open: number; failed: number; openingMs: number };
        await sleep(500);
        const serverStats = await server.stats();
        const rssWithIdle = server.memory()?.current ?? serverStats.rss;
        const gcStats = await server.stats(true);
        const rssAfterGc = server.memory()?.current ?? gcStats.rss;
        process.stdout.write(
          `  ${sc.name.padEnd(10)} ${kind.padEnd(10)} ${opened.open} idle connections open (${opened.failed} failed) in ${(opened.openingMs / 1000).toFixed(1)} s;` +
            ` server sees ${serverStats.extra.connections ?? "?"}; RSS ${(rssBefore / 1e6).toFixed(1)} → ${(rssWithIdle / 1e6).toFixed(1)} MB` +
            ` (${(rssAfterGc / 1e6).toFixed(1)} MB after a full GC; heap used ${(gcStats.heapUsed / 1e6).toFixed(1)} MB)\n`,
        );
        if (this.opts.warmupSec > 0)
          this.progress(sc, kind, "warm-up", await this.wrk(sc, server, script, this.opts.warmupSec));
        const runs: WrkResult[] = [];
        for (let run = 0; run < this.opts.runs; run++) {
          const r = await this.wrk(sc, server, script, this.opts.durationSec);
          this.progress(sc, kind, `run ${run + 1}/${this.opts.runs}`, r);
          runs.push(r);
        }
        const stillOpen = (await clients.stats()).extra.open ?? 0;
        const idle: IdleMeasurement = {
          requested: sc.idleConnections,
          open: Math.min(opened.open, stillOpen),
          failed: opened.failed,
          rssBefore,
          rssWithIdle,
          rssAfterGc,
          heapUsedAfterGc: gcStats.heapUsed,
          openingMs: opened.openingMs,
        };
        this.results.push({ ...this.measurement(sc, kind, runs, server, rssWithIdle), idle });
      } finally {
        await clients?.stop();
        await server.stop();
      }
    }
  }
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const tmp = mkdtempSync(join(os.tmpdir(), "eventwsgi-bench-"));
  hookExit([
    () => {
      rmSync(tmp, { recursive: true, force: true });
    },
  ]);
  ensureWrk();
  const loadBefore = loadAverage();
  const all = scenarios(opts.idleConnections).filter((s) => opts.only === null || opts.only.includes(s.name));
  const tlsFiles = all.some((s) => s.tls) ? makeCertificate(tmp) : null;
  const selected = all
    .filter((s) => !s.tls || tlsFiles !== null)
    .filter((s) => s.name !== "idle" || s.idleConnections > 0);
  const pin = pinning();
  const pinText =
    pin === null
      ? "none (fewer than 2 cores, or no taskset)"
      : `servers on core ${pin.serverCore}, wrk and clients on core ${pin.clientCore}`;
  process.stdout.write(
    `eventwsgi benchmark: ${selected.map((s) => s.name).join(", ")}; ${opts.runs} run(s) of ${opts.durationSec} s each; pinning: ${pinText}\n`,
  );

  const bench = new Bench(opts, tmp, tlsFiles);
  for (const sc of selected) {
    if (sc.idleConnections > 0) await bench.runIdleScenario(sc);
    else await bench.runScenario(sc);
  }

  const machine = machineInfo(opts.durationSec, opts.runs, pinText, wrkVersion(), loadBefore);
  const checked = targets(bench.results);
  const notes = [
    ...selected.map(
      (s) => `${s.name}: ${s.description}; ${s.connections} connections; servers: ${s.servers.join(", ")}`,
    ),
    ...idleNotes(bench.results),
    "all servers listen with backlog 511 (Node's default); eventwsgi runs with logOutput: false, maxSize raised above the idle count in the idle scenario; node:http's keepAliveTimeout is off in the idle scenario only",
  ];
  process.stdout.write(
    `\n${textTable(bench.results)}\n\ntargets:\n${textTargets(checked)}\n\n${machineLines(machine).join("\n")}\n`,
  );

  const markdown = [
    "# eventwsgi benchmark",
    "",
    ...machineLines(machine).map((l) => `- ${l}`),
    "",
    markdownTable(bench.results),
    "",
    "## Targets",
    "",
    markdownTargets(checked),
    "",
    "## Notes",
    "",
    ...notes.map((n) => `- ${n}`),
    "",
  ].join("\n");
  mkdirSync(dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, markdown);
  process.stdout.write(`\nwritten to ${opts.out}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
