/**
 * Runs the scenarios against the contenders and collects the measurements.
 *
 * Fresh: for each scenario, every contender is started anew, warmed up with
 * the scenario's own load, then the contenders take turns, run by run (the
 * order rotating), so slow drift on a shared machine falls on all alike.
 *
 * Mixed: one server process per contender goes through every scenario in
 * sequence (MIXED_ORDER), measured the same way (warm-up, runs taking
 * turns): what a process serving all kinds of traffic does with each kind,
 * after the others have run on it. Comparing a scenario's mixed figure with
 * its fresh one shows what history costs (a deoptimisation, a state left
 * behind, a grown heap).
 */

import { join } from "node:path";
import { IpcChild, sleep } from "./children.js";
import { median, type IdleMeasurement, type Measurement, type Phase } from "./report.js";
import { errorCount, runWrk, writeScript, type WrkResult } from "./wrk.js";
import type { BenchOptions } from "./bench-options.js";
import { contenderLabel, contenderScript, type Contender, type Scenario } from "../scenarios.js";

type Running = [Contender, IpcChild];

export class Bench {
  readonly results: Measurement[] = [];
  /** Contenders that could not run here (the fetch adapter not built yet), with why. */
  readonly unavailable = new Map<string, string>();

  constructor(
    private readonly opts: BenchOptions,
    private readonly here: string,
    private readonly tmp: string,
    private readonly tlsFiles: { cert: string; key: string } | null,
    private readonly pin: { serverCore: number; clientCore: number } | null,
  ) {}

  private serverArgs(sc: Scenario | null): string[] {
    const args: string[] = [];
    if (sc?.tls === true && this.tlsFiles !== null) args.push("--cert", this.tlsFiles.cert, "--key", this.tlsFiles.key);
    if (sc !== null && sc.idleConnections > 0) args.push("--max-connections", String(sc.idleConnections + 1024));
    return args;
  }

  /** Starts a contender's server; null (and noted in `unavailable`) when it cannot run here. */
  private async startServer(c: Contender, sc: Scenario | null): Promise<IpcChild | null> {
    const label = contenderLabel(c);
    if (this.unavailable.has(label)) return null;
    const { script, args } = contenderScript(c);
    const child = await IpcChild.start({
      script: join(this.here, script),
      args: [...args, ...this.serverArgs(sc)],
      // --expose-gc only lets the idle scenario also measure RSS after a full GC; it changes nothing else.
      nodeFlags: ["--expose-gc"],
      core: this.pin?.serverCore ?? null,
    });
    const why = child.ready.unavailable;
    if (typeof why === "string") {
      this.unavailable.set(label, why);
      process.stdout.write(`  ${label} left out: ${why}\n`);
      await child.stop();
      return null;
    }
    return child;
  }

  private async startAll(list: Contender[], sc: Scenario | null): Promise<Running[]> {
    const running: Running[] = [];
    try {
      for (const c of list) {
        const child = await this.startServer(c, sc);
        if (child !== null) running.push([c, child]);
      }
    } catch (err) {
      await stopAll(running);
      throw err;
    }
    return running;
  }

  private async wrk(sc: Scenario, server: IpcChild, script: string, durationSec: number): Promise<WrkResult> {
    const cpuBefore = server.cpuUs();
    const faultsBefore = server.minorFaults();
    const r = await runWrk({
      url: `${sc.tls ? "https" : "http"}://127.0.0.1:${server.port}${sc.path}`,
      connections: sc.connections,
      durationSec,
      script,
      core: this.pin?.clientCore ?? null,
    });
    // CPU per request is what the server itself spends: far less noisy than requests/s on a shared machine.
    const cpuAfter = server.cpuUs();
    const faultsAfter = server.minorFaults();
    if (faultsBefore !== null && faultsAfter !== null && r.requests > 0)
      r.serverFaultsPerRequest = (faultsAfter - faultsBefore) / r.requests;
    if (cpuBefore !== null && cpuAfter !== null && r.requests > 0)
      r.serverCpuUsPerRequest = (cpuAfter - cpuBefore) / r.requests;
    return r;
  }

  private progress(phase: Phase, sc: Scenario, c: Contender, label: string, r: WrkResult): void {
    const errs = errorCount(r);
    const cpu =
      r.serverCpuUsPerRequest === null ? "" : `  cpu ${r.serverCpuUsPerRequest.toFixed(1).padStart(6)} µs/req`;
    const faults = r.serverFaultsPerRequest === null ? "" : `  ${r.serverFaultsPerRequest.toFixed(2)} faults/req`;
    process.stdout.write(
      `  ${phase.padEnd(5)} ${sc.name.padEnd(10)} ${contenderLabel(c).padEnd(16)} ${label.padEnd(9)} ${Math.round(r.requestsPerSec).toLocaleString("en-US").padStart(9)} req/s` +
        `  p99 ${(r.p99Us / 1000).toFixed(2).padStart(7)} ms${cpu}${faults}${errs > 0 ? `  errors ${JSON.stringify(r.errors)}` : ""}\n`,
    );
  }

