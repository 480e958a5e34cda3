/**
 * Thousands of connections that connect and say nothing. Each costs the
 * server a socket and nothing more: a normal request is still served at
 * once (given slots for it), a keepalive timeout clears them, and once the
 * clients go the server holds nothing.
 */

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { hello, startServer } from "../support/wire.js";
import { Peer, activeResources, assertCleanShutdown, assertServes } from "./support.js";
import { until, within } from "../support/wait.js";

/** Descriptors this process may open: both ends of each connection live here. */
function descriptorLimit(): number {
  const out = execFileSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).trim();
  return out === "unlimited" ? 1 << 20 : Number(out);
}

/** Connections to open: 2,000, or fewer when the descriptor limit would not allow both ends plus headroom. */
const IDLE = Math.max(50, Math.min(2000, Math.floor((descriptorLimit() - 256) / 2)));

/** Opens `n` connections, `batch` at a time. */
async function openMany(port: number, n: number, batch = 200): Promise<Peer[]> {
  const peers: Peer[] = [];
  try {
    while (peers.length < n) {
      const size = Math.min(batch, n - peers.length);
      peers.push(...(await Promise.all(Array.from({ length: size }, () => Peer.connect(port, 5000)))));
    }
  } catch (err) {
    for (const p of peers) p.destroy();
    throw err;
  }
  return peers;
}

test(`${IDLE} idle connections: a normal request is still served promptly, and all are closed at the end`, async () => {
  const baseline = activeResources();
  const s = await startServer(hello, { maxSize: IDLE + 100 }, { backlog: 4096 });
  let peers: Peer[] = [];
  try {
    peers = await openMany(s.port, IDLE);
    await until(5000, `the server to accept ${IDLE} connections`, () => s.server.connectionCount === IDLE);
    const ms = await assertServes(s.port, 2000);
    assert.ok(ms < 500, `a normal request took ${ms} ms next to ${IDLE} idle connections`);
    assert.equal(s.server.outstandingRequests, 0);
    // Idle connections are not dropped by the server under the default options (eventlet's keepalive=True).
    assert.equal(peers.filter((p) => p.ended.fired).length, 0);
    for (const p of peers) p.destroy();
    await assertCleanShutdown(s, baseline);
  } finally {
    for (const p of peers) p.destroy();
    await s.close(200);
  }
});

test("connections that never send a byte hold slots only until headersTimeout; a request queued behind them is then served", async () => {
  const baseline = activeResources();
  const maxSize = 200;
  const idle = Math.min(IDLE, 300);
  // A new connection's wait for its first byte is bounded by headersTimeout (keepalive bounds later waits).
  const s = await startServer(hello, { maxSize, headersTimeout: 0.4 }, { backlog: 4096 });
  let peers: Peer[] = [];
  try {
    peers = await openMany(s.port, idle);
    await until(2000, "maxSize connections served", () => s.server.connectionCount === maxSize);
    const started = Date.now();
    // Queued behind `idle - maxSize` idle connections: served once the first maxSize expire (0.4 s), then those.
    const ms = await assertServes(s.port, 3000);
    assert.ok(ms < 2000, `served after ${ms} ms`);
    await within(
      3000,
      "every idle connection to be closed by headersTimeout",
      Promise.all(peers.map((p) => p.socketClosed.promise)),
    );
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 2500, `idle connections closed after ${elapsed} ms`);
    // Closed silently: no 408 or any other byte for a connection that never began a request.
    assert.equal(peers.filter((p) => p.bytesReceived > 0).length, 0);
    await assertCleanShutdown(s, baseline);
  } finally {
    for (const p of peers) p.destroy();
    await s.close(200);
  }
});
