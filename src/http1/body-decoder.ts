/**
 * Request body decoders by framing kind (RFC 9112 §6.3, §7.1), sans-IO.
 *
 * `decode(buf, start, end, onData)` takes what it can of buf[start..end),
 * hands body bytes to `onData` as views into `buf` (no copies), and returns
 * how many bytes it consumed. Once `done` is true it consumes nothing more:
 * whatever follows belongs to the next request. Malformed chunked framing
 * throws a `ChunkReadError`; a decoder never waits for bytes it has already
 * been given.
 */

import { ChunkReadError } from "../errors.js";
import { CR, HTAB, LF, SP, QUOTED_CHAR, TCHAR, hexValue, latin1 } from "./grammar.js";
import { parseFieldLine } from "./request-head.js";
import { MAX_CHUNK_LINE } from "../limits.js";

export type DataSink = (data: Buffer) => void;

export interface BodyDecoder {
  readonly done: boolean;
  decode(buf: Buffer, start: number, end: number, onData: DataSink): number;
}

/** No body at all. */
export class EmptyDecoder implements BodyDecoder {
  readonly done = true;
  decode(): number {
    return 0;
  }
}

/** RFC 9112 §6.3 item 6: exactly `length` bytes. */
export class LengthDecoder implements BodyDecoder {
  private remaining: number;
  constructor(length: number) {
    this.remaining = length;
  }
  get done(): boolean {
    return this.remaining === 0;
  }
  decode(buf: Buffer, start: number, end: number, onData: DataSink): number {
    const n = Math.min(end - start, this.remaining);
    if (n === 0) return 0;
    this.remaining -= n;
    onData(buf.subarray(start, start + n));
    return n;
  }
}

const enum State {
  Size,
  Extension,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  Trailer,
  Done,
}

/** Largest chunk size accepted: 2^53 - 1 bytes, the largest exact integer. */
const MAX_CHUNK_SIZE = Number.MAX_SAFE_INTEGER;

export interface TrailerLimits {
  readonly maxHeaderLine: number;
  readonly maxHeadersSize: number;
}

/**
 * RFC 9112 §7.1: chunked-body = *chunk last-chunk trailer-section CRLF.
 * chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF. Sizes are HEXDIG
 * only (no sign, no "0x", no whitespace before the extensions' BWS), lines
 * end in CRLF exactly, extensions are checked against their grammar and
 * dropped, trailer fields are checked like header fields and dropped.
 */
export class ChunkedDecoder implements BodyDecoder {
  private state = State.Size;
  private size = 0;
  private sizeDigits = 0;
  /** Bytes of the current chunk-size line (size, extensions, CRLF). */
  private lineBytes = 0;
  /** Chunk data still to come. */
  private remaining = 0;
  /** The line being gathered (extension or trailer field), as latin1 text. */
  private line = "";
  private trailerBytes = 0;
  private readonly limits: TrailerLimits;

  constructor(limits: TrailerLimits) {
    this.limits = limits;
  }

  get done(): boolean {
    return this.state === State.Done;
  }

