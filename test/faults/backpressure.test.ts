/**
 * A client that asks for a big response and never reads it. The server must
 * stop pulling the application's body once the socket is full (so memory
 * stays bounded by the socket buffers, not the response size), and free
 * everything when the client is destroyed or socketTimeout passes: close()
 * once, post hooks run, nothing left behind.
 */

import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import type { App, Environ } from "../../src/index.js";
import { startServer, type TestServer } from "../support/wire.js";
import {
  BodyProbe,
  activeResources,
  assertCleanShutdown,
  assertServes,
  streamingBody,
  syncStreamingBody,
} from "./support.js";
import { Signal, until, within } from "../support/wait.js";

const CHUNK_BYTES = 64 * 1024;
/** 20,000 chunks of 64 KiB: 1.25 GiB, which the server must never pull through. */
const TOTAL_CHUNKS = 20_000;
/**
 * At most this many chunks (16 MiB) may be pulled from a body nobody reads:
 * the loopback socket buffers (a few MiB here) plus the stream's high-water mark.
 */
const MAX_PULLED = 256;

/** A client that sends a request and then never reads: its socket stays paused. */
async function neverReadingClient(port: number, request: string): Promise<net.Socket> {
  const socket = net.connect({ host: "127.0.0.1", port });
  socket.pause();
  socket.on("error", () => {});
  await within(2000, "connect", new Promise<void>((resolve) => socket.once("connect", resolve)));
  socket.write(request);
  return socket;
}

/**
 * Waits until `count()` stops growing for 200 ms. There is no event for "the
 * server stopped pulling"; a producer that is not paused would add hundreds
 * of chunks in that time.
 */
