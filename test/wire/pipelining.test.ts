/**
 * Pipelining: several requests in one write are answered in order, whatever
 * each app call waits for; after a framing error, or a request that closes
 * the connection, nothing that follows is answered (or even seen by the app).
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import type net from "node:net";
import { listen, server, type App } from "../../src/index.js";
import { captureLog, header, parseAll, rawExchange, withServer, pathApp } from "../support/wire.js";
import { RawClient, withClient } from "./client.js";
import { Signal, until } from "../support/wait.js";
import { itemAt } from "../support/item-at.js";

const get = (path: string, extra = ""): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

/** Answers with the path; paths starting with /slow wait a few turns of the event loop first. */
function pathEcho(seen: string[]): App {
  return async (env, sr) => {
    seen.push(env.PATH_INFO);
    if (env.PATH_INFO.startsWith("/slow")) {
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    }
    const body = await env["wsgi.input"].read();
    sr("200 OK", []);
    return [`${env.PATH_INFO}:${body.toString()}`];
  };
}

test("requests in one write are answered in order, slow ones included", async () => {
  const seen: string[] = [];
  await withServer(pathEcho(seen), {}, async (s) => {
    const paths = ["/1", "/slow2", "/3", "/slow4", "/5"];
    const r = await rawExchange(s.port, paths.map((p) => get(p)).join(""), { responses: paths.length });
    assert.deepEqual(
      parseAll(r.data).map((x) => x.body.toString()),
      paths.map((p) => `${p}:`),
    );
    assert.deepEqual(seen, paths, "one request at a time, in order");
  });
});

test("pipelined requests with bodies, both framings, in one write", async () => {
  await withServer(pathEcho([]), {}, async (s) => {
    const bytes =
      "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" +
      "POST /slow-b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nwor\r\n2\r\nld\r\n0\r\n\r\n" +
      get("/c") +
      "POST /d HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
    const r = await rawExchange(s.port, bytes, { responses: 4 });
    assert.deepEqual(
      parseAll(r.data).map((x) => x.body.toString()),
      ["/a:hello", "/slow-b:world", "/c:", "/d:"],
    );
  });
});

test("pipelined requests arriving one byte at a time are answered in order", async () => {
  await withServer(pathEcho([]), {}, async (s) => {
    const bytes =
      get("/1") + "POST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" + get("/3", "Connection: close\r\n");
    const r = await rawExchange(s.port, "", { pieces: Array.from(bytes) });
    assert.equal(r.closed, true);
    assert.deepEqual(
      parseAll(r.data).map((x) => x.body.toString()),
      ["/1:", "/2:abc", "/3:"],
    );
  });
});

test("many small pipelined requests in one write (a batch)", async () => {
  await withServer(pathApp, {}, async (s) => {
    const n = 200;
    const bytes = Array.from({ length: n }, (_, i) => get(`/${i}`)).join("");
    const r = await rawExchange(s.port, bytes, { responses: n, timeoutMs: 5000 });
    const bodies = parseAll(r.data).map((x) => x.body.toString());
    assert.deepEqual(
      bodies,
      Array.from({ length: n }, (_, i) => `/${i}`),
    );
  });
});

