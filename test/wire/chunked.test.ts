/**
 * Streamed bodies: generators, async generators and any (async) iterable,
 * lazy startResponse, write(); chunked on HTTP/1.1 with its final chunk,
 * close-delimited on HTTP/1.0; minimumChunkSize gathering and its
 * per-request override, seen as chunk sizes on the wire; empty chunks.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { App, Body, Chunk, Write } from "../../src/index.js";
import { header, parseAll, rawExchange, withServer } from "../support/wire.js";
import { chunkSizes, withClient } from "./client.js";
import { Signal, within } from "../support/wait.js";

const GET_CLOSE = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

/** The raw bytes of one response to `request` on a fresh connection, read until the server closes. */
async function fetchRaw(port: number, request = GET_CLOSE): Promise<Buffer> {
  const r = await rawExchange(port, request);
  assert.equal(r.closed, true, "the server closes after a Connection: close request");
  return r.data;
}

test("a generator is sent chunked with its final chunk (eventlet's test_009)", async () => {
  const app: App = (_env, sr) => {
    sr("200 OK", [["Content-type", "text/plain"]]);
    return (function* () {
      yield "this";
      yield "is";
      yield "chunked";
    })();
  };
  await withServer(app, {}, async (s) => {
    const raw = await fetchRaw(s.port);
    const [r] = parseAll(raw);
    assert.ok(r);
    assert.equal(header(r, "transfer-encoding"), "chunked");
    assert.equal(header(r, "content-length"), undefined);
    assert.equal(r.body.toString(), "thisischunked");
    assert.ok(raw.toString("latin1").endsWith("\r\n0\r\n\r\n"));
  });
});

/** Bodies of every iterable kind that must all come out as "abc" + "def". */
const iterableKinds: Record<string, () => Body> = {
  generator: () =>
    (function* () {
      yield "abc";
      yield "def";
    })(),
  "async generator": () =>
    (async function* () {
      yield "abc";
      await new Promise((r) => setImmediate(r));
      yield new Uint8Array([0x64, 0x65, 0x66]);
    })(),
  "custom iterable": () => {
    const items = ["abc", "def"];
    return {
      [Symbol.iterator]: () => {
        let i = 0;
        return {
          next: (): IteratorResult<Chunk, undefined> => {
            const value = items[i++];
            return value === undefined ? { done: true, value } : { done: false, value };
          },
        };
      },
    };
  },
  "custom async iterable": () => {
    const items = ["abc", "def"];
    return {
      [Symbol.asyncIterator]: () => {
        let i = 0;
        return {
          next: (): Promise<IteratorResult<Chunk, undefined>> => {
            const value = items[i++];
            return Promise.resolve(value === undefined ? { done: true, value } : { done: false, value });
          },
        };
      },
    };
  },
  set: () => new Set<Chunk>(["abc", "def"]),
  "readable-like async iterable of Buffers": () =>
    // eslint-disable-next-line @typescript-eslint/require-await -- an async iterable that never awaits is the case under test
    (async function* () {
      for (const b of [Buffer.from("abc"), Buffer.from("def")]) yield b;
    })(),
};

test("every kind of (async) iterable is streamed, chunked on HTTP/1.1", async () => {
  for (const [kind, make] of Object.entries(iterableKinds)) {
    const app: App = (_env, sr) => {
      sr("200 OK", []);
      return make();
    };
    await withServer(app, {}, async (s) => {
      const [r] = parseAll(await fetchRaw(s.port));
      assert.ok(r);
      assert.equal(r.status, 200, kind);
      assert.equal(header(r, "transfer-encoding"), "chunked", kind);
      assert.equal(r.body.toString(), "abcdef", kind);
    });
  }
});

test("an async app (a Promise of a body) is served like a sync one", async () => {
  const app: App = async (_env, sr) => {
    await new Promise((r) => setImmediate(r));
    sr("200 OK", []);
    return ["later"];
  };
  await withServer(app, {}, async (s) => {
    const [r] = parseAll(await fetchRaw(s.port));
    assert.ok(r);
    assert.equal(r.body.toString(), "later");
    assert.equal(header(r, "content-length"), "5");
  });
});

