/**
 * The benchmark's results: every measurement (terminal text), the README's
 * table (Markdown, one row per scenario and app style: fresh and mixed
 * figures side by side), the targets of issue 12 checked against them, and
 * the machine it ran on.
 */

import { readFileSync } from "node:fs";
import os from "node:os";
import { contenderLabel, nodeCounterpart, sameContender, type Contender, type Style } from "../scenarios.js";
import type { WrkResult } from "./wrk.js";

/** fresh: a new server for the scenario; mixed: one server through every scenario in turn. */
export type Phase = "fresh" | "mixed";

export interface Measurement {
  phase: Phase;
  scenario: string;
  contender: Contender;
  runs: WrkResult[];
  /** Median over runs. */
  requestsPerSec: number;
  /** Median over runs, microseconds. */
  p99Us: number;
  /** Median over runs of the server's CPU time (user + system) per request, microseconds; null without /proc. */
  cpuUsPerRequest: number | null;
  /** Median over runs of the server's minor page faults per request; null without /proc. */
  faultsPerRequest: number | null;
  /** VmHWM of the server process over the scenario (warm-up included), bytes. */
  peakRssBytes: number | null;
  /** wrk's errors (connect, read, write, timeout, non-2xx/3xx) over all runs. */
  errors: number;
  idle?: IdleMeasurement;
}

export interface IdleMeasurement {
  requested: number;
  open: number;
  failed: number;
  /** VmRSS before the idle connections were opened, bytes. */
  rssBefore: number;
  /** VmRSS with them open (before the hello load), bytes. */
  rssWithIdle: number;
  /** VmRSS with them open, just after a full GC (global.gc in the server), bytes. */
  rssAfterGc: number;
  heapUsedAfterGc: number;
  openingMs: number;
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  node: string;
  wrk: string;
  kernel: string;
  date: string;
  pinning: string;
  loadBefore: string;
  loadAfter: string;
  durationSec: number;
  runs: number;
}

export function median(values: number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export function machineInfo(
  durationSec: number,
  runs: number,
  pinning: string,
  wrk: string,
  loadBefore: string,
): MachineInfo {
  let cpu = os.cpus()[0]?.model ?? "unknown";
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (m !== null) cpu = (m[1] as string).trim();
  } catch {
    // not Linux: os.cpus() it is
  }
  return {
    cpu,
    cores: os.availableParallelism(),
    node: process.version,
    wrk,
    kernel: `${os.type()} ${os.release()}`,
    date: new Date().toISOString(),
    pinning,
    loadBefore,
    loadAfter: loadAverage(),
    durationSec,
    runs,
  };
}

export function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
}

const mb = (bytes: number | null): string => (bytes === null ? "n/a" : `${(bytes / 1e6).toFixed(1)} MB`);
const ms = (us: number): string => `${(us / 1000).toFixed(2)} ms`;
const rps = (n: number): string => Math.round(n).toLocaleString("en-US");
const times = (r: number | null): string => (r === null ? "—" : `${r.toFixed(2)}x`);
const percent = (r: number | null): string => (r === null ? "—" : `${(r * 100).toFixed(0)}%`);
const us = (m: Measurement | undefined): string =>
  m?.cpuUsPerRequest === null || m?.cpuUsPerRequest === undefined ? "n/a" : m.cpuUsPerRequest.toFixed(1);

const RAW: Contender = { kind: "raw-net", style: null };

export function find(results: Measurement[], phase: Phase, scenario: string, c: Contender): Measurement | undefined {
  return results.find((r) => r.phase === phase && r.scenario === scenario && sameContender(r.contender, c));
}

function ratio(a: number | undefined, b: number | undefined): number | null {
  return a === undefined || b === undefined || b === 0 ? null : a / b;
}

/** eventwsgi with this style over node:http with the same style (async for fetch), requests/s. */
export function vsNode(results: Measurement[], phase: Phase, scenario: string, style: Style): number | null {
  return ratio(
    find(results, phase, scenario, { kind: "eventwsgi", style })?.requestsPerSec,
    find(results, phase, scenario, nodeCounterpart(style))?.requestsPerSec,
  );
}

/** A contender's mixed-run figure over its fresh one. */
export function mixedOverFresh(results: Measurement[], scenario: string, c: Contender): number | null {
  return ratio(
    find(results, "mixed", scenario, c)?.requestsPerSec,
    find(results, "fresh", scenario, c)?.requestsPerSec,
  );
}

// ---- every measurement, for the terminal ----

