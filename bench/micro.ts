/**
 * The JavaScript cost of eventwsgi's request path alone, without sockets:
 * a Connection is fed requests through a stand-in socket that takes writes
 * and does nothing with them. No syscalls, no load generator, no other
 * process: the figure (ns per request) moves only when the code does, so it
 * shows the effect of a change to the hot path far more clearly than wrk on
 * a shared machine (it counts this process's CPU time, not the wall clock). It is not a throughput figure: the real server also
 * pays for Node's socket code and the kernel (see profile.ts).
 *
 *   node dist/bench/micro.js [--ms 1000] [--only hello,pipelined,churn,post,post-iter] [--app sync|async]
 *
 * hello: one keep-alive GET /hello per data event (what wrk sends);
 * pipelined: 16 of them in one data event; churn: a new Connection per
 * request with Connection: close; post: a 64 KiB body in data events of
 * at most 64 KiB as a socket gives them (so it spans two), read with `await input.read(65536)` until empty; post-iter: the
 * same read with `for await`. `--app async` declares the app `async`, as
 * the benchmark's async style. The scenarios run in the order given, in one
 * process: `--only post` against `--only hello,post` shows what history
 * (the hello path having run first) does to post.
 */

import type { Socket } from "node:net";
import { Connection, type ConnectionOwner } from "../src/server/connection.js";
import { normalizeOptions } from "../src/options.js";
import type { App, Body, Environ, StartResponse } from "../src/gateway/types.js";
import { HELLO_BODY, POST_BYTES, READ_SIZE } from "./servers/routes.js";
import { StandInSocket } from "./lib/stand-in-socket.js";

const SCRATCH = Buffer.allocUnsafe(64 * 1024);
/** write() calls on every stand-in socket: a batch of pipelined responses should be one. */
let socketWrites = 0;

class NullSocket extends StandInSocket {
  written = 0;
  writes = 0;
  write(data: string | Uint8Array, enc?: unknown, cb?: (err?: Error | null) => void): boolean {
    // A real socket copies a string's bytes out (flattening a rope of pieces first): so does this.
    if (typeof data === "string" && data.length <= SCRATCH.length)
      (SCRATCH as unknown as { latin1Write(s: string, o: number): number }).latin1Write(data, 0);
    this.written += data.length;
    this.writes++;
    // Empty writes only ask for a callback once what is before them is out (output.ts): not a send.
    if (data.length > 0) socketWrites++;
    // The write is complete at once (Node calls back on its next tick, batched: its own cost, not ours).
    const done = typeof enc === "function" ? enc : cb;
    if (typeof done === "function") (done as (err?: Error | null) => void)();
    return true;
  }
  /** Destroyed quietly, as this benchmark always has: no close event to dispatch on the measured path. */
  override destroy(): this {
    this.destroyed = true;
    return this;
  }
}

const TEXT: [string, string][] = [["Content-Type", "text/plain"]];

async function lengthByRead(environ: Environ): Promise<number> {
  const input = environ["wsgi.input"];
  let length = 0;
  for (;;) {
    const chunk = await input.read(READ_SIZE);
    if (chunk.length === 0) return length;
    length += chunk.length;
  }
}

async function lengthByIteration(environ: Environ): Promise<number> {
  let length = 0;
  for await (const chunk of environ["wsgi.input"]) length += chunk.length;
  return length;
}

function answerLength(length: number, startResponse: StartResponse): Body {
  startResponse("200 OK", TEXT);
  return [String(length)];
}

const syncApp: App = (environ, startResponse) => {
  if (environ.PATH_INFO === "/echo") return lengthByRead(environ).then((n) => answerLength(n, startResponse));
  if (environ.PATH_INFO === "/echo-iter") return lengthByIteration(environ).then((n) => answerLength(n, startResponse));
  startResponse("200 OK", TEXT);
  return [HELLO_BODY];
};

const asyncApp: App = async (environ, startResponse) => {
  if (environ.PATH_INFO === "/echo") return answerLength(await lengthByRead(environ), startResponse);
  if (environ.PATH_INFO === "/echo-iter") return answerLength(await lengthByIteration(environ), startResponse);
  startResponse("200 OK", TEXT);
  return [HELLO_BODY];
};

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
}

const app: App = option("app", "sync") === "async" ? asyncApp : syncApp;