async function waitForStall(count: () => number, ms = 5000): Promise<number> {
  const deadline = Date.now() + ms;
  let last = -1;
  let stableSince = Date.now();
  for (;;) {
    const now = count();
    if (now !== last) {
      last = now;
      stableSince = Date.now();
    } else if (now > 0 && Date.now() - stableSince >= 200) {
      return now;
    }
    if (Date.now() > deadline) throw new Error(`the producer never stalled (${now} chunks)`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface HookRecord {
  runs: number;
  done: Signal;
}

function withHook(env: Environ, rec: HookRecord): void {
  env["eventlet.posthooks"].push([
    () => {
      rec.runs++;
      rec.done.fire();
    },
  ]);
}

async function scenario(
  app: (probe: BodyProbe, hook: HookRecord) => App,
  opts: { socketTimeout?: number },
  run: (s: TestServer, probe: BodyProbe, hook: HookRecord, client: net.Socket) => Promise<void>,
): Promise<void> {
  const baseline = activeResources();
  const probe = new BodyProbe();
  const hook: HookRecord = { runs: 0, done: new Signal() };
  const big = app(probe, hook);
  const s = await startServer((env, startResponse) => {
    if (env.PATH_INFO !== "/ping") return big(env, startResponse);
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    return ["pong"];
  }, opts);
  const client = await neverReadingClient(s.port, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
  try {
    await run(s, probe, hook, client);
    client.destroy();
    await until(2000, "the connection to be closed", () => s.server.connectionCount === 0);
    await assertServes(s.port);
    await assertCleanShutdown(s, baseline);
  } finally {
    client.destroy();
    await s.close(200);
  }
}

const asyncBigApp =
  (probe: BodyProbe, hook: HookRecord): App =>
  (env, startResponse) => {
    withHook(env, hook);
    startResponse("200 OK", [["Content-Type", "application/octet-stream"]]);
    return streamingBody(probe, { count: TOTAL_CHUNKS, chunkBytes: CHUNK_BYTES });
  };

const syncBigApp =
  (probe: BodyProbe, hook: HookRecord): App =>
  (env, startResponse) => {
    withHook(env, hook);
    startResponse("200 OK", [["Content-Type", "application/octet-stream"]]);
    return syncStreamingBody(probe, { count: TOTAL_CHUNKS, chunkBytes: CHUNK_BYTES });
  };

for (const [kind, app] of [
  ["async", asyncBigApp],
  ["sync", syncBigApp],
] as const) {
  test(`${kind === "async" ? "an" : "a"} ${kind} body to a client that never reads is paused by backpressure, and freed when the client is destroyed`, async () => {
    await scenario(app, {}, async (s, probe, hook, client) => {
      const pulled = await waitForStall(() => probe.produced);
      assert.ok(pulled <= MAX_PULLED, `${pulled} chunks of 64 KiB were pulled for a client that reads nothing`);
      assert.equal(probe.closes, 0);
      assert.equal(s.server.outstandingRequests, 1);
      client.destroy();
      await within(2000, "close() on the body", probe.closed.promise);
      await within(2000, "the post hook", hook.done.promise);
      assert.equal(probe.closes, 1);
      assert.equal(probe.finalized, true);
      assert.equal(hook.runs, 1);
      assert.equal(probe.produced, pulled, "nothing more was pulled after the client left");
    });
  });

  test(`${kind === "async" ? "an" : "a"} ${kind} body to a client that never reads is cut after socketTimeout`, async () => {
    await scenario(app, { socketTimeout: 0.4 }, async (s, probe, hook) => {
      const pulled = await waitForStall(() => probe.produced);
      const stalledAt = Date.now();
      assert.ok(pulled <= MAX_PULLED, `${pulled} chunks were pulled`);
      // The client is still there, but has taken nothing for socketTimeout.
      await within(2000, "close() on the body after socketTimeout", probe.closed.promise);
      const cutAfter = Date.now() - stalledAt;
      assert.ok(cutAfter < 1500, `cut ${cutAfter} ms after the stall`);
      await within(2000, "the post hook", hook.done.promise);
      await until(2000, "the timed-out connection to be closed", () => s.server.connectionCount === 0);
      assert.equal(probe.closes, 1);
      assert.equal(hook.runs, 1);
    });
  });
}

test("an app awaiting write() is paused by backpressure; its next write rejects once the client is destroyed", async () => {
  let written = 0;
  let writeError: Error | null = null;
  const appDone = new Signal();
  const app =
    (_probe: BodyProbe, hook: HookRecord): App =>
    async (env, startResponse) => {
      withHook(env, hook);
      const write = startResponse("200 OK", [["Content-Type", "application/octet-stream"]]);
      const chunk = Buffer.alloc(CHUNK_BYTES, 0x63);
      try {
        for (let i = 0; i < TOTAL_CHUNKS; i++) {
          await write(chunk);
          written++;
        }
      } catch (err) {
        writeError = err as Error;
      }
      appDone.fire();
      return [];
    };
  await scenario(app, {}, async (_s, _probe, hook, client) => {
    const pulled = await waitForStall(() => written);
    assert.ok(pulled <= MAX_PULLED, `${pulled} writes of 64 KiB resolved for a client that reads nothing`);
    client.destroy();
    await within(2000, "the app to finish", appDone.promise);
    await within(2000, "the post hook", hook.done.promise);
    assert.ok(writeError !== null, "a write after the client left rejects");
    assert.equal(hook.runs, 1);
  });
});

for (const end of ["destroyed", "socketTimeout"] as const) {
  test(`post hooks run when a never-reading client of a big array body is ${end === "destroyed" ? "destroyed" : "cut by socketTimeout"}`, async () => {
    // An array body is handed to the socket whole; the hooks wait for it to be
    // flushed, which never happens: they must run when the connection dies.
    const app =
      (_probe: BodyProbe, hook: HookRecord): App =>
      (env, startResponse) => {
        withHook(env, hook);
        startResponse("200 OK", [["Content-Type", "application/octet-stream"]]);
        return Array.from({ length: 16 }, () => Buffer.alloc(1024 * 1024, 0x64));
      };
    await scenario(app, end === "socketTimeout" ? { socketTimeout: 0.4 } : {}, async (s, _probe, hook, client) => {
      await until(2000, "the exchange to be over", () => s.server.outstandingRequests === 0);
      assert.equal(hook.runs, 0, "hooks wait for the response to be sent");
      if (end === "destroyed") client.destroy();
      await within(2000, "the post hook", hook.done.promise);
      await until(2000, "the connection to be closed", () => s.server.connectionCount === 0);
      assert.equal(hook.runs, 1);
    });
  });
}
