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

/** A stream as a WSGI body; `onClose` runs once, when the gateway is done with it. */
export function streamBody(stream: ReadableStream<unknown>, onClose: () => void): Body {
  const reader = stream.getReader();
  let done = false;
  const iterator: AsyncIterator<Chunk> = {
    next: () => reader.read() as Promise<IteratorResult<Chunk>>,
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
        // Over without being read to the end (an error, a HEAD): let the stream's source stop.
        done = true;
        reader.cancel().catch(() => {});
      }
      onClose();
    },
  };
}