test("after a malformed request nothing that follows is answered", async () => {
  const seen: string[] = [];
  await withServer(pathEcho(seen), {}, async (s) => {
    for (const bad of [
      "BAD REQUEST LINE\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ]) {
      seen.length = 0;
      const r = await rawExchange(s.port, get("/first") + bad + get("/after"));
      assert.equal(r.closed, true, bad);
      const responses = parseAll(r.data);
      assert.equal(itemAt(responses, 0).body.toString(), "/first:", bad);
      assert.ok(responses.length <= 2, bad);
      if (responses.length === 2) assert.equal(itemAt(responses, 1).status >= 400, true, bad);
      assert.equal(seen.includes("/after"), false, `${JSON.stringify(bad)}: /after reached the app`);
      assert.equal(r.text.includes("/after"), false, bad);
    }
  });
});

test("after a request with Connection: close, pipelined requests are not answered", async () => {
  const seen: string[] = [];
  await withServer(pathEcho(seen), {}, async (s) => {
    const r = await rawExchange(s.port, get("/1") + get("/slow2", "Connection: close\r\n") + get("/3"));
    assert.equal(r.closed, true);
    assert.deepEqual(
      parseAll(r.data).map((x) => x.body.toString()),
      ["/1:", "/slow2:"],
    );
    assert.deepEqual(seen, ["/1", "/slow2"]);
  });
});

test("after an application error, pipelined requests are not answered", async () => {
  const seen: string[] = [];
  const app: App = (env, sr) => {
    seen.push(env.PATH_INFO);
    if (env.PATH_INFO === "/boom") throw new Error("boom");
    sr("200 OK", []);
    return [env.PATH_INFO];
  };
  await withServer(app, {}, async (s) => {
    const r = await rawExchange(s.port, get("/1") + get("/boom") + get("/3"));
    assert.equal(r.closed, true);
    assert.deepEqual(
      parseAll(r.data).map((x) => x.status),
      [200, 500],
    );
    assert.deepEqual(seen, ["/1", "/boom"]);
  });
});

test("a pipelined request behind an unread body: the body is discarded, the request answered", async () => {
  await withClient(pathApp, {}, async (c) => {
    await c.write("POST /ignored-body HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789" + get("/next"));
    const responses = await c.next(2);
    assert.deepEqual(
      responses.map((x) => x.body.toString()),
      ["/ignored-body", "/next"],
    );
  });
});

/**
 * On a server for `app`, writes `bytes` (their first request is /held, which
 * the app holds until `gate` fires) and half-closes: the client sends nothing
 * more, but still reads. It then gives the server 100 ms to read the FIN, as
 * no event tells that it has (on loopback that is ample; were it late, the
 * test would still pass, only not exercise the FIN-first order), releases
 * /held and runs `check`.
 */
async function halfCloseBehind(
  app: App,
  gate: Signal,
  bytes: string,
  check: (c: RawClient) => Promise<void>,
): Promise<void> {
  await withClient(app, {}, async (c) => {
    try {
      await c.write(bytes);
      c.end();
      await delay(100);
      gate.fire();
      await check(c);
    } finally {
      gate.fire();
    }
  });
}

test("requests pipelined before a half-close are all answered, in order, then the connection is closed", async () => {
  const seen: string[] = [];
  const gate = new Signal();
  const app: App = async (env, sr) => {
    seen.push(env.PATH_INFO);
    if (env.PATH_INFO === "/held") await gate.promise;
    sr("200 OK", []);
    return [env.PATH_INFO];
  };
  await halfCloseBehind(app, gate, get("/held") + get("/2") + get("/3"), async (c) => {
    const responses = await c.next(3);
    assert.deepEqual(
      responses.map((x) => x.body.toString()),
      ["/held", "/2", "/3"],
    );
    assert.equal(header(itemAt(responses, 2), "connection"), "close", "the last answer says the connection closes");
    await c.waitClosed();
    assert.deepEqual(seen, ["/held", "/2", "/3"]);
  });
});

test("a partial request left behind a half-close is not waited for: the connection is closed", async () => {
  const gate = new Signal();
  const app: App = async (env, sr) => {
    if (env.PATH_INFO === "/held") await gate.promise;
    sr("200 OK", []);
    return [env.PATH_INFO];
  };
  await halfCloseBehind(app, gate, get("/held") + "GET /never-finished HTTP/1.1\r\nHo", async (c) => {
    const [r] = await c.next(1);
    assert.ok(r);
    assert.equal(r.body.toString(), "/held");
    await c.waitClosed();
    assert.equal(c.unread.length, 0, "nothing answers the partial request");
  });
});

test("a request pipelined before a half-close with its body cut short: its read rejects, it does not hang", async () => {
  const gate = new Signal();
  const app: App = async (env, sr) => {
    if (env.PATH_INFO === "/held") await gate.promise;
    let outcome: string;
    try {
      outcome = `read ${(await env["wsgi.input"].read()).length}`;
    } catch (err) {
      outcome = `rejected ${(err as { code?: string }).code}`;
    }
    sr("200 OK", []);
    return [`${env.PATH_INFO} ${outcome}`];
  };
  // The server reads the FIN while /held runs, before /short starts.
  await halfCloseBehind(
    app,
    gate,
    get("/held") + "POST /short HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello",
    async (c) => {
      const responses = await c.next(2);
      assert.deepEqual(
        responses.map((x) => x.body.toString()),
        ["/held read 0", "/short rejected ERR_CLIENT_DISCONNECTED"],
      );
      await c.waitClosed();
    },
  );
});

test("pipelined bytes past the high-water mark stay paused while the app reads its complete body", async () => {
  const sock = await listen(["127.0.0.1", 0]);
  // The server side of the connection, to see whether it is paused (the pause has no event of its own).
  let serverSide: net.Socket | null = null;
  let resumedDuringApp = 0;
  let appRunning = false;
  (sock as unknown as { netServer: net.Server }).netServer.on("connection", (s: net.Socket) => {
    serverSide = s;
    s.on("resume", () => {
      if (appRunning) resumedDuringApp++;
    });
  });
  const readsWhilePaused: boolean[] = [];
  const app: App = async (env, sr) => {
    if (env.PATH_INFO === "/slow") {
      appRunning = true;
      await until(3000, "the server to pause for the pipelined flood", () => serverSide?.isPaused() === true);
      for (let i = 0; i < 5; i++) {
        await env["wsgi.input"].read(1);
        assert.ok(serverSide);
        readsWhilePaused.push(serverSide.isPaused());
      }
      appRunning = false;
    }
    sr("200 OK", [["Content-Length", "2"]]);
    return ["ok"];
  };
  const { logger } = captureLog();
  const srv = server(sock, app, { log: logger });
  try {
    const port = (srv.address as { port: number }).port;
    const pad = "a".repeat(4000);
    const flood = Array.from({ length: 40 }, () => `GET /p HTTP/1.1\r\nHost: x\r\nX-Pad: ${pad}\r\n\r\n`).join("");
    const r = await rawExchange(port, "POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" + flood, {
      responses: 41,
      timeoutMs: 5000,
    });
    assert.equal(parseAll(r.data).length, 41, "every request answered once the slow one is done");
    assert.deepEqual(readsWhilePaused, [true, true, true, true, true]);
    assert.equal(resumedDuringApp, 0, "not resumed by the app's reads of a complete body");
  } finally {
    await srv.close({ deadline: 500 });
  }
});
