/**
 * Response heads (RFC 9112 §4, §6; RFC 9110 §15), sans-IO: the checks that
 * keep an application from splitting a response, eventlet's header
 * capitalization, the choice of framing, and the serialised head.
 */

import { TCHAR } from "./grammar.js";

export { Framing, LAST_CHUNK, chooseFraming, chunkHeader } from "./body-encoder.js";

/** A checked status: its code and the status line for each version. */
export interface CheckedStatus {
  readonly code: number;
  readonly line11: string;
  readonly line10: string;
}

const statusCache = new Map<string, CheckedStatus>();
const STATUS_CACHE_LIMIT = 512;

/**
 * RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ],
 * reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ). The application gives
 * "200 OK"; a bare "200" gets an empty reason. Anything else returns null.
 */
export function checkStatus(status: string): CheckedStatus | null {
  const cached = statusCache.get(status);
  if (cached !== undefined) return cached;
  if (typeof status !== "string" || !/^[1-9][0-9]{2}(?: [\t\x20-\x7e\x80-\xff]*)?$/.test(status)) return null;
  const text = status.length === 3 ? `${status} ` : status;
  const checked: CheckedStatus = {
    code: Number(status.slice(0, 3)),
    line11: `HTTP/1.1 ${text}\r\n`,
    line10: `HTTP/1.0 ${text}\r\n`,
  };
  if (statusCache.size < STATUS_CACHE_LIMIT) statusCache.set(status, checked);
  return checked;
}

/** What the server needs to know of a response header name. */
export const enum HeaderRole {
  Other,
  ContentLength,
  TransferEncoding,
  Connection,
  Date,
  KeepAlive,
}

export interface CheckedName {
  /** The name as it goes out (capitalized when asked). */
  readonly out: string;
  readonly role: HeaderRole;
}

const nameCache = [new Map<string, CheckedName>(), new Map<string, CheckedName>()];
const NAME_CACHE_LIMIT = 1024;

/** eventlet's capitalization: each `-`-separated word upper-first, the rest lower ("x-foo-BAR" → "X-Foo-Bar"). */
export function capitalizeHeaderName(name: string): string {
  return name
    .split("-")
    .map((w) => (w.length === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()))
    .join("-");
}

/** A header name must be a token (RFC 9110 §5.1); returns null when it is not. */
export function checkHeaderName(name: string, capitalize: boolean): CheckedName | null {
  const cache = nameCache[capitalize ? 1 : 0] as Map<string, CheckedName>;
  const cached = cache.get(name);
  if (cached !== undefined) return cached;
  if (typeof name !== "string" || name.length === 0) return null;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 0x7f || TCHAR[c] === 0) return null;
  }
  const checked: CheckedName = {
    out: capitalize ? capitalizeHeaderName(name) : name,
    role: roleOf(name.toLowerCase()),
  };
  if (cache.size < NAME_CACHE_LIMIT) cache.set(name, checked);
  return checked;
}

function roleOf(lower: string): HeaderRole {
  switch (lower) {
    case "content-length":
      return HeaderRole.ContentLength;
    case "transfer-encoding":
      return HeaderRole.TransferEncoding;
    case "connection":
      return HeaderRole.Connection;
    case "date":
      return HeaderRole.Date;
    case "keep-alive":
      return HeaderRole.KeepAlive;
    default:
      return HeaderRole.Other;
  }
}

/**
 * A header value may hold HTAB, SP, VCHAR and obs-text (RFC 9110 §5.5),
 * Latin-1 only (docs/api.md): no CR, LF, NUL or other control, nothing above U+00FF.
 */
export function isValidHeaderValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 ? c !== 0x09 : c === 0x7f || c > 0xff) return false;
  }
  return true;
}

/**
 * RFC 9110 §8.6: a server MUST NOT send Content-Length in a 1xx or 204
 * response, nor in a 2xx to CONNECT (§9.3.6: the connection becomes a
 * tunnel). Every other response may — a 304 and a HEAD response the length
 * of the representation they stand for (§8.6, §9.3.2).
 */
export function mayCarryContentLength(method: string, code: number): boolean {
  return code >= 200 && code !== 204 && !(method === "CONNECT" && code < 300);
}

/**
 * RFC 9110 §6.4.1 and §9.3.6: the responses that never carry a body — those
 * that may not carry a Content-Length, and HEAD and 304, whose length (if
 * any) is that of a body not sent.
 */
export function responseHasNoBody(method: string, code: number): boolean {
  return method === "HEAD" || code === 304 || !mayCarryContentLength(method, code);
}

/** "Content-Length: n\r\n" for small n, made once each (most bodies a server computes the length of are small). */
const contentLengthLines: string[] = [];
const CONTENT_LENGTH_LINE_CACHE = 4096;

/** The Content-Length header line for a body of `n` bytes. */
export function contentLengthLine(n: number): string {
  if (n >= CONTENT_LENGTH_LINE_CACHE) return `Content-Length: ${n}\r\n`;
  return (contentLengthLines[n] ??= `Content-Length: ${n}\r\n`);
}

/** RFC 9110 §15.2.1: the interim 100 Continue, with a checked header block ("Name: value\r\n" lines). */
export function continueResponse(headerBlock: string): string {
  return `HTTP/1.1 100 Continue\r\n${headerBlock}\r\n`;
}
