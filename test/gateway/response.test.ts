/**
 * The Exchange's handling of the application's body, against the in-memory
 * host: what the application yields is what the client gets.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { App } from "../../src/index.js";
import { parseAll } from "../support/wire.js";
import { call } from "./harness.js";

function only(text: string) {
  const responses = parseAll(Buffer.from(text, "latin1"));
  assert.equal(responses.length, 1, `exactly one response expected:\n${text}`);
  return responses[0]!;
}

test("a generator refilling one buffer: each chunk is sent as it was yielded (PEP 3333 bytes are immutable)", async () => {
  const app: App = (_env, sr) => {
    sr("200 OK", [["Content-Type", "application/octet-stream"]]);
    return (function* () {
      const buf = Buffer.alloc(64);
      for (const letter of "abcde") {
        buf.fill(letter);
        yield buf.subarray(0, 10); // far below minimumChunkSize: gathered, not yet written
      }
    })();
  };
  const c = await call(app);
  assert.equal(only(c.host.text).body.toString("latin1"), "aaaaaaaaaabbbbbbbbbbccccccccccddddddddddeeeeeeeeee");
});
