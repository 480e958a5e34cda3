/**
 * The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2),
 * sans-IO: bytes in; out come "need more", a header, or a ProxyHeaderError.
 *
 * Theory of operation. A load balancer that speaks the PROXY protocol sends,
 * first on each connection and before any TLS, one header saying whose
 * connection it is passing on. Version 1 is one text line:
 *
 *     PROXY TCP4 203.0.113.7 192.0.2.1 56324 443\r\n      (TCP6, or UNKNOWN)
 *
 * at most 107 bytes with its CRLF (§2.1). Version 2 is binary: a 12-byte
 * signature, a version/command byte, a family/transport byte, a 16-bit
 * length, the addresses, then type-length-value extensions (§2.2).
 *
 * The spec's rule for receivers is the one kept here: a listener configured
 * for the PROXY protocol requires the header and never guesses whether it is
 * there (§2: "the receiver MUST be configured to only receive the protocol"),
 * so anything that is not a well-formed header is an error as soon as a byte
 * shows it — `GET / HTTP/1.1` fails at its first byte — and nothing of it is
 * ever read as HTTP. Every length is bounded before bytes are waited for:
 * 107 bytes for a v1 line, PROXY_V2_MAX_PAYLOAD bytes after a v2 header's
 * first 16. Extensions (TLVs) must tile the rest of a v2 header exactly;
 * their contents are skipped (§2.2.7 lets a receiver ignore them).
 *
 * `LOCAL` (v2, the balancer's own health checks), the `UNSPEC` family and v1
 * `UNKNOWN` carry no client address: the connection's real peer stands.
 */

import { formatIp, ipFromBytes, parseIPv4Octets, parseIPv6, parseIp } from "./ip.js";

/** Bytes: the longest v1 header, CRLF included (§2.1). */
export const PROXY_V1_MAX_BYTES = 107;
/** Bytes: the most a v2 header may carry after its fixed 16 (addresses and TLVs); the protocol allows 65535. */
export const PROXY_V2_MAX_PAYLOAD = 4096;

/** The v2 signature (§2.2). */
const V2_SIGNATURE = Buffer.from("0d0a0d0a000d0a515549540a", "hex");
const V1_PREFIX = Buffer.from("PROXY ", "latin1");
const V2_FIXED = 16;
/** Bytes of the address block for INET, INET6 and UNIX (§2.2). */
const INET_BLOCK = 12;
const INET6_BLOCK = 36;
const UNIX_BLOCK = 216;
const UNIX_PATH = 108;

export type ProxyHeader =
  | {
      /** A proxied connection: the client's address and the address it connected to. */
      readonly command: "proxy";
      readonly version: 1 | 2;
      readonly family: "tcp4" | "tcp6" | "unix";
      /** The client: an IP address in canonical form (ip.ts), or a Unix socket path. */
      readonly sourceAddress: string;
      /** null for a Unix socket. */
      readonly sourcePort: number | null;
      readonly destinationAddress: string;
      readonly destinationPort: number | null;
    }
  | {
      /** No client address (v2 LOCAL or UNSPEC, v1 UNKNOWN): the socket's own peer stands. */
      readonly command: "local";
      readonly version: 1 | 2;
    };

export class ProxyHeaderError extends Error {
  readonly code = "ERR_PROXY_HEADER";
  constructor(message: string) {
    super(message);
    this.name = "ProxyHeaderError";
  }
}

/** Throws unless the first bytes of `buf` agree with `prefix` (as far as both go). */
function checkPrefix(buf: Uint8Array, prefix: Uint8Array, what: string): void {
  const n = Math.min(buf.length, prefix.length);
  for (let i = 0; i < n; i++)
    if (buf[i] !== prefix[i]) throw new ProxyHeaderError(`not a PROXY protocol header (${what})`);
}

const PORT = /^(?:0|[1-9][0-9]{0,4})$/;

function parsePort(text: string | undefined): number {
  const port = text !== undefined && PORT.test(text) ? Number(text) : NaN;
  if (!(port <= 65535)) throw new ProxyHeaderError(`PROXY v1: bad port ${JSON.stringify(text ?? "")}`);
  return port;
}