  private measurement(
    phase: Phase,
    sc: Scenario,
    c: Contender,
    runs: WrkResult[],
    server: IpcChild,
    fallbackRss: number,
  ): Measurement {
    return {
      phase,
      scenario: sc.name,
      contender: c,
      runs,
      requestsPerSec: median(runs.map((r) => r.requestsPerSec)),
      p99Us: median(runs.map((r) => r.p99Us)),
      cpuUsPerRequest: runs.every((r) => r.serverCpuUsPerRequest !== null)
        ? median(runs.map((r) => r.serverCpuUsPerRequest as number))
        : null,
      faultsPerRequest: runs.every((r) => r.serverFaultsPerRequest !== null)
        ? median(runs.map((r) => r.serverFaultsPerRequest as number))
        : null,
      peakRssBytes: server.memory()?.peak ?? fallbackRss,
      errors: runs.reduce((n, r) => n + errorCount(r), 0),
    };
  }

  /** The running servers take turns on one scenario, run by run; one measurement each. */
  private async measure(phase: Phase, sc: Scenario, running: Running[]): Promise<void> {
    const script = writeScript(this.tmp, sc.name, sc.lua);
    const runs = running.map((): WrkResult[] => []);
    if (this.opts.warmupSec > 0) {
      for (const [c, server] of running)
        this.progress(phase, sc, c, "warm-up", await this.wrk(sc, server, script, this.opts.warmupSec));
    }
    for (let run = 0; run < this.opts.runs; run++) {
      for (let k = 0; k < running.length; k++) {
        const i = (k + run) % running.length;
        const [c, server] = running[i] as Running;
        const r = await this.wrk(sc, server, script, this.opts.durationSec);
        this.progress(phase, sc, c, `run ${run + 1}/${this.opts.runs}`, r);
        (runs[i] as WrkResult[]).push(r);
      }
    }
    for (let i = 0; i < running.length; i++) {
      const [c, server] = running[i] as Running;
      const stats = await server.stats();
      this.results.push(this.measurement(phase, sc, c, runs[i] as WrkResult[], server, stats.rss));
    }
  }

  /** Every contender started anew for this scenario. */
  async fresh(sc: Scenario, list: Contender[]): Promise<void> {
    const running = await this.startAll(
      list.filter((c) => sc.servers.includes(c.kind)),
      sc,
    );
    try {
      await this.measure("fresh", sc, running);
    } finally {
      await stopAll(running);
    }
  }

  /** One process per contender through every scenario, in order. */
  async mixed(order: Scenario[], list: Contender[]): Promise<void> {
    const running = await this.startAll(list, null);
    try {
      for (const sc of order) await this.measure("mixed", sc, running);
    } finally {
      await stopAll(running);
    }
  }

  /** One server at a time: its idle connections, then the hello load beside them. */
  async idle(sc: Scenario, list: Contender[]): Promise<void> {
    const script = writeScript(this.tmp, sc.name, sc.lua);
    for (const c of list.filter((x) => sc.servers.includes(x.kind))) {
      const server = await this.startServer(c, sc);
      if (server === null) continue;
      let clients: IpcChild | null = null;
      try {
        await sleep(300);
        const rssBefore = server.memory()?.current ?? (await server.stats()).rss;
        clients = await IpcChild.start({
          script: join(this.here, "idle-clients.js"),
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
          `  fresh ${sc.name.padEnd(10)} ${contenderLabel(c).padEnd(16)} ${opened.open} idle connections open (${opened.failed} failed) in ${(opened.openingMs / 1000).toFixed(1)} s;` +
            ` server sees ${serverStats.extra.connections ?? "?"}; RSS ${(rssBefore / 1e6).toFixed(1)} → ${(rssWithIdle / 1e6).toFixed(1)} MB` +
            ` (${(rssAfterGc / 1e6).toFixed(1)} MB after a full GC; heap used ${(gcStats.heapUsed / 1e6).toFixed(1)} MB)\n`,
        );
        if (this.opts.warmupSec > 0)
          this.progress("fresh", sc, c, "warm-up", await this.wrk(sc, server, script, this.opts.warmupSec));
        const runs: WrkResult[] = [];
        for (let run = 0; run < this.opts.runs; run++) {
          const r = await this.wrk(sc, server, script, this.opts.durationSec);
          this.progress("fresh", sc, c, `run ${run + 1}/${this.opts.runs}`, r);
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
        this.results.push({ ...this.measurement("fresh", sc, c, runs, server, rssWithIdle), idle });
      } finally {
        await clients?.stop();
        await server.stop();
      }
    }
  }
}

async function stopAll(running: Running[]): Promise<void> {
  await Promise.all(running.map(([, s]) => s.stop()));
}
