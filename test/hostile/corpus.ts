/**
 * The hostile-request corpus: raw bytes in, the required outcome out.
 * `responses` lists the final responses in order — a string is the echo
 * app's body of a 200 (`METHOD PATH_INFO length:body`), a number a status
 * (a protocol error, or a response whose body is not checked). `closed`
 * says whether the server must close the connection by itself after them.
 * Nothing else may come back: never an extra request carved out of
 * ambiguous bytes. test/hostile/README.md holds the same table with sources.
 */

import type { ServerOptions } from "../../src/index.js";

export interface HostileCase {
  name: string;
  bytes: string;
  responses: (string | number)[];
  closed: boolean;
  /** RFC section, CVE or other source. */
  source: string;
  /** The reason phrase of the last response, when it matters (eventlet's limit errors). */
  reason?: string;
  options?: ServerOptions;
  /** Responses carry no body (HEAD, CONNECT). */
  noBodies?: boolean;
}

/** A titled group of cases; README.md has one table per section. */
export interface CorpusSection {
  title: string;
  cases: HostileCase[];
}

const H = "Host: x\r\n";
const GET = (path = "/"): string => `GET ${path} HTTP/1.1\r\n${H}\r\n`;
const POST_CHUNKED = `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`;
const post = (headers: string, body: string): string => `POST / HTTP/1.1\r\n${H}${headers}\r\n${body}`;
const te = (value: string, body = "5\r\nhello\r\n0\r\n\r\n"): string => post(`Transfer-Encoding: ${value}\r\n`, body);
const chunkedBody = (body: string): string => POST_CHUNKED + body;

const reject = (
  name: string,
  bytes: string,
  status: number,
  source: string,
  extra: Partial<HostileCase> = {},
): HostileCase => ({
  name,
  bytes,
  responses: [status],
  closed: true,
  source,
  ...extra,
});

const accept = (
  name: string,
  bytes: string,
  responses: (string | number)[],
  source: string,
  extra: Partial<HostileCase> = {},
): HostileCase => ({
  name,
  bytes,
  responses,
  closed: false,
  source,
  ...extra,
});

const field = (n: number): string => `X: ${"v".repeat(n - 5)}\r\n`; // a header line of n bytes with CRLF

