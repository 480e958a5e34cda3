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
import { ByteQueue } from "./byte-queue.js";
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
const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });
/** What a waiting call gets while it must go on waiting. */
const NOT_READY = Symbol("not ready");

/** What a waiting call wants: `size` bytes, a line, lines, the next chunk, or the end of the body. */
const enum Want {
  Bytes,
  Line,
  Lines,
  Chunk,
  End,
}

/**
 * A call that could not finish with the bytes at hand, settled by push/end/fail strictly in call
 * order (reads started without awaiting each get the bytes in the order asked): one object per wait.
 */
interface Waiting {
  want: Want;
  /** Bytes (Bytes), the line limit (Line), the size hint (Lines); -1: none. */
  size: number;
  resolve: (value: never) => void;
  reject: (err: Error) => void;
  /** Lines: those read so far, and their total length. */
  lines: Buffer[] | null;
  total: number;
}

export class Input implements AsyncIterable<Buffer> {
  private readonly source: InputSource;
  /** Body bytes received and not yet read. */
  private readonly bytes = new ByteQueue();
  private ended: boolean;
  private failure: Error | null = null;
  /** Calls waiting for bytes, the end or a failure, oldest first. */
  private readonly waits: Waiting[] = [];
  private discarding = false;
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
    this.bytes.push(data);
    if (this.waits.length > 0) this.settle();
  }

  /** The body is complete. */
  end(): void {
    this.ended = true;
    if (this.waits.length > 0) this.settle();
  }

  /** A further body follows, read through this Input (a second 100 Continue with a chunked body). */
  reopen(): void {
    if (this.failure === null) this.ended = false;
  }

  /** The body cannot be completed (client gone, malformed chunk). */
  fail(err: Error): void {
    if (this.ended) return;
    this.failure = err;
    if (this.waits.length > 0) this.settle();
  }

  /** Bytes received but not yet read by the application. */
  get buffered(): number {
    return this.bytes.length;
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
    return this.waits.length > 0;
  }

  /** The exchange is over: the application-side calls that act on the connection stop working. */
  retire(): void {
    this.retired = true;
  }

  /** Drop what is queued and all that comes (the server's discard between requests). */
  drop(): void {
    this.discarding = true;
    this.bytes.clear();
  }

  // ---- the application's side ----

  /**
   * Up to `size` bytes (all that is left when size is absent or negative);
   * empty at the end. Bytes already buffered are answered at once, as one
   * view when they lie in one received chunk.
   */
  read(size: number = -1): Promise<Buffer> {
    this.beforeRead();
    if (size === 0) return Promise.resolve(EMPTY);
    if (this.waits.length === 0) {
      const n = this.bytesReady(size);
      if (n >= 0) return Promise.resolve(this.take(n));
    }
    return this.wait(Want.Bytes, size);
  }

  /** Up to and including the next LF, or `size` bytes, or what is left at the end. */
  readline(size: number = -1): Promise<Buffer> {
    this.beforeRead();
    if (size === 0) return Promise.resolve(EMPTY);
    if (this.waits.length === 0) {
      const n = this.lineReady(size);
      if (n >= 0) return Promise.resolve(this.take(n));
    }
    return this.wait(Want.Line, size);
  }

  /** Lines until the end, or until their total reaches `hint`. */
  readlines(hint: number = -1): Promise<Buffer[]> {
    this.beforeRead();
    return this.wait(Want.Lines, hint);
  }

  /** The body's bytes as they arrive, each received chunk as it is (no copy). */
  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    this.beforeRead();
    let finished = false;
    return {
      next: (): Promise<IteratorResult<Buffer>> => {
        if (finished) return Promise.resolve(DONE);
        if (this.waits.length === 0) {
          if (this.bytes.length > 0)
            return Promise.resolve({ done: false, value: this.take(this.bytes.firstChunkLength) });
          if (this.ended) {
            finished = true;
            return Promise.resolve(DONE);
          }
        }
        return this.wait<Buffer>(Want.Chunk, -1).then((value) => {
          if (value.length > 0) return { done: false, value };
          finished = true;
          return DONE;
        });
      },
      return: (): Promise<IteratorResult<Buffer>> => {
        finished = true;
        return Promise.resolve(DONE);
      },
    };
  }

  /** Reads and drops the rest of the body. */
  discard(): Promise<void> {
    this.beforeRead();
    this.drop();
    this.source.consumed();
    return this.ended ? Promise.resolve() : this.wait(Want.End, -1);
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

  /** Queues a call behind the waiting ones; the first in line is tried at once (it may finish, or make progress). */
  private wait<T>(want: Want, size: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waits.push({ want, size, resolve, reject, lines: null, total: 0 });
      if (this.waits.length === 1) this.settle();
      // A reader that waits for more bytes than are buffered needs the socket read,
      // whatever the high-water mark says, or it would wait forever.
      if (this.waits.length > 0) this.source.consumed();
    });
  }

  /** Settles the waiting calls that can finish now, oldest first; the first that cannot stops the rest. */
  private settle(): void {
    const waits = this.waits;
    while (waits.length > 0) {
      const w = waits[0] as Waiting;
      let value: unknown;
      try {
        value = this.attempt(w);
      } catch (err) {
        waits.shift();
        w.reject(err as Error);
        continue;
      }
      if (value === NOT_READY) {
        if (this.failure === null) return;
        waits.shift();
        w.reject(this.failure);
        continue;
      }
      waits.shift();
      (w.resolve as (v: unknown) => void)(value);
    }
  }

  /** What a waiting call gets now, or NOT_READY while it must wait. */
  private attempt(w: Waiting): unknown {
    switch (w.want) {
      case Want.Bytes: {
        const n = this.bytesReady(w.size);
        return n < 0 ? NOT_READY : this.take(n);
      }
      case Want.Line: {
        const n = this.lineReady(w.size);
        return n < 0 ? NOT_READY : this.take(n);
      }
      case Want.Chunk:
        if (this.bytes.length > 0) return this.take(this.bytes.firstChunkLength);
        return this.ended ? EMPTY : NOT_READY;
      case Want.End:
        return this.ended ? undefined : NOT_READY;
      case Want.Lines:
        return this.moreLines(w);
    }
  }

  /** readlines: takes every complete line; the list once the end or the hint is reached. */
  private moreLines(w: Waiting): Buffer[] | typeof NOT_READY {
    const lines = (w.lines ??= []);
    for (;;) {
      const n = this.lineReady(-1);
      if (n < 0) return NOT_READY;
      if (n === 0) return lines; // the end
      const line = this.take(n);
      lines.push(line);
      w.total += line.length;
      if (w.size > 0 && w.total >= w.size) return lines;
    }
  }

  /** Takes n bytes off the queue (see ByteQueue.take); the connection may read on. */
  private take(n: number): Buffer {
    const out = this.bytes.take(n);
    if (n > 0) this.source.consumed();
    return out;
  }

  private bytesReady(size: number): number {
    return this.bytes.bytesReady(size, this.ended);
  }

  private lineReady(size: number): number {
    return this.bytes.lineReady(size, this.ended);
  }
}
