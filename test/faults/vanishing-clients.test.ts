/**
 * Clients that vanish — with a FIN (`destroy()`) or a reset
 * (`resetAndDestroy()`) — at each point of an exchange: in the request
 * line, in the headers, in a Content-Length or chunked body, while the app
 * works, while the response streams, and while a post hook runs.
 *
 * Each time: the server stays up and serves the next client; the body's
 * close() was called exactly once; post hooks ran; and no connection,
 * request, socket or timer is left behind.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { App, Environ, PostHook, StartResponse } from "../../src/index.js";
import { startServer, type TestServer } from "../support/wire.js";
import {
  BodyProbe,
  Peer,
  VANISH_KINDS,
  activeResources,
  assertCleanShutdown,
  assertServes,
  streamingBody,
  syncStreamingBody,
} from "./support.js";
import { Signal, until, within } from "../support/wait.js";

/** What the application and its hooks saw during one scenario. */
class Scenario {
  appCalls = 0;
  readonly appCalled = new Signal();
  readonly body = new BodyProbe();
  readError: (Error & { code?: string }) | null = null;
  hookRuns = 0;
  readonly hookStarted = new Signal();
  readonly hookDone = new Signal();
  /** Released by the test: the app (or hook) waiting on it goes on. */
  readonly gate = new Signal();
}

function addHook(env: Environ, sc: Scenario, fn?: () => Promise<void>): void {
  const hook: PostHook = [
    async (_env: Environ, tag: unknown) => {
      assert.equal(tag, "tag");
      sc.hookRuns++;
      sc.hookStarted.fire();
      if (fn !== undefined) await fn();
      sc.hookDone.fire();
    },
    ["tag"],
  ];
  env["eventlet.posthooks"].push(hook);
}

/** /ping answers at once; every other path is the scenario's. */
function routed(sc: Scenario, handler: (env: Environ, startResponse: StartResponse) => ReturnType<App>): App {
  return (env, startResponse) => {
    if (env.PATH_INFO === "/ping") {
      startResponse("200 OK", [["Content-Type", "text/plain"]]);
      return ["pong"];
    }
    sc.appCalls++;
    sc.appCalled.fire();
    return handler(env, startResponse);
  };
}

/** Echoes the request body as it is read: reading happens inside the body's iteration. */
function echoApp(sc: Scenario): App {
  return routed(sc, (env, startResponse) => {
    addHook(env, sc);
    const input = env["wsgi.input"];
    const probe = sc.body;
    return {
      async *[Symbol.asyncIterator]() {
        try {
          startResponse("200 OK", [["Content-Type", "application/octet-stream"]]);
          for (;;) {
            let data: Buffer;
            try {
              data = await input.read(4);
            } catch (err) {
              sc.readError = err as Error;
              throw err;
            }
            if (data.length === 0) return;
            probe.countChunk();
            yield data;
          }
        } finally {
          probe.finalized = true;
        }
      },
      close() {
        probe.countClose();
      },
    };
  });
}

/** Runs `scenario` on a fresh server, then checks the server serves others and leaves nothing behind. */
async function withScenario(
  app: (sc: Scenario) => App,
  scenario: (s: TestServer, sc: Scenario) => Promise<void>,
): Promise<void> {
  const baseline = activeResources();
  const sc = new Scenario();
  const s = await startServer(app(sc));
  try {
    await scenario(s, sc);
    await until(2000, "the vanished connection to be closed", () => s.server.connectionCount === 0);
    await assertServes(s.port);
    await assertCleanShutdown(s, baseline);
  } finally {
    sc.gate.fire();
    await s.close(200);
  }
}

function assertBodyClosedOnce(sc: Scenario): void {
  assert.equal(sc.body.closes, 1, "close() on the body exactly once");
  assert.equal(sc.body.finalized, true, "the body's iterator was finished (its finally ran)");
  assert.equal(sc.hookRuns, 1, "the post hook ran once");
}

