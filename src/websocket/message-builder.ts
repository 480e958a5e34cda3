/**
 * A message assembled from its fragments' (or its inflater's) bytes, sans-IO.
 *
 * The bytes go into one buffer that grows by doubling, never past maxMessageBytes: a message of
 * a million 1-byte fragments costs its bytes, not a million Buffer objects (ws before 8.21.0 kept
 * one per fragment). The running total is checked on every piece, so the limit holds for the
 * whole message after inflation (API.md: maxMessageBytes), and a text message's UTF-8 is checked
 * as it arrives, failing on the first piece that no continuation could make valid (RFC 6455 §8.1).
 */

import { isUtf8 } from "node:buffer";
import { CloseCode } from "./frame.js";
import { WebSocketProtocolError } from "./errors.js";
import { Utf8Validator } from "./utf8.js";

const INITIAL_CAPACITY = 4096;

export class MessageBuilder {
  private readonly maxBytes: number;
  private storage: Buffer | null = null;
  private length = 0;
  private text = false;
  private readonly utf8 = new Utf8Validator();

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** Bytes the message may still take. */
  get remaining(): number {
    return this.maxBytes - this.length;
  }

  begin(text: boolean): void {
    this.text = text;
    this.length = 0;
  }

  /** Adds the next piece; throws 1009 past the limit, 1007 on UTF-8 no continuation could mend. */
  append(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (bytes.length > this.maxBytes - this.length) {
      throw new WebSocketProtocolError(CloseCode.MessageTooBig, "the message is larger than maxMessageBytes");
    }
    if (this.text && !this.utf8.push(bytes)) throw invalidUtf8();
    const storage = this.reserve(this.length + bytes.length);
    storage.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** The whole message: a string for text, a Buffer (its own copy) for binary. */
  finish(): string | Buffer {
    const bytes = this.storage === null ? Buffer.alloc(0) : this.storage.subarray(0, this.length);
    let message: string | Buffer;
    if (this.text) {
      if (!this.utf8.finish()) throw invalidUtf8();
      message = bytes.toString("utf8");
    } else {
      message = Buffer.from(bytes);
    }
    // A large buffer is not kept for the next message: an idle connection holds little.
    if (this.storage !== null && this.storage.length > INITIAL_CAPACITY * 4) this.storage = null;
    this.length = 0;
    return message;
  }

  /** The storage, grown to hold `needed` bytes. */
  private reserve(needed: number): Buffer {
    const current = this.storage === null ? 0 : this.storage.length;
    if (this.storage !== null && needed <= current) return this.storage;
    let capacity = Math.max(current * 2, INITIAL_CAPACITY);
    while (capacity < needed) capacity *= 2;
    const grown = Buffer.allocUnsafe(Math.min(capacity, this.maxBytes));
    if (this.storage !== null && this.length > 0) this.storage.copy(grown, 0, 0, this.length);
    this.storage = grown;
    return grown;
  }
}

/** A single-frame message's payload, checked and converted (the common case, no copy for text). */
export function wholeMessage(payload: Buffer, text: boolean): string | Buffer {
  if (!text) return payload;
  if (!isUtf8(payload)) throw invalidUtf8();
  return payload.toString("utf8");
}

function invalidUtf8(): WebSocketProtocolError {
  return new WebSocketProtocolError(CloseCode.InvalidPayload, "a text message that is not UTF-8 (§8.1)");
}
