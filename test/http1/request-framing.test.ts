/**
 * requestFraming (RFC 9112 §6, §9.3; RFC 9110 §7.2, §8.6, §10.1.1): what
 * a parsed head means for the body and the connection.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BadRequestError, HttpProtocolError, NotImplementedError } from "../../src/errors.js";
import { requestFraming, type RequestFraming } from "../../src/http1/request-framing.js";
import type { RequestHead } from "../../src/http1/request-head.js";
import { parseHead } from "./feed.js";

/** A head built directly, for values the head parser would already refuse (framing must still be safe alone). */
function head(version: "HTTP/1.0" | "HTTP/1.1", fields: [string, string][]): RequestHead {
  return { method: "POST", target: "/", version, requestLine: `POST / ${version}`, headers: fields.flat() };
}

function frame(fields: string, opts: { version?: string; reject?: boolean } = {}): RequestFraming {
  const version = opts.version ?? "HTTP/1.1";
  return requestFraming(parseHead(`POST / ${version}\r\n${fields}\r\n`), opts.reject ?? true);
}

function frameError(
  fields: string,
  errorClass: new (...a: never[]) => HttpProtocolError,
  status: number,
  opts: { version?: string; reject?: boolean } = {},
): void {
  assert.throws(
    () => frame(fields, opts),
    (err: unknown) => err instanceof errorClass && err.status === status,
    `expected ${errorClass.name} ${status} for ${JSON.stringify(fields)}`,
  );
}

const H = "Host: x\r\n";

describe("no body", () => {
  test("no Content-Length, no Transfer-Encoding: contentLength -1, not chunked, defaults off", () => {
    assert.deepEqual(frame(H), {
      contentLength: -1,
      chunked: false,
      connectionClose: false,
      connectionKeepAlive: false,
      expectContinue: false,
      mustClose: false,
    });
  });
});

describe("Content-Length (RFC 9110 §8.6, RFC 9112 §6.3)", () => {
  test("1*DIGIT, leading zeros allowed, OWS around it trimmed", () => {
    for (const [value, n] of [
      ["0", 0],
      ["5", 5],
      ["005", 5],
      ["123456789", 123456789],
      ["999999999999999", 999999999999999],
    ] as const) {
      assert.equal(frame(`${H}Content-Length: ${value}\r\n`).contentLength, n, value);
    }
    assert.equal(frame(`${H}Content-Length:\t 7 \t\r\n`).contentLength, 7);
  });

  test("equal repeated values fold into one, in one field or several", () => {
    assert.equal(frame(`${H}Content-Length: 5\r\nContent-Length: 5\r\n`).contentLength, 5);
    assert.equal(frame(`${H}Content-Length: 5, 5\r\n`).contentLength, 5);
    assert.equal(frame(`${H}Content-Length: 5,5,05\r\n`).contentLength, 5);
    assert.equal(frame(`${H}content-length: 5\r\nCONTENT-LENGTH: 5\r\n`).contentLength, 5);
  });

  test("differing values are a 400", () => {
    frameError(`${H}Content-Length: 5\r\nContent-Length: 6\r\n`, BadRequestError, 400);
    frameError(`${H}Content-Length: 5, 6\r\n`, BadRequestError, 400);
    frameError(`${H}Content-Length: 0\r\nContent-Length: 5\r\n`, BadRequestError, 400);
  });

  test("signs, spaces inside, hex, decimals, exponents, empty elements, overflow: 400", () => {
    for (const value of [
      "",
      "+5",
      "-5",
      "-0",
      "5 5",
      "0x5",
      "0X5",
      "5.0",
      "1e3",
      "5,",
      ",5",
      "1,,1",
      ",",
      "abc",
      "5a",
      "١",
      "9999999999999999",
      "0000000000000001",
      "18446744073709551616",
    ]) {
      frameError(`${H}Content-Length: ${value}\r\n`, BadRequestError, 400);
    }
  });

  test("only SP and HTAB are trimmed: NBSP (0xA0) or VT next to the digits is a 400", () => {
    // String.prototype.trim would strip these and read "5": a smuggling gap with any peer that does not.
    for (const value of ["5\xa0", "\xa05", "5,\xa05", "5\x0b", "\x0c5", "5\u2028"]) {
      assert.throws(
        () =>
          requestFraming(
            head("HTTP/1.1", [
              ["Host", "x"],
              ["Content-Length", value],
            ]),
            true,
          ),
        BadRequestError,
        JSON.stringify(value),
      );
    }
  });
});

