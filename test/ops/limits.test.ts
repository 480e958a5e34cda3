/**
 * maxSize and the time limits: socketTimeout, keepalive as a number,
 * headersTimeout (slow and silent clients) and requestTimeout (bodies),
 * each with short values and bounded waits.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { listen, type App, type ServerOptions } from "../../src/index.js";
import { normalizeOptions } from "../../src/options.js";
import { hello, header } from "../support/wire.js";
import { withOps, type OpsServer } from "./support.js";
import { Peer } from "../support/peer.js";
import { trickle } from "../support/trickle.js";
import { Signal } from "../support/wait.js";
import { itemAt } from "../support/item-at.js";

const GET = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

async function local(): ReturnType<typeof listen> {
  return listen(["127.0.0.1", 0]);
}

function portOf(s: { server: { address: unknown } }): number {
  return (s.server.address as { port: number }).port;
}

/** Runs `fn` with a server for `app` on 127.0.0.1 and one client connected to it, both always closed. */
async function withPeer(app: App, opts: ServerOptions, fn: (peer: Peer, s: OpsServer) => Promise<void>): Promise<void> {
  await withOps(await local(), app, opts, async (s) => {
    const peer = await Peer.connect({ port: portOf(s) });
    try {
      await fn(peer, s);
    } finally {
      peer.destroy();
    }
  });
}

describe("maxSize", () => {
  test("with maxSize N, client N+1 is accepted and held unread until a slot frees, never refused", async () => {
    const N = 3;
    await withOps(await local(), hello, { maxSize: N }, async (s) => {
      const port = portOf(s);
      const peers: Peer[] = [];
      try {
        for (let i = 0; i < N; i++) {
          const p = await Peer.connect({ port });
          peers.push(p);
          await p.write(GET);
          assert.equal((await p.responses(1))[0]?.status, 200);
        }
        assert.equal(s.server.connectionCount, N);
        const extra = await Peer.connect({ port }); // the TCP connection is accepted
        peers.push(extra);
        await extra.write(GET);
        // A served connection still answers, so the server has seen the newcomer by now...
        await peers[1]?.write(GET);
        await peers[1]?.responses(2);
        // ...but does not read it while N connections are open.
        await assert.rejects(
          extra.until(() => extra.data.length > 0 || extra.closed, 300, "anything"),
          /timed out/,
        );
        assert.equal(s.server.connectionCount, N);
        peers[0]?.destroy();
        const [res] = await extra.responses(1);
        assert.equal(res?.status, 200);
        assert.equal(extra.closed, false);
        assert.equal(s.server.connectionCount, N);
      } finally {
        for (const p of peers) p.destroy();
      }
    });
  });

  test("maxSize must be a positive integer", () => {
    assert.throws(() => normalizeOptions({ maxSize: 0 }), TypeError);
    assert.throws(() => normalizeOptions({ maxSize: 1.5 }), TypeError);
  });
});

describe("socketTimeout", () => {
  test("a client silent mid-head is disconnected after socketTimeout", async () => {
    await withOps(await local(), hello, { socketTimeout: 0.2 }, async (s) => {
      const peer = await Peer.connect({ port: portOf(s) });
      const t0 = Date.now();
      try {
        await peer.write("GET / HTTP/1.1\r\n");
        await peer.waitClosed(3000);
        const elapsed = Date.now() - t0;
        assert.ok(elapsed >= 150, `closed after ${elapsed} ms`);
        assert.ok(
          s.log.debug.some((l) => l.includes("timed out")),
          s.log.debug.join("\n"),
        );
      } finally {
        peer.destroy();
      }
    });
  });

  test("an application working longer than socketTimeout is not cut off (the timeout is for the client's silence)", async () => {
    const slow: App = async (_env, startResponse) => {
      await new Promise((resolve) => setTimeout(resolve, 500)); // the application's own work
      startResponse("200 OK", [["Content-Type", "text/plain"]]);
      return ["done"];
    };
    await withPeer(slow, { socketTimeout: 0.2 }, async (peer) => {
      await peer.write(GET);
      const [res] = await peer.responses(1, 3000);
      assert.equal(res?.status, 200);
      assert.equal(res.body.toString(), "done");
      await peer.waitClosed(3000); // and the silent client is then timed out
    });
  });

  test("a client that stops reading a response is disconnected after socketTimeout", async () => {
    const big: App = (_env, startResponse) => {
      startResponse("200 OK", [["Content-Type", "application/octet-stream"]]);
      const chunk = Buffer.alloc(64 * 1024, 120);
      return (function* () {
        for (let i = 0; i < 4096; i++) yield chunk; // 256 MiB: far more than socket buffers hold
      })();
    };
    await withPeer(big, { socketTimeout: 0.3 }, async (peer, s) => {
      peer.socket.pause();
      await peer.write(GET);
      await s.log.waitFor("debug", /timed out/, 5000);
      peer.socket.resume(); // read what the kernel buffered: the response ends there, truncated
      await peer.waitClosed(5000);
      assert.ok(peer.data.length < 256 * 1024 * 1024, `got ${peer.data.length} bytes`);
    });
  });
});

