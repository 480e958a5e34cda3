/**
 * Response-head helpers (RFC 9112 §4, §6; RFC 9110 §5, §15): the checks
 * that keep an application from splitting a response, eventlet's header
 * capitalization, and the framing choice.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  Framing,
  HeaderRole,
  LAST_CHUNK,
  capitalizeHeaderName,
  checkHeaderName,
  checkStatus,
  chooseFraming,
  chunkHeader,
  isValidHeaderValue,
  mayCarryContentLength,
  responseHasNoBody,
} from "../../src/http1/response-head.js";

describe("checkStatus", () => {
  test("'200 OK'-shaped statuses give both status lines", () => {
    const s = checkStatus("200 OK");
    assert.deepEqual(s, { code: 200, line11: "HTTP/1.1 200 OK\r\n", line10: "HTTP/1.0 200 OK\r\n" });
    assert.equal(checkStatus("404 Not Found")?.code, 404);
    assert.equal(checkStatus("599 Custom \xe9\tReason")?.line11, "HTTP/1.1 599 Custom \xe9\tReason\r\n");
    assert.equal(checkStatus("100 Continue")?.code, 100);
  });

  test("a bare code gets an empty reason (status-line keeps its SP)", () => {
    assert.equal(checkStatus("204")?.line11, "HTTP/1.1 204 \r\n");
    assert.equal(checkStatus("200 ")?.line11, "HTTP/1.1 200 \r\n");
  });

  test("anything that could split or garble a response is refused", () => {
    for (const bad of [
      "",
      "OK",
      "20",
      "2000 OK",
      "099 X",
      "200OK",
      "200 OK\r\n",
      "200 OK\r\nX-Injected: 1",
      "200 OK\n",
      "200 \x00",
      "200 a\x7f",
      "200\tOK",
      " 200 OK",
      "200 \u0100",
      "2OO OK",
      "-200 OK",
    ]) {
      assert.equal(checkStatus(bad), null, JSON.stringify(bad));
    }
    assert.equal(checkStatus(200 as unknown as string), null);
  });

  test("the answer is stable across calls (cached)", () => {
    assert.equal(checkStatus("201 Created"), checkStatus("201 Created"));
  });
});

describe("header names", () => {
  test("eventlet's capitalization: each '-'-separated word upper-first, the rest lower", () => {
    assert.equal(capitalizeHeaderName("content-type"), "Content-Type");
    assert.equal(capitalizeHeaderName("x-foo-BAR"), "X-Foo-Bar");
    assert.equal(capitalizeHeaderName("WWW-AUTHENTICATE"), "Www-Authenticate");
    assert.equal(capitalizeHeaderName("a--b-"), "A--B-");
    assert.equal(capitalizeHeaderName("etag"), "Etag");
  });

  test("checkHeaderName keeps the name or capitalizes it, and knows the framing roles", () => {
    assert.deepEqual(checkHeaderName("content-length", true), {
      out: "Content-Length",
      role: HeaderRole.ContentLength,
    });
    assert.deepEqual(checkHeaderName("content-length", false), {
      out: "content-length",
      role: HeaderRole.ContentLength,
    });
    assert.equal(checkHeaderName("Transfer-Encoding", true)?.role, HeaderRole.TransferEncoding);
    assert.equal(checkHeaderName("CONNECTION", true)?.role, HeaderRole.Connection);
    assert.equal(checkHeaderName("date", true)?.role, HeaderRole.Date);
    assert.equal(checkHeaderName("Keep-Alive", true)?.role, HeaderRole.KeepAlive);
    assert.equal(checkHeaderName("X-Anything", true)?.role, HeaderRole.Other);
  });

  test("a name that is not a token is refused (no response splitting)", () => {
    for (const bad of ["", "a b", "a:b", "a\r\nb", "X-Foo\r\n", "\xe9", "a\x00", "a\tb", "(a)", "a/b", "a\u0100"]) {
      assert.equal(checkHeaderName(bad, true), null, JSON.stringify(bad));
      assert.equal(checkHeaderName(bad, false), null, JSON.stringify(bad));
    }
  });
});

describe("header values", () => {
  test("HTAB, SP, VCHAR and Latin-1 obs-text are allowed", () => {
    for (const ok of ["", "text/plain", "a\tb", " x ", "\xe9\xff\x80", '"quoted" (c) <x>']) {
      assert.equal(isValidHeaderValue(ok), true, JSON.stringify(ok));
    }
  });

  test("CR, LF, NUL, other controls, DEL and characters above U+00FF are refused", () => {
    for (const bad of [
      "a\r\nX: y",
      "a\nb",
      "a\rb",
      "a\x00",
      "\x01",
      "\x1f",
      "\x7f",
      "\u0100",
      "\u2028",
      "snow\u2603",
    ]) {
      assert.equal(isValidHeaderValue(bad), false, JSON.stringify(bad));
    }
  });
});

describe("framing", () => {
  test("no body for HEAD, 1xx, 204, 304 and 2xx to CONNECT (RFC 9110 §6.4.1, §9.3.6)", () => {
    assert.equal(responseHasNoBody("HEAD", 200), true);
    assert.equal(responseHasNoBody("GET", 100), true);
    assert.equal(responseHasNoBody("GET", 199), true);
    assert.equal(responseHasNoBody("GET", 204), true);
    assert.equal(responseHasNoBody("GET", 304), true);
    assert.equal(responseHasNoBody("CONNECT", 200), true);
    assert.equal(responseHasNoBody("CONNECT", 299), true);
    assert.equal(responseHasNoBody("CONNECT", 407), false);
    assert.equal(responseHasNoBody("GET", 200), false);
    assert.equal(responseHasNoBody("POST", 205), false);
    assert.equal(responseHasNoBody("get", 304), true);
    assert.equal(responseHasNoBody("head", 200), false); // methods are case-sensitive
  });

  test("no Content-Length on 1xx, 204 and 2xx to CONNECT; HEAD and 304 may carry one (RFC 9110 §8.6)", () => {
    for (const [method, code] of [
      ["GET", 100],
      ["GET", 101],
      ["GET", 199],
      ["GET", 204],
      ["CONNECT", 200],
      ["CONNECT", 299],
    ] as const) {
      assert.equal(mayCarryContentLength(method, code), false, `${method} ${code}`);
    }
    for (const [method, code] of [
      ["GET", 200],
      ["HEAD", 200],
      ["GET", 304],
      ["HEAD", 304],
      ["CONNECT", 407],
      ["POST", 205],
      ["GET", 500],
    ] as const) {
      assert.equal(mayCarryContentLength(method, code), true, `${method} ${code}`);
    }
  });

  test("every response that may not carry a Content-Length has no body either", () => {
    for (const method of ["GET", "HEAD", "CONNECT", "POST"]) {
      for (let code = 100; code < 600; code++) {
        if (!mayCarryContentLength(method, code))
          assert.equal(responseHasNoBody(method, code), true, `${method} ${code}`);
      }
    }
  });

  test("chooseFraming: none, then Content-Length, then chunked on 1.1, else close-delimited", () => {
    assert.equal(chooseFraming(true, true, true), Framing.None);
    assert.equal(chooseFraming(false, true, false), Framing.Length);
    assert.equal(chooseFraming(false, false, true), Framing.Chunked);
    assert.equal(chooseFraming(false, false, false), Framing.Close);
  });

  test("chunk-size lines are lower-case hex with CRLF; the last chunk has an empty trailer section", () => {
    assert.equal(chunkHeader(1), "1\r\n");
    assert.equal(chunkHeader(255), "ff\r\n");
    assert.equal(chunkHeader(4096), "1000\r\n");
    assert.equal(LAST_CHUNK, "0\r\n\r\n");
  });
});
