/**
 * Persistent connections exactly as eventlet keeps them: HTTP/1.1 unless
 * `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`,
 * echoed (with `Keep-Alive: timeout=N` when keepalive is a number);
 * keepalive: false → one request a connection; maxHttpVersion "HTTP/1.0".
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { App } from "../../src/index.js";
import { header, hello, parseAll, rawExchange, withServer, heldApp } from "../support/wire.js";
import { RawClient, withClient } from "./client.js";
import { Signal, within } from "../support/wait.js";
import { itemAt } from "../support/item-at.js";

/** Sends `requests` one after the other on one connection; returns the responses and whether it closed after the last. */
async function converse(port: number, requests: string[]) {
  const client = await RawClient.connect(port);
  const responses = [];
  try {
    for (const req of requests) {
      await client.write(req);
      const [r] = await client.next(1, { head: req.startsWith("HEAD") });
      assert.ok(r);
      responses.push(r);
    }
  } catch (err) {
    client.destroy();
    throw err;
  }
  // The caller looks at `client` (closed or not), then destroys it.
  return { responses, client };
}

test("HTTP/1.1 is persistent by default, with no Connection header (test_002_keepalive)", async () => {
  await withServer(hello, {}, async (s) => {
    const { responses, client } = await converse(
      s.port,
      Array.from({ length: 3 }, () => "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"),
    );
    try {
      for (const r of responses) {
        assert.equal(r.statusLine, "HTTP/1.1 200 OK");
        assert.equal(header(r, "connection"), undefined);
        assert.equal(header(r, "keep-alive"), undefined);
      }
      assert.equal(client.closed, false);
    } finally {
      client.destroy();
    }
  });
});