const HEADER = [
  "phase",
  "scenario",
  "server/app",
  "requests/s",
  "p99",
  "CPU/req",
  "faults/req",
  "peak RSS",
  "x node:http",
  "% of raw",
  "mixed/fresh",
  "errors",
];

function rows(results: Measurement[]): string[][] {
  return results.map((r) => {
    const c = r.contender;
    const node = c.kind === "eventwsgi" && c.style !== null ? vsNode(results, r.phase, r.scenario, c.style) : null;
    const raw =
      c.kind !== "raw-net" ? ratio(r.requestsPerSec, find(results, "fresh", r.scenario, RAW)?.requestsPerSec) : null;
    return [
      r.phase,
      r.scenario,
      contenderLabel(c),
      rps(r.requestsPerSec),
      ms(r.p99Us),
      r.cpuUsPerRequest === null ? "n/a" : `${r.cpuUsPerRequest.toFixed(1)} µs`,
      r.faultsPerRequest === null ? "n/a" : r.faultsPerRequest.toFixed(2),
      r.idle !== undefined ? `${mb(r.idle.rssWithIdle)} (idle)` : mb(r.peakRssBytes),
      node === null ? "" : times(node),
      raw === null ? "" : percent(raw),
      r.phase === "mixed" ? times(mixedOverFresh(results, r.scenario, c)) : "",
      String(r.errors),
    ];
  });
}

export function textTable(results: Measurement[]): string {
  const all = [HEADER, ...rows(results)];
  const widths = HEADER.map((_, c) => Math.max(...all.map((row) => (row[c] ?? "").length)));
  const line = (row: string[]): string =>
    row.map((cell, c) => (c >= 3 ? cell.padStart(widths[c] as number) : cell.padEnd(widths[c] as number))).join("  ");
  const sep = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(HEADER), sep, ...all.slice(1).map(line)].join("\n");
}

// ---- the README's table ----

/**
 * One row per scenario and app style that eventwsgi ran: requests/s of
 * eventwsgi and node:http (same style; async for fetch) on fresh servers
 * and in the mixed run, their ratios, what the mixed run kept of the fresh
 * figure, and CPU time per request (mixed, else fresh).
 */
export function readmeTable(results: Measurement[], scenarioOrder: string[], styles: Style[]): string {
  const out = [
    "| scenario | app | eventwsgi fresh | node:http fresh | ratio | eventwsgi mixed | node:http mixed | ratio | eventwsgi mixed / fresh | CPU/req eventwsgi · node:http |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  for (const scenario of scenarioOrder) {
    for (const style of styles) {
      const ew: Contender = { kind: "eventwsgi", style };
      const node = nodeCounterpart(style);
      const ef = find(results, "fresh", scenario, ew);
      const em = find(results, "mixed", scenario, ew);
      if (ef === undefined && em === undefined) continue;
      const nf = find(results, "fresh", scenario, node);
      const nm = find(results, "mixed", scenario, node);
      const cell = (m: Measurement | undefined): string => (m === undefined ? "—" : rps(m.requestsPerSec));
      out.push(
        `| ${scenario} | ${style} | ${cell(ef)} | ${cell(nf)} | ${times(vsNode(results, "fresh", scenario, style))} | ` +
          `${cell(em)} | ${cell(nm)} | ${times(vsNode(results, "mixed", scenario, style))} | ` +
          `${percent(mixedOverFresh(results, scenario, ew))} | ${us(em ?? ef)} · ${us(em === undefined ? nf : nm)} µs |`,
      );
    }
  }
  return out.join("\n");
}

// ---- the targets of issue 12 ----

export interface Target {
  what: string;
  goal: string;
  measured: string;
  met: boolean | null;
}

/** The phase targets are judged on: the mixed run when there is one (as the issue asks), else fresh. */
function judgedPhase(results: Measurement[]): Phase {
  return results.some((r) => r.phase === "mixed") ? "mixed" : "fresh";
}

function ratioTarget(results: Measurement[], scenario: string, style: Style, goal: number): Target {
  const phase = judgedPhase(results);
  const r = vsNode(results, phase, scenario, style);
  return {
    what: `${scenario}, ${style} app, ${phase}: eventwsgi / node:http`,
    goal: `≥ ${goal.toFixed(2)}x`,
    measured: r === null ? "not run" : times(r),
    met: r === null ? null : r >= goal,
  };
}

