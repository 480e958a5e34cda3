/**
 * A raw client for interactive wire tests: the shared Peer (one connection
 * to 127.0.0.1 that writes exact bytes and waits, always with a bound, for
 * some text or for the server to close) with a read position, so that each
 * next() returns the responses after those it returned before.
 */

import type { App, ServerOptions } from "../../src/index.js";
import { Peer } from "../support/peer.js";
import { completeResponses, withServer, type ParsedResponse, type TestServer } from "../support/wire.js";

export class RawClient extends Peer {
  static override waitMs = 2000;

  /** Offset in `data` of what `next()` has not returned yet. */
  private consumed = 0;

  /** The client's own port (the server's REMOTE_PORT). */
  get localPort(): number {
    return this.socket.localPort as number;
  }

  /** Bytes received after the responses `next()` returned. */
  get unread(): Buffer {
    return this.data.subarray(this.consumed);
  }

  /** The next `n` complete responses (1xx included). */
  async next(n = 1, opts: { head?: boolean; timeoutMs?: number } = {}): Promise<ParsedResponse[]> {
    let found: ParsedResponse[] = [];
    let rest = 0;
    const ready = (): boolean => {
      const { responses, used } = completeResponses(this.unread, { head: opts.head === true, max: n });
      if (responses.length < n) return false;
      found = responses;
      rest = used;
      return true;
    };
    await this.until(ready, opts.timeoutMs, `${n} response(s)`);
    this.consumed += rest;
    return found;
  }
}

/** Runs `fn` with a server for `app` and one RawClient connected to it, both always closed. */
export async function withClient<T>(
  app: App,
  opts: ServerOptions,
  fn: (c: RawClient, s: TestServer) => Promise<T>,
): Promise<T> {
  return withServer(app, opts, async (s) => {
    const c = await RawClient.connect(s.port);
    try {
      return await fn(c, s);
    } finally {
      c.destroy();
    }
  });
}

/** The sizes of the chunks of a chunked body as they are on the wire (the final 0 excluded). */
export function chunkSizes(raw: Buffer): { sizes: number[]; terminated: boolean } {
  const headEnd = raw.indexOf("\r\n\r\n", 0, "latin1");
  let p = headEnd + 4;
  const sizes: number[] = [];
  for (;;) {
    const lineEnd = raw.indexOf("\r\n", p, "latin1");
    if (lineEnd === -1) return { sizes, terminated: false };
    const size = parseInt(raw.toString("latin1", p, lineEnd), 16);
    if (Number.isNaN(size)) return { sizes, terminated: false };
    if (size === 0) return { sizes, terminated: raw.indexOf("\r\n\r\n", lineEnd, "latin1") === lineEnd };
    sizes.push(size);
    p = lineEnd + 2 + size + 2;
    if (p > raw.length) return { sizes, terminated: false };
  }
}