describe("Transfer-Encoding (RFC 9112 §6.1, §6.3, §7)", () => {
  test("chunked, in any case and with OWS, is chunked", () => {
    for (const value of ["chunked", "Chunked", "CHUNKED", " chunked\t", "cHuNkEd"]) {
      const f = frame(`${H}Transfer-Encoding: ${value}\r\n`);
      assert.equal(f.chunked, true, value);
      assert.equal(f.contentLength, -1);
      assert.equal(f.mustClose, false);
    }
  });

  test("an unknown (well-formed) coding before the final chunked is a 501", () => {
    for (const value of [
      "gzip, chunked",
      "identity, chunked",
      "deflate,chunked",
      "x-foo , chunked",
      "gzip;level=9, chunked",
      "gzip, br, chunked",
    ]) {
      frameError(`${H}Transfer-Encoding: ${value}\r\n`, NotImplementedError, 501);
    }
    frameError(`${H}Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n`, NotImplementedError, 501);
  });

  test("chunked not last, absent, twice, or obfuscated is a 400", () => {
    const values = [
      "gzip",
      "identity",
      "chunked, gzip",
      "chunked, identity",
      "chunked, chunked",
      "xchunked",
      "chunkedx",
      "chunk",
      "chunked;q=1",
      '"chunked"',
      "chunked,",
      ", chunked",
      "",
      "chunked, , chunked",
      "chunked chunked",
      "g(zip, chunked",
      "chun ked",
      "gzip chunked",
    ];
    for (const value of values) frameError(`${H}Transfer-Encoding: ${value}\r\n`, BadRequestError, 400);
    frameError(`${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n`, BadRequestError, 400);
    frameError(`${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n`, BadRequestError, 400);
    frameError(`${H}Transfer-Encoding: chunked\r\ntransfer-encoding: gzip\r\n`, BadRequestError, 400);
  });

  test("only SP and HTAB are trimmed: 'chunked' next to NBSP or VT is not chunked", () => {
    for (const value of ["chunked\xa0", "\xa0chunked", "chunked\x0b", "\x0cchunked", "gzip,\xa0chunked"]) {
      assert.throws(
        () =>
          requestFraming(
            head("HTTP/1.1", [
              ["Host", "x"],
              ["Transfer-Encoding", value],
            ]),
            true,
          ),
        (e: unknown) => e instanceof BadRequestError || e instanceof NotImplementedError,
        JSON.stringify(value),
      );
      const f = (() => {
        try {
          return requestFraming(
            head("HTTP/1.1", [
              ["Host", "x"],
              ["Transfer-Encoding", value],
            ]),
            true,
          );
        } catch {
          return null;
        }
      })();
      assert.equal(f, null);
    }
  });

  test("Transfer-Encoding in an HTTP/1.0 request is a 400, whatever its value", () => {
    frameError("Transfer-Encoding: chunked\r\n", BadRequestError, 400, { version: "HTTP/1.0" });
    frameError("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", BadRequestError, 400, {
      version: "HTTP/1.0",
      reject: false,
    });
    frameError("Transfer-Encoding: gzip\r\n", BadRequestError, 400, { version: "HTTP/1.0" });
  });

  test("Content-Length with Transfer-Encoding is a 400 (RFC 9112 §6.3 item 3)", () => {
    frameError(`${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n`, BadRequestError, 400);
    frameError(`${H}Transfer-Encoding: chunked\r\nContent-Length: 0\r\n`, BadRequestError, 400);
  });

  test("with rejectBadRequests=false, chunked wins over Content-Length and the connection must close", () => {
    const f = frame(`${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n`, { reject: false });
    assert.equal(f.chunked, true);
    assert.equal(f.contentLength, -1);
    assert.equal(f.mustClose, true);
    // The escape hatch does not admit anything else.
    frameError(`${H}Content-Length: 5\r\nTransfer-Encoding: gzip\r\n`, BadRequestError, 400, { reject: false });
    frameError(`${H}Content-Length: 5\r\nTransfer-Encoding: gzip, chunked\r\n`, NotImplementedError, 501, {
      reject: false,
    });
    frameError(`${H}Content-Length: x\r\nTransfer-Encoding: chunked\r\n`, BadRequestError, 400, { reject: false });
    frameError(`${H}Content-Length: 5\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n`, BadRequestError, 400, {
      reject: false,
    });
  });
});