for (const how of VANISH_KINDS) {
  const cutHeads: [where: string, bytes: string][] = [
    ["in the request line", "GET /upl"],
    ["in the headers", "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nX-Half: ab"],
  ];
  for (const [where, bytes] of cutHeads) {
    test(`vanish (${how}) ${where}: nothing reaches the app, the server goes on`, async () => {
      await withScenario(echoApp, async (s, sc) => {
        const peer = await Peer.connect(s.port);
        await peer.write(bytes);
        peer.vanish(how);
        await until(2000, "the connection to be closed", () => s.server.connectionCount === 0);
        assert.equal(sc.appCalls, 0);
        assert.deepEqual(s.log.error, []);
      });
    });
  }

  const cutBodies: [framing: string, bytes: string][] = [
    ["a Content-Length", "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123456789"],
    ["a chunked", "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n10\r\nabc"],
  ];
  for (const [framing, bytes] of cutBodies) {
    test(`vanish (${how}) in ${framing} body: the app's read rejects, close() once, hooks run`, async () => {
      await withScenario(echoApp, async (s, sc) => {
        const peer = await Peer.connect(s.port);
        await peer.write(bytes);
        await within(2000, "the app to read the first bytes", sc.body.firstChunk.promise);
        peer.vanish(how);
        await within(2000, "close() on the body", sc.body.closed.promise);
        await within(2000, "the post hook", sc.hookDone.promise);
        assertBodyClosedOnce(sc);
        assert.equal(sc.readError?.code, "ERR_CLIENT_DISCONNECTED");
      });
    });
  }

  test(`vanish (${how}) while the app works, before the response: close() once, hooks run`, async () => {
    const app = (sc: Scenario): App =>
      routed(sc, async (env, startResponse) => {
        addHook(env, sc);
        await sc.gate.promise;
        startResponse("200 OK", [["Content-Type", "text/plain"]]);
        return streamingBody(sc.body, { count: 3, chunkBytes: 10 });
      });
    await withScenario(app, async (s, sc) => {
      const peer = await Peer.connect(s.port);
      await peer.write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
      await within(2000, "the app to be called", sc.appCalled.promise);
      peer.vanish(how);
      if (how === "rst") {
        // A reset closes the connection at once, the app still running; a FIN
        // alone may be a half-close, so the server keeps that socket until the response.
        await until(2000, "the reset connection to be closed", () => s.server.connectionCount === 0);
        assert.equal(s.server.outstandingRequests, 1, "the request is outstanding while its app runs");
      }
      sc.gate.fire();
      await within(2000, "close() on the body", sc.body.closed.promise);
      await within(2000, "the post hook", sc.hookDone.promise);
      assert.equal(sc.body.closes, 1);
      assert.equal(sc.hookRuns, 1);
    });
  });

  const bodies: [kind: string, body: (probe: BodyProbe, total: number) => ReturnType<App>][] = [
    ["an async", (probe, total) => streamingBody(probe, { count: total, chunkBytes: 1024 })],
    ["a sync", (probe, total) => syncStreamingBody(probe, { count: total, chunkBytes: 1024 })],
  ];
  for (const [kind, body] of bodies) {
    test(`vanish (${how}) while ${kind} body streams: iteration stops, close() once, hooks run`, async () => {
      const total = 1_000_000;
      const app = (sc: Scenario): App =>
        routed(sc, (env, startResponse) => {
          addHook(env, sc);
          startResponse("200 OK", [["Content-Type", "application/octet-stream"]]);
          return body(sc.body, total);
        });
      await withScenario(app, async (s, sc) => {
        const peer = await Peer.connect(s.port);
        await peer.write("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
        await peer.waitForBytes(64 * 1024);
        peer.vanish(how);
        await within(2000, "close() on the body", sc.body.closed.promise);
        await within(2000, "the post hook", sc.hookDone.promise);
        assertBodyClosedOnce(sc);
        assert.ok(sc.body.produced < total, "the body was not iterated to its end");
      });
    });
  }

  test(`vanish (${how}) while a post hook runs: the hook finishes, a failing hook is logged, the others run`, async () => {
    let laterHookRan = 0;
    const app = (sc: Scenario): App =>
      routed(sc, (env, startResponse) => {
        addHook(env, sc, () => sc.gate.promise);
        env["eventlet.posthooks"].push([
          async () => {
            await sc.gate.promise;
            throw new Error("hook failed after the client left");
          },
        ]);
        env["eventlet.posthooks"].push([
          () => {
            laterHookRan++;
          },
        ]);
        startResponse("200 OK", [["Content-Type", "text/plain"]]);
        return syncStreamingBody(sc.body, { count: 2, chunkBytes: 5 });
      });
    await withScenario(app, async (s, sc) => {
      const peer = await Peer.connect(s.port);
      await peer.write("GET /hooked HTTP/1.1\r\nHost: x\r\n\r\n");
      await within(2000, "the post hook to start", sc.hookStarted.promise);
      await peer.waitForText("\r\n0\r\n\r\n");
      peer.vanish(how);
      await until(2000, "the connection to be closed", () => s.server.connectionCount === 0);
      assert.equal(sc.hookDone.fired, false);
      sc.gate.fire();
      await within(2000, "the post hook to finish", sc.hookDone.promise);
      await until(
        2000,
        "the failing hook to be logged and the last hook to run",
        () => laterHookRan === 1 && s.log.error.length > 0,
      );
      assert.match(s.log.error.join("\n"), /hook failed after the client left/);
      assert.equal(sc.body.closes, 1);
      assert.equal(sc.hookRuns, 1);
    });
  });
}

test("many clients vanishing at random points in a row leave the server serving and clean", async () => {
  const baseline = activeResources();
  const sc = new Scenario();
  const s = await startServer(echoApp(sc));
  try {
    const cuts = [
      "POST /upload HTTP/1.1\r\nHost",
      "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\nabc",
      "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
      "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab",
      "GE",
    ];
    for (let round = 0; round < 40; round++) {
      const peer = await Peer.connect(s.port);
      await peer.write(cuts[round % cuts.length] as string);
      peer.vanish(round % 2 === 0 ? "fin" : "rst");
    }
    await until(3000, "every vanished connection to be closed", () => s.server.connectionCount === 0);
    await until(3000, "every request to be over", () => s.server.outstandingRequests === 0);
    // Each body the app started was closed exactly once, and each request's hook ran (hooks run just after).
    await until(2000, "every post hook to run", () => sc.hookRuns === sc.appCalls);
    assert.equal(sc.body.closes, sc.appCalls);
    await assertServes(s.port);
    await assertCleanShutdown(s, baseline);
  } finally {
    await s.close(200);
  }
});
