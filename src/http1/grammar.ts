/**
 * Byte classes from RFC 9110 §5.6 and RFC 9112, as lookup tables indexed by
 * byte value (1 = allowed). Tables beat regexes on the hot path and make the
 * rules easy to audit against the ABNF.
 */

function table(allowed: (byte: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let b = 0; b < 256; b++) t[b] = allowed(b) ? 1 : 0;
  return t;
}

const isAlnum = (b: number): boolean =>
  (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);

/** RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
export const TCHAR = table((b) => isAlnum(b) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(b)));

/**
 * RFC 9110 §5.5: field-value octets are VCHAR, obs-text, SP and HTAB. CR, LF
 * and NUL must be rejected; we reject every other control (and DEL) too, as
 * llhttp and h11 do.
 */
export const FIELD_VALUE_CHAR = table((b) => b === 0x09 || (b >= 0x20 && b !== 0x7f));

/** RFC 9112 §3.2: request-target is made of URI characters — VCHAR here (h11's rule); no SP, CTL or obs-text. */
export const TARGET_CHAR = table((b) => b >= 0x21 && b <= 0x7e);

/** RFC 3986 §3.2.2 reg-name: unreserved / pct-encoded / sub-delims (Host header, RFC 9110 §7.2). */
export const REG_NAME_CHAR = table((b) => isAlnum(b) || "-._~%!$&'()*+,;=".includes(String.fromCharCode(b)));

/** RFC 3986 IP-literal contents: hex digits, ':', '.', and IPvFuture's unreserved/sub-delims. */
export const IP_LITERAL_CHAR = table((b) => isAlnum(b) || ":.-_~!$&'()*+,;=".includes(String.fromCharCode(b)));

/** RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) — the characters after the first. */
export const SCHEME_CHAR = table((b) => isAlnum(b) || b === 0x2b || b === 0x2d || b === 0x2e);

/**
 * RFC 9110 §5.6.4 qdtext and quoted-pair octets (HTAB, SP, VCHAR, obs-text), used for
 * chunk extensions. The same set as a field value's octets, so the same table.
 */
export const QUOTED_CHAR = FIELD_VALUE_CHAR;

export const CR = 0x0d;
export const LF = 0x0a;
export const SP = 0x20;
export const HTAB = 0x09;
export const COLON = 0x3a;

/** Value of a hex digit, or -1. */
export function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  return -1;
}

function isOws(c: number): boolean {
  return c === SP || c === HTAB;
}

/**
 * `s` without leading and trailing OWS (RFC 9110 §5.6.3: SP and HTAB only).
 * `String.prototype.trim` is not the same: it also strips VT, FF and NBSP
 * (0xA0, a legal obs-text byte), which would let "chunked\xA0" pass for
 * "chunked" or "5\xA0" for a Content-Length of 5.
 */
export function trimOws(s: string): string {
  let i = 0;
  let j = s.length;
  while (i < j && isOws(s.charCodeAt(i))) i++;
  while (j > i && isOws(s.charCodeAt(j - 1))) j--;
  return i === 0 && j === s.length ? s : s.slice(i, j);
}

/** True when every character of `s` is a tchar (RFC 9110 §5.6.2). */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || TCHAR[c] === 0) return false;
  }
  return true;
}

/**
 * Host field value (RFC 9110 §7.2, RFC 3986 §3.2.2): empty, or
 * uri-host [ ":" port ] with uri-host an IP-literal or a reg-name.
 */
export function isValidHost(host: string): boolean {
  const n = host.length;
  if (n === 0) return true;
  let i = 0;
  if (host.charCodeAt(0) === 0x5b /* [ */) {
    const close = host.indexOf("]");
    if (close < 2) return false;
    for (i = 1; i < close; i++) {
      const c = host.charCodeAt(i);
      if (c > 0xff || IP_LITERAL_CHAR[c] === 0) return false;
    }
    i = close + 1;
  } else {
    while (i < n && host.charCodeAt(i) !== COLON) {
      const c = host.charCodeAt(i);
      if (c > 0xff || REG_NAME_CHAR[c] === 0) return false;
      i++;
    }
  }
  if (i === n) return true;
  if (host.charCodeAt(i) !== COLON) return false;
  for (i++; i < n; i++) {
    const c = host.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

type Latin1Sliceable = { latin1Slice(start: number, end: number): string };

/**
 * buf[s..e) decoded as Latin-1 (PEP 3333's rule for header bytes). Node's
 * own `latin1Slice` skips the encoding dispatch of `toString`.
 */
export function latin1(buf: Uint8Array, s: number, e: number): string {
  return (buf as unknown as Latin1Sliceable).latin1Slice(s, e);
}

/** Digits in the largest Content-Length accepted (10^15 - 1 bytes): below 2^53, so every value is an exact integer. */
const MAX_CONTENT_LENGTH_DIGITS = 15;

/**
 * RFC 9110 §8.6: Content-Length = 1*DIGIT. The value of `digits` (already
 * trimmed of OWS), or -1 when it is not 1 to 15 ASCII digits. The one parser
 * of a Content-Length, for requests (request-framing.ts) and responses
 * (gateway/start-response.ts) alike.
 */
export function contentLengthValue(digits: string): number {
  if (digits.length === 0 || digits.length > MAX_CONTENT_LENGTH_DIGITS) return -1;
  let n = 0;
  for (let i = 0; i < digits.length; i++) {
    const c = digits.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}
