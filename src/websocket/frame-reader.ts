/**
 * The frame reader: bytes in, frames out (RFC 6455 §5), sans-IO.
 *
 * Theory of operation. `push()` appends received bytes; `read()` returns the next whole frame,
 * `null` when more bytes are needed, or throws a WebSocketProtocolError carrying the close code
 * the connection must be failed with. A frame header is checked as soon as its first two bytes
 * are in (opcode, RSV bits, mask bit, control-frame rules, continuation rules), its length as soon
 * as the extended length is in — before any payload is buffered or allocated. The payload is
 * unmasked in place, in the bytes this reader owns. Once it has thrown, the reader is dead: the
 * connection is being failed and nothing more is read (§7.1.7).
 *
 * Message-level rules that need only the opcode sequence live here too: a continuation needs a
 * message in progress, a new data frame needs none, control frames may come in between (§5.4);
 * RSV1 is allowed only when permessage-deflate was negotiated, and then only on a message's first
 * frame (RFC 7692 §6.1).
 */

import { isUtf8 } from "node:buffer";
import { CloseCode, isReceivableCloseCode, MAX_CONTROL_PAYLOAD, Opcode } from "./frame.js";
import { WebSocketProtocolError } from "./errors.js";

export interface Frame {
  /** An Opcode. */
  readonly opcode: number;
  readonly fin: boolean;
  /** For data frames: the message this frame belongs to is compressed (RSV1 on its first frame). */
  readonly compressed: boolean;
  readonly payload: Buffer;
}

const EMPTY = Buffer.alloc(0);

export class FrameReader {
  /** Whether RSV1 may be set (permessage-deflate was negotiated, RFC 7692 §6). */
  private readonly rsv1Allowed: boolean;
  /**
   * The largest payload a data frame may declare, checked before it is buffered. The owner lowers
   * it to what is left of the message's budget after each fragment (maxMessageBytes, §10.4).
   */
  maxPayload: number;

  private chunks: Buffer[] = [];
  private buffered = 0;
  /** A data message is in progress: its first frame came without FIN. */
  private inMessage = false;
  private messageCompressed = false;
  private dead = false;

  // The header being read (-1: none yet).
  private headerLength = -1;
  private b0 = 0;
  private payloadLength = 0;

  constructor(rsv1Allowed: boolean, maxPayload: number) {
    this.rsv1Allowed = rsv1Allowed;
    this.maxPayload = maxPayload;
  }

  /** Bytes received and not yet returned as frames. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): void {
    if (this.dead || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next frame, or null when more bytes are needed. Throws on a protocol error. */
  read(): Frame | null {
    if (this.dead) return null;
    try {
      if (this.headerLength < 0 && !this.readHeader()) return null;
      if (this.buffered < this.headerLength + this.payloadLength) return null;
      return this.takeFrame();
    } catch (err) {
      this.dead = true;
      this.chunks = [];
      this.buffered = 0;
      throw err;
    }
  }

  /** Reads and checks the header once enough of it is in; false when more bytes are needed. */
  private readHeader(): boolean {
    if (this.buffered < 2) return false;
    const first = this.chunks[0] as Buffer;
    const b0 = first.length >= 2 ? (first[0] as number) : this.peek(0);
    const b1 = first.length >= 2 ? (first[1] as number) : this.peek(1);
    this.checkFirstBytes(b0, b1);
    const len7 = b1 & 0x7f;
    const extended = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
    const headerLength = 2 + extended + 4;
    if (this.buffered < 2 + extended) return false;
    let length = len7;
    if (extended === 2) {
      length = (this.peek(2) << 8) | this.peek(3);
      if (length < 126) throw protocolError("a 16-bit length below 126 is not minimal (§5.2)");
    } else if (extended === 8) {
      const hi = this.peek(2) * 0x1000000 + ((this.peek(3) << 16) | (this.peek(4) << 8) | this.peek(5));
      if (hi >= 0x80000000) throw protocolError("the most significant bit of a 64-bit length must be 0 (§5.2)");
      if (hi > 0x1fffff) throw tooBig();
      const lo = this.peek(6) * 0x1000000 + ((this.peek(7) << 16) | (this.peek(8) << 8) | this.peek(9));
      length = hi * 0x100000000 + lo;
      if (length < 0x10000) throw protocolError("a 64-bit length below 65536 is not minimal (§5.2)");
    }
    if (length > this.maxPayload && (b0 & 0x0f) < 0x8) throw tooBig();
    this.b0 = b0;
    this.payloadLength = length;
    this.headerLength = headerLength;
    return true;
  }

  /** Every rule that the first two bytes decide (§5.2, §5.4, §5.5; RFC 7692 §6.1). */
  private checkFirstBytes(b0: number, b1: number): void {
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    const rsv1 = (b0 & 0x40) !== 0;
    if ((b0 & 0x30) !== 0) throw protocolError("RSV2 and RSV3 must be 0: no extension defines them (§5.2)");
    if ((b1 & 0x80) === 0) throw protocolError("a client's frame must be masked (§5.1)");
    if (opcode >= 0x8) {
      if (opcode > Opcode.Pong) throw protocolError(`reserved opcode 0x${opcode.toString(16)} (§5.2)`);
      if (!fin) throw protocolError("a control frame must not be fragmented (§5.5)");
      if ((b1 & 0x7f) > MAX_CONTROL_PAYLOAD)
        throw protocolError("a control frame's payload is at most 125 bytes (§5.5)");
      if (rsv1) throw protocolError("RSV1 on a control frame (RFC 7692 §6.1)");
      return;
    }
    if (opcode > Opcode.Binary) throw protocolError(`reserved opcode 0x${opcode.toString(16)} (§5.2)`);
    if (opcode === Opcode.Continuation) {
      if (!this.inMessage) throw protocolError("a continuation frame with no message in progress (§5.4)");
      if (rsv1) throw protocolError("RSV1 on a continuation frame (RFC 7692 §6.1)");
    } else {
      if (this.inMessage) throw protocolError("a new message began before the last one ended (§5.4)");
      if (rsv1 && !this.rsv1Allowed) throw protocolError("RSV1 set without a negotiated extension (§5.2)");
    }
  }

