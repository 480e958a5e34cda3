/**
 * wsgi.input: the request body, read asynchronously.
 *
 * The connection pushes decoded body bytes in as they arrive (`push`,
 * `end`, `fail`); the application pulls them out with `read`, `readline`,
 * `readlines`, async iteration or `discard`. Reads follow Python's file
 * semantics as eventlet's Input does: `read(n)` waits until n bytes or the
 * end of the body are there. The first read of a request that said
 * `Expect: 100-continue` sends the `100 Continue` first (RFC 9110 §10.1.1).
 *
 * Backpressure: the connection stops reading the socket while `buffered`
 * is above its high-water mark; each read that takes bytes calls
 * `source.consumed()` so the connection can start reading again.
 */

import { continueResponse } from "../http1/response-head.js";
import { checkContinueHeaders } from "./start-response.js";

/**
 * Whether a request gets a 100 Continue at its first read (RFC 9110 §10.1.1):
 * it said `Expect: 100-continue` on HTTP/1.1 (request-framing.ts ignores it on
 * HTTP/1.0), and the server speaks HTTP/1.1 — 1xx responses are HTTP/1.1's
 * (RFC 9110 §15.2), and a server limited to HTTP/1.0 says HTTP/1.0 in all else.
 */
export function expectsContinue(requestExpects: boolean, serverHttp11: boolean): boolean {
  return requestExpects && serverHttp11;
}

/** What Input needs from the connection. */
export interface InputSource {
  /** Writes an interim response (a 100 Continue, rendered here) ahead of the final one, now. */
  writeInterim(response: string): void;
  /**
   * A further 100 Continue went out: a chunked body that was complete may be followed by
   * another, read through the same Input (docs/api.md, Input; eventlet's multi-phase uploads).
   */
  expectAnotherBody(): void;
  /** Response headers are capitalised (capitalizeResponseHeaders). */
  readonly capitalizeResponseHeaders: boolean;
  /** The final response's head has been written. */
  readonly finalResponseStarted: boolean;
  /** The application took bytes out, or waits for more (`waiting`): reading may resume. */
  consumed(): void;
  /** The connection's socket, handed over to the application. */
  takeSocket(): unknown;
}

const EMPTY = Buffer.alloc(0);
const NL = 0x0a;

export class Input implements AsyncIterable<Buffer> {
  private readonly source: InputSource;
  private chunks: Buffer[] = [];
  /** Bytes in `chunks`. */
  private queued = 0;
  private ended: boolean;
  private failure: Error | null = null;
  /** Waits for the next push, end or failure (a read, and maybe an iteration beside it). */
  private wakers: (() => void)[] = [];
  /** read/readline/readlines calls not yet settled: a new one runs after them, so bytes go in call order. */
  private inFlight = 0;
  /** Settles (never rejects) when the last of those calls has. */
  private tail: Promise<unknown> = Promise.resolve();
  private discarding = false;
  /** Bytes before this offset of the queue are known to hold no LF (readline). */
  private scannedNoLf = 0;
  /** The request said Expect: 100-continue. */
  readonly continueExpected: boolean;
  /** A 100 Continue has been written. */
  continueSent = false;
  private continueHeaders = "";
  /**
   * The request's response is over: an application that kept this Input must
   * not send a 100 Continue or take the socket while the connection may
   * already be serving the next request.
   */
  private retired = false;

  constructor(source: InputSource, continueExpected: boolean, empty: boolean) {
    this.source = source;
    this.continueExpected = continueExpected;
    this.ended = empty;
  }

  // ---- the connection's side ----

  /** Body bytes received and decoded. */
  push(data: Buffer): void {
    if (this.discarding || data.length === 0) return;
    this.chunks.push(data);
    this.queued += data.length;
    this.signal();
  }

  /** The body is complete. */
  end(): void {
    this.ended = true;
    this.signal();
  }

  /** A further body follows, read through this Input (a second 100 Continue with a chunked body). */
  reopen(): void {
    if (this.failure === null) this.ended = false;
  }

  /** The body cannot be completed (client gone, malformed chunk). */
  fail(err: Error): void {
    if (this.ended) return;
    this.failure = err;
    this.signal();
  }

  /** Bytes received but not yet read by the application. */
  get buffered(): number {
    return this.queued;
  }

  /** The whole body has arrived (whether or not it was read). */
  get complete(): boolean {
    return this.ended;
  }

  get error(): Error | null {
    return this.failure;
  }

  /** A read is waiting for bytes that have not arrived. */
  get waiting(): boolean {
    return this.wakers.length > 0;
  }

  /** The exchange is over: the application-side calls that act on the connection stop working. */
  retire(): void {
    this.retired = true;
  }

  /** Drop what is queued and all that comes (the server's discard between requests). */
  drop(): void {
    this.discarding = true;
    this.chunks = [];
    this.queued = 0;
  }

  // ---- the application's side ----

  /** Up to `size` bytes (all that is left when size is absent or negative); empty at the end. */
  read(size: number = -1): Promise<Buffer> {
    this.beforeRead();
    if (size === 0) return Promise.resolve(EMPTY);
    if (this.inFlight === 0 && (size < 0 ? this.ended : this.queued >= size || this.ended)) {
      return Promise.resolve(this.take(size < 0 ? this.queued : Math.min(size, this.queued)));
    }
    return this.inTurn(() => this.readSlow(size));
  }

  /**
   * Runs a read once the reads called before it have settled: an app that
   * starts several without awaiting each gets the bytes in the order it
   * asked for them, and none waits forever behind another.
   */
  private inTurn<T>(op: () => Promise<T>): Promise<T> {
    const run = this.inFlight === 0 ? op() : this.tail.then(op);
    this.inFlight++;
    const settled = (): void => {
      this.inFlight--;
    };
    this.tail = run.then(settled, settled);
    return run;
  }

