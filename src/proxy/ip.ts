/**
 * IP addresses as text and as bytes, without node:net: the allow-lists, the
 * `Forwarded`/`X-Forwarded-For` walk and the PROXY protocol all need the same
 * strict reading and one canonical spelling.
 *
 * An address is held as eight 16-bit groups. IPv4 is held as IPv4-mapped
 * IPv6 (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2), so that an IPv4 peer on a
 * dual-stack socket and the same peer on an IPv4 socket are one address,
 * and a `10.0.0.0/8` rule covers both.
 */

/** Eight 16-bit groups, most significant first. */
export type IpGroups = Uint16Array;

const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;
/**
 * `a.b.c.d`, each a decimal 0–255 without leading zeros (no octal guessing),
 * as one 32-bit number; -1 when it is not. By hand: this runs for every
 * X-Forwarded-For entry of every request from a trusted proxy.
 */
export function parseIPv4(text: string): number {
  const n = text.length;
  if (n < 7 || n > 15) return -1;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits === 1 && octet === 0) return -1; // a leading zero
      octet = octet * 10 + (c - 0x30);
      if (++digits > 3 || octet > 255) return -1;
    } else {
      return -1;
    }
  }
  return dots === 3 && digits > 0 ? value * 256 + octet : -1;
}

/** `a.b.c.d` as four octets, or null (see parseIPv4). */
export function parseIPv4Octets(text: string): number[] | null {
  const v = parseIPv4(text);
  return v === -1 ? null : [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

function mappedV4(octets: readonly number[]): IpGroups {
  const g = new Uint16Array(8);
  g[5] = 0xffff;
  g[6] = ((octets[0] ?? 0) << 8) | (octets[1] ?? 0);
  g[7] = ((octets[2] ?? 0) << 8) | (octets[3] ?? 0);
  return g;
}

/** The hex groups of one side of "::" (a trailing dotted IPv4 counts as two), or null. */
function parseGroups(side: string, mayEndInV4: boolean): number[] | null {
  if (side === "") return [];
  const parts = side.split(":");
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (i === parts.length - 1 && mayEndInV4 && part.includes(".")) {
      const octets = parseIPv4Octets(part);
      if (octets === null) return null;
      groups.push(((octets[0] ?? 0) << 8) | (octets[1] ?? 0), ((octets[2] ?? 0) << 8) | (octets[3] ?? 0));
    } else if (HEX_GROUP.test(part)) {
      groups.push(parseInt(part, 16));
    } else {
      return null;
    }
  }
  return groups;
}

/** RFC 4291 §2.2 text (no zone, no brackets), or null. */
export function parseIPv6(text: string): IpGroups | null {
  if (text.length > 45) return null; // the longest: 6 groups and a dotted IPv4
  const gap = text.indexOf("::");
  if (gap !== -1 && text.indexOf("::", gap + 1) !== -1) return null;
  const g = new Uint16Array(8);
  if (gap === -1) {
    const groups = parseGroups(text, true);
    if (groups === null || groups.length !== 8) return null;
    g.set(groups);
    return g;
  }
  const head = parseGroups(text.slice(0, gap), false);
  const tail = parseGroups(text.slice(gap + 2), true);
  if (head === null || tail === null || head.length + tail.length > 7) return null;
  g.set(head);
  g.set(tail, 8 - tail.length);
  return g;
}

/** An IPv4 or IPv6 address in its usual text (no brackets, no zone), or null. */
export function parseIp(text: string): IpGroups | null {
  if (text.includes(":")) return parseIPv6(text);
  const v = parseIPv4(text);
  return v === -1 ? null : ipv4Groups(v);
}

/** An IPv4 address (parseIPv4's number) as IPv4-mapped IPv6 groups. */
export function ipv4Groups(v: number): IpGroups {
  const g = new Uint16Array(8);
  g[5] = 0xffff;
  g[6] = v >>> 16;
  g[7] = v & 0xffff;
  return g;
}

/** The address of 4 (IPv4) or 16 (IPv6) bytes at `offset`. */
export function ipFromBytes(bytes: Uint8Array, offset: number, length: 4 | 16): IpGroups {
  if (length === 4)
    return mappedV4([bytes[offset] ?? 0, bytes[offset + 1] ?? 0, bytes[offset + 2] ?? 0, bytes[offset + 3] ?? 0]);
  const g = new Uint16Array(8);
  for (let i = 0; i < 8; i++) g[i] = ((bytes[offset + 2 * i] ?? 0) << 8) | (bytes[offset + 2 * i + 1] ?? 0);
  return g;
}

/** An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), which is shown and matched as IPv4. */
export function isMappedV4(g: IpGroups): boolean {
  return g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff;
}

/**
 * One spelling for each address: IPv4 (and IPv4-mapped IPv6) dotted;
 * IPv6 as RFC 5952 §4 says (lower case, no leading zeros, the longest run
 * of two or more zero groups, the first of equals, as "::").
 */
export function formatIp(g: IpGroups): string {
  if (isMappedV4(g)) {
    const hi = g[6] ?? 0;
    const lo = g[7] ?? 0;
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += "::";
      i += bestLen - 1;
      continue;
    }
    if (out !== "" && !out.endsWith(":")) out += ":";
    out += (g[i] ?? 0).toString(16);
  }
  return out;
}

/** `text` read as an address and spelt canonically; null when it is not one. */
export function canonicalIp(text: string): string | null {
  const g = parseIp(text);
  return g === null ? null : formatIp(g);
}
