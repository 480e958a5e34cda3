/**
 * Profiles a benchmark server under load: the server child runs under
 * `node --cpu-prof`, pinned like in `npm run bench`, while wrk drives it;
 * then the child is asked to exit (which writes the profile) and the
 * profile is summarised by profile-summary.ts.
 *
 *   node dist/bench/profile.js [--duration 10] [--only hello,pipelined,...] [--top 25] [--out DIR]
 *                              [--server eventwsgi|node:http|raw-net] [--app sync|async|fetch]
 *                              [--mixed] [--trace-deopt]
 *
 * By default each scenario gets a fresh server and a profile of its own.
 * --mixed runs the listed scenarios in order on one server process (as the
 * benchmark's mixed run does): one profile for the whole sequence, and the
 * requests/s of each step, so a step slower than on a fresh server stands
 * out. --trace-deopt (and --trace-opt) writes V8's deoptimisation
 * log of the server to <name>.deopt.txt beside the profile.
 *
 * Profiles and summaries go to bench/results/profiles/ (git-ignored).
 */

import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { makeCertificate } from "./lib/cert.js";
import { IpcChild, hookExit, pinning } from "./lib/children.js";
import { ensureWrk, runWrk, writeScript } from "./lib/wrk.js";
import { summarizeFile } from "./profile-summary.js";
import {
  contenderScript,
  scenarios,
  STYLES,
  type Contender,
  type Scenario,
  type ServerKind,
  type Style,
} from "./scenarios.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, "../..");
const KINDS: ServerKind[] = ["eventwsgi", "node:http", "raw-net"];

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
}

const flag = (name: string): boolean => process.argv.includes(`--${name}`);

interface Run {
  name: string;
  steps: Scenario[];
}

async function profile(
  run: Run,
  c: Contender,
  tmp: string,
  outDir: string,
  tls: { cert: string; key: string } | null,
): Promise<void> {
  const durationSec = Math.max(1, Number(option("duration", "10")));
  const pin = pinning();
  const { script, args } = contenderScript(c);
  const name = `${run.name}.cpuprofile`;
  const deopt = flag("trace-deopt");
  const nodeFlags = ["--cpu-prof", "--cpu-prof-dir", outDir, "--cpu-prof-name", name];
  if (deopt) nodeFlags.push("--trace-deopt", "--trace-opt");
  const fd = deopt ? openSync(join(outDir, `${run.name}.deopt.txt`), "w") : undefined;
  const first = run.steps[0] as Scenario;
  const server = await IpcChild.start({
    script: join(HERE, script),
    nodeFlags,
    args: [...args, ...(first.tls && tls !== null ? ["--cert", tls.cert, "--key", tls.key] : [])],
    core: pin?.serverCore ?? null,
    stdoutFd: fd,
  });
  try {
    if (typeof server.ready.unavailable === "string") throw new Error(server.ready.unavailable);
    for (const sc of run.steps) {
      const r = await runWrk({
        url: `${sc.tls ? "https" : "http"}://127.0.0.1:${server.port}${sc.path}`,
        connections: sc.connections,
        durationSec,
        script: writeScript(tmp, sc.name, sc.lua),
        core: pin?.clientCore ?? null,
      });
      process.stdout.write(
        `${run.name} ${sc.name}: ${Math.round(r.requestsPerSec).toLocaleString("en-US")} req/s under the profiler\n`,
      );
    }
  } finally {
    await server.stop(30_000); // writing the profile takes a moment
    if (fd !== undefined) closeSync(fd);
  }
  const summary = summarizeFile(join(outDir, name), Number(option("top", "25")));
  writeFileSync(join(outDir, `${run.name}.summary.txt`), `${summary}\n`);
  process.stdout.write(`\n${summary}\n\n`);
}

async function main(): Promise<void> {
  const only = option("only", "hello,pipelined").split(",");
  const kind = option("server", "eventwsgi") as ServerKind;
  if (!KINDS.includes(kind)) throw new Error(`unknown --server ${kind}: one of ${KINDS.join(", ")}`);
  const style = option("app", "sync") as Style;
  if (!STYLES.includes(style)) throw new Error(`unknown --app ${style}: one of ${STYLES.join(", ")}`);
  const c: Contender = { kind, style: kind === "raw-net" ? null : style };
  const label = `${kind.replace(":", "-")}${c.style === null ? "" : `-${c.style}`}`;
  const outDir = resolve(option("out", join(REPO, "bench/results/profiles")));
  const tmp = mkdtempSync(join(os.tmpdir(), "eventwsgi-profile-"));
  hookExit([
    () => {
      rmSync(tmp, { recursive: true, force: true });
    },
  ]);
  ensureWrk();
  mkdirSync(outDir, { recursive: true });
  const all = scenarios(0);
  const chosen = only
    .map((n) => all.find((s) => s.name === n && s.idleConnections === 0))
    .filter((s): s is Scenario => s !== undefined);
  if (chosen.length === 0)
    throw new Error(`nothing to profile in --only ${only.join(",")} (the idle scenario is not profiled)`);
  const tls = chosen.some((s) => s.tls) ? makeCertificate(tmp) : null;
  const runs: Run[] = flag("mixed")
    ? [{ name: `${label}-mixed-${chosen.map((s) => s.name).join("-")}`, steps: chosen }]
    : chosen.map((s) => ({ name: `${label}-${s.name}`, steps: [s] }));
  for (const run of runs) {
    if (run.steps.some((s) => s.tls) && tls === null) continue;
    await profile(run, c, tmp, outDir, tls);
  }
  process.stdout.write(`profiles and summaries in ${outDir}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`profile failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
