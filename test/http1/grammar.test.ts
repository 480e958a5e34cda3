/** The byte classes and small rules of grammar.ts, against the ABNF they cite; and the error classes. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  BadRequestError,
  ChunkReadError,
  HeaderLineTooLong,
  HeadersTooLarge,
  HttpProtocolError,
  NotImplementedError,
  RequestLineTooLongError,
  VersionNotSupportedError,
  renderErrorResponse,
} from "../../src/errors.js";
import {
  FIELD_VALUE_CHAR,
  TARGET_CHAR,
  TCHAR,
  hexValue,
  isToken,
  isValidHost,
  latin1,
  trimOws,
} from "../../src/http1/grammar.js";

const chars = (t: Uint8Array): string => {
  let s = "";
  for (let b = 0; b < 256; b++) if (t[b] === 1) s += String.fromCharCode(b);
  return s;
};

describe("byte classes", () => {
  test("tchar is exactly RFC 9110 §5.6.2's set", () => {
    assert.equal(chars(TCHAR), "!#$%&'*+-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ^_`abcdefghijklmnopqrstuvwxyz|~");
  });

  test("field-value bytes: HTAB, SP, VCHAR, obs-text; no other control, no DEL", () => {
    for (let b = 0; b < 256; b++) {
      const allowed = b === 0x09 || (b >= 0x20 && b <= 0x7e) || b >= 0x80;
      assert.equal(FIELD_VALUE_CHAR[b], allowed ? 1 : 0, `byte ${b}`);
    }
  });

  test("request-target bytes: VCHAR only", () => {
    for (let b = 0; b < 256; b++) assert.equal(TARGET_CHAR[b], b >= 0x21 && b <= 0x7e ? 1 : 0, `byte ${b}`);
  });
});

describe("small rules", () => {
  test("hexValue", () => {
    assert.deepEqual(
      Array.from("09afAF").map((c) => hexValue(c.charCodeAt(0))),
      [0, 9, 10, 15, 10, 15],
    );
    for (const c of "gG/:@`x -+") assert.equal(hexValue(c.charCodeAt(0)), -1, c);
  });

  test("isToken", () => {
    assert.equal(isToken("chunked"), true);
    assert.equal(isToken("X-Foo_1.2~"), true);
    for (const bad of ["", "a b", "a:b", "\xe9", "a\u0100", "a\x00", '"a"']) assert.equal(isToken(bad), false, bad);
  });

  test("trimOws strips SP and HTAB only", () => {
    assert.equal(trimOws(" \t a b \t "), "a b");
    assert.equal(trimOws("abc"), "abc");
    assert.equal(trimOws("   "), "");
    assert.equal(trimOws("\xa0a\xa0"), "\xa0a\xa0");
    assert.equal(trimOws("\x0ba\x0c"), "\x0ba\x0c");
    assert.equal(trimOws("\r\na\r\n"), "\r\na\r\n");
  });

  test("isValidHost (RFC 9110 §7.2, RFC 3986 §3.2.2)", () => {
    for (const ok of ["", "a", "a.b", "a:1", "a:", "[::1]", "[::1]:443", "1.2.3.4", ":80", "a%41"])
      assert.equal(isValidHost(ok), true, ok);
    for (const bad of ["a b", "[", "[]", "[::1", "[::1]:x", "a:b", "a/b", "a@b", "\xe9", "a\u0100"])
      assert.equal(isValidHost(bad), false, bad);
  });

  test("latin1 decodes every byte to the code point of the same value", () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const s = latin1(all, 0, 256);
    for (let i = 0; i < 256; i++) assert.equal(s.charCodeAt(i), i);
    assert.equal(latin1(all, 65, 68), "ABC");
  });
});

describe("protocol errors", () => {
  test("each knows its status, reason and stable code", () => {
    const cases: [HttpProtocolError, number, string, string][] = [
      [new BadRequestError("x"), 400, "Bad Request", "ERR_BAD_REQUEST"],
      [new RequestLineTooLongError(), 414, "Request URI Too Long", "ERR_REQUEST_LINE_TOO_LONG"],
      [new HeaderLineTooLong(), 400, "Header Line Too Long", "ERR_HEADER_LINE_TOO_LONG"],
      [new HeadersTooLarge(), 400, "Headers Too Large", "ERR_HEADERS_TOO_LARGE"],
      [new ChunkReadError("x"), 400, "Bad Request", "ERR_CHUNK_READ"],
      [new NotImplementedError("x"), 501, "Not Implemented", "ERR_NOT_IMPLEMENTED"],
      [new VersionNotSupportedError("HTTP/2.0"), 505, "HTTP Version Not Supported", "ERR_VERSION_NOT_SUPPORTED"],
    ];
    for (const [err, status, reason, code] of cases) {
      assert.ok(err instanceof HttpProtocolError);
      assert.equal(err.status, status);
      assert.equal(err.reason, reason);
      assert.equal(err.code, code);
      assert.equal(err.name, err.constructor.name);
    }
  });

  test("rendered the eventlet way: HTTP/1.0 status line, Connection: close, empty body", () => {
    assert.equal(
      renderErrorResponse(new HeaderLineTooLong()),
      "HTTP/1.0 400 Header Line Too Long\r\nConnection: close\r\nContent-length: 0\r\n\r\n",
    );
    assert.equal(
      renderErrorResponse(new RequestLineTooLongError()),
      "HTTP/1.0 414 Request URI Too Long\r\nConnection: close\r\nContent-length: 0\r\n\r\n",
    );
  });
});
