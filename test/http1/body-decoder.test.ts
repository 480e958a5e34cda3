/**
 * Body decoders (RFC 9112 §6.3, §7.1): fed whole, byte by byte, in halves
 * and with the next request behind them; they must stop exactly at the
 * body's end and take every byte before it.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ChunkReadError } from "../../src/errors.js";
import { ChunkedDecoder, EmptyDecoder, LengthDecoder, isValidChunkExtensions } from "../../src/http1/body-decoder.js";
import { MAX_CHUNK_LINE } from "../../src/limits.js";
import { LIMITS, bytes, chunked, expectBody, expectBodyError, expectBodyNeedsMore, feedBody, length } from "./feed.js";

describe("EmptyDecoder and LengthDecoder", () => {
  test("an empty body is done at once and takes nothing", () => {
    const d = new EmptyDecoder();
    assert.equal(d.done, true);
    assert.equal(d.decode(), 0);
  });

  test("exactly Content-Length bytes, then stop", () => {
    expectBody(length(5), "hello", "hello");
    expectBody(length(1), "\x00", "\x00");
    expectBody(length(12), "GET / HTTP/1", "GET / HTTP/1");
  });

  test("a length body that is short waits for the rest", () => {
    expectBodyNeedsMore(length(10), "hello", "hello");
  });

  test("data is handed out as views of the caller's buffer", () => {
    const buf = bytes("..hello..");
    const seen: Buffer[] = [];
    const d = new LengthDecoder(5);
    assert.equal(
      d.decode(buf, 2, buf.length, (b) => seen.push(b)),
      5,
    );
    assert.equal(seen[0]?.buffer, buf.buffer);
    assert.equal(d.done, true);
    assert.equal(
      d.decode(buf, 7, buf.length, () => assert.fail("no data after done")),
      0,
    );
  });
});

describe("chunked: sizes (RFC 9112 §7.1)", () => {
  test("one chunk, several chunks, upper- and lower-case hex, leading zeros", () => {
    expectBody(chunked, "5\r\nhello\r\n0\r\n\r\n", "hello");
    expectBody(chunked, "5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n", "hello world");
    expectBody(chunked, "A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n", "0123456789abcdefghij");
    expectBody(chunked, "0005\r\nhello\r\n000\r\n\r\n", "hello");
    expectBody(chunked, "0\r\n\r\n", "");
  });

  test("chunk data may hold CR, LF and what looks like a request", () => {
    expectBody(chunked, "12\r\n\r\nGET / HTTP/1.1\r\n\r\n0\r\n\r\n", "\r\nGET / HTTP/1.1\r\n");
  });

  test("HEXDIG only: no sign, no 0x, no whitespace before it, no empty size", () => {
    for (const size of ["-5", "+5", "0x5", "0X5", " 5", "\t5", "g", "", ";a", "5.0", "\xa05", "５"]) {
      expectBodyError(chunked, `${size}\r\nhello\r\n0\r\n\r\n`, ChunkReadError);
    }
  });

  test("whitespace after the size is only allowed before an extension (BWS ';')", () => {
    expectBodyError(chunked, "5 \r\nhello\r\n0\r\n\r\n", ChunkReadError);
    expectBodyError(chunked, "5\t\r\nhello\r\n0\r\n\r\n", ChunkReadError);
    expectBodyError(chunked, "5 5\r\nhello\r\n0\r\n\r\n", ChunkReadError);
    expectBody(chunked, "5 ;a\r\nhello\r\n0\t;b\r\n\r\n", "hello");
  });

  test("sizes beyond 2^53-1 are refused; the largest exact size is accepted", () => {
    expectBodyNeedsMore(chunked, "1fffffffffffff\r\nab", "ab");
    for (const size of ["20000000000000", "fffffffffffffffff", "10000000000000000000000000000000"]) {
      expectBodyError(chunked, `${size}\r\nab`, ChunkReadError);
    }
  });

  test("many leading zeros are fine up to the chunk-line limit, then refused", () => {
    expectBody(chunked, `${"0".repeat(100)}5\r\nhello\r\n0\r\n\r\n`, "hello");
    expectBodyError(chunked, `${"0".repeat(MAX_CHUNK_LINE + 1)}5\r\nhello\r\n0\r\n\r\n`, ChunkReadError);
  });
});

describe("chunked: line endings", () => {
  test("the size line ends in CRLF: LF alone, CR alone, or CR CR are refused", () => {
    for (const input of [
      "5\nhello\r\n0\r\n\r\n",
      "5\rhello\r\n0\r\n\r\n",
      "5\r\rhello\r\n0\r\n\r\n",
      "5;a\nhello\r\n0\r\n\r\n",
      "5;a\rhello\r\n0\r\n\r\n",
      '5;a="b\nc"\r\nhello\r\n0\r\n\r\n',
    ]) {
      expectBodyError(chunked, input, ChunkReadError);
    }
  });

  test("chunk data is followed by CRLF exactly", () => {
    for (const input of [
      "5\r\nhelloX\r\n0\r\n\r\n",
      "5\r\nhello\n0\r\n\r\n",
      "5\r\nhello\r0\r\n\r\n",
      "5\r\nhello0\r\n\r\n",
      "3\r\nhello\r\n0\r\n\r\n",
      "5\r\nhello\r\r\n0\r\n\r\n",
    ]) {
      expectBodyError(chunked, input, ChunkReadError);
    }
  });

  test("the last chunk's line and the end of the trailer section need CRLF", () => {
    for (const input of [
      "0\n\r\n",
      "0\r\n\n",
      "0\r\r\n\r\n",
      "0\r\n\r\r\n",
      "0\r\n\rX\r\n\r\n",
      "0\r\nA: b\n\r\n",
      "0\r\nA: b\r\n\n",
    ]) {
      expectBodyError(chunked, input, ChunkReadError);
    }
  });
});

describe("chunked: extensions (RFC 9112 §7.1.1), checked and dropped", () => {
  test("valid extensions", () => {
    for (const ext of [
      ";a",
      ";a=b",
      ';a="q s"',
      " ;a",
      "; a = b",
      ";a;b=c;d",
      ';a="b\\"c"',
      ';a="\xe9\t"',
      ";a=b ;c",
      ";!#$%&'*+-.^_`|~=x",
      ';a=""',
    ]) {
      expectBody(chunked, `5${ext}\r\nhello\r\n0${ext}\r\n\r\n`, "hello");
      assert.equal(isValidChunkExtensions(ext), true, ext);
    }
  });

  test("malformed extensions are refused", () => {
    for (const ext of [
      ";",
      ";=b",
      ";a=",
      ';a="b',
      ";a b",
      ";a=b c",
      ';a="\x00"',
      ';a="b"c',
      ";a\x7f",
      ";a@",
      ";a=b;",
      ";;a",
      ';a="b\\',
      "; ",
      ";a=(b)",
      ";a,b",
      ';"a"',
      ";a=b=c",
      ";a\x01",
      ";a=\x00",
      "x",
      ';a="\x7f"',
    ]) {
      expectBodyError(chunked, `5${ext}\r\nhello\r\n0\r\n\r\n`, ChunkReadError);
      assert.equal(isValidChunkExtensions(ext), false, JSON.stringify(ext));
    }
  });

  test("a chunk line longer than the limit is refused, extensions included", () => {
    const long = `;a="${"x".repeat(MAX_CHUNK_LINE)}"`;
    expectBodyError(chunked, `5${long}\r\nhello\r\n0\r\n\r\n`, ChunkReadError);
    const fits = `;a="${"x".repeat(MAX_CHUNK_LINE - 10)}"`;
    expectBody(chunked, `5${fits}\r\nhello\r\n0\r\n\r\n`, "hello");
  });
});

describe("chunked: trailers (RFC 9112 §7.1.2), checked like headers and dropped", () => {
  test("valid trailer fields are read and dropped", () => {
    expectBody(chunked, "5\r\nhello\r\n0\r\nA: b\r\n\r\n", "hello");
    expectBody(chunked, "0\r\nA: b\r\nX-Checksum:\tabc \r\nEmpty:\r\n\r\n", "");
  });

  test("a trailer that is not a field line is refused: request line, obs-fold, space before colon, NUL, empty name", () => {
    for (const line of [
      "GET /admin HTTP/1.1",
      " folded",
      "\tfolded",
      "A : b",
      ": b",
      "A: b\x00",
      "A: \rb",
      "A",
      "A B: c",
      "Transfer-Encoding : chunked",
    ]) {
      expectBodyError(chunked, `0\r\n${line}\r\n\r\n`, ChunkReadError);
    }
    expectBodyError(chunked, "0\r\nA: b\r\n c\r\n\r\n", ChunkReadError);
  });

  test("a trailer line of 8192 bytes or more is refused; the section is limited to 65536 bytes", () => {
    const field = (n: number): string => `X: ${"v".repeat(n - 5)}\r\n`;
    expectBody(chunked, `0\r\n${field(8191)}\r\n`, "");
    expectBodyError(chunked, `0\r\n${field(8192)}\r\n`, ChunkReadError);
    expectBodyError(chunked, `0\r\n${"v".repeat(9000)}`, ChunkReadError); // before its end
    expectBody(chunked, `0\r\n${field(8000).repeat(8)}${field(1534)}\r\n`, "");
    expectBodyError(chunked, `0\r\n${field(8000).repeat(8)}${field(1535)}\r\n`, ChunkReadError);
  });

  test("the trailer limits come from the configured head limits", () => {
    const small = () => new ChunkedDecoder({ maxHeaderLine: 16, maxHeadersSize: 20 });
    expectBody(small, "0\r\nA: 123456789\r\n\r\n", ""); // 14 + 2 bytes
    expectBodyError(small, "0\r\nA: 1234567890a\r\n\r\n", ChunkReadError); // a 16-byte line
    expectBodyError(small, "0\r\nA: 1234\r\nB: 1234\r\nC: 1\r\n\r\n", ChunkReadError); // 9+9+6+2 > 20
  });
});

describe("chunked: incomplete bodies wait, finished ones stop", () => {
  test("partial bodies need more, with the data so far", () => {
    expectBodyNeedsMore(chunked, "5", "");
    expectBodyNeedsMore(chunked, "5\r", "");
    expectBodyNeedsMore(chunked, "5\r\nhel", "hel");
    expectBodyNeedsMore(chunked, "5\r\nhello", "hello");
    expectBodyNeedsMore(chunked, "5\r\nhello\r\n", "hello");
    expectBodyNeedsMore(chunked, '5;a="b', "");
    expectBodyNeedsMore(chunked, "0\r\n", "");
    expectBodyNeedsMore(chunked, "0\r\nA: b\r\n", "");
    expectBodyNeedsMore(chunked, "0\r\n\r", "");
  });

  test("after the final CRLF nothing more is taken, even a call later", () => {
    const d = new ChunkedDecoder(LIMITS);
    const input = bytes("0\r\n\r\nGET / HTTP/1.1\r\n\r\n");
    assert.equal(
      d.decode(input, 0, input.length, () => undefined),
      5,
    );
    assert.equal(d.done, true);
    assert.equal(
      d.decode(input, 5, input.length, () => assert.fail("done")),
      0,
    );
  });

  test("the next request after a chunked body (the eventlet trailer smuggling, CVE-2025-58068) is left alone", () => {
    const o = feedBody(chunked, bytes("5\r\nhello\r\n0\r\n\r\nGET /admin HTTP/1.1\r\n\r\n"), []);
    assert.deepEqual(o, { kind: "done", data: "hello", consumed: 15 });
  });
});
