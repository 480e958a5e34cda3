/**
 * What `start_response` checks (PEP 3333, RFC 9110 §5): the status and each
 * header, so that no application can split a response. Hop-by-hop framing
 * headers are the server's: an application's Transfer-Encoding and
 * Keep-Alive are dropped, its Connection only says whether to close.
 */

import { contentLengthValue, trimOws } from "../http1/grammar.js";
import {
  HeaderRole,
  checkHeaderName,
  checkStatus,
  isValidHeaderValue,
  type CheckedStatus,
} from "../http1/response-head.js";

export interface CheckedHeaders {
  /** "Name: value\r\n" lines, ready for the wire. */
  readonly block: string;
  /** The application's Content-Length, or -1. */
  readonly contentLength: number;
  readonly hasDate: boolean;
  /** The application sent `Connection: close`. */
  readonly wantsClose: boolean;
}

/** An application error in start_response's arguments. */
export class InvalidResponseError extends TypeError {
  readonly code = "ERR_INVALID_RESPONSE";
  constructor(message: string) {
    super(message);
    this.name = "InvalidResponseError";
  }
}

export function checkResponseStatus(status: unknown): CheckedStatus {
  const checked = typeof status === "string" ? checkStatus(status) : null;
  if (checked === null) throw new InvalidResponseError(`invalid status: ${JSON.stringify(status)}`);
  return checked;
}

/**
 * The last header list checked, flat (name, value, ...), with its outcome.
 * The outcome depends on nothing but the names, the values, `capitalize`
 * and `omitContentLength`, and an application usually answers with the same
 * headers again and again: when they match the last ones, name for name and
 * value for value, the checked result is reused instead of checked and
 * rendered again.
 */
let lastPairs: unknown[] = [];
let lastCapitalize = false;
let lastOmitContentLength = false;
let lastChecked: CheckedHeaders | null = null;

function sameAsLast(headers: unknown[], capitalize: boolean, omitContentLength: boolean): boolean {
  if (lastChecked === null || capitalize !== lastCapitalize || omitContentLength !== lastOmitContentLength)
    return false;
  if (headers.length * 2 !== lastPairs.length) return false;
  for (let i = 0; i < headers.length; i++) {
    const pair = headers[i];
    if (!Array.isArray(pair) || pair.length !== 2 || pair[0] !== lastPairs[2 * i] || pair[1] !== lastPairs[2 * i + 1])
      return false;
  }
  return true;
}

/**
 * `omitContentLength`: the response may not carry one (RFC 9110 §8.6: 1xx,
 * 204, 2xx to CONNECT); the application's is still checked, then left out.
 */
export function checkResponseHeaders(headers: unknown, capitalize: boolean, omitContentLength = false): CheckedHeaders {
  if (!Array.isArray(headers)) throw new InvalidResponseError("headers must be an array of [name, value] pairs");
  if (sameAsLast(headers, capitalize, omitContentLength)) return lastChecked as CheckedHeaders;
  const checked = checkHeaderList(headers, capitalize, omitContentLength);
  const pairs: unknown[] = [];
  for (const pair of headers as [unknown, unknown][]) pairs.push(pair[0], pair[1]);
  lastPairs = pairs;
  lastCapitalize = capitalize;
  lastOmitContentLength = omitContentLength;
  lastChecked = checked;
  return checked;
}

function checkHeaderList(headers: unknown[], capitalize: boolean, omitContentLength: boolean): CheckedHeaders {
  let block = "";
  let contentLength = -1;
  /** The first Content-Length, even one left out: a different one after it is still a conflict. */
  let firstLength = -1;
  let hasDate = false;
  let wantsClose = false;
  for (const pair of headers) {
    if (!Array.isArray(pair) || pair.length !== 2)
      throw new InvalidResponseError("each header must be a [name, value] pair");
    const [name, raw] = pair as [unknown, unknown];
    const checked = typeof name === "string" ? checkHeaderName(name, capitalize) : null;
    if (checked === null) throw new InvalidResponseError(`invalid header name: ${JSON.stringify(name)}`);
    const value = typeof raw === "string" ? raw : typeof raw === "number" ? String(raw) : null;
    if (value === null || !isValidHeaderValue(value)) {
      throw new InvalidResponseError(`invalid value for header ${String(name)}: ${JSON.stringify(raw)}`);
    }
    switch (checked.role) {
      case HeaderRole.TransferEncoding:
      case HeaderRole.KeepAlive:
        continue;
      case HeaderRole.Connection:
        // Tokens separated by OWS (SP, HTAB) and commas (RFC 9110 §5.6.1); \s would also take NBSP, VT, FF.
        if (/(?:^|[ \t,])close(?:$|[ \t,])/i.test(value)) wantsClose = true;
        continue;
      case HeaderRole.ContentLength: {
        // OWS only (RFC 9110 §5.5): String.prototype.trim would also strip NBSP, VT, FF (grammar.ts).
        const digits = trimOws(value);
        const n = contentLengthValue(digits);
        if (n < 0) throw new InvalidResponseError(`invalid Content-Length: ${JSON.stringify(value)}`);
        if (firstLength !== -1) {
          if (firstLength !== n) throw new InvalidResponseError("conflicting Content-Length headers");
          continue;
        }
        firstLength = n;
        if (omitContentLength) continue;
        contentLength = n;
        block += `${checked.out}: ${digits}\r\n`;
        continue;
      }
      case HeaderRole.Date:
        hasDate = true;
        break;
      case HeaderRole.Other:
        break;
    }
    block += `${checked.out}: ${value}\r\n`;
  }
  return Object.freeze({ block, contentLength, hasDate, wantsClose });
}

/** Headers for a 100 Continue, checked as response headers; a 1xx carries no Content-Length (RFC 9110 §8.6). */
export function checkContinueHeaders(headers: [string, string][], capitalize: boolean): string {
  return checkResponseHeaders(headers, capitalize, true).block;
}
