/**
 * Sec-WebSocket-Extensions, parsed by hand (RFC 6455 §9.1), and permessage-deflate negotiation
 * (RFC 7692 §5, §7.1). One pass over the characters and no regular expression: nothing here can
 * backtrack (ws's CVE-2021-32640 was a regex on this header).
 */

import { isToken, TCHAR } from "../http1/grammar.js";

const isTokenChar = (c: number): boolean => c <= 0xff && TCHAR[c] === 1;

/** One offered extension: its name and its parameters in order (a bare parameter's value is true). */
export interface ExtensionOffer {
  readonly name: string;
  readonly params: [string, string | true][];
}

/**
 * The offers in a Sec-WebSocket-Extensions value, or null when it is malformed:
 * `extension *( ";" param )` separated by commas, `param = token [ "=" (token | quoted-string) ]`,
 * with optional whitespace around the separators. Empty list elements are skipped (RFC 9110 §5.6.1).
 */
export function parseExtensions(value: string): ExtensionOffer[] | null {
  const offers: ExtensionOffer[] = [];
  const s = new Scanner(value);
  for (;;) {
    s.skipSpace();
    if (s.atEnd()) return offers;
    if (s.eat(",")) continue;
    const name = s.token();
    if (name === "") return null;
    const params: [string, string | true][] = [];
    s.skipSpace();
    while (s.eat(";")) {
      s.skipSpace();
      const key = s.token();
      if (key === "") return null;
      s.skipSpace();
      let paramValue: string | true = true;
      if (s.eat("=")) {
        s.skipSpace();
        const v = s.peek() === '"' ? s.quoted() : s.token();
        // A quoted value must still be a token once unescaped (§9.1).
        if (v === null || v === "" || !isToken(v)) return null;
        paramValue = v;
        s.skipSpace();
      }
      params.push([key.toLowerCase(), paramValue]);
    }
    offers.push({ name: name.toLowerCase(), params });
    s.skipSpace();
    if (s.atEnd()) return offers;
    if (!s.eat(",")) return null;
  }
}

class Scanner {
  private i = 0;
  constructor(private readonly s: string) {}
  atEnd(): boolean {
    return this.i >= this.s.length;
  }
  peek(): string {
    return this.s[this.i] ?? "";
  }
  eat(c: string): boolean {
    if (this.s[this.i] !== c) return false;
    this.i++;
    return true;
  }
  skipSpace(): void {
    while (this.s[this.i] === " " || this.s[this.i] === "\t") this.i++;
  }
  token(): string {
    const start = this.i;
    while (this.i < this.s.length && isTokenChar(this.s.charCodeAt(this.i))) this.i++;
    return this.s.slice(start, this.i);
  }
  /** A quoted-string (RFC 9110 §5.6.4), unescaped; null when unterminated. */
  quoted(): string | null {
    this.i++; // the opening quote
    let out = "";
    while (this.i < this.s.length) {
      const c = this.s.charAt(this.i++);
      if (c === '"') return out;
      if (c === "\\") {
        if (this.i >= this.s.length) return null;
        out += this.s.charAt(this.i++);
      } else {
        out += c;
      }
    }
    return null;
  }
}

/** permessage-deflate as configured (WebSocketOptions.permessageDeflate). */
export interface DeflateOptions {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  /** 9–15: zlib cannot make a raw deflate stream with an 8-bit window. */
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
  /** Messages shorter than this many bytes go uncompressed. */
  threshold: number;
}

/** What was agreed for one connection. */
export interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
}

export interface Agreement {
  readonly params: DeflateParams;
  /** The Sec-WebSocket-Extensions response value. */
  readonly header: string;
}

/** The first permessage-deflate offer the server can honour, or null (RFC 7692 §5: then none is used). */
export function negotiateDeflate(offers: ExtensionOffer[], opts: DeflateOptions): Agreement | null {
  for (const offer of offers) {
    if (offer.name !== "permessage-deflate") continue;
    const agreed = acceptOffer(offer, opts);
    if (agreed !== null) return agreed;
  }
  return null;
}

/** RFC 7692 §7.1: an offer with an unknown, repeated or invalid parameter is declined. */
function acceptOffer(offer: ExtensionOffer, opts: DeflateOptions): Agreement | null {
  let serverNoContext = false;
  let clientNoContext = false;
  let serverBits: number | undefined;
  let clientBits: number | true | undefined;
  const seen = new Set<string>();
  for (const [key, value] of offer.params) {
    if (seen.has(key)) return null;
    seen.add(key);
    switch (key) {
      case "server_no_context_takeover":
        if (value !== true) return null;
        serverNoContext = true;
        break;
      case "client_no_context_takeover":
        if (value !== true) return null;
        clientNoContext = true;
        break;
      case "server_max_window_bits": {
        // §7.1.2.1: a value is required.
        const bits = value === true ? NaN : windowBits(value);
        if (Number.isNaN(bits)) return null;
        serverBits = bits;
        break;
      }
      case "client_max_window_bits":
        // §7.1.2.2: the value is optional.
        if (value === true) clientBits = true;
        else {
          const bits = windowBits(value);
          if (Number.isNaN(bits)) return null;
          clientBits = bits;
        }
        break;
      default:
        return null;
    }
  }
  // An 8-bit window cannot be made by zlib's raw deflate (API.md), for either direction.
  if (serverBits !== undefined && serverBits < 9) return null;
  if (typeof clientBits === "number" && clientBits < 9) return null;
  // A client that did not say it can limit its window cannot be asked to (§7.1.2.2).
  if (clientBits === undefined && opts.clientMaxWindowBits < 15) return null;

  const params: DeflateParams = {
    serverNoContextTakeover: serverNoContext || opts.serverNoContextTakeover,
    clientNoContextTakeover: clientNoContext || opts.clientNoContextTakeover,
    serverMaxWindowBits: Math.min(serverBits ?? 15, opts.serverMaxWindowBits),
    clientMaxWindowBits: Math.min(typeof clientBits === "number" ? clientBits : 15, opts.clientMaxWindowBits),
  };
  let header = "permessage-deflate";
  if (params.serverNoContextTakeover) header += "; server_no_context_takeover";
  if (params.clientNoContextTakeover) header += "; client_no_context_takeover";
  if (serverBits !== undefined || params.serverMaxWindowBits < 15) {
    header += `; server_max_window_bits=${params.serverMaxWindowBits}`;
  }
  if (clientBits !== undefined && (typeof clientBits === "number" || params.clientMaxWindowBits < 15)) {
    header += `; client_max_window_bits=${params.clientMaxWindowBits}`;
  }
  return { params, header };
}

/** 8–15 written as 1*DIGIT without a leading zero (§7.1.2.1); NaN otherwise. */
function windowBits(value: string): number {
  if (value.length === 0 || value.length > 2 || value[0] === "0") return NaN;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return NaN;
  }
  const n = Number(value);
  return n >= 8 && n <= 15 ? n : NaN;
}