  decode(buf: Buffer, start: number, end: number, onData: DataSink): number {
    let i = start;
    while (i < end) {
      switch (this.state) {
        case State.Size: {
          const c = buf[i] as number;
          const v = hexValue(c);
          if (v >= 0) {
            if (this.size > (MAX_CHUNK_SIZE - v) / 16) throw new ChunkReadError("chunk size too large");
            this.size = this.size * 16 + v;
            this.sizeDigits++;
            this.countLineByte();
            i++;
            break;
          }
          if (this.sizeDigits === 0) throw new ChunkReadError("invalid chunk size");
          if (c === CR) {
            this.state = State.SizeLf;
            this.countLineByte();
            i++;
          } else if (c === 0x3b /* ; */ || c === SP || c === HTAB) {
            this.state = State.Extension;
            this.line = "";
          } else {
            throw new ChunkReadError("invalid chunk size");
          }
          break;
        }
        case State.Extension: {
          // Gather up to CR, then check the whole extension list.
          let j = i;
          while (j < end && buf[j] !== CR && buf[j] !== LF) j++;
          this.lineBytes += j - i;
          if (this.lineBytes > MAX_CHUNK_LINE) throw new ChunkReadError("chunk extensions too long");
          this.line += latin1(buf, i, j);
          i = j;
          if (i < end) {
            if (buf[i] === LF) throw new ChunkReadError("bare LF in chunk size line");
            if (!isValidChunkExtensions(this.line)) throw new ChunkReadError("malformed chunk extension");
            this.line = "";
            this.state = State.SizeLf;
            this.countLineByte();
            i++;
          }
          break;
        }
        case State.SizeLf:
          if (buf[i] !== LF) throw new ChunkReadError("chunk size line not ended by CRLF");
          i++;
          this.lineBytes = 0;
          this.sizeDigits = 0;
          if (this.size === 0) {
            this.state = State.Trailer;
          } else {
            this.remaining = this.size;
            this.size = 0;
            this.state = State.Data;
          }
          break;
        case State.Data: {
          const n = Math.min(end - i, this.remaining);
          onData(buf.subarray(i, i + n));
          i += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = State.DataCr;
          break;
        }
        case State.DataCr:
          if (buf[i] !== CR) throw new ChunkReadError("chunk data not followed by CRLF");
          this.state = State.DataLf;
          i++;
          break;
        case State.DataLf:
          if (buf[i] !== LF) throw new ChunkReadError("chunk data not followed by CRLF");
          this.state = State.Size;
          i++;
          break;
        case State.Trailer:
          i = this.decodeTrailer(buf, i, end);
          break;
        case State.Done:
          return i - start;
      }
    }
    return i - start;
  }

  private countLineByte(): void {
    if (++this.lineBytes > MAX_CHUNK_LINE) throw new ChunkReadError("chunk size line too long");
  }

  /**
   * RFC 9112 §7.1.2: trailer-section = *( field-line CRLF ), then CRLF.
   * Fields are checked with the header rules and limits, then dropped
   * (the safe choice of §7.1.2: never merged into the headers).
   */
  private decodeTrailer(buf: Buffer, i: number, end: number): number {
    let j = i;
    while (j < end && buf[j] !== LF) j++;
    this.trailerBytes += j - i;
    this.line += latin1(buf, i, j);
    const lineLength = this.line.length + (j < end ? 1 : 0);
    if (lineLength >= this.limits.maxHeaderLine) throw new ChunkReadError("trailer line too long");
    if (j === end) return j;
    this.trailerBytes++;
    if (this.trailerBytes > this.limits.maxHeadersSize) throw new ChunkReadError("trailer section too large");
    const line = this.line;
    this.line = "";
    if (line.length === 0 || line.charCodeAt(line.length - 1) !== CR)
      throw new ChunkReadError("trailer line not ended by CRLF");
    if (line.length === 1) {
      this.state = State.Done;
      return j + 1;
    }
    const bytes = Buffer.from(line, "latin1");
    try {
      parseFieldLine(bytes, 0, bytes.length - 1, []);
    } catch {
      throw new ChunkReadError("malformed trailer field");
    }
    return j + 1;
  }
}

/**
 * RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ),
 * chunk-ext-name = token, chunk-ext-val = token / quoted-string.
 */
export function isValidChunkExtensions(ext: string): boolean {
  const n = ext.length;
  let i = 0;
  const skipBws = (): void => {
    while (i < n && (ext.charCodeAt(i) === SP || ext.charCodeAt(i) === HTAB)) i++;
  };
  const token = (): boolean => {
    const s = i;
    while (i < n && ext.charCodeAt(i) <= 0xff && TCHAR[ext.charCodeAt(i)] === 1) i++;
    return i > s;
  };
  while (i < n) {
    skipBws();
    if (i >= n || ext.charCodeAt(i) !== 0x3b /* ; */) return false;
    i++;
    skipBws();
    if (!token()) return false;
    skipBws();
    if (i < n && ext.charCodeAt(i) === 0x3d /* = */) {
      i++;
      skipBws();
      if (i < n && ext.charCodeAt(i) === 0x22 /* " */) {
        i++;
        for (;;) {
          if (i >= n) return false;
          const c = ext.charCodeAt(i);
          if (c === 0x22) {
            i++;
            break;
          }
          if (c === 0x5c /* \ */) {
            i++;
            if (i >= n || QUOTED_CHAR[ext.charCodeAt(i)] === 0) return false;
          } else if (QUOTED_CHAR[c] === 0) {
            return false;
          }
          i++;
        }
      } else if (!token()) {
        return false;
      }
    }
  }
  return true;
}
