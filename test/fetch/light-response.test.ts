/**
 * The light Response behaves as Node's own wherever it is looked at: status,
 * headers (live), body reads, clone, instanceof, being re-wrapped by
 * middleware, and Node's errors for what Node refuses.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { LightResponse, lightParts } from "../../src/fetch/light-response.js";

const Light = LightResponse as unknown as typeof Response;

test("a light Response reads as Node's: status, ok, headers with the default Content-Type, text()", async () => {
  for (const make of [
    (b: string, i?: ResponseInit) => new Light(b, i),
    (b: string, i?: ResponseInit) => new Response(b, i),
  ]) {
    const r = make("hello", { status: 201, statusText: "Made", headers: { "x-a": "1" } });
    assert.equal(r.status, 201);
    assert.equal(r.statusText, "Made");
    assert.equal(r.ok, true);
    assert.equal(r.headers.get("content-type"), "text/plain;charset=UTF-8");
    assert.equal(r.headers.get("x-a"), "1");
    assert.equal(await r.text(), "hello");
    assert.equal(r.bodyUsed, true);
  }
});

test("its headers are live: a change made through res.headers is what the server reads", () => {
  const r = new Light("x");
  r.headers.set("x-late", "yes");
  const parts = (r as unknown as Record<symbol, { headers: Headers } | null>)[lightParts];
  assert.equal(parts?.headers.get("x-late"), "yes");
});

test("instanceof holds both ways; clone(), arrayBuffer(), and re-wrapping with new Response(res.body, res)", async () => {
  const r = new Light("body", { headers: [["x-b", "2"]] });
  assert.ok(r instanceof Response);
  assert.ok(new Response("n") instanceof Light);
  const copy = r.clone();
  assert.equal(await copy.text(), "body");
  const wrapped = new Response(r.body, r);
  assert.equal(wrapped.headers.get("x-b"), "2");
  assert.equal(await wrapped.text(), "body");
});

test("Node's errors for what Node refuses: a bad status, a body on a 204", () => {
  assert.throws(() => new Light("x", { status: 99 }), RangeError);
  assert.throws(() => new Light("x", { status: 204 }), TypeError);
});

test("Response.json and a stream body", async () => {
  const j = (Light as unknown as { json(d: unknown): Response }).json({ a: 1 });
  assert.equal(j.headers.get("content-type"), "application/json");
  assert.deepEqual(await j.json(), { a: 1 });
  const s = new Light(
    new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode("streamed"));
        c.close();
      },
    }),
  );
  assert.equal((s as unknown as Record<symbol, unknown>)[lightParts], null);
  assert.equal(await s.text(), "streamed");
});
