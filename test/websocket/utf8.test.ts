/** Incremental UTF-8 validation: agrees with the whole-buffer check however the text is cut, and fails early. */

import assert from "node:assert/strict";
import { isUtf8 } from "node:buffer";
import { describe, test } from "node:test";
import fc from "fast-check";
import { Utf8Validator } from "../../src/websocket/utf8.js";

/** Pushes the pieces; the index of the first piece that failed, or -1 (and -2 when only finish() failed). */
function check(bytes: Buffer, cuts: number[]): number {
  const v = new Utf8Validator();
  const points = [...new Set([0, ...cuts, bytes.length])].filter((c) => c <= bytes.length).sort((a, b) => a - b);
  for (let i = 1; i < points.length; i++) if (!v.push(bytes.subarray(points[i - 1], points[i]))) return i - 1;
  return v.finish() ? -1 : -2;
}

const samples = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 40 }).map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)),
  fc
    .tuple(fc.string({ unit: "grapheme", maxLength: 20 }), fc.uint8Array({ minLength: 1, maxLength: 3 }))
    .map(([s, tail]) => Buffer.concat([Buffer.from(s), Buffer.from(tail)])),
);

describe("utf-8 validator", () => {
  test("property: valid overall exactly when isUtf8 says so, however the bytes are cut", () => {
    fc.assert(
      fc.property(samples, fc.array(fc.nat({ max: 50 }), { maxLength: 8 }), (bytes, cuts) => {
        assert.equal(check(bytes, cuts) === -1, isUtf8(bytes));
      }),
      { numRuns: 3000 },
    );
  });

  test("property: byte by byte, it fails at the first byte no continuation could mend", () => {
    fc.assert(
      fc.property(samples, (bytes) => {
        const at = check(
          bytes,
          Array.from({ length: bytes.length }, (_, i) => i),
        );
        if (at < 0) return;
        // Every prefix before the failing byte was still completable.
        const prefix = bytes.subarray(0, at);
        let completable = false;
        for (const tail of [[], [0x80], [0x80, 0x80], [0x80, 0x80, 0x80], [0xa0, 0x80], [0x90, 0x80, 0x80]]) {
          if (isUtf8(Buffer.concat([prefix, Buffer.from(tail)]))) completable = true;
        }
        assert.ok(completable, `prefix ${prefix.toString("hex")} was already hopeless`);
      }),
      { numRuns: 2000 },
    );
  });

  test("early failures on known bad prefixes", () => {
    for (const bad of ["f5", "ff", "c0", "c1", "e0 80", "ed a0", "f0 80", "f4 90", "80"]) {
      const v = new Utf8Validator();
      assert.equal(v.push(Buffer.from("ok κ")), true);
      assert.equal(v.push(Buffer.from(bad.replace(/ /g, ""), "hex")), false, bad);
    }
  });
});
