/**
 * Profiles eventwsgi under load: for each scenario (default hello and
 * pipelined) the eventwsgi benchmark child runs under `node --cpu-prof`,
 * pinned like in `npm run bench`, while wrk drives it; then the child is
 * asked to exit (which writes the profile) and the profile is summarised
 * by profile-summary.ts.
 *
 *   node dist/bench/profile.js [--duration 10] [--only hello,pipelined,...] [--top 25] [--out DIR]
 *                              [--server eventwsgi|node:http|raw-net]
 *
 * --server profiles another benchmark server the same way, to see what
 * share of its time goes to the same Node and libuv socket code.
 *
 * Any scenario but idle can be profiled (tls-hello too).
 *
 * Profiles and summaries go to bench/results/profiles/ (git-ignored).
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { makeCertificate } from "./lib/cert.js";
import { IpcChild, hookExit, pinning } from "./lib/children.js";
import { ensureWrk, runWrk, writeScript } from "./lib/wrk.js";
import { summarizeFile } from "./profile-summary.js";
import { SERVER_SCRIPTS, scenarios, type ServerKind } from "./scenarios.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, "../..");

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
}

async function main(): Promise<void> {
  const durationSec = Math.max(1, Number(option("duration", "10")));
  const top = Number(option("top", "25"));
  const only = option("only", "hello,pipelined").split(",");
  const kind = option("server", "eventwsgi") as ServerKind;
  if (!(kind in SERVER_SCRIPTS))
    throw new Error(`unknown --server ${kind}: one of ${Object.keys(SERVER_SCRIPTS).join(", ")}`);
  const label = kind.replace(":", "-");
  const outDir = resolve(option("out", join(REPO, "bench/results/profiles")));
  const tmp = mkdtempSync(join(os.tmpdir(), "eventwsgi-profile-"));
  hookExit([
    () => {
      rmSync(tmp, { recursive: true, force: true });
    },
  ]);
  ensureWrk();
  mkdirSync(outDir, { recursive: true });
  const pin = pinning();
  const chosen = scenarios(0).filter((s) => only.includes(s.name) && s.idleConnections === 0);
  if (chosen.length === 0)
    throw new Error(`nothing to profile in --only ${only.join(",")} (the idle scenario is not profiled)`);
  const tls = chosen.some((s) => s.tls) ? makeCertificate(tmp) : null;
  for (const sc of chosen) {
    if (sc.tls && tls === null) continue;
    const name = `${label}-${sc.name}.cpuprofile`;
    const server = await IpcChild.start({
      script: join(HERE, SERVER_SCRIPTS[kind]),
      nodeFlags: ["--cpu-prof", "--cpu-prof-dir", outDir, "--cpu-prof-name", name],
      args: sc.tls && tls !== null ? ["--cert", tls.cert, "--key", tls.key] : [],
      core: pin?.serverCore ?? null,
    });
    try {
      const r = await runWrk({
        url: `${sc.tls ? "https" : "http"}://127.0.0.1:${server.port}${sc.path}`,
        connections: sc.connections,
        durationSec,
        script: writeScript(tmp, sc.name, sc.lua),
        core: pin?.clientCore ?? null,
      });
      process.stdout.write(
        `${sc.name}: ${Math.round(r.requestsPerSec).toLocaleString("en-US")} req/s under the profiler\n`,
      );
    } finally {
      await server.stop(30_000); // writing the profile takes a moment
    }
    const summary = summarizeFile(join(outDir, name), top);
    writeFileSync(join(outDir, `${label}-${sc.name}.summary.txt`), `${summary}\n`);
    process.stdout.write(`\n${summary}\n\n`);
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
