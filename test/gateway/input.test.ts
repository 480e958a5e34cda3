/**
 * wsgi.input alone, against a stand-in connection: read(n), readline,
 * readlines, iteration and discard over bodies pushed in every split, calls
 * started without awaiting each (answered in call order), failures, the
 * copy-free paths (a view of the received chunk when the bytes lie in one),
 * and the connection told to read on when a call waits. The wire tests
 * (test/wire/input.test.ts) cover the same calls through real sockets.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { Input, type InputSource } from "../../src/gateway/input.js";

class Source implements InputSource {
  consumedCalls = 0;
  finalResponseStarted = false;
  capitalizeResponseHeaders = true;
  interim: string[] = [];
  writeInterim(response: string): void {
    this.interim.push(response);
  }
  expectAnotherBody(): void {}
  consumed(): void {
    this.consumedCalls++;
  }
  takeSocket(): unknown {
    return null;
  }
}

function input(continueExpected = false): { input: Input; source: Source } {
  const source = new Source();
  return { input: new Input(source, continueExpected, false), source };
}

/** Lets every pending promise reaction run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test("read(n) waits for n bytes across chunks, then answers them joined; the rest stays queued", async () => {
  const { input: inp } = input();
  let got = "";
  void inp.read(6).then((b) => (got = b.toString()));
  inp.push(Buffer.from("abc"));
  await settle();
  assert.equal(got, "");
  inp.push(Buffer.from("defgh"));
  await settle();
  assert.equal(got, "abcdef");
  assert.equal(inp.buffered, 2);
  inp.end();
  assert.equal((await inp.read(100)).toString(), "gh");
  assert.equal((await inp.read(100)).length, 0);
});

test("bytes already buffered in one chunk are answered as a view of it, without a copy", async () => {
  const { input: inp } = input();
  const chunk = Buffer.from("0123456789");
  inp.push(chunk);
  const a = await inp.read(4);
  assert.equal(a.buffer, chunk.buffer);
  assert.equal(a.byteOffset, chunk.byteOffset);
  const b = await inp.read(6);
  assert.equal(b.buffer, chunk.buffer);
  assert.equal(b.toString(), "456789");
  inp.push(chunk);
  const it = inp[Symbol.asyncIterator]();
  const r = await it.next();
  assert.equal(r.value, chunk, "iteration hands over the received chunk itself");
});

test("calls started without awaiting each are answered in call order", async () => {
  const { input: inp } = input();
  const order: string[] = [];
  const p1 = inp.read(3).then((b) => (order.push(`read3:${b.toString()}`), b));
  const p2 = inp.readline().then((b) => (order.push(`line:${b.toString()}`), b));
  const p3 = inp.readlines().then((l) => (order.push(`lines:${l.map(String).join("|")}`), l));
  const p4 = inp.read().then((b) => (order.push(`rest:${b.toString()}`), b));
  for (const c of "abcde\nf\ng\nh") inp.push(Buffer.from(c));
  inp.end();
  await Promise.all([p1, p2, p3, p4]);
  assert.deepEqual(order, ["read3:abc", "line:de\n", "lines:f\n|g\n|h", "rest:"]);
});

test("a waiting call asks the connection to read on (it may have paused for the high-water mark)", async () => {
  const { input: inp, source } = input();
  const before = source.consumedCalls;
  const p = inp.read(4);
  assert.ok(source.consumedCalls > before);
  assert.equal(inp.waiting, true);
  inp.push(Buffer.from("abcd"));
  assert.equal(inp.waiting, false);
  assert.equal((await p).toString(), "abcd");
});

test("a failure rejects the calls that cannot finish; bytes that were there first are still answered", async () => {
  const { input: inp } = input();
  inp.push(Buffer.from("ab"));
  const ok = inp.read(2);
  const waiting = inp.read(5);
  const after = inp.readline();
  const err = new Error("client gone");
  inp.fail(err);
  assert.equal((await ok).toString(), "ab");
  await assert.rejects(waiting, err);
  await assert.rejects(after, err);
  await assert.rejects(inp.read(1), err);
  await assert.rejects(inp[Symbol.asyncIterator]().next(), err);
  await assert.rejects(inp.discard(), err);
});

test("iteration yields each chunk as it arrives, then ends; return() ends it early", async () => {
  const { input: inp } = input();
  const seen: string[] = [];
  const done = (async () => {
    for await (const chunk of inp) seen.push(chunk.toString());
  })();
  inp.push(Buffer.from("one"));
  await settle();
  inp.push(Buffer.from("two"));
  inp.push(Buffer.from("three"));
  inp.end();
  await done;
  assert.deepEqual(seen, ["one", "two", "three"]);

  const second = input().input;
  second.push(Buffer.from("x"));
  second.push(Buffer.from("y"));
  for await (const chunk of second) {
    assert.equal(chunk.toString(), "x");
    break;
  }
  second.end();
  assert.equal((await second.read()).toString(), "y", "a loop left early leaves the rest for the next reader");
});

test("discard() drops what is queued and what comes, and resolves at the end of the body", async () => {
  const { input: inp } = input();
  inp.push(Buffer.from("abc"));
  let over = false;
  const p = inp.discard().then(() => (over = true));
  assert.equal(inp.buffered, 0);
  inp.push(Buffer.from("def"));
  assert.equal(inp.buffered, 0);
  await settle();
  assert.equal(over, false);
  inp.end();
  await p;
  assert.equal(over, true);
});

test("the first read of a request that expects 100-continue sends it, once", async () => {
  const { input: inp, source } = input(true);
  const p = inp.read(1);
  void inp.readline();
  assert.equal(source.interim.length, 1);
  assert.match(source.interim[0] ?? "", /^HTTP\/1\.1 100 Continue\r\n/);
  inp.push(Buffer.from("a\n"));
  assert.equal((await p).toString(), "a");
});

/** Any body, split anywhere, read with any mix of calls: the bytes come out whole and in order. */
test("property: any split of the body, any sequence of read(n)/readline(n)/iteration calls, awaited or not", async () => {
  const call = fc.oneof(
    fc.record({ kind: fc.constant("read" as const), size: fc.integer({ min: -1, max: 40 }) }),
    fc.record({ kind: fc.constant("readline" as const), size: fc.integer({ min: -1, max: 12 }) }),
    fc.record({ kind: fc.constant("chunk" as const), size: fc.constant(0) }),
  );
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a.map((b) => (b % 7 === 0 ? 0x0a : b)))),
      fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 20 }),
      fc.array(call, { maxLength: 30 }),
      fc.boolean(),
      async (body, cuts, calls, awaitEach) => {
        const { input: inp } = input();
        const it = inp[Symbol.asyncIterator]();
        const results: Promise<Buffer>[] = [];
        const feed = async (): Promise<void> => {
          let at = 0;
          for (const cut of cuts) {
            if (at >= body.length) break;
            inp.push(body.subarray(at, Math.min(body.length, at + cut)));
            at += cut;
            await Promise.resolve();
          }
          if (at < body.length) inp.push(body.subarray(at));
          inp.end();
        };
        const feeding = feed();
        for (const c of calls) {
          const p =
            c.kind === "read"
              ? inp.read(c.size)
              : c.kind === "readline"
                ? inp.readline(c.size)
                : it.next().then((r) => (r.done === true ? Buffer.alloc(0) : r.value));
          results.push(p);
          if (awaitEach) await p;
        }
        await feeding;
        const got = await Promise.all(results);
        const rest = await inp.read();
        // Each read(n >= 0) answers min(n, what was left) bytes; readline never more than n.
        let left = body.length;
        for (let i = 0; i < calls.length; i++) {
          const c = calls[i] as (typeof calls)[number];
          const b = got[i] as Buffer;
          if (c.kind === "read") assert.equal(b.length, c.size < 0 ? left : Math.min(c.size, left));
          if (c.kind === "readline" && c.size >= 0) assert.ok(b.length <= c.size);
          if (c.kind === "readline" && b.length > 0 && b.length < left && (c.size < 0 || b.length < c.size))
            assert.equal(b[b.length - 1], 0x0a, "a short line ends in LF");
          left -= b.length;
        }
        assert.deepEqual(Buffer.concat([...got, rest]), body);
      },
    ),
    { numRuns: 300 },
  );
});
