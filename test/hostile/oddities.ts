/**
 * Named oddities for the differential check: each turns a well-formed
 * generated request into bytes with one known irregularity (or none). A
 * disagreement with node:http on a generated input is only allowed when its
 * oddity is listed in disagreements.ts.
 */

import { serialize, type GenRequest } from "../http1/generate.js";

export interface Oddity {
  name: string;
  apply(r: GenRequest): string;
}

/** Inserts raw field lines right after the request line. */
function withLines(r: GenRequest, lines: string): string {
  const s = serialize(r);
  const eol = s.indexOf("\r\n") + 2;
  return s.slice(0, eol) + lines + s.slice(eol);
}

const withRequestLine = (r: GenRequest, method: string, target: string, version: string): string => {
  const s = serialize(r);
  return `${method} ${target} ${version}${s.slice(s.indexOf("\r\n"))}`;
};

const host = (r: GenRequest): string => r.fields.find(([n]) => n === "Host")?.[1] ?? "example.com";
const otherFields = (r: GenRequest): string =>
  r.fields
    .filter(([n]) => !["Host", "Content-Length", "Transfer-Encoding"].includes(n))
    .map(([n, v]) => `${n}: ${v}\r\n`)
    .join("");

/** The request as a POST with the given framing fields and raw body bytes. */
const post = (r: GenRequest, framing: string, body: string, version = "HTTP/1.1"): string =>
  `POST ${r.target} ${version}\r\nHost: ${host(r)}\r\n${otherFields(r)}${framing}\r\n${body}`;

const CHUNKED = "Transfer-Encoding: chunked\r\n";

