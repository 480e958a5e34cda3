/**
 * WebSocket benchmark: eventwsgi's WebSocketWSGI against `ws` on node:http, in the same run.
 *   - echo throughput (messages/s) for 64-byte and 16 KiB messages over 100 connections,
 *   - 1 MiB messages over 4 connections,
 *   - RSS per idle WebSocket, over 10,000 connections (after a GC).
 * Each server is a child pinned to core 0 when possible; this process is the load generator: raw
 * sockets, each keeping one message in flight (send, wait for the whole echo, send again).
 *
 *   npm run build && node dist/bench/websocket.js            # ~2 minutes
 *   node dist/bench/websocket.js --quick                     # ~30 s: shorter runs, 2,000 idle
 *   options: --duration S (default 5), --runs N (default 3), --idle N (default 10000),
 *            --only small,medium,large,idle, --cpu-prof DIR (profiles the eventwsgi server child:
 *            node dist/bench/profile-summary.js DIR/*.cpuprofile)
 */

import { spawnSync } from "node:child_process";
import net from "node:net";
import { randomBytes } from "node:crypto";
import { hookExit, IpcChild, pinning } from "./lib/children.js";

const args = process.argv.slice(2);
const flag = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const quick = args.includes("--quick");
const durationS = flag("duration", quick ? 2 : 5);
const runs = flag("runs", quick ? 1 : 3);
/** This process holds the idle clients' sockets: at most its file-descriptor limit, less a margin. */
const fdLimit = Number(spawnSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).stdout.trim()) || 1024;
const idleWanted = flag("idle", quick ? 2000 : 10000);
const idleCount = Math.min(idleWanted, fdLimit - 200);
if (idleCount < idleWanted) {
  console.log(`ulimit -n is ${fdLimit}: ${idleCount} idle connections, not ${idleWanted} (raise it: ulimit -n 65535)`);
}
const script = new URL("./websocket-server.js", import.meta.url).pathname;

hookExit();

const HANDSHAKE =
  "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/** A masked binary frame of `size` bytes, and the size of its (unmasked) echo. */
function frames(size: number): { out: Buffer; echoBytes: number } {
  const ext = size < 126 ? 0 : size < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + 4);
  head[0] = 0x82;
  head[1] = 0x80 | (ext === 0 ? size : ext === 2 ? 126 : 127);
  if (ext === 2) head.writeUInt16BE(size, 2);
  if (ext === 8) head.writeBigUInt64BE(BigInt(size), 2);
  randomBytes(4).copy(head, 2 + ext);
  return { out: Buffer.concat([head, randomBytes(size)]), echoBytes: 2 + ext + size };
}

/** Opens a WebSocket on a raw socket; resolves with it once the 101 head is in (nothing else is). */
function open(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: "127.0.0.1" });
    s.setNoDelay(true);
    let head = "";
    const onData = (d: Buffer): void => {
      head += d.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      s.removeListener("data", onData);
      if (!head.startsWith("HTTP/1.1 101")) reject(new Error(head.slice(0, 80)));
      else resolve(s);
    };
    s.on("data", onData);
    s.once("error", reject);
    s.write(HANDSHAKE);
  });
}

/**
 * Echo throughput: messages per second over `conns` connections, one in flight each, and the
 * server's CPU time per message (from /proc: steadier than throughput on a shared machine).
 */
async function echoRun(
  child: IpcChild,
  conns: number,
  size: number,
  seconds: number,
): Promise<{ rate: number; cpuUs: number }> {
  const port = child.port;
  const { out, echoBytes } = frames(size);
  const sockets = await Promise.all(Array.from({ length: conns }, () => open(port)));
  let count = 0;
  let running = true;
  for (const s of sockets) {
    let pending = 0;
    s.on("data", (d: Buffer) => {
      pending += d.length;
      while (pending >= echoBytes) {
        pending -= echoBytes;
        count++;
        if (running) s.write(out);
      }
    });
    s.write(out);
  }
  const start = process.hrtime.bigint();
  const startCount = count;
  const cpuStart = child.cpuUs() ?? NaN;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  const done = count - startCount;
  const cpu = (child.cpuUs() ?? NaN) - cpuStart;
  running = false;
  for (const s of sockets) s.destroy();
  return { rate: done / elapsed, cpuUs: cpu / done };
}

