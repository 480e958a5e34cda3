/**
 * The server measured by bench/memory.ts and test/ops/backpressure.test.ts
 * (both through bench/memory-client.ts), in a child process of its own so
 * that its memory is apart from the clients': `node [--expose-gc]
 * memory-server.js [--tls]`, listening on 127.0.0.1 at a free port.
 *
 * - GET /big?<bytes>: that many bytes, from a generator that allocates a
 *   fresh 64 KiB buffer for every chunk (the worst case for garbage: nothing
 *   is reused, so only backpressure keeps the heap small);
 * - POST /sink: the body is not read until the parent sends "release"; then
 *   it is counted and the count returned.
 *
 * IPC: announces { event: "listening", port }, then { event: "upload-started" }
 * when /sink is entered; answers { id, cmd } for cmd "memory", "resetPeak",
 * "release", "gc" with { id, ...Memory }. process.memoryUsage() is sampled
 * every 10 ms for the peaks.
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { listen, server, wrapSsl, type App } from "../src/index.js";

export interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** The largest of each since the last resetPeak, sampled every 10 ms. */
  peakRss: number;
  peakHeapUsed: number;
  peakArrayBuffers: number;
}

const CHUNK = 64 * 1024;
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

let peak = { rss: 0, heapUsed: 0, arrayBuffers: 0 };
function sample(): NodeJS.MemoryUsage {
  const m = process.memoryUsage();
  peak = {
    rss: Math.max(peak.rss, m.rss),
    heapUsed: Math.max(peak.heapUsed, m.heapUsed),
    arrayBuffers: Math.max(peak.arrayBuffers, m.arrayBuffers),
  };
  return m;
}
const sampler = setInterval(sample, 10);

let release!: () => void;
let released = new Promise<void>((resolve) => {
  release = resolve;
});

const app: App = async (env, startResponse) => {
  if (env.PATH_INFO === "/big") {
    const total = Number(env.QUERY_STRING ?? "0");
    startResponse("200 OK", [
      ["Content-Type", "application/octet-stream"],
      ["Content-Length", String(total)],
    ]);
    return (function* () {
      for (let sent = 0; sent < total; sent += CHUNK) yield Buffer.alloc(Math.min(CHUNK, total - sent), 0x61);
    })();
  }
  if (env.PATH_INFO === "/echo") {
    const body = await env["wsgi.input"].read();
    startResponse("200 OK", [["Content-Type", "application/octet-stream"]]);
    return [body];
  }
  if (env.PATH_INFO === "/sink") {
    process.send?.({ event: "upload-started" });
    await released;
    released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let received = 0;
    for await (const chunk of env["wsgi.input"]) received += chunk.length;
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    return [String(received)];
  }
  startResponse("404 Not Found", [["Content-Type", "text/plain"]]);
  return ["no such route\n"];
};

const quiet = { info: () => {}, debug: () => {}, error: (m: string) => process.stderr.write(`${m}\n`) };
let sock = await listen(["127.0.0.1", 0]);
if (process.argv.includes("--tls")) {
  sock = wrapSsl(sock, {
    certfile: join(repoRoot, "test", "fixtures", "cert.pem"),
    keyfile: join(repoRoot, "test", "fixtures", "key.pem"),
    serverSide: true,
  });
}
const wsgi = server(sock, app, { log: quiet });

function memory(): Memory {
  const m = sample();
  return {
    rss: m.rss,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    peakRss: peak.rss,
    peakHeapUsed: peak.heapUsed,
    peakArrayBuffers: peak.arrayBuffers,
  };
}

process.on("message", (msg: { id: number; cmd: string }) => {
  if (msg.cmd === "gc") (globalThis as { gc?: () => void }).gc?.();
  if (msg.cmd === "resetPeak") peak = { rss: 0, heapUsed: 0, arrayBuffers: 0 };
  if (msg.cmd === "release") release();
  process.send?.({ id: msg.id, ...memory() });
});
// The parent going away (normally or not) ends the server.
process.on("disconnect", () => {
  clearInterval(sampler);
  void wsgi.close({ deadline: 0 });
});
process.send?.({ event: "listening", port: (wsgi.address as { port: number }).port });
