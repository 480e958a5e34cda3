/**
 * The same Hono app on @hono/node-server and on eventwsgi (issue 14's
 * benchmark): hello, JSON, POST 64 KiB, SSE of 100 × 1 KiB events, driven by
 * wrk, servers taking turns run by run; requests/s medians and their ratio.
 *
 *   npm run build && node dist/bench/hono.js            # 3 runs of 5 s each
 *   node dist/bench/hono.js --quick                     # 1 run of 2 s: a check in under a minute
 *   node dist/bench/hono.js --runs 5 --duration 10 --only hello,json
 *
 * Goal (issue 14): ≥ 1.3× on hello and JSON, never below 1.0× on POST 64 KiB and SSE.
 */

import { fileURLToPath } from "node:url";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hookExit, IpcChild, pinning, sleep } from "./lib/children.js";
import { loadAverage, median } from "./lib/report.js";
import { ensureWrk, errorCount, runWrk, writeScript, type WrkResult } from "./lib/wrk.js";

interface HonoScenario {
  name: string;
  path: string;
  lua: string;
  connections: number;
  /** The lowest eventwsgi / @hono/node-server ratio the issue accepts. */
  goal: number;
}

const SCENARIOS: HonoScenario[] = [
  { name: "hello", path: "/", lua: "", connections: 50, goal: 1.3 },
  { name: "json", path: "/json", lua: "", connections: 50, goal: 1.3 },
  {
    name: "post-64k",
    path: "/size",
    connections: 50,
    goal: 1.0,
    lua: `wrk.method = "POST"\nwrk.body = string.rep("z", 65536)\nwrk.headers["Content-Type"] = "application/octet-stream"`,
  },
  { name: "sse", path: "/sse", lua: "", connections: 20, goal: 1.0 },
];

const SERVERS = {
  "@hono/node-server": "servers/hono-node.js",
  eventwsgi: "servers/hono-eventwsgi.js",
} as const;
type ServerName = keyof typeof SERVERS;

function options(argv: string[]): { runs: number; duration: number; warmup: number; only: string[] | null } {
  const get = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i === -1 ? undefined : argv[i + 1];
  };
  const quick = argv.includes("--quick");
  return {
    runs: Number(get("--runs") ?? (quick ? 1 : 3)),
    duration: Number(get("--duration") ?? (quick ? 2 : 5)),
    warmup: Number(get("--warmup") ?? 1),
    only: get("--only")?.split(",") ?? null,
  };
}

/** How many of eventwsgi's requests fit in the CPU time of one of node-server's. */
function cpuRatio(theirs: number, ours: number): string {
  return ours > 0 ? `${(theirs / ours).toFixed(2)}×` : "-";
}

async function main(): Promise<void> {
  ensureWrk();
  hookExit();
  const opts = options(process.argv.slice(2));
  const pin = pinning();
  const here = fileURLToPath(new URL(".", import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), "eventwsgi-hono-bench-"));
  const rows: string[] = [];
  process.stdout.write(`load before: ${loadAverage()}\n`);
  try {
    for (const sc of SCENARIOS) {
      if (opts.only !== null && !opts.only.includes(sc.name)) continue;
      const script = writeScript(dir, sc.name, sc.lua);
      const children = new Map<ServerName, IpcChild>();
      for (const [name, file] of Object.entries(SERVERS) as [ServerName, string][])
        children.set(name, await IpcChild.start({ script: join(here, file), core: pin?.serverCore ?? null }));
      const results = new Map<ServerName, WrkResult[]>([...children.keys()].map((k) => [k, []]));
      try {
        const run = async (child: IpcChild, seconds: number): Promise<WrkResult> => {
          const cpuBefore = child.cpuUs();
          const r = await runWrk({
            url: `http://127.0.0.1:${child.port}${sc.path}`,
            connections: sc.connections,
            durationSec: seconds,
            script,
            core: pin?.clientCore ?? null,
          });
          const cpuAfter = child.cpuUs();
          // CPU per request moves far less than requests/s when other work shares the machine.
          if (cpuBefore !== null && cpuAfter !== null && r.requests > 0)
            r.serverCpuUsPerRequest = (cpuAfter - cpuBefore) / r.requests;
          return r;
        };
        for (const child of children.values()) await run(child, opts.warmup);
        const order = [...children.keys()];
        for (let i = 0; i < opts.runs; i++) {
          // Rotate who goes first, so drift on a shared machine falls on both alike.
          for (let j = 0; j < order.length; j++) {
            const name = order[(i + j) % order.length] as ServerName;
            results.get(name)?.push(await run(children.get(name) as IpcChild, opts.duration));
            await sleep(200);
          }
        }
      } finally {
        for (const child of children.values()) await child.stop(2000);
      }
      const rps = (name: ServerName): number => median((results.get(name) ?? []).map((r) => r.requestsPerSec));
      const errors = (name: ServerName): number => (results.get(name) ?? []).reduce((n, r) => n + errorCount(r), 0);
      const cpu = (name: ServerName): number =>
        median((results.get(name) ?? []).map((r) => r.serverCpuUsPerRequest ?? 0));
      const theirs = rps("@hono/node-server");
      const ours = rps("eventwsgi");
      const ratio = theirs > 0 ? ours / theirs : 0;
      rows.push(
        `| ${sc.name} | ${theirs.toFixed(0)} | ${ours.toFixed(0)} | ${ratio.toFixed(2)}× | ${cpu("@hono/node-server").toFixed(1)} | ${cpu("eventwsgi").toFixed(1)} | ${cpuRatio(cpu("@hono/node-server"), cpu("eventwsgi"))} | ≥ ${sc.goal.toFixed(1)}× ${ratio >= sc.goal ? "met" : "NOT met"} | ${errors("@hono/node-server")} / ${errors("eventwsgi")} |`,
      );
      process.stdout.write(`${rows[rows.length - 1] ?? ""}\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(
    `\n${opts.runs} run(s) of ${opts.duration} s, medians; load after: ${loadAverage()}\n\n` +
      "| scenario | @hono/node-server req/s | eventwsgi req/s | ratio | node-server CPU µs/req | eventwsgi CPU µs/req | CPU ratio | goal (req/s) | errors (node / ours) |\n" +
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |\n" +
      `${rows.join("\n")}\n`,
  );
}

await main();
