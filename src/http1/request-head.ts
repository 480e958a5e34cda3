/**
 * The request head reader (RFC 9112 §2–§5), sans-IO.
 *
 * Theory of operation. A `RequestHeadParser` is fed the bytes of one
 * connection from the first byte of a request head onwards. It works a line
 * at a time: it looks for the next LF, checks that a CR stands before it
 * (a bare LF or a bare CR is a 400), and parses each complete line at once —
 * the request line into method, target and version, each header line into a
 * name and a trimmed value. State between calls is only "where the current
 * line starts", "where to resume looking for LF" and what has been parsed so
 * far, so a head trickled one byte at a time costs no more than one fed
 * whole, and the outcome never depends on how the bytes were split:
 * partial lines are only checked against the length limits, and every other
 * check runs on complete lines in the same order.
 *
 * `execute(buf, start)` returns the offset just past the head's final CRLF
 * when the head is complete (read it from `head`), or -1 when it needs more
 * bytes; malformed input throws an `HttpProtocolError` that says which
 * status to answer. Between calls the caller must present the same bytes
 * again from the same head start (it may append to them, and may move them
 * as a whole: offsets are kept relative to the head start).
 */

import {
  BadRequestError,
  HeaderLineTooLong,
  HeadersTooLarge,
  RequestLineTooLongError,
  VersionNotSupportedError,
} from "../errors.js";
import {
  COLON,
  CR,
  FIELD_VALUE_CHAR,
  HTAB,
  IP_LITERAL_CHAR,
  LF,
  REG_NAME_CHAR,
  SCHEME_CHAR,
  SP,
  TARGET_CHAR,
  TCHAR,
  latin1,
} from "./grammar.js";
import { HEADER_NAMES, METHODS } from "./intern.js";

export interface HeadLimits {
  /** Bytes: a request line (with CRLF, and with any empty lines before it) this long or longer is a 414. */
  readonly maxRequestLine: number;
  /** Bytes: a header line (with CRLF) this long or longer is a 400. */
  readonly maxHeaderLine: number;
  /** Bytes: header lines (with CRLFs and the final CRLF) may add up to this much. */
  readonly maxHeadersSize: number;
}

/** A parsed request head. Header names keep the case they were sent with. */
export interface RequestHead {
  method: string;
  /** The request-target as sent. */
  target: string;
  /** "HTTP/1.0" or "HTTP/1.1": the request's own version. */
  version: "HTTP/1.0" | "HTTP/1.1";
  /** The request line as sent, without its CRLF (for the access log). */
  requestLine: string;
  /** Flat list: name, value, name, value, … (values trimmed of SP/HTAB). */
  headers: string[];
}

/** A head as the parser makes it. */
class ParsedHead implements RequestHead {
  method: string;
  target: string;
  version: "HTTP/1.0" | "HTTP/1.1";
  headers: string[] = [];

  constructor(method: string, target: string, version: "HTTP/1.0" | "HTTP/1.1") {
    this.method = method;
    this.target = target;
    this.version = version;
  }

  /**
   * Made when asked for (the access log, error messages), not for every
   * request: the line was checked to be exactly these three parts,
   * single-spaced, so this is the same string as its bytes.
   */
  get requestLine(): string {
    return `${this.method} ${this.target} ${this.version}`;
  }
}

const enum Phase {
  RequestLine,
  Headers,
  Done,
}

export class RequestHeadParser {
  private readonly limits: HeadLimits;
  private phase = Phase.RequestLine;
  /** Offset (from the head start) of the first byte of the line being read. */
  private lineStart = 0;
  /** Offset (from the head start) where the search for the next LF resumes. */
  private searchFrom = 0;
  /** Bytes of header lines read so far, with their CRLFs. */
  private headerBytes = 0;
  private current: RequestHead | null = null;
  /**
   * The previous head's target and header list: strings a request repeats are
   * taken from them (see `sameAs`). Only these are kept, not the whole head,
   * so that an idle connection holds little.
   */
  private previousTarget = "";
  private previousHeaders: string[] | undefined = undefined;

  constructor(limits: HeadLimits) {
    this.limits = limits;
  }

  /** The head, once `execute` returned a non-negative offset. */
  get head(): RequestHead {
    if (this.current === null || this.phase !== Phase.Done) throw new Error("request head is not complete");
    return this.current;
  }

  /** The request line for the access log of a head that failed: as parsed so far, "-" when it was not. */
  get requestLineSoFar(): string {
    return this.current === null ? "-" : this.current.requestLine;
  }

  /** True when some bytes of a head (other than leading empty lines) have been read. */
  get started(): boolean {
    return this.phase !== Phase.RequestLine || this.searchFrom > this.lineStart;
  }

