/**
 * Backpressure both ways, measured on a server in a child process
 * (fixtures/mem-server.ts) whose RSS is sampled every 10 ms:
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
import { join } from "node:path";
import { describe, test } from "node:test";
import { repoRoot, spawnNode, type Child } from "./support.js";
import { within } from "../support/wait.js";

const MiB = 1024 * 1024;
const TOTAL = 256 * MiB;
/** The most the server's RSS may grow while moving TOTAL bytes. */
const MAX_GROWTH = 150 * MiB;

interface Memory {
  rss: number;
  peakRss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** The child server and a small request/reply protocol over IPC. */
class MemServer {
  private nextId = 1;
  private readonly replies = new Map<number, (m: Memory) => void>();
  private readonly events: string[] = [];
  private readonly eventWaiters = new Set<() => void>();

  private constructor(
    readonly child: Child,
    readonly port: number,
  ) {}

  static async start(app: "big" | "sink"): Promise<MemServer> {
    const child = spawnNode([join(repoRoot, "dist", "test", "ops", "fixtures", "mem-server.js"), app], { ipc: true });
    try {
      const [msg] = (await within(5000, "the child server to listen", once(child.proc, "message"))) as [{ port: number }];
      const srv = new MemServer(child, msg.port);
      child.proc.on("message", (m: { id?: number; event?: string } & Memory) => {
        if (m.id !== undefined) {
          srv.replies.get(m.id)?.(m);
          srv.replies.delete(m.id);
        } else if (m.event !== undefined) {
          srv.events.push(m.event);
          for (const w of [...srv.eventWaiters]) w();
        }
      });
      return srv;
    } catch (err) {
      await child.kill();
      throw err;
    }
  }

  call(cmd: "memory" | "resetPeak" | "release"): Promise<Memory> {
    const id = this.nextId++;
    const reply = new Promise<Memory>((resolve) => this.replies.set(id, resolve));
    this.child.proc.send({ id, cmd });
    return within(3000, `the child's reply to ${cmd}`, reply);
  }

  waitEvent(name: string, timeoutMs: number): Promise<void> {
    let waiter!: () => void;
    const p = new Promise<void>((resolve) => {
      waiter = () => {
        if (this.events.includes(name)) resolve();
      };
      this.eventWaiters.add(waiter);
      waiter();
    });
    return within(timeoutMs, `the child's ${name} event`, p).finally(() => this.eventWaiters.delete(waiter));
  }

  async stop(): Promise<void> {
    if (this.child.proc.connected) this.child.proc.disconnect();
    await within(2000, "the child to exit", this.child.exited).catch(() => undefined);
    await this.child.kill();
  }
}

/**
 * True once the socket drains, false when no drain comes within `ms`: no
 * event says "the peer stopped reading", so a drain that does not come is the stall.
 */
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

const mb = (n: number): string => `${(n / MiB).toFixed(1)} MiB`;

/**
 * GETs `/?total` and reads the body slowly: after every `burst` bytes it
 * stops reading for `pauseMs`. Resolves with the body's length.
 */
function slowDownload(port: number, total: number, burst: number, pauseMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    let head = Buffer.alloc(0);
    let bodyBytes = -1;
    let nextPause = burst;
    socket.on("error", reject);
    socket.on("close", () => reject(new Error(`closed after ${bodyBytes} body bytes`)));
    socket.on("connect", () => socket.write(`GET /?${total} HTTP/1.1\r\nHost: x\r\n\r\n`));
    socket.on("data", (d: Buffer) => {
      if (bodyBytes < 0) {
        head = Buffer.concat([head, d]);
        const end = head.indexOf("\r\n\r\n");
        if (end === -1) return;
        assert.match(head.toString("latin1", 0, end), /^HTTP\/1\.1 200 /);
        bodyBytes = head.length - end - 4;
      } else {
        bodyBytes += d.length;
      }
      if (bodyBytes >= total) {
        socket.removeAllListeners("close");
        socket.destroy();
        resolve(bodyBytes);
      } else if (bodyBytes >= nextPause) {
        nextPause += burst;
        socket.pause(); // the slow reader: the server's writes must wait for it
        setTimeout(() => socket.resume(), pauseMs);
      }
    });
  });
}

describe("backpressure", () => {
  test("a 256 MiB response to a slow reader: server memory stays bounded", async (t) => {
    const srv = await MemServer.start("big");
    try {
      assert.equal(await within(10_000, "the warm-up download", slowDownload(srv.port, 4 * MiB, MiB, 1)), 4 * MiB);
      const before = await srv.call("resetPeak");
      const t0 = Date.now();
      const got = await within(20_000, "the slow 256 MiB download", slowDownload(srv.port, TOTAL, 8 * MiB, 25));
      const seconds = (Date.now() - t0) / 1000;
      const after = await srv.call("memory");
      const growth = after.peakRss - before.rss;
      t.diagnostic(`slow reader: ${mb(got)} in ${seconds.toFixed(1)} s; server RSS ${mb(before.rss)} before, peak ${mb(after.peakRss)} (growth ${mb(growth)})`);
      assert.equal(got, TOTAL);
      assert.ok(growth < MAX_GROWTH, `server RSS grew by ${mb(growth)}`);
    } finally {
      await srv.stop();
    }
  });

  test("a 256 MiB upload to an app that does not read: the client stalls, server memory stays bounded, then it completes", async (t) => {
    const srv = await MemServer.start("sink");
    const socket = net.connect({ host: "127.0.0.1", port: srv.port });
    try {
      await within(3000, "the connection", once(socket, "connect"));
      const before = await srv.call("resetPeak");
      socket.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${TOTAL}\r\n\r\n`);
      await srv.waitEvent("upload-started", 3000);
      const chunk = Buffer.alloc(64 * 1024, 0x62);
      let written = 0;
      /** Writes until all is written, or no drain comes for `stallMs`. */
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
      assert.equal(await within(10_000, "the client's writes to stall", pump(500)), "stalled");
      const accepted = written - socket.writableLength;
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
      assert.equal(await within(20_000, "the rest of the upload", pump(10_000)), "done");
      const text = await within(10_000, "the response", response);
      const after = await srv.call("memory");
      t.diagnostic(`non-reading app: the rest uploaded in ${((Date.now() - t0) / 1000).toFixed(1)} s once the app read; peak RSS ${mb(after.peakRss)}`);
      assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
      assert.ok(text.endsWith(`\r\n\r\n${TOTAL}`), text);
      assert.ok(after.peakRss - before.rss < MAX_GROWTH, `server RSS grew by ${mb(after.peakRss - before.rss)}`);
    } finally {
      socket.destroy();
      await srv.stop();
    }
  });
});
