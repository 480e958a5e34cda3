/**
 * Property tests (fast-check) of the sans-IO parser:
 * - a byte stream gives the same outcome however it is cut: the same heads,
 *   bodies and ending, or the same error class and status;
 * - nothing but an HttpProtocolError ever escapes, and every call returns;
 * - well-formed requests read back as they were written.
 * Default runs are small and seeded; FUZZ_RUNS=200000 (and FUZZ_SEED) for a
 * long session, see test/hostile/README.md.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { HttpProtocolError } from "../../src/errors.js";
import { ChunkedDecoder, LengthDecoder } from "../../src/http1/body-decoder.js";
import { runStream, type StreamOutcome } from "./driver.js";
import { LIMITS, feedBody, feedHead, type DecodeOutcome, type HeadOutcome } from "./feed.js";
import {
  byteSoup,
  cutsFor,
  expected,
  fuzzRuns,
  fuzzSeed,
  genRequest,
  keepsAlive,
  mutatedPipeline,
  randomBytes,
  serialize,
} from "./generate.js";
import { itemAt } from "../support/item-at.js";

const params = (runs: number): fc.Parameters<unknown> => {
  const seed = fuzzSeed();
  return { numRuns: fuzzRuns(runs), ...(seed === undefined ? { seed: 20250917 } : { seed }) };
};

const small = { maxRequestLine: 64, maxHeaderLine: 48, maxHeadersSize: 160 };

function sameHead(a: HeadOutcome, b: HeadOutcome): void {
  assert.equal(b.kind, a.kind);
  if (a.kind === "head" && b.kind === "head") {
    assert.equal(b.end, a.end);
    assert.deepEqual(b.head, a.head);
  }
  if (a.kind === "error" && b.kind === "error") {
    assert.equal(b.error.constructor, a.error.constructor);
    assert.equal(b.error.status, a.error.status);
  }
}

function sameBody(a: DecodeOutcome, b: DecodeOutcome): void {
  assert.equal(b.kind, a.kind);
  assert.equal(b.data, a.data);
  if (a.kind !== "error" && b.kind !== "error") assert.equal(b.consumed, a.consumed);
  if (a.kind === "error" && b.kind === "error") assert.equal(b.error.constructor, a.error.constructor);
}

function sameStream(a: StreamOutcome, b: StreamOutcome): void {
  assert.deepEqual(b, a);
}

/** Inputs with their cut points. */
const withCuts = (bytes: fc.Arbitrary<Buffer>): fc.Arbitrary<[Buffer, number[]]> =>
  bytes.chain((b) => cutsFor(b.length).map((c): [Buffer, number[]] => [b, c]));

test("head parser: byte soups give the same outcome whole, cut anywhere, or byte by byte", () => {
  fc.assert(
    fc.property(withCuts(byteSoup), fc.boolean(), ([input, cuts], useSmall) => {
      const limits = useSmall ? small : LIMITS;
      const whole = feedHead(input, [], limits); // rethrows anything but an HttpProtocolError
      sameHead(whole, feedHead(input, cuts, limits));
      sameHead(
        whole,
        feedHead(
          input,
          Array.from({ length: input.length }, (_, i) => i + 1),
          limits,
        ),
      );
      if (whole.kind === "head") assert.ok(whole.end <= input.length);
    }),
    params(400),
  );
});

test("head parser: random bytes never throw anything but an HttpProtocolError", () => {
  fc.assert(
    fc.property(withCuts(randomBytes), ([input, cuts]) => {
      sameHead(feedHead(input, []), feedHead(input, cuts));
    }),
    params(300),
  );
});

test("stream: mutated pipelines give the same requests and ending however they are cut", () => {
  fc.assert(
    fc.property(
      mutatedPipeline.chain((m) => cutsFor(m.mutated.length).map((c) => [m, c] as const)),
      fc.boolean(),
      ([m, cuts], reject) => {
        const whole = runStream(m.mutated, [], { rejectBadRequests: reject });
        sameStream(whole, runStream(m.mutated, cuts, { rejectBadRequests: reject }));
        if (whole.end === "error") assert.ok(whole.status !== undefined && [400, 414, 501, 505].includes(whole.status));
      },
    ),
    params(300),
  );
});

test("stream: byte soups give the same outcome however they are cut, with small limits too", () => {
  fc.assert(
    fc.property(withCuts(byteSoup), fc.boolean(), ([input, cuts], useSmall) => {
      const opts = useSmall ? { limits: small } : {};
      sameStream(runStream(input, [], opts), runStream(input, cuts, opts));
    }),
    params(300),
  );
});

test("stream: well-formed pipelines read back exactly as written, whole and byte by byte", () => {
  fc.assert(
    fc.property(fc.array(genRequest, { minLength: 1, maxLength: 3 }), fc.boolean(), (reqs, closeLast) => {
      const wire = Buffer.from(reqs.map((r, i) => serialize(r, closeLast && i === reqs.length - 1)).join(""), "latin1");
      // Requests after one that closes the connection are never read.
      const want = [];
      let end: StreamOutcome["end"] = "more";
      for (let i = 0; i < reqs.length; i++) {
        const r = itemAt(reqs, i);
        const close = closeLast && i === reqs.length - 1;
        want.push(expected(r, close));
        if (close || !keepsAlive(r)) {
          end = "closed";
          break;
        }
      }
      const whole = runStream(wire, []);
      assert.deepEqual(whole, { requests: want, end });
      sameStream(
        whole,
        runStream(
          wire,
          Array.from({ length: wire.length }, (_, i) => i + 1),
        ),
      );
    }),
    params(300),
  );
});

test("chunked decoder: byte soups and random bytes decode the same however they are cut", () => {
  const soup = fc.oneof(
    byteSoup,
    randomBytes,
    byteSoup.map((b) => Buffer.concat([Buffer.from("5\r\nhello\r\n"), b])),
  );
  fc.assert(
    fc.property(withCuts(soup), ([input, cuts]) => {
      const make = (): ChunkedDecoder => new ChunkedDecoder(LIMITS);
      const whole = feedBody(make, input, []);
      sameBody(whole, feedBody(make, input, cuts));
      sameBody(
        whole,
        feedBody(
          make,
          input,
          Array.from({ length: input.length }, (_, i) => i + 1),
        ),
      );
      if (whole.kind === "error") assert.ok(whole.error instanceof HttpProtocolError && whole.error.status === 400);
    }),
    params(400),
  );
});

test("length decoder: takes exactly its length whatever the cuts", () => {
  fc.assert(
    fc.property(withCuts(randomBytes), fc.nat(250), ([input, cuts], n) => {
      const make = (): LengthDecoder => new LengthDecoder(n);
      const whole = feedBody(make, input, []);
      sameBody(whole, feedBody(make, input, cuts));
      if (n <= input.length)
        assert.deepEqual(whole, { kind: "done", data: input.subarray(0, n).toString("latin1"), consumed: n });
      else assert.equal(whole.kind, "more");
    }),
    params(200),
  );
});