function parseV1Address(text: string | undefined, v6: boolean): string {
  const t = text ?? "";
  const ok = v6 ? parseIPv6(t) !== null : parseIPv4Octets(t) !== null;
  const groups = ok ? parseIp(t) : null;
  if (groups === null) throw new ProxyHeaderError(`PROXY v1: bad ${v6 ? "TCP6" : "TCP4"} address ${JSON.stringify(t)}`);
  return formatIp(groups);
}

/** A v1 header at the start of `buf` (which starts with what can be "PROXY "), or null for more. */
function parseV1(buf: Uint8Array): { header: ProxyHeader; length: number } | null {
  // The CR may stand at index 105 at the latest, its LF then being the 107th byte.
  const limit = Math.min(buf.length, PROXY_V1_MAX_BYTES - 1);
  let end = -1;
  for (let i = V1_PREFIX.length; i < limit; i++) {
    const b = buf[i];
    if (b === 0x0d) {
      if (i + 1 < buf.length && buf[i + 1] !== 0x0a) throw new ProxyHeaderError("PROXY v1: CR without LF");
      end = i;
      break;
    }
    if (b === 0x0a) throw new ProxyHeaderError("PROXY v1: LF without CR");
  }
  if (end === -1 || end + 1 >= buf.length) {
    if (end === -1 && buf.length >= PROXY_V1_MAX_BYTES - 1)
      throw new ProxyHeaderError(`PROXY v1: no CRLF in the first ${PROXY_V1_MAX_BYTES} bytes`);
    return null;
  }
  const fields = Buffer.from(buf.buffer, buf.byteOffset + V1_PREFIX.length, end - V1_PREFIX.length)
    .toString("latin1")
    .split(" ");
  const length = end + 2;
  const proto = fields[0];
  if (proto === "UNKNOWN") return { header: { command: "local", version: 1 }, length };
  if ((proto !== "TCP4" && proto !== "TCP6") || fields.length !== 5) {
    throw new ProxyHeaderError(`PROXY v1: expected "TCP4", "TCP6" or "UNKNOWN" and four fields`);
  }
  const v6 = proto === "TCP6";
  return {
    header: {
      command: "proxy",
      version: 1,
      family: v6 ? "tcp6" : "tcp4",
      sourceAddress: parseV1Address(fields[1], v6),
      destinationAddress: parseV1Address(fields[2], v6),
      sourcePort: parsePort(fields[3]),
      destinationPort: parsePort(fields[4]),
    },
    length,
  };
}

/** Throws unless `buf[from, to)` is a run of whole TLVs (type, 16-bit length, value). */
function checkTlvs(buf: Uint8Array, from: number, to: number): void {
  let at = from;
  while (at < to) {
    if (to - at < 3) throw new ProxyHeaderError("PROXY v2: a truncated TLV");
    const len = ((buf[at + 1] ?? 0) << 8) | (buf[at + 2] ?? 0);
    at += 3 + len;
    if (at > to) throw new ProxyHeaderError("PROXY v2: a TLV longer than the header");
  }
}

function unixPath(buf: Uint8Array, at: number): string {
  let end = at;
  while (end < at + UNIX_PATH && buf[end] !== 0) end++;
  return Buffer.from(buf.buffer, buf.byteOffset + at, end - at).toString("latin1");
}

function port16(buf: Uint8Array, at: number): number {
  return ((buf[at] ?? 0) << 8) | (buf[at + 1] ?? 0);
}