  private async readSlow(size: number): Promise<Buffer> {
    while (!(size < 0 ? this.ended : this.queued >= size || this.ended)) {
      if (this.failure !== null) throw this.failure;
      await this.nextEvent();
    }
    return this.take(size < 0 ? this.queued : Math.min(size, this.queued));
  }

  /** Up to and including the next LF, or `size` bytes, or what is left at the end. */
  readline(size: number = -1): Promise<Buffer> {
    this.beforeRead();
    if (size === 0) return Promise.resolve(EMPTY);
    if (this.inFlight === 0) {
      const n = this.lineReady(size);
      if (n >= 0) return Promise.resolve(this.take(n));
    }
    return this.inTurn(() => this.readlineNow(size));
  }

  private async readlineNow(size: number): Promise<Buffer> {
    for (;;) {
      const n = this.lineReady(size);
      if (n >= 0) return this.take(n);
      if (this.failure !== null) throw this.failure;
      await this.nextEvent();
    }
  }

  /** The bytes readline(size) can take now, or -1 while it must wait. */
  private lineReady(size: number): number {
    const lf = this.findLf();
    if (lf !== -1 && (size < 0 || lf < size)) return lf + 1;
    if (size >= 0 && this.queued >= size) return size;
    if (this.ended) return this.queued;
    return -1;
  }

  /** Lines until the end, or until their total reaches `hint`. */
  readlines(hint: number = -1): Promise<Buffer[]> {
    this.beforeRead();
    return this.inTurn(() => this.readlinesNow(hint));
  }

  private async readlinesNow(hint: number): Promise<Buffer[]> {
    const lines: Buffer[] = [];
    let total = 0;
    for (;;) {
      const line = await this.readlineNow(-1);
      if (line.length === 0) return lines;
      lines.push(line);
      total += line.length;
      if (hint > 0 && total >= hint) return lines;
    }
  }

  /** The body's bytes as they arrive. */
  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    this.beforeRead();
    for (;;) {
      if (this.queued > 0) {
        yield this.take(this.chunks[0]!.length);
        continue;
      }
      if (this.ended) return;
      if (this.failure !== null) throw this.failure;
      await this.nextEvent();
    }
  }

  /** Reads and drops the rest of the body. */
  async discard(): Promise<void> {
    this.beforeRead();
    this.drop();
    this.source.consumed();
    while (!this.ended) {
      if (this.failure !== null) throw this.failure;
      await this.nextEvent();
    }
  }

  /** The connection's socket: the application takes the connection over. */
  getSocket(): unknown {
    if (this.retired)
      throw new Error("getSocket(): this request's response is over; the connection is no longer its to take");
    return this.source.takeSocket();
  }

  /** Headers for the 100 Continue response, capitalized like response headers. */
  setHundredContinueResponseHeaders(headers: [string, string][]): void {
    this.continueHeaders = checkContinueHeaders(headers, this.source.capitalizeResponseHeaders);
  }

  /**
   * Sends 100 Continue now; a no-op once the final response has started, and
   * when the request did not expect one (RFC 9110 §15.2: never to an HTTP/1.0 client),
   * and once its response is over (the connection may carry the next request's).
   */
  sendHundredContinueResponse(): Promise<void> {
    if (this.continueExpected && !this.retired && !this.source.finalResponseStarted) {
      const again = this.continueSent;
      this.continueSent = true;
      this.source.writeInterim(continueResponse(this.continueHeaders));
      if (again) this.source.expectAnotherBody();
    }
    return Promise.resolve();
  }

  // ---- internals ----

  private beforeRead(): void {
    if (this.continueExpected && !this.continueSent) void this.sendHundredContinueResponse();
  }

  /** Wakes every waiting read, oldest first; each checks again whether it can finish, so none is left waiting. */
  private signal(): void {
    if (this.wakers.length === 0) return;
    const wakers = this.wakers;
    this.wakers = [];
    for (const wake of wakers) wake();
  }

  private nextEvent(): Promise<void> {
    return new Promise((resolve) => {
      this.wakers.push(resolve);
      // A reader that waits for more bytes than are buffered needs the socket read,
      // whatever the high-water mark says, or it would wait forever.
      this.source.consumed();
    });
  }

  /** Offset of the first LF in the queue, or -1. */
  private findLf(): number {
    let offset = 0;
    for (const chunk of this.chunks) {
      if (offset + chunk.length > this.scannedNoLf) {
        const from = Math.max(0, this.scannedNoLf - offset);
        const at = chunk.indexOf(NL, from);
        if (at !== -1) return offset + at;
      }
      offset += chunk.length;
    }
    this.scannedNoLf = offset;
    return -1;
  }

  /** Takes n bytes (n <= queued) off the front of the queue. */
  private take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const first = this.chunks[0] as Buffer;
    let out: Buffer;
    if (first.length === n) {
      this.chunks.shift();
      out = first;
    } else if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      out = first.subarray(0, n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const c = this.chunks[0] as Buffer;
        const want = n - filled;
        if (c.length <= want) {
          c.copy(out, filled);
          filled += c.length;
          this.chunks.shift();
        } else {
          c.copy(out, filled, 0, want);
          this.chunks[0] = c.subarray(want);
          filled += want;
        }
      }
    }
    this.queued -= n;
    this.scannedNoLf = Math.max(0, this.scannedNoLf - n);
    this.source.consumed();
    return out;
  }
}
