/**
 * The benchmark's results: the table (terminal text and Markdown), the
 * targets of issue "eventwsgi performance" checked against it, and the
 * machine it ran on.
 */

import { readFileSync } from "node:fs";
import os from "node:os";
import type { ServerKind } from "../scenarios.js";
import type { WrkResult } from "./wrk.js";

export interface Measurement {
  scenario: string;
  server: ServerKind;
  runs: WrkResult[];
  /** Median over runs. */
  requestsPerSec: number;
  /** Median over runs, microseconds. */
  p99Us: number;
  /** Median over runs of the server's CPU time (user + system) per request, microseconds; null without /proc. */
  cpuUsPerRequest: number | null;
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

function find(results: Measurement[], scenario: string, server: ServerKind): Measurement | undefined {
  return results.find((r) => r.scenario === scenario && r.server === server);
}

function ratio(a: number | undefined, b: number | undefined): number | null {
  return a === undefined || b === undefined || b === 0 ? null : a / b;
}

/** One row per scenario and server. */
function rows(results: Measurement[]): string[][] {
  const out: string[][] = [];
  for (const r of results) {
    const node = find(results, r.scenario, "node:http");
    const raw = find(results, r.scenario, "raw-net");
    const vsNode = r.server === "eventwsgi" ? ratio(r.requestsPerSec, node?.requestsPerSec) : null;
    const ofRaw = r.server !== "raw-net" ? ratio(r.requestsPerSec, raw?.requestsPerSec) : null;
    const rss = r.idle !== undefined ? `${mb(r.idle.rssWithIdle)} (idle)` : mb(r.peakRssBytes);
    out.push([
      r.scenario,
      r.server,
      rps(r.requestsPerSec),
      ms(r.p99Us),
      r.cpuUsPerRequest === null ? "n/a" : `${r.cpuUsPerRequest.toFixed(1)} µs`,
      rss,
      vsNode === null ? "" : `${vsNode.toFixed(2)}x`,
      ofRaw === null ? "" : `${(ofRaw * 100).toFixed(0)}%`,
      r.errors === 0 ? "0" : String(r.errors),
    ]);
  }
  return out;
}

const HEADER = [
  "scenario",
  "server",
  "requests/s",
  "p99",
  "CPU/req",
  "peak RSS",
  "eventwsgi/node",
  "% of raw",
  "errors",
];

export function textTable(results: Measurement[]): string {
  const all = [HEADER, ...rows(results)];
  const widths = HEADER.map((_, c) => Math.max(...all.map((row) => (row[c] ?? "").length)));
  const line = (row: string[]): string =>
    row.map((cell, c) => (c >= 2 ? cell.padStart(widths[c] as number) : cell.padEnd(widths[c] as number))).join("  ");
  const sep = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(HEADER), sep, ...all.slice(1).map(line)].join("\n");
}

export function markdownTable(results: Measurement[]): string {
  const md = (row: string[]): string => `| ${row.join(" | ")} |`;
  const align = HEADER.map((_, c) => (c >= 2 ? "---:" : "---"));
  return [md(HEADER), md(align), ...rows(results).map(md)].join("\n");
}

interface Target {
  what: string;
  goal: string;
  measured: string;
  met: boolean | null;
}

function ratioTarget(results: Measurement[], scenario: string, goal: number): Target {
  const r = ratio(
    find(results, scenario, "eventwsgi")?.requestsPerSec,
    find(results, scenario, "node:http")?.requestsPerSec,
  );
  return {
    what: `${scenario}: eventwsgi / node:http requests/s`,
    goal: `≥ ${goal.toFixed(1)}x`,
    measured: r === null ? "not run" : `${r.toFixed(2)}x`,
    met: r === null ? null : r >= goal,
  };
}

export function targets(results: Measurement[]): Target[] {
  const list: Target[] = [
    ratioTarget(results, "hello", 1.5),
    ratioTarget(results, "pipelined", 4),
    ratioTarget(results, "big", 1.0),
    ratioTarget(results, "post", 1.6),
    ratioTarget(results, "churn", 1.6),
    ratioTarget(results, "stream", 1.5),
    ratioTarget(results, "tls-hello", 1.2),
  ];
  const ceiling = ratio(
    find(results, "hello", "eventwsgi")?.requestsPerSec,
    find(results, "hello", "raw-net")?.requestsPerSec,
  );
  list.push({
    what: "hello: eventwsgi / raw-net ceiling",
    goal: "≥ 80%",
    measured: ceiling === null ? "not run" : `${(ceiling * 100).toFixed(0)}%`,
    met: ceiling === null ? null : ceiling >= 0.8,
  });
  const ewRss = find(results, "hello", "eventwsgi")?.peakRssBytes ?? null;
  const nodeRss = find(results, "hello", "node:http")?.peakRssBytes ?? null;
  list.push({
    what: "hello: peak RSS, eventwsgi vs node:http",
    goal: "≤ node:http",
    measured: ewRss === null || nodeRss === null ? "not run" : `${mb(ewRss)} vs ${mb(nodeRss)}`,
    met: ewRss === null || nodeRss === null ? null : ewRss <= nodeRss,
  });
  const idle = find(results, "idle", "eventwsgi")?.idle;
  list.push({
    what: `idle: eventwsgi RSS with ${idle?.requested ?? 10000} idle connections`,
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
    .map((t) => `${t.what.padEnd(w)}  ${t.goal.padEnd(12)}  ${t.measured.padEnd(24)}  ${verdict(t)}`)
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
      `idle, ${r.server}: ${i.open}/${i.requested} connections open (${i.failed} failed, opened in ${(i.openingMs / 1000).toFixed(1)} s); ` +
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
