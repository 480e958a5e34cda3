/**
 * Server memory under backpressure, both ways: `npm run build && node
 * dist/bench/memory.js [--mib 256] [--rate 32] [--only a,b]`.
 *
 * The server (bench/memory-server.ts) runs in a child process; this process
 * is the clients (bench/memory-client.ts, which test/ops/backpressure.test.ts
 * uses too), on 127.0.0.1. Scenarios:
 * - fast-download: one client reads a --mib response as fast as it can (the control);
 * - slow-download: one client reads it at --rate MiB/s (pausing its socket between bursts);
 * - slow-download-tls: the same over TLS;
 * - slow-download-x4: four such clients at once, each at --rate;
 * - upload-stalled: one client POSTs --mib to an app that does not read; the client writes
 *   until its socket stops draining, stays stalled for 2 s, then the app reads and the
 *   upload completes (reported as upload-stalled and upload-released);
 * - upload-stalled-tls: the same over TLS;
 * - pipelined-unread: one client pipelines 64 POSTs of 1 MiB to an app that echoes them, and
 *   never reads a response (issue 11): the server must stop reading, its growth bounded.
 * For each: the server's RSS after a warm-up and a GC (baseline), its peak RSS, heap
 * and ArrayBuffer memory during the transfer (sampled every 10 ms in the server), and how
 * long it took. Every wait is bounded; the child is killed however this process ends.
 */

import { fork } from "node:child_process";
import { once } from "node:events";
import { within } from "../test/support/wait.js";
import { hookExit, register } from "./lib/children.js";
import { connect, download, drainedWithin, MEMORY_SERVER, MemoryServer, Upload, type Memory } from "./memory-client.js";

const MiB = 1024 * 1024;

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? (process.argv[i + 1] as string) : fallback;
}

const totalMiB = Number(option("mib", "256"));
const rateMiBps = Number(option("rate", "32"));
if (!(totalMiB > 0 && totalMiB <= 1024)) throw new Error("--mib must be in (0, 1024]");
if (!(rateMiBps > 0 && rateMiBps <= 1024)) throw new Error("--rate must be in (0, 1024] MiB/s");
const only = option("only", "")
  .split(",")
  .filter((s) => s.length > 0);
const TOTAL = Math.floor(totalMiB * MiB);
/** No scenario may take longer than this. */
const SCENARIO_MS = Math.max(60_000, (4 * TOTAL * 1000) / (rateMiBps * MiB));

