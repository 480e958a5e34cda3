/**
 * Incremental UTF-8 validation across a message's fragments (RFC 6455 §8.1, §5.6), with early
 * failure: a fragment that ends in a sequence no continuation could complete fails at once, not
 * at the message's end (Autobahn 6.4). Whole runs are checked with node:buffer's isUtf8 (native);
 * only the 0–3 bytes of a sequence cut by a fragment boundary are carried and checked here.
 */

import { isUtf8 } from "node:buffer";

/** The length of the sequence a lead byte starts; 0 for a byte that cannot start one (RFC 3629 §4). */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/**
 * Whether `(bytes[start..end)` (shorter than its sequence) can still become a valid sequence:
 * RFC 3629 §4's second-byte ranges exclude overlongs (E0, F0), surrogates (ED) and code points
 * past U+10FFFF (F4).
 */
function isValidPrefix(bytes: Uint8Array, start: number, end: number): boolean {
  const lead = bytes[start] as number;
  if (sequenceLength(lead) === 0) return false;
  if (end - start >= 2) {
    const b1 = bytes[start + 1] as number;
    let lo = 0x80;
    let hi = 0xbf;
    if (lead === 0xe0) lo = 0xa0;
    else if (lead === 0xed) hi = 0x9f;
    else if (lead === 0xf0) lo = 0x90;
    else if (lead === 0xf4) hi = 0x8f;
    if (b1 < lo || b1 > hi) return false;
  }
  for (let i = start + 2; i < end; i++) if (((bytes[i] as number) & 0xc0) !== 0x80) return false;
  return true;
}

/** Where the incomplete sequence at the end of `bytes` begins; `bytes.length` when there is none. */
function incompleteTailStart(bytes: Uint8Array): number {
  const end = bytes.length;
  for (let i = end - 1; i >= 0 && i >= end - 3; i--) {
    const b = bytes[i] as number;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: its lead is further back
    const need = sequenceLength(b);
    return need > end - i ? i : end;
  }
  return end;
}

export class Utf8Validator {
  /** The bytes of a sequence cut by a fragment boundary (at most 3). */
  private carry: Uint8Array | null = null;

  /** Checks the next piece; false as soon as no continuation could make the text valid. */
  push(bytes: Uint8Array): boolean {
    let offset = 0;
    if (this.carry !== null) {
      const carry = this.carry;
      const total = sequenceLength(carry[0] as number);
      const take = Math.min(total - carry.length, bytes.length);
      const joined = new Uint8Array(carry.length + take);
      joined.set(carry);
      joined.set(bytes.subarray(0, take), carry.length);
      if (joined.length < total) {
        if (!isValidPrefix(joined, 0, joined.length)) return false;
        this.carry = joined;
        return true;
      }
      if (!isUtf8(joined)) return false;
      this.carry = null;
      offset = take;
    }
    const rest = offset === 0 ? bytes : bytes.subarray(offset);
    const cut = incompleteTailStart(rest);
    if (!isUtf8(cut === rest.length ? rest : rest.subarray(0, cut))) return false;
    if (cut < rest.length) {
      if (!isValidPrefix(rest, cut, rest.length)) return false;
      this.carry = rest.slice(cut);
    }
    return true;
  }

  /** The message is over: valid only if no sequence is left incomplete. */
  finish(): boolean {
    const ok = this.carry === null;
    this.carry = null;
    return ok;
  }
}