  reset(): void {
    if (this.current !== null && this.phase === Phase.Done) {
      this.previousTarget = this.current.target;
      this.previousHeaders = this.current.headers;
    }
    this.phase = Phase.RequestLine;
    this.lineStart = 0;
    this.searchFrom = 0;
    this.headerBytes = 0;
    this.current = null;
  }

  execute(buf: Uint8Array, start: number, end: number = buf.length): number {
    if (this.phase === Phase.Done) throw new Error("parser must be reset before the next head");
    const b = buf as Buffer;
    for (;;) {
      const lineStart = start + this.lineStart;
      const lf = findLf(b, start + this.searchFrom, end);
      // The request line is measured from the head start, so that the empty
      // lines allowed before it (RFC 9112 §2.2) count against its limit: an
      // endless run of CRLFs is a 414, not a buffer that grows without bound.
      const measuredFrom = this.phase === Phase.RequestLine ? start : lineStart;
      if (lf === -1) {
        this.searchFrom = end - start;
        this.checkLineLength(end - measuredFrom); // a partial line: only the length limits apply
        return -1;
      }
      const lineLength = lf + 1 - lineStart;
      this.checkLineLength(lf + 1 - measuredFrom);
      if (lf === lineStart || b[lf - 1] !== CR) throw new BadRequestError("line not terminated by CRLF");
      const contentEnd = lf - 1;
      this.lineStart = this.searchFrom = lf + 1 - start;
      if (this.phase === Phase.RequestLine) {
        // RFC 9112 §2.2: a server SHOULD ignore empty lines received before the request line.
        if (contentEnd === lineStart) continue;
        this.current = parseRequestLine(b, lineStart, contentEnd, this.previousTarget);
        this.phase = Phase.Headers;
        continue;
      }
      this.headerBytes += lineLength;
      if (this.headerBytes > this.limits.maxHeadersSize) throw new HeadersTooLarge();
      if (contentEnd === lineStart) {
        this.phase = Phase.Done;
        return lf + 1;
      }
      parseFieldLine(b, lineStart, contentEnd, (this.current as RequestHead).headers, this.previousHeaders);
    }
  }

  private checkLineLength(length: number): void {
    if (this.phase === Phase.RequestLine) {
      if (length >= this.limits.maxRequestLine) throw new RequestLineTooLongError();
    } else if (length >= this.limits.maxHeaderLine) {
      throw new HeaderLineTooLong();
    }
  }
}

/**
 * The offset of the first LF in b[from..end), or -1. Head lines are short:
 * a loop here beats Buffer#indexOf, whose call into C++ costs more than
 * scanning a few dozen bytes; a long line falls back to it.
 */
function findLf(b: Buffer, from: number, end: number): number {
  const stop = Math.min(end, from + 64);
  for (let i = from; i < stop; i++) if (b[i] === LF) return i;
  if (stop === end) return -1;
  const lf = b.indexOf(LF, stop);
  return lf === -1 || lf >= end ? -1 : lf;
}

/** RFC 9112 §3: request-line = method SP request-target SP HTTP-version — single spaces, nothing else. */
function parseRequestLine(b: Buffer, s: number, e: number, previousTarget: string): RequestHead {
  let i = s;
  while (i < e && TCHAR[b[i] as number] === 1) i++;
  if (i === s || i === e || b[i] !== SP) throw new BadRequestError("malformed method");
  const method = METHODS.read(b, s, i);
  const targetStart = ++i;
  while (i < e && TARGET_CHAR[b[i] as number] === 1) i++;
  if (i === targetStart || i === e || b[i] !== SP) throw new BadRequestError("malformed request-target");
  const target = sameAs(b, targetStart, i, previousTarget) ? previousTarget : latin1(b, targetStart, i);
  const version = parseVersion(b, i + 1, e);
  checkTargetForm(method, b, targetStart, i);
  return new ParsedHead(method, target, version);
}

const H = 0x48;
const T = 0x54;
const P = 0x50;
const SLASH = 0x2f;
const DOT = 0x2e;

