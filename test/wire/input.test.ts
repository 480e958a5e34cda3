/**
 * wsgi.input over real sockets: every read call on Content-Length and
 * chunked bodies alike, discard, getSocket, malformed chunks, clients that
 * leave mid-body, and the discard of an unread body between requests.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import net from "node:net";
import { test } from "node:test";
import { ChunkReadError, ClientDisconnectedError, type App, type Environ, type Input } from "../../src/index.js";
import { header, parseAll, rawExchange, withServer, pathApp } from "../support/wire.js";
import { RawClient, withClient } from "./client.js";
import { Signal, within } from "../support/wait.js";
import { itemAt } from "../support/item-at.js";

const TEXT = "this is chunked\nline 2\nline3";

function chunked(pieces: string[], ext = ""): string {
  return pieces.map((p) => `${Buffer.byteLength(p, "latin1").toString(16)}${ext}\r\n${p}\r\n`).join("") + "0\r\n\r\n";
}

/** The same body, framed both ways. */
const framings: Record<string, (path: string) => string> = {
  "Content-Length": (path) => `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${TEXT.length}\r\n\r\n${TEXT}`,
  chunked: (path) =>
    `POST ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n` +
    chunked(["this", " is ", "chunked", "\nline", " 2", "\n", "line3"]),
};

/** Each path reads the body its own way and answers with the pieces it got, as JSON. */
const readers: Record<string, (input: Input) => Promise<string[]>> = {
  "/read": async (input) => [(await input.read()).toString("latin1"), (await input.read()).toString("latin1")],
  "/read4": async (input) => {
    const out: string[] = [];
    for (let i = 0; i < 100; i++) {
      const b = await input.read(4);
      out.push(b.toString("latin1"));
      if (b.length === 0) break;
    }
    return out;
  },
  "/read1": async (input) => {
    let s = "";
    for (let i = 0; i < 100; i++) {
      const b = await input.read(1);
      if (b.length === 0) break;
      assert.equal(b.length, 1);
      s += b.toString("latin1");
    }
    return [s];
  },
  "/readline": async (input) => {
    const out: string[] = [];
    for (let i = 0; i < 100; i++) {
      const b = await input.readline();
      out.push(b.toString("latin1"));
      if (b.length === 0) break;
    }
    return out;
  },
  "/readline3": async (input) => {
    const out: string[] = [];
    for (let i = 0; i < 100; i++) {
      const b = await input.readline(3);
      out.push(b.toString("latin1"));
      if (b.length === 0) break;
    }
    return out;
  },
  "/readlines": async (input) => (await input.readlines()).map((b) => b.toString("latin1")),
  "/readlines-hint": async (input) => [
    ...(await input.readlines(5)).map((b) => b.toString("latin1")),
    "--",
    ...(await input.readlines(1)).map((b) => b.toString("latin1")),
  ],
  "/iterate": async (input) => {
    let s = "";
    for await (const chunk of input) s += chunk.toString("latin1");
    return [s];
  },
  "/discard": async (input) => {
    await input.discard();
    return [(await input.read()).toString("latin1"), "discarded"];
  },
  "/zero": async (input) => [
    (await input.read(0)).toString("latin1"),
    (await input.readline(0)).toString("latin1"),
    (await input.read(3)).toString("latin1"),
  ],
};

const expected: Record<string, string[]> = {
  "/read": [TEXT, ""],
  "/read4": ["this", " is ", "chun", "ked\n", "line", " 2\nl", "ine3", ""],
  "/read1": [TEXT],
  "/readline": ["this is chunked\n", "line 2\n", "line3", ""],
  "/readline3": ["thi", "s i", "s c", "hun", "ked", "\n", "lin", "e 2", "\n", "lin", "e3", ""],
  "/readlines": ["this is chunked\n", "line 2\n", "line3"],
  "/readlines-hint": ["this is chunked\n", "--", "line 2\n"],
  "/iterate": [TEXT],
  "/discard": ["", "discarded"],
  "/zero": ["", "", "thi"],
};

const readerApp: App = async (env, sr) => {
  const read = readers[env.PATH_INFO];
  if (read === undefined) throw new Error(`no reader for ${env.PATH_INFO}`);
  const pieces = await read(env["wsgi.input"]);
  sr("200 OK", [["Content-Type", "application/json"]]);
  return [JSON.stringify(pieces)];
};

