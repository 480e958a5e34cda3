/**
 * close()'s zero-loss rule (docs/api.md, "Zero failed requests"): a
 * connection that has not carried a request yet gets a short grace for its
 * first one, served with Connection: close, and is closed when the grace is
 * over; graceful close waits for async post hooks, up to its deadline. And
 * the server's `connection closed` event, with its reasons.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FIRST_REQUEST_GRACE_MS } from "../../src/limits.js";
import type { App } from "../../src/index.js";
import { onConnectionClosed, type ConnectionClosedEvent } from "../../src/server/server.js";
import { Peer } from "../support/peer.js";
import { Signal, within } from "../support/wait.js";
import { header, hello, startServer } from "../support/wire.js";

const GET = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

describe("close(): the first-request grace", () => {
  test("a connection opened before close() but silent until after it is answered, with Connection: close", async () => {
    const s = await startServer(hello);
    const peer = await Peer.connect(s.port);
    try {
      await within(1000, "the connection to be served", waitForCount(s.server, 1));
      const closing = s.server.close();
      await peer.write(GET);
      const [res] = await peer.responses(1);
      assert.equal(res?.status, 200);
      assert.equal(header(res, "connection"), "close");
      await peer.waitClosed();
      await within(2000, "close() to settle", closing);
    } finally {
      peer.destroy();
      await s.close(100);
    }
  });

  test("a connection that stays silent is closed when the grace is over", async () => {
    const s = await startServer(hello);
    const closed = new Signal<ConnectionClosedEvent>();
    onConnectionClosed(s.server, closed.fire);
    const peer = await Peer.connect(s.port);
    try {
      await within(1000, "the connection to be served", waitForCount(s.server, 1));
      const started = Date.now();
      const closing = s.server.close();
      const event = await within(FIRST_REQUEST_GRACE_MS + 1000, "the connection to close", closed.promise);
      const waited = Date.now() - started;
      assert.equal(event.reason, "shutdown");
      assert.equal(event.requests, 0);
      assert.ok(waited >= FIRST_REQUEST_GRACE_MS - 50, `closed after ${waited} ms`);
      await peer.waitClosed();
      await within(1000, "close() to settle", closing);
    } finally {
      peer.destroy();
      await s.close(100);
    }
  });

  test("a deadline shorter than the grace ends it", async () => {
    const s = await startServer(hello);
    const peer = await Peer.connect(s.port);
    try {
      await within(1000, "the connection to be served", waitForCount(s.server, 1));
      const started = Date.now();
      await within(FIRST_REQUEST_GRACE_MS, "close() to settle", s.server.close({ deadline: 100 }));
      assert.ok(Date.now() - started < FIRST_REQUEST_GRACE_MS);
      await peer.waitClosed();
    } finally {
      peer.destroy();
      await s.close(100);
    }
  });
});

describe("close() and post hooks", () => {
  test("closed waits for an async post hook still running; the deadline cuts the wait", async () => {
    const hookStarted = new Signal();
    const finishHook = new Signal();
    const app: App = (env, sr) => {
      env["eventlet.posthooks"].push([
        async () => {
          hookStarted.fire();
          await finishHook.promise;
        },
      ]);
      sr("200 OK", [["Content-Length", "2"]]);
      return ["ok"];
    };
    const s = await startServer(app);
    const peer = await Peer.connect(s.port);
    try {
      await peer.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      await peer.responses(1);
      await within(2000, "the hook to start", hookStarted.promise);
      let settled = false;
      const closing = s.server.close().then(() => (settled = true));
      await peer.waitClosed();
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(settled, false, "close() waits for the hook");
      finishHook.fire();
      await within(1000, "close() once the hook is done", closing);
    } finally {
      finishHook.fire();
      peer.destroy();
      await s.close(100);
    }

    const never = new Signal();
    const s2 = await startServer((env, sr) => {
      env["eventlet.posthooks"].push([() => never.promise]);
      sr("200 OK", [["Content-Length", "2"]]);
      return ["ok"];
    });
    const p2 = await Peer.connect(s2.port);
    try {
      await p2.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      await p2.responses(1);
      await within(1500, "close() at its deadline despite the hook", s2.server.close({ deadline: 200 }));
    } finally {
      never.fire();
      p2.destroy();
      await s2.close(100);
    }
  });
});

describe("the connection closed event", () => {
  test("says why: done, protocol-error, timeout, client", async () => {
    const s = await startServer(hello, { keepalive: 0.3 });
    const events: ConnectionClosedEvent[] = [];
    const next = (): Promise<ConnectionClosedEvent> =>
      within(
        3000,
        "a connection closed event",
        new Promise((resolve) => {
          const off = onConnectionClosed(s.server, (e) => {
            off();
            events.push(e);
            resolve(e);
          });
        }),
      );
    try {
      const cases: [string, (p: Peer) => Promise<void>, string, number][] = [
        ["done", (p) => p.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), "done", 1],
        ["protocol-error", (p) => p.write("BAD\r\n\r\n"), "protocol-error", 0],
        ["timeout", (p) => p.write(GET), "timeout", 1],
        [
          "client",
          async (p) => {
            await p.write(GET);
            await p.responses(1);
            p.destroy();
          },
          "client",
          1,
        ],
      ];
      for (const [name, act, reason, requests] of cases) {
        const peer = await Peer.connect(s.port);
        try {
          const closed = next();
          await act(peer);
          const e = await closed;
          assert.equal(e.reason, reason, name);
          assert.equal(e.requests, requests, name);
          assert.equal(e.remoteAddr, "127.0.0.1");
        } finally {
          peer.destroy();
        }
      }
    } finally {
      await s.close(100);
    }
  });
});

/** Resolves once the server serves `n` connections (the accept is asynchronous to the client's connect). */
function waitForCount(srv: { connectionCount: number }, n: number): Promise<void> {
  const deadline = Date.now() + 2000;
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (srv.connectionCount >= n) resolve();
      else if (Date.now() > deadline) reject(new Error(`connectionCount stayed below ${n}`));
      else setImmediate(check);
    };
    check();
  });
}