/** The address block of a v2 PROXY command whose whole header is in `buf`. */
function v2Addresses(buf: Uint8Array, family: number, transport: number, payload: number): ProxyHeader {
  if (family === 0) return { command: "local", version: 2 }; // UNSPEC: §2.2 lets the receiver use the real peer
  if (family > 3) throw new ProxyHeaderError(`PROXY v2: unknown address family ${family}`);
  if (transport !== 1) throw new ProxyHeaderError(`PROXY v2: transport ${transport} is not a stream`);
  const block = family === 1 ? INET_BLOCK : family === 2 ? INET6_BLOCK : UNIX_BLOCK;
  if (payload < block) throw new ProxyHeaderError(`PROXY v2: ${payload} bytes cannot hold the addresses`);
  checkTlvs(buf, V2_FIXED + block, V2_FIXED + payload);
  const at = V2_FIXED;
  if (family === 3) {
    return {
      command: "proxy",
      version: 2,
      family: "unix",
      sourceAddress: unixPath(buf, at),
      destinationAddress: unixPath(buf, at + UNIX_PATH),
      sourcePort: null,
      destinationPort: null,
    };
  }
  const size = family === 1 ? 4 : 16;
  return {
    command: "proxy",
    version: 2,
    family: family === 1 ? "tcp4" : "tcp6",
    sourceAddress: formatIp(ipFromBytes(buf, at, size)),
    destinationAddress: formatIp(ipFromBytes(buf, at + size, size)),
    sourcePort: port16(buf, at + 2 * size),
    destinationPort: port16(buf, at + 2 * size + 2),
  };
}

/** A v2 header at the start of `buf` (which starts with what can be the signature), or null for more. */
function parseV2(buf: Uint8Array): { header: ProxyHeader; length: number } | null {
  if (buf.length > V2_SIGNATURE.length) {
    const verCmd = buf[12] ?? 0;
    if (verCmd >> 4 !== 2) throw new ProxyHeaderError(`PROXY v2: version ${verCmd >> 4} is not 2`);
    if ((verCmd & 0xf) > 1) throw new ProxyHeaderError(`PROXY v2: unknown command ${verCmd & 0xf}`);
  }
  if (buf.length < V2_FIXED) return null;
  const payload = port16(buf, 14);
  if (payload > PROXY_V2_MAX_PAYLOAD) {
    throw new ProxyHeaderError(
      `PROXY v2: a header of ${V2_FIXED + payload} bytes is over the limit of ${V2_FIXED + PROXY_V2_MAX_PAYLOAD}`,
    );
  }
  const length = V2_FIXED + payload;
  if (buf.length < length) return null;
  if (((buf[12] ?? 0) & 0xf) === 0) return { header: { command: "local", version: 2 }, length }; // LOCAL
  const fam = buf[13] ?? 0;
  return { header: v2Addresses(buf, fam >> 4, fam & 0xf, payload), length };
}

/**
 * Reads a PROXY header at the start of `buf`: the header and its length in
 * bytes, or null when more bytes are needed to tell. Throws ProxyHeaderError
 * as soon as the bytes cannot begin a valid header.
 */
export function parseProxyHeader(buf: Uint8Array): { header: ProxyHeader; length: number } | null {
  if (buf.length === 0) return null;
  if (buf[0] === V1_PREFIX[0]) {
    checkPrefix(buf, V1_PREFIX, "neither v1 nor v2");
    return buf.length < V1_PREFIX.length ? null : parseV1(buf);
  }
  checkPrefix(buf, V2_SIGNATURE, "neither v1 nor v2");
  return parseV2(buf);
}

/** Bytes a header can take at most, v1 or v2: what a reader may ever hold. */
export const PROXY_HEADER_MAX_BYTES = V2_FIXED + PROXY_V2_MAX_PAYLOAD;

/**
 * Feeds a connection's first chunks to parseProxyHeader: holds at most
 * PROXY_HEADER_MAX_BYTES, and hands back the bytes that followed the header.
 */
export class ProxyHeaderReader {
  private held: Buffer | null = null;

  /** The header and the bytes after it, or null when more are needed; throws ProxyHeaderError. */
  push(chunk: Buffer): { header: ProxyHeader; rest: Buffer } | null {
    const buf = this.held === null ? chunk : Buffer.concat([this.held, chunk]);
    const parsed = parseProxyHeader(buf);
    if (parsed === null) {
      this.held = buf.length === chunk.length ? Buffer.from(buf) : buf; // a copy: the caller may reuse its chunk
      return null;
    }
    this.held = null;
    return { header: parsed.header, rest: buf.subarray(parsed.length) };
  }
}
