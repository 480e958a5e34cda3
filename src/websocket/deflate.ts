/**
 * permessage-deflate's codec (RFC 7692 §7.2) over node:zlib's raw deflate streams, one pair per
 * connection, made on first use (an idle connection holds no zlib state).
 *
 * Sending: the message is deflated and flushed with Z_SYNC_FLUSH, whose output ends with the empty
 * stored block 00 00 FF FF; those four bytes are removed (§7.2.1). Receiving: the four bytes are
 * appended after the message's last frame before the final flush (§7.2.2). Without context
 * takeover, a side's stream is reset after each message (§7.1.1).
 *
 * Inflation is bounded as it runs: each piece of output goes to a sink that throws once the
 * message passes maxMessageBytes, and the inflater is then destroyed, so a deflate bomb stops
 * within one zlib chunk (16 KiB) of the limit rather than after inflating whole.
 */

import zlib from "node:zlib";
import { CloseCode } from "./frame.js";
import { WebSocketProtocolError } from "./errors.js";
import type { DeflateParams } from "./extensions.js";

const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/** An empty message, deflated: one empty stored block's first byte is enough (§7.2.3.6). */
const EMPTY_DEFLATED = Buffer.from([0x00]);

export class PerMessageDeflate {
  private readonly params: DeflateParams;
  private inflater: zlib.InflateRaw | null = null;
  private deflater: zlib.DeflateRaw | null = null;
  private closed = false;

  constructor(params: DeflateParams) {
    this.params = params;
  }

  /**
   * Inflates one frame's payload, handing the output to `sink` (which throws to stop); `fin` marks
   * the message's last frame. Calls must not overlap. Corrupt data fails with 1007.
   */
  inflate(payload: Buffer, fin: boolean, sink: (bytes: Buffer) => void): Promise<void> {
    if (this.closed) return Promise.reject(new Error("the connection is closed"));
    const inflater = (this.inflater ??= zlib.createInflateRaw({ windowBits: this.params.clientMaxWindowBits }));
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err: unknown): void => {
        if (settled) return;
        settled = true;
        inflater.removeListener("data", onData);
        inflater.removeListener("error", onError);
        if (err === null) {
          if (fin && this.params.clientNoContextTakeover) inflater.reset();
          resolve();
        } else {
          // Mid-message, the stream's state is no longer the peer's: it is never used again.
          this.inflater = null;
          inflater.destroy();
          reject(err instanceof Error ? err : new Error("inflation failed"));
        }
      };
      const onData = (chunk: Buffer): void => {
        try {
          sink(chunk);
        } catch (err) {
          finish(err);
        }
      };
      const onError = (err: Error): void => {
        finish(new WebSocketProtocolError(CloseCode.InvalidPayload, `corrupt compressed data: ${err.message}`));
      };
      inflater.on("data", onData);
      inflater.on("error", onError);
      inflater.write(payload);
      if (fin) inflater.write(TRAILER);
      inflater.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        finish(null);
      });
    });
  }

  /** Deflates a whole message, without the trailing 00 00 FF FF. Calls must not overlap. */
  deflate(data: Buffer): Promise<Buffer> {
    if (this.closed) return Promise.reject(new Error("the connection is closed"));
    const deflater = (this.deflater ??= zlib.createDeflateRaw({ windowBits: this.params.serverMaxWindowBits }));
    return new Promise<Buffer>((resolve, reject) => {
      const parts: Buffer[] = [];
      let length = 0;
      const onData = (chunk: Buffer): void => {
        parts.push(chunk);
        length += chunk.length;
      };
      const onError = (err: Error): void => {
        deflater.removeListener("data", onData);
        this.deflater = null;
        reject(err);
      };
      deflater.on("data", onData);
      deflater.once("error", onError);
      deflater.write(data);
      deflater.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        deflater.removeListener("data", onData);
        deflater.removeListener("error", onError);
        if (this.params.serverNoContextTakeover) deflater.reset();
        let out = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, length);
        if (out.length >= 4 && out.subarray(out.length - 4).equals(TRAILER)) out = out.subarray(0, out.length - 4);
        resolve(out.length === 0 ? EMPTY_DEFLATED : out);
      });
    });
  }

  /** Frees the zlib streams (the connection closed). */
  close(): void {
    this.closed = true;
    this.inflater?.destroy();
    this.deflater?.destroy();
    this.inflater = null;
    this.deflater = null;
  }
}
