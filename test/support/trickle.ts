/** A slow client's pace: bytes written one at a time, for slowloris and timeout tests. */

/** Anything that writes bytes and resolves once the kernel took them (both test peers do). */
export interface ByteWriter {
  write(bytes: string): Promise<void>;
}

/**
 * Writes `bytes` one at a time, `everyMs` apart (the attacker's pace, not a
 * wait for an event), until done, `stop()` is true, or a write fails (the
 * server closed: EPIPE/ECONNRESET). Bounded by the length. Returns the bytes sent.
 */
export async function trickle(peer: ByteWriter, bytes: string, everyMs: number, stop: () => boolean): Promise<number> {
  let sent = 0;
  for (const ch of bytes) {
    if (stop()) break;
    try {
      await peer.write(ch);
    } catch {
      break;
    }
    sent++;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return sent;
}