test("HTTP/1.1 Connection: close is answered with Connection: close, then the close (test_004_close_keepalive)", async () => {
  await withClient(hello, {}, async (c) => {
    await c.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert.equal(itemAt(await c.next(), 0).status, 200);
    await c.write("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    const [r2] = await c.next();
    assert.ok(r2);
    assert.equal(r2.statusLine, "HTTP/1.1 200 OK");
    assert.equal(header(r2, "connection"), "close");
    await c.waitClosed();
    assert.equal(c.unread.length, 0);
  });
});

test("Connection tokens are matched case-insensitively and within a list", async () => {
  await withServer(hello, {}, async (s) => {
    for (const value of ["CLOSE", "Upgrade, close", " close "]) {
      const c = await RawClient.connect(s.port);
      try {
        await c.write(`GET / HTTP/1.1\r\nHost: x\r\nConnection: ${value}\r\n\r\n`);
        const [r] = await c.next();
        assert.ok(r);
        assert.equal(header(r, "connection"), "close", value);
        await c.waitClosed();
      } finally {
        c.destroy();
      }
    }
  });
});

test("HTTP/1.0 closes unless the client asks for keep-alive", async () => {
  await withClient(hello, {}, async (c) => {
    await c.write("GET / HTTP/1.0\r\nHost: localhost\r\n\r\n");
    const [r] = await c.next();
    assert.ok(r);
    assert.equal(r.statusLine, "HTTP/1.1 200 OK", "the server answers with its own version, as eventlet");
    assert.equal(header(r, "connection"), "close");
    assert.equal(r.body.toString(), "Hello, World!\r\n");
    await c.waitClosed();
  });
});

test("HTTP/1.0 with Connection: keep-alive is kept alive and told so (test_018_http_10_keepalive)", async () => {
  await withServer(hello, {}, async (s) => {
    const req = "GET / HTTP/1.0\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n";
    const { responses, client } = await converse(s.port, [req, req]);
    try {
      for (const r of responses) {
        assert.equal(header(r, "connection"), "keep-alive");
        assert.equal(header(r, "keep-alive"), undefined, "no Keep-Alive header when keepalive is true");
      }
      assert.equal(client.closed, false);
    } finally {
      client.destroy();
    }
  });
});

test("HTTP/1.0 keep-alive: a body the app never reads, shaped like a request, is discarded, not served (test_018b_http_10_keepalive_framing)", async () => {
  const seen: string[] = [];
  const app: App = (env, sr) => {
    seen.push(env.PATH_INFO);
    sr("200 OK", [["Content-Type", "text/plain"]]);
    return [`response ${env.PATH_INFO}`];
  };
  await withServer(app, {}, async (s) => {
    const smuggled = "GET /tricksy HTTP/1.1\r\n";
    const put = (path: string, extra = ""): string =>
      `PUT ${path} HTTP/1.0\r\nHost: localhost\r\nConnection: keep-alive\r\nContent-Length: ${smuggled.length}\r\n${extra}\r\n${smuggled}`;
    const { responses, client } = await converse(s.port, [
      put("/1"),
      // eventlet honours Expect on HTTP/1.0 and so closes here; RFC 9110 §10.1.1 says a server MUST
      // ignore it in an HTTP/1.0 request, so the body (sent at once, as such a client does) is
      // discarded like any other and the connection stays usable.
      put("/2", "Expect: 100-continue\r\n"),
      "PUT /3 HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    ]);
    try {
      assert.deepEqual(
        responses.map((r) => [r.status, r.body.toString(), header(r, "connection")]),
        [
          [200, "response /1", "keep-alive"],
          [200, "response /2", "keep-alive"],
          [200, "response /3", "close"],
        ],
      );
      assert.equal(client.text.includes("100 Continue"), false, "no 100 to an HTTP/1.0 client (RFC 9110 §15.2)");
      await client.waitClosed();
      assert.deepEqual(seen, ["/1", "/2", "/3"], "the body was never read as a request");
    } finally {
      client.destroy();
    }
  });
});

test("with keepalive a number, Keep-Alive: timeout=N goes to clients that sent Connection: keep-alive", async () => {
  await withServer(hello, { keepalive: 7.9 }, async (s) => {
    const { responses, client } = await converse(s.port, [
      "GET / HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ]);
    try {
      assert.equal(header(itemAt(responses, 0), "connection"), "keep-alive");
      assert.equal(header(itemAt(responses, 0), "keep-alive"), "timeout=7");
      assert.equal(header(itemAt(responses, 1), "connection"), "keep-alive");
      assert.equal(header(itemAt(responses, 1), "keep-alive"), "timeout=7");
      assert.equal(header(itemAt(responses, 2), "connection"), undefined);
      assert.equal(header(itemAt(responses, 2), "keep-alive"), undefined);
    } finally {
      client.destroy();
    }
  });
});

test("with keepalive a number, an idle connection is closed after that many seconds", async () => {
  await withClient(hello, { keepalive: 0.2 }, async (c) => {
    await c.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await c.next();
    const idleFrom = Date.now();
    await c.waitClosed(3000);
    assert.ok(Date.now() - idleFrom >= 150, "not before the idle time");
  });
});

test("the keepalive timeout does not cut a request in progress", async () => {
  const release = new Signal();
  const app: App = async (_env, sr) => {
    await within(3000, "the test to release the app", release.promise);
    sr("200 OK", []);
    return ["late"];
  };
  await withClient(app, { keepalive: 0.1 }, async (c) => {
    await c.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    // Longer than the keepalive time: the server sweeps at least twice meanwhile.
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(c.closed, false);
    release.fire();
    const [r] = await c.next();
    assert.ok(r);
    assert.equal(r.body.toString(), "late");
  });
});

test("keepalive: false (or 0) serves one request a connection, with Connection: close (test_026_http_10_nokeepalive)", async () => {
  for (const keepalive of [false, 0]) {
    await withServer(hello, { keepalive }, async (s) => {
      for (const req of [
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n",
      ]) {
        const c = await RawClient.connect(s.port);
        try {
          await c.write(req + req);
          const [r] = await c.next();
          assert.ok(r);
          assert.equal(header(r, "connection"), "close", `${keepalive} ${req}`);
          await c.waitClosed();
          assert.equal(c.unread.length, 0, "the second request is not answered");
        } finally {
          c.destroy();
        }
      }
    });
  }
});

test("maxHttpVersion HTTP/1.0: HTTP/1.0 status lines, no chunking, keep-alive only on request", async () => {
  const app: App = (env, sr) => {
    sr("200 OK", []);
    return env.PATH_INFO === "/stream"
      ? (function* () {
          yield "streamed";
        })()
      : ["array"];
  };
  await withServer(app, { maxHttpVersion: "HTTP/1.0" }, async (s) => {
    const c = await RawClient.connect(s.port);
    try {
      await c.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n");
      const [r1] = await c.next();
      assert.ok(r1);
      assert.equal(r1.statusLine, "HTTP/1.0 200 OK");
      assert.equal(header(r1, "connection"), "keep-alive");
      await c.write("GET /stream HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n");
      await c.waitClosed();
      const rest = c.unread.toString("latin1");
      assert.match(rest, /^HTTP\/1\.0 200 OK\r\n/);
      assert.equal(/transfer-encoding/i.test(rest), false);
      assert.match(rest, /\r\nConnection: close\r\n/);
      assert.ok(rest.endsWith("\r\n\r\nstreamed"));
    } finally {
      c.destroy();
    }
    // An HTTP/1.1 request without keep-alive is one request a connection, as eventlet with max 1.0.
    const c2 = await RawClient.connect(s.port);
    try {
      await c2.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
      const [r] = await c2.next();
      assert.ok(r);
      assert.equal(r.statusLine, "HTTP/1.0 200 OK");
      assert.equal(header(r, "connection"), "close");
      await c2.waitClosed();
    } finally {
      c2.destroy();
    }
  });
});

test("the app's Connection: close closes the connection; its Keep-Alive and Transfer-Encoding are the server's business", async () => {
  const app: App = (env, sr) => {
    sr(
      "200 OK",
      env.PATH_INFO === "/close"
        ? [["Connection", "close"]]
        : [
            ["Keep-Alive", "timeout=999"],
            ["Transfer-Encoding", "chunked"],
            ["Connection", "keep-alive"],
          ],
    );
    return ["x"];
  };
  await withClient(app, {}, async (c) => {
    await c.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const [r] = await c.next();
    assert.ok(r);
    assert.equal(header(r, "keep-alive"), undefined);
    assert.equal(header(r, "transfer-encoding"), undefined);
    assert.equal(header(r, "content-length"), "1");
    assert.equal(r.body.toString(), "x");
    await c.write("GET /close HTTP/1.1\r\nHost: x\r\n\r\n");
    const [r2] = await c.next();
    assert.ok(r2);
    assert.equal(r2.headers.filter(([n]) => n === "connection").length, 1);
    assert.equal(header(r2, "connection"), "close");
    await c.waitClosed();
  });
});

test("kept-alive connections with chunked request bodies (test_027_keepalive_chunked)", async () => {
  const app: App = async (env, sr) => {
    const input = env["wsgi.input"];
    let body = "";
    if (env.PATH_INFO === "/a") body = (await input.read()).toString();
    else if (env.PATH_INFO === "/b")
      for (let b = await input.read(4096); b.length > 0; b = await input.read(4096)) body += b.toString();
    else for (let b = await input.read(1); b.length > 0; b = await input.read(1)) body += b.toString();
    sr("200 OK", []);
    return [body];
  };
  await withServer(app, {}, async (s) => {
    const suffix = "Host: localhost\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n";
    const { responses, client } = await converse(
      s.port,
      ["/a", "/b", "/c", "/a"].map((p) => `PUT ${p} HTTP/1.1\r\n${suffix}`),
    );
    try {
      assert.deepEqual(
        responses.map((r) => r.body.toString()),
        Array(4).fill("0123456789abcdef"),
      );
    } finally {
      client.destroy();
    }
  });
});

test("a request in progress when the server closes gets Connection: close", async () => {
  const { app, started, release } = heldApp("bye");
  await withClient(app, {}, async (c, s) => {
    await c.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await within(2000, "the app to start", started.promise);
    const closing = s.server.close({ deadline: 2000 });
    release.fire();
    const [r] = await c.next();
    assert.ok(r);
    assert.equal(r.body.toString(), "bye");
    assert.equal(header(r, "connection"), "close");
    await c.waitClosed();
    await within(2000, "the server to close", closing);
  });
});

test("after a synchronous app that ran longer than the keepalive time, the connection is not taken for idle at once", async () => {
  // A timer cannot fire during synchronous work: the coarse clock's reading is as old as
  // the app's run, and an idle time stamped with it would be over already (clock.ts).
  let first = true;
  const app: App = (_env, sr) => {
    if (first) {
      first = false;
      const until = Date.now() + 1200;
      while (Date.now() < until) {
        // busy: a synchronous app, bounded by the clock
      }
    }
    sr("200 OK", [["Content-Length", "2"]]);
    return ["ok"];
  };
  await withClient(app, { keepalive: 1 }, async (c) => {
    await c.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.equal(itemAt(await c.next(), 0).status, 200);
    // The sweep is overdue by now: with a stale idle stamp it closes the connection before this arrives.
    await c.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const [r] = await c.next();
    assert.ok(r);
    assert.equal(r.status, 200);
    assert.equal(c.closed, false);
  });
});

test("after a 2xx to CONNECT the connection closes: the tunnel's bytes are never parsed as a request", async () => {
  let calls = 0;
  const app: App = (_env, sr) => {
    calls++;
    sr("200 Connection Established", []);
    return [];
  };
  await withServer(app, {}, async (s) => {
    const r = await rawExchange(
      s.port,
      "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\nGET /inside HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert.equal(r.closed, true, "the server closes after the tunnel's 200");
    assert.equal(parseAll(r.data).length, 1);
    assert.equal(calls, 1);
  });
});