test("startResponse may be called lazily, inside a (async) generator, before its first chunk", async () => {
  const apps: App[] = [
    (_env, sr) =>
      (function* () {
        yield "";
        sr("201 Created", [["X-Lazy", "sync"]]);
        yield "made";
      })(),
    (_env, sr) =>
      (async function* () {
        await new Promise((r) => setImmediate(r));
        sr("201 Created", [["X-Lazy", "async"]]);
        yield "made";
      })(),
  ];
  for (const app of apps) {
    for (const minimumChunkSize of [0, 4096]) {
      await withServer(app, { minimumChunkSize }, async (s) => {
        const [r] = parseAll(await fetchRaw(s.port));
        assert.ok(r);
        assert.equal(r.status, 201, `minimumChunkSize ${minimumChunkSize}`);
        assert.ok(header(r, "x-lazy"));
        assert.equal(r.body.toString(), "made");
        assert.equal(s.log.error.length, 0, s.log.error.join("\n"));
      });
    }
  }
});

test("write() alone, without Content-Length, is chunked with a final chunk and keeps the connection (test_015 /b)", async () => {
  const app: App = (_env, sr) => {
    const write = sr("200 OK", [["Content-type", "text/plain"]]);
    void write("abcde");
    return [];
  };
  await withClient(app, {}, async (c) => {
    for (let i = 0; i < 2; i++) {
      await c.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
      const [r] = await c.next();
      assert.ok(r);
      assert.equal(header(r, "transfer-encoding"), "chunked");
      assert.equal(r.body.toString(), "abcde");
    }
    assert.equal(c.closed, false);
  });
});

test("an async app that only awaits write() gets each write to the client before it returns", async () => {
  const firstSeen = new Signal();
  const app: App = async (_env, sr) => {
    const write = sr("200 OK", []);
    await write("first;");
    await within(2000, "the client to see the first write", firstSeen.promise);
    await write("second");
    return [];
  };
  await withClient(app, {}, async (c) => {
    await c.write(GET_CLOSE);
    await c.waitForText("first;");
    firstSeen.fire();
    await c.waitClosed();
    const [r] = parseAll(c.data);
    assert.ok(r);
    assert.equal(r.body.toString(), "first;second");
    assert.ok(c.text.endsWith("0\r\n\r\n"));
  });
});

test("write() then a returned body: both, in order, chunked, no Content-Length computed", async () => {
  const app: App = (_env, sr) => {
    const write = sr("200 OK", []);
    void write("written,");
    return ["returned,", "array"];
  };
  await withServer(app, {}, async (s) => {
    const [r] = parseAll(await fetchRaw(s.port));
    assert.ok(r);
    assert.equal(header(r, "content-length"), undefined);
    assert.equal(header(r, "transfer-encoding"), "chunked");
    assert.equal(r.body.toString(), "written,returned,array");
  });
});

test("HTTP/1.0: a streamed body is close-delimited, no Transfer-Encoding, even with keep-alive (test_010, test_close_chunked_with_1_0_client)", async () => {
  const app: App = (_env, sr) => {
    sr("200 OK", []);
    return (function* () {
      yield "this";
      yield "is";
      yield "chunked";
    })();
  };
  await withServer(app, {}, async (s) => {
    for (const extra of ["", "Connection: keep-alive\r\n"]) {
      const raw = await fetchRaw(s.port, `GET / HTTP/1.0\r\nHost: localhost\r\n${extra}\r\n`);
      const [r] = parseAll(raw);
      assert.ok(r);
      assert.equal(header(r, "connection"), "close");
      assert.equal(header(r, "transfer-encoding"), undefined);
      assert.equal(r.body.toString(), "thisischunked");
    }
  });
});

test("HTTP/1.0: write() alone is close-delimited", async () => {
  const app: App = (_env, sr) => {
    const write = sr("200 OK", []);
    void write("abc");
    void write("de");
    return [];
  };
  await withServer(app, {}, async (s) => {
    const raw = await fetchRaw(s.port, "GET / HTTP/1.0\r\n\r\n");
    const [r] = parseAll(raw);
    assert.ok(r);
    assert.equal(header(r, "transfer-encoding"), undefined);
    assert.equal(r.body.toString(), "abcde");
  });
});

