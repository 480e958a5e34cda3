/**
 * The soak (issue "hardening"): a million mixed requests through one
 * eventwsgi server on 127.0.0.1, from a few concurrent client loops, with
 * the server's RSS, heap and open handles reported at the start, the
 * middle and the end. Not a unit test: run it by hand, or before a release.
 *
 *   node dist/bench/soak.js [--requests 1000000] [--clients 6] [--max-seconds 1200] [--seed 1]
 *
 * The mix, chosen per operation by a seeded PRNG (requests counted as sent):
 *   keepalive   20 sequential requests on one connection: GET /hello, HEAD /hello,
 *               POST /echo (Content-Length, 0–16 KiB), GET /stream, GET /write
 *   pipelined   4 batches of 16 requests written at once (GETs and small POSTs)
 *   chunked     5 chunked POST /echo uploads, split into random chunks and writes
 *   malformed   a request the server must refuse (400/414/431/501/505, bad
 *               chunk, CL+TE, ...), sometimes after a good one on the same
 *               connection: the refusal is checked, and that the server closes
 *   disconnect  a client that goes away mid-request: in the head, in a
 *               Content-Length or chunked body, or before reading a response
 *   error/close GET /error (a 500, closed) and Connection: close requests
 *
 * Bounded: it stops at --requests or --max-seconds, whichever comes first;
 * every client wait has a timeout; the server child is killed at the end.
 * Exit code 0 only when every response was as expected and nothing leaked
 * (open handles back to where they started, heap growth within bounds).
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { IpcChild, hookExit, pinning, sleep } from "./lib/children.js";
import { RawClient, type RawResponse } from "./lib/raw-client.js";
import type { ChildStats } from "./servers/ipc.js";
import { HELLO_BODY, STREAM_CHUNKS, STREAM_CHUNK_BYTES } from "./servers/routes.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const OP_TIMEOUT_MS = 30_000;

interface Options {
  requests: number;
  clients: number;
  maxSeconds: number;
  seed: number;
}

function parseOptions(argv: string[]): Options {
  const opts: Options = { requests: 1_000_000, clients: 6, maxSeconds: 1200, seed: 1 };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i] as string;
    const n = Number(argv[i + 1]);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} needs a non-negative number`);
    if (flag === "--requests") opts.requests = Math.floor(n);
    else if (flag === "--clients") opts.clients = Math.max(1, Math.floor(n));
    else if (flag === "--max-seconds") opts.maxSeconds = n;
    else if (flag === "--seed") opts.seed = Math.floor(n);
    else throw new Error(`unknown option ${flag}: --requests N --clients N --max-seconds S --seed N`);
  }
  return opts;
}

/** mulberry32: a small seeded PRNG, so a failing mix can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type OpKind = "keepalive" | "pipelined" | "chunked" | "malformed" | "disconnect" | "error/close";
/** Operations per 100; by requests, pipelined and keepalive make ~45% each, chunked ~9%, the rest ~3%. */
const WEIGHTS: [OpKind, number][] = [
  ["keepalive", 30],
  ["pipelined", 10],
  ["chunked", 25],
  ["malformed", 15],
  ["disconnect", 15],
  ["error/close", 5],
];

/** An operation's failure in one line: an Error's message, or the thrown value as JSON. */
function describeFailure(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === "string" ? err : JSON.stringify(err);
}

class Tally {
  sent = 0;
  readonly ops = new Map<OpKind, { ok: number; failed: number; requests: number; ms: number }>();
  readonly failures: string[] = [];
  failedCount = 0;

  record(kind: OpKind, err: unknown, requests: number, ms: number): void {
    const t = this.ops.get(kind) ?? { ok: 0, failed: 0, requests: 0, ms: 0 };
    t.requests += requests;
    t.ms += ms;
    if (err === null) t.ok++;
    else {
      t.failed++;
      this.failedCount++;
      if (this.failures.length < 20) this.failures.push(`${kind}: ${describeFailure(err)}`);
    }
    this.ops.set(kind, t);
  }
}

function expect(cond: boolean, what: string): void {
  if (!cond) throw new Error(what);
}

function expectStatus(r: RawResponse, status: number, what: string): void {
  expect(r.status === status, `${what}: status ${r.status}, expected ${status}`);
}

const HOST = "Host: 127.0.0.1\r\n";

/** A request and how to check its response. */
interface Exchange {
  bytes: string | Buffer;
  method: string;
  check(r: RawResponse): void;
}

