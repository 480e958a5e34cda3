/** The message builder: limits on the whole message, UTF-8 across pieces, memory per byte not per piece. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MessageBuilder } from "../../src/websocket/message-builder.js";
import { WebSocketProtocolError } from "../../src/websocket/errors.js";

describe("message builder", () => {
  test("a hundred thousand 1-byte pieces make one message in one buffer of at most twice its size", () => {
    const b = new MessageBuilder(1 << 20);
    b.begin(false);
    for (let i = 0; i < 100_000; i++) b.append(Buffer.from([i & 0xff]));
    const storage = (b as unknown as { storage: Buffer }).storage;
    assert.ok(storage.length <= 2 * 100_000, `storage of ${storage.length} bytes`);
    const m = b.finish() as Buffer;
    assert.equal(m.length, 100_000);
    assert.equal(m[99_999], 99_999 & 0xff);
  });

  test("the limit is the whole message's: the piece that passes it fails with 1009", () => {
    const b = new MessageBuilder(10);
    b.begin(false);
    b.append(Buffer.alloc(6));
    assert.equal(b.remaining, 4);
    assert.throws(
      () => {
        b.append(Buffer.alloc(5));
      },
      (err: unknown) => err instanceof WebSocketProtocolError && err.closeCode === 1009,
    );
  });

  test("text: a code point cut between pieces is whole; a bad byte fails at once with 1007", () => {
    const b = new MessageBuilder(100);
    b.begin(true);
    b.append(Buffer.from([0xe2, 0x82]));
    b.append(Buffer.from([0xac, 0x21]));
    assert.equal(b.finish(), "€!");
    b.begin(true);
    assert.throws(
      () => {
        b.append(Buffer.from([0x61, 0xc0]));
      },
      (err: unknown) => err instanceof WebSocketProtocolError && err.closeCode === 1007,
    );
  });

  test("text that ends inside a sequence fails at the end with 1007", () => {
    const b = new MessageBuilder(100);
    b.begin(true);
    b.append(Buffer.from([0x61, 0xe2, 0x82]));
    assert.throws(
      () => b.finish(),
      (err: unknown) => err instanceof WebSocketProtocolError && err.closeCode === 1007,
    );
  });
});
