/**
 * Received bytes not yet consumed, accumulated in amortised linear time.
 *
 * Concatenating what is left with every new chunk copies the whole of it
 * each time: a head (tens of KB within the limits) or pipelined requests
 * trickled in small pieces cost O(n²) — a cheap CPU attack. Here the bytes
 * live in a store with spare room that doubles when it must grow, so each
 * byte is copied O(1) times on average.
 *
 * Views of the store (subarray) are handed out — the body decoder pushes
 * them to the app's Input — so bytes below `end` are never written again:
 * appends go only into the spare room past `end`, and growing or compacting
 * always copies into a NEW store.
 */

/** Smallest store allocated when chunks must be joined, bytes. */
const MIN_CAPACITY = 4096;

export class ReadBuffer {
  /** Unconsumed bytes are store[start, end); null when there are none. */
  private store: Buffer | null = null;
  /** The store was allocated here (its room past `end` is ours to write); false for a socket's chunk. */
  private owned = false;
  start = 0;
  end = 0;
  /** Bytes copied so far (for tests of the linear bound). */
  bytesCopied = 0;

  /** The store the unconsumed bytes are in: read it from `start` to `end`. */
  get bytes(): Buffer | null {
    return this.store;
  }

  get empty(): boolean {
    return this.store === null;
  }

  /** Unconsumed bytes. */
  get length(): number {
    return this.end - this.start;
  }

  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const store = this.store;
    if (store === null) {
      // The common case: one chunk, used where it is, no copy.
      this.store = chunk;
      this.owned = false;
      this.start = 0;
      this.end = chunk.length;
      return;
    }
    if (this.owned && this.end + chunk.length <= store.length) {
      chunk.copy(store, this.end);
      this.end += chunk.length;
      this.bytesCopied += chunk.length;
      return;
    }
    const live = this.end - this.start;
    const need = live + chunk.length;
    const next = Buffer.allocUnsafe(Math.max(MIN_CAPACITY, need * 2));
    store.copy(next, 0, this.start, this.end);
    chunk.copy(next, live);
    this.bytesCopied += need;
    this.store = next;
    this.owned = true;
    this.start = 0;
    this.end = need;
  }

  /** Consumes n bytes. */
  advance(n: number): void {
    this.start += n;
    if (this.start >= this.end) this.clear();
  }

  /** Drops whatever is unconsumed (and the store with it). */
  clear(): void {
    this.store = null;
    this.owned = false;
    this.start = 0;
    this.end = 0;
  }

  /** The unconsumed bytes as one view, then empty. */
  take(): Buffer | null {
    const store = this.store;
    if (store === null) return null;
    const view = store.subarray(this.start, this.end);
    this.clear();
    return view;
  }
}
