/**
 * Body chunks gathered before they are framed and written (PEP 3333's
 * minimum write size), copied where the application may reuse its buffer.
 * One per exchange; `take()` hands the gathered parts over in order.
 */

import { COPY_BUFFER_BYTES } from "../limits.js";
import type { Chunk } from "./types.js";

/** A part of the body: a string here is ASCII-only (its bytes are its chars). */
export type Part = string | Uint8Array;

export class ChunkGatherer {
  parts: Part[] = [];
  /** Bytes in `parts` and in the copies not yet sealed into them. */
  bytes = 0;
  /**
   * Copied chunk bytes not yet in `parts` are copyBuf[copyStart, copyEnd); the
   * room past copyEnd takes the next copies. Bytes below copyEnd are never
   * written again (views of them go to the socket), so a full buffer is
   * replaced, not reused.
   */
  private copyBuf: Buffer | null = null;
  private copyStart = 0;
  private copyEnd = 0;

  /**
   * `copy`: the application gets control back while the bytes may still be
   * held by reference — in `parts` until the minimum chunk size, in the
   * connection's output until its batch, in the socket's buffer until the
   * kernel takes them — so a chunk from a generator or write() is copied: a
   * generator refilling one buffer must not change what was already sent
   * (PEP 3333's bytes are immutable; a WSGI application cannot expect this).
   * An array body is not copied: it was handed over whole, and nothing
   * returns control to the application while it goes out.
   */
  add(chunk: Chunk, copy: boolean): void {
    if (typeof chunk === "string") {
      if (chunk.length === 0) return;
      const n = Buffer.byteLength(chunk);
      this.seal();
      // UTF-8 length equals the string's length only when every char is ASCII.
      if (n === chunk.length) this.parts.push(chunk);
      else this.parts.push(Buffer.from(chunk, "utf8"));
      this.bytes += n;
    } else if (chunk instanceof Uint8Array) {
      if (chunk.length === 0) return;
      if (copy) {
        this.copyIn(chunk);
      } else {
        this.seal();
        this.parts.push(chunk);
      }
      this.bytes += chunk.length;
    } else {
      throw new TypeError(`body chunks must be strings or Uint8Arrays, got ${typeof chunk}`);
    }
  }

  /**
   * Copies a chunk into the shared copy buffer: one memcpy, and an allocation
   * only when the buffer is full, rather than a new Buffer for every chunk
   * (a generator of small chunks made that a third of its cost).
   */
  private copyIn(chunk: Uint8Array): void {
    let buf = this.copyBuf;
    if (buf === null || buf.length - this.copyEnd < chunk.length) {
      this.seal();
      buf = this.copyBuf = Buffer.allocUnsafe(Math.max(COPY_BUFFER_BYTES, chunk.length));
      this.copyStart = this.copyEnd = 0;
    }
    buf.set(chunk, this.copyEnd);
    this.copyEnd += chunk.length;
  }

  /** Moves the copied bytes not yet in `parts` there, as one view, keeping the order of parts. */
  seal(): void {
    if (this.copyEnd === this.copyStart) return;
    this.parts.push((this.copyBuf as Buffer).subarray(this.copyStart, this.copyEnd));
    this.copyStart = this.copyEnd;
  }

  /** The gathered parts, in order; the gatherer is left empty. */
  take(): Part[] {
    this.seal();
    const parts = this.parts;
    this.parts = [];
    this.bytes = 0;
    return parts;
  }

  /** Drops what was gathered (a response that failed before it was sent). */
  drop(): void {
    this.parts = [];
    this.bytes = 0;
    this.copyStart = this.copyEnd;
  }
}
