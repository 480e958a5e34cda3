/**
 * Slowloris: clients that trickle a request head or body to hold a
 * connection. `headersTimeout` must answer a head that is too slow with 408
 * and close; `requestTimeout` must make the application's read of a body
 * that is too slow reject, and close. Meanwhile other clients are served
 * at once.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { App, Environ } from "../../src/index.js";
import { startServer } from "../support/wire.js";
import { Peer, activeResources, assertCleanShutdown, assertServes } from "./support.js";
import { trickle } from "../support/trickle.js";
import { Signal, within } from "../support/wait.js";

/** Time between two trickled bytes: the attacker's pace, not a wait for an event. */
const TRICKLE_MS = 20;

interface UploadRecord {
  readError: (Error & { code?: string; status?: number }) | null;
  readFailed: Signal;
}

function uploadApp(rec: UploadRecord): App {
  return async (env: Environ, startResponse) => {
    if (env.PATH_INFO === "/upload") {
      try {
        await env["wsgi.input"].read();
      } catch (err) {
        rec.readError = err as Error;
        rec.readFailed.fire();
        throw err;
      }
      startResponse("200 OK", [["Content-Type", "text/plain"]]);
      return ["read it all"];
    }
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    return ["pong"];
  };
}

/** Serves three normal requests in a row and checks each is answered quickly. */
async function assertOthersServed(port: number): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const ms = await assertServes(port, 1000);
    assert.ok(ms < 250, `a normal request took ${ms} ms while slow clients were connected`);
  }
}

test("a head trickled one byte at a time gets 408 and is closed after headersTimeout; others are served meanwhile", async () => {
  const baseline = activeResources();
  const rec: UploadRecord = { readError: null, readFailed: new Signal() };
  const s = await startServer(uploadApp(rec), { headersTimeout: 0.3 });
  try {
    // 240+ bytes at 20 ms a byte would take 5 s: far longer than the 0.3 s allowed.
    const head = `GET /ping HTTP/1.1\r\nHost: x\r\nX-Slow: ${"a".repeat(200)}\r\n\r\n`;
    const slow = await Promise.all(Array.from({ length: 10 }, () => Peer.connect(s.port)));
    const started = Date.now();
    const trickles = slow.map((p) => trickle(p, head, TRICKLE_MS, () => p.ended.fired));
    await assertOthersServed(s.port);
    await within(2000, "the slow clients to be closed", Promise.all(slow.map((p) => p.socketClosed.promise)));
    const elapsed = Date.now() - started;
    const sent = await Promise.all(trickles);
    for (const p of slow) {
      assert.match(p.text, /^HTTP\/1\.[01] 408 /, `got ${JSON.stringify(p.text)}`);
      assert.match(p.text, /\r\nConnection: close\r\n/i);
    }
    for (const n of sent) assert.ok(n < head.length, `the whole head went through (${n} bytes)`);
    // The limit runs from the first byte; the sweep checks it every 75 ms here.
    assert.ok(elapsed >= 250, `closed after ${elapsed} ms, before headersTimeout`);
    assert.ok(elapsed < 1200, `closed after ${elapsed} ms`);
    assert.equal(rec.readError, null);
    assert.deepEqual(s.log.error, []);
    await assertCleanShutdown(s, baseline);
  } finally {
    await s.close(200);
  }
});

test("a body trickled one byte at a time makes the app's read reject after requestTimeout, and the connection closes", async () => {
  const baseline = activeResources();
  const rec: UploadRecord = { readError: null, readFailed: new Signal() };
  const s = await startServer(uploadApp(rec), { headersTimeout: 0.3, requestTimeout: 0.5 });
  const peer = await Peer.connect(s.port);
  try {
    const started = Date.now();
    await peer.write("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n");
    const trickling = trickle(peer, "b".repeat(1000), TRICKLE_MS, () => peer.ended.fired);
    await assertOthersServed(s.port);
    await within(2000, "the app's read to reject", rec.readFailed.promise);
    const rejectedAfter = Date.now() - started;
    await within(2000, "the slow client to be closed", peer.socketClosed.promise);
    await trickling;
    const err = rec.readError as Error & { code?: string; status?: number };
    assert.equal(err.code, "ERR_REQUEST_TIMEOUT");
    assert.equal(err.status, 408);
    assert.ok(rejectedAfter >= 450 && rejectedAfter < 1500, `the read rejected after ${rejectedAfter} ms`);
    // The app let the error propagate: the server answers with the error's status, and closes.
    assert.match(peer.text, /^HTTP\/1\.[01] 408 /, `got ${JSON.stringify(peer.text)}`);
    await assertCleanShutdown(s, baseline);
  } finally {
    peer.destroy();
    await s.close(200);
  }
});

test("a client trickling a head does not delay a pipelined burst on another connection", async () => {
  const rec: UploadRecord = { readError: null, readFailed: new Signal() };
  const s = await startServer(uploadApp(rec), { headersTimeout: 0.3 });
  const slow = await Peer.connect(s.port);
  const fast = await Peer.connect(s.port);
  try {
    const trickling = trickle(
      slow,
      `GET /ping HTTP/1.1\r\nHost: x\r\nX-Slow: ${"a".repeat(100)}\r\n\r\n`,
      TRICKLE_MS,
      () => slow.ended.fired,
    );
    const started = Date.now();
    await fast.write("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n".repeat(20));
    await within(
      1000,
      "20 pipelined responses",
      (async () => {
        while ((fast.text.match(/HTTP\/1\.1 200 /g) ?? []).length < 20 || !fast.text.endsWith("pong")) {
          await fast.waitForBytes(fast.bytesReceived + 1);
        }
      })(),
    );
    assert.ok(Date.now() - started < 250);
    await within(2000, "the slow client to be closed", slow.socketClosed.promise);
    await trickling;
    assert.match(slow.text, /^HTTP\/1\.[01] 408 /);
    assert.equal(fast.ended.fired, false, "the fast connection is kept alive");
  } finally {
    slow.destroy();
    fast.destroy();
    await s.close(200);
  }
});