function hello(): Exchange {
  return {
    bytes: `GET /hello HTTP/1.1\r\n${HOST}\r\n`,
    method: "GET",
    check: (r) => {
      expectStatus(r, 200, "GET /hello");
      expect(r.body.toString() === HELLO_BODY, "GET /hello: wrong body");
    },
  };
}

function headHello(): Exchange {
  return {
    bytes: `HEAD /hello HTTP/1.1\r\n${HOST}\r\n`,
    method: "HEAD",
    check: (r) => {
      expectStatus(r, 200, "HEAD /hello");
      expect(r.body.length === 0, "HEAD /hello: a body");
    },
  };
}

function echo(size: number): Exchange {
  const body = Buffer.alloc(size, 0x61 + (size % 26));
  return {
    bytes: Buffer.concat([Buffer.from(`POST /echo HTTP/1.1\r\n${HOST}Content-Length: ${size}\r\n\r\n`), body]),
    method: "POST",
    check: (r) => {
      expectStatus(r, 200, "POST /echo");
      expect(r.body.toString() === String(size), `POST /echo: answered ${r.body.toString()}, sent ${size}`);
    },
  };
}

function stream(): Exchange {
  return {
    bytes: `GET /stream HTTP/1.1\r\n${HOST}\r\n`,
    method: "GET",
    check: (r) => {
      expectStatus(r, 200, "GET /stream");
      expect(r.headers.get("transfer-encoding") === "chunked", "GET /stream: not chunked");
      expect(r.body.length === STREAM_CHUNKS * STREAM_CHUNK_BYTES, `GET /stream: ${r.body.length} bytes`);
    },
  };
}

function written(): Exchange {
  return {
    bytes: `GET /write HTTP/1.1\r\n${HOST}\r\n`,
    method: "GET",
    check: (r) => {
      expectStatus(r, 200, "GET /write");
      expect(r.body.toString() === "written through write()\r\n", "GET /write: wrong body");
    },
  };
}

/** Chunked upload of `size` bytes split at random points. */
function chunkedUpload(size: number, rand: () => number): { parts: Buffer[]; exchange: Exchange } {
  const head = Buffer.from(`POST /echo HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\n`);
  const pieces: Buffer[] = [head];
  let left = size;
  while (left > 0) {
    const n = Math.min(left, 1 + Math.floor(rand() * 4096));
    pieces.push(
      Buffer.from(`${n.toString(16)}${rand() < 0.1 ? ";ext=1" : ""}\r\n`),
      Buffer.alloc(n, 0x63),
      Buffer.from("\r\n"),
    );
    left -= n;
  }
  pieces.push(Buffer.from("0\r\n\r\n"));
  const all = Buffer.concat(pieces);
  // Cut the wire bytes into 1–4 writes at random points (chunk boundaries need not line up).
  const cuts = new Set<number>();
  const writes = 1 + Math.floor(rand() * 4);
  for (let i = 1; i < writes; i++) cuts.add(1 + Math.floor(rand() * (all.length - 1)));
  const points = [0, ...[...cuts].sort((a, b) => a - b), all.length];
  const parts: Buffer[] = [];
  for (let i = 0; i + 1 < points.length; i++) parts.push(all.subarray(points[i], points[i + 1]));
  return {
    parts,
    exchange: {
      bytes: all,
      method: "POST",
      check: (r) => {
        expectStatus(r, 200, "chunked POST /echo");
        expect(r.body.toString() === String(size), `chunked POST /echo: answered ${r.body.toString()}, sent ${size}`);
      },
    },
  };
}

