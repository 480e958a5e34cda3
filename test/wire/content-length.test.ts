/**
 * Bodies with a length: arrays get a Content-Length computed for them; an
 * app's own Content-Length is kept (once); no body at all for HEAD, 1xx,
 * 204, 304 and 2xx to CONNECT; a Date unless the app set one.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { App } from "../../src/index.js";
import { header, parseAll, rawExchange, withServer } from "../support/wire.js";
import { withClient } from "./client.js";

const GET = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

function countHeader(rawHead: string, name: string): number {
  return rawHead.split("\r\n").filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`)).length;
}

test("an array body gets a Content-Length of its UTF-8 bytes, and the connection stays open", async () => {
  const app: App = (_env, sr) => {
    sr("200 OK", [["Content-Type", "text/plain; charset=utf-8"]]);
    return ["caf\u00e9 ", new Uint8Array([0x41, 0x42]), "", Buffer.from("\u20ac")];
  };
  await withClient(app, {}, async (c) => {
    await c.write(GET);
    const [r] = await c.next();
    assert.ok(r);
    assert.equal(header(r, "content-length"), "11");
    assert.equal(header(r, "transfer-encoding"), undefined);
    assert.equal(header(r, "connection"), undefined);
    assert.deepEqual(r.body, Buffer.concat([Buffer.from("caf\u00e9 AB"), Buffer.from("\u20ac")]));
    await c.write(GET);
    assert.equal((await c.next())[0]?.status, 200, "kept alive");
  });
});

test("an empty array is Content-Length: 0 (eventlet's test_013_empty_return)", async () => {
  const app: App = (_env, sr) => {
    sr("200 OK", []);
    return [""];
  };
  await withServer(app, {}, async (s) => {
    const r = await rawExchange(s.port, "GET /foo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    assert.equal(r.closed, true);
    assert.ok(r.text.endsWith("\r\n\r\n"), r.text);
    const [res] = parseAll(r.data);
    assert.ok(res);
    assert.equal(header(res, "content-length"), "0");
    assert.equal(header(res, "connection"), "close");
  });
});

test("the app's Content-Length is sent once, not doubled (eventlet's test_016_repeated_content_length)", async () => {
  const app: App = (_env, sr) => {
    sr("200 OK", [["content-length", "7"]]);
    return ["testing"];
  };
  await withServer(app, {}, async (s) => {
    const r = await rawExchange(s.port, GET, { responses: 1 });
    const [res] = parseAll(r.data);
    assert.ok(res);
    assert.equal(countHeader(res.rawHead, "content-length"), 1);
    assert.match(res.rawHead, /\r\nContent-Length: 7\r\n/);
    assert.equal(res.body.toString(), "testing");
  });
});

test("write() with the app's Content-Length frames by length (eventlet's test_015_write /a)", async () => {
  const app: App = (_env, sr) => {
    const write = sr("200 OK", [
      ["Content-type", "text/plain"],
      ["Content-Length", "5"],
    ]);
    void write("abcde");
    return [];
  };
  await withClient(app, {}, async (c) => {
    await c.write(GET);
    const [r] = await c.next();
    assert.ok(r);
    assert.equal(header(r, "content-length"), "5");
    assert.equal(header(r, "transfer-encoding"), undefined);
    assert.equal(r.body.toString(), "abcde");
    await c.write(GET);
    assert.equal((await c.next())[0]?.body.toString(), "abcde");
  });
});

test("a body shorter than its Content-Length: the connection is closed after it, and it is logged", async () => {
  const app: App = (_env, sr) => {
    sr("200 OK", [["Content-Length", "10"]]);
    return (function* () {
      yield "short";
    })();
  };
  await withServer(app, {}, async (s) => {
    const r = await rawExchange(s.port, GET + GET);
    assert.equal(r.closed, true);
    assert.equal(r.text.split("HTTP/1.1 ").length - 1, 1, "the next request is not answered");
    assert.ok(r.text.endsWith("\r\n\r\nshort"));
    assert.match(s.log.error.join("\n"), /shorter than its Content-Length/);
  });
});

test("a body longer than its Content-Length is cut at the error and the connection closed", async () => {
  const app: App = (_env, sr) => {
    sr("200 OK", [["Content-Length", "3"]]);
    return (function* () {
      yield "abc";
      yield "def";
    })();
  };
  await withServer(app, { minimumChunkSize: 1 }, async (s) => {
    const r = await rawExchange(s.port, GET + GET);
    assert.equal(r.closed, true);
    assert.equal(r.text.includes("def"), false);
    assert.equal(r.text.split("HTTP/1.1 ").length - 1, 1);
    assert.match(s.log.error.join("\n"), /longer than its Content-Length/);
  });
});

test("HEAD: the head of the GET (Content-Length included) and no body; the connection stays usable", async () => {
  const app: App = (_env, sr) => {
    sr("200 OK", [["Content-Type", "text/plain"]]);
    return ["hello world"];
  };
  await withClient(app, {}, async (c) => {
    await c.write("HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    const [r] = await c.next(1, { head: true });
    assert.ok(r);
    assert.equal(r.status, 200);
    assert.equal(header(r, "content-length"), "11");
    await c.write(GET);
    const [g] = await c.next();
    assert.ok(g);
    assert.equal(g.body.toString(), "hello world", "no stray body bytes came after the HEAD response");
  });
});

test("HEAD with a generator: no body and no Transfer-Encoding", async () => {
  const app: App = (_env, sr) => {
    sr("200 OK", []);
    return (function* () {
      yield "streamed";
    })();
  };
  await withClient(app, {}, async (c) => {
    await c.write("HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    const [r] = await c.next(1, { head: true });
    assert.ok(r);
    assert.equal(header(r, "transfer-encoding"), undefined);
    await c.write("HEAD / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    await c.next(1, { head: true });
    await c.waitClosed();
    assert.equal(c.unread.length, 0, `no body bytes: ${JSON.stringify(c.unread.toString("latin1"))}`);
  });
});

test("204, 304 and a final 1xx carry no body, no Transfer-Encoding and no computed Content-Length", async () => {
  for (const status of ["204 No Content", "304 Not Modified", "101 Switching Protocols"]) {
    for (const kind of ["array", "generator"]) {
      const app: App = (_env, sr) => {
        sr(status, [["X-Kind", kind]]);
        return kind === "array"
          ? ["ignored"]
          : (function* () {
              yield "ignored";
            })();
      };
      await withServer(app, {}, async (s) => {
        const r = await rawExchange(s.port, "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        const label = `${status} ${kind}`;
        assert.equal(r.closed, true, label);
        assert.ok(r.text.endsWith("\r\n\r\n"), `${label}: ${r.text}`);
        assert.equal(r.text.includes("ignored"), false, label);
        assert.equal(/transfer-encoding/i.test(r.text), false, label);
        assert.equal(/content-length/i.test(r.text), false, label);
      });
    }
  }
});

test("an app's Content-Length is left out of 1xx, 204 and 2xx-to-CONNECT responses (RFC 9110 §8.6), kept on 304 and HEAD", async () => {
  const cases: { request: string; status: string; sent: boolean; body?: string }[] = [
    { request: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", status: "204 No Content", sent: false },
    { request: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", status: "101 Switching Protocols", sent: false },
    {
      request: "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
      status: "200 Connection Established",
      sent: false,
    },
    // 304 and HEAD: Content-Length is the size of the representation the client did not get (§8.6).
    { request: "GET / HTTP/1.1\r\nHost: x\r\n\r\n", status: "304 Not Modified", sent: true },
    { request: "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", status: "200 OK", sent: true },
    // A 2xx to anything but CONNECT, and a 4xx to CONNECT, keep theirs.
    {
      request: "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
      status: "403 Forbidden",
      sent: true,
      body: "denied!",
    },
  ];
  for (const { request, status, sent, body } of cases) {
    const app: App = (_env, sr) => {
      sr(status, [["Content-Length", "7"]]);
      return body === undefined ? [] : [body];
    };
    await withServer(app, {}, async (s) => {
      const label = `${request.split(" ")[0]} → ${status}`;
      const r = await rawExchange(s.port, request, { responses: 1, head: body === undefined, timeoutMs: 1000 });
      assert.equal(r.text.startsWith(`HTTP/1.1 ${status}\r\n`), true, `${label}: ${r.text}`);
      assert.equal(/\r\nContent-Length: 7\r\n/.test(r.text), sent, `${label}: ${r.text}`);
      assert.equal(/transfer-encoding/i.test(r.text), false, label);
      assert.ok(r.text.endsWith(`\r\n\r\n${body ?? ""}`), `${label}: ${r.text}`);
      assert.deepEqual(s.log.error, [], label);
    });
  }
});

test("a final 1xx from an app that did not take the socket over closes the connection: HTTP cannot go on after it", async () => {
  for (const status of ["101 Switching Protocols", "103 Early Hints"]) {
    const app: App = (_env, sr) => {
      sr(status, [["Upgrade", "something"]]);
      return [];
    };
    await withServer(app, {}, async (s) => {
      const r = await rawExchange(s.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", { timeoutMs: 2000 });
      assert.equal(r.closed, true, `${status}: ${r.text}`);
      assert.match(r.text, new RegExp(`^HTTP/1\\.1 ${status}\\r\\n`));
      assert.match(r.text, /\r\nConnection: close\r\n\r\n$/);
    });
  }
});

test("a 2xx to CONNECT has no body, no Transfer-Encoding and no Content-Length (RFC 9110 §8.6)", async () => {
  const app: App = (_env, sr) => {
    sr("200 Connection Established", []);
    return ["ignored"];
  };
  await withServer(app, {}, async (s) => {
    const r = await rawExchange(s.port, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", {
      responses: 1,
      head: true,
      timeoutMs: 1000,
    });
    assert.match(r.text, /^HTTP\/1\.1 200 Connection Established\r\n/);
    assert.ok(r.text.endsWith("\r\n\r\n"), r.text);
    assert.equal(/transfer-encoding|content-length/i.test(r.text), false, r.text);
    assert.equal(r.text.includes("ignored"), false);
  });
});

test("a Date header is added, unless the app set one (in any case)", async () => {
  const app: App = (env, sr) => {
    sr("200 OK", env.PATH_INFO === "/own" ? [["date", "Sun, 06 Nov 1994 08:49:37 GMT"]] : []);
    return ["x"];
  };
  await withServer(app, {}, async (s) => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const [added] = parseAll((await rawExchange(s.port, GET, { responses: 1 })).data);
    assert.ok(added);
    const date = header(added, "date");
    assert.ok(date);
    assert.match(date, /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    const t = Date.parse(date);
    assert.ok(t >= before && t <= Date.now(), `${date} is now`);
    const [own] = parseAll((await rawExchange(s.port, "GET /own HTTP/1.1\r\nHost: x\r\n\r\n", { responses: 1 })).data);
    assert.ok(own);
    assert.equal(countHeader(own.rawHead, "date"), 1);
    assert.equal(header(own, "date"), "Sun, 06 Nov 1994 08:49:37 GMT");
  });
});
