/**
 * Feeding helpers for the sans-IO parser tests. Every input is fed in
 * several ways — whole, one byte at a time, with trailing bytes, at an
 * offset inside a larger buffer, and cut at given points — and each way
 * must give the same outcome, the same head and the same end offset.
 */

import assert from "node:assert/strict";
import { HttpProtocolError } from "../../src/errors.js";
import { ChunkedDecoder, LengthDecoder, type BodyDecoder } from "../../src/http1/body-decoder.js";
import { RequestHeadParser, type HeadLimits, type RequestHead } from "../../src/http1/request-head.js";
import { MAX_HEADER_LINE, MAX_REQUEST_LINE, MAX_TOTAL_HEADER_SIZE } from "../../src/limits.js";

export const LIMITS: HeadLimits = {
  maxRequestLine: MAX_REQUEST_LINE,
  maxHeaderLine: MAX_HEADER_LINE,
  maxHeadersSize: MAX_TOTAL_HEADER_SIZE,
};

export const bytes = (s: string): Buffer => Buffer.from(s, "latin1");

/** What feeding a head gave: the head and where it ended, "more" (incomplete), or a protocol error. */
export type HeadOutcome =
  { kind: "head"; head: RequestHead; end: number } | { kind: "more" } | { kind: "error"; error: HttpProtocolError };

/** Anything but an HttpProtocolError escaping the parser is a bug: rethrown as is. */
function asProtocolError(err: unknown): HttpProtocolError {
  if (err instanceof HttpProtocolError) return err;
  throw err;
}

/**
 * Feeds `input` cut at `cuts` (ascending offsets), as a connection does:
 * each call sees all bytes received so far, from the head start, copied to a
 * fresh buffer at offset `pad` (so offsets must be relative to `start`).
 */
export function feedHead(input: Buffer, cuts: readonly number[], limits: HeadLimits = LIMITS, pad = 0): HeadOutcome {
  const parser = new RequestHeadParser(limits);
  const points = [...cuts.filter((c) => c > 0 && c < input.length), input.length];
  // With few cuts each call gets a fresh copy (the bytes move, as after Buffer.concat);
  // with many, one buffer is shared and only `end` grows (copying would be quadratic).
  const moving = points.length <= 8;
  const shared = moving ? null : Buffer.concat([Buffer.alloc(pad, 0x21), input]);
  for (const point of points) {
    let buf: Buffer;
    if (shared === null) {
      buf = Buffer.alloc(pad + point, 0x21);
      input.copy(buf, pad, 0, point);
    } else {
      buf = shared;
    }
    let end: number;
    try {
      end = parser.execute(buf, pad, pad + point);
    } catch (err) {
      return { kind: "error", error: asProtocolError(err) };
    }
    if (end >= 0) return { kind: "head", head: parser.head, end: end - pad };
  }
  return { kind: "more" };
}

export const everyByte = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

/** The feeding modes every case goes through, by name. */
export function headModes(input: Buffer, limits: HeadLimits = LIMITS): [string, HeadOutcome][] {
  const trailing = Buffer.concat([input, bytes("GET /next HTTP/1.1\r\n")]);
  const mid = Math.floor(input.length / 2);
  const modes: [string, HeadOutcome][] = [
    ["whole", feedHead(input, [], limits)],
    ["byte by byte", feedHead(input, everyByte(input.length), limits)],
    ["halves, at an offset", feedHead(input, [mid], limits, 7)],
  ];
  // With trailing bytes the head must end at the same offset; an incomplete head stays incomplete or fails the same way.
  const withTrailing = feedHead(trailing, [], limits);
  modes.push(["with trailing bytes", withTrailing]);
  return modes;
}

function describe(o: HeadOutcome): string {
  if (o.kind === "error") return `${o.error.name} ${o.error.status}`;
  return o.kind;
}

/** The head parses the same in every mode, ends at input.length, and equals `expected` (fields given). */
export function expectHead(
  input: string | Buffer,
  expected: Partial<RequestHead>,
  limits: HeadLimits = LIMITS,
): RequestHead {
  const buf = typeof input === "string" ? bytes(input) : input;
  let first: RequestHead | null = null;
  for (const [mode, outcome] of headModes(buf, limits)) {
    assert.equal(outcome.kind, "head", `${mode}: expected a head, got ${describe(outcome)}`);
    assert.equal(outcome.end, buf.length, `${mode}: head must end exactly at ${buf.length}`);
    for (const [k, v] of Object.entries(expected)) {
      assert.deepEqual(outcome.head[k as keyof RequestHead], v, `${mode}: ${k}`);
    }
    if (first === null) first = outcome.head;
    else assert.deepEqual(outcome.head, first, `${mode}: same head as whole`);
  }
  return first as RequestHead;
}

/** Every mode fails with `errorClass` and `status` (and the trailing-bytes mode too). */
export function expectHeadError(
  input: string | Buffer,
  errorClass: new (...args: never[]) => HttpProtocolError,
  status: number,
  limits: HeadLimits = LIMITS,
): void {
  const buf = typeof input === "string" ? bytes(input) : input;
  for (const [mode, outcome] of headModes(buf, limits)) {
    assert.equal(outcome.kind, "error", `${mode}: expected ${errorClass.name}, got ${describe(outcome)}`);
    assert.ok(outcome.error instanceof errorClass, `${mode}: expected ${errorClass.name}, got ${outcome.error.name}`);
    assert.equal(outcome.error.status, status, `${mode}: status`);
  }
}

