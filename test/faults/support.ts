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
import type { Chunk } from "../../src/index.js";
import { Peer } from "../support/peer.js";
import { Signal, until, within } from "../support/wait.js";
import type { TestServer } from "../support/wire.js";

export { Peer, VANISH_KINDS, type Vanish } from "../support/peer.js";

/** A plain GET that must be answered 200 within `ms`; resolves with the milliseconds it took. */
export async function assertServes(port: number, ms = 1000): Promise<number> {
  const started = Date.now();
  const peer = await Peer.connect(port, ms);
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
    throw new Error(`${(err as Error).message}; now ${JSON.stringify(activeResources())}`);
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