  private takeFrame(): Frame {
    const headerLength = this.headerLength;
    const length = this.payloadLength;
    const b0 = this.b0;
    this.headerLength = -1;
    // The mask is read where it lies, and the header skipped, without a view made for it.
    const maskOffset = headerLength - 4;
    const m0 = this.peek(maskOffset);
    const m1 = this.peek(maskOffset + 1);
    const m2 = this.peek(maskOffset + 2);
    const m3 = this.peek(maskOffset + 3);
    this.skip(headerLength);
    const payload = length === 0 ? EMPTY : this.take(length);
    unmask(payload, m0, m1, m2, m3);
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    if (opcode < 0x8) {
      if (opcode !== Opcode.Continuation) this.messageCompressed = (b0 & 0x40) !== 0;
      this.inMessage = !fin;
      return { opcode, fin, compressed: this.messageCompressed, payload };
    }
    return { opcode, fin, compressed: false, payload };
  }

  /** The byte at `offset` of the buffered bytes. */
  private peek(offset: number): number {
    for (const chunk of this.chunks) {
      if (offset < chunk.length) return chunk[offset] as number;
      offset -= chunk.length;
    }
    throw new RangeError("peek past the buffered bytes");
  }

  /** Drops the next `n` buffered bytes. */
  private skip(n: number): void {
    this.buffered -= n;
    while (n > 0) {
      const chunk = this.chunks[0] as Buffer;
      if (chunk.length > n) {
        this.chunks[0] = chunk.subarray(n);
        return;
      }
      n -= chunk.length;
      this.chunks.shift();
    }
  }

  /** The next `n` buffered bytes as one Buffer this reader owns (a view when they are in one chunk). */
  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0] as Buffer;
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    if (first.length === n) {
      this.chunks.shift();
      return first;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0] as Buffer;
      const need = n - filled;
      if (chunk.length <= need) {
        chunk.copy(out, filled);
        filled += chunk.length;
        this.chunks.shift();
      } else {
        chunk.copy(out, filled, 0, need);
        this.chunks[0] = chunk.subarray(need);
        filled += need;
      }
    }
    return out;
  }
}

/** From this length, unmasking goes a 32-bit word at a time (typed-array views cost more below it). */
const WORD_UNMASK_MIN = 256;

/**
 * XORs the payload with the masking key, in place (§5.3): four bytes per step, and for long
 * payloads a 32-bit word per step from the first aligned byte, with the key rotated to it.
 */
export function unmask(payload: Buffer, m0: number, m1: number, m2: number, m3: number): void {
  const length = payload.length;
  let i = 0;
  if (length >= WORD_UNMASK_MIN) {
    const lead = (4 - (payload.byteOffset & 3)) & 3;
    const mask = [m0, m1, m2, m3];
    for (; i < lead; i++) payload[i] = (payload[i] as number) ^ (mask[i & 3] as number);
    const words = new Uint32Array(payload.buffer, payload.byteOffset + lead, (length - lead) >>> 2);
    const key = new Uint32Array(
      Uint8Array.of(
        mask[lead & 3] as number,
        mask[(lead + 1) & 3] as number,
        mask[(lead + 2) & 3] as number,
        mask[(lead + 3) & 3] as number,
      ).buffer,
    )[0] as number;
    for (let w = 0; w < words.length; w++) words[w] = (words[w] as number) ^ key;
    i = lead + (words.length << 2);
    // The last 0–3 bytes: the key byte is still chosen by the offset from the payload's start.
    for (; i < length; i++) payload[i] = (payload[i] as number) ^ (mask[i & 3] as number);
    return;
  }
  for (; i + 3 < length; i += 4) {
    payload[i] = (payload[i] as number) ^ m0;
    payload[i + 1] = (payload[i + 1] as number) ^ m1;
    payload[i + 2] = (payload[i + 2] as number) ^ m2;
    payload[i + 3] = (payload[i + 3] as number) ^ m3;
  }
  if (i < length) payload[i] = (payload[i] as number) ^ m0;
  if (i + 1 < length) payload[i + 1] = (payload[i + 1] as number) ^ m1;
  if (i + 2 < length) payload[i + 2] = (payload[i + 2] as number) ^ m2;
}

/** A close frame's payload, checked (§5.5.1, §7.4): the code (1005 when absent) and the reason. */
export function parseClosePayload(payload: Buffer): { code: number; reason: string } {
  if (payload.length === 0) return { code: CloseCode.NoStatus, reason: "" };
  if (payload.length === 1) throw protocolError("a close payload of 1 byte (§5.5.1)");
  const code = payload.readUInt16BE(0);
  if (!isReceivableCloseCode(code)) throw protocolError(`close code ${code} is not valid on the wire (§7.4)`);
  const reasonBytes = payload.subarray(2);
  if (!isUtf8(reasonBytes))
    throw new WebSocketProtocolError(CloseCode.InvalidPayload, "a close reason that is not UTF-8 (§5.5.1)");
  return { code, reason: reasonBytes.toString("utf8") };
}

function protocolError(message: string): WebSocketProtocolError {
  return new WebSocketProtocolError(CloseCode.ProtocolError, message);
}

function tooBig(): WebSocketProtocolError {
  return new WebSocketProtocolError(CloseCode.MessageTooBig, "the message is larger than maxMessageBytes");
}
