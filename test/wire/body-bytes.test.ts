/**
 * The bytes an application yields or writes are the bytes the client gets,
 * even when the application reuses its buffer: gathered chunks, the
 * connection's output batch and the socket all hold chunks for a while.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { App } from "../../src/index.js";
import { parseAll, rawExchange, withServer } from "../support/wire.js";

const GET_CLOSE = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
const SIZE = 8 * 1024;
const LETTERS = "abcde";
const BIG = 256 * 1024;
const WRITES = 40;

function expected(): string {
  let s = "";
  for (const l of LETTERS) s += l.repeat(SIZE);
  return s;
}

test("a generator refilling one buffer with chunks above minimumChunkSize: each chunk arrives as yielded", async () => {
  const app: App = (_env, sr) => {
    sr("200 OK", [["Content-Type", "application/octet-stream"]]);
    return (function* () {
      const buf = Buffer.alloc(SIZE * 2);
      for (const letter of LETTERS) {
        buf.fill(letter);
        yield buf.subarray(0, SIZE); // ≥ minimumChunkSize: framed at once, but the output is batched
      }
    })();
  };
  await withServer(app, { minimumChunkSize: 4096 }, async (s) => {
    const r = await rawExchange(s.port, GET_CLOSE);
    const [res] = parseAll(r.data);
    assert.equal(res!.body.toString("latin1"), expected());
  });
});

test("an async generator refilling one buffer: each chunk arrives as yielded", async () => {
  const app: App = (_env, sr) => {
    sr("200 OK", [["Content-Type", "application/octet-stream"]]);
    return (async function* () {
      const buf = Buffer.alloc(100);
      for (const letter of LETTERS) {
        buf.fill(letter);
        yield buf.subarray(0, 10);
      }
    })();
  };
  await withServer(app, {}, async (s) => {
    const r = await rawExchange(s.port, GET_CLOSE);
    const [res] = parseAll(r.data);
    assert.equal(res!.body.toString("latin1"), "aaaaaaaaaabbbbbbbbbbccccccccccddddddddddeeeeeeeeee");
  });
});

test("write() of a buffer the application refills at once: what was written arrives", async () => {
  const app: App = (_env, sr) => {
    const write = sr("200 OK", [["Content-Type", "application/octet-stream"]]);
    const buf = Buffer.alloc(BIG);
    // Many writes in one go, more than the kernel takes: the socket holds the rest while the application refills.
    for (let i = 0; i < WRITES; i++) {
      buf.fill(LETTERS[i % LETTERS.length]!);
      void write(buf);
    }
    return [];
  };
  await withServer(app, {}, async (s) => {
    const r = await rawExchange(s.port, GET_CLOSE, { timeoutMs: 5000 });
    const [res] = parseAll(r.data);
    assert.equal(res!.body.length, BIG * WRITES);
    for (let i = 0; i < WRITES; i++) {
      const piece = res!.body.subarray(i * BIG, (i + 1) * BIG);
      const letter = LETTERS.charCodeAt(i % LETTERS.length);
      assert.ok(piece[0] === letter && piece[BIG - 1] === letter, `write ${i} arrives as it was when written`);
    }
  });
});
