/** http1/body-encoder.ts: what goes around body bytes for each framing, and the Content-Length checks. */

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ContentLengthExceededError,
  Framing,
  encodeBodyEnd,
  encodeDataEnd,
  encodeDataStart,
  lengthShortfall,
} from "../../src/http1/body-encoder.js";

test("chunked: a size line before, CRLF after, the last-chunk at the end", () => {
  const state = { bodyFraming: Framing.Chunked, remaining: -1 };
  assert.equal(encodeDataStart(state, 300, -1), "12c\r\n");
  assert.equal(encodeDataEnd(Framing.Chunked), "\r\n");
  assert.equal(encodeBodyEnd(Framing.Chunked), "0\r\n\r\n");
  assert.equal(lengthShortfall(state), 0);
});

test("Content-Length: bytes counted off; more than declared throws; less is a shortfall", () => {
  const state = { bodyFraming: Framing.Length, remaining: 10 };
  assert.equal(encodeDataStart(state, 4, 10), "");
  assert.equal(state.remaining, 6);
  assert.equal(lengthShortfall(state), 6);
  assert.throws(() => encodeDataStart(state, 7, 10), ContentLengthExceededError);
  assert.equal(encodeDataStart(state, 6, 10), "");
  assert.equal(lengthShortfall(state), 0);
  assert.equal(encodeDataEnd(Framing.Length), "");
  assert.equal(encodeBodyEnd(Framing.Length), "");
});

test("no body: bytes dropped; close-delimited: bytes as they are", () => {
  assert.equal(encodeDataStart({ bodyFraming: Framing.None, remaining: 0 }, 5, -1), null);
  assert.equal(encodeDataStart({ bodyFraming: Framing.Close, remaining: -1 }, 5, -1), "");
  assert.equal(encodeBodyEnd(Framing.Close), "");
  assert.equal(encodeBodyEnd(Framing.None), "");
});
