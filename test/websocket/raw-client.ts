/**
 * A raw WebSocket client for wire tests: it writes exact frames (masked or not, any RSV bits,
 * any length form, split anywhere) and parses what the server sends, with bounded waits.
 */

import { randomBytes } from "node:crypto";
import zlib from "node:zlib";
import { Peer } from "../support/peer.js";

export interface ClientFrame {
  fin?: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  opcode: number;
  payload?: Buffer | string;
  /** false: send unmasked (a protocol error from a client). */
  mask?: boolean;
  /** Force a length form: 7-bit, 16-bit or 64-bit (non-minimal forms are errors). */
  lengthForm?: 7 | 16 | 64;
  /** Set the 64-bit length's most significant bit. */
  msb?: boolean;
}

export interface ServerFrame {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  payload: Buffer;
}

/** The bytes of one client frame. */
export function clientFrame(f: ClientFrame): Buffer {
  const payload = typeof f.payload === "string" ? Buffer.from(f.payload) : (f.payload ?? Buffer.alloc(0));
  const mask = f.mask ?? true;
  const form = f.lengthForm ?? (payload.length < 126 ? 7 : payload.length < 0x10000 ? 16 : 64);
  const ext = form === 7 ? 0 : form === 16 ? 2 : 8;
  const head = Buffer.alloc(2 + ext + (mask ? 4 : 0));
  head[0] = ((f.fin ?? true) ? 0x80 : 0) | (f.rsv1 ? 0x40 : 0) | (f.rsv2 ? 0x20 : 0) | (f.rsv3 ? 0x10 : 0) | f.opcode;
  head[1] = (mask ? 0x80 : 0) | (form === 7 ? payload.length : form === 16 ? 126 : 127);
  if (form === 16) head.writeUInt16BE(payload.length, 2);
  if (form === 64) head.writeBigUInt64BE(BigInt(payload.length) | (f.msb ? 1n << 63n : 0n), 2);
  if (!mask) return Buffer.concat([head, payload]);
  const key = randomBytes(4);
  key.copy(head, 2 + ext);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i] = (masked[i] as number) ^ (key[i & 3] as number);
  return Buffer.concat([head, masked]);
}

/** A close frame's payload. */
export function closeBody(code: number, reason = ""): Buffer {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0);
  b.write(reason, 2);
  return b;
}

/** Parses one server frame at `offset`; null when incomplete. */
export function parseServerFrame(data: Buffer, offset: number): { frame: ServerFrame; end: number } | null {
  if (data.length - offset < 2) return null;
  const b0 = data[offset] as number;
  const b1 = data[offset + 1] as number;
  if ((b1 & 0x80) !== 0) throw new Error("the server masked a frame (RFC 6455 §5.1 forbids it)");
  let length = b1 & 0x7f;
  let pos = offset + 2;
  if (length === 126) {
    if (data.length < pos + 2) return null;
    length = data.readUInt16BE(pos);
    pos += 2;
  } else if (length === 127) {
    if (data.length < pos + 8) return null;
    length = Number(data.readBigUInt64BE(pos));
    pos += 8;
  }
  if (data.length < pos + length) return null;
  return {
    frame: {
      fin: (b0 & 0x80) !== 0,
      rsv1: (b0 & 0x40) !== 0,
      opcode: b0 & 0x0f,
      payload: data.subarray(pos, pos + length),
    },
    end: pos + length,
  };
}

export const WS_KEY = "dGhlIHNhbXBsZSBub25jZQ==";

/** A handshake request with overridable headers (null drops one). */
export function handshakeRequest(path = "/", headers: Record<string, string | null> = {}): string {
  const all: Record<string, string | null> = {
    Host: "127.0.0.1",
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": WS_KEY,
    "Sec-WebSocket-Version": "13",
    ...headers,
  };
  let req = `GET ${path} HTTP/1.1\r\n`;
  for (const [k, v] of Object.entries(all)) if (v !== null) req += `${k}: ${v}\r\n`;
  return req + "\r\n";
}

export class WsPeer extends Peer {
  /** Where the frames begin (past the 101's head). */
  private frameStart = -1;
  private readPos = 0;
  /** The handshake's response head. */
  responseHead = "";

  /** Connects and completes a handshake; throws unless the answer is a 101. */
  static async open(port: number, path = "/", headers: Record<string, string | null> = {}): Promise<WsPeer> {
    const peer = await WsPeer.connect(port);
    try {
      await peer.write(handshakeRequest(path, headers));
      await peer.until(() => peer.data.includes("\r\n\r\n"), undefined, "the handshake's response");
      const end = peer.data.indexOf("\r\n\r\n") + 4;
      peer.responseHead = peer.data.subarray(0, end).toString("latin1");
      if (!peer.responseHead.startsWith("HTTP/1.1 101 ")) throw new Error(`no 101: ${peer.responseHead}`);
      peer.frameStart = end;
      peer.readPos = end;
    } catch (err) {
      peer.destroy();
      throw err;
    }
    return peer;
  }

  send(f: ClientFrame): Promise<void> {
    return this.write(clientFrame(f));
  }

  /** The next server frame; rejects if none comes in time (or the connection closed first). */
  async nextFrame(timeoutMs?: number): Promise<ServerFrame> {
    let parsed: { frame: ServerFrame; end: number } | null = null;
    await this.until(
      () => {
        parsed = parseServerFrame(this.data, this.readPos);
        return parsed !== null || this.closed;
      },
      timeoutMs,
      "a frame",
    );
    const p = parsed as { frame: ServerFrame; end: number } | null;
    if (p === null) throw new Error("the connection closed before a frame");
    this.readPos = p.end;
    return p.frame;
  }

  /** Every frame until the server closes the TCP connection. */
  async framesUntilClosed(timeoutMs?: number): Promise<ServerFrame[]> {
    await this.waitClosed(timeoutMs);
    const frames: ServerFrame[] = [];
    for (;;) {
      const p = parseServerFrame(this.data, this.readPos);
      if (p === null) return frames;
      this.readPos = p.end;
      frames.push(p.frame);
    }
  }

  /** Reads frames until a close frame, then waits for the TCP close; returns the close code (1005: none). */
  async expectClose(timeoutMs?: number): Promise<{ code: number; reason: string; before: ServerFrame[] }> {
    const frames = await this.framesUntilClosed(timeoutMs);
    const i = frames.findIndex((f) => f.opcode === 0x8);
    if (i < 0) throw new Error(`no close frame; frames: ${JSON.stringify(frames.map((f) => f.opcode))}`);
    const p = (frames[i] as ServerFrame).payload;
    return {
      code: p.length >= 2 ? p.readUInt16BE(0) : 1005,
      reason: p.subarray(2).toString(),
      before: frames.slice(0, i),
    };
  }

  get started(): boolean {
    return this.frameStart >= 0;
  }
}

/** Raw-deflates a message as a permessage-deflate client would (trailer removed). */
export function deflateMessage(data: Buffer | string, history?: Buffer): Buffer {
  const out = zlib.deflateRawSync(typeof data === "string" ? Buffer.from(data) : data, {
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
    ...(history === undefined ? {} : { dictionary: history }),
  });
  return out.subarray(0, out.length - 4);
}

/** Inflates a server's compressed message (no context takeover assumed). */
export function inflateMessage(payload: Buffer): Buffer {
  return zlib.inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), {
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  });
}
