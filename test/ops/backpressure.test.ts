/**
 * Backpressure both ways, measured on a server in a child process
 * (bench/memory-server.ts, the one bench/memory.ts measures, driven through
 * bench/memory-client.ts) whose RSS is sampled every 10 ms:
 * - a 256 MiB response to a client that reads slowly: the server waits for
 *   drain before taking the next chunk from the app, so its memory stays
 *   bounded whatever the response size;
 * - a 256 MiB upload to an app that does not read wsgi.input: the server
 *   stops reading the socket, so the client's writes stall and the server's
 *   memory stays bounded; once the app reads, the upload completes.
 */

import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { describe, test } from "node:test";
import { download, MEMORY_SERVER, MemoryServer, Upload } from "../../bench/memory-client.js";
import { within } from "../support/wait.js";
import { spawnNode } from "./support.js";

const MiB = 1024 * 1024;
const TOTAL = 256 * MiB;
/** The most the server's RSS may grow while moving TOTAL bytes. */
const MAX_GROWTH = 150 * MiB;

/** Runs `fn` with the memory server in a child process that is always stopped, and killed if need be. */
async function withMemoryServer(fn: (srv: MemoryServer) => Promise<void>): Promise<void> {
  const child = spawnNode([MEMORY_SERVER], { ipc: true });
  try {
    const srv = await MemoryServer.attach(child.proc, 5000);
    try {
      await fn(srv);
    } finally {
      await srv.stop(2000);
    }
  } finally {
    await child.kill();
  }
}

const mb = (n: number): string => `${(n / MiB).toFixed(1)} MiB`;

/** Reads a `total`-byte response slowly: after every `burst` bytes it stops reading for `pauseMs`. */
const slowDownload = (port: number, total: number, burst: number, pauseMs: number): Promise<number> =>
  download(port, false, total, { burst, pauseMs });

describe("backpressure", () => {
  test("a 256 MiB response to a slow reader: server memory stays bounded", async (t) => {
    await withMemoryServer(async (srv) => {
      assert.equal(await within(10_000, "the warm-up download", slowDownload(srv.port, 4 * MiB, MiB, 1)), 4 * MiB);
      const before = await srv.call("resetPeak");
      const t0 = Date.now();
      const got = await within(20_000, "the slow 256 MiB download", slowDownload(srv.port, TOTAL, 8 * MiB, 25));
      const seconds = (Date.now() - t0) / 1000;
      const after = await srv.call("memory");
      const growth = after.peakRss - before.rss;
      t.diagnostic(
        `slow reader: ${mb(got)} in ${seconds.toFixed(1)} s; server RSS ${mb(before.rss)} before, peak ${mb(after.peakRss)} (growth ${mb(growth)})`,
      );
      assert.equal(got, TOTAL);
      assert.ok(growth < MAX_GROWTH, `server RSS grew by ${mb(growth)}`);
    });
  });

  test("a 256 MiB upload to an app that does not read: the client stalls, server memory stays bounded, then it completes", async (t) => {
    await withMemoryServer(async (srv) => {
      const socket = net.connect({ host: "127.0.0.1", port: srv.port });
      try {
        await within(3000, "the connection", once(socket, "connect"));
        const before = await srv.call("resetPeak");
        socket.write(`POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: ${TOTAL}\r\n\r\n`);
        await srv.waitEvent("upload-started", 3000);
        const upload = new Upload(socket, TOTAL);
        assert.equal(await within(10_000, "the client's writes to stall", upload.pump(500)), "stalled");
        const accepted = upload.accepted;
        const stalled = await srv.call("memory");
        const stallGrowth = stalled.peakRss - before.rss;
        t.diagnostic(
          `non-reading app: client stalled after ${mb(accepted)} of ${mb(TOTAL)} left it; server RSS ${mb(before.rss)} before, peak ${mb(stalled.peakRss)} while stalled (growth ${mb(stallGrowth)})`,
        );
        assert.ok(accepted < 64 * MiB, `the kernel and the server took ${mb(accepted)} before the stall`);
        assert.ok(stallGrowth < MAX_GROWTH, `server RSS grew by ${mb(stallGrowth)}`);

        // The app starts reading: the socket is read again and the upload completes.
        const response = new Promise<string>((resolve, reject) => {
          let text = "";
          socket.setEncoding("latin1");
          socket.on("data", (d: string) => {
            text += d;
            if (/\r\n\r\n\d+$/.test(text) && text.endsWith(String(TOTAL))) resolve(text);
          });
          socket.on("error", reject);
        });
        await srv.call("release");
        const t0 = Date.now();
        assert.equal(await within(20_000, "the rest of the upload", upload.pump(10_000)), "done");
        const text = await within(10_000, "the response", response);
        const after = await srv.call("memory");
        t.diagnostic(
          `non-reading app: the rest uploaded in ${((Date.now() - t0) / 1000).toFixed(1)} s once the app read; peak RSS ${mb(after.peakRss)}`,
        );
        assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
        assert.ok(text.endsWith(`\r\n\r\n${TOTAL}`), text);
        assert.ok(after.peakRss - before.rss < MAX_GROWTH, `server RSS grew by ${mb(after.peakRss - before.rss)}`);
      } finally {
        socket.destroy();
      }
    });
  });
});
