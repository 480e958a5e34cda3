/**
 * What a parsed head means for framing and the connection (RFC 9112 §6,
 * §9.3, RFC 9110 §7.2, §10.1.1), in one pass over the header list.
 */

import { BadRequestError, NotImplementedError } from "../errors.js";
import { TCHAR, contentLengthValue, isValidHost, trimOws } from "./grammar.js";
import type { RequestHead } from "./request-head.js";

export interface RequestFraming {
  /** Body length from Content-Length, -1 when there is none (or chunked wins). */
  contentLength: number;
  /** The body is chunked (Transfer-Encoding ends in chunked). */
  chunked: boolean;
  /** The Connection header holds `close`. */
  connectionClose: boolean;
  /** The Connection header holds `keep-alive`. */
  connectionKeepAlive: boolean;
  /** HTTP/1.1 request with `Expect: 100-continue`. */
  expectContinue: boolean;
  /**
   * Content-Length and Transfer-Encoding both came, let through because
   * `rejectBadRequests` is false: chunked wins and the connection must
   * close after the response (RFC 9112 §6.1).
   */
  mustClose: boolean;
}

/** Header names we look at, by length, so most names are dismissed without lower-casing. */
const CONTENT_LENGTH = "content-length";
const TRANSFER_ENCODING = "transfer-encoding";
const CONNECTION = "connection";
const EXPECT = "expect";
const HOST = "host";

/**
 * Case-insensitive name match. The parser hands common names over as shared
 * strings (intern.ts), so the usual spellings match by identity first and
 * only an unusual one is lower-cased.
 */
function isName(name: string, canonical: string, lower: string): boolean {
  return name === canonical || name === lower || name.toLowerCase() === lower;
}

export function requestFraming(head: RequestHead, rejectBadRequests: boolean): RequestFraming {
  const h = head.headers;
  let contentLength = -1;
  let transferCodings: string | null = null;
  let connectionClose = false;
  let connectionKeepAlive = false;
  let expectContinue = false;
  let hosts = 0;
  let host = "";
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i] as string;
    const value = h[i + 1] as string;
    switch (name.length) {
      case 14:
        if (isName(name, "Content-Length", CONTENT_LENGTH)) contentLength = mergeContentLength(contentLength, value);
        break;
      case 17:
        if (isName(name, "Transfer-Encoding", TRANSFER_ENCODING)) {
          transferCodings = transferCodings === null ? value : `${transferCodings},${value}`;
        }
        break;
      case 10:
        if (isName(name, "Connection", CONNECTION)) {
          // The usual single-token values first; anything else is split into its list.
          if (value === "close") connectionClose = true;
          else if (value === "keep-alive") connectionKeepAlive = true;
          else
            for (const token of value.split(",")) {
              const t = trimOws(token).toLowerCase();
              if (t === "close") connectionClose = true;
              else if (t === "keep-alive") connectionKeepAlive = true;
            }
        }
        break;
      case 6:
        if (isName(name, "Expect", EXPECT) && value.toLowerCase() === "100-continue") expectContinue = true;
        break;
      case 4:
        if (isName(name, "Host", HOST)) {
          hosts++;
          host = value;
        }
        break;
    }
  }
  const http11 = head.version === "HTTP/1.1";
  // RFC 9112 §3.2: exactly one valid Host in an HTTP/1.1 request; at most one in HTTP/1.0.
  if (hosts > 1) throw new BadRequestError("more than one Host header");
  if (http11 && hosts === 0) throw new BadRequestError("missing Host header");
  if (hosts === 1 && !isValidHost(host)) throw new BadRequestError("invalid Host header");

  let chunked = false;
  let mustClose = false;
  if (transferCodings !== null) {
    // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message is faulty framing.
    if (!http11) throw new BadRequestError("Transfer-Encoding in an HTTP/1.0 request");
    checkTransferCodings(transferCodings);
    chunked = true;
    if (contentLength !== -1) {
      // RFC 9112 §6.3 item 3: both together is a smuggling attempt; reject it.
      if (rejectBadRequests) throw new BadRequestError("both Content-Length and Transfer-Encoding");
      contentLength = -1;
      mustClose = true;
    }
  }
  return {
    contentLength,
    chunked,
    connectionClose,
    connectionKeepAlive,
    // RFC 9110 §10.1.1: a 100-continue expectation in an HTTP/1.0 request is ignored.
    expectContinue: expectContinue && http11,
    mustClose,
  };
}

/**
 * RFC 9112 §6.3 item 5 / RFC 9110 §8.6: Content-Length is 1*DIGIT. A list of
 * identical values (in one field or several) may be folded into one;
 * anything else is a 400.
 */
function mergeContentLength(previous: number, value: string): number {
  let result = previous;
  for (const part of value.includes(",") ? value.split(",") : [value]) {
    const n = contentLengthValue(trimOws(part));
    if (n < 0) throw new BadRequestError("invalid Content-Length");
    if (result !== -1 && result !== n) throw new BadRequestError("conflicting Content-Length values");
    result = n;
  }
  return result;
}

/**
 * RFC 9112 §6.1, §6.3 and §7: the only coding implemented is chunked. When
 * chunked is not the final coding (or not there at all) the body length
 * cannot be known: 400. Chunked twice: 400. Another (well-formed) coding
 * before the final chunked is one we do not implement: 501. `identity` is
 * not a coding any more (RFC 9112 §7) and counts as unknown.
 */
function checkTransferCodings(list: string): void {
  const codings = list.split(",");
  const final = trimOws(codings[codings.length - 1] as string).toLowerCase();
  if (final !== "chunked") throw new BadRequestError("chunked is not the final transfer coding");
  let unknown: string | null = null;
  for (let i = 0; i < codings.length - 1; i++) {
    const coding = trimOws(codings[i] as string).toLowerCase();
    if (coding === "chunked") throw new BadRequestError("chunked applied more than once");
    if (!isTransferCoding(coding)) throw new BadRequestError("malformed transfer coding");
    unknown ??= coding;
  }
  if (unknown !== null) throw new NotImplementedError(`transfer coding not implemented: ${unknown}`);
}

/**
 * RFC 9112 §7: transfer-coding = token *( OWS ";" OWS transfer-parameter ).
 * Only the token is checked: any coding but chunked is a 501 whatever its
 * parameters say.
 */
function isTransferCoding(coding: string): boolean {
  let i = 0;
  while (i < coding.length && coding.charCodeAt(i) <= 0xff && TCHAR[coding.charCodeAt(i)] === 1) i++;
  if (i === 0) return false;
  while (i < coding.length && (coding.charCodeAt(i) === 0x20 || coding.charCodeAt(i) === 0x09)) i++;
  return i === coding.length || coding.charCodeAt(i) === 0x3b; /* ; */
}
