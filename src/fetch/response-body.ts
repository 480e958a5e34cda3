/**
 * A fetch Response's body as a WSGI body.
 *
 * - A body of known length (a string, bytes, a Blob) becomes a one-item
 *   array: the gateway gives it a Content-Length and writes it at once.
 *   For a native (undici) Response the source it was made from is read from
 *   its internal state when Node's undici exposes it (checked once at load,
 *   on a probe); otherwise the body is streamed.
 * - A stream becomes an async iterable over its reader. The gateway flushes
 *   each chunk as it comes (the caller sets `minimum_write_chunk_size` to 0),
 *   pulls the next one only once the socket has taken the last batch
 *   (backpressure), and calls `return()` when the client leaves: the stream
 *   is cancelled, which is how a Hono stream learns of the abort. A stream
 *   that errors makes the gateway cut the connection without a final chunk.
 */

import type { Body, Chunk } from "../gateway/types.js";
import { SOCKET_BATCH_BYTES } from "../limits.js";
import { responseSource } from "./undici-state.js";

/** A Response's body as it would be sent: known bytes, a stream, or nothing. */
export type ResponseBody =
  | { kind: "none" }
  | { kind: "known"; chunk: Chunk | Promise<Chunk> }
  | { kind: "stream"; stream: ReadableStream<unknown> };

/** What `res` holds, read without consuming a stream. */
export function classifyBody(res: { body: unknown }): ResponseBody {
  const source = responseSource(res);
  if (source !== undefined) {
    if (source instanceof Blob) return { kind: "known", chunk: source.arrayBuffer().then((b) => new Uint8Array(b)) };
    return { kind: "known", chunk: source };
  }
  const body = res.body;
  if (body === null || body === undefined) return { kind: "none" };
  if (typeof body === "string" || body instanceof Uint8Array) return { kind: "known", chunk: body };
  if (typeof (body as ReadableStream).getReader === "function")
    return { kind: "stream", stream: body as ReadableStream };
  throw new TypeError(`the Response's body is ${Object.prototype.toString.call(body)}, not a ReadableStream`);
}

/** The most a stream is read ahead of the socket: past it, the stream waits for the server to take what it gave. */
const READ_AHEAD_BYTES = SOCKET_BATCH_BYTES;

function chunkBytes(chunk: unknown): number {
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  return typeof chunk === "string" ? chunk.length : 1;
}

/**
 * A stream as a WSGI body. `begin(length)` calls start_response, lazily,
 * before the first chunk goes out: with the body's length when the stream
 * turned out to hold one chunk and to be closed within the same tick (a
 * Response re-wrapped by middleware, `new Response(res.body, res)`, is such
 * a stream), so that body goes out with a Content-Length in one write, as a
 * string would; with null otherwise (chunked). `onClose` runs once, when the
 * gateway is done with the body.
 *
 * The stream is read ahead of the gateway, at most READ_AHEAD_BYTES
 * (backpressure: past that, no read is pending, so a producer awaiting its
 * writes waits). A pending next() is answered on the next tick (before any
 * timer or I/O) with every chunk that came in this tick, joined: SSE events
 * written in a loop cost the gateway one step, not one each, and none is
 * held back past the tick it was written in.
 */
export function streamBody(
  stream: ReadableStream<unknown>,
  begin: (length: number | null) => void,
  onClose: () => void,
): Body {
  const reader = stream.getReader();
  const queue: Chunk[] = [];
  let queued = 0;
  let ended = false;
  let failure: { error: unknown } | null = null;
  let reading = false;
  let stopped = false;
  let started = false;
  let waiter: (() => void) | null = null;
  let wakeQueued = false;

  const wake = (): void => {
    wakeQueued = false;
    const w = waiter;
    waiter = null;
    w?.();
  };
  const notify = (): void => {
    if (waiter !== null && !wakeQueued) {
      wakeQueued = true;
      process.nextTick(wake);
    }
  };
  const onRead = (r: { done: boolean; value?: unknown }): void => {
    reading = false;
    if (stopped) return;
    if (r.done) ended = true;
    else {
      queue.push(r.value as Chunk);
      queued += chunkBytes(r.value);
    }
    notify();
    pump();
  };
  const onError = (err: unknown): void => {
    reading = false;
    failure = { error: err };
    notify();
  };
  function pump(): void {
    if (reading || ended || stopped || failure !== null || queued >= READ_AHEAD_BYTES) return;
    reading = true;
    reader.read().then(onRead, onError);
  }

  /** What was read: the leading bytes chunks joined (anything else alone, for the gateway to judge). */
  function drain(): Chunk {
    let n = 0;
    while (n < queue.length && queue[n] instanceof Uint8Array) n++;
    let value: Chunk;
    if (n <= 1) value = queue.shift() as Chunk;
    else value = Buffer.concat(queue.splice(0, n) as Uint8Array[]);
    queued = 0;
    for (const c of queue) queued += chunkBytes(c);
    pump();
    return value;
  }

  /** Waits for the next tick in which something was read, ended or failed. */
  function settled(): Promise<void> {
    if (queue.length > 0 || ended || failure !== null) return Promise.resolve();
    return new Promise<void>((resolve) => {
      waiter = resolve;
      pump();
    });
  }

  function take(): IteratorResult<Chunk> {
    if (queue.length > 0) return { done: false, value: drain() };
    if (failure !== null) throw failure.error;
    return { done: true, value: undefined };
  }

  async function first(): Promise<IteratorResult<Chunk>> {
    started = true;
    await settled();
    if (stopped) return { done: true, value: undefined };
    if (queue.length === 0) {
      if (failure !== null) throw failure.error;
      begin(0);
      return { done: true, value: undefined };
    }
    const only = queue[0];
    if (queue.length === 1 && ended && (typeof only === "string" || only instanceof Uint8Array))
      begin(typeof only === "string" ? Buffer.byteLength(only) : only.byteLength);
    else begin(null);
    return take();
  }

  const stop = (): Promise<void> | undefined => {
    if (stopped) return undefined;
    stopped = true;
    queue.length = 0;
    // A next() still waiting ends (done) rather than stay pending for ever.
    const w = waiter;
    waiter = null;
    w?.();
    return reader.cancel().catch(() => {});
  };

  const iterator: AsyncIterator<Chunk> = {
    next: () => {
      if (!started) return first();
      if (queue.length > 0) return Promise.resolve({ done: false, value: drain() });
      return settled().then(take);
    },
    return: async () => {
      await stop();
      return { done: true, value: undefined };
    },
  };
  return {
    [Symbol.asyncIterator]: () => iterator,
    close: () => {
      // Over without being read to the end (an error, the client gone): let the stream's source stop.
      if (!ended) void stop();
      onClose();
    },
  };
}
