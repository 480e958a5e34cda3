/**
 * `npm run bench`: eventwsgi against node:http and a raw node:net ceiling,
 * driven by wrk (issues "eventwsgi performance" and 12).
 *
 * Every scenario runs with each app style (scenarios.ts): a synchronous app,
 * an `async` one, and a fetch-style handler once the fetch adapter exists;
 * node:http serves the same routes with the same style. Two phases:
 * - fresh: per scenario, every server is started anew (lib/runner.ts);
 * - mixed: one server process per contender goes through every scenario in
 *   sequence, each scenario's figure reported relative to its fresh one.
 * Servers run pinned to core 0, wrk to core 1. A number is the median of
 * the runs; peak RSS is the server process's VmHWM.
 *
 *   node dist/bench/run.js [--quick] [--duration 3] [--runs 3] [--warmup 1]
 *                          [--only hello,post,...] [--styles sync,async,fetch]
 *                          [--no-fresh | --no-mixed] [--idle 10000] [--out FILE]
 *                          [--update-readme [README.md]]
 *
 * Writes the tables, the targets and the machine to bench/results/latest.md;
 * --update-readme also puts the table between the README's bench markers.
 */

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseBenchOptions, type BenchOptions } from "./lib/bench-options.js";
import { makeCertificate } from "./lib/cert.js";
import { hookExit, pinning } from "./lib/children.js";
import {
  idleNotes,
  loadAverage,
  machineInfo,
  machineLines,
  markdownTargets,
  readmeTable,
  targets,
  textTable,
  textTargets,
  type MachineInfo,
} from "./lib/report.js";
import { Bench } from "./lib/runner.js";
import { ensureWrk, wrkVersion } from "./lib/wrk.js";
import { MIXED_ORDER, contenders, scenarios, type Scenario, type Style } from "./scenarios.js";

const HERE = dirname(fileURLToPath(import.meta.url)); // dist/bench
const REPO = resolve(HERE, "../..");
const README_BEGIN = "<!-- bench:begin (written by npm run bench -- --update-readme) -->";
const README_END = "<!-- bench:end -->";

function command(): string {
  return `npm run bench --${process.argv
    .slice(2)
    .map((a) => ` ${a}`)
    .join("")}`.replace(/ --$/, "");
}

/** The block the README shows between its markers. */
function readmeBlock(bench: Bench, opts: BenchOptions, machine: MachineInfo, minutes: number): string {
  const order = scenarios(0)
    .map((s) => s.name)
    .filter((n) => bench.results.some((r) => r.scenario === n && r.contender.kind === "eventwsgi"));
  return [
    README_BEGIN,
    "",
    `\`${command()}\` (${minutes.toFixed(0)} minutes), ${machine.date.slice(0, 16).replace("T", " ")} UTC: ${machine.cpu}, ${machine.cores} cores; node ${machine.node}; ${machine.pinning}; load average ${machine.loadBefore} before, ${machine.loadAfter} after; medians of ${opts.runs} run(s) of ${opts.durationSec} s.`,
    "",
    readmeTable(bench.results, order, opts.styles),
    "",
    markdownTargets(targets(bench.results)),
    "",
    README_END,
  ].join("\n");
}

function updateReadme(path: string, block: string): void {
  const text = readFileSync(path, "utf8");
  const begin = text.indexOf(README_BEGIN);
  const end = text.indexOf(README_END);
  if (begin === -1 || end < begin) throw new Error(`${path} has no bench markers (${README_BEGIN} … ${README_END})`);
  writeFileSync(path, text.slice(0, begin) + block + text.slice(end + README_END.length));
  process.stdout.write(`README table written to ${path}\n`);
}

async function main(): Promise<void> {
  const opts = parseBenchOptions(process.argv.slice(2), REPO);
  const started = Date.now();
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
      ? "no pinning (fewer than 2 cores, or no taskset)"
      : `servers on core ${pin.serverCore}, wrk on core ${pin.clientCore}`;
  const mixedOrder = MIXED_ORDER.map((n) => selected.find((s) => s.name === n)).filter(
    (s): s is Scenario => s !== undefined,
  );
  process.stdout.write(
    `eventwsgi benchmark: ${opts.fresh ? `fresh ${selected.map((s) => s.name).join(", ")}` : "no fresh runs"}; ` +
      `${opts.mixed ? `mixed ${mixedOrder.map((s) => s.name).join(" → ")}` : "no mixed run"}; ` +
      `apps ${opts.styles.join(", ")}; ${opts.runs} run(s) of ${opts.durationSec} s each; ${pinText}\n`,
  );

  const bench = new Bench(opts, HERE, tmp, tlsFiles, pin);
  const idleStyles: Style[] = opts.styles.includes("sync")
    ? ["sync"]
    : opts.styles.filter((s) => s !== "fetch").slice(0, 1);
  if (opts.fresh) {
    for (const sc of selected) {
      // Idle connections cost the same whatever the app's style: one is enough (opening 10,000 takes a while).
      if (sc.idleConnections > 0) await bench.idle(sc, contenders(idleStyles, true));
      else await bench.fresh(sc, contenders(opts.styles, true));
    }
  }
  if (opts.mixed && mixedOrder.length > 0) await bench.mixed(mixedOrder, contenders(opts.styles, false));

  const minutes = (Date.now() - started) / 60000;
  const machine = machineInfo(opts.durationSec, opts.runs, pinText, wrkVersion(), loadBefore);
  const checked = targets(bench.results);
  const notes = [
    ...selected.map(
      (s) => `${s.name}: ${s.description}; ${s.connections} connections; servers: ${s.servers.join(", ")}`,
    ),
    `mixed run: one process per server and app through ${mixedOrder.map((s) => s.name).join(" → ")}, each warmed up and run as on a fresh server`,
    ...[...bench.unavailable].map(([label, why]) => `${label} left out: ${why}`),
    ...idleNotes(bench.results),
    "all servers listen with backlog 511 (Node's default); eventwsgi runs with logOutput: false, maxSize raised above the idle count in the idle scenario; node:http's keepAliveTimeout is off in the idle scenario only",
  ];
  const block = readmeBlock(bench, opts, machine, minutes);
  process.stdout.write(
    `\n${textTable(bench.results)}\n\ntargets:\n${textTargets(checked)}\n\n${machineLines(machine).join("\n")}\n` +
      `took ${minutes.toFixed(1)} minutes (${command()})\n`,
  );
  const markdown = [
    "# eventwsgi benchmark",
    "",
    ...machineLines(machine).map((l) => `- ${l}`),
    `- ${command()}: ${minutes.toFixed(1)} minutes`,
    "",
    "## The README's table",
    "",
    block,
    "",
    "## Every measurement",
    "",
    "```",
    textTable(bench.results),
    "```",
    "",
    "## Notes",
    "",
    ...notes.map((n) => `- ${n}`),
    "",
  ].join("\n");
  mkdirSync(dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, markdown);
  process.stdout.write(`\nwritten to ${opts.out}\n`);
  if (opts.updateReadme !== null) updateReadme(opts.updateReadme, block);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
