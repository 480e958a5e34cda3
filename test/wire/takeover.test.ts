/**
 * takeOver() (src/gateway/upgrade.ts): a 101 through the server's own head
 * serialiser, then the socket handed over with the bytes read past the head;
 * the connection stays counted; one access line (101, the head's bytes) and
 * the post hooks once the app returns; close() tells the new owner.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { takeOver, type Takeover } from "../../src/gateway/upgrade.js";
import type { App } from "../../src/index.js";
import { onConnectionClosed, type ConnectionClosedEvent } from "../../src/server/server.js";
import { Peer } from "../support/peer.js";
import { Signal, within } from "../support/wait.js";
import { startServer, withServer } from "../support/wire.js";

const UPGRADE = "GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n";
const HEAD_101 = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n";

/** Upgrades to a line echo protocol: each received chunk is sent back upper-cased until "bye". */
function echoUpgrade(seen: { takeover?: Takeover; hookRan: Signal; returned: Signal }): App {
  return async (env) => {
    env["eventlet.posthooks"].push([
      () => {
        seen.hookRan.fire();
      },
    ]);
    const t = await takeOver(env, "101 Switching Protocols", [
      ["upgrade", "echo"],
      ["connection", "Upgrade"],
    ]);
    seen.takeover = t;
    const socket = t.socket;
    await new Promise<void>((resolve) => {
      const onData = (d: Buffer): void => {
        const text = d.toString();
        socket.write(text.toUpperCase());
        if (text.includes("bye")) {
          socket.removeListener("data", onData);
          resolve();
        }
      };
      if (t.head.length > 0) onData(t.head);
      socket.on("data", onData);
      socket.on("close", () => {
        resolve();
      });
      socket.resume();
    });
    seen.returned.fire();
    return [];
  };
}

test("takeOver: 101 capitalised by the server, the first bytes past the head handed over, one access line 101", async () => {
  const seen = { hookRan: new Signal(), returned: new Signal() } as {
    takeover?: Takeover;
    hookRan: Signal;
    returned: Signal;
  };
  await withServer(echoUpgrade(seen), {}, async (s) => {
    const closed = new Signal<ConnectionClosedEvent>();
    const off = onConnectionClosed(s.server, closed.fire);
    const peer = await Peer.connect(s.port);
    try {
      // The new protocol's first bytes come in the same packet as the request head.
      await peer.write(`${UPGRADE}hello `);
      await peer.waitForText("HELLO ");
      assert.ok(peer.text.startsWith(HEAD_101), JSON.stringify(peer.text));
      assert.equal(s.server.connectionCount, 1, "an upgraded connection is still counted");
      assert.equal(s.server.outstandingRequests, 1, "its app is still running");
      await peer.write("bye");
      await peer.waitForText("BYE");
      await within(2000, "the app to return", seen.returned.promise);
      await within(2000, "the post hook", seen.hookRan.promise);
      const line = await s.log.waitFor("info", /"GET \/chat HTTP\/1\.1"/);
      assert.match(line, new RegExp(`"GET /chat HTTP/1\\.1" 101 ${HEAD_101.length} `));
      const event = await within(2000, "the connection closed event", closed.promise);
      assert.equal(event.reason, "upgraded");
      assert.equal(event.requests, 1);
      await peer.waitClosed();
      assert.equal(s.server.connectionCount, 0);
    } finally {
      off();
      peer.destroy();
    }
  });
});

test("takeOver throws once the response has started, and while the request body is unread", async () => {
  const errors: string[] = [];
  const refused = new Signal();
  const app: App = async (env, sr) => {
    if (env.PATH_INFO === "/body") {
      await takeOver(env, "101 Switching Protocols", [["Upgrade", "x"]]).catch((e: unknown) => {
        errors.push((e as Error).message);
      });
      refused.fire();
      const body = await env["wsgi.input"].read();
      sr("200 OK", []);
      return [body];
    }
    const write = sr("200 OK", []);
    await write("started");
    await takeOver(env, "101 Switching Protocols", [["Upgrade", "x"]]).catch((e: unknown) => {
      errors.push((e as Error).message);
    });
    return [];
  };
  await withServer(app, {}, async (s) => {
    const a = await Peer.connect(s.port);
    const b = await Peer.connect(s.port);
    try {
      await a.write("POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n");
      await within(2000, "the first takeOver to be refused", refused.promise);
      await a.write("abcd");
      const [ra] = await a.responses(1);
      assert.equal(ra?.body.toString(), "abcd", "the connection goes on as plain HTTP");
      await b.write("GET /started HTTP/1.1\r\nHost: x\r\n\r\n");
      await b.waitForText("started");
      await s.log.waitFor("info", /"GET \/started/);
      assert.deepEqual(errors.length, 2);
      assert.match(errors[0] ?? "", /body still unread/);
      assert.match(errors[1] ?? "", /already started/);
    } finally {
      a.destroy();
      b.destroy();
    }
  });
});

test("close() tells an upgraded connection's owner, with the time left, and cuts it at the deadline", async () => {
  let shutdownMs: number | undefined | null = null;
  const told = new Signal();
  const app: App = async (env) => {
    const t = await takeOver(env, "101 Switching Protocols", [["Upgrade", "x"]]);
    t.onShutdown((ms) => {
      shutdownMs = ms;
      told.fire();
    });
    await new Promise((resolve) => t.socket.once("close", resolve));
    return [];
  };
  const s = await startServer(app);
  const peer = await Peer.connect(s.port);
  try {
    await peer.write("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n");
    await peer.waitForText("\r\n\r\n");
    const closing = s.server.close({ deadline: 300 });
    await within(1000, "onShutdown", told.promise);
    assert.equal(shutdownMs, 300);
    await within(2000, "close() at the deadline", closing);
    await peer.waitClosed();
  } finally {
    peer.destroy();
    await s.close(100);
  }
});
