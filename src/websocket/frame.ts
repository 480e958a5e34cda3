/**
 * RFC 6455 §5.2 frame constants and the frame serialiser (server frames are never masked, §5.1).
 * Sans-IO: builds bytes, writes nothing.
 */

/** Opcodes (RFC 6455 §5.2, §11.8). 0x3–0x7 and 0xB–0xF are reserved. */
export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;

/** Close codes used by this server (RFC 6455 §7.4.1). */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  /** Never on the wire: "no status code was present" (§7.4.1). */
  NoStatus: 1005,
  /** Never on the wire: the connection dropped without a close frame (§7.4.1). */
  Abnormal: 1006,
  InvalidPayload: 1007,
  MessageTooBig: 1009,
  InternalError: 1011,
} as const;

/** A control frame's payload is at most 125 bytes (§5.5). */
export const MAX_CONTROL_PAYLOAD = 125;

/** A close reason is at most 123 bytes: 125 less the 2-byte code (§5.5, §5.5.1). */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * Codes an application may send (API.md: 1000–1003, 1007–1011, 3000–4999). 1004–1006 and 1015 are
 * reserved and never sent (§7.4.1); 1012–1014 are registered for servers and proxies (IANA), not
 * for an application's close().
 */
export function isSendableCloseCode(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) || (code >= 3000 && code <= 4999))
  );
}

/**
 * Codes accepted in a peer's close frame (§7.4.1, §7.4.2, IANA's registry): the sendable ones and the
 * registered 1012–1014. 1004, 1005, 1006, 1015, 1016–2999 and 5000+ are a protocol error (1002).
 */
export function isReceivableCloseCode(code: number): boolean {
  return isSendableCloseCode(code) || (code >= 1012 && code <= 1014);
}

/**
 * The header of an unmasked frame (§5.2): 2, 4 or 10 bytes. `rsv1` marks a compressed message's
 * first frame (RFC 7692 §6). The length uses the shortest form, as §5.2 requires.
 */
export function frameHeader(opcode: number, fin: boolean, rsv1: boolean, length: number): Buffer {
  const b0 = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  let header: Buffer;
  if (length < 126) {
    header = Buffer.allocUnsafe(2);
    header[1] = length;
  } else if (length < 0x10000) {
    header = Buffer.allocUnsafe(4);
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.allocUnsafe(10);
    header[1] = 127;
    // The MSB of a 64-bit length is 0 (§5.2); lengths here are below 2^53.
    header.writeUInt32BE(Math.floor(length / 0x100000000), 2);
    header.writeUInt32BE(length >>> 0, 6);
  }
  header[0] = b0;
  return header;
}

/** A buffer for a frame of `length` payload bytes with its header written (§5.2); returns it and where the payload goes. */
function frameWithHeader(firstByte: number, length: number): [Buffer, number] {
  const headerLength = length < 126 ? 2 : length < 0x10000 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = firstByte;
  if (headerLength === 2) {
    frame[1] = length;
  } else if (headerLength === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 0x100000000), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  return [frame, headerLength];
}

/**
 * A whole frame in one buffer (header and payload): for small payloads, one allocation and
 * one write are cheaper than two. Every byte of it is written: nothing uninitialised goes out.
 */
export function encodeFrame(opcode: number, fin: boolean, rsv1: boolean, payload: Uint8Array): Buffer {
  const [frame, at] = frameWithHeader((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode, payload.length);
  frame.set(payload, at);
  return frame;
}

/** A text frame straight from a string: the UTF-8 is written in place after the header. */
export function encodeTextFrame(text: string): Buffer {
  const [frame, at] = frameWithHeader(0x80 | Opcode.Text, Buffer.byteLength(text));
  frame.write(text, at, "utf8");
  return frame;
}

/**
 * A close frame's payload (§5.5.1): the code in network order, then the reason's UTF-8.
 * Built from exact lengths, so no byte of it is left uninitialised (ws 8.20.1's bug).
 */
export function closePayload(code: number | undefined, reason: string): Buffer {
  if (code === undefined) return Buffer.alloc(0);
  const reasonBytes = Buffer.byteLength(reason);
  const payload = Buffer.alloc(2 + reasonBytes);
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2, "utf8");
  return payload;
}
