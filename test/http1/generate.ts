/**
 * fast-check generators of well-formed requests (and their serialisation),
 * of byte soups made of HTTP fragments, and of random mutations. Shared by
 * the property tests and the differential check against node:http.
 */

import fc from "fast-check";
import type { ParsedRequest } from "./driver.js";

/** Runs per property: FUZZ_RUNS=200000 npm test for a long session (see test/hostile/README.md). */
export function fuzzRuns(defaultRuns: number): number {
  const env = process.env.FUZZ_RUNS;
  if (env === undefined || env === "") return defaultRuns;
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1) throw new Error(`FUZZ_RUNS must be a positive integer, got ${env}`);
  return n;
}

/** A fixed seed unless FUZZ_SEED is set, so a default run is reproducible. */
export function fuzzSeed(): number | undefined {
  const env = process.env.FUZZ_SEED;
  return env === undefined || env === "" ? undefined : Number(env);
}

export interface GenRequest {
  method: string;
  target: string;
  version: "HTTP/1.0" | "HTTP/1.1";
  /** Every field as it goes on the wire, in order: [name, value, leading OWS, trailing OWS]. */
  fields: [string, string, string, string][];
  body: string;
  /** How the body goes out: by length, or chunked in these pieces with these extensions and trailers. */
  framing:
    { kind: "none" } | { kind: "length" } | { kind: "chunked"; pieces: number[]; exts: string[]; trailers: string[] };
}

const ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const PATH_CHARS = `${ALNUM}-._~!$&'()*+,;=:@%`;
const VALUE_CHARS = `${ALNUM} -_.,;:/?=+*()[]{}<>"'!#$%&@^|~\`\\`;

const stringOf = (alphabet: string, min: number, max: number): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom(...Array.from(alphabet)), { minLength: min, maxLength: max }).map((a) => a.join(""));

/** Field names that affect framing or the connection are added by the generator itself, never at random. */
const RESERVED = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "expect",
  "upgrade",
  "keep-alive",
  "te",
  "trailer",
  "proxy-connection",
  "http2-settings",
]);

const fieldName = stringOf(`${ALNUM}-`, 1, 12).filter((n) => !RESERVED.has(n.toLowerCase()) && !n.includes("_"));
/** A field value as the parser returns it: no leading or trailing whitespace. */
const fieldValue = stringOf(VALUE_CHARS, 0, 16).map((v) => v.trim());
const ows = fc.constantFrom("", "", " ", "  ", "\t", " \t");

const target: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc
      .tuple(stringOf(PATH_CHARS, 0, 12), fc.option(stringOf(`${PATH_CHARS}/?`, 0, 10)))
      .map(([p, q]) => `/${p}${q === null ? "" : `?${q}`}`),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom("http", "https"), stringOf(`${ALNUM}.-`, 1, 10), stringOf(PATH_CHARS, 0, 8))
      .map(([s, h, p]) => `${s}://${h}/${p}`),
  },
);

const chunkExt: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constant("") },
  { weight: 1, arbitrary: fc.tuple(stringOf(ALNUM, 1, 6), stringOf(ALNUM, 1, 6)).map(([n, v]) => `;${n}=${v}`) },
  {
    weight: 1,
    arbitrary: fc.tuple(stringOf(ALNUM, 1, 6), stringOf(`${ALNUM} ,;`, 0, 6)).map(([n, v]) => `;${n}="${v}"`),
  },
);

/** A well-formed request that every conforming parser reads the same way. */
export const genRequest: fc.Arbitrary<GenRequest> = fc
  .record({
    method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"),
    target,
    version: fc.constantFrom<"HTTP/1.0" | "HTTP/1.1">("HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0"),
    extra: fc.array(fc.tuple(fieldName, fieldValue, ows, ows), { maxLength: 4 }),
    host: fc.constantFrom("example.com", "example.com:8080", "127.0.0.1", "[::1]:80"),
    hostOws: fc.tuple(ows, ows),
    body: fc.oneof(
      { weight: 2, arbitrary: fc.constant("") },
      { weight: 3, arbitrary: stringOf(`${ALNUM}\r\n \x00\xff`, 1, 40) },
    ),
    framingKind: fc.constantFrom("length", "chunked", "none"),
    cuts: fc.array(fc.nat(40), { maxLength: 3 }),
    exts: fc.array(chunkExt, { minLength: 5, maxLength: 5 }),
    trailers: fc.array(
      fc.tuple(fieldName, fieldValue).map(([n, v]) => `${n}: ${v}`),
      { maxLength: 2 },
    ),
  })
  .map((r): GenRequest => {
    const fields: [string, string, string, string][] = [];
    if (r.version === "HTTP/1.1" || r.extra.length % 2 === 0) fields.push(["Host", r.host, r.hostOws[0], r.hostOws[1]]);
    fields.push(...r.extra);
    let kind = r.framingKind;
    if (kind === "chunked" && r.version === "HTTP/1.0") kind = "length";
    if (kind === "none" && r.body.length > 0) kind = "length";
    let framing: GenRequest["framing"];
    if (kind === "length") {
      fields.push(["Content-Length", String(r.body.length), " ", ""]);
      framing = { kind: "length" };
    } else if (kind === "chunked") {
      fields.push(["Transfer-Encoding", "chunked", " ", ""]);
      const pieces = [...new Set(r.cuts.filter((c) => c > 0 && c < r.body.length))].sort((a, b) => a - b);
      framing = { kind: "chunked", pieces, exts: r.exts, trailers: r.trailers };
    } else {
      framing = { kind: "none" };
    }
    return { method: r.method, target: r.target, version: r.version, fields, body: r.body, framing };
  });

