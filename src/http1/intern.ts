/**
 * Well-known tokens — request methods and common header names — read from
 * the bytes as shared, constant strings instead of a fresh Latin-1 slice
 * each time. This is only a faster way to produce the same string: a token
 * matches when its bytes equal a known spelling exactly (case included), so
 * the result is always what `latin1(buf, s, e)` would have returned, and
 * every grammar check still runs on the bytes before this is called.
 *
 * Why: a slice costs a string allocation per request per header, and a
 * constant (internalized) string is compared by identity and hashes once,
 * which makes the header-name lookups that follow (framing, environ keys)
 * cheaper too.
 */

import { latin1 } from "./grammar.js";

export class TokenTable {
  /** byLength[n]: the known tokens n bytes long, with their bytes. */
  private readonly byLength: { text: string; bytes: Uint8Array }[][] = [];

  constructor(tokens: readonly string[]) {
    for (const text of tokens) {
      const list = (this.byLength[text.length] ??= []);
      if (!list.some((t) => t.text === text)) list.push({ text, bytes: Buffer.from(text, "latin1") });
    }
  }

  /** buf[s..e) as a string: the shared one when it is a known token, else a fresh Latin-1 slice. */
  read(buf: Uint8Array, s: number, e: number): string {
    const list = this.byLength[e - s];
    if (list !== undefined) {
      search: for (let k = 0; k < list.length; k++) {
        const t = list[k] as { text: string; bytes: Uint8Array };
        const bytes = t.bytes;
        for (let i = 0; i < bytes.length; i++) {
          if (buf[s + i] !== bytes[i]) continue search;
        }
        return t.text;
      }
    }
    return latin1(buf, s, e);
  }
}

/** RFC 9110 §9 methods and PATCH (RFC 5789). */
export const METHODS = new TokenTable(["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"]);

/** Request header names clients commonly send, each as usually capitalized and in lower case (as HTTP/2-era clients send). */
const COMMON_HEADER_NAMES = [
  "Host",
  "User-Agent",
  "Accept",
  "Accept-Encoding",
  "Accept-Language",
  "Accept-Charset",
  "Authorization",
  "Cache-Control",
  "Connection",
  "Content-Length",
  "Content-Type",
  "Cookie",
  "Expect",
  "If-Modified-Since",
  "If-None-Match",
  "Keep-Alive",
  "Origin",
  "Pragma",
  "Range",
  "Referer",
  "TE",
  "Transfer-Encoding",
  "Upgrade",
  "Upgrade-Insecure-Requests",
  "X-Forwarded-For",
  "X-Forwarded-Host",
  "X-Forwarded-Proto",
  "X-Real-IP",
  "X-Request-ID",
  "X-Requested-With",
];

export const HEADER_NAMES = new TokenTable([
  ...COMMON_HEADER_NAMES,
  ...COMMON_HEADER_NAMES.map((n) => n.toLowerCase()),
]);