/** The server in a child process of its own, killed however this process ends. */
function startServer(secure: boolean): Promise<MemoryServer> {
  const proc = fork(MEMORY_SERVER, secure ? ["--tls"] : [], {
    execArgv: ["--expose-gc"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  register(proc);
  return MemoryServer.attach(proc, 10_000);
}

interface Row {
  scenario: string;
  baseline: Memory;
  peak: Memory;
  seconds: number;
  note: string;
}

const mb = (n: number): string => (n / MiB).toFixed(1);

async function downloadScenario(name: string, secure: boolean, clients: number, rate: number): Promise<Row> {
  const srv = await startServer(secure);
  try {
    await within(10_000, "the warm-up", download(srv.port, secure, 8 * MiB, { bytesPerSecond: Infinity }));
    const baseline = await srv.baseline();
    const t0 = Date.now();
    const got = await within(
      SCENARIO_MS,
      name,
      Promise.all(Array.from({ length: clients }, () => download(srv.port, secure, TOTAL, { bytesPerSecond: rate }))),
    );
    const seconds = (Date.now() - t0) / 1000;
    const peak = await srv.call("memory");
    const bytes = got.reduce((a, b) => a + b, 0);
    const rateNote = Number.isFinite(rate) ? `read at ≤ ${mb(rate)} MiB/s each` : "read as fast as it can";
    return {
      scenario: name,
      baseline,
      peak,
      seconds,
      note: `${clients} × ${mb(TOTAL)} MiB ${secure ? "over TLS " : ""}(${mb(bytes)} MiB in all), ${rateNote}`,
    };
  } finally {
    await srv.stop();
  }
}

async function uploadScenario(secure: boolean): Promise<Row[]> {
  const srv = await startServer(secure);
  const socket = connect(srv.port, secure);
  socket.on("error", () => {});
  const suffix = secure ? "-tls" : "";
  try {
    await within(3000, "the connection", once(socket, secure ? "secureConnect" : "connect"));
    const baseline = await srv.baseline();
    const t0 = Date.now();
    socket.write(`POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: ${TOTAL}\r\n\r\n`);
    await srv.waitEvent("upload-started", 5000);
    const upload = new Upload(socket, TOTAL);
    if ((await within(SCENARIO_MS, "the writes to stall", upload.pump(500))) !== "stalled")
      throw new Error("the upload never stalled");
    // Held stalled for 2 s: memory must stay flat while the app does not read.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const stalled = await srv.call("memory");
    const stalledSeconds = (Date.now() - t0) / 1000;
    const accepted = upload.accepted;
    let text = "";
    socket.setEncoding("latin1");
    const answered = new Promise<void>((resolve) => {
      socket.on("data", (d: string) => {
        text += d;
        if (text.endsWith(`\r\n\r\n${TOTAL}`)) resolve();
      });
    });
    await srv.call("release");
    const t1 = Date.now();
    if ((await within(SCENARIO_MS, "the rest of the upload", upload.pump(30_000))) !== "done")
      throw new Error("the upload stalled after release");
    await within(30_000, "the response", answered);
    const seconds = (Date.now() - t1) / 1000;
    const done = await srv.call("memory");
    return [
      {
        scenario: `upload-stalled${suffix}`,
        baseline,
        peak: stalled,
        seconds: stalledSeconds,
        note: `app not reading: the client stalled after ${mb(accepted)} of ${mb(TOTAL)} MiB left it${secure ? " (over TLS)" : ""}; held 2 s`,
      },
      {
        scenario: `upload-released${suffix}`,
        baseline,
        peak: done,
        seconds,
        note: `then the app read: the other ${mb(TOTAL - accepted)} MiB arrived, body counted ${TOTAL}`,
      },
    ];
  } finally {
    socket.destroy();
    await srv.stop();
  }
}

async function pipelinedUnread(): Promise<Row[]> {
  const srv = await startServer(false);
  const socket = connect(srv.port, false);
  socket.on("error", () => {});
  try {
    await within(3000, "the connection", once(socket, "connect"));
    socket.pause(); // never reads
    const baseline = await srv.baseline();
    const t0 = Date.now();
    const body = Buffer.alloc(MiB, 0x61);
    const head = `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: ${MiB}\r\n\r\n`;
    let sent = 0;
    for (; sent < 64; sent++) {
      socket.write(head);
      if (!socket.write(body) && !(await drainedWithin(socket, 2000))) break;
    }
    // Held stalled for 2 s: memory must stay flat while the client does not read.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const stalled = await srv.call("memory");
    const live = await srv.call("gc");
    return [
      {
        scenario: "pipelined-unread",
        baseline,
        peak: stalled,
        seconds: (Date.now() - t0) / 1000,
        note: `64 pipelined 1 MiB echoes, responses never read: the client stalled at request ${sent + 1}; held 2 s; after a GC: RSS ${mb(live.rss)}, ArrayBuffers ${mb(live.arrayBuffers)}`,
      },
    ];
  } finally {
    socket.destroy();
    await srv.stop();
  }
}

async function main(): Promise<void> {
  hookExit();
  const rate = rateMiBps * MiB;
  const scenarios: [string, () => Promise<Row[]>][] = [
    ["fast-download", async () => [await downloadScenario("fast-download", false, 1, Infinity)]],
    ["slow-download", async () => [await downloadScenario("slow-download", false, 1, rate)]],
    ["slow-download-tls", async () => [await downloadScenario("slow-download-tls", true, 1, rate)]],
    ["slow-download-x4", async () => [await downloadScenario("slow-download-x4", false, 4, rate)]],
    ["upload-stalled", () => uploadScenario(false)],
    ["upload-stalled-tls", () => uploadScenario(true)],
    ["pipelined-unread", () => pipelinedUnread()],
  ];
  const rows: Row[] = [];
  for (const [name, run] of scenarios) {
    if (only.length > 0 && !only.includes(name)) continue;
    process.stderr.write(`${name}…\n`);
    rows.push(...(await run()));
  }
  const lines = [
    `node ${process.version}, ${mb(TOTAL)} MiB per transfer, slow readers at ${rateMiBps} MiB/s; server RSS and memory in MiB`,
    "",
    "| scenario | baseline RSS | peak RSS | growth | peak heapUsed | peak ArrayBuffers | seconds | what |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ...rows.map(
      (r) =>
        `| ${r.scenario} | ${mb(r.baseline.rss)} | ${mb(r.peak.peakRss)} | ${mb(r.peak.peakRss - r.baseline.rss)} | ${mb(r.peak.peakHeapUsed)} | ${mb(r.peak.peakArrayBuffers)} | ${r.seconds.toFixed(1)} | ${r.note} |`,
    ),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

await main();