test("strings are sent as UTF-8, Uint8Array chunks as they are", async () => {
  const app: App = (_env, sr) => {
    sr("200 OK", []);
    return (function* () {
      yield "oh hai, ";
      yield "xxx \u0230 \u{1f600}";
      yield new Uint8Array([0, 0xff, 0x80]);
    })();
  };
  await withServer(app, {}, async (s) => {
    const [r] = parseAll(await fetchRaw(s.port));
    assert.ok(r);
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.body,
      Buffer.concat([Buffer.from("oh hai, xxx \u0230 \u{1f600}", "utf8"), Buffer.from([0, 0xff, 0x80])]),
    );
  });
});

function tenChunksOf(size: number): App {
  return (env, sr) => {
    const override = /min=(\d+)/.exec(env.QUERY_STRING ?? "");
    if (override !== null) env["eventlet.minimum_write_chunk_size"] = Number(override[1]);
    sr("200 OK", []);
    return (function* () {
      for (let i = 0; i < 10; i++) yield "a".repeat(size);
    })();
  };
}

test("chunks smaller than minimumChunkSize are gathered into wire chunks of at least that size", async () => {
  await withServer(tenChunksOf(1000), {}, async (s) => {
    const { sizes, terminated } = chunkSizes(await fetchRaw(s.port));
    assert.deepEqual(sizes, [5000, 5000], "default 4096: gathered until 4096 is reached");
    assert.equal(terminated, true);
  });
  await withServer(tenChunksOf(1000), { minimumChunkSize: 1 }, async (s) => {
    assert.deepEqual(chunkSizes(await fetchRaw(s.port)).sizes, Array(10).fill(1000));
  });
  await withServer(tenChunksOf(1000), { minimumChunkSize: 3000 }, async (s) => {
    assert.deepEqual(chunkSizes(await fetchRaw(s.port)).sizes, [3000, 3000, 3000, 1000]);
  });
});

test("big chunks go out one by one (eventlet's test_011_multiple_chunks)", async () => {
  await withServer(tenChunksOf(8192), {}, async (s) => {
    const raw = await fetchRaw(s.port);
    const { sizes, terminated } = chunkSizes(raw);
    assert.deepEqual(sizes, Array(10).fill(8192));
    assert.equal(terminated, true);
    assert.ok(raw.toString("latin1").endsWith("a\r\n0\r\n\r\n"), "the body ends with CRLF after the last chunk");
  });
});

