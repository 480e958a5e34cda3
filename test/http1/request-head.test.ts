/**
 * RequestHeadParser (RFC 9112 §2–§5): every case is fed whole, byte by
 * byte, split at an offset inside a larger buffer, and with trailing bytes
 * (see feed.ts); all must agree, and a head must end exactly where it ends.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  BadRequestError,
  HeaderLineTooLong,
  HeadersTooLarge,
  RequestLineTooLongError,
  VersionNotSupportedError,
} from "../../src/errors.js";
import { RequestHeadParser, type HeadLimits } from "../../src/http1/request-head.js";
import { LIMITS, bytes, expectHead, expectHeadError, expectNeedsMore, feedHead } from "./feed.js";

const H = "Host: x\r\n";

describe("request line", () => {
  test("a simple GET: method, target, version, request line, no headers", () => {
    expectHead("GET / HTTP/1.1\r\n\r\n", {
      method: "GET",
      target: "/",
      version: "HTTP/1.1",
      requestLine: "GET / HTTP/1.1",
      headers: [],
    });
  });

  test("HTTP/1.0 and HTTP/1.1 are the versions served", () => {
    expectHead("GET / HTTP/1.0\r\n\r\n", { version: "HTTP/1.0" });
    expectHead("GET / HTTP/1.1\r\n\r\n", { version: "HTTP/1.1" });
  });

  test("a method is any token, kept as sent (RFC 9110 §9.1)", () => {
    for (const method of ["GET", "POST", "M-SEARCH", "get", "PROPFIND", "X!#$%&'*+-.^_`|~9"]) {
      expectHead(`${method} / HTTP/1.1\r\n\r\n`, { method });
    }
  });

  test("a method that is not a token is a 400", () => {
    for (const method of ["", "GE(T", "GE\x00T", "GE/T", "G\xc9T", "GE\x7fT", "GE:T", "[GET]", 'G"ET', "GE,T"]) {
      expectHeadError(`${method} / HTTP/1.1\r\n\r\n`, BadRequestError, 400);
    }
  });

  test("origin-form targets are kept as sent", () => {
    for (const target of ["/", "/a/b", "/a?b=c&d", "/%20%zz", "/a#frag", "/~!$&'()*+,;=:@", "//double", "/?"]) {
      expectHead(`GET ${target} HTTP/1.1\r\n\r\n`, { target });
    }
  });

  test("absolute-form (RFC 9112 §3.2.2) with any method", () => {
    for (const target of [
      "http://example.com/x?y",
      "https://h:443",
      "HTTP://H/",
      "svn+ssh.x-1://a",
      "http://[::1]:80/p",
    ]) {
      expectHead(`GET ${target} HTTP/1.1\r\n\r\n`, { target });
      expectHead(`POST ${target} HTTP/1.1\r\n\r\n`, { target });
    }
  });

  test("targets that are neither origin- nor absolute-form are a 400", () => {
    for (const target of [
      "http:/x",
      "http:x",
      "1http://x",
      "://x",
      "example.com/x",
      "x",
      "?q",
      "h_t://x",
      "example.com:80",
      "http//x",
    ]) {
      expectHeadError(`GET ${target} HTTP/1.1\r\n\r\n`, BadRequestError, 400);
    }
  });

  test("asterisk-form only with OPTIONS (RFC 9112 §3.2.4)", () => {
    expectHead("OPTIONS * HTTP/1.1\r\n\r\n", { method: "OPTIONS", target: "*" });
    expectHead("OPTIONS /* HTTP/1.1\r\n\r\n", { target: "/*" });
    for (const method of ["GET", "POST", "options", "CONNECT"]) {
      expectHeadError(`${method} * HTTP/1.1\r\n\r\n`, BadRequestError, 400);
    }
    expectHeadError("OPTIONS *x HTTP/1.1\r\n\r\n", BadRequestError, 400);
    expectHeadError("OPTIONS ** HTTP/1.1\r\n\r\n", BadRequestError, 400);
  });

  test("authority-form only with CONNECT (RFC 9112 §3.2.3)", () => {
    for (const target of ["example.com:443", "[::1]:8080", "127.0.0.1:80", "a-b.c_d~%41:1", "[v1.x]:0"]) {
      expectHead(`CONNECT ${target} HTTP/1.1\r\n\r\n`, { method: "CONNECT", target });
    }
    for (const target of [
      "example.com",
      "/x",
      "http://x:1/",
      ":443",
      "x:",
      "[::1:80",
      "[]:80",
      "x:8a",
      "x:80/",
      "a@b:80",
      "[::1]",
      "*",
    ]) {
      expectHeadError(`CONNECT ${target} HTTP/1.1\r\n\r\n`, BadRequestError, 400);
    }
    expectHeadError("GET example.com:443 HTTP/1.1\r\n\r\n", BadRequestError, 400);
  });

  test("target bytes: VCHAR only (no NUL, CTL, DEL, obs-text)", () => {
    for (const bad of ["\x00", "\x01", "\x7f", "\xe9", "\x80", "\t", "\x0b", "\x0c", "\x1b"]) {
      expectHeadError(`GET /a${bad}b HTTP/1.1\r\n\r\n`, BadRequestError, 400);
    }
  });

  test("other well-formed versions are a 505 (RFC 9110 §15.6.6)", () => {
    for (const v of ["HTTP/1.2", "HTTP/2.0", "HTTP/0.9", "HTTP/3.0", "HTTP/9.9", "HTTP/1.9", "HTTP/0.0"]) {
      expectHeadError(`GET / ${v}\r\n\r\n`, VersionNotSupportedError, 505);
    }
  });

  test("malformed versions are a 400 (RFC 9112 §2.3: case-sensitive, one digit each)", () => {
    for (const v of [
      "http/1.1",
      "HTTP/1",
      "HTTP/1.1.1",
      "HTTP/11",
      "HTTP/1.10",
      "HTTP/a.b",
      "HTTP 1.1",
      "HTTPS/1.1",
      "HTTP/1,1",
      "",
      "HTTP/",
      "Http/1.1",
      "HTTP/01.1",
      "HTTP/1.1x",
      "xHTTP/1.1",
    ]) {
      expectHeadError(`GET / ${v}\r\n\r\n`, BadRequestError, 400);
    }
  });

  test("single spaces between the parts, nothing else (RFC 9112 §3)", () => {
    for (const line of [
      "GET  / HTTP/1.1",
      "GET /  HTTP/1.1",
      " GET / HTTP/1.1",
      "GET / HTTP/1.1 ",
      "GET\t/\tHTTP/1.1",
      "GET /",
      "GET / HTTP/1.1\t",
      "GET",
      "GET /a b HTTP/1.1",
      "GET\x0b/ HTTP/1.1",
    ]) {
      expectHeadError(`${line}\r\n\r\n`, BadRequestError, 400);
    }
  });

  test("the request line may not hold a bare CR", () => {
    expectHeadError("GET / HTTP/1.1\rHost: x\r\n\r\n", BadRequestError, 400);
    expectHeadError("GET /\r HTTP/1.1\r\n\r\n", BadRequestError, 400);
    expectHeadError("GET / HTTP/1.1\r\r\n\r\n", BadRequestError, 400);
    expectHeadError("\rGET / HTTP/1.1\r\n\r\n", BadRequestError, 400);
  });
});

describe("line endings: CRLF only", () => {
  test("a bare LF ends no line", () => {
    expectHeadError("GET / HTTP/1.1\n\n", BadRequestError, 400);
    expectHeadError("GET / HTTP/1.1\r\nHost: x\n\r\n", BadRequestError, 400);
    expectHeadError("GET / HTTP/1.1\r\nHost: x\r\n\n", BadRequestError, 400);
    expectHeadError("GET / HTTP/1.1\r\nA: b\nC: d\r\n\r\n", BadRequestError, 400);
    expectHeadError("\nGET / HTTP/1.1\r\n\r\n", BadRequestError, 400);
  });

  test("a bare CR in a header line or as the final line is a 400", () => {
    expectHeadError("GET / HTTP/1.1\r\nA: b\rC: d\r\n\r\n", BadRequestError, 400);
    expectHeadError("GET / HTTP/1.1\r\nA: b\r\r\n\r\n", BadRequestError, 400);
    expectHeadError("GET / HTTP/1.1\r\nA: b\r\n\r\r\n", BadRequestError, 400);
    expectHeadError("GET / HTTP/1.1\r\n\rA: b\r\n\r\n", BadRequestError, 400);
  });

  test("empty lines before the request line are ignored (RFC 9112 §2.2)", () => {
    expectHead("\r\nGET / HTTP/1.1\r\n\r\n", { method: "GET", requestLine: "GET / HTTP/1.1" });
    expectHead("\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n", { method: "GET" });
    expectHeadError("\r\r\nGET / HTTP/1.1\r\n\r\n", BadRequestError, 400);
    expectHeadError("\r\n\nGET / HTTP/1.1\r\n\r\n", BadRequestError, 400);
  });

  test("an endless run of empty lines is bounded by the request-line limit", () => {
    const crlfs = "\r\n".repeat(LIMITS.maxRequestLine / 2);
    expectHeadError(crlfs, RequestLineTooLongError, 414);
    expectHeadError(
      `${"\r\n".repeat(10)}GET /${"a".repeat(LIMITS.maxRequestLine - 36)} HTTP/1.1\r\n\r\n`,
      RequestLineTooLongError,
      414,
    );
  });
});

describe("incomplete heads", () => {
  test("need more bytes, whatever the cut", () => {
    for (const partial of [
      "",
      "G",
      "GET / HTTP/1.1",
      "GET / HTTP/1.1\r",
      "GET / HTTP/1.1\r\n",
      `GET / HTTP/1.1\r\n${H}`,
      `GET / HTTP/1.1\r\n${H}\r`,
      "\r\n",
      "\r\n\r",
      "GET / HTTP/1.1\r\nA: b",
    ]) {
      expectNeedsMore(partial);
    }
  });

  test("a head that is cut and moved between calls gives the same head (offsets are relative)", () => {
    const input = bytes(`POST /x HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\n`);
    const parser = new RequestHeadParser(LIMITS);
    let end = -1;
    for (let i = 1; i <= input.length && end < 0; i++) {
      const pad = i % 5; // a different offset each call, as Buffer.concat in a connection would give
      const buf = Buffer.concat([Buffer.alloc(pad, 0x41), input.subarray(0, i)]);
      end = parser.execute(buf, pad, buf.length);
      if (end >= 0) end -= pad;
    }
    assert.equal(end, input.length);
    assert.deepEqual(parser.head.headers, ["Host", "x", "Content-Length", "3"]);
  });

  test("the `end` argument bounds the search: later bytes in the buffer are not read", () => {
    const input = bytes(`GET / HTTP/1.1\r\n${H}\r\n`);
    const parser = new RequestHeadParser(LIMITS);
    assert.equal(parser.execute(input, 0, input.length - 2), -1);
    assert.equal(parser.execute(input, 0, input.length), input.length);
  });

  test("reset() makes the parser ready for the next head; execute() after Done without reset throws", () => {
    const input = bytes(`GET /a HTTP/1.1\r\n${H}\r\nGET /b HTTP/1.0\r\n\r\n`);
    const parser = new RequestHeadParser(LIMITS);
    const first = parser.execute(input, 0);
    assert.equal(parser.head.target, "/a");
    assert.throws(() => parser.execute(input, first), /reset/);
    parser.reset();
    assert.throws(() => parser.head, /not complete/);
    assert.equal(parser.execute(input, first), input.length);
    assert.equal(parser.head.target, "/b");
    assert.equal(parser.head.version, "HTTP/1.0");
  });

  test("`started` is false before a request's first byte and through leading empty lines", () => {
    const parser = new RequestHeadParser(LIMITS);
    assert.equal(parser.started, false);
    assert.equal(parser.execute(bytes("\r\n"), 0), -1);
    assert.equal(parser.started, false);
    assert.equal(parser.execute(bytes("\r\nG"), 0), -1);
    assert.equal(parser.started, true);
  });
});

describe("header fields (RFC 9112 §5, RFC 9110 §5)", () => {
  test("name and value, the name's case kept, the value trimmed of SP and HTAB", () => {
    expectHead(`GET / HTTP/1.1\r\nX-Foo: bar\r\nhost:\tx \t\r\nA:b\r\nEmpty:\r\nBlank: \t \r\n\r\n`, {
      headers: ["X-Foo", "bar", "host", "x", "A", "b", "Empty", "", "Blank", ""],
    });
  });

  test("the value keeps inner whitespace, colons, quotes and obs-text (read as Latin-1)", () => {
    expectHead(`GET / HTTP/1.1\r\nA: b  c\td\r\nB: x:y:z\r\nC: "q" \\ ()\r\nD: \xe9\xff\x80\xa0\r\n\r\n`, {
      headers: ["A", "b  c\td", "B", "x:y:z", "C", '"q" \\ ()', "D", "\xe9\xff\x80\xa0"],
    });
  });

  test("repeated fields are kept, in order", () => {
    expectHead(`GET / HTTP/1.1\r\nA: 1\r\na: 2\r\nA: 3\r\n\r\n`, { headers: ["A", "1", "a", "2", "A", "3"] });
  });

  test("names are tokens: every tchar is allowed", () => {
    expectHead(`GET / HTTP/1.1\r\n!#$%&'*+-.^_\`|~09azAZ: v\r\n\r\n`, { headers: ["!#$%&'*+-.^_`|~09azAZ", "v"] });
  });

  test("no whitespace between name and colon (RFC 9112 §5.1)", () => {
    for (const line of ["Host : x", "Host\t: x", "Transfer-Encoding : chunked", "Content-Length\t:5"]) {
      expectHeadError(`GET / HTTP/1.1\r\n${line}\r\n\r\n`, BadRequestError, 400);
    }
  });

  test("obs-fold is rejected (RFC 9112 §5.2)", () => {
    expectHeadError(`GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n`, BadRequestError, 400);
    expectHeadError(`GET / HTTP/1.1\r\nA: b\r\n\tc\r\n\r\n`, BadRequestError, 400);
    expectHeadError(`GET / HTTP/1.1\r\n Host: x\r\n\r\n`, BadRequestError, 400);
  });

  test("empty, non-token, colon-less names are a 400", () => {
    for (const line of [
      ": x",
      "A B: x",
      "A(B): x",
      "A\x00: x",
      "A\xe9: x",
      'A"B: x',
      "A/B: x",
      "[A]: x",
      "A=B: x",
      "Abc",
      "A\x7f: x",
      "A@B: x",
      "{A}: x",
      "A;B: x",
      "A,B: x",
      "A?: x",
    ]) {
      expectHeadError(`GET / HTTP/1.1\r\n${line}\r\n\r\n`, BadRequestError, 400);
    }
  });

  test("NUL, CR, LF and other controls (but HTAB) in values are a 400 (RFC 9110 §5.5)", () => {
    for (const c of ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x0e", "\x1b", "\x1f", "\x7f", "\r"]) {
      expectHeadError(`GET / HTTP/1.1\r\nA: b${c}c\r\n\r\n`, BadRequestError, 400);
      expectHeadError(`GET / HTTP/1.1\r\nA: ${c}bc\r\n\r\n`, BadRequestError, 400);
    }
    expectHeadError(`GET / HTTP/1.1\r\nA: b\x00\r\n\r\n`, BadRequestError, 400);
    expectHeadError(`GET / HTTP/1.1\r\nTransfer-Encoding: \x0bchunked\r\n\r\n`, BadRequestError, 400);
  });
});

describe("limits (eventlet's statuses)", () => {
  const small: HeadLimits = { maxRequestLine: 32, maxHeaderLine: 24, maxHeadersSize: 60 };

  test("a request line of urlLengthLimit bytes or more (with CRLF) is a 414", () => {
    const line = (n: number): string => `GET /${"a".repeat(n - 16)} HTTP/1.1\r\n`; // n bytes with CRLF
    assert.equal(line(32).length, 32);
    expectHead(`${line(31)}\r\n`, {}, small);
    expectHeadError(`${line(32)}\r\n`, RequestLineTooLongError, 414, small);
    expectHeadError(`${line(200)}\r\n`, RequestLineTooLongError, 414, small);
    // With the default limit (eventlet's 8192).
    expectHead(`${line(8191)}\r\n`, {});
    expectHeadError(`${line(8192)}\r\n`, RequestLineTooLongError, 414);
  });

  test("a long request line is refused before its end arrives", () => {
    expectHeadError(`GET /${"a".repeat(40)}`, RequestLineTooLongError, 414, small);
    expectHeadError(`GET /${"a".repeat(LIMITS.maxRequestLine)}`, RequestLineTooLongError, 414);
    // One byte short of the limit without CRLF: needs more; the CRLF then makes it too long.
    expectNeedsMore(`GET /${"a".repeat(31 - 5)}`, small);
  });

  test("urlLengthLimit is configurable", () => {
    const tiny: HeadLimits = { ...LIMITS, maxRequestLine: 20 };
    expectHead("GET /abc HTTP/1.1\r\n\r\n", {}, tiny);
    expectHeadError("GET /abcd HTTP/1.1\r\n\r\n", RequestLineTooLongError, 414, tiny);
  });

  test("a header line of 8192 bytes or more (with CRLF) is 400 Header Line Too Long", () => {
    const field = (n: number): string => `X: ${"v".repeat(n - 5)}\r\n`; // n bytes with CRLF
    assert.equal(field(8192).length, 8192);
    expectHead(`GET / HTTP/1.1\r\n${field(8191)}\r\n`, {});
    expectHeadError(`GET / HTTP/1.1\r\n${field(8192)}\r\n`, HeaderLineTooLong, 400);
    expectHeadError(`GET / HTTP/1.1\r\n${field(8194).slice(0, -2)}`, HeaderLineTooLong, 400); // before its end
    expectNeedsMore(`GET / HTTP/1.1\r\n${field(8193).slice(0, -2)}`); // 8191 bytes: its CRLF decides
    expectHead(`GET / HTTP/1.1\r\n${field(24 - 1)}\r\n`, {}, small);
    expectHeadError(`GET / HTTP/1.1\r\n${field(24)}\r\n`, HeaderLineTooLong, 400, small);
    const err = feedHead(bytes(`GET / HTTP/1.1\r\n${field(9000)}\r\n`), []);
    assert.equal(err.kind === "error" && err.error.reason, "Header Line Too Long");
  });

  test("header lines adding up to more than 65536 bytes (with the final CRLF) are 400 Headers Too Large", () => {
    const field = (n: number): string => `X: ${"v".repeat(n - 5)}\r\n`;
    // 8 lines of 8000 bytes = 64000, plus one of 1534 = 65534, plus the final CRLF = 65536: allowed.
    const base = field(8000).repeat(8);
    expectHead(`GET / HTTP/1.1\r\n${base}${field(1534)}\r\n`, {});
    expectHeadError(`GET / HTTP/1.1\r\n${base}${field(1535)}\r\n`, HeadersTooLarge, 400);
    expectHeadError(`GET / HTTP/1.1\r\n${field(8000).repeat(9)}\r\n`, HeadersTooLarge, 400);
    // Many small lines count the same way.
    expectHeadError(`GET / HTTP/1.1\r\n${"A: b\r\n".repeat(11000)}\r\n`, HeadersTooLarge, 400);
    const err = feedHead(bytes(`GET / HTTP/1.1\r\n${field(8000).repeat(9)}\r\n`), []);
    assert.equal(err.kind === "error" && err.error.reason, "Headers Too Large");
    // The request line does not count towards the header total.
    expectHead(`GET /${"a".repeat(8000)} HTTP/1.1\r\n${base}${field(1534)}\r\n`, {});
  });

  test("the totals use the configured limits", () => {
    expectHead(
      "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\nI: 9\r\n\r\n",
      {},
      small,
    ); // 9*6 + 2 = 56
    expectHeadError(
      "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\nI: 9\r\nJ: 0\r\n\r\n",
      HeadersTooLarge,
      400,
      small,
    );
  });
});

test("a complete head with its body and the next request behind it ends exactly at its final CRLF", () => {
  const head = `POST /upload HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\n`;
  const input = bytes(`${head}helloGET / HTTP/1.1\r\n${H}\r\n`);
  const parser = new RequestHeadParser(LIMITS);
  assert.equal(parser.execute(input, 0), head.length);
  const prefixed = Buffer.concat([bytes("xxxx"), input]);
  const p2 = new RequestHeadParser(LIMITS);
  assert.equal(p2.execute(prefixed, 4), 4 + head.length);
});
