/**
 * Fault-test support: raw peers that can stall, trickle or vanish; bodies
 * that count what the server does with them; and a check that a test leaves
 * no TCP handle or timer behind.
 *
 * Every wait here is bounded (test/support/wait.ts). Where the server offers
 * no event for the condition a test needs (its connection count, a generator
 * that stopped being pulled), `until` polls it every few milliseconds up to a limit.
 */

import assert from "node:assert/strict";
import net from "node:net";
import type { Chunk } from "../../src/index.js";
import { Signal, until, within } from "../support/wait.js";
import type { TestServer } from "../support/wire.js";

/**
 * A raw client connection that records everything it receives and when the
 * server ended or closed it.
 */
export class Peer {
  readonly socket: net.Socket;
  private chunks: Buffer[] = [];
  private received = 0;
  private waiters: { bytes: number; signal: Signal }[] = [];
  /** The server sent FIN (or the connection closed). */
  readonly ended = new Signal();
  /** The connection is closed (FIN both ways, or reset). */
  readonly closed = new Signal();
  readonly connected = new Signal();
  errorCode: string | undefined;

  constructor(port: number) {
    this.socket = net.connect({ host: "127.0.0.1", port });
    this.socket.on("connect", () => {
      this.connected.fire();
    });
    this.socket.on("data", (d: Buffer) => {
      this.chunks.push(d);
      this.received += d.length;
      this.waiters = this.waiters.filter((w) => {
        if (this.received < w.bytes) return true;
        w.signal.fire();
        return false;
      });
    });
    this.socket.on("end", () => {
      this.ended.fire();
    });
    this.socket.on("error", (err: NodeJS.ErrnoException) => {
      this.errorCode = err.code;
    });
    this.socket.on("close", () => {
      this.ended.fire();
      this.closed.fire();
      for (const w of this.waiters) w.signal.fire();
      this.waiters = [];
    });
  }

  /** Connects; resolves once the TCP handshake is done. */
  static async open(port: number, ms = 2000): Promise<Peer> {
    const peer = new Peer(port);
    await within(ms, "connect", Promise.race([peer.connected.promise, peer.closed.promise]));
    if (!peer.connected.fired) throw new Error(`connect failed: ${peer.errorCode ?? "closed"}`);
    return peer;
  }

