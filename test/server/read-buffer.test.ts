/**
 * The read buffer: bytes trickled in small pieces are accumulated with
 * amortised linear copying (not a concat of everything per chunk), and
 * bytes already handed out as views are never overwritten.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { ReadBuffer } from "../../src/http1/read-buffer.js";

test("a 73 KB head trickled 7 bytes at a time is copied a bounded number of times per byte", () => {
  const rb = new ReadBuffer();
  const total = 73 * 1024;
  const piece = 7;
  const expected = Buffer.alloc(total);
  for (let i = 0; i < total; i++) expected[i] = i % 251;
  for (let at = 0; at < total; at += piece) rb.append(Buffer.from(expected.subarray(at, Math.min(total, at + piece))));
  assert.equal(rb.length, total);
  assert.deepEqual(Buffer.from((rb.bytes as Buffer).subarray(rb.start, rb.end)), expected);
  // Concat-per-chunk would copy ~total²/(2·piece) ≈ 390 MB here.
  assert.ok(rb.bytesCopied <= 3 * total, `copied ${rb.bytesCopied} bytes for ${total}`);
});

test("pipelined bytes consumed as they arrive keep copying linear", () => {
  const rb = new ReadBuffer();
  let appended = 0;
  // Each round: 100 small pieces in, then most of what is there consumed (a request read).
  for (let round = 0; round < 200; round++) {
    for (let i = 0; i < 100; i++) {
      rb.append(Buffer.alloc(13, round));
      appended += 13;
    }
    rb.advance(rb.length - 5);
  }
  assert.ok(rb.bytesCopied <= 3 * appended, `copied ${rb.bytesCopied} bytes for ${appended}`);
});

test("views handed out stay intact when more bytes arrive, and when the store grows", () => {
  const rb = new ReadBuffer();
  rb.append(Buffer.from("abc"));
  rb.append(Buffer.from("def")); // joined into an owned store
  const store = rb.bytes as Buffer;
  const view = store.subarray(rb.start, rb.start + 4); // "abcd", as a body decoder hands out
  rb.advance(4);
  rb.append(Buffer.from("ghi")); // into the spare room past end
  assert.equal(view.toString(), "abcd");
  rb.append(Buffer.alloc(10000, 0x7a)); // must grow: a new store
  assert.equal(view.toString(), "abcd");
  assert.notEqual(rb.bytes, store);
  assert.equal((rb.bytes as Buffer).subarray(rb.start, rb.start + 5).toString(), "efghi");
  assert.equal(rb.length, 5 + 10000);
});

test("a single chunk is used in place; take() returns the rest and empties", () => {
  const rb = new ReadBuffer();
  const chunk = Buffer.from("GET / HTTP/1.1\r\n\r\nrest");
  rb.append(chunk);
  assert.equal(rb.bytes, chunk);
  assert.equal(rb.bytesCopied, 0);
  rb.advance(18);
  assert.equal(rb.take()?.toString(), "rest");
  assert.equal(rb.empty, true);
  rb.append(Buffer.from("x"));
  rb.advance(1);
  assert.equal(rb.empty, true);
  assert.equal(rb.bytes, null);
});
