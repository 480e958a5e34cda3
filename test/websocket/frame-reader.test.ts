/**
 * The frame reader, sans-IO: every input whole, one byte at a time, and with trailing bytes;
 * fast-check properties over random frame sequences split anywhere.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { FrameReader, parseClosePayload, unmask, type Frame } from "../../src/websocket/frame-reader.js";
import { WebSocketProtocolError } from "../../src/websocket/errors.js";
import { clientFrame, closeBody, type ClientFrame } from "./raw-client.js";

type Outcome = {
  frames: { opcode: number; fin: boolean; compressed: boolean; payload: string }[];
  error: number | null;
};

/** Feeds `bytes` in pieces cut at `cuts`, reading after each piece. */
function feed(bytes: Buffer, cuts: number[], rsv1 = false, max = 1 << 20): Outcome {
  const reader = new FrameReader(rsv1, max);
  const frames: Outcome["frames"] = [];
  const points = [...new Set([0, ...cuts.filter((c) => c > 0 && c < bytes.length), bytes.length])].sort(
    (a, b) => a - b,
  );
  try {
    for (let i = 1; i < points.length; i++) {
      reader.push(Buffer.from(bytes.subarray(points[i - 1], points[i])));
      for (let f: Frame | null; (f = reader.read()) !== null;) {
        frames.push({ opcode: f.opcode, fin: f.fin, compressed: f.compressed, payload: f.payload.toString("hex") });
      }
    }
  } catch (err) {
    assert.ok(err instanceof WebSocketProtocolError, String(err));
    return { frames, error: err.closeCode };
  }
  return { frames, error: null };
}

const whole = (b: Buffer, rsv1?: boolean, max?: number): Outcome => feed(b, [], rsv1, max);
const byteByByte = (b: Buffer, rsv1?: boolean, max?: number): Outcome =>
  feed(
    b,
    Array.from({ length: b.length }, (_, i) => i),
    rsv1,
    max,
  );

function frames(...fs: ClientFrame[]): Buffer {
  return Buffer.concat(fs.map((f) => clientFrame(f)));
}