test("read, read(n), readline, readline(n), readlines, readlines(hint), iteration, discard: same results for both framings", async () => {
  await withServer(readerApp, {}, async (s) => {
    for (const [framing, request] of Object.entries(framings)) {
      // All on one kept-alive connection: each request's body is read exactly.
      const c = await RawClient.connect(s.port);
      try {
        for (const path of Object.keys(readers)) {
          await c.write(request(path));
          const [r] = await c.next();
          assert.ok(r);
          assert.equal(r.status, 200, `${framing} ${path}: ${r.body.toString()}`);
          assert.deepEqual(JSON.parse(r.body.toString("latin1")), expected[path], `${framing} ${path}`);
        }
      } finally {
        c.destroy();
      }
    }
    assert.deepEqual(s.log.error, []);
  });
});

test("the same reads with the body arriving one byte at a time", async () => {
  await withServer(readerApp, {}, async (s) => {
    for (const [framing, request] of Object.entries(framings)) {
      for (const path of ["/read4", "/readline3", "/readlines", "/iterate"]) {
        const bytes = request(path).replace("Host: x\r\n", "Host: x\r\nConnection: close\r\n");
        const r = await rawExchange(s.port, "", { pieces: Array.from(bytes) });
        const [res] = parseAll(r.data);
        assert.ok(res);
        assert.deepEqual(JSON.parse(res.body.toString("latin1")), expected[path], `${framing} ${path}`);
      }
    }
  });
});

test("an unread body is discarded before the next request on a kept-alive connection (eventlet's test_short_read, ping)", async () => {
  const app: App = async (env, sr) => {
    const body = env.PATH_INFO === "/short-read" ? await env["wsgi.input"].read(10) : Buffer.from("pong");
    sr("200 OK", []);
    return [body];
  };
  await withServer(app, {}, async (s) => {
    for (const [framing, request] of Object.entries(framings)) {
      const c = await RawClient.connect(s.port);
      try {
        await c.write(request("/short-read"));
        const [r] = await c.next();
        assert.ok(r);
        assert.equal(r.body.toString(), "this is ch", framing);
        assert.equal(header(r, "connection"), undefined, framing);
        await c.write("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n");
        const [p] = await c.next();
        assert.ok(p);
        assert.equal(p.body.toString(), "pong", framing);
      } finally {
        c.destroy();
      }
    }
  });
});

