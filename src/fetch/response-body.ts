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

/** Resolves with the read's result if it settles within a few microtask turns, else with null. */
function readSoon<T>(read: Promise<T>): Promise<T | null> {
  const later = Promise.resolve()
    .then(() => undefined)
    .then(() => null);
  return Promise.race([read, later]);
}

/**
 * A stream as a WSGI body. `begin(length)` calls start_response, lazily,
 * before the first chunk goes out: with the body's length when the stream
 * turned out to hold one chunk and to be closed right after it (a Response
 * re-wrapped by middleware, `new Response(res.body, res)`, is such a stream),
 * so that body goes out with a Content-Length in one write, as a string
 * would; with null otherwise (chunked). `onClose` runs once, when the
 * gateway is done with the body.
 */
export function streamBody(
  stream: ReadableStream<unknown>,
  begin: (length: number | null) => void,
  onClose: () => void,
): Body {
  const reader = stream.getReader();
  let done = false;
  /** Read ahead while the first chunk was looked at. */
  let ahead: Promise<IteratorResult<Chunk>> | null = null;
  let started = false;

  async function first(): Promise<IteratorResult<Chunk>> {
    started = true;
    const r = await reader.read();
    if (r.done) {
      begin(0);
      return { done: true, value: undefined };
    }
    const chunk = r.value as Chunk;
    const next = reader.read() as Promise<IteratorResult<Chunk>>;
    // A read that fails this soon fails mid-body all the same: the first chunk still goes out.
    const soon = await readSoon(next).catch(() => null);
    if (soon?.done === true && (typeof chunk === "string" || chunk instanceof Uint8Array)) {
      begin(typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.byteLength);
    } else {
      begin(null);
      ahead = next;
    }
    return { done: false, value: chunk };
  }

  const iterator: AsyncIterator<Chunk> = {
    next: () => {
      if (!started) return first();
      if (ahead !== null) {
        const r = ahead;
        ahead = null;
        return r;
      }
      return reader.read() as Promise<IteratorResult<Chunk>>;
    },
    return: async () => {
      if (!done) {
        done = true;
        await reader.cancel().catch(() => {});
      }
      return { done: true, value: undefined };
    },
  };
  return {
    [Symbol.asyncIterator]: () => iterator,
    close: () => {
      if (!done) {
        // Over without being read to the end (an error, the client gone): let the stream's source stop.
        done = true;
        reader.cancel().catch(() => {});
      }
      onClose();
    },
  };
}
