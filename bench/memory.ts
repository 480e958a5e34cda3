/**
 * Server memory under backpressure, both ways: `npm run build && node
 * dist/bench/memory.js [--mib 256] [--rate 32] [--only a,b]`.
 *
 * The server (bench/memory-server.ts) runs in a child process; this process
 * is the clients, on 127.0.0.1. Scenarios:
 * - fast-download: one client reads a --mib response as fast as it can (the control);
 * - slow-download: one client reads it at --rate MiB/s (pausing its socket between bursts);
 * - slow-download-tls: the same over TLS;
 * - slow-download-x4: four such clients at once, each at --rate;
 * - upload-stalled: one client POSTs --mib to an app that does not read; the client writes
 *   until its socket stops draining, stays stalled for 2 s, then the app reads and the
 *   upload completes (reported as upload-stalled and upload-released);
 * - upload-stalled-tls: the same over TLS.
 * For each: the server's RSS after a warm-up and a GC (baseline), its peak RSS, heap
 * and ArrayBuffer memory during the transfer (sampled every 10 ms in the server), and how
 * long it took. Every wait is bounded; the child is killed however this process ends.
 */

import { fork, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import net from "node:net";
import { dirname, join } from "node:path";
import tls from "node:tls";
import { fileURLToPath } from "node:url";
import { hookExit, register } from "./lib/children.js";
import type { Memory } from "./memory-server.js";

const MiB = 1024 * 1024;
const here = dirname(fileURLToPath(import.meta.url));
const CA = readFileSync(join(here, "..", "..", "test", "fixtures", "cert.pem"), "latin1");

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? (process.argv[i + 1] as string) : fallback;
}

const totalMiB = Number(option("mib", "256"));
const rateMiBps = Number(option("rate", "32"));
if (!(totalMiB > 0 && totalMiB <= 1024)) throw new Error("--mib must be in (0, 1024]");
if (!(rateMiBps > 0 && rateMiBps <= 1024)) throw new Error("--rate must be in (0, 1024] MiB/s");
const only = option("only", "").split(",").filter((s) => s.length > 0);
const TOTAL = Math.floor(totalMiB * MiB);
/** No scenario may take longer than this. */
const SCENARIO_MS = Math.max(60_000, (4 * TOTAL * 1000) / (rateMiBps * MiB));

function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

class MemoryServer {
  private nextId = 1;
  private readonly replies = new Map<number, (m: Memory) => void>();
  private readonly events = new Set<string>();
  private readonly eventWaiters = new Set<() => void>();

  private constructor(
    readonly proc: ChildProcess,
    readonly port: number,
  ) {
    proc.on("message", (m: Partial<Memory> & { id?: number; event?: string }) => {
      if (m.id !== undefined) {
        this.replies.get(m.id)?.(m as Memory);
        this.replies.delete(m.id);
      } else if (m.event !== undefined) {
        this.events.add(m.event);
        for (const w of [...this.eventWaiters]) w();
      }
    });
  }

