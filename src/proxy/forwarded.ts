/**
 * Who the client is, from the forwarding headers of a trusted peer
 * (`forwardedAllowIps`), sans-IO: request headers in, an address, port and
 * scheme out.
 *
 * Each proxy on the way appends one entry saying whom it got the request
 * from: `Forwarded: for=…;proto=…` (RFC 7239 §4) or `X-Forwarded-For` (with
 * `X-Forwarded-Proto`, the de-facto pair). The leftmost entry was written by
 * the client itself, or by whoever it chose to claim to be, so it proves
 * nothing. The walk starts at the right, at the entry the trusted peer
 * wrote, and goes left while the address it names is trusted as well
 * (a proxy in front of that peer); the first untrusted address is the
 * client. When every hop is trusted, the leftmost is the client.
 *
 * An entry that names no IP address (`unknown`, an obfuscated `_name`, a
 * malformed element) ends the walk: the address and port stay the socket's
 * (API.md). Its `proto=` still counts when the element is well formed, since
 * a trusted hop wrote it: a proxy may hide the client yet say the scheme.
 *
 * `Forwarded`, when present, wins and `X-Forwarded-*` are ignored. Names
 * are matched exactly, case aside: `X_Forwarded_For` is another header, as
 * it is for the environ, which drops it.
 */

import type { AllowList } from "./allow-list.js";
import { formatIp, ipv4Groups, parseIPv4, parseIPv6, type IpGroups } from "./ip.js";

export type ForwardedScheme = "http" | "https";

/** What the headers changed; null fields are left as the connection has them. */
export interface ForwardedClient {
  /** The client's address (canonical, ip.ts), or null: the peer's stands. */
  readonly addr: string | null;
  /** With `addr`: the entry's port, or "" when it has none. */
  readonly port: string;
  readonly scheme: ForwardedScheme | null;
}

const PORT = /^(?:0|[1-9][0-9]{0,4})$/;
/** RFC 7239 §6.3: obfport = "_" 1*(ALPHA / DIGIT / "." / "_" / "-"). */
const OBFUSCATED_PORT = /^_[A-Za-z0-9._-]+$/;

/** A hop's address (parsed, not yet spelt: only the chosen one is) and port. */
interface HopAddress {
  readonly groups: IpGroups;
  readonly port: string;
}

/** The port after an address's ":" (an obfuscated one gives ""), or null when it is none. */
function parsePort(text: string): string | null {
  if (OBFUSCATED_PORT.test(text)) return "";
  return PORT.test(text) && Number(text) <= 65535 ? text : null;
}

/** An address with an optional port: `1.2.3.4`, `1.2.3.4:80`, `[v6]`, `[v6]:80` (and a bare v6 when `bareV6`). */
function parseHopAddress(text: string, bareV6: boolean): HopAddress | null {
  let host = text;
  let port: string | null = "";
  let v4 = -1;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close === -1) return null;
    host = text.slice(1, close);
    if (close + 1 < text.length) port = text.charCodeAt(close + 1) === 0x3a ? parsePort(text.slice(close + 2)) : null;
    if (!host.includes(":")) return null;
  } else if (!(bareV6 && text.indexOf(":") !== text.lastIndexOf(":"))) {
    const colon = text.indexOf(":");
    if (colon !== -1) {
      host = text.slice(0, colon);
      port = parsePort(text.slice(colon + 1));
    }
    v4 = parseIPv4(host);
    if (v4 === -1) return null;
  }
  if (port === null) return null;
  const groups = v4 !== -1 ? ipv4Groups(v4) : parseIPv6(host);
  return groups === null ? null : { groups, port };
}

function schemeOf(proto: string | undefined): ForwardedScheme | null {
  if (proto === undefined) return null;
  const p = proto.toLowerCase(); // URI schemes are case-insensitive (RFC 3986 §3.1)
  return p === "http" || p === "https" ? p : null;
}

/** One entry of either header: the node it names (null when none) and its proto. */
interface Hop {
  readonly node: HopAddress | null;
  readonly scheme: ForwardedScheme | null;
}

/**
 * Walks the entries right to left (see the top of the file), reading each only when the walk
 * reaches it: a long list of client-written entries costs nothing left of the client.
 * `fallbackScheme` when the chosen hop says none.
 */
function walk(
  entries: readonly string[],
  readHop: (entry: string) => Hop,
  trust: AllowList,
  fallbackScheme: ForwardedScheme | null,
): ForwardedClient {
  let chosen: HopAddress | null = null;
  let chosenScheme: ForwardedScheme | null = null;
  for (let i = entries.length - 1; i >= 0; i--) {
    const hop = readHop(entries[i] as string);
    if (hop.node === null) return { addr: null, port: "", scheme: hop.scheme ?? fallbackScheme };
    chosen = hop.node;
    chosenScheme = hop.scheme;
    if (!trust.allowsIp(chosen.groups)) break;
  }
  if (chosen === null) return { addr: null, port: "", scheme: fallbackScheme };
  return { addr: formatIp(chosen.groups), port: chosen.port, scheme: chosenScheme ?? fallbackScheme };
}

