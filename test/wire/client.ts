/**
 * A raw client for interactive wire tests: one connection to 127.0.0.1
 * that writes exact bytes and waits, always with a bound, for the next
 * responses, for some text, or for the server to close.
 */

import net from "node:net";
import { parseResponses, type ParsedResponse } from "../support/wire.js";

const DEFAULT_WAIT_MS = 2000;

export class RawClient {
  readonly socket: net.Socket;
  /** Everything received so far. */
  data: Buffer = Buffer.alloc(0);
  /** Offset in `data` of what `next()` has not returned yet. */
  private consumed = 0;
  /** The server ended or reset the connection. */
  closed = false;
  private waiters: (() => void)[] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (d: Buffer) => {
      this.data = Buffer.concat([this.data, d]);
      this.wake();
    });
    const onClose = (): void => {
      this.closed = true;
      this.wake();
    };
    socket.on("end", onClose);
    socket.on("close", onClose);
    socket.on("error", onClose);
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: "127.0.0.1", port });
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.removeListener("error", reject);
        resolve(new RawClient(socket));
      });
    });
  }

  /** The client's own port (the server's REMOTE_PORT). */
  get localPort(): number {
    return this.socket.localPort as number;
  }

  get text(): string {
    return this.data.toString("latin1");
  }

  /** Bytes received after the responses `next()` returned. */
  get unread(): Buffer {
    return this.data.subarray(this.consumed);
  }

  write(bytes: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes, (err) =>
        err ? reject(err) : resolve(),
      );
    });
  }

  /** Half-closes our side. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Waits until `cond()` holds, rejecting with `what` after `timeoutMs`. */
  waitFor(cond: () => boolean, what: string, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`timed out waiting for ${what}; received: ${JSON.stringify(this.text)}`));
      }, timeoutMs);
      const check = (): void => {
        if (cond()) {
          clearTimeout(timer);
          resolve();
        } else {
          this.waiters.push(check);
        }
      };
      this.waiters.push(check);
    });
  }

  /** The next `n` complete responses (1xx included). */
  async next(n = 1, opts: { head?: boolean; timeoutMs?: number } = {}): Promise<ParsedResponse[]> {
    let found: ParsedResponse[] = [];
    let rest = 0;
    const ready = (): boolean => {
      const { responses, used } = parsePrefix(this.data.subarray(this.consumed), n, opts.head === true);
      if (responses.length < n) return false;
      found = responses;
      rest = used;
      return true;
    };
    await this.waitFor(ready, `${n} response(s)`, opts.timeoutMs);
    this.consumed += rest;
    return found;
  }

  /** Waits until the received text contains `needle`. */
  waitForText(needle: string, timeoutMs?: number): Promise<void> {
    return this.waitFor(() => this.text.includes(needle), JSON.stringify(needle), timeoutMs);
  }

  /** Waits for the server to close the connection; rejects if it does not within the bound. */
  waitClosed(timeoutMs?: number): Promise<void> {
    return this.waitFor(() => this.closed, "the server to close the connection", timeoutMs);
  }
}

/** Parses as many of the first `n` responses as are complete; `used` is their byte length. */
function parsePrefix(data: Buffer, n: number, head: boolean): { responses: ParsedResponse[]; used: number } {
  const responses: ParsedResponse[] = [];
  let used = 0;
  while (responses.length < n) {
    const end = responseEnd(data, used, head);
    if (end === -1) break;
    const { responses: one } = parseResponses(data.subarray(used, end), { head });
    responses.push(one[0] as ParsedResponse);
    used = end;
  }
  return { responses, used };
}

/** Where the response starting at `start` ends, or -1 while it is incomplete (close-delimited bodies never end). */
function responseEnd(data: Buffer, start: number, head: boolean): number {
  const headEnd = data.indexOf("\r\n\r\n", start, "latin1");
  if (headEnd === -1) return -1;
  const lines = data.toString("latin1", start, headEnd).split("\r\n");
  const status = Number((lines[0] as string).split(" ")[1]);
  const get = (name: string): string | undefined => {
    for (const l of lines.slice(1)) {
      const i = l.indexOf(":");
      if (l.slice(0, i).trim().toLowerCase() === name) return l.slice(i + 1).trim();
    }
    return undefined;
  };
  let p = headEnd + 4;
  if (head || status < 200 || status === 204 || status === 304) return p;
  if ((get("transfer-encoding") ?? "").toLowerCase().includes("chunked")) {
    for (;;) {
      const lineEnd = data.indexOf("\r\n", p, "latin1");
      if (lineEnd === -1) return -1;
      const size = parseInt(data.toString("latin1", p, lineEnd), 16);
      if (size === 0) {
        const end = data.indexOf("\r\n\r\n", lineEnd, "latin1");
        return end === -1 ? -1 : end + 4;
      }
      p = lineEnd + 2 + size + 2;
      if (p > data.length) return -1;
    }
  }
  const cl = get("content-length");
  if (cl === undefined) return -1;
  const end = p + Number(cl);
  return end <= data.length ? end : -1;
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