test("environ['eventlet.minimum_write_chunk_size'] overrides minimumChunkSize for its request", async () => {
  await withServer(tenChunksOf(1000), {}, async (s) => {
    const req = (min: number): string => `GET /?min=${min} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;
    assert.deepEqual(chunkSizes(await fetchRaw(s.port, req(1))).sizes, Array(10).fill(1000));
    assert.deepEqual(chunkSizes(await fetchRaw(s.port, req(2500))).sizes, [3000, 3000, 3000, 1000]);
    assert.deepEqual(chunkSizes(await fetchRaw(s.port, req(0))).sizes, Array(10).fill(1000));
    assert.deepEqual(chunkSizes(await fetchRaw(s.port)).sizes, [5000, 5000], "the override is per request");
  });
});

test("with the override at 1, the first byte reaches the client while the app still waits (test_chunked_readline_wsgi_override_minimum_chunk_size)", async () => {
  const go = new Signal();
  const app: App = (env, sr) => {
    if (env.PATH_INFO === "/override") env["eventlet.minimum_write_chunk_size"] = 1;
    sr("200 OK", [
      ["Content-Type", "text/plain"],
      ["Content-Length", "2"],
    ]);
    return (async function* () {
      yield " ";
      if (env.PATH_INFO === "/override") await within(2000, "the test to see the first byte", go.promise);
      yield " ";
    })();
  };
  await withClient(app, {}, async (c) => {
    await c.write("GET /override HTTP/1.1\r\nHost: x\r\n\r\n");
    await c.until(() => c.text.endsWith("\r\n\r\n "), 2000, "the head and the first byte");
    go.fire();
    const [r] = await c.next();
    assert.ok(r);
    assert.equal(r.body.toString(), "  ");
    // Without the override, both bytes are gathered and go out together with the head.
    await c.write("GET /plain HTTP/1.1\r\nHost: x\r\n\r\n");
    const [p] = await c.next();
    assert.ok(p);
    assert.equal(p.body.toString(), "  ");
  });
});

test("empty chunks never end a chunked body early (eventlet's test_chunked_response_when_app_yields_empty_string)", async () => {
  const app: App = (env, sr) => {
    env["eventlet.minimum_write_chunk_size"] = 0;
    sr("200 OK", [["Content-type", "text/plain"]]);
    return (function* () {
      yield "stuff";
      yield "";
      yield new Uint8Array(0);
      yield Buffer.alloc(0);
      yield "more stuff";
    })();
  };
  await withServer(app, {}, async (s) => {
    const raw = (await fetchRaw(s.port)).toString("latin1");
    const body = raw.slice(raw.indexOf("\r\n\r\n") + 4);
    assert.equal(body, "5\r\nstuff\r\na\r\nmore stuff\r\n0\r\n\r\n");
  });
});

test("a generator yielding only an empty string gives just the final chunk (test_zero_length_chunked_response)", async () => {
  const app: App = (_env, sr) => {
    sr("200 OK", [["Content-type", "text/plain"]]);
    return (function* () {
      yield "";
    })();
  };
  await withServer(app, {}, async (s) => {
    const raw = (await fetchRaw(s.port)).toString("latin1");
    assert.match(raw, /\r\nTransfer-Encoding: chunked\r\n/);
    assert.equal(raw.slice(raw.indexOf("\r\n\r\n") + 4), "0\r\n\r\n");
  });
});

test("a large streamed body arrives whole (backpressure on the socket)", async () => {
  const piece = Buffer.alloc(64 * 1024, 0x61);
  const count = 64; // 4 MiB
  const app: App = (_env, sr) => {
    sr("200 OK", []);
    return (function* () {
      for (let i = 0; i < count; i++) yield piece;
    })();
  };
  await withServer(app, {}, async (s) => {
    const raw = await fetchRaw(s.port);
    const [r] = parseAll(raw);
    assert.ok(r);
    assert.equal(r.body.length, piece.length * count);
  });
});

test("a write() kept and called after its response ended puts nothing on the kept-alive connection", async () => {
  let kept: Write | null = null;
  let lateWrite: Promise<unknown> | null = null;
  const app: App = (env, sr) => {
    if (env.PATH_INFO === "/first") {
      kept = sr("200 OK", []);
      return (function* () {
        yield "first";
      })();
    }
    // The next request's app finds the first one's write() and uses it before answering.
    lateWrite = (kept as unknown as Write)("GARBAGE").then(
      () => "resolved",
      (err: unknown) => (err instanceof Error ? err.message : "not an Error"),
    );
    sr("200 OK", []);
    return (function* () {
      yield "second";
    })();
  };
  await withClient(app, {}, async (c, s) => {
    await c.write("GET /first HTTP/1.1\r\nHost: x\r\n\r\n");
    const [r1] = await c.next(1);
    assert.ok(r1);
    assert.equal(r1.body.toString(), "first");
    await c.write("GET /second HTTP/1.1\r\nHost: x\r\n\r\n");
    const [r2] = await c.next(1);
    assert.ok(r2);
    assert.equal(r2.statusLine, "HTTP/1.1 200 OK");
    assert.equal(r2.body.toString(), "second");
    assert.match(
      String(await within(2000, "the late write to settle", lateWrite as unknown as Promise<unknown>)),
      /after the response was complete/,
    );
    assert.equal(c.text.includes("GARBAGE"), false, c.text);
    assert.equal(c.unread.length, 0, "nothing after the second response");
    assert.match(s.log.error.join("\n"), /after the response was complete/);
  });
});