describe("keepalive as a number", () => {
  test("an idle kept-alive connection is closed after keepalive seconds", async () => {
    await withPeer(hello, { keepalive: 0.2 }, async (peer) => {
      await peer.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      const [res] = await peer.responses(1);
      assert.equal(res?.status, 200);
      assert.equal(header(res, "connection"), undefined);
      const t0 = Date.now();
      await peer.waitClosed(3000);
      assert.ok(Date.now() - t0 >= 150, `closed after ${Date.now() - t0} ms`);
    });
  });

  test("a client that sent Connection: keep-alive is told Keep-Alive: timeout=N (whole seconds)", async () => {
    await withPeer(hello, { keepalive: 2.5 }, async (peer) => {
      await peer.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n");
      const [res] = await peer.responses(1);
      assert.ok(res);
      assert.equal(header(res, "connection"), "keep-alive");
      assert.equal(header(res, "keep-alive"), "timeout=2");
      assert.equal(peer.closed, false);
    });
  });

  test("keepalive: 0 is one request a connection, as false", async () => {
    await withPeer(hello, { keepalive: 0 }, async (peer) => {
      await peer.write(`${GET}${GET}`);
      const rs = await peer.responses(2);
      assert.equal(rs.length, 1, "the pipelined second request is not answered");
      assert.equal(header(itemAt(rs, 0), "connection"), "close");
      await peer.waitClosed(1000);
    });
  });

  test("the keepalive limit does not cut a request in progress", async () => {
    const g = new Signal();
    const slow: App = async (_env, startResponse) => {
      await g.promise;
      startResponse("200 OK", [["Content-Type", "text/plain"]]);
      return ["late"];
    };
    await withOps(await local(), slow, { keepalive: 0.1 }, async (s) => {
      const peer = await Peer.connect({ port: portOf(s) });
      try {
        await peer.write(GET);
        await assert.rejects(
          peer.until(() => peer.closed, 400, "close"),
          /timed out/,
        );
        g.fire();
        const [res] = await peer.responses(1);
        assert.equal(res?.body.toString(), "late");
      } finally {
        g.fire();
        peer.destroy();
      }
    });
  });
});

describe("headersTimeout", () => {
  test("defaults to 60 seconds, and requestTimeout to 300, as Node's", () => {
    assert.equal(normalizeOptions({}).headersTimeoutMs, 60_000);
    assert.equal(normalizeOptions({}).requestTimeoutMs, 300_000);
    assert.equal(normalizeOptions({ headersTimeout: 0, requestTimeout: 0 }).headersTimeoutMs, 0);
    assert.throws(() => normalizeOptions({ requestTimeout: -1 }), TypeError);
  });

  test("a client trickling its head byte by byte gets 408 and is closed within headersTimeout", async () => {
    await withPeer(hello, { headersTimeout: 0.3 }, async (peer) => {
      const t0 = Date.now();
      // 60 bytes at one per 40 ms would take 2.4 s: far longer than the limit.
      const sending = trickle(
        peer,
        `GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ${"a".repeat(35)}`,
        40,
        () => peer.closed || peer.socket.destroyed,
      );
      const [res] = await peer.responses(1, 3000);
      assert.equal(res?.status, 408);
      await peer.waitClosed(3000);
      const elapsed = Date.now() - t0;
      assert.ok(elapsed >= 250 && elapsed < 2000, `408 after ${elapsed} ms`);
      const sent = await sending;
      assert.ok(sent < 60, `the server stopped the client before its head was done (${sent} bytes sent)`);
    });
  });

  test("a client that connects and sends nothing is closed after headersTimeout", async () => {
    await withPeer(hello, { headersTimeout: 0.3 }, async (peer, s) => {
      const t0 = Date.now();
      await peer.waitClosed(3000);
      const elapsed = Date.now() - t0;
      assert.ok(elapsed >= 250, `closed after ${elapsed} ms`);
      assert.equal(peer.data.length, 0, "closed quietly, without a 408 to a client that asked nothing");
      assert.ok(
        s.log.debug.some((l) => l.includes("closing idle connection")),
        s.log.debug.join("\n"),
      );
    });
  });

  test("between kept-alive requests, the idle wait is keepalive's, not headersTimeout's", async () => {
    await withPeer(hello, { headersTimeout: 0.2 }, async (peer) => {
      await peer.write(GET);
      await peer.responses(1);
      await assert.rejects(
        peer.until(() => peer.closed, 500, "close"),
        /timed out/,
      );
      await peer.write(GET);
      assert.equal((await peer.responses(2))[1]?.status, 200);
    });
  });
});

describe("requestTimeout", () => {
  test("a body that does not arrive in time fails the app's read with 408, and the connection closes", async () => {
    const reader: App = async (env, startResponse) => {
      const body = await env["wsgi.input"].read();
      startResponse("200 OK", [["Content-Type", "text/plain"]]);
      return [body];
    };
    await withPeer(reader, { requestTimeout: 0.3 }, async (peer) => {
      const t0 = Date.now();
      await peer.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
      const [res] = await peer.responses(1, 3000);
      assert.equal(res?.status, 408);
      await peer.waitClosed(3000);
      assert.ok(Date.now() - t0 >= 250);
    });
  });

  test("a body trickled after the response (being discarded) is bounded by requestTimeout too", async () => {
    await withPeer(hello, { requestTimeout: 0.3 }, async (peer) => {
      await peer.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n");
      const [res] = await peer.responses(1);
      assert.equal(res?.status, 200);
      const sending = trickle(peer, "x".repeat(100), 40, () => peer.closed || peer.socket.destroyed);
      await peer.waitClosed(3000);
      assert.ok((await sending) < 100);
    });
  });
});