describe("frame reader", () => {
  test("a masked text frame is unmasked; whole and byte by byte agree", () => {
    const b = frames({ opcode: 1, payload: "Hello" });
    const want = {
      frames: [{ opcode: 1, fin: true, compressed: false, payload: Buffer.from("Hello").toString("hex") }],
      error: null,
    };
    assert.deepEqual(whole(b), want);
    assert.deepEqual(byteByByte(b), want);
  });

  test("trailing bytes of the next frame wait for the rest", () => {
    const b = frames({ opcode: 2, payload: Buffer.alloc(300, 1) }, { opcode: 1, payload: "next" });
    const cut = b.subarray(0, b.length - 2);
    const out = whole(cut);
    assert.equal(out.frames.length, 1);
    assert.equal(out.error, null);
  });

  test("unaligned payloads of every length unmask correctly", () => {
    for (let n = 0; n < 80; n++) {
      const payload = Buffer.from(Array.from({ length: n }, (_, i) => (i * 7) & 0xff));
      for (const offset of [0, 1, 2, 3]) {
        const b = Buffer.concat([Buffer.alloc(offset), frames({ opcode: 2, payload })]).subarray(offset);
        assert.equal(whole(b).frames[0]?.payload, payload.toString("hex"), `length ${n}, offset ${offset}`);
      }
    }
  });

  test("unmask agrees with a byte-by-byte XOR at every length and alignment", () => {
    const key = [0x12, 0x34, 0x56, 0x78] as const;
    for (let n = 0; n < 700; n += n < 300 ? 1 : 37) {
      for (const offset of [0, 1, 2, 3, 5]) {
        const store = Buffer.alloc(n + offset + 8);
        for (let i = 0; i < store.length; i++) store[i] = (i * 13) & 0xff;
        const payload = store.subarray(offset, offset + n);
        const want = Buffer.from(payload.map((b, i) => b ^ (key[i & 3] as number)));
        unmask(payload, ...key);
        assert.ok(payload.equals(want), `length ${n}, offset ${offset}`);
      }
    }
  });

  test("a declared length over the limit fails with 1009 from the header alone", () => {
    const b = frames({ opcode: 2, payload: Buffer.alloc(1000) }).subarray(0, 8);
    assert.equal(whole(b, false, 999).error, 1009);
  });

  test("a 64-bit length of 2^62 fails with 1009 before any payload, without allocating it", () => {
    const head = Buffer.from([0x82, 0xff, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
    assert.equal(whole(head).error, 1009);
    assert.equal(byteByByte(head).error, 1009);
  });

  test("errors are found from the first two bytes, before the rest arrives", () => {
    assert.equal(whole(Buffer.from([0x81, 0x05])).error, 1002, "unmasked");
    assert.equal(whole(Buffer.from([0x83, 0x80])).error, 1002, "reserved opcode");
    assert.equal(whole(Buffer.from([0x09, 0x80])).error, 1002, "fragmented ping");
    assert.equal(whole(Buffer.from([0x89, 0xfe])).error, 1002, "a ping of 126+ bytes");
    assert.equal(whole(Buffer.from([0xc1, 0x80])).error, 1002, "RSV1 without deflate");
    assert.equal(whole(Buffer.from([0xc1, 0x80]), true).error, null, "RSV1 with deflate");
    assert.equal(whole(Buffer.from([0xc9, 0x80]), true).error, 1002, "RSV1 on a ping");
  });

  test("the compressed flag of a message's first frame marks its continuations", () => {
    const b = frames({ opcode: 1, rsv1: true, fin: false, payload: "a" }, { opcode: 9 }, { opcode: 0, payload: "b" });
    const out = whole(b, true);
    assert.deepEqual(
      out.frames.map((f) => [f.opcode, f.compressed]),
      [
        [1, true],
        [9, false],
        [0, true],
      ],
    );
  });

  test("property: any valid frame sequence, cut anywhere, reads as the same frames", () => {
    const frameArb = fc.oneof(
      fc.record({
        opcode: fc.constantFrom(1, 2),
        payload: fc.uint8Array({ maxLength: 70000 }).map((u) => Buffer.from(u)),
      }),
      fc.record({
        opcode: fc.constantFrom(9, 10),
        payload: fc.uint8Array({ maxLength: 125 }).map((u) => Buffer.from(u)),
      }),
    );
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 20 }), (fs, cuts) => {
        const b = frames(...fs);
        const ref = whole(b);
        assert.equal(ref.error, null);
        assert.deepEqual(
          ref.frames.map((f) => f.payload),
          fs.map((f) => f.payload.toString("hex")),
        );
        assert.deepEqual(
          feed(
            b,
            cuts.map((c) => c % (b.length + 1)),
          ),
          ref,
        );
      }),
      { numRuns: 200 },
    );
  });

  test("property: random bytes never crash the reader; it returns frames or a close code", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 10 }), (u, cuts) => {
        const b = Buffer.from(u);
        const out = feed(
          b,
          cuts.map((c) => c % (b.length + 1)),
        );
        const ref = whole(b);
        assert.deepEqual(out, ref);
        if (out.error !== null) assert.ok([1002, 1009].includes(out.error));
      }),
      { numRuns: 500 },
    );
  });
});

describe("close payload", () => {
  test("codes and reasons", () => {
    assert.deepEqual(parseClosePayload(Buffer.alloc(0)), { code: 1005, reason: "" });
    assert.deepEqual(parseClosePayload(closeBody(1000, "bye")), { code: 1000, reason: "bye" });
    assert.deepEqual(parseClosePayload(closeBody(4999)), { code: 4999, reason: "" });
    assert.throws(() => parseClosePayload(Buffer.from([3])), { closeCode: 1002 });
    assert.throws(() => parseClosePayload(closeBody(1005)), { closeCode: 1002 });
    assert.throws(() => parseClosePayload(Buffer.concat([closeBody(1000), Buffer.from([0xc0, 0x80])])), {
      closeCode: 1007,
    });
  });
});