/** Server RSS growth per idle WebSocket, over `n` connections (GC'd before each reading). */
async function idleRss(child: IpcChild, n: number): Promise<number> {
  const before = await child.stats(true);
  const sockets: net.Socket[] = [];
  for (let i = 0; i < n; i += 200) {
    const batch = await Promise.all(Array.from({ length: Math.min(200, n - i) }, () => open(child.port)));
    sockets.push(...batch);
  }
  await new Promise((r) => setTimeout(r, 500));
  const afterStats = await child.stats(true);
  for (const s of sockets) s.destroy();
  console.log(
    `  ${child.ready.kind as string}: per connection rss ${((afterStats.rss - before.rss) / n / 1024).toFixed(1)} KiB, ` +
      `heap ${((afterStats.heapUsed - before.heapUsed) / n / 1024).toFixed(1)} KiB, ` +
      `external ${((afterStats.external - before.external) / n / 1024).toFixed(1)} KiB`,
  );
  return (afterStats.rss - before.rss) / n;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function main(): Promise<void> {
  const pin = pinning();
  const profDir = args.includes("--cpu-prof") ? (args[args.indexOf("--cpu-prof") + 1] ?? ".") : null;
  const start = (kind: string): Promise<IpcChild> =>
    IpcChild.start({
      script,
      args: [kind],
      nodeFlags: [
        "--expose-gc",
        ...(profDir !== null && kind === "eventwsgi" ? ["--cpu-prof", "--cpu-prof-dir", profDir] : []),
      ],
      core: pin?.serverCore ?? null,
    });
  const kinds = ["eventwsgi", "ws"] as const;
  const rows: string[] = [];
  const only = args.includes("--only") ? (args[args.indexOf("--only") + 1] ?? "").split(",") : null;
  const all: [string, string, number, number][] = [
    ["small", "echo 64 B × 100 connections", 64, 100],
    ["medium", "echo 16 KiB × 100 connections", 16 * 1024, 100],
    ["large", "echo 1 MiB × 4 connections", 1 << 20, 4],
  ];
  const scenarios = all.filter(([id]) => only === null || only.includes(id));
  for (const [, name, size, conns] of scenarios) {
    const children = { eventwsgi: await start("eventwsgi"), ws: await start("ws") };
    const results: Record<string, number[]> = { eventwsgi: [], ws: [] };
    const cpu: Record<string, number[]> = { eventwsgi: [], ws: [] };
    for (const k of kinds) await echoRun(children[k], conns, size, 1); // warm-up
    for (let r = 0; r < runs; r++) {
      const order = r % 2 === 0 ? kinds : ([...kinds].reverse() as unknown as typeof kinds);
      for (const k of order) {
        const r = await echoRun(children[k], conns, size, durationS);
        results[k]?.push(r.rate);
        cpu[k]?.push(r.cpuUs);
      }
    }
    const e = median(results.eventwsgi ?? []);
    const w = median(results.ws ?? []);
    const ec = median(cpu.eventwsgi ?? []);
    const wc = median(cpu.ws ?? []);
    rows.push(`| ${name} | ${e.toFixed(0)} msg/s | ${w.toFixed(0)} msg/s | ${(e / w).toFixed(2)}× |`);
    rows.push(
      `| ${name}: server CPU per message | ${ec.toFixed(1)} µs | ${wc.toFixed(1)} µs | ${(wc / ec).toFixed(2)}× |`,
    );
    console.log(rows.at(-1));
    await Promise.all([children.eventwsgi.stop(), children.ws.stop()]);
  }
  const idle: Record<string, number> = {};
  for (const k of only === null || only.includes("idle") ? kinds : []) {
    const child = await start(k);
    idle[k] = await idleRss(child, idleCount);
    await child.stop();
  }
  const e = idle.eventwsgi ?? NaN;
  const w = idle.ws ?? NaN;
  if (!Number.isNaN(e))
    rows.push(
      `| RSS per idle WebSocket (${idleCount}) | ${(e / 1024).toFixed(1)} KiB | ${(w / 1024).toFixed(1)} KiB | ${(e / w).toFixed(2)}× |`,
    );
  console.log(rows.at(-1));
  console.log(
    `\n| scenario | eventwsgi | ws on node:http | ratio (CPU: ws/eventwsgi) |\n| --- | --- | --- | --- |\n${rows.join("\n")}\n\n` +
      `(${runs} run(s) of ${durationS} s, medians; pinned: ${pin === null ? "no" : "yes"}; node ${process.version})`,
  );
}

await main();
process.exit(0);
