/**
 * The bytes of a request body received and not yet read, in the chunks they
 * arrived in (views of the read buffer's store, never written again). Reads
 * take from the front: a view when the bytes lie in the first chunk, and one
 * new buffer they are copied into only when they span chunks — `read(n)`
 * must answer n contiguous bytes, as a Python file's read does.
 */

const EMPTY = Buffer.alloc(0);
const NL = 0x0a;

export class ByteQueue {
  private chunks: Buffer[] = [];
  /** Bytes in `chunks`. */
  length = 0;
  /** Bytes before this offset are known to hold no LF (readline). */
  private scannedNoLf = 0;

  push(data: Buffer): void {
    this.chunks.push(data);
    this.length += data.length;
  }

  clear(): void {
    this.chunks = [];
    this.length = 0;
    this.scannedNoLf = 0;
  }

  /** The length of the first chunk (the queue is not empty). */
  get firstChunkLength(): number {
    return (this.chunks[0] as Buffer).length;
  }

  /** The bytes read(size) can take now, or -1 while it must wait; `ended`: no more will come. */
  bytesReady(size: number, ended: boolean): number {
    if (size < 0) return ended ? this.length : -1;
    if (this.length >= size) return size;
    return ended ? this.length : -1;
  }

  /** The bytes readline(size) can take now (up to and including an LF), or -1 while it must wait. */
  lineReady(size: number, ended: boolean): number {
    const lf = this.findLf();
    if (lf !== -1 && (size < 0 || lf < size)) return lf + 1;
    if (size >= 0 && this.length >= size) return size;
    if (ended) return this.length;
    return -1;
  }

  /** Takes n bytes (n <= length) off the front. */
  take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const chunks = this.chunks;
    const first = chunks[0] as Buffer;
    let out: Buffer;
    if (first.length === n) {
      out = first;
      if (chunks.length === 1) chunks.pop();
      else chunks.shift();
    } else if (first.length > n) {
      chunks[0] = first.subarray(n);
      out = first.subarray(0, n);
    } else {
      out = this.join(n);
    }
    this.length -= n;
    this.scannedNoLf = this.scannedNoLf > n ? this.scannedNoLf - n : 0;
    return out;
  }

  /** Offset of the first LF, or -1. */
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

  /** The first n bytes (spanning chunks) copied into one new buffer, and taken off the queue. */
  private join(n: number): Buffer {
    const chunks = this.chunks;
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    let used = 0;
    while (filled < n) {
      const c = chunks[used] as Buffer;
      const want = n - filled;
      if (c.length <= want) {
        out.set(c, filled);
        filled += c.length;
        used++;
      } else {
        out.set(c.subarray(0, want), filled);
        chunks[used] = c.subarray(want);
        filled += want;
      }
    }
    chunks.splice(0, used);
    return out;
  }
}