/** RFC 9112 §2.3: HTTP-version = "HTTP" "/" DIGIT "." DIGIT, case-sensitive. */
function parseVersion(b: Buffer, s: number, e: number): "HTTP/1.0" | "HTTP/1.1" {
  if (
    e - s !== 8 ||
    b[s] !== H ||
    b[s + 1] !== T ||
    b[s + 2] !== T ||
    b[s + 3] !== P ||
    b[s + 4] !== SLASH ||
    b[s + 6] !== DOT ||
    !isDigit(b[s + 5] as number) ||
    !isDigit(b[s + 7] as number)
  ) {
    throw new BadRequestError("malformed HTTP version");
  }
  if (b[s + 5] === 0x31) {
    if (b[s + 7] === 0x31) return "HTTP/1.1";
    if (b[s + 7] === 0x30) return "HTTP/1.0";
  }
  throw new VersionNotSupportedError(latin1(b, s, e));
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

const STAR = 0x2a;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const QUESTION = 0x3f;
const HASH = 0x23;
const AT = 0x40;

/**
 * RFC 9112 §3.2: origin-form ("/…") for ordinary requests, absolute-form
 * ("scheme://…", §3.2.2), authority-form only with CONNECT (§3.2.3),
 * asterisk-form only with OPTIONS (§3.2.4). Checked on the bytes, with
 * lookup tables: no regex and no allocation on this path.
 */
function checkTargetForm(method: string, b: Buffer, s: number, e: number): void {
  if (method === "CONNECT") {
    if (!isAuthorityForm(b, s, e)) throw new BadRequestError("CONNECT needs an authority-form target");
    return;
  }
  if (b[s] === SLASH) return;
  if (e - s === 1 && b[s] === STAR) {
    if (method !== "OPTIONS") throw new BadRequestError("asterisk-form is only for OPTIONS");
    return;
  }
  if (!isAbsoluteForm(b, s, e)) throw new BadRequestError("malformed request-target");
}

/**
 * RFC 9112 §3.2.3: authority-form = uri-host ":" port, the host an
 * IP-literal ("[…]") or a non-empty reg-name, the port one or more digits.
 */
function isAuthorityForm(b: Buffer, s: number, e: number): boolean {
  let i = s;
  if (b[i] === LBRACKET) {
    i++;
    while (i < e && IP_LITERAL_CHAR[b[i] as number] === 1) i++;
    if (i === s + 1 || i === e || b[i] !== RBRACKET) return false;
    i++;
  } else {
    while (i < e && REG_NAME_CHAR[b[i] as number] === 1) i++;
    if (i === s) return false;
  }
  if (i === e || b[i] !== COLON) return false;
  const portStart = ++i;
  while (i < e && isDigit(b[i] as number)) i++;
  return i === e && i > portStart;
}

/**
 * RFC 9112 §3.2.2: absolute-form = absolute-URI. We require the
 * hierarchical "scheme://" shape every HTTP(S) URI has (RFC 9110 §4.2),
 * which is also what the gateway needs to find the path. Userinfo in the
 * authority is an error (RFC 9110 §4.2.4), as it is in Host.
 */
function isAbsoluteForm(b: Buffer, s: number, e: number): boolean {
  const first = b[s] as number;
  if (!((first >= 0x41 && first <= 0x5a) || (first >= 0x61 && first <= 0x7a))) return false;
  let i = s + 1;
  while (i < e && SCHEME_CHAR[b[i] as number] === 1) i++;
  if (!(e - i >= 3 && b[i] === COLON && b[i + 1] === SLASH && b[i + 2] === SLASH)) return false;
  for (i += 3; i < e && b[i] !== SLASH && b[i] !== QUESTION && b[i] !== HASH; i++) {
    if (b[i] === AT) return false;
  }
  return true;
}

/**
 * RFC 9112 §5: field-line = field-name ":" OWS field-value OWS. No
 * whitespace before the colon (§5.1), no obs-fold (§5.2), a token for the
 * name, and no CTL other than HTAB in the value (RFC 9110 §5.5).
 */
function parseFieldLine(b: Buffer, s: number, e: number, out: string[], previous?: string[]): void {
  let i = s;
  while (i < e && TCHAR[b[i] as number] === 1) i++;
  if (i === s || i === e || b[i] !== COLON) {
    if (b[s] === SP || b[s] === HTAB) throw new BadRequestError("obsolete line folding");
    throw new BadRequestError("malformed header field name");
  }
  const name = HEADER_NAMES.read(b, s, i);
  let vs = i + 1;
  let ve = e;
  while (vs < ve && (b[vs] === SP || b[vs] === HTAB)) vs++;
  while (ve > vs && (b[ve - 1] === SP || b[ve - 1] === HTAB)) ve--;
  // A client on a keep-alive connection usually repeats its headers in the same
  // order: the previous request's value at this place, when it is these very
  // bytes — bytes that passed the check below when that value was read.
  const at = out.length;
  let value: string;
  if (vs === ve) {
    value = "";
  } else if (previous !== undefined && previous[at] === name && sameAs(b, vs, ve, previous[at + 1] as string)) {
    value = previous[at + 1] as string;
  } else {
    for (let j = vs; j < ve; j++) {
      if (FIELD_VALUE_CHAR[b[j] as number] === 0) throw new BadRequestError("invalid character in header value");
    }
    value = latin1(b, vs, ve);
  }
  out.push(name, value);
}

/** buf[s..e) holds exactly the Latin-1 bytes of `text`. */
function sameAs(b: Buffer, s: number, e: number, text: string): boolean {
  if (text.length !== e - s) return false;
  for (let i = 0; i < text.length; i++) if (b[s + i] !== text.charCodeAt(i)) return false;
  return true;
}

/** Parses trailer field lines with the header rules (used by the chunked decoder). */
export { parseFieldLine };
