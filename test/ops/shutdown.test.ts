/**
 * Graceful shutdown (WsgiServer.close): idle connections close at once,
 * requests in flight finish with Connection: close, then `closed` settles;
 * the deadline cuts what is left; connections marked with eventlet.set_idle
 * count as idle. And the hello example stops cleanly on SIGINT/SIGTERM.
 */

import assert from "node:assert/strict";
import net from "node:net";
import { join } from "node:path";
import { describe, test } from "node:test";
import { listen, type App } from "../../src/index.js";
import { hello, header } from "../support/wire.js";
import { repoRoot, serveOn, spawnNode } from "./support.js";
import { Peer } from "../support/peer.js";
import { Signal, until, within } from "../support/wait.js";
import { itemAt } from "../support/item-at.js";

const GET = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

async function local(app: App): Promise<ReturnType<typeof serveOn> & { port: number }> {
  const s = serveOn(await listen(["127.0.0.1", 0]), app);
  return Object.assign(s, { port: (s.server.address as { port: number }).port });
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect({ host: "127.0.0.1", port });
    c.once("connect", () => {
      c.destroy();
      resolve(false);
    });
    c.once("error", (err: NodeJS.ErrnoException) => {
      resolve(err.code === "ECONNREFUSED");
    });
  });
}

/** An app that answers /slow only once `release` opens, and everything else at once. */
function slowApp(release: Promise<void>, started: () => void): App {
  return async (env, startResponse) => {
    if (env.PATH_INFO === "/slow") {
      started();
      await release;
    }
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    return [`${env.PATH_INFO}\n`];
  };
}