export const SECTIONS: CorpusSection[] = [
  {
    title: "baseline: the well-formed requests the rest is measured against",
    cases: [
      accept("get", GET(), ["GET / 0:"], "RFC 9112 §3"),
      accept("post-content-length", post("Content-Length: 5\r\n", "hello"), ["POST / 5:hello"], "RFC 9112 §6.2"),
      accept(
        "post-chunked",
        chunkedBody("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"),
        ["POST / 11:hello world"],
        "RFC 9112 §7.1",
      ),
      { ...accept("http10-closes", "GET / HTTP/1.0\r\n\r\n", ["GET / 0:"], "RFC 9112 §9.3"), closed: true },
      accept(
        "http10-keep-alive",
        "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        ["GET / 0:"],
        "RFC 9112 §9.3, eventlet",
      ),
      {
        ...accept("connection-close", `GET / HTTP/1.1\r\n${H}Connection: close\r\n\r\n`, ["GET / 0:"], "RFC 9112 §9.6"),
        closed: true,
      },
      accept(
        "pipelined-three",
        GET("/a") + GET("/b") + GET("/c"),
        ["GET /a 0:", "GET /b 0:", "GET /c 0:"],
        "RFC 9112 §9.3.2",
      ),
      accept(
        "pipelined-many",
        Array.from({ length: 200 }, (_, i) => GET(`/${i}`)).join(""),
        Array.from({ length: 200 }, (_, i) => `GET /${i} 0:`),
        "RFC 9112 §9.3.2",
      ),
      {
        ...accept(
          "connection-close-in-list",
          `GET / HTTP/1.1\r\n${H}Connection: keep-alive, close\r\n\r\n${GET("/b")}`,
          ["GET / 0:"],
          "RFC 9112 §9.6",
        ),
        closed: true,
      },
      {
        ...accept(
          "connection-close-case",
          `GET / HTTP/1.1\r\n${H}Connection: CLOSE\r\n\r\n${GET("/b")}`,
          ["GET / 0:"],
          "RFC 9110 §7.6.1 (case-insensitive)",
        ),
        closed: true,
      },
      {
        ...accept(
          "connection-close-two-fields",
          `GET / HTTP/1.1\r\n${H}Connection: keep-alive\r\nConnection: close\r\n\r\n${GET("/b")}`,
          ["GET / 0:"],
          "RFC 9110 §7.6.1",
        ),
        closed: true,
      },
      accept("leading-empty-lines", `\r\n\r\n${GET()}`, ["GET / 0:"], "RFC 9112 §2.2"),
      accept(
        "empty-line-between-pipelined",
        `${post("Content-Length: 2\r\n", "ab")}\r\n${GET("/b")}`,
        ["POST / 2:ab", "GET /b 0:"],
        "RFC 9112 §2.2",
      ),
      accept(
        "get-with-body",
        `GET / HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello`,
        ["GET / 5:hello"],
        "RFC 9110 §9.3.1",
      ),
      accept("head", `HEAD / HTTP/1.1\r\n${H}\r\n`, [200], "RFC 9110 §9.3.2", { noBodies: true }),
      accept(
        "expect-100-continue",
        post("Content-Length: 5\r\nExpect: 100-continue\r\n", "hello"),
        ["POST / 5:hello"],
        "RFC 9110 §10.1.1",
      ),
      {
        ...accept(
          "expect-100-continue-http10-ignored",
          "POST / HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
          ["POST / 5:hello"],
          "RFC 9110 §10.1.1",
        ),
        closed: true,
      },
    ],
  },

  {
    title: "request line (RFC 9112 §2–§3)",
    cases: [
      reject("request-line-bare-lf", "GET / HTTP/1.1\nHost: x\n\n", 400, "RFC 9112 §2.2; CVE-2022-32214 (llhttp)"),
      reject("header-bare-lf", `GET / HTTP/1.1\r\nHost: x\n\r\n`, 400, "RFC 9112 §2.2; CVE-2022-35256 (llhttp)"),
      reject("final-line-bare-lf", `GET / HTTP/1.1\r\n${H}\n`, 400, "RFC 9112 §2.2; CVE-2019-16785 (waitress)"),
      reject("request-line-bare-cr", "GET / HTTP/1.1\rHost: x\r\n\r\n", 400, "RFC 9112 §2.2; CVE-2023-30589 (llhttp)"),
      reject("header-bare-cr", `GET / HTTP/1.1\r\n${H}A: b\rX: y\r\n\r\n`, 400, "RFC 9112 §2.2; CVE-2023-30589"),
      reject("final-line-bare-cr", `GET / HTTP/1.1\r\n${H}\r\r\n`, 400, "RFC 9112 §2.2; CVE-2025-23167 (llhttp)"),
      reject(
        "final-line-cr-then-request",
        `GET / HTTP/1.1\r\n${H}\r${GET("/b")}`,
        400,
        "RFC 9112 §2.2; CVE-2025-23167 (llhttp)",
      ),
      reject("leading-bare-lf", `\n${GET()}`, 400, "RFC 9112 §2.2"),
      reject("leading-cr-cr-lf", `\r\r\n${GET()}`, 400, "RFC 9112 §2.2"),
      reject("double-space-after-method", `GET  / HTTP/1.1\r\n${H}\r\n`, 400, "RFC 9112 §3"),
      reject("double-space-before-version", `GET /  HTTP/1.1\r\n${H}\r\n`, 400, "RFC 9112 §3"),
      reject("space-after-version", `GET / HTTP/1.1 \r\n${H}\r\n`, 400, "RFC 9112 §3"),
      reject("tab-separators", `GET\t/\tHTTP/1.1\r\n${H}\r\n`, 400, "RFC 9112 §3"),
      reject("leading-space", ` GET / HTTP/1.1\r\n${H}\r\n`, 400, "RFC 9112 §3"),
      reject("http09-request", "GET /\r\n\r\n", 400, "RFC 9112 §2.3"),
      reject("version-lowercase", `GET / http/1.1\r\n${H}\r\n`, 400, "RFC 9112 §2.3"),
      reject("version-http12", `GET / HTTP/1.2\r\n${H}\r\n`, 505, "RFC 9110 §15.6.6"),
      reject("version-http20", `GET / HTTP/2.0\r\n${H}\r\n`, 505, "RFC 9110 §15.6.6"),
      reject("version-http09", `GET / HTTP/0.9\r\n${H}\r\n`, 505, "RFC 9110 §15.6.6"),
      reject("version-two-digit-minor", `GET / HTTP/1.10\r\n${H}\r\n`, 400, "RFC 9112 §2.3"),
      reject("version-three-parts", `GET / HTTP/1.1.1\r\n${H}\r\n`, 400, "RFC 9112 §2.3"),
      reject("version-nul", `GET / HTTP/1.1\x00\r\n${H}\r\n`, 400, "RFC 9112 §2.3"),
      reject("version-missing-minor", `GET / HTTP/1\r\n${H}\r\n`, 400, "RFC 9112 §2.3"),
      reject("request-line-two-parts", `GET HTTP/1.1\r\n${H}\r\n`, 400, "RFC 9112 §3"),
      reject("request-line-nul-first", `\x00GET / HTTP/1.1\r\n${H}\r\n`, 400, "RFC 9112 §3; HTTP Garden"),
      reject("method-control-byte", `G\x01ET / HTTP/1.1\r\n${H}\r\n`, 400, "RFC 9110 §9.1"),
      reject("target-nul", `GET /a\x00b HTTP/1.1\r\n${H}\r\n`, 400, "RFC 9112 §3.2"),
      reject("target-control", `GET /a\x01b HTTP/1.1\r\n${H}\r\n`, 400, "RFC 9112 §3.2"),
      reject("target-del", `GET /a\x7fb HTTP/1.1\r\n${H}\r\n`, 400, "RFC 9112 §3.2"),
      reject("target-obs-text", `GET /caf\xe9 HTTP/1.1\r\n${H}\r\n`, 400, "RFC 9112 §3.2, RFC 3986 §2"),
      reject("target-space", `GET /a b HTTP/1.1\r\n${H}\r\n`, 400, "RFC 9112 §3"),
      accept(
        "target-fragment",
        `GET /a#b HTTP/1.1\r\n${H}\r\n`,
        ["GET /a#b 0:"],
        "RFC 9112 §3.2 (targets are VCHAR, h11's rule; see README)",
      ),
      reject("target-tab", `GET /a\tb HTTP/1.1\r\n${H}\r\n`, 400, "RFC 9112 §3"),
      reject("method-nul", `GE\x00T / HTTP/1.1\r\n${H}\r\n`, 400, "RFC 9110 §9.1"),
      reject("method-not-token", `GE(T / HTTP/1.1\r\n${H}\r\n`, 400, "RFC 9110 §9.1"),
      accept("method-unknown-token", `PURGE / HTTP/1.1\r\n${H}\r\n`, ["PURGE / 0:"], "RFC 9110 §9.1 (any token)"),
      accept("method-lowercase", `get / HTTP/1.1\r\n${H}\r\n`, ["get / 0:"], "RFC 9110 §9.1 (case-sensitive)"),
      accept("absolute-form", `GET http://x/p?q=1 HTTP/1.1\r\n${H}\r\n`, ["GET /p 0:"], "RFC 9112 §3.2.2"),
      accept("absolute-form-no-path", `GET http://x HTTP/1.1\r\n${H}\r\n`, ["GET / 0:"], "RFC 9112 §3.2.2"),
      accept(
        "absolute-form-host-differs",
        `GET http://other/p HTTP/1.1\r\n${H}\r\n`,
        ["GET /p 0:"],
        "RFC 9112 §3.2.2 (path from the target; HTTP_HOST: see README)",
      ),
      reject("absolute-form-no-slashes", `GET http:p HTTP/1.1\r\n${H}\r\n`, 400, "RFC 9112 §3.2"),
      reject(
        "absolute-form-userinfo",
        `GET http://u:p@x/p HTTP/1.1\r\n${H}\r\n`,
        400,
        "RFC 9110 §4.2.4 (userinfo is an error)",
      ),
      accept(
        "absolute-form-uppercase-scheme",
        `GET HTTP://x/p HTTP/1.1\r\n${H}\r\n`,
        ["GET /p 0:"],
        "RFC 3986 §3.1 (scheme is case-insensitive)",
      ),
      accept("absolute-form-https", `GET https://x/p HTTP/1.1\r\n${H}\r\n`, ["GET /p 0:"], "RFC 9112 §3.2.2"),
      accept("asterisk-options", `OPTIONS * HTTP/1.1\r\n${H}\r\n`, ["OPTIONS * 0:"], "RFC 9112 §3.2.4"),
      reject("asterisk-get", `GET * HTTP/1.1\r\n${H}\r\n`, 400, "RFC 9112 §3.2.4"),
      reject("authority-form-get", `GET x:80 HTTP/1.1\r\n${H}\r\n`, 400, "RFC 9112 §3.2.3"),
      {
        ...accept(
          "connect-authority-form",
          "CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n",
          [200],
          "RFC 9112 §3.2.3; RFC 9110 §9.3.6 (a 2xx makes a tunnel)",
          { noBodies: true },
        ),
        closed: true,
      },
      reject("connect-origin-form", `CONNECT /x HTTP/1.1\r\n${H}\r\n`, 400, "RFC 9112 §3.2.3"),
      reject("connect-no-port", `CONNECT x HTTP/1.1\r\n${H}\r\n`, 400, "RFC 9112 §3.2.3"),
      accept(
        "percent-encoded-path",
        `GET /a%20b%2F HTTP/1.1\r\n${H}\r\n`,
        ["GET /a b/ 0:"],
        "PEP 3333 (PATH_INFO decoded)",
      ),
      reject(
        "request-line-too-long",
        `GET /${"a".repeat(8192)} HTTP/1.1\r\n${H}\r\n`,
        414,
        "eventlet url_length_limit",
      ),
      reject(
        "method-too-long",
        `${"G".repeat(9000)} / HTTP/1.1\r\n${H}\r\n`,
        414,
        "eventlet url_length_limit (the whole request line)",
      ),
      accept(
        "request-line-just-fits",
        `GET /${"a".repeat(8191 - 16)} HTTP/1.1\r\n${H}\r\n`,
        [`GET /${"a".repeat(8175)} 0:`],
        "eventlet url_length_limit",
      ),
      reject(
        "url-length-limit-option",
        `GET /${"a".repeat(84)} HTTP/1.1\r\n${H}\r\n`,
        414,
        "eventlet url_length_limit",
        { options: { urlLengthLimit: 100 } },
      ),
      reject("endless-empty-lines", "\r\n".repeat(4096), 414, "RFC 9112 §2.2 (bounded)"),
    ],
  },

  {
    title: "header fields (RFC 9112 §5, RFC 9110 §5)",
    cases: [
      reject("space-before-colon", `GET / HTTP/1.1\r\nHost : x\r\n\r\n`, 400, "RFC 9112 §5.1"),
      reject("tab-before-colon", `GET / HTTP/1.1\r\n${H}X\t: y\r\n\r\n`, 400, "RFC 9112 §5.1"),
      reject("obs-fold-space", `GET / HTTP/1.1\r\n${H}X: a\r\n b\r\n\r\n`, 400, "RFC 9112 §5.2"),
      reject("obs-fold-tab", `GET / HTTP/1.1\r\n${H}X: a\r\n\tb\r\n\r\n`, 400, "RFC 9112 §5.2"),
      reject(
        "first-field-folded",
        `GET / HTTP/1.1\r\n ${H}\r\n`,
        400,
        "RFC 9112 §2.2 (whitespace before the first field)",
      ),
      reject("empty-field-name", `GET / HTTP/1.1\r\n${H}: x\r\n\r\n`, 400, "RFC 9110 §5.1; CVE-2023-25725 (HAProxy)"),
      reject("field-name-space", `GET / HTTP/1.1\r\n${H}A B: c\r\n\r\n`, 400, "RFC 9110 §5.1"),
      reject("field-name-nul", `GET / HTTP/1.1\r\n${H}A\x00B: c\r\n\r\n`, 400, "RFC 9110 §5.1"),
      reject("field-name-obs-text", `GET / HTTP/1.1\r\n${H}Caf\xe9: c\r\n\r\n`, 400, "RFC 9110 §5.1"),
      reject("field-without-colon", `GET / HTTP/1.1\r\n${H}Abc\r\n\r\n`, 400, "RFC 9112 §5"),
      reject("field-value-nul", `GET / HTTP/1.1\r\n${H}A: b\x00c\r\n\r\n`, 400, "RFC 9110 §5.5"),
      reject("field-value-cr", `GET / HTTP/1.1\r\n${H}A: b\rc\r\n\r\n`, 400, "RFC 9110 §5.5"),
      reject("field-value-vt", `GET / HTTP/1.1\r\n${H}A: b\x0bc\r\n\r\n`, 400, "RFC 9110 §5.5"),
      reject("field-value-del", `GET / HTTP/1.1\r\n${H}A: b\x7fc\r\n\r\n`, 400, "RFC 9110 §5.5"),
      reject(
        "field-value-bare-lf-inside",
        `GET / HTTP/1.1\r\n${H}A: b\nc: d\r\n\r\n`,
        400,
        "RFC 9112 §2.2; CVE-2022-35256 (llhttp)",
      ),
      reject(
        "field-name-leading-space-cl",
        `POST / HTTP/1.1\r\n${H} Content-Length: 5\r\n\r\nhello`,
        400,
        "RFC 9112 §5.2; CVE-2024-27982 (Node.js)",
      ),
      reject(
        "field-name-colon-only-cl",
        `POST / HTTP/1.1\r\n${H}Content-Length:: 5\r\n\r\nhello`,
        400,
        "RFC 9110 §8.6",
      ),
      accept(
        "field-value-ows-trimmed",
        `GET / HTTP/1.1\r\n${H}A: \t b \t\r\n\r\n`,
        ["GET / 0:"],
        "RFC 9112 §5.1 (OWS removed)",
      ),
      accept(
        "field-value-obs-text",
        `GET / HTTP/1.1\r\n${H}A: caf\xe9\r\n\r\n`,
        ["GET / 0:"],
        "RFC 9110 §5.5 (obs-text)",
      ),
      reject("header-line-too-long", `GET / HTTP/1.1\r\n${H}${field(8192)}\r\n`, 400, "eventlet MAX_HEADER_LINE", {
        reason: "Header Line Too Long",
      }),
      accept(
        "header-line-just-fits",
        `GET / HTTP/1.1\r\n${H}${field(8191)}\r\n`,
        ["GET / 0:"],
        "eventlet MAX_HEADER_LINE",
      ),
      reject(
        "headers-too-large",
        `GET / HTTP/1.1\r\n${H}${field(8000).repeat(9)}\r\n`,
        400,
        "eventlet MAX_TOTAL_HEADER_SIZE",
        { reason: "Headers Too Large" },
      ),
      {
        ...accept(
          "underscore-transfer-encoding-is-not-te",
          post("Transfer_Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
          ["POST / 0:", 400],
          "RFC 9110 §5.1; eventlet drops '_' names",
        ),
        closed: true,
      },
      accept(
        "underscore-content-length-is-not-cl",
        post("Content_Length: 5\r\n", ""),
        ["POST / 0:"],
        "RFC 9110 §5.1; eventlet drops '_' names",
      ),
      reject(
        "underscore-content-length-then-body",
        post("Content_Length: 5\r\n", "hello\r\n\r\n"),
        400,
        "eventlet drops '_' names (the body is read as the next request)",
        { responses: ["POST / 0:", 400] },
      ),
    ],
  },

  {
    title: "Host (RFC 9112 §3.2, RFC 9110 §7.2)",
    cases: [
      reject("host-missing-http11", "GET / HTTP/1.1\r\n\r\n", 400, "RFC 9112 §3.2"),
      reject("host-duplicate", `GET / HTTP/1.1\r\n${H}${H}\r\n`, 400, "RFC 9112 §3.2"),
      reject("host-duplicate-case", "GET / HTTP/1.1\r\nhost: x\r\nHOST: y\r\n\r\n", 400, "RFC 9112 §3.2"),
      reject("host-space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "RFC 9110 §7.2"),
      reject("host-userinfo", "GET / HTTP/1.1\r\nHost: user@x\r\n\r\n", 400, "RFC 9110 §7.2, §4.2.4"),
      reject("host-path", "GET / HTTP/1.1\r\nHost: x/admin\r\n\r\n", 400, "RFC 9110 §7.2"),
      { ...accept("host-missing-http10", "GET / HTTP/1.0\r\n\r\n", ["GET / 0:"], "RFC 9112 §3.2"), closed: true },
      accept("host-empty", "GET / HTTP/1.1\r\nHost:\r\n\r\n", ["GET / 0:"], "RFC 9110 §7.2"),
      accept("host-ipv6", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", ["GET / 0:"], "RFC 3986 §3.2.2"),
    ],
  },

  {
    title: "Content-Length (RFC 9110 §8.6, RFC 9112 §6.3)",
    cases: [
      accept(
        "cl-repeated-equal",
        post("Content-Length: 5\r\nContent-Length: 5\r\n", "hello"),
        ["POST / 5:hello"],
        "RFC 9110 §8.6",
      ),
      accept("cl-list-equal", post("Content-Length: 5, 5\r\n", "hello"), ["POST / 5:hello"], "RFC 9110 §8.6"),
      reject(
        "cl-repeated-differ",
        post("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!"),
        400,
        "RFC 9112 §6.3 item 5; CVE-2019-16792 (waitress)",
      ),
      reject("cl-list-differ", post("Content-Length: 5, 6\r\n", "hello!"), 400, "RFC 9112 §6.3 item 5"),
      reject("cl-plus", post("Content-Length: +5\r\n", "hello"), 400, "RFC 9110 §8.6"),
      reject("cl-negative", post("Content-Length: -1\r\n", ""), 400, "RFC 9110 §8.6"),
      reject("cl-hex", post("Content-Length: 0x5\r\n", "hello"), 400, "RFC 9110 §8.6"),
      reject("cl-space-inside", post("Content-Length: 1 0\r\n", "0123456789"), 400, "RFC 9110 §8.6"),
      reject("cl-overflow", post("Content-Length: 18446744073709551621\r\n", "hello"), 400, "RFC 9112 §6.3"),
      reject("cl-nbsp", post("Content-Length: 5\xa0\r\n", "hello"), 400, "RFC 9110 §5.6.3 (OWS is SP/HTAB)"),
      reject("cl-empty", post("Content-Length:\r\n", ""), 400, "RFC 9110 §8.6"),
      reject(
        "cl-space-before-colon",
        `POST / HTTP/1.1\r\n${H}Content-Length : 5\r\n\r\nhello`,
        400,
        "RFC 9112 §5.1; CVE-2021-22959 (llhttp)",
      ),
      accept(
        "cl-leading-zeros",
        post("Content-Length: 005\r\n", "hello"),
        ["POST / 5:hello"],
        "RFC 9110 §8.6 (1*DIGIT)",
      ),
      accept("cl-trailing-ows", post("Content-Length: 5 \t\r\n", "hello"), ["POST / 5:hello"], "RFC 9112 §5.1 (OWS)"),
      reject("cl-list-empty-element", post("Content-Length: 5,\r\n", "hello"), 400, "RFC 9110 §8.6"),
      reject("cl-decimal-point", post("Content-Length: 5.0\r\n", "hello"), 400, "RFC 9110 §8.6"),
      reject(
        "cl-underscore-digits",
        post("Content-Length: 1_0\r\n", "0123456789"),
        400,
        "RFC 9110 §8.6 (Python int() accepts '1_0')",
      ),
      reject("cl-tab-before-colon", `POST / HTTP/1.1\r\n${H}Content-Length\t: 5\r\n\r\nhello`, 400, "RFC 9112 §5.1"),
      accept(
        "cl-body-holds-a-request",
        post(`Content-Length: ${GET("/smuggled").length}\r\n`, GET("/smuggled")),
        [`POST / ${GET("/smuggled").length}:${GET("/smuggled")}`],
        "RFC 9112 §6.3 item 6",
      ),
      accept(
        "cl-zero-then-request",
        post("Content-Length: 0\r\n", GET("/b")),
        ["POST / 0:", "GET /b 0:"],
        "RFC 9112 §6.3",
      ),
    ],
  },

  {
    title: "Transfer-Encoding and smuggling (RFC 9112 §6.1, §6.3, §7)",
    cases: [
      reject(
        "cl-te",
        post("Content-Length: 6\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\nG"),
        400,
        "RFC 9112 §6.3 item 3; CL.TE",
      ),
      reject(
        "te-cl",
        post("Transfer-Encoding: chunked\r\nContent-Length: 3\r\n", "8\r\nSMUGGLED\r\n0\r\n\r\n"),
        400,
        "RFC 9112 §6.3 item 3; TE.CL",
      ),
      reject(
        "cl-te-identity-chunked",
        post("Content-Length: 5\r\nTransfer-Encoding: identity, chunked\r\n", "hello"),
        501,
        "RFC 9112 §6.1, §6.3 item 3 (the coding is refused first)",
      ),
      reject(
        "cl-te-second-field",
        post("Content-Length: 5\r\nX: y\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"),
        400,
        "RFC 9112 §6.3 item 3",
      ),
      reject(
        "cl-te-gzip",
        post("Content-Length: 5\r\nTransfer-Encoding: gzip\r\n", "hello"),
        400,
        "RFC 9112 §6.3 item 3",
      ),
      {
        ...accept(
          "cl-te-lenient-chunked-wins",
          post("Content-Length: 4\r\nTransfer-Encoding: chunked\r\n", `0\r\n\r\n${GET("/smuggled")}`),
          ["POST / 0:"],
          "RFC 9112 §6.1 (close after)",
          { options: { rejectBadRequests: false } },
        ),
        closed: true,
      },
      {
        ...accept(
          "te-cl-lenient-data",
          post("Transfer-Encoding: chunked\r\nContent-Length: 100\r\n", "5\r\nhello\r\n0\r\n\r\n"),
          ["POST / 5:hello"],
          "RFC 9112 §6.1",
          { options: { rejectBadRequests: false } },
        ),
        closed: true,
      },
      reject(
        "te-space-before-colon",
        `POST / HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
        400,
        "RFC 9112 §5.1; TE.TE",
      ),
      accept("te-tab-value", te("\tchunked"), ["POST / 5:hello"], "RFC 9110 §5.6.3 (OWS)"),
      accept("te-uppercase", te("CHUNKED"), ["POST / 5:hello"], "RFC 9112 §7 (case-insensitive)"),
      accept(
        "te-lowercase-name",
        `POST / HTTP/1.1\r\n${H}transfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
        ["POST / 5:hello"],
        "RFC 9110 §5.1",
      ),
      accept("te-mixed-case", te("ChUnKeD"), ["POST / 5:hello"], "RFC 9112 §7 (case-insensitive)"),
      accept(
        "te-no-space",
        `POST / HTTP/1.1\r\n${H}Transfer-Encoding:chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
        ["POST / 5:hello"],
        "RFC 9112 §5.1",
      ),
      accept("te-trailing-ows", te("chunked \t"), ["POST / 5:hello"], "RFC 9112 §5.1 (OWS)"),
      reject(
        "te-tab-before-colon",
        `POST / HTTP/1.1\r\n${H}Transfer-Encoding\t: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
        400,
        "RFC 9112 §5.1; TE.TE",
      ),
      reject("te-chunked-gzip", te("chunked, gzip"), 400, "RFC 9112 §6.3 item 4 (chunked not last)"),
      reject("te-identity-alone", te("identity", ""), 400, "RFC 9112 §7 (identity is gone); CVE-2024-6827 (gunicorn)"),
      reject("te-gzip-alone", te("gzip", "hello"), 400, "RFC 9112 §6.3 item 4 (request without chunked last)"),
      reject("te-xchunked-suffix", te("chunkedx"), 400, "RFC 9112 §6.3 item 4; CVE-2022-32213 (llhttp)"),
      reject(
        "te-chunked-false-field",
        post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked-false\r\n", "5\r\nhello\r\n0\r\n\r\n"),
        400,
        "CVE-2020-8287 (Node.js)",
      ),
      reject(
        "te-underscore-and-cl",
        post("Content-Length: 5\r\nTransfer_Encoding: chunked\r\n", "0\r\n\r\n"),
        400,
        "eventlet drops '_' names; CL.TE",
        { responses: ["POST / 5:0\r\n\r\n"], closed: false },
      ),
      reject("te-xchunked", te("xchunked"), 400, "RFC 9112 §6.3 item 4; TE.TE"),
      reject("te-chunked-identity", te("chunked, identity"), 400, "RFC 9112 §6.3 item 4"),
      reject("te-identity-chunked", te("identity, chunked"), 501, "RFC 9112 §6.1, §7 (identity is gone)"),
      reject("te-gzip-chunked", te("gzip, chunked"), 501, "RFC 9112 §6.1; CVE-2019-16786 (waitress)"),
      reject(
        "te-identity-with-cl",
        post("Transfer-Encoding: identity\r\nContent-Length: 5\r\n", "hello"),
        400,
        "RFC 9112 §6.3; CVE-2024-6827 (gunicorn)",
      ),
      reject("te-chunked-twice-one-field", te("chunked, chunked"), 400, "RFC 9112 §6.1"),
      reject(
        "te-chunked-twice-two-fields",
        post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
        400,
        "RFC 9112 §6.1; CVE-2020-8287 (Node.js)",
      ),
      reject(
        "te-chunked-then-identity-field",
        post("Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n", "5\r\nhello\r\n0\r\n\r\n"),
        400,
        "RFC 9112 §6.3 item 4; CVE-2024-1135 (gunicorn)",
      ),
      reject("te-leading-comma", te(", chunked"), 400, "RFC 9112 §7 (strict list)"),
      reject("te-trailing-comma", te("chunked,"), 400, "RFC 9112 §6.3 item 4"),
      reject("te-vertical-tab", te("\x0bchunked"), 400, "RFC 9110 §5.5; CVE-2019-16789 (waitress)"),
      reject("te-form-feed", te("chunked\x0c"), 400, "RFC 9110 §5.5; TE.TE"),
      reject("te-nbsp", te("chunked\xa0"), 400, "RFC 9110 §5.6.3; TE.TE"),
      reject("te-quoted", te('"chunked"'), 400, "RFC 9112 §7; TE.TE"),
      reject(
        "te-obs-fold",
        `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\r\n chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
        400,
        "RFC 9112 §5.2; CVE-2022-32215 (llhttp)",
      ),
      reject(
        "te-http10",
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        400,
        "RFC 9112 §6.1",
      ),
      reject(
        "te-http10-with-cl",
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello",
        400,
        "RFC 9112 §6.1",
        { options: { rejectBadRequests: false } },
      ),
      reject("te-empty", te(""), 400, "RFC 9112 §6.3 item 4"),
      reject("te-chunked-parameter", te("chunked;q=1"), 400, "RFC 9112 §7"),
      reject("te-chunk-misspelt", te("chunk"), 400, "RFC 9112 §6.3 item 4"),
    ],
  },

  {
    title: "chunk sizes and extensions (RFC 9112 §7.1, §7.1.1)",
    cases: [
      reject(
        "chunk-size-overflow",
        chunkedBody("fffffffffffffffff\r\nhello\r\n0\r\n\r\n"),
        400,
        "RFC 9112 §7.1; HTTP Garden (chunk-size integer overflow)",
      ),
      reject(
        "chunk-size-2-53",
        chunkedBody("20000000000000\r\nhello\r\n0\r\n\r\n"),
        400,
        "RFC 9112 §7.1 (exact integers)",
      ),
      reject("chunk-size-negative", chunkedBody("-5\r\nhello\r\n0\r\n\r\n"), 400, "RFC 9112 §7.1"),
      reject(
        "chunk-size-plus",
        chunkedBody("+5\r\nhello\r\n0\r\n\r\n"),
        400,
        "RFC 9112 §7.1; CVE-2022-24761 (waitress)",
      ),
      reject(
        "chunk-size-0x",
        chunkedBody("0x5\r\nhello\r\n0\r\n\r\n"),
        400,
        "RFC 9112 §7.1; CVE-2022-24761 (waitress)",
      ),
      reject("chunk-size-leading-space", chunkedBody(" 5\r\nhello\r\n0\r\n\r\n"), 400, "RFC 9112 §7.1"),
      reject(
        "chunk-size-trailing-space",
        chunkedBody("5 \r\nhello\r\n0\r\n\r\n"),
        400,
        "RFC 9112 §7.1.1 (BWS only before ';')",
      ),
      reject("chunk-size-empty", chunkedBody("\r\nhello\r\n0\r\n\r\n"), 400, "RFC 9112 §7.1"),
      accept(
        "chunk-size-leading-zeros",
        chunkedBody("0005\r\nhello\r\n000\r\n\r\n"),
        ["POST / 5:hello"],
        "RFC 9112 §7.1 (1*HEXDIG)",
      ),
      accept(
        "chunk-size-uppercase-hex",
        chunkedBody("A\r\n0123456789\r\n0\r\n\r\n"),
        ["POST / 10:0123456789"],
        "RFC 9112 §7.1 (HEXDIG)",
      ),
      reject(
        "chunk-size-underscore",
        chunkedBody("1_0\r\n0123456789abcdef\r\n0\r\n\r\n"),
        400,
        "RFC 9112 §7.1 (Python int() accepts '1_0')",
      ),
      reject("chunk-size-not-hex", chunkedBody("5g\r\nhello\r\n0\r\n\r\n"), 400, "RFC 9112 §7.1"),
      accept(
        "chunk-size-tab-before-ext",
        chunkedBody("5\t;a=b\r\nhello\r\n0\r\n\r\n"),
        ["POST / 5:hello"],
        "RFC 9112 §7.1.1 (BWS before ';')",
      ),
      reject(
        "chunk-size-space-then-digit",
        chunkedBody("5 5\r\nhello\r\n0\r\n\r\n"),
        400,
        "RFC 9112 §7.1.1 (after BWS only ';')",
      ),
      reject("chunk-size-lf-only", chunkedBody("5\nhello\r\n0\r\n\r\n"), 400, "RFC 9112 §7.1; CVE-2025-43859 (h11)"),
      reject("chunk-size-bare-cr", chunkedBody("5\rhello\r\n0\r\n\r\n"), 400, "RFC 9112 §7.1"),
      reject("chunk-ext-lf", chunkedBody("5;a\nhello\r\n0\r\n\r\n"), 400, "RFC 9112 §7.1.1; CVE-2025-55315 (Kestrel)"),
      reject("chunk-ext-bare-cr", chunkedBody("5;a\rb\r\nhello\r\n0\r\n\r\n"), 400, "RFC 9112 §7.1.1"),
      reject(
        "chunk-ext-unterminated-quote",
        chunkedBody('5;a="b\r\nhello\r\n0\r\n\r\n'),
        400,
        "RFC 9112 §7.1.1 (quoted-string)",
      ),
      reject(
        "chunk-ext-quote-hides-lf",
        chunkedBody('2;a="\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n"\r\nab\r\n0\r\n\r\n'),
        400,
        "RFC 9112 §7.1.1; CVE-2025-55315",
      ),
      reject("chunk-ext-empty-name", chunkedBody("5;=b\r\nhello\r\n0\r\n\r\n"), 400, "RFC 9112 §7.1.1"),
      reject("chunk-ext-nul", chunkedBody("5;a=\x00\r\nhello\r\n0\r\n\r\n"), 400, "RFC 9112 §7.1.1"),
      reject(
        "chunk-ext-too-long",
        chunkedBody(`5;a=${"b".repeat(5000)}\r\nhello\r\n0\r\n\r\n`),
        400,
        "CVE-2024-22019 (Node.js: unbounded extensions)",
      ),
      accept(
        "chunk-ext-token",
        chunkedBody("5;name=value\r\nhello\r\n0;last\r\n\r\n"),
        ["POST / 5:hello"],
        "RFC 9112 §7.1.1 (dropped)",
      ),
      accept(
        "chunk-ext-quoted",
        chunkedBody('5 ; a = "x;y\\"z"\r\nhello\r\n0\r\n\r\n'),
        ["POST / 5:hello"],
        "RFC 9112 §7.1.1 (BWS, quoted-pair)",
      ),
      reject(
        "chunk-data-missing-crlf",
        chunkedBody("5\r\nhelloXX0\r\n\r\n"),
        400,
        "RFC 9112 §7.1; CVE-2025-43859 (h11)",
      ),
      reject("chunk-data-lf-only", chunkedBody("5\r\nhello\n0\r\n\r\n"), 400, "RFC 9112 §7.1"),
      reject("chunk-data-bare-cr", chunkedBody("5\r\nhello\r0\r\n\r\n"), 400, "RFC 9112 §7.1"),
      reject("chunk-data-shorter-than-size", chunkedBody("6\r\nhello\r\n0\r\n\r\n"), 400, "RFC 9112 §7.1"),
      reject(
        "chunked-no-last-chunk",
        chunkedBody("5\r\nhello\r\n") + GET("/b"),
        400,
        "RFC 9112 §7.1 (the next request is not a chunk)",
      ),
      reject("chunk-data-longer-than-size", chunkedBody("3\r\nhello\r\n0\r\n\r\n"), 400, "RFC 9112 §7.1"),
      reject("last-chunk-lf-only", chunkedBody("5\r\nhello\r\n0\n\r\n"), 400, "RFC 9112 §7.1"),
      reject("chunked-end-lf-only", chunkedBody("5\r\nhello\r\n0\r\n\n"), 400, "RFC 9112 §7.1"),
    ],
  },

  {
    title: "trailers (RFC 9112 §7.1.2)",
    cases: [
      accept(
        "trailer-dropped",
        chunkedBody("5\r\nhello\r\n0\r\nX-Checksum: abc\r\n\r\n"),
        ["POST / 5:hello"],
        "RFC 9112 §7.1.2",
      ),
      reject(
        "trailer-holds-request-line",
        chunkedBody(`5\r\nhello\r\n0\r\n${GET("/admin")}`),
        400,
        "CVE-2025-58068 (eventlet); CVE-2023-41419 (gevent)",
      ),
      reject(
        "trailer-missing-final-crlf-then-request",
        chunkedBody(`0\r\nGET /admin HTTP/1.1\r\n${H}\r\n`),
        400,
        "CVE-2025-58068 (eventlet)",
      ),
      reject(
        "trailer-too-long",
        chunkedBody(`5\r\nhello\r\n0\r\n${field(8192)}\r\n`),
        400,
        "RFC 9112 §7.1.2 (header limits)",
      ),
      reject(
        "trailer-section-too-large",
        chunkedBody(`0\r\n${field(8000).repeat(9)}\r\n`),
        400,
        "RFC 9112 §7.1.2 (header limits)",
      ),
      reject("trailer-obs-fold", chunkedBody("0\r\nX: a\r\n b\r\n\r\n"), 400, "RFC 9112 §5.2"),
      reject("trailer-space-before-colon", chunkedBody("0\r\nX : a\r\n\r\n"), 400, "RFC 9112 §5.1"),
      reject("trailer-nul", chunkedBody("0\r\nX: a\x00\r\n\r\n"), 400, "RFC 9110 §5.5"),
      reject("trailer-bare-lf", chunkedBody("0\r\nX: a\n\r\n"), 400, "RFC 9112 §2.2"),
      reject("trailer-bare-cr", chunkedBody("0\r\nX: a\rb\r\n\r\n"), 400, "RFC 9112 §2.2"),
      reject("trailer-empty-name", chunkedBody("0\r\n: a\r\n\r\n"), 400, "RFC 9110 §5.1"),
      accept(
        "trailer-content-length-ignored",
        chunkedBody("5\r\nhello\r\n0\r\nContent-Length: 100\r\n\r\n") + GET("/b"),
        ["POST / 5:hello", "GET /b 0:"],
        "RFC 9110 §6.5.1 (framing fields not allowed in trailers)",
      ),
      reject(
        "trailer-holds-smuggled-chunked",
        chunkedBody(`0\r\nX: y\r\n${post("Transfer-Encoding: chunked\r\n", "0\r\n\r\n")}`),
        400,
        "CVE-2025-58068 (eventlet)",
      ),
    ],
  },

  {
    title: "pipelining after an error: nothing after the bad request is answered",
    cases: [
      reject(
        "pipeline-after-bad-header",
        GET("/a") + `GET /b HTTP/1.1\r\nHost : x\r\n\r\n` + GET("/c"),
        400,
        "RFC 9112 §9.3.2",
        { responses: ["GET /a 0:", 400] },
      ),
      reject(
        "pipeline-after-414",
        `GET /${"a".repeat(9000)} HTTP/1.1\r\n${H}\r\n${GET("/b")}`,
        414,
        "eventlet url_length_limit",
      ),
      reject("pipeline-after-505", `GET / HTTP/2.0\r\n${H}\r\n${GET("/b")}`, 505, "RFC 9110 §15.6.6"),
      reject("pipeline-after-501", te("gzip, chunked") + GET("/b"), 501, "RFC 9112 §6.1"),
      reject("pipeline-after-chunk-error", chunkedBody("5\r\nhelloXX0\r\n\r\n") + GET("/b"), 400, "RFC 9112 §7.1"),
      reject(
        "pipeline-after-cl-conflict",
        post("Content-Length: 1\r\nContent-Length: 2\r\n", "ab") + GET("/b"),
        400,
        "RFC 9112 §6.3 item 5",
      ),
      {
        ...accept(
          "pipeline-after-connection-close",
          `GET /a HTTP/1.1\r\n${H}Connection: close\r\n\r\n${GET("/b")}`,
          ["GET /a 0:"],
          "RFC 9112 §9.6",
        ),
        closed: true,
      },
      {
        ...accept("pipeline-after-http10", `GET /a HTTP/1.0\r\n\r\n${GET("/b")}`, ["GET /a 0:"], "RFC 9112 §9.3"),
        closed: true,
      },
      reject("pipeline-nul-after-request", `${GET()}\x00\r\n`, 400, "RFC 9112 §2.2", { responses: ["GET / 0:", 400] }),
      reject(
        "pipeline-garbage-after-body",
        `${post("Content-Length: 5\r\n", "hello")}hello\r\n`,
        400,
        "RFC 9112 §6.3",
        { responses: ["POST / 5:hello", 400] },
      ),
    ],
  },
];

/** Every case, in order. */
export const CORPUS: HostileCase[] = SECTIONS.flatMap((s) => s.cases);