describe("Host (RFC 9112 §3.2, RFC 9110 §7.2)", () => {
  test("HTTP/1.1 needs exactly one Host", () => {
    frameError("", BadRequestError, 400);
    frameError("Host: a\r\nHost: a\r\n", BadRequestError, 400);
    frameError("host: a\r\nHOST: b\r\n", BadRequestError, 400);
    frameError("X-Host: a\r\n", BadRequestError, 400);
  });

  test("HTTP/1.0 may omit Host, but may not repeat it", () => {
    assert.equal(frame("", { version: "HTTP/1.0" }).contentLength, -1);
    frameError("Host: a\r\nHost: b\r\n", BadRequestError, 400, { version: "HTTP/1.0" });
    frameError("Host: a b\r\n", BadRequestError, 400, { version: "HTTP/1.0" });
  });

  test("valid Host values", () => {
    for (const host of [
      "example.com",
      "example.com:8080",
      "[::1]",
      "[::1]:80",
      "127.0.0.1:80",
      "",
      "a:",
      "xn--bcher-kva.example",
      "a_b.c~d%41",
      "[v1.fe80::a+en1]",
    ]) {
      assert.doesNotThrow(() => frame(`Host: ${host}\r\n`), host);
    }
  });

  test("invalid Host values are a 400", () => {
    for (const host of [
      "a b",
      "a/b",
      "a@b",
      "[::1",
      "[::1]x",
      "a:b",
      "a:80:80",
      "[]",
      "ex\xe9.com",
      "a\\b",
      "a?b",
      "a#b",
      "[::1]:8a",
      "a:-1",
      'a"b',
      "<a>",
    ]) {
      frameError(`Host: ${host}\r\n`, BadRequestError, 400);
    }
  });
});

describe("Expect and Connection", () => {
  test("Expect: 100-continue (case-insensitive) on HTTP/1.1 only (RFC 9110 §10.1.1)", () => {
    assert.equal(frame(`${H}Expect: 100-continue\r\n`).expectContinue, true);
    assert.equal(frame(`${H}expect: 100-Continue\r\n`).expectContinue, true);
    assert.equal(frame(`Expect: 100-continue\r\n`, { version: "HTTP/1.0" }).expectContinue, false);
    assert.equal(frame(`${H}Expect: 200-ok\r\n`).expectContinue, false);
  });

  test("Connection tokens, case-insensitive, in a list (RFC 9110 §7.6.1)", () => {
    const c = (value: string): [boolean, boolean] => {
      const f = frame(`${H}Connection: ${value}\r\n`);
      return [f.connectionClose, f.connectionKeepAlive];
    };
    assert.deepEqual(c("close"), [true, false]);
    assert.deepEqual(c("Close"), [true, false]);
    assert.deepEqual(c("keep-alive"), [false, true]);
    assert.deepEqual(c("Keep-Alive"), [false, true]);
    assert.deepEqual(c("upgrade, close"), [true, false]);
    assert.deepEqual(c("keep-alive,\tclose "), [true, true]);
    assert.deepEqual(c("closed"), [false, false]);
    assert.deepEqual(c("x-close"), [false, false]);
    assert.deepEqual(c(""), [false, false]);
    const f = frame(`${H}Connection: keep-alive\r\nConnection: close\r\n`);
    assert.equal(f.connectionClose && f.connectionKeepAlive, true);
    // NBSP is not OWS.
    const nb = requestFraming(
      head("HTTP/1.1", [
        ["Host", "x"],
        ["Connection", "close\xa0"],
      ]),
      true,
    );
    assert.equal(nb.connectionClose, false);
  });
});