/** Requests the server must refuse, and the statuses it may refuse them with. */
const MALFORMED: { bytes: string; statuses: number[] }[] = [
  { bytes: `GET /hello HTTP/1.1\r\n${HOST}Bad Header\r\n\r\n`, statuses: [400] },
  { bytes: "GET /hello HTTP/1.1\nHost: 127.0.0.1\n\n", statuses: [400] },
  { bytes: `GET /${"a".repeat(9000)} HTTP/1.1\r\n${HOST}\r\n`, statuses: [414] },
  {
    bytes: `GET /hello HTTP/1.1\r\n${HOST}${"X-Filler: ".concat("f".repeat(8000), "\r\n").repeat(9)}\r\n`,
    statuses: [400, 431],
  },
  { bytes: `GET /hello HTTP/9.9\r\n${HOST}\r\n`, statuses: [505] },
  { bytes: "GET /hello HTTP/1.1\r\n\r\n", statuses: [400] },
  {
    bytes: `POST /echo HTTP/1.1\r\n${HOST}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    statuses: [400],
  },
  { bytes: `POST /echo HTTP/1.1\r\n${HOST}Content-Length: abc\r\n\r\n`, statuses: [400] },
  { bytes: `POST /echo HTTP/1.1\r\n${HOST}Transfer-Encoding: gzip\r\n\r\n`, statuses: [400, 501] },
  {
    bytes: `POST /echo HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`,
    statuses: [400, 500],
  },
  { bytes: `GET /hello HTTP/1.1\r\n${HOST} folded: value\r\n\r\n`, statuses: [400] },
  { bytes: "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage-that-is-a-tls-hello\r\n\r\n", statuses: [400] },
];

class SoakLoop {
  /** Requests sent by the current operation. */
  private opRequests = 0;

  constructor(
    private readonly port: number,
    private readonly tally: Tally,
    private readonly rand: () => number,
  ) {}

  private count(n: number): void {
    this.opRequests += n;
    this.tally.sent += n;
  }

  private pick<T>(items: T[]): T {
    return items[Math.floor(this.rand() * items.length)] as T;
  }

  private sequentialExchange(): Exchange {
    const r = this.rand();
    if (r < 0.35) return hello();
    if (r < 0.45) return headHello();
    if (r < 0.8) return echo(Math.floor(this.rand() * 16 * 1024));
    if (r < 0.9) return stream();
    return written();
  }

  async run(kind: OpKind): Promise<void> {
    let client: RawClient | null = null;
    this.opRequests = 0;
    const started = performance.now();
    try {
      client = await RawClient.connect(this.port, OP_TIMEOUT_MS);
      switch (kind) {
        case "keepalive":
          await this.keepalive(client);
          break;
        case "pipelined":
          await this.pipelined(client);
          break;
        case "chunked":
          await this.chunked(client);
          break;
        case "malformed":
          await this.malformed(client);
          break;
        case "disconnect":
          await this.disconnect(client);
          break;
        case "error/close":
          await this.errorOrClose(client);
          break;
      }
      this.tally.record(kind, null, this.opRequests, performance.now() - started);
    } catch (err) {
      this.tally.record(kind, err, this.opRequests, performance.now() - started);
    } finally {
      client?.end();
      if (client !== null) setTimeout(() => client?.close(), 2000).unref();
    }
  }

  private async keepalive(c: RawClient): Promise<void> {
    for (let i = 0; i < 20; i++) {
      const ex = this.sequentialExchange();
      this.count(1);
      c.write(ex.bytes);
      ex.check(await c.read(ex.method, OP_TIMEOUT_MS));
    }
  }

  private async pipelined(c: RawClient): Promise<void> {
    for (let batch = 0; batch < 4; batch++) {
      const exchanges: Exchange[] = [];
      for (let i = 0; i < 16; i++) exchanges.push(this.rand() < 0.8 ? hello() : echo(Math.floor(this.rand() * 512)));
      this.count(exchanges.length);
      c.write(Buffer.concat(exchanges.map((e) => (typeof e.bytes === "string" ? Buffer.from(e.bytes) : e.bytes))));
      for (const ex of exchanges) ex.check(await c.read(ex.method, OP_TIMEOUT_MS));
    }
  }

  private async chunked(c: RawClient): Promise<void> {
    for (let i = 0; i < 5; i++) {
      const { parts, exchange } = chunkedUpload(Math.floor(this.rand() * 64 * 1024), this.rand);
      this.count(1);
      for (const part of parts) {
        c.write(part);
        if (this.rand() < 0.3) await sleep(0); // let some parts arrive as separate reads
      }
      exchange.check(await c.read("POST", OP_TIMEOUT_MS));
    }
  }

  private async malformed(c: RawClient): Promise<void> {
    const bad = this.pick(MALFORMED);
    if (this.rand() < 0.3) {
      // A good request first, on the same connection, pipelined with the bad one.
      const good = hello();
      this.count(2);
      c.write(Buffer.concat([Buffer.from(good.bytes), Buffer.from(bad.bytes, "latin1")]));
      good.check(await c.read("GET", OP_TIMEOUT_MS));
    } else {
      this.count(1);
      c.write(Buffer.from(bad.bytes, "latin1"));
    }
    const r = await c.read("GET", OP_TIMEOUT_MS);
    expect(
      bad.statuses.includes(r.status),
      `malformed ${JSON.stringify(bad.bytes.slice(0, 40))}: status ${r.status}, expected ${bad.statuses.join("/")}`,
    );
    expect(await c.waitEnd(OP_TIMEOUT_MS), "the server kept the connection open after refusing a request");
  }

  private async disconnect(c: RawClient): Promise<void> {
    this.count(1);
    const how = Math.floor(this.rand() * 5);
    switch (how) {
      case 0: // in the middle of the head
        c.write(`GET /hello HTTP/1.1\r\nHo`);
        break;
      case 1: // in the middle of a Content-Length body
        c.write(`POST /echo HTTP/1.1\r\n${HOST}Content-Length: 100000\r\n\r\n${"d".repeat(3000)}`);
        break;
      case 2: // in the middle of a chunked body
        c.write(`POST /echo HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\n400\r\n${"d".repeat(300)}`);
        break;
      case 3: // a whole request, gone before reading the (large, streamed) response
        c.write(`GET /stream HTTP/1.1\r\n${HOST}\r\n`);
        break;
      default: // pipelined requests, gone after the first response
        this.count(1);
        c.write(`GET /hello HTTP/1.1\r\n${HOST}\r\nGET /stream HTTP/1.1\r\n${HOST}\r\n`);
        hello().check(await c.read("GET", OP_TIMEOUT_MS));
        break;
    }
    await sleep(this.rand() < 0.5 ? 0 : 1);
    c.close();
  }

  private async errorOrClose(c: RawClient): Promise<void> {
    this.count(1);
    if (this.rand() < 0.5) {
      c.write(`GET /error HTTP/1.1\r\n${HOST}\r\n`);
      expectStatus(await c.read("GET", OP_TIMEOUT_MS), 500, "GET /error");
    } else {
      c.write(`GET /hello HTTP/1.1\r\n${HOST}Connection: close\r\n\r\n`);
      const r = await c.read("GET", OP_TIMEOUT_MS);
      expectStatus(r, 200, "GET /hello, Connection: close");
      expect(r.headers.get("connection") === "close", "no Connection: close in the answer");
    }
    expect(await c.waitEnd(OP_TIMEOUT_MS), "the server did not close the connection");
  }
}

function pickKind(rand: () => number): OpKind {
  const total = WEIGHTS.reduce((n, [, w]) => n + w, 0);
  let x = rand() * total;
  for (const [kind, w] of WEIGHTS) {
    x -= w;
    if (x < 0) return kind;
  }
  return "keepalive";
}

interface Snapshot {
  phase: string;
  sent: number;
  stats: ChildStats;
}

const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;

function describeSnapshot(s: Snapshot): string {
  const kinds = Object.entries(s.stats.resourceKinds)
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
  return (
    `${s.phase.padEnd(6)} after ${s.sent.toLocaleString("en-US").padStart(9)} requests: RSS ${mb(s.stats.rss).padStart(9)}, ` +
    `heap used ${mb(s.stats.heapUsed).padStart(8)}, external ${mb(s.stats.external).padStart(8)}, ` +
    `connections ${s.stats.extra.connections ?? "?"}, active resources ${s.stats.activeResources} (${kinds})`
  );
}

async function waitForIdleServer(server: IpcChild, timeoutMs: number): Promise<ChildStats> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stats = await server.stats();
    if ((stats.extra.connections ?? 0) === 0 || Date.now() > deadline) return stats;
    await sleep(200);
  }
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  hookExit();
  const pin = pinning();
  const server = await IpcChild.start({
    script: join(HERE, "servers/eventwsgi.js"),
    nodeFlags: ["--expose-gc"],
    core: pin?.serverCore ?? null,
  });
  // Set by callbacks and read after awaits: an object, so that TypeScript does not narrow them to their initial values.
  const run: { serverDied: boolean; timedOut: boolean; middle: Promise<void> | null } = {
    serverDied: false,
    timedOut: false,
    middle: null,
  };
  const onServerExit = (code: number | null, signal: string | null): void => {
    run.serverDied = true;
    process.stderr.write(`the server exited during the soak (code ${code}, signal ${signal})\n`);
  };
  server.proc.once("exit", onServerExit);
  process.stdout.write(
    `soak: ${opts.requests.toLocaleString("en-US")} requests, ${opts.clients} client loops, at most ${opts.maxSeconds} s, seed ${opts.seed}; ` +
      `server pid ${server.pid} on 127.0.0.1:${server.port}${pin !== null ? `, pinned to core ${pin.serverCore}` : ""}\n`,
  );

  const tally = new Tally();
  // Warm-up: one operation of each kind, so that what the server creates once and keeps
  // (process.stderr, caches, JIT code) exists before the baseline is taken.
  const warmup = new SoakLoop(server.port, tally, prng(opts.seed));
  for (const [kind] of WEIGHTS) await warmup.run(kind);
  await sleep(300);
  await waitForIdleServer(server, 15_000);
  const start: Snapshot = { phase: "start", sent: tally.sent, stats: await server.stats(true) };
  const snapshots: Snapshot[] = [start];
  process.stdout.write(`${describeSnapshot(start)}\n`);
  const started = Date.now();
  const deadline = started + opts.maxSeconds * 1000;

  const progress = setInterval(() => {
    const secs = (Date.now() - started) / 1000;
    process.stdout.write(
      `  ${secs.toFixed(0).padStart(5)} s: ${tally.sent.toLocaleString("en-US").padStart(9)} requests sent, ` +
        `${Math.round(tally.sent / secs).toLocaleString("en-US")}/s, ${tally.failedCount} failed operations\n`,
    );
  }, 10_000);

  const loop = async (index: number): Promise<void> => {
    const rand = prng(opts.seed * 1000 + index);
    const soak = new SoakLoop(server.port, tally, rand);
    while (tally.sent < opts.requests && !run.serverDied) {
      if (Date.now() > deadline) {
        run.timedOut = true;
        return;
      }
      await soak.run(pickKind(rand));
      if (run.middle === null && tally.sent >= opts.requests / 2) {
        const sent = tally.sent;
        run.middle = server.stats(true).then((stats) => {
          snapshots.push({ phase: "middle", sent, stats });
          process.stdout.write(`${describeSnapshot({ phase: "middle", sent, stats })}\n`);
        });
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.clients }, (_, i) => loop(i)));
    await run.middle;
  } finally {
    clearInterval(progress);
  }
  if (run.serverDied) throw new Error("the server died during the soak");
  const elapsed = (Date.now() - started) / 1000;
  await sleep(500);
  await waitForIdleServer(server, 15_000);
  const end: Snapshot = { phase: "end", sent: tally.sent, stats: await server.stats(true) };
  snapshots.push(end);
  process.stdout.write(`${describeSnapshot(end)}\n`);

  process.stdout.write(
    `\n${tally.sent.toLocaleString("en-US")} requests in ${elapsed.toFixed(1)} s (${Math.round(tally.sent / elapsed).toLocaleString("en-US")}/s)` +
      `${run.timedOut ? `; stopped at --max-seconds ${opts.maxSeconds}` : ""}\n`,
  );
  for (const [kind, t] of [...tally.ops].sort())
    process.stdout.write(
      `  ${kind.padEnd(12)} ${String(t.ok).padStart(7)} operations ok, ${t.failed} failed; ${t.requests.toLocaleString("en-US").padStart(9)} requests; ${(t.ms / Math.max(1, t.ok + t.failed)).toFixed(1)} ms per operation\n`,
    );
  for (const f of tally.failures) process.stdout.write(`  failure: ${f}\n`);

  const problems: string[] = [];
  if (tally.failedCount > 0) problems.push(`${tally.failedCount} operations failed`);
  if ((end.stats.extra.connections ?? 0) !== 0)
    problems.push(`${end.stats.extra.connections} connections still open at the end`);
  if (end.stats.activeResources > start.stats.activeResources) {
    problems.push(`active resources grew from ${start.stats.activeResources} to ${end.stats.activeResources}`);
  }
  // Heap after a full GC: a leak of even 20 bytes a request shows over a million requests.
  const heapGrowth = end.stats.heapUsed - start.stats.heapUsed;
  if (heapGrowth > 20e6) problems.push(`heap used grew by ${mb(heapGrowth)}`);
  const midSnap = snapshots.find((s) => s.phase === "middle");
  process.stdout.write(
    `heap used after GC: ${mb(start.stats.heapUsed)} → ${midSnap !== undefined ? `${mb(midSnap.stats.heapUsed)} → ` : ""}${mb(end.stats.heapUsed)}; ` +
      `RSS ${mb(start.stats.rss)} → ${midSnap !== undefined ? `${mb(midSnap.stats.rss)} → ` : ""}${mb(end.stats.rss)}\n`,
  );
  server.proc.removeListener("exit", onServerExit);
  await server.stop();
  if (problems.length > 0) {
    process.stdout.write(`SOAK FAILED: ${problems.join("; ")}\n`);
    process.exit(1);
  }
  process.stdout.write("soak passed: every response as expected, no handle left open, heap flat\n");
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`soak failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
