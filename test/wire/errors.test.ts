/**
 * Application errors: before the head → a clean 500 (stack in the body only
 * with debug), logged with its stack; after the head → the connection is
 * cut with no final chunk. close() on the body exactly once in every path.
 * The connection never survives an application error.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { App, Body, Chunk } from "../../src/index.js";
import { header, parseAll, rawExchange, withServer } from "../support/wire.js";
import { RawClient, chunkSizes, withClient } from "./client.js";
import { Signal, within } from "../support/wait.js";
import { itemAt } from "../support/item-at.js";

const GET = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

const crasher: App = () => {
  throw new Error("intentional crash");
};

test("a thrown error gives 500 with an empty body, Connection: close, no Transfer-Encoding; it is logged with its stack (eventlet's test_debug)", async () => {
  await withServer(crasher, {}, async (s) => {
    // A second, pipelined request must not be answered: the connection closes after an app error.
    const r = await rawExchange(s.port, GET + GET);
    assert.equal(r.closed, true);
    const responses = parseAll(r.data);
    assert.equal(responses.length, 1);
    const res = itemAt(responses, 0);
    assert.equal(res.statusLine, "HTTP/1.1 500 Internal Server Error");
    assert.equal(header(res, "connection"), "close");
    assert.equal(header(res, "transfer-encoding"), undefined);
    assert.equal(header(res, "content-length"), "0");
    assert.equal(res.body.length, 0);
    assert.equal(s.log.error.length, 1);
    assert.match(itemAt(s.log.error, 0), /^Error: intentional crash\n\s+at /);
    assert.match(s.log.info.find((l) => l.includes('"GET / HTTP/1.1"')) ?? "", /" 500 \d+ /);
  });
});

test("with debug: true the 500's body is the stack trace", async () => {
  await withServer(crasher, { debug: true }, async (s) => {
    const [res] = parseAll((await rawExchange(s.port, GET)).data);
    assert.ok(res);
    assert.equal(res.status, 500);
    const body = res.body.toString();
    assert.match(body, /^Error: intentional crash\n\s+at /);
    assert.equal(header(res, "content-length"), String(res.body.length));
    assert.equal(header(res, "connection"), "close");
    // HEAD gets the same head and no body.
    const head = await rawExchange(s.port, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.ok(head.text.endsWith("\r\n\r\n"), head.text);
    assert.equal(head.text.includes("intentional crash"), false);
  });
});

test("every way of failing before the head went out is a 500", async () => {
  const apps: Record<string, App> = {
    "async app rejects": async () => {
      await new Promise((r) => setImmediate(r));
      throw new TypeError("async failure");
    },
    "generator throws before its first chunk": (_env, sr) => {
      sr("200 OK", []);
      // eslint-disable-next-line require-yield -- a generator that throws before any yield is the case under test
      return (function* () {
        throw new Error("generator failure");
      })();
    },
    "generator throws after small chunks still being gathered": (_env, sr) => {
      sr("200 OK", []);
      return (function* () {
        yield "not sent";
        throw new Error("gathered failure");
      })();
    },
    "async generator throws": (_env, sr) => {
      sr("200 OK", []);
      // eslint-disable-next-line require-yield -- a generator that throws before any yield is the case under test
      return (async function* () {
        await new Promise((r) => setImmediate(r));
        throw new Error("async generator failure");
      })();
    },
    "a non-Error is thrown": () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- a thrown non-Error is the case under test
      throw "a string";
    },
    "the app returns null": (_env, sr) => {
      sr("200 OK", []);
      return null as unknown as Body;
    },
    "the app returns a number": (_env, sr) => {
      sr("200 OK", []);
      return 42 as unknown as Body;
    },
    "a chunk is neither string nor bytes": (_env, sr) => {
      sr("200 OK", []);
      return [{ not: "a chunk" } as unknown as Chunk];
    },
    "no startResponse at all": () => [],
  };
  for (const [label, app] of Object.entries(apps)) {
    await withServer(app, {}, async (s) => {
      const r = await rawExchange(s.port, GET + GET);
      assert.equal(r.closed, true, label);
      const responses = parseAll(r.data);
      assert.equal(responses.length, 1, `${label}: ${r.text}`);
      assert.equal(itemAt(responses, 0).status, 500, label);
      assert.equal(r.text.includes("not sent"), false, label);
      assert.equal(s.log.error.length, 1, `${label}: ${s.log.error.join("\n")}`);
    });
  }
});

/** eventlet's chunked_fail_app (rhodesmill.org/brandon/2013/chunked-wsgi). */
const chunkedFailApp: App = (_env, startResponse) => {
  const headers: [string, string][] = [["Content-Type", "text/plain"]];
  startResponse("200 OK", headers);
  return (function* () {
    yield "The dwarves of yore made mighty spells,";
    yield "While hammers fell like ringing bells";
    try {
      throw new Error("the back-end fails");
    } catch (err) {
      startResponse("500 Error", headers, err);
    }
    yield "In places deep, where dark things sleep,";
  })();
};