describe("WsgiServer.close()", () => {
  test("closes the idle connection at once, lets the busy one finish with Connection: close, then settles", async () => {
    const release = new Signal();
    const started = new Signal();
    const s = await local(
      slowApp(release.promise, () => {
        started.fire();
      }),
    );
    const idle = await Peer.connect({ port: s.port });
    const busy = await Peer.connect({ port: s.port });
    try {
      await idle.write(GET);
      assert.equal((await idle.responses(1))[0]?.status, 200);
      await busy.write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
      await within(2000, "the slow request to start", started.promise);
      assert.equal(s.server.outstandingRequests, 1);

      let settled = false;
      const closing = s.server.close().then(() => {
        settled = true;
      });
      await idle.waitClosed(1000);
      assert.equal(busy.closed, false, "the busy connection is left to finish");
      assert.equal(await refused(s.port), true, "no new connections are accepted");
      assert.equal(settled, false);

      release.fire();
      const [res] = await busy.responses(1);
      assert.equal(res?.status, 200);
      assert.equal(header(res, "connection"), "close");
      await busy.waitClosed(1000);
      await within(2000, "close() to settle", closing);
      await within(100, "closed to settle", s.server.closed);
      assert.equal(s.server.outstandingRequests, 0);
      assert.match(s.log.info.at(-1) ?? "", /\(\d+\) wsgi exited, is_accepting=False/);
    } finally {
      release.fire();
      idle.destroy();
      busy.destroy();
      await s.close(100);
    }
  });

  test("a response whose head went out before close() still ends its connection afterwards", async () => {
    const release = new Signal();
    const headSent = new Signal();
    const streaming: App = (_env, startResponse) => {
      const write = startResponse("200 OK", [["Content-Type", "text/plain"]]);
      return (async function* () {
        await write("first,");
        headSent.fire();
        await release.promise;
        yield "last";
      })();
    };
    const s = await local(streaming);
    const peer = await Peer.connect({ port: s.port });
    try {
      await peer.write(GET);
      await within(2000, "the head", headSent.promise);
      await peer.until(() => peer.text.includes("first,"), 2000, "the first chunk");
      assert.equal(peer.text.includes("Connection: close"), false, "the head went out before close()");
      const closing = s.server.close();
      release.fire();
      const [res] = await peer.responses(1);
      assert.equal(res?.body.toString(), "first,last");
      await peer.waitClosed(1000);
      await within(2000, "close() to settle", closing);
    } finally {
      release.fire();
      peer.destroy();
      await s.close(100);
    }
  });

  test("a connection marked with eventlet.set_idle is closed at once, its app still waiting", async () => {
    const release = new Signal();
    const marked = new Signal();
    const longPoll: App = async (env, startResponse) => {
      env["eventlet.set_idle"]();
      marked.fire();
      await release.promise;
      startResponse("200 OK", [["Content-Type", "text/plain"]]);
      return ["late"];
    };
    const s = await local(longPoll);
    const peer = await Peer.connect({ port: s.port });
    try {
      await peer.write(GET);
      await within(2000, "the app to mark itself idle", marked.promise);
      await within(1000, "close() to settle", s.server.close());
      assert.equal(peer.closed || (await peer.waitClosed(1000).then(() => true)), true);
    } finally {
      release.fire();
      peer.destroy();
      await s.close(100);
    }
  });

  test("a connection whose previous request was marked with eventlet.set_idle is not idle while its next head is half received", async () => {
    const app: App = (env, startResponse) => {
      if (env.PATH_INFO === "/mark") env["eventlet.set_idle"]();
      startResponse("200 OK", [["Content-Length", "2"]]);
      return ["ok"];
    };
    const s = await local(app);
    const peer = await Peer.connect({ port: s.port });
    try {
      // One write: the marked request, then the start of the next one, read right after it.
      await peer.write("GET /mark HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHo");
      assert.equal(itemAt(await peer.responses(1), 0).status, 200);
      const closed = s.server.close({ deadline: 3000 });
      await peer.write("st: x\r\n\r\n");
      const [, second] = await peer.responses(2);
      assert.ok(second);
      assert.equal(second.status, 200, "the half-received request is served");
      assert.equal(header(second, "connection"), "close");
      await within(3000, "close() to settle", closed);
    } finally {
      peer.destroy();
      await s.close(100);
    }
  });

  test("closed waits for an app whose client left during close(), and its post hooks are under way first", async () => {
    const release = new Signal();
    const started = new Signal();
    const events: string[] = [];
    const app: App = async (env, startResponse) => {
      env["eventlet.posthooks"].push([() => void events.push("posthook")]);
      started.fire();
      await within(3000, "the test to release the app", release.promise);
      events.push("app done");
      startResponse("200 OK", [["Content-Length", "4"]]);
      return ["late"];
    };
    const s = await local(app);
    const peer = await Peer.connect({ port: s.port });
    try {
      await peer.write(GET);
      await within(2000, "the app to start", started.promise);
      let settled = false;
      const closed = s.server.close().then(() => {
        settled = true;
        events.push("closed");
      });
      peer.socket.resetAndDestroy();
      // The connection is gone (its slot freed) while the app still runs.
      await until(2000, "the server to drop the connection", () => s.server.connectionCount === 0);
      await new Promise((r) => setImmediate(r));
      assert.equal(settled, false, "closed settled while the app was still running");
      release.fire();
      await within(2000, "close() to settle once the app is done", closed);
      assert.deepEqual(events, ["app done", "posthook", "closed"]);
    } finally {
      release.fire();
      peer.destroy();
      await s.close(100);
    }
  });

  test("the deadline cuts requests that do not finish in time", async () => {
    const never = new Signal();
    const started = new Signal();
    const s = await local(
      slowApp(never.promise, () => {
        started.fire();
      }),
    );
    const peer = await Peer.connect({ port: s.port });
    try {
      await peer.write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
      await within(2000, "the request to start", started.promise);
      const t0 = Date.now();
      await within(2000, "close() to settle", s.server.close({ deadline: 200 }));
      const elapsed = Date.now() - t0;
      assert.ok(elapsed >= 150 && elapsed < 1500, `settled after ${elapsed} ms`);
      await peer.waitClosed(1000);
      assert.equal(peer.data.length, 0);
    } finally {
      never.fire();
      peer.destroy();
      await s.close(100);
    }
  });

  test("a request whose head is half received at close() is answered with Connection: close", async () => {
    const s = await local(hello);
    const peer = await Peer.connect({ port: s.port });
    const barrier = await Peer.connect({ port: s.port });
    try {
      await peer.write("GET / HTTP/1.1\r\nHost: x\r\n");
      // The half head was in the server's socket before this request was sent, so once this
      // one is answered the server has read the half head too (epoll reports both as ready).
      await barrier.write(GET);
      await barrier.responses(1);
      const closing = s.server.close();
      await barrier.waitClosed(1000); // idle: closed at once
      await assert.rejects(
        peer.until(() => peer.closed, 200, "close"),
        /timed out/,
        "a request begun is in flight, not idle",
      );
      await peer.write("\r\n");
      const [res] = await peer.responses(1);
      assert.equal(res?.status, 200);
      assert.equal(header(res, "connection"), "close");
      await peer.waitClosed(1000);
      await within(2000, "close() to settle", closing);
    } finally {
      peer.destroy();
      barrier.destroy();
      await s.close(100);
    }
  });

  test("clients waiting for a slot (maxSize) at close() are dropped unserved; closed settles", async () => {
    const s = serveOn(await listen(["127.0.0.1", 0]), hello, { maxSize: 1 });
    const port = (s.server.address as { port: number }).port;
    const served = await Peer.connect({ port });
    const waiting = await Peer.connect({ port });
    try {
      await served.write(GET);
      await served.responses(1);
      await waiting.write(GET);
      await assert.rejects(
        waiting.until(() => waiting.data.length > 0, 200, "anything"),
        /timed out/,
      );
      await within(2000, "close() to settle", s.server.close());
      await served.waitClosed(1000);
      await waiting.waitClosed(1000);
      assert.equal(waiting.data.length, 0);
    } finally {
      served.destroy();
      waiting.destroy();
      await s.close(100);
    }
  });

  test("an idle client that never closes its side does not hold close() up", async () => {
    const s = await local(hello);
    // allowHalfOpen: the client does not answer the server's FIN with its own.
    const client = net.connect({ host: "127.0.0.1", port: s.port, allowHalfOpen: true });
    const gotEnd = new Signal();
    client.on("end", () => {
      gotEnd.fire();
    });
    const answered = new Signal();
    client.on("data", () => {
      answered.fire();
    });
    try {
      await within(
        2000,
        "the connection",
        new Promise<void>((resolve, reject) => client.once("connect", resolve).once("error", reject)),
      );
      client.write(GET);
      await within(2000, "the response", answered.promise);
      await within(1000, "close() to settle without waiting for the client's FIN", s.server.close());
      await within(1000, "the client to see the server's end", gotEnd.promise);
    } finally {
      client.destroy();
      await s.close(100);
    }
  });

  test("close() with nothing open settles at once; calling it again returns the same promise", async () => {
    const s = await local(hello);
    const first = s.server.close();
    assert.equal(s.server.close(), first);
    await within(1000, "close() to settle", first);
    assert.equal(await refused(s.port), true);
  });
});

describe("the hello example", () => {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    test(`stops gracefully on ${signal} and logs (PID) wsgi exited`, async () => {
      const child = spawnNode([join(repoRoot, "dist", "examples", "hello.js")], { env: { PORT: "0" } });
      try {
        const [, port] = await child.waitOutput(/wsgi starting up on http:\/\/0\.0\.0\.0:(\d+)/, 5000);
        const peer = await Peer.connect({ port: Number(port) });
        try {
          await peer.write(GET);
          const [res] = await peer.responses(1);
          assert.equal(res?.body.toString(), "Hello, World!\r\n");
          child.proc.kill(signal);
          await peer.waitClosed(3000); // the idle keep-alive connection is closed
        } finally {
          peer.destroy();
        }
        assert.equal(await within(5000, "the example to exit", child.exited), 0);
        assert.match(child.stderr, new RegExp(`\\(${child.proc.pid}\\) wsgi exited`));
      } finally {
        await child.kill();
      }
    });
  }
});