/** Incomplete in every split mode (trailing bytes would complete or break it, so that mode is not checked). */
export function expectNeedsMore(input: string | Buffer, limits: HeadLimits = LIMITS): void {
  const buf = typeof input === "string" ? bytes(input) : input;
  assert.equal(feedHead(buf, [], limits).kind, "more", "whole");
  assert.equal(feedHead(buf, everyByte(buf.length), limits).kind, "more", "byte by byte");
}

/** Parses a complete head in one go (for framing tests); throws on anything else. */
export function parseHead(input: string): RequestHead {
  const o = feedHead(bytes(input), []);
  if (o.kind === "error") throw o.error;
  if (o.kind !== "head") throw new Error("incomplete head");
  return o.head;
}

// ---- body decoders ----

export type DecodeOutcome =
  | { kind: "done"; data: string; consumed: number }
  | { kind: "more"; data: string; consumed: number }
  | { kind: "error"; data: string; error: HttpProtocolError };

/**
 * Feeds `input` to a fresh decoder in pieces cut at `cuts`, as a connection
 * does: each call gets the bytes not consumed yet plus the new piece. A
 * decoder must take every byte it is given until it is done.
 */
export function feedBody(make: () => BodyDecoder, input: Buffer, cuts: readonly number[]): DecodeOutcome {
  const decoder = make();
  const points = [...cuts.filter((c) => c > 0 && c < input.length), input.length];
  const parts: Buffer[] = [];
  let consumed = 0;
  for (const point of points) {
    // Copy into a fresh buffer with a leading pad: data handed out must be views of what was passed.
    const chunk = Buffer.alloc(3 + point - consumed, 0x7e);
    input.copy(chunk, 3, consumed, point);
    let n: number;
    try {
      n = decoder.decode(chunk, 3, chunk.length, (d) => parts.push(Buffer.from(d)));
    } catch (err) {
      return { kind: "error", data: Buffer.concat(parts).toString("latin1"), error: asProtocolError(err) };
    }
    assert.ok(n >= 0 && n <= point - consumed, "consumed within what was given");
    if (!decoder.done) assert.equal(n, point - consumed, "a decoder that is not done takes every byte it is given");
    consumed += n;
    if (decoder.done) break;
  }
  const data = Buffer.concat(parts).toString("latin1");
  return decoder.done ? { kind: "done", data, consumed } : { kind: "more", data, consumed };
}

export function bodyModes(make: () => BodyDecoder, input: Buffer): [string, DecodeOutcome][] {
  const mid = Math.floor(input.length / 2);
  return [
    ["whole", feedBody(make, input, [])],
    ["byte by byte", feedBody(make, input, everyByte(input.length))],
    ["halves", feedBody(make, input, [mid])],
  ];
}

export const chunked = (): BodyDecoder => new ChunkedDecoder(LIMITS);
export const length = (n: number) => (): BodyDecoder => new LengthDecoder(n);

const TRAILING = "GET /next HTTP/1.1\r\n\r\n";

/** The body decodes to `data` in every mode, stops exactly at its end, and leaves trailing bytes alone. */
export function expectBody(make: () => BodyDecoder, input: string, data: string): void {
  const buf = bytes(input);
  for (const [mode, o] of [
    ...bodyModes(make, buf),
    ["with trailing bytes", feedBody(make, bytes(input + TRAILING), [])] as const,
  ]) {
    assert.equal(
      o.kind,
      "done",
      `${mode}: expected done, got ${o.kind}${o.kind === "error" ? ` (${o.error.message})` : ""}`,
    );
    assert.equal(o.data, data, `${mode}: data`);
    assert.equal(o.consumed, buf.length, `${mode}: must stop at the body's end`);
  }
}

/** Every mode fails with a protocol error of `errorClass`. */
export function expectBodyError(
  make: () => BodyDecoder,
  input: string | Buffer,
  errorClass: new (...args: never[]) => HttpProtocolError,
): void {
  const buf = typeof input === "string" ? bytes(input) : input;
  const trailing = Buffer.concat([buf, bytes(TRAILING)]);
  for (const [mode, o] of [...bodyModes(make, buf), ["with trailing bytes", feedBody(make, trailing, [])] as const]) {
    assert.equal(o.kind, "error", `${mode}: expected ${errorClass.name}, got ${o.kind}`);
    assert.ok(o.error instanceof errorClass, `${mode}: got ${o.error.name}`);
  }
}

/** Incomplete in every mode: the decoder takes all and waits. */
export function expectBodyNeedsMore(make: () => BodyDecoder, input: string, data: string): void {
  for (const [mode, o] of bodyModes(make, bytes(input))) {
    assert.equal(o.kind, "more", `${mode}: expected more, got ${o.kind}`);
    assert.equal(o.data, data, `${mode}: data so far`);
  }
}