export const ODDITIES: Oddity[] = [
  { name: "none", apply: (r) => serialize(r) },
  { name: "unknown-method", apply: (r) => withRequestLine(r, "FROB", r.target, r.version) },
  { name: "lowercase-method", apply: (r) => withRequestLine(r, r.method.toLowerCase(), r.target, r.version) },
  { name: "asterisk-non-options", apply: (r) => withRequestLine(r, "GET", "*", r.version) },
  { name: "asterisk-options", apply: (r) => withRequestLine(r, "OPTIONS", "*", r.version) },
  {
    name: "absolute-form",
    apply: (r) =>
      withRequestLine(r, r.method, `http://${host(r)}${r.target.startsWith("/") ? r.target : "/"}`, r.version),
  },
  { name: "version-1.2", apply: (r) => withRequestLine(r, r.method, r.target, "HTTP/1.2") },
  { name: "version-2.0", apply: (r) => withRequestLine(r, r.method, r.target, "HTTP/2.0") },
  { name: "version-0.9", apply: (r) => withRequestLine(r, r.method, r.target, "HTTP/0.9") },
  { name: "version-lowercase", apply: (r) => withRequestLine(r, r.method, r.target, "http/1.1") },
  { name: "double-space", apply: (r) => withRequestLine(r, r.method, ` ${r.target}`, r.version) },
  { name: "leading-crlf", apply: (r) => `\r\n${serialize(r)}` },
  { name: "bare-lf-request-line", apply: (r) => serialize(r).replace("\r\n", "\n") },
  { name: "bare-lf-field", apply: (r) => withLines(r, "X-Odd: b\n") },
  { name: "bare-cr-field", apply: (r) => withLines(r, "X-Odd: b\rc\r\n") },
  { name: "space-before-colon", apply: (r) => withLines(r, "X-Odd : b\r\n") },
  { name: "obs-fold", apply: (r) => withLines(r, "X-Odd: b\r\n c\r\n") },
  { name: "empty-field-name", apply: (r) => withLines(r, ": b\r\n") },
  { name: "nul-in-value", apply: (r) => withLines(r, "X-Odd: b\x00c\r\n") },
  { name: "ctl-in-value", apply: (r) => withLines(r, "X-Odd: b\x01c\r\n") },
  { name: "del-in-value", apply: (r) => withLines(r, "X-Odd: b\x7fc\r\n") },
  { name: "obs-text-in-value", apply: (r) => withLines(r, "X-Odd: caf\xe9 \xa0\xff\r\n") },
  { name: "tabs-in-value", apply: (r) => withLines(r, "X-Odd:\tb\tc\t\r\n") },
  { name: "underscore-name", apply: (r) => withLines(r, "X_Odd: b\r\n") },
  { name: "non-token-name", apply: (r) => withLines(r, "X(Odd): b\r\n") },
  { name: "obs-text-in-target", apply: (r) => withRequestLine(r, r.method, "/caf\xe9", r.version) },
  { name: "ctl-in-target", apply: (r) => withRequestLine(r, r.method, "/a\x01b", r.version) },
  {
    name: "missing-host",
    apply: (r) => serialize({ ...r, version: "HTTP/1.1", fields: r.fields.filter(([n]) => n !== "Host") }),
  },
  { name: "duplicate-host", apply: (r) => withLines({ ...r, version: "HTTP/1.1" }, `Host: ${host(r)}\r\n`) },
  {
    name: "invalid-host",
    apply: (r) => serialize({ ...r, fields: [["Host", "a b", " ", ""], ...r.fields.filter(([n]) => n !== "Host")] }),
  },
  { name: "long-header-line", apply: (r) => withLines(r, `X-Long: ${"v".repeat(8192)}\r\n`) },
  {
    name: "large-header-section",
    apply: (r) => withLines(r, `X-A: ${"v".repeat(7000)}\r\nX-B: ${"v".repeat(7000)}\r\nX-C: ${"v".repeat(7000)}\r\n`),
  },
  { name: "long-request-line", apply: (r) => withRequestLine(r, r.method, `/${"a".repeat(8200)}`, r.version) },
  { name: "cl-repeated-equal", apply: (r) => post(r, "Content-Length: 5\r\nContent-Length: 5\r\n", "hello") },
  { name: "cl-list-equal", apply: (r) => post(r, "Content-Length: 5, 5\r\n", "hello") },
  { name: "cl-repeated-differ", apply: (r) => post(r, "Content-Length: 5\r\nContent-Length: 6\r\n", "hello!") },
  { name: "cl-plus", apply: (r) => post(r, "Content-Length: +5\r\n", "hello") },
  { name: "cl-leading-zeros", apply: (r) => post(r, "Content-Length: 005\r\n", "hello") },
  { name: "cl-http10", apply: (r) => post(r, "Content-Length: 5\r\n", "hello", "HTTP/1.0") },
  { name: "te-uppercase", apply: (r) => post(r, "Transfer-Encoding: CHUNKED\r\n", "5\r\nhello\r\n0\r\n\r\n") },
  { name: "te-gzip-chunked", apply: (r) => post(r, "Transfer-Encoding: gzip, chunked\r\n", "5\r\nhello\r\n0\r\n\r\n") },
  { name: "te-identity", apply: (r) => post(r, "Transfer-Encoding: identity\r\n", "") },
  {
    name: "te-chunked-twice",
    apply: (r) => post(r, "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
  },
  { name: "te-http10", apply: (r) => post(r, CHUNKED, "5\r\nhello\r\n0\r\n\r\n", "HTTP/1.0") },
  { name: "cl-and-te", apply: (r) => post(r, `Content-Length: 5\r\n${CHUNKED}`, "5\r\nhello\r\n0\r\n\r\n") },
  { name: "chunk-size-leading-zeros", apply: (r) => post(r, CHUNKED, "0005\r\nhello\r\n0\r\n\r\n") },
  { name: "chunk-size-uppercase", apply: (r) => post(r, CHUNKED, "A\r\n0123456789\r\n0\r\n\r\n") },
  { name: "chunk-size-lf-only", apply: (r) => post(r, CHUNKED, "5\nhello\r\n0\r\n\r\n") },
  { name: "chunk-size-0x", apply: (r) => post(r, CHUNKED, "0x5\r\nhello\r\n0\r\n\r\n") },
  { name: "chunk-size-trailing-space", apply: (r) => post(r, CHUNKED, "5 \r\nhello\r\n0\r\n\r\n") },
  { name: "chunk-ext-token", apply: (r) => post(r, CHUNKED, "5;a=b\r\nhello\r\n0\r\n\r\n") },
  { name: "chunk-ext-quoted", apply: (r) => post(r, CHUNKED, '5;a="b c"\r\nhello\r\n0\r\n\r\n') },
  { name: "chunk-ext-empty-name", apply: (r) => post(r, CHUNKED, "5;=b\r\nhello\r\n0\r\n\r\n") },
  { name: "chunk-ext-bare-lf", apply: (r) => post(r, CHUNKED, "5;a\nhello\r\n0\r\n\r\n") },
  { name: "chunk-data-no-crlf", apply: (r) => post(r, CHUNKED, "5\r\nhelloXX0\r\n\r\n") },
  { name: "trailer-valid", apply: (r) => post(r, CHUNKED, "5\r\nhello\r\n0\r\nX-T: v\r\n\r\n") },
  { name: "trailer-space-before-colon", apply: (r) => post(r, CHUNKED, "5\r\nhello\r\n0\r\nX-T : v\r\n\r\n") },
  { name: "trailer-request-line", apply: (r) => post(r, CHUNKED, `5\r\nhello\r\n0\r\nGET /admin HTTP/1.1\r\n\r\n`) },
];