export function targets(results: Measurement[]): Target[] {
  const list: Target[] = [
    ratioTarget(results, "hello", "async", 1.5),
    ratioTarget(results, "pipelined", "async", 4),
    ratioTarget(results, "big", "async", 1.0),
    ratioTarget(results, "post", "async", 1.5),
    ratioTarget(results, "churn", "async", 1.25),
  ];
  const ewRss = find(results, "fresh", "hello", { kind: "eventwsgi", style: "async" })?.peakRssBytes ?? null;
  const nodeRss = find(results, "fresh", "hello", { kind: "node:http", style: "async" })?.peakRssBytes ?? null;
  list.push({
    what: "hello, async app, fresh: peak RSS eventwsgi vs node:http",
    goal: "≤ node:http",
    measured: ewRss === null || nodeRss === null ? "not run" : `${mb(ewRss)} vs ${mb(nodeRss)}`,
    met: ewRss === null || nodeRss === null ? null : ewRss <= nodeRss,
  });
  // No scenario may lose more than 10% between a fresh server and the mixed run.
  const losses = results
    .filter((r) => r.phase === "mixed" && r.contender.kind === "eventwsgi")
    .map((r) => ({ r, kept: mixedOverFresh(results, r.scenario, r.contender) }))
    .filter((x): x is { r: Measurement; kept: number } => x.kept !== null)
    .sort((a, b) => a.kept - b.kept);
  const worst = losses[0];
  list.push({
    what: "eventwsgi, every scenario and app: mixed / fresh",
    goal: "≥ 90%",
    measured:
      worst === undefined
        ? "not run"
        : `worst ${percent(worst.kept)} (${worst.r.scenario}, ${worst.r.contender.style ?? ""}); ${losses.filter((x) => x.kept < 0.9).length} below`,
    met: worst === undefined ? null : worst.kept >= 0.9,
  });
  const ceiling = ratio(
    find(results, "fresh", "hello", { kind: "eventwsgi", style: "sync" })?.requestsPerSec,
    find(results, "fresh", "hello", RAW)?.requestsPerSec,
  );
  list.push({
    what: "(earlier) hello, sync app, fresh: eventwsgi / raw-net ceiling",
    goal: "≥ 80%",
    measured: ceiling === null ? "not run" : percent(ceiling),
    met: ceiling === null ? null : ceiling >= 0.8,
  });
  const idle = find(results, "fresh", "idle", { kind: "eventwsgi", style: "sync" })?.idle;
  list.push({
    what: `(earlier) idle: eventwsgi RSS with ${idle?.requested ?? 10000} idle connections`,
    goal: "< 100 MB",
    measured: idle === undefined ? "not run" : `${mb(idle.rssWithIdle)} (${idle.open} open)`,
    met: idle === undefined ? null : idle.rssWithIdle < 100e6 && idle.open === idle.requested,
  });
  return list;
}

const verdict = (t: Target): string => (t.met === null ? "—" : t.met ? "met" : "MISSED");

export function textTargets(list: Target[]): string {
  const w = Math.max(...list.map((t) => t.what.length));
  return list
    .map((t) => `${t.what.padEnd(w)}  ${t.goal.padEnd(12)}  ${t.measured.padEnd(28)}  ${verdict(t)}`)
    .join("\n");
}

export function markdownTargets(list: Target[]): string {
  return [
    "| target | goal | measured | |",
    "| --- | --- | --- | --- |",
    ...list.map((t) => `| ${t.what} | ${t.goal} | ${t.measured} | ${verdict(t)} |`),
  ].join("\n");
}

export function idleNotes(results: Measurement[]): string[] {
  const notes: string[] = [];
  for (const r of results) {
    if (r.idle === undefined) continue;
    const i = r.idle;
    const perConn = i.open > 0 ? (i.rssWithIdle - i.rssBefore) / i.open / 1024 : 0;
    notes.push(
      `idle, ${contenderLabel(r.contender)}: ${i.open}/${i.requested} connections open (${i.failed} failed, opened in ${(i.openingMs / 1000).toFixed(1)} s); ` +
        `RSS ${mb(i.rssBefore)} before, ${mb(i.rssWithIdle)} with them open (${perConn.toFixed(1)} KiB per connection), ` +
        `${mb(i.rssAfterGc)} after a full GC (heap used ${mb(i.heapUsedAfterGc)}); peak over the scenario, hello load included, ${mb(r.peakRssBytes)}`,
    );
  }
  return notes;
}

export function machineLines(m: MachineInfo): string[] {
  return [
    `CPU: ${m.cpu}, ${m.cores} cores; ${m.kernel}`,
    `node ${m.node}; ${m.wrk}`,
    `date: ${m.date}`,
    `pinning: ${m.pinning}`,
    `load average (1/5/15 min): ${m.loadBefore} before, ${m.loadAfter} after`,
    `each number: the median of ${m.runs} run(s) of ${m.durationSec} s (after a warm-up); wrk -t1`,
  ];
}
