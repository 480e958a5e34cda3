/**
 * A fetch Response's headers as a WSGI header list: every `Set-Cookie` on a
 * line of its own (fetch's Headers iterate them apart; joined with commas
 * they would break, as Expires holds one), and the hop-by-hop headers left
 * out, since the server frames the response itself (RFC 9110 §7.6.1).
 * Values stay the ByteStrings the Headers hold: start_response sends them as
 * Latin-1 and rejects a character above U+00FF.
 */

/** Lower-case names of the hop-by-hop headers a Response may not set. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection"]);

/** What a Response-shaped object's `headers` may be: a Headers, or anything iterable as pairs. */
export type HeadersLike = Headers | Iterable<[string, string]> | Record<string, string>;

function isIterable(v: unknown): v is Iterable<[string, string]> {
  return v !== null && typeof v === "object" && typeof (v as Iterable<unknown>)[Symbol.iterator] === "function";
}

export function responseHeaderList(headers: HeadersLike | null | undefined): [string, string][] {
  const list: [string, string][] = [];
  if (headers === null || headers === undefined) return list;
  const pairs: Iterable<[string, string]> = isIterable(headers) ? headers : Object.entries(headers);
  for (const [name, value] of pairs) {
    if (HOP_BY_HOP.has(name.toLowerCase())) continue;
    list.push([name, value]);
  }
  return list;
}