const config = normalizeOptions({ logOutput: false, log: { info: () => {}, debug: () => {}, error: () => {} } });
let open = 0;
/** Requests finished so far, and a wait for a count (an async app finishes its requests after some microtask turns). */
let finished = 0;
let waitingFor = 0;
let wake: (() => void) | null = null;
function finishedReach(count: number): Promise<void> | null {
  if (finished >= count) return null;
  waitingFor = count;
  return new Promise((resolve) => (wake = resolve));
}
const owner: ConnectionOwner = {
  config,
  app,
  closing: false,
  requestStarted() {},
  requestFinished() {
    if (++finished >= waitingFor && wake !== null) {
      const w = wake;
      wake = null;
      w();
    }
  },
  requestAbandoned() {},
  hooksStarted() {},
  connectionClosed() {
    open--;
  },
};
const INFO = {
  serverName: "127.0.0.1",
  serverPort: "8080",
  remoteAddr: "127.0.0.1",
  remotePort: "50000",
  https: false,
  errors: process.stderr,
};

const HELLO_REQ = Buffer.from("GET /hello HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n", "latin1");
const CLOSE_REQ = Buffer.from("GET /hello HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nConnection: close\r\n\r\n", "latin1");
const PIPELINED = Buffer.concat(Array.from({ length: 16 }, () => HELLO_REQ));
const postHead = (path: string): Buffer =>
  Buffer.from(
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: application/octet-stream\r\nContent-Length: ${POST_BYTES}\r\n\r\n`,
    "latin1",
  );
const POST_BODY = Buffer.alloc(POST_BYTES, "p");
/** What one socket read gives at most (libuv's suggested size in Node). */
const SOCKET_READ_BYTES = 65536;

function fresh(): { sock: NullSocket; conn: Connection } {
  const sock = new NullSocket();
  open++;
  const conn = new Connection(owner, sock as unknown as Socket, INFO);
  return { sock, conn };
}

type Step = () => Promise<number> | number;

/** A step of n requests: synchronous while the app answers synchronously, else waiting for them to finish. */
function requests(n: number, send: () => void): Step {
  return () => {
    const target = finished + n;
    send();
    const wait = finishedReach(target);
    return wait === null ? n : wait.then(() => n);
  };
}

const scenarios: Record<string, () => Step> = {
  hello: () => {
    const { sock } = fresh();
    return requests(1, () => sock.emit("data", HELLO_REQ.subarray()));
  },
  pipelined: () => {
    const { sock } = fresh();
    return requests(16, () => sock.emit("data", PIPELINED.subarray()));
  },
  churn: () =>
    requests(1, () => {
      const { sock } = fresh();
      sock.emit("data", CLOSE_REQ.subarray());
    }),
  post: () => post("/echo"),
  "post-iter": () => post("/echo-iter"),
};

function post(path: string): Step {
  const { sock } = fresh();
  // As a socket delivers it (reads of at most 64 KiB): the head and the body's start, then the rest.
  const request = Buffer.concat([postHead(path), POST_BODY]);
  const first = request.subarray(0, SOCKET_READ_BYTES);
  const rest = request.subarray(SOCKET_READ_BYTES);
  return requests(1, () => {
    sock.emit("data", first.subarray());
    sock.emit("data", rest.subarray());
  });
}

/** CPU time of this process, ns: unlike the wall clock it does not count time other processes had the core. */
function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

/** ns of CPU per request, and socket writes per request. */
async function measure(step: Step, ms: number): Promise<[number, number]> {
  let n = 0;
  const w0 = socketWrites;
  const deadline = performance.now() + ms;
  const c0 = cpuNs();
  while (performance.now() < deadline) {
    // a batch between clock reads; a turn of the event loop lets closes and promises run
    for (let i = 0; i < 200; i++) {
      const r = step();
      n += typeof r === "number" ? r : await r;
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return [(cpuNs() - c0) / n, (socketWrites - w0) / n];
}

async function main(): Promise<void> {
  const ms = Number(option("ms", "1000"));
  const only = option("only", "hello,pipelined,churn,post,post-iter").split(",");
  for (const name of only) {
    const make = scenarios[name];
    if (make === undefined) throw new Error(`unknown scenario ${name}`);
    await measure(make(), Math.min(500, ms)); // warm-up
    const runs: number[] = [];
    let writes = 0;
    for (let i = 0; i < 5; i++) {
      const [ns, w] = await measure(make(), ms);
      runs.push(ns);
      writes = w;
    }
    runs.sort((a, b) => a - b);
    // The minimum: on a shared machine other processes only ever add time.
    const mem = process.memoryUsage();
    process.stdout.write(
      `${name.padEnd(10)} ${(runs[0] ?? 0).toFixed(0).padStart(6)} ns/request (min of runs ${runs.map((r) => r.toFixed(0)).join(", ")}); ` +
        `${writes.toFixed(2)} socket writes/request; heap ${(mem.heapUsed / 1e6).toFixed(1)} MB, open ${open}\n`,
    );
  }
}

void main();