/** Splits at `sep` outside quoted strings (RFC 9110 §5.6.4, with its backslash escapes). */
function splitOutsideQuotes(text: string, sep: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === "\\") i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') {
      quoted = true;
    } else if (c === sep) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** qdtext and quoted-pair's second character (RFC 9110 §5.6.4): HTAB, SP, VCHAR, obs-text; not DEL. */
function isQuotable(c: number): boolean {
  return c === 0x09 || (c >= 0x20 && c <= 0xff && c !== 0x7f);
}

/** A `quoted-string` (RFC 9110 §5.6.4), unquoted; null when `text` is not exactly one. */
function unquote(text: string): string | null {
  const end = text.length - 1;
  if (end < 1 || text.charCodeAt(0) !== 0x22 || text.charCodeAt(end) !== 0x22) return null;
  let out = "";
  let from = 1;
  for (let i = 1; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) {
      // quoted-pair: the next character stands for itself
      if (i + 1 >= end || !isQuotable(text.charCodeAt(i + 1))) return null;
      out += text.slice(from, i);
      from = ++i;
    } else if (c === 0x22 || !isQuotable(c)) {
      return null;
    }
  }
  return out + text.slice(from, end);
}

/** A `token` or `quoted-string` value, unquoted; null when it is neither. */
function pairValue(text: string): string | null {
  return TOKEN.test(text) ? text : unquote(text);
}

/** The parameters of one forwarded-element (RFC 7239 §4), or null when it is malformed. */
function parseElement(element: string): Map<string, string> | null {
  const params = new Map<string, string>();
  for (const rawPair of splitOutsideQuotes(element, ";")) {
    const pair = rawPair.trim();
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    if (eq <= 0) return null;
    const name = pair.slice(0, eq).toLowerCase();
    const value = pairValue(pair.slice(eq + 1));
    // §4: each parameter at most once in an element.
    if (!TOKEN.test(name) || value === null || params.has(name)) return null;
    params.set(name, value);
  }
  return params;
}

function forwardedHop(element: string): Hop {
  const params = parseElement(element.trim());
  if (params === null) return { node: null, scheme: null };
  const node = params.get("for");
  // A node without brackets cannot be IPv6 (RFC 7239 §6): a bare "::1" is malformed.
  return { node: node === undefined ? null : parseHopAddress(node, false), scheme: schemeOf(params.get("proto")) };
}

function xForwardedForHop(entry: string): Hop {
  return { node: parseHopAddress(entry.trim(), true), scheme: null };
}

/** The rightmost value of X-Forwarded-Proto, as a scheme (null when absent or not http/https). */
function lastProto(value: string): ForwardedScheme | null {
  const comma = value.lastIndexOf(",");
  return schemeOf((comma === -1 ? value : value.slice(comma + 1)).trim());
}

/**
 * The client as the headers of a trusted peer tell it. `headers` is the
 * parser's flat `[name, value, …]`; repeated fields are read as one list, in
 * order (RFC 9110 §5.3). Call it only for a peer in `trust`.
 */
export function resolveForwarded(headers: readonly string[], trust: AllowList): ForwardedClient {
  if (headers === last.headers && trust === last.trust) return last.client;
  const client = walkHeaders(headers, trust);
  last = { headers, trust, client };
  return client;
}

/**
 * The last answer, by the request's headers array: the environ asks, and the access log
 * asks again once the response is sent, most often with no other request in between. One
 * entry, not a WeakMap, whose get and set would cost more than the walk.
 */
let last: { headers: readonly string[] | null; trust: AllowList | null; client: ForwardedClient } = {
  headers: null,
  trust: null,
  client: { addr: null, port: "", scheme: null },
};

function walkHeaders(headers: readonly string[], trust: AllowList): ForwardedClient {
  let forwarded: string | null = null;
  let xff: string | null = null;
  let xfp: string | null = null;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (name.length !== 9 && name.length !== 15 && name.length !== 17) continue;
    const value = headers[i + 1] as string;
    const lower = name.toLowerCase();
    if (lower === "forwarded") forwarded = forwarded === null ? value : `${forwarded},${value}`;
    else if (lower === "x-forwarded-for") xff = xff === null ? value : `${xff},${value}`;
    else if (lower === "x-forwarded-proto") xfp = xfp === null ? value : `${xfp},${value}`;
  }
  if (forwarded !== null) return walk(splitOutsideQuotes(forwarded, ","), forwardedHop, trust, null);
  const scheme = xfp === null ? null : lastProto(xfp);
  return walk(xff === null ? [] : xff.split(","), xForwardedForHop, trust, scheme);
}