test("a large body the app never reads is discarded, and the next request is served", async () => {
  const big = Buffer.alloc(1024 * 1024, 0x7a);
  await withClient(pathApp, {}, async (c) => {
    await c.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${big.length}\r\n\r\n`);
    const [r] = await c.next();
    assert.ok(r);
    assert.equal(r.body.toString(), "/upload");
    await c.write(big);
    await c.write("GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
    const [a] = await c.next(1, { timeoutMs: 5000 });
    assert.ok(a);
    assert.equal(a.body.toString(), "/after");
  });
});

test("a malformed chunk in a body the app left unread: nothing after it is a request, the connection closes, and it is logged", async () => {
  const seen: string[] = [];
  const app: App = (env, sr) => {
    seen.push(env.PATH_INFO);
    sr("200 OK", []);
    return [env.PATH_INFO];
  };
  await withClient(app, {}, async (c, s) => {
    await c.write("POST /unread HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    const [r] = await c.next();
    assert.ok(r);
    assert.equal(r.body.toString(), "/unread");
    assert.equal(header(r, "connection"), undefined, "kept alive: the rest of the body will be discarded");
    await c.write("zz\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n");
    await c.waitClosed();
    assert.equal(c.unread.length, 0, "no answer to anything after the bad chunk");
    assert.deepEqual(seen, ["/unread"]);
    assert.match(s.log.debug.join("\n"), /bad request body from 127\.0\.0\.1 while discarding it: invalid chunk size/);
  });
});

test("a large upload read slowly arrives whole and in order (backpressure), both framings", async () => {
  const big = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
  const digest = createHash("sha256").update(big).digest("hex");
  const app: App = async (env, sr) => {
    const hash = createHash("sha256");
    let total = 0;
    for (let i = 0; i < 10_000; i++) {
      const b = await env["wsgi.input"].read(65536);
      if (b.length === 0) break;
      total += b.length;
      hash.update(b);
      await new Promise((r) => setImmediate(r));
    }
    sr("200 OK", []);
    return [`${total} ${hash.digest("hex")}`];
  };
  await withClient(app, {}, async (c) => {
    await c.write(`PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: ${big.length}\r\n\r\n`);
    await c.write(big);
    const [r] = await c.next(1, { timeoutMs: 5000 });
    assert.ok(r);
    assert.equal(r.body.toString(), `${big.length} ${digest}`);
    await c.write("PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (let off = 0; off < big.length; off += 100_000) {
      const part = big.subarray(off, Math.min(off + 100_000, big.length));
      await c.write(Buffer.concat([Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from("\r\n")]));
    }
    await c.write("0\r\n\r\n");
    const [r2] = await c.next(1, { timeoutMs: 5000 });
    assert.ok(r2);
    assert.equal(r2.body.toString(), `${big.length} ${digest}`);
  });
});

test("iterating wsgi.input yields the whole body (eventlet's test_032_wsgi_input_as_iterable)", async () => {
  const upload = "123456789abcdef".repeat(100);
  const app: App = (env, sr) => {
    sr("200 OK", [["Content-type", "text/plain"]]);
    return (async function* () {
      for await (const chunk of env["wsgi.input"]) yield chunk;
    })();
  };
  await withServer(app, {}, async (s) => {
    const r = await rawExchange(
      s.port,
      `POST / HTTP/1.0\r\nHost: localhost\r\nContent-Length: ${upload.length}\r\n\r\n${upload}`,
    );
    assert.equal(itemAt(parseAll(r.data), 0).body.toString(), upload);
  });
});

test("chunk extensions are ignored and trailers dropped; the connection goes on", async () => {
  const app: App = async (env, sr) => {
    const body = await env["wsgi.input"].read();
    sr("200 OK", []);
    return [JSON.stringify([body.toString(), Object.keys(env).filter((k) => k.includes("TRAILER"))])];
  };
  await withClient(app, {}, async (c) => {
    const ext = ';name=value;quoted="a b";flag';
    await c.write(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
        chunked(["this", " is ", "chunked"], ext).replace(/0\r\n\r\n$/, "0\r\nX-Trailer: t\r\n\r\n"),
    );
    const [r] = await c.next();
    assert.ok(r);
    assert.deepEqual(JSON.parse(r.body.toString()), ["this is chunked", []]);
    await c.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok");
    assert.deepEqual(JSON.parse(itemAt(await c.next(), 0).body.toString()), ["ok", []]);
  });
});

test("a malformed chunk is a ChunkReadError for the app; nothing after it is a request (test_aborted_chunked_post_bad_chunks)", async () => {
  const caught = new Signal<unknown>();
  const app: App = async (env, sr) => {
    let content: string;
    try {
      content = (await env["wsgi.input"].read(1024)).toString();
    } catch (err) {
      caught.fire(err);
      content = "ok";
    }
    sr("200 OK", [["Content-Type", "text/plain"]]);
    return [content];
  };
  await withServer(app, {}, async (s) => {
    const r = await rawExchange(
      s.port,
      "PUT /somefile HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\ncats\r\nlook here is some data for you\r\n" +
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    const err = await within(2000, "the read error", caught.promise);
    assert.ok(err instanceof ChunkReadError, String(err));
    assert.equal(err.code, "ERR_CHUNK_READ");
    assert.equal(r.closed, true);
    const responses = parseAll(r.data);
    assert.equal(responses.length, 1);
    assert.equal(itemAt(responses, 0).body.toString(), "ok");
    assert.equal(header(itemAt(responses, 0), "connection"), "close");
  });
});

test("an app that lets a ChunkReadError escape answers 400", async () => {
  const app: App = async (env, sr) => {
    const body = await env["wsgi.input"].read();
    sr("200 OK", []);
    return [body];
  };
  await withServer(app, {}, async (s) => {
    const r = await rawExchange(
      s.port,
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n0\r\n\r\n",
    );
    assert.equal(r.closed, true);
    const [res] = parseAll(r.data);
    assert.ok(res);
    assert.equal(res.status, 400);
    assert.equal(header(res, "connection"), "close");
    // Built where every protocol error response is (errors.ts), byte for byte.
    assert.equal(r.text, "HTTP/1.0 400 Bad Request\r\nConnection: close\r\nContent-length: 0\r\n\r\n");
  });
});

/** An app that reports what its first read did. */
function reportingApp(outcome: (v: unknown) => void, reading: () => void): App {
  return async (env, sr) => {
    const input = env["wsgi.input"];
    const p = input.read(1024);
    reading();
    try {
      outcome(await p);
    } catch (err) {
      outcome(err);
    }
    sr("200 OK", []);
    return ["done"];
  };
}

test("a client that leaves mid-body makes a pending read reject, never hang (test_aborted_chunked_post*, test_close_before_finished)", async () => {
  const partials: Record<string, string> = {
    "Content-Length, mid-body": "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc",
    "chunked, mid-chunk": "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nthi",
    "chunked, between chunks": `PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\ndb\r\n${"A".repeat(0xdb)}\r\n`,
    "chunked, in a size line": "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nde",
  };
  for (const [label, bytes] of Object.entries(partials)) {
    for (const leave of ["end", "destroy"] as const) {
      const outcome = new Signal<unknown>();
      const reading = new Signal();
      await withServer(reportingApp(outcome.fire, reading.fire), {}, async (s) => {
        const c = await RawClient.connect(s.port);
        await c.write(bytes);
        await within(2000, "the app to start reading", reading.promise);
        if (leave === "end") c.end();
        else c.destroy();
        const result = await within(2000, `${label}/${leave}: the read to settle`, outcome.promise);
        assert.ok(result instanceof Error, `${label}/${leave}: ${String(result)}`);
        assert.ok(result instanceof ClientDisconnectedError, `${label}/${leave}: ${String(result)}`);
        c.destroy();
      });
    }
  }
});

test("a client that sent part of a body and closed: a later read rejects at once", async () => {
  const outcome = new Signal<unknown>();
  const app: App = async (env, sr) => {
    const input = env["wsgi.input"];
    const first = await input.read(3);
    let second: unknown;
    try {
      second = await input.read();
    } catch (err) {
      second = err;
    }
    outcome.fire([first.toString(), second]);
    sr("200 OK", []);
    return [];
  };
  await withServer(app, {}, async (s) => {
    await rawExchange(s.port, "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc", {
      end: true,
      timeoutMs: 1000,
    });
    const [first, second] = (await within(2000, "the outcome", outcome.promise)) as [string, unknown];
    assert.equal(first, "abc");
    assert.ok(second instanceof ClientDisconnectedError);
  });
});

test("reads started together, not awaited one by one, are served in call order; none hangs, and all reject when the client leaves", async () => {
  const pending = new Signal();
  const failed = new Signal<string[]>();
  const app: App = async (env, sr) => {
    const input = env["wsgi.input"];
    const reads =
      env.PATH_INFO === "/leave"
        ? [input.read(3), input.readline(), input.read(5)]
        : [input.read(3), input.readline(), input.read(2)];
    pending.fire();
    if (env.PATH_INFO === "/leave") {
      failed.fire((await Promise.allSettled(reads)).map((r) => r.status));
      sr("200 OK", []);
      return [];
    }
    const got = await Promise.all(reads);
    sr("200 OK", []);
    return [got.map((b) => b.toString()).join("|")];
  };
  await withServer(app, {}, async (s) => {
    const c = await RawClient.connect(s.port);
    try {
      await c.write("POST /together HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n");
      await within(2000, "the app's reads to be pending", pending.promise);
      await c.write("ab");
      await c.write("c\nde\nfg");
      const [r] = await c.next();
      assert.ok(r);
      assert.deepEqual(r.body.toString().split("|"), ["abc", "\n", "de"], "in call order, nothing lost or repeated");
    } finally {
      c.destroy();
    }
    // A client that leaves: every pending read rejects.
    const leaving = await RawClient.connect(s.port);
    try {
      await leaving.write("POST /leave HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nab");
      leaving.destroy();
      assert.deepEqual(await within(2000, "the reads to settle", failed.promise), ["rejected", "rejected", "rejected"]);
    } finally {
      leaving.destroy();
    }
  });
});

test("getSocket() is the connection's socket", async () => {
  const got = new Signal<unknown>();
  const app: App = (env, sr) => {
    got.fire(env["wsgi.input"].getSocket());
    sr("200 OK", []);
    return ["x"];
  };
  await withClient(app, {}, async (c) => {
    await c.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const sock = await within(2000, "the app to report", got.promise);
    assert.ok(sock instanceof net.Socket);
    assert.equal(sock.remotePort, c.localPort);
    await c.next();
  });
});

test("reading after the body is over gives empty buffers, on every call", async () => {
  const results = new Signal<string[]>();
  const app: App = async (env, sr) => {
    const input = env["wsgi.input"];
    const all = await input.read();
    const out = [
      all.toString(),
      (await input.read()).toString(),
      (await input.read(5)).toString(),
      (await input.readline()).toString(),
    ];
    out.push(String((await input.readlines()).length));
    let iterated = 0;
    for await (const _ of input) iterated++;
    out.push(String(iterated));
    await input.discard();
    results.fire(out);
    sr("200 OK", []);
    return [];
  };
  await withServer(app, {}, async (s) => {
    await rawExchange(s.port, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi", { responses: 1 });
    assert.deepEqual(await within(2000, "the results", results.promise), ["hi", "", "", "", "0", "0"]);
  });
});

test("a request without a body reads as empty", async () => {
  const seen = new Signal<Environ>();
  const app: App = async (env, sr) => {
    const body = await env["wsgi.input"].read();
    seen.fire(env);
    sr("200 OK", []);
    return [String(body.length)];
  };
  await withServer(app, {}, async (s) => {
    const r = await rawExchange(s.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", { responses: 1 });
    assert.equal(itemAt(parseAll(r.data), 0).body.toString(), "0");
    await within(2000, "the environ", seen.promise);
  });
});

test("rejectBadRequests: false lets Content-Length with chunked through: chunked wins, the connection closes (test_short_read_with_content_length)", async () => {
  const app: App = async (env, sr) => {
    const body = await env["wsgi.input"].read(10);
    sr("200 OK", []);
    return [body];
  };
  for (const cl of ["1000", "0"]) {
    await withServer(app, { rejectBadRequests: false }, async (s) => {
      const r = await rawExchange(
        s.port,
        `POST /short-read HTTP/1.1\r\nHost: x\r\ntransfer-encoding: Chunked\r\nContent-Length:${cl}\r\n\r\n` +
          chunked(["this", " is ", "chunked", "\nline", " 2", "\n", "line3"]),
      );
      assert.equal(r.closed, true);
      const [res] = parseAll(r.data);
      assert.ok(res);
      assert.equal(res.body.toString(), "this is ch", cl);
      assert.equal(header(res, "connection"), "close");
    });
  }
  await withServer(app, {}, async (s) => {
    const r = await rawExchange(
      s.port,
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n",
    );
    assert.equal(itemAt(parseAll(r.data), 0).status, 400, "rejected by default");
  });
});

test("a client that half-closes mid-body: the app's unhandled read error is a client disconnect (debug), not a 500 nor an app error", async () => {
  const failed = new Signal<unknown>();
  const reading = new Signal();
  const app: App = async (env, sr) => {
    const input = env["wsgi.input"];
    reading.fire();
    try {
      await input.read(); // rejects with ClientDisconnectedError: the body can never come whole
    } catch (err) {
      failed.fire(err);
      throw err;
    }
    sr("200 OK", []);
    return ["never"];
  };
  await withServer(app, {}, async (s) => {
    const c = await RawClient.connect(s.port);
    try {
      await c.write("PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc");
      await within(2000, "the app to start reading", reading.promise);
      c.end(); // a FIN: the socket stays open for the response (allowHalfOpen)
      assert.ok((await within(2000, "the read to reject", failed.promise)) instanceof ClientDisconnectedError);
      await s.log.waitFor("debug", /client went away during "PUT \/ HTTP\/1\.1"/);
      await c.waitClosed(2000);
      assert.equal(c.text.includes("500"), false, `no 500 for a client that left: ${JSON.stringify(c.text)}`);
      assert.deepEqual(s.log.error, []);
    } finally {
      c.destroy();
    }
  });
});
