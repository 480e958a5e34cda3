/**
 * The JavaScript cost of eventwsgi's request path alone, without sockets:
 * a Connection is fed requests through a stand-in socket that takes writes
 * and does nothing with them. No syscalls, no load generator, no other
 * process: the figure (ns per request) moves only when the code does, so it
 * shows the effect of a change to the hot path far more clearly than wrk on
 * a shared machine (it counts this process's CPU time, not the wall clock). It is not a throughput figure: the real server also
 * pays for Node's socket code and the kernel (see profile.ts).
 *
 *   node dist/bench/micro.js [--ms 1000] [--only hello,pipelined,churn,post]
 *
 * hello: one keep-alive GET /hello per data event (what wrk sends);
 * pipelined: 16 of them in one data event; churn: a new Connection per
 * request with Connection: close; post: a 64 KiB body in 64 KiB data events.
 */

import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { Connection, type ConnectionOwner } from "../src/server/connection.js";
import { normalizeOptions } from "../src/options.js";
import type { App, Body, Environ, StartResponse } from "../src/gateway/types.js";
import { HELLO_BODY, POST_BYTES } from "./servers/routes.js";

const SCRATCH = Buffer.allocUnsafe(64 * 1024);

class NullSocket extends EventEmitter {
  destroyed = false;
  writableLength = 0;
  writableNeedDrain = false;
  written = 0;
  writes = 0;
  write(data: string | Uint8Array, enc?: unknown, cb?: (err?: Error | null) => void): boolean {
    // A real socket copies a string's bytes out (flattening a rope of pieces first): so does this.
    if (typeof data === "string" && data.length <= SCRATCH.length)
      (SCRATCH as unknown as { latin1Write(s: string, o: number): number }).latin1Write(data, 0);
    this.written += data.length;
    this.writes++;
    // The write is complete at once (Node calls back on its next tick, batched: its own cost, not ours).
    const done = typeof enc === "function" ? enc : cb;
    if (typeof done === "function") (done as (err?: Error | null) => void)();
    return true;
  }
  cork(): void {}
  uncork(): void {}
  setNoDelay(): this {
    return this;
  }
  setTimeout(): this {
    return this;
  }
  pause(): this {
    return this;
  }
  resume(): this {
    return this;
  }
  end(): this {
    queueMicrotask(() => this.emit("close", false));
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    return this;
  }
}

const TEXT: [string, string][] = [["Content-Type", "text/plain"]];

async function echoLength(environ: Environ, startResponse: StartResponse): Promise<Body> {
  // Chunk by chunk, as node-http.ts counts its "data" events: both read every byte, neither copies them together.
  let length = 0;
  for await (const chunk of environ["wsgi.input"]) length += chunk.length;
  startResponse("200 OK", TEXT);
  return [String(length)];
}

const app: App = (environ, startResponse) => {
  if (environ.PATH_INFO === "/echo") return echoLength(environ, startResponse);
  startResponse("200 OK", TEXT);
  return [HELLO_BODY];
};

const config = normalizeOptions({ logOutput: false, log: { info: () => {}, debug: () => {}, error: () => {} } });
let open = 0;
const owner: ConnectionOwner = {
  config,
  app,
  closing: false,
  requestStarted() {},
  requestFinished() {},
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
const POST_HEAD = Buffer.from(
  `POST /echo HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: application/octet-stream\r\nContent-Length: ${POST_BYTES}\r\n\r\n`,
  "latin1",
);
const POST_BODY = Buffer.alloc(POST_BYTES, "p");

function fresh(): { sock: NullSocket; conn: Connection } {
  const sock = new NullSocket();
  open++;
  const conn = new Connection(owner, sock as unknown as Socket, INFO);
  return { sock, conn };
}

type Step = () => Promise<number> | number;

const scenarios: Record<string, () => Step> = {
  hello: () => {
    const { sock } = fresh();
    return () => {
      sock.emit("data", HELLO_REQ.subarray());
      return 1;
    };
  },
  pipelined: () => {
    const { sock } = fresh();
    return () => {
      sock.emit("data", PIPELINED.subarray());
      return 16;
    };
  },
  churn: () => () => {
    const { sock } = fresh();
    sock.emit("data", CLOSE_REQ.subarray());
    return 1;
  },
  post: () => {
    const { sock } = fresh();
    return async () => {
      sock.emit("data", POST_HEAD.subarray());
      sock.emit("data", POST_BODY.subarray());
      // the app answers after a few microtask turns
      await new Promise<void>((resolve) => setImmediate(resolve));
      return 1;
    };
  },
};

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
}

/** CPU time of this process, ns: unlike the wall clock it does not count time other processes had the core. */
function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

async function measure(step: Step, ms: number): Promise<number> {
  let n = 0;
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
  return (cpuNs() - c0) / n;
}

async function main(): Promise<void> {
  const ms = Number(option("ms", "1000"));
  const only = option("only", "hello,pipelined,churn,post").split(",");
  for (const name of only) {
    const make = scenarios[name];
    if (make === undefined) throw new Error(`unknown scenario ${name}`);
    await measure(make(), Math.min(500, ms)); // warm-up
    const runs: number[] = [];
    for (let i = 0; i < 5; i++) runs.push(await measure(make(), ms));
    runs.sort((a, b) => a - b);
    // The minimum: on a shared machine other processes only ever add time.
    const mem = process.memoryUsage();
    process.stdout.write(
      `${name.padEnd(10)} ${runs[0]!.toFixed(0).padStart(6)} ns/request (min of runs ${runs.map((r) => r.toFixed(0)).join(", ")}); heap ${(mem.heapUsed / 1e6).toFixed(1)} MB, open ${open}\n`,
    );
  }
}

void main();