/** The bytes of a request, as Latin-1. `connectionClose` adds Connection: close. */
export function serialize(r: GenRequest, connectionClose = false): string {
  let s = `${r.method} ${r.target} ${r.version}\r\n`;
  for (const [name, value, lead, trail] of r.fields) s += `${name}:${lead}${value}${trail}\r\n`;
  if (connectionClose) s += "Connection: close\r\n";
  s += "\r\n";
  const f = r.framing;
  if (f.kind === "length") s += r.body;
  if (f.kind === "chunked") {
    let from = 0;
    const ends = [...f.pieces, r.body.length];
    ends.forEach((to, i) => {
      if (to > from) s += `${(to - from).toString(16)}${f.exts[i % f.exts.length]}\r\n${r.body.slice(from, to)}\r\n`;
      from = to;
    });
    s += `0${f.exts[4]}\r\n`;
    for (const t of f.trailers) s += `${t}\r\n`;
    s += "\r\n";
  }
  return s;
}

/** What the parser must make of `serialize(r, connectionClose)`. */
export function expected(r: GenRequest, connectionClose = false): ParsedRequest {
  const headers = r.fields.flatMap(([n, v]) => [n, v]);
  if (connectionClose) headers.push("Connection", "close");
  return { method: r.method, target: r.target, version: r.version, headers, body: r.body };
}

/** Does this request keep the connection open for the next one (echo app, default options)? */
export function keepsAlive(r: GenRequest): boolean {
  return r.version === "HTTP/1.1";
}

// ---- byte soups and mutations ----

const FRAGMENTS = [
  "GET",
  "POST",
  "OPTIONS",
  "CONNECT",
  " ",
  "  ",
  "/",
  "*",
  "http://x/",
  "x:80",
  "HTTP/1.1",
  "HTTP/1.0",
  "HTTP/2.0",
  "\r\n",
  "\r\n\r\n",
  "\r",
  "\n",
  "\t",
  "Host",
  "Host: x",
  ":",
  ": ",
  "x",
  "Content-Length",
  "Content-Length: 3",
  "Transfer-Encoding",
  "Transfer-Encoding: chunked",
  "chunked",
  "gzip",
  ",",
  "0",
  "3",
  "5",
  "a",
  "ff",
  "-1",
  "0x",
  "+",
  "\x00",
  "\x7f",
  "\x0b",
  "\xe9",
  "\xa0",
  ";",
  "=",
  '"',
  "\\",
  "abc",
  "hello",
  "0\r\n\r\n",
  "3\r\nabc\r\n",
  "Connection: close",
  "Expect: 100-continue",
  "\r\n ",
];

/** Byte sequences made of HTTP fragments and random bytes: far likelier to reach deep parser states than noise. */
export const byteSoup: fc.Arbitrary<Buffer> = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...FRAGMENTS) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }).map((b) => String.fromCharCode(b)) },
    ),
    { maxLength: 40 },
  )
  .map((parts) => Buffer.from(parts.join(""), "latin1"));

/** Plain random bytes. */
export const randomBytes: fc.Arbitrary<Buffer> = fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a));

const INTERESTING = [
  "\r",
  "\n",
  "\r\n",
  " ",
  "\t",
  ":",
  "\x00",
  "\x0b",
  "\x7f",
  "\xa0",
  "\xff",
  ",",
  ";",
  "0",
  "9",
  "f",
  "-",
  "+",
  "x",
  '"',
  "chunked",
  "\r\n\r\n",
  "\r\n ",
];

type Mutation = { at: number; op: "insert" | "delete" | "replace" | "duplicate"; text: string; len: number };

const mutation: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  op: fc.constantFrom<Mutation["op"]>("insert", "delete", "replace", "duplicate"),
  text: fc.oneof(
    fc.constantFrom(...INTERESTING),
    fc.integer({ min: 0, max: 255 }).map((b) => String.fromCharCode(b)),
  ),
  len: fc.integer({ min: 1, max: 8 }),
});

export function mutate(input: string, mutations: readonly Mutation[]): string {
  let s = input;
  for (const m of mutations) {
    const at = s.length === 0 ? 0 : m.at % (s.length + 1);
    if (m.op === "insert") s = s.slice(0, at) + m.text + s.slice(at);
    else if (m.op === "delete") s = s.slice(0, at) + s.slice(at + m.len);
    else if (m.op === "replace") s = s.slice(0, at) + m.text + s.slice(at + m.text.length);
    else s = s.slice(0, at) + s.slice(at, at + m.len) + s.slice(at);
  }
  return s;
}

/** One to three well-formed requests, pipelined, then mutated one to three times. */
export const mutatedPipeline: fc.Arbitrary<{ original: string; mutated: Buffer }> = fc
  .tuple(fc.array(genRequest, { minLength: 1, maxLength: 3 }), fc.array(mutation, { minLength: 1, maxLength: 3 }))
  .map(([reqs, muts]) => {
    const original = reqs.map((r) => serialize(r)).join("");
    return { original, mutated: Buffer.from(mutate(original, muts), "latin1") };
  });

/** Sorted distinct cut points inside [1, n). */
export const cutsFor = (n: number): fc.Arbitrary<number[]> =>
  fc
    .array(fc.integer({ min: 1, max: Math.max(1, n - 1) }), { maxLength: 12 })
    .map((a) => [...new Set(a)].sort((x, y) => x - y));
