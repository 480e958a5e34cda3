/**
 * A fetch request's body over `wsgi.input`: a `ReadableStream` that reads
 * nothing before the handler pulls (so a `100 Continue` goes out only then,
 * and a handler that never reads leaves the body to the server to discard),
 * and whole-body reads (`text()`, `json()`, ...) that skip the stream.
 */

import type { Input } from "../gateway/input.js";

/**
 * A stream of the body's bytes as they arrive. highWaterMark 0: the stream
 * asks for a chunk only when its reader does, never ahead of it. Cancelling
 * it (the handler gave up) stops reading; the server discards the rest.
 */
export function inputStream(input: Input): ReadableStream<Uint8Array> {
  let it: AsyncIterator<Buffer> | null = null;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        it ??= input[Symbol.asyncIterator]();
        const r = await it.next();
        if (r.done === true) controller.close();
        // A view of the input's own buffer: the input never writes into it again.
        else controller.enqueue(new Uint8Array(r.value.buffer, r.value.byteOffset, r.value.byteLength));
      },
      async cancel() {
        await it?.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}

const decoder = new TextDecoder();

/** The whole body, read straight from the input (no stream): what text(), json() and friends need. */
export async function readAll(input: Input): Promise<Buffer> {
  return input.read();
}

/** UTF-8 decoding as fetch's text() does it (a BOM is dropped, bad bytes become U+FFFD). */
export function utf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** A copy of the bytes in an ArrayBuffer of their own (an input's Buffer may share a pool). */
export function ownArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(out).set(bytes);
  return out;
}