test("an error after the head: the chunks sent so far, no final chunk, then the close (test_error_in_chunked_closes_connection)", async () => {
  await withServer(chunkedFailApp, { minimumChunkSize: 1 }, async (s) => {
    const r = await rawExchange(s.port, GET);
    assert.equal(r.closed, true);
    assert.match(r.text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(r.text, /\r\nTransfer-Encoding: chunked\r\n/);
    const body = r.text.slice(r.text.indexOf("\r\n\r\n") + 4);
    assert.equal(
      body,
      "27\r\nThe dwarves of yore made mighty spells,\r\n25\r\nWhile hammers fell like ringing bells\r\n",
    );
    assert.equal(chunkSizes(r.data).terminated, false);
    assert.match(s.log.error.join("\n"), /Error: the back-end fails\n\s+at /);
  });
});

test("an error after write() sent the head cuts the response too", async () => {
  const app: App = (_env, sr) => {
    const write = sr("200 OK", [["Content-Length", "100"]]);
    void write("partial");
    throw new Error("after write");
  };
  await withServer(app, {}, async (s) => {
    const r = await rawExchange(s.port, GET + GET);
    assert.equal(r.closed, true);
    assert.ok(r.text.endsWith("\r\n\r\npartial"), r.text);
    assert.equal(r.text.split("HTTP/1.1").length - 1, 1);
  });
});

test("an error after a large part of the body went out still cuts it without a final chunk", async () => {
  const app: App = (_env, sr) => {
    sr("200 OK", []);
    // eslint-disable-next-line @typescript-eslint/require-await -- an async iterable that never awaits is the case under test
    return (async function* () {
      for (let i = 0; i < 32; i++) yield Buffer.alloc(32 * 1024, 0x62);
      throw new Error("late");
    })();
  };
  await withServer(app, {}, async (s) => {
    const r = await rawExchange(s.port, GET, { timeoutMs: 3000 });
    assert.equal(r.closed, true);
    const { sizes, terminated } = chunkSizes(r.data);
    assert.equal(terminated, false);
    assert.ok(sizes.length > 0 && sizes.every((n) => n === 32 * 1024), sizes.join(","));
  });
});

/** A body that counts close() calls. */
function closable(
  chunks: () => Iterator<Chunk> | AsyncIterator<Chunk>,
  async: boolean,
): { body: Body; closes: () => number } {
  let closes = 0;
  const close = (): void => {
    closes++;
  };
  const body = (
    async
      ? { [Symbol.asyncIterator]: chunks as () => AsyncIterator<Chunk>, close }
      : { [Symbol.iterator]: chunks as () => Iterator<Chunk>, close }
  ) as Body;
  return { body, closes: () => closes };
}

test("close() on the body is called exactly once: finished, failed before or after the head, array or iterator", async () => {
  const cases: Record<string, { make: () => Iterator<Chunk> | AsyncIterator<Chunk>; async: boolean; status: number }> =
    {
      "sync, finished": {
        make: function* () {
          yield "ok";
        },
        async: false,
        status: 200,
      },
      "async, finished": {
        // eslint-disable-next-line @typescript-eslint/require-await -- an async iterable that never awaits is the case under test
        make: async function* () {
          yield "ok";
        },
        async: true,
        status: 200,
      },
      "sync, throws before the head": {
        // eslint-disable-next-line require-yield -- a generator that throws before any yield is the case under test
        make: function* () {
          throw new Error("before");
        },
        async: false,
        status: 500,
      },
      "async, throws after the head": {
        // eslint-disable-next-line @typescript-eslint/require-await -- an async iterable that never awaits is the case under test
        make: async function* () {
          yield "x".repeat(5000);
          throw new Error("after");
        },
        async: true,
        status: 200,
      },
    };
  for (const [label, c] of Object.entries(cases)) {
    const tracked = closable(c.make, c.async);
    const app: App = (_env, sr) => {
      sr("200 OK", []);
      return tracked.body;
    };
    await withServer(app, {}, async (s) => {
      const r = await rawExchange(s.port, GET, { responses: 1, timeoutMs: 1000 });
      assert.equal(Number(r.text.slice(9, 12)), c.status, label);
      await within(2000, "the server to close", s.server.close({ deadline: 500 }));
      assert.equal(tracked.closes(), 1, label);
    });
  }
  // An array with a close() (like a Python list subclass).
  let arrayCloses = 0;
  const arrayApp: App = (_env, sr) => {
    sr("200 OK", []);
    return Object.assign(["a", "b"], {
      close: () => {
        arrayCloses++;
      },
    });
  };
  await withServer(arrayApp, {}, async (s) => {
    const [res] = parseAll((await rawExchange(s.port, GET, { responses: 1 })).data);
    assert.ok(res);
    assert.equal(header(res, "content-length"), "2");
    await s.server.close({ deadline: 500 });
    assert.equal(arrayCloses, 1);
  });
});

test("close() is called once when the client goes away mid-body, and the iteration stops", async () => {
  const closed = new Signal();
  let produced = 0;
  let closes = 0;
  const limit = 100_000;
  const app: App = (env, sr) => {
    env["eventlet.minimum_write_chunk_size"] = 1;
    sr("200 OK", []);
    const gen = (async function* () {
      for (; produced < limit; produced++) {
        yield Buffer.alloc(1024, 0x63);
        await new Promise((r) => setImmediate(r));
      }
    })();
    return Object.assign(gen, {
      close: () => {
        closes++;
        closed.fire();
      },
    });
  };
  await withServer(app, {}, async (s) => {
    const c = await RawClient.connect(s.port);
    await c.write(GET);
    await c.waitForText("\r\n\r\n");
    c.destroy();
    await within(3000, "close() after the client left", closed.promise);
    assert.equal(closes, 1);
    assert.ok(produced < limit, "the iteration stopped when the client left");
    assert.equal(s.log.error.length, 0, `a client leaving is not an app error: ${s.log.error.join("\n")}`);
  });
});

test("after the client left: the app's failed write() is logged at debug, but an error of its own is still an error", async () => {
  for (const mode of ["rethrow", "own error"]) {
    const writeError = new Signal<string>();
    const app: App = (_env, sr) => {
      const write = sr("200 OK", []);
      return (async function* () {
        yield "";
        // Write until the server notices the client has gone (bounded), then fail one way or the other.
        let failure: unknown = null;
        for (let i = 0; i < 100_000 && failure === null; i++) {
          try {
            await write(Buffer.alloc(1024, 0x61));
          } catch (err) {
            failure = err;
          }
          await new Promise((r) => setImmediate(r));
        }
        writeError.fire(String((failure as { code?: string } | null)?.code));
        if (mode === "rethrow") throw failure;
        throw new Error("an app bug after the client left");
      })();
    };
    await withServer(app, {}, async (s) => {
      const c = await RawClient.connect(s.port);
      await c.write(GET);
      await c.waitForText("\r\n\r\n");
      c.destroy();
      assert.equal(await within(3000, "a write to fail", writeError.promise), "ERR_CLIENT_DISCONNECTED", mode);
      // The log line is the event: wait for it, not for time to pass.
      if (mode === "rethrow") await s.log.waitFor("debug", /client went away/, 2000);
      else await s.log.waitFor("error", /./, 2000);
      if (mode === "rethrow") {
        assert.deepEqual(s.log.error, [], "a client leaving is not an app error");
      } else {
        assert.match(s.log.error.join("\n"), /^Error: an app bug after the client left\n\s+at /);
      }
    });
  }
});

test("a close() that throws (or rejects) is logged; the response is unharmed", async () => {
  for (const kind of ["throws", "rejects"]) {
    const app: App = (_env, sr) => {
      sr("200 OK", []);
      return Object.assign(["fine"], {
        close:
          kind === "throws"
            ? () => {
                throw new Error("close failed");
              }
            : () => Promise.reject(new Error("close failed")),
      });
    };
    await withClient(app, {}, async (c, s) => {
      await c.write(GET);
      const [r] = await c.next();
      assert.ok(r);
      assert.equal(r.body.toString(), "fine");
      await c.write(GET);
      await c.next();
      assert.equal(s.log.error.length, 2, kind);
      assert.match(itemAt(s.log.error, 0), /close failed/);
    });
  }
});
