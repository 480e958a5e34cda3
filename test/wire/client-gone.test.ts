/**
 * onClientGone() (src/gateway/disconnect.ts), what fetch's request.signal is
 * made from: called once when the client closes, resets, or half-closes
 * before its body is complete; not for a half-close after a complete
 * request; never once the response is complete.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { onClientGone } from "../../src/gateway/disconnect.js";
import type { App } from "../../src/index.js";
import { Peer } from "../support/peer.js";
import { Signal, within } from "../support/wait.js";
import { withServer } from "../support/wire.js";

/** Registers a listener, then waits for `release` (or the client leaving) before answering. */
function waitingApp(calls: { n: number }, gone: Signal, registered: Signal, release: Promise<void>): App {
  return async (env, sr) => {
    onClientGone(env, () => {
      calls.n++;
      gone.fire();
    });
    registered.fire();
    await Promise.race([release, gone.promise]);
    sr("200 OK", [["Content-Length", "2"]]);
    return ["ok"];
  };
}

// A client's close after a complete request is a FIN, a half-close like any other: it counts only once
// the connection is closed or reset (below), or when the request body was not complete (the next test).
for (const how of ["reset"] as const) {
  test(`onClientGone: called once when the client ${how}s while the app works`, async () => {
    const calls = { n: 0 };
    const gone = new Signal();
    const registered = new Signal();
    await withServer(waitingApp(calls, gone, registered, new Promise(() => {})), {}, async (s) => {
      const peer = await Peer.connect(s.port);
      await peer.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      await within(2000, "the app", registered.promise);
      peer.socket.resetAndDestroy();
      await within(2000, "the listener", gone.promise);
      await s.log.waitFor("info", /"GET \/ HTTP\/1\.1" 499 /);
      assert.equal(calls.n, 1);
    });
  });
}

test("onClientGone: a half-close before the body is complete counts, one after a complete request does not", async () => {
  const calls = { n: 0 };
  const gone = new Signal();
  const registered = new Signal();
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const app: App = async (env, sr) => {
    onClientGone(env, () => {
      calls.n++;
      gone.fire();
    });
    registered.fire();
    if (env.REQUEST_METHOD === "POST") await env["wsgi.input"].read().catch(() => undefined);
    else await released;
    sr("200 OK", [["Content-Length", "2"]]);
    return ["ok"];
  };
  await withServer(app, {}, async (s) => {
    // A complete GET, then FIN: the client may still be reading, so nothing fires.
    const reader = await Peer.connect(s.port);
    await reader.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await within(2000, "the app", registered.promise);
    reader.end();
    release();
    const [r] = await reader.responses(1);
    assert.equal(r?.status, 200);
    assert.equal(calls.n, 0, "a half-close after a complete request is not a client gone");
    reader.destroy();
    // A POST whose body stops half-way, then FIN: the request can never be whole.
    const writer = await Peer.connect(s.port);
    await writer.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
    writer.end();
    await within(2000, "the listener", gone.promise);
    assert.equal(calls.n, 1);
    writer.destroy();
  });
});

test("onClientGone: never called once the response is complete; the remover works", async () => {
  const calls = { n: 0 };
  const removedCalls = { n: 0 };
  const answered = new Signal();
  const app: App = (env, sr) => {
    const remove = onClientGone(env, () => removedCalls.n++);
    remove();
    onClientGone(env, () => calls.n++);
    sr("200 OK", [["Content-Length", "2"]]);
    answered.fire();
    return ["ok"];
  };
  await withServer(app, {}, async (s) => {
    const peer = await Peer.connect(s.port);
    await peer.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await peer.responses(1);
    peer.destroy();
    await s.log.waitFor("info", /"GET \/ HTTP\/1\.1" 200 /);
    await within(2000, "answered", answered.promise);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(calls.n, 0);
    assert.equal(removedCalls.n, 0);
  });
});

test("onClientGone on an object that is not a server's environ is a no-op", () => {
  const off = onClientGone({} as never, () => assert.fail("called"));
  off();
});
