/** The command line of `npm run bench` (bench/run.ts). */

import { join, resolve } from "node:path";
import { MIXED_ORDER, STYLES, scenarios, type Style } from "../scenarios.js";

export interface BenchOptions {
  durationSec: number;
  runs: number;
  warmupSec: number;
  /** Scenarios to run (null: all); applies to the fresh and the mixed runs alike. */
  only: string[] | null;
  styles: Style[];
  /** Fresh-server runs (a new server per scenario). */
  fresh: boolean;
  /** The mixed run (one server per contender through every scenario in turn). */
  mixed: boolean;
  idleConnections: number;
  out: string;
  /** Replace the table between the README's bench markers with this run's. */
  updateReadme: string | null;
}

export const USAGE = `usage: node dist/bench/run.js [--quick] [--duration SECONDS] [--runs N] [--warmup SECONDS]
                             [--only SCENARIO,...] [--styles sync,async,fetch] [--no-fresh | --no-mixed]
                             [--idle CONNECTIONS] [--out FILE] [--update-readme [README.md]]
  --quick   a run of a few minutes: --duration 2 --runs 1 --warmup 1, without tls-hello and idle
scenarios: ${scenarios(10000)
  .map((s) => s.name)
  .join(", ")} (the mixed run: ${MIXED_ORDER.join(" → ")})`;

export function parseBenchOptions(argv: string[], repo: string): BenchOptions {
  const opts: BenchOptions = {
    durationSec: 3,
    runs: 3,
    warmupSec: 1,
    only: null,
    styles: [...STYLES],
    fresh: true,
    mixed: true,
    idleConnections: 10000,
    out: join(repo, "bench/results/latest.md"),
    updateReadme: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    switch (flag) {
      case "--help":
      case "-h":
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      case "--quick":
        opts.durationSec = 2;
        opts.runs = 1;
        opts.warmupSec = 1;
        opts.only ??= scenarios(0)
          .filter((s) => !s.tls && s.name !== "idle")
          .map((s) => s.name);
        continue;
      case "--no-fresh":
        opts.fresh = false;
        continue;
      case "--no-mixed":
        opts.mixed = false;
        continue;
      case "--update-readme": {
        const next = argv[i + 1];
        opts.updateReadme =
          next !== undefined && !next.startsWith("--") ? resolve(argv[++i] as string) : join(repo, "README.md");
        continue;
      }
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
    const num = (): number => {
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} needs a non-negative number, got ${value}`);
      return n;
    };
    const list = (): string[] =>
      value
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
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
        opts.only = list();
        break;
      case "--styles":
        opts.styles = list() as Style[];
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
  for (const style of opts.styles) if (!STYLES.includes(style)) throw new Error(`unknown style ${style}\n${USAGE}`);
  if (!opts.fresh && !opts.mixed) throw new Error(`--no-fresh and --no-mixed leave nothing to run\n${USAGE}`);
  return opts;
}
