/**
 * The peers a server believes: `forwardedAllowIps` (whose forwarding
 * headers count) and `proxyAllowFrom` (who may send a PROXY header).
 *
 * A list is written as gunicorn's `--forwarded-allow-ips` is: addresses and
 * CIDR blocks separated by commas (`"127.0.0.1, 10.0.0.0/8, ::1"`), or an
 * array of them; `*` for every peer, `unix` for a peer on a Unix socket. It
 * is parsed once, when the options are read, so a typo (a host name, a
 * prefix out of range) is an error at start-up, not a peer silently
 * trusted or refused later.
 *
 * IPv4 is matched as IPv4-mapped IPv6 (ip.ts): `127.0.0.1` covers a peer
 * seen as `::ffff:127.0.0.1` on a dual-stack socket. A Unix-socket peer is
 * matched only by `unix` or `*`.
 */

import { formatIp, isMappedV4, parseIp, type IpGroups } from "./ip.js";

/** A peer's address as the server knows it: an IP address, or "unix". */
export const UNIX_PEER = "unix";

interface Block {
  readonly base: IpGroups;
  /** Leading bits that must match, 0–128 (an IPv4 /n is 96 + n). */
  readonly bits: number;
}

function inBlock(addr: IpGroups, block: Block): boolean {
  let bits = block.bits;
  for (let i = 0; i < 8 && bits > 0; i++, bits -= 16) {
    const mask = bits >= 16 ? 0xffff : (0xffff << (16 - bits)) & 0xffff;
    if (((addr[i] ?? 0) & mask) !== ((block.base[i] ?? 0) & mask)) return false;
  }
  return true;
}

function parseEntry(entry: string, option: string): Block {
  const slash = entry.indexOf("/");
  let text = slash === -1 ? entry : entry.slice(0, slash);
  if (text.startsWith("[") && text.endsWith("]")) text = text.slice(1, -1);
  const base = parseIp(text);
  if (base === null) {
    throw new TypeError(
      `${option}: ${JSON.stringify(entry)} is not an IP address, a CIDR block, "unix" or "*" (host names are not resolved)`,
    );
  }
  const v4 = !text.includes(":");
  const max = v4 ? 32 : 128;
  let prefix = max;
  if (slash !== -1) {
    const digits = entry.slice(slash + 1);
    prefix = /^[0-9]{1,3}$/.test(digits) ? Number(digits) : NaN;
    if (!(prefix <= max))
      throw new TypeError(`${option}: ${JSON.stringify(entry)} has a prefix length out of 0–${max}`);
  }
  const bits = v4 ? 96 + prefix : prefix;
  // Host bits beyond the prefix (10.1.2.3/8) are cleared, as Python's ip_network(strict=False) does.
  for (let i = 0, left = bits; i < 8; i++, left -= 16) {
    base[i] = left >= 16 ? (base[i] ?? 0) : left <= 0 ? 0 : (base[i] ?? 0) & ((0xffff << (16 - left)) & 0xffff);
  }
  return { base, bits };
}

export class AllowList {
  /** `*`: every peer, Unix sockets included. */
  readonly any: boolean;
  /** `unix`: a peer on a Unix socket. */
  readonly unix: boolean;
  private readonly blocks: readonly Block[];
  /** The entries as given, for messages and --check-config. */
  readonly entries: readonly string[];

  private constructor(entries: string[], option: string) {
    this.entries = entries;
    this.any = entries.includes("*");
    this.unix = entries.includes(UNIX_PEER);
    this.blocks = entries.filter((e) => e !== "*" && e !== UNIX_PEER).map((e) => parseEntry(e, option));
  }

  /**
   * Reads a list: a comma-separated string or an array of such strings.
   * `null`, `undefined`, `""` and `[]` are the empty list, which allows no one.
   * Throws a TypeError naming `option` and the bad entry.
   */
  static parse(spec: string | readonly string[] | null | undefined, option: string): AllowList {
    if (spec === null || spec === undefined) return new AllowList([], option);
    const items: readonly unknown[] = typeof spec === "string" ? [spec] : spec;
    if (!Array.isArray(items)) throw new TypeError(`${option} must be a comma-separated string or an array of strings`);
    const entries: string[] = [];
    for (const item of items) {
      if (typeof item !== "string") throw new TypeError(`${option}: every entry must be a string, got ${typeof item}`);
      for (const part of item.split(",")) {
        const entry = part.trim();
        if (entry !== "") entries.push(entry.toLowerCase());
      }
    }
    return new AllowList(entries, option);
  }

  /** No entry: nobody is allowed. */
  get empty(): boolean {
    return this.entries.length === 0;
  }

  /**
   * Whether `peer` is allowed: an IP address as Node reports a socket's
   * (an IPv6 zone, `%eth0`, is ignored), or "unix". Anything else is not.
   */
  allows(peer: string): boolean {
    if (this.any) return true;
    if (peer === UNIX_PEER) return this.unix;
    if (this.blocks.length === 0) return false;
    const zone = peer.indexOf("%");
    const addr = parseIp(zone === -1 ? peer : peer.slice(0, zone));
    return addr !== null && this.allowsIp(addr);
  }

  /** Whether the address (already parsed) is in one of the blocks, or the list holds `*`. */
  allowsIp(addr: IpGroups): boolean {
    if (this.any) return true;
    for (const block of this.blocks) if (inBlock(addr, block)) return true;
    return false;
  }

  /** The blocks in canonical form (`10.0.0.0/8`, `::1/128`), with `unix` and `*`. */
  toString(): string {
    const parts: string[] = [];
    if (this.any) parts.push("*");
    if (this.unix) parts.push(UNIX_PEER);
    for (const b of this.blocks) {
      const asV4 = b.bits >= 96 && isMappedV4(b.base);
      parts.push(`${formatIp(b.base)}/${asV4 ? b.bits - 96 : b.bits}`);
    }
    return parts.join(",");
  }
}
