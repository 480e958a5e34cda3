/**
 * The Exchange's handling of the application's body, against the in-memory
 * host: what the application yields is what the client gets.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { App } from "../../src/index.js";
import { parseAll } from "../support/wire.js";
import { call, prepare } from "./harness.js";
import { Outcome } from "../../src/gateway/response.js";
import { Signal, within } from "../support/wait.js";
import { itemAt } from "../support/item-at.js";

function only(text: string) {
  const responses = parseAll(Buffer.from(text, "latin1"));
  assert.equal(responses.length, 1, `exactly one response expected:\n${text}`);
  return itemAt(responses, 0);
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

test("a 2xx to CONNECT does not keep the connection: what follows is tunnel bytes, not HTTP (RFC 9110 §9.3.6)", async () => {
  const app: App = (_env, sr) => {
    sr("200 Connection Established", []);
    return [];
  };
  const c = await call(app, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
  assert.notEqual(c.exchange.outcome, Outcome.KeepAlive);
  const r = only(c.host.text);
  assert.equal(r.status, 200);
  assert.equal(r.rawHead.includes("Content-Length"), false);
  assert.match(r.rawHead, /\r\nConnection: close(?:\r\n|$)/);
});

test("a 4xx to CONNECT is an ordinary response: the connection is kept", async () => {
  const app: App = (_env, sr) => {
    sr("403 Forbidden", [["Content-Length", "0"]]);
    return [];
  };
  const c = await call(app, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
  assert.equal(c.exchange.outcome, Outcome.KeepAlive);
});

test("an async body waiting in next() when the connection goes: run() ends, close() runs once, the wait is not awaited", async () => {
  let closes = 0;
  const c = prepare("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  const firstSent = new Signal();
  const app: App = (_env, sr) => {
    sr("200 OK", []);
    const gen = (async function* () {
      yield "first";
      firstSent.fire();
      await new Promise<never>(() => {});
    })();
    return Object.assign(gen, {
      close: () => {
        closes++;
      },
    });
  };
  const running = c.run(app);
  await within(2000, "the first chunk", firstSent.promise);
  c.host.disconnect();
  await within(2000, "run() to end", running);
  assert.equal(closes, 1);
});

test("bytesSent of a 500 to HEAD counts the head alone: its body is not sent", async () => {
  const app: App = () => {
    throw new Error("boom");
  };
  for (const method of ["HEAD", "GET"]) {
    const c = await call(app, `${method} / HTTP/1.1\r\nHost: x\r\n\r\n`, { debug: true });
    assert.match(c.host.text, /^HTTP\/1\.1 500 /);
    assert.equal(c.exchange.bytesSent, c.host.output.length, method);
  }
});

test("a body returned without calling startResponse: a 500 that says so", async () => {
  for (const body of [
    ["x"],
    [],
    (function* () {
      yield "y";
    })(),
  ]) {
    const c = await call(() => body);
    assert.match(c.host.text, /^HTTP\/1\.1 500 /);
    assert.equal(c.host.log.error.length, 1);
    assert.match(itemAt(c.host.log.error, 0), /the application returned a body without calling start_response\(\)/);
  }
});

test("an async iterator whose next() returns plain results (not promises) is served", async () => {
  const items = ["a", "b"];
  const body = {
    [Symbol.asyncIterator]: () => ({
      next: () => (items.length > 0 ? { done: false, value: items.shift() } : { done: true, value: undefined }),
    }),
  };
  const c = await call((_env, sr) => {
    sr("200 OK", []);
    return body as unknown as AsyncIterable<string>;
  });
  assert.equal(only(c.host.text).body.toString(), "ab");
});