  get data(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  get text(): string {
    return this.data.toString("latin1");
  }

  get bytesReceived(): number {
    return this.received;
  }

  /** Writes and resolves once the bytes were handed to the kernel. */
  write(bytes: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(bytes, "latin1", (err) => {
        if (err) reject(err);
        else resolve();
      });
    });
  }

  /** Resolves once at least `n` bytes in total have arrived, or the connection closed. */
  waitForBytes(n: number, ms = 2000): Promise<void> {
    if (this.received >= n || this.closed.fired) return Promise.resolve();
    const signal = new Signal();
    this.waiters.push({ bytes: n, signal });
    return within(ms, `${n} bytes from the server`, signal.promise);
  }

  /** Resolves once `text` appears in what arrived, or the connection closed. */
  async waitForText(text: string, ms = 2000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.text.includes(text) && !this.closed.fired) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out waiting for ${JSON.stringify(text)}; got ${JSON.stringify(this.text.slice(0, 200))}`,
        );
      await this.waitForBytes(this.received + 1, left).catch(() => {});
    }
  }

  /** The client vanishes: "fin" closes normally, "rst" aborts with a reset. */
  vanish(how: Vanish): void {
    if (how === "rst") this.socket.resetAndDestroy();
    else this.socket.destroy();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export type Vanish = "fin" | "rst";
export const VANISH_KINDS: Vanish[] = ["fin", "rst"];

/** A plain GET that must be answered 200 within `ms`; resolves with the milliseconds it took. */
export async function assertServes(port: number, ms = 1000): Promise<number> {
  const started = Date.now();
  const peer = await Peer.open(port, ms);
  try {
    await peer.write("GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    await within(ms, "a normal request to be answered", peer.ended.promise);
    assert.match(peer.text, /^HTTP\/1\.1 200 /, `a normal request got: ${JSON.stringify(peer.text.slice(0, 120))}`);
    return Date.now() - started;
  } finally {
    peer.destroy();
  }
}

// ---- leak checks ----

/** The resource kinds a leaked connection or timer shows up as. */
const WATCHED = ["TCPSocketWrap", "TCPServerWrap", "Timeout"] as const;

export type ResourceCounts = Record<(typeof WATCHED)[number], number>;

export function activeResources(): ResourceCounts {
  const counts: ResourceCounts = { TCPSocketWrap: 0, TCPServerWrap: 0, Timeout: 0 };
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind in counts) counts[kind as keyof ResourceCounts]++;
  }
  return counts;
}

/**
 * The server has no connection and no request left, is closed, and the
 * process holds no more sockets, listeners or timers than at `baseline`.
 */
export async function assertCleanShutdown(s: TestServer, baseline: ResourceCounts): Promise<void> {
  await until(2000, "connectionCount to return to 0", () => s.server.connectionCount === 0);
  await until(2000, "outstandingRequests to return to 0", () => s.server.outstandingRequests === 0);
  await within(2000, "server close", s.close(500));
  // Handles disappear from the active list once libuv has closed them, a tick or two after 'close'.
  await until(1000, `active resources back to ${JSON.stringify(baseline)}`, () => {
    const now = activeResources();
    return WATCHED.every((k) => now[k] <= baseline[k]);
  }).catch((err: unknown) => {
    const message = err instanceof Error ? err.message : JSON.stringify(err);
    throw new Error(`${message}; now ${JSON.stringify(activeResources())}`, { cause: err });
  });
}

// ---- application bodies that count what the server does with them ----

/** What a tracked body saw. */
export class BodyProbe {
  /** Chunks the iterator produced. */
  produced = 0;
  /** close() calls. */
  closes = 0;
  /** The iterator's own cleanup (a generator's `finally`) ran. */
  finalized = false;
  readonly closed = new Signal();
  readonly firstChunk = new Signal();

  /** The body produced a chunk. */
  countChunk(): void {
    this.produced++;
    this.firstChunk.fire();
  }

  /** The server called the body's close(). */
  countClose(): void {
    this.closes++;
    this.closed.fire();
  }
}

/**
 * An async iterable body with close(): yields `count` chunks of `chunkBytes`,
 * `await`ing `pace` between them (default: one macrotask), and counts close().
 */
export function streamingBody(
  probe: BodyProbe,
  opts: { count: number; chunkBytes: number; pace?: () => Promise<void>; before?: () => void },
): AsyncIterable<Chunk> & { close(): void } {
  const chunk = Buffer.alloc(opts.chunkBytes, 0x61);
  const pace = opts.pace ?? (() => new Promise<void>((resolve) => setImmediate(resolve)));
  return {
    async *[Symbol.asyncIterator]() {
      try {
        opts.before?.();
        for (let i = 0; i < opts.count; i++) {
          probe.countChunk();
          yield chunk;
          await pace();
        }
      } finally {
        probe.finalized = true;
      }
    },
    close() {
      probe.countClose();
    },
  };
}

/** The same with a synchronous generator (no awaits between chunks). */
export function syncStreamingBody(
  probe: BodyProbe,
  opts: { count: number; chunkBytes: number; before?: () => void },
): Iterable<Chunk> & { close(): void } {
  const chunk = Buffer.alloc(opts.chunkBytes, 0x62);
  return {
    *[Symbol.iterator]() {
      try {
        opts.before?.();
        for (let i = 0; i < opts.count; i++) {
          probe.countChunk();
          yield chunk;
        }
      } finally {
        probe.finalized = true;
      }
    },
    close() {
      probe.countClose();
    },
  };
}