  static async start(secure: boolean): Promise<MemoryServer> {
    const proc = fork(join(here, "memory-server.js"), secure ? ["--tls"] : [], { execArgv: ["--expose-gc"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    register(proc);
    const [msg] = (await within(10_000, "the server to listen", once(proc, "message"))) as [{ port: number }];
    return new MemoryServer(proc, msg.port);
  }

  call(cmd: "memory" | "resetPeak" | "release" | "gc"): Promise<Memory> {
    const id = this.nextId++;
    const reply = new Promise<Memory>((resolve) => this.replies.set(id, resolve));
    this.proc.send({ id, cmd });
    return within(5000, `the server's reply to ${cmd}`, reply);
  }

  waitEvent(name: string, ms: number): Promise<void> {
    let waiter!: () => void;
    const p = new Promise<void>((resolve) => {
      waiter = () => {
        if (this.events.has(name)) resolve();
      };
      this.eventWaiters.add(waiter);
      waiter();
    });
    return within(ms, `the server's ${name} event`, p).finally(() => this.eventWaiters.delete(waiter));
  }

  /** A baseline: garbage collected, peaks reset. */
  async baseline(): Promise<Memory> {
    await this.call("gc");
    return this.call("resetPeak");
  }

  async stop(): Promise<void> {
    if (this.proc.connected) this.proc.disconnect();
    const exited = once(this.proc, "exit");
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    await within(3000, "the server to exit", exited).catch(() => {
      this.proc.kill("SIGKILL");
    });
  }
}

function connect(port: number, secure: boolean): net.Socket {
  return secure ? tls.connect({ host: "127.0.0.1", port, ca: CA, servername: "localhost" }) : net.connect({ host: "127.0.0.1", port });
}

/**
 * GETs /big?total and reads the body at `rate` bytes/s at most (Infinity: as
 * fast as it can): whenever it is ahead of the rate it pauses its socket
 * until it is not. Resolves with the body's length.
 */
function download(port: number, secure: boolean, total: number, rate: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, secure);
    let head = Buffer.alloc(0);
    let body = -1;
    let t0 = 0;
    socket.on("error", reject);
    socket.on("close", () => reject(new Error(`closed after ${body} body bytes`)));
    socket.once(secure ? "secureConnect" : "connect", () => {
      t0 = Date.now();
      socket.write(`GET /big?${total} HTTP/1.1\r\nHost: x\r\n\r\n`);
    });
    socket.on("data", (d: Buffer) => {
      if (body < 0) {
        head = Buffer.concat([head, d]);
        const end = head.indexOf("\r\n\r\n");
        if (end === -1) return;
        if (!head.subarray(0, 13).toString("latin1").startsWith("HTTP/1.1 200 ")) reject(new Error(head.toString("latin1", 0, end)));
        body = head.length - end - 4;
      } else {
        body += d.length;
      }
      if (body >= total) {
        socket.removeAllListeners("close");
        socket.destroy();
        resolve(body);
        return;
      }
      const aheadMs = (body / rate) * 1000 - (Date.now() - t0);
      if (aheadMs > 5) {
        socket.pause();
        setTimeout(() => socket.resume(), aheadMs);
      }
    });
  });
}

/** True once the socket drains, false when no drain comes within `ms`. */
function drainedWithin(socket: net.Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const onDrain = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      socket.removeListener("drain", onDrain);
      resolve(false);
    }, ms);
    socket.once("drain", onDrain);
  });
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
  const srv = await MemoryServer.start(secure);
  try {
    await within(10_000, "the warm-up", download(srv.port, secure, 8 * MiB, Infinity));
    const baseline = await srv.baseline();
    const t0 = Date.now();
    const got = await within(SCENARIO_MS, name, Promise.all(Array.from({ length: clients }, () => download(srv.port, secure, TOTAL, rate))));
    const seconds = (Date.now() - t0) / 1000;
    const peak = await srv.call("memory");
    const bytes = got.reduce((a, b) => a + b, 0);
    const rateNote = Number.isFinite(rate) ? `read at ≤ ${mb(rate)} MiB/s each` : "read as fast as it can";
    return { scenario: name, baseline, peak, seconds, note: `${clients} × ${mb(TOTAL)} MiB ${secure ? "over TLS " : ""}(${mb(bytes)} MiB in all), ${rateNote}` };
  } finally {
    await srv.stop();
  }
}

async function uploadScenario(secure: boolean): Promise<Row[]> {
  const srv = await MemoryServer.start(secure);
  const socket = connect(srv.port, secure);
  socket.on("error", () => {});
  const suffix = secure ? "-tls" : "";
  try {
    await within(3000, "the connection", once(socket, secure ? "secureConnect" : "connect"));
    const baseline = await srv.baseline();
    const t0 = Date.now();
    socket.write(`POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: ${TOTAL}\r\n\r\n`);
    await srv.waitEvent("upload-started", 5000);
    const chunk = Buffer.alloc(64 * 1024, 0x62);
    let written = 0;
    const pump = async (stallMs: number): Promise<"done" | "stalled"> => {
      while (written < TOTAL) {
        const n = Math.min(chunk.length, TOTAL - written);
        written += n;
        if (!socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          if (!(await drainedWithin(socket, stallMs))) return "stalled";
        }
      }
      return "done";
    };
    if ((await within(SCENARIO_MS, "the writes to stall", pump(500))) !== "stalled") throw new Error("the upload never stalled");
    // Held stalled for 2 s: memory must stay flat while the app does not read.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const stalled = await srv.call("memory");
    const stalledSeconds = (Date.now() - t0) / 1000;
    const accepted = written - socket.writableLength;
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
    if ((await within(SCENARIO_MS, "the rest of the upload", pump(30_000))) !== "done") throw new Error("the upload stalled after release");
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
      { scenario: `upload-released${suffix}`, baseline, peak: done, seconds, note: `then the app read: the other ${mb(TOTAL - accepted)} MiB arrived, body counted ${TOTAL}` },
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
