/**
 * The bytes an application yields or writes are the bytes the client gets,
 * even when the application reuses its buffer: gathered chunks, the
 * connection's output batch and the socket all hold chunks for a while.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { App } from "../../src/index.js";
import { parseAll, rawExchange, withServer } from "../support/wire.js";
import { Signal, until, within } from "../support/wait.js";
import { Peer } from "../faults/support.js";
import { itemAt } from "../support/item-at.js";

const GET_CLOSE = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
const SIZE = 8 * 1024;
const LETTERS = "abcde";
const BIG = 256 * 1024;
const WRITES = 40;

function expected(): string {
  let s = "";
  for (const l of LETTERS) s += l.repeat(SIZE);
  return s;
}

test("a generator refilling one buffer with chunks above minimumChunkSize: each chunk arrives as yielded", async () => {
  const app: App = (_env, sr) => {
    sr("200 OK", [["Content-Type", "application/octet-stream"]]);
    return (function* () {
      const buf = Buffer.alloc(SIZE * 2);
      for (const letter of LETTERS) {
        buf.fill(letter);
        yield buf.subarray(0, SIZE); // ≥ minimumChunkSize: framed at once, but the output is batched
      }
    })();
  };
  await withServer(app, { minimumChunkSize: 4096 }, async (s) => {
    const r = await rawExchange(s.port, GET_CLOSE);
    const [res] = parseAll(r.data);
    assert.ok(res);
    assert.equal(res.body.toString("latin1"), expected());
  });
});

test("an async generator refilling one buffer: each chunk arrives as yielded", async () => {
  const app: App = (_env, sr) => {
    sr("200 OK", [["Content-Type", "application/octet-stream"]]);
    // eslint-disable-next-line @typescript-eslint/require-await -- an async iterable that never awaits is the case under test
    return (async function* () {
      const buf = Buffer.alloc(100);
      for (const letter of LETTERS) {
        buf.fill(letter);
        yield buf.subarray(0, 10);
      }
    })();
  };
  await withServer(app, {}, async (s) => {
    const r = await rawExchange(s.port, GET_CLOSE);
    const [res] = parseAll(r.data);
    assert.ok(res);
    assert.equal(res.body.toString("latin1"), "aaaaaaaaaabbbbbbbbbbccccccccccddddddddddeeeeeeeeee");
  });
});

test("write() of a buffer the application refills at once: what was written arrives", async () => {
  const app: App = (_env, sr) => {
    const write = sr("200 OK", [["Content-Type", "application/octet-stream"]]);
    const buf = Buffer.alloc(BIG);
    // Many writes in one go, more than the kernel takes: the socket holds the rest while the application refills.
    for (let i = 0; i < WRITES; i++) {
      buf.fill(itemAt(LETTERS, i % LETTERS.length));
      void write(buf);
    }
    return [];
  };
  await withServer(app, {}, async (s) => {
    const r = await rawExchange(s.port, GET_CLOSE, { timeoutMs: 5000 });
    const [res] = parseAll(r.data);
    assert.ok(res);
    assert.equal(res.body.length, BIG * WRITES);
    for (let i = 0; i < WRITES; i++) {
      const piece = res.body.subarray(i * BIG, (i + 1) * BIG);
      const letter = LETTERS.charCodeAt(i % LETTERS.length);
      assert.ok(piece[0] === letter && piece[BIG - 1] === letter, `write ${i} arrives as it was when written`);
    }
  });
});

test("an async body waiting for ever for its next chunk: when the client resets, close() and the post hooks run", async () => {
  const closed = new Signal();
  const hookRan = new Signal();
  let returned = false;
  const app: App = (env, sr) => {
    env["eventlet.posthooks"].push([
      () => {
        hookRan.fire();
      },
    ]);
    sr("200 OK", [["Content-Type", "text/event-stream"]]);
    const gen = (async function* () {
      try {
        yield "data: first\n\n";
        await new Promise<never>(() => {}); // an event that never comes
      } finally {
        returned = true;
      }
    })();
    return Object.assign(gen, {
      close: () => {
        closed.fire();
      },
    });
  };
  await withServer(app, { minimumChunkSize: 0 }, async (s) => {
    const peer = await Peer.connect(s.port);
    try {
      await peer.write("GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n");
      await peer.waitForText("data: first");
    } finally {
      // A reset: a FIN alone may be a half-close, after which the client still reads the response.
      peer.vanish("rst");
    }
    await within(2000, "close() on the body", closed.promise);
    await within(2000, "the post hooks", hookRan.promise);
    assert.equal(returned, false, "the generator is stuck in its await: its finally cannot have run");
    await until(2000, "the request to be over", () => s.server.outstandingRequests === 0);
    assert.deepEqual(s.log.error, []);
  });
});

test("an async body yielding a bad chunk: the iterator is returned (its finally runs) and the response fails", async () => {
  const finallyRan = new Signal();
  const app: App = (_env, sr) => {
    sr("200 OK", []);
    // eslint-disable-next-line @typescript-eslint/require-await -- an async iterable that never awaits is the case under test
    return (async function* () {
      try {
        yield 42 as unknown as string;
        yield "never";
      } finally {
        finallyRan.fire();
      }
    })();
  };
  await withServer(app, {}, async (s) => {
    const r = await rawExchange(s.port, GET_CLOSE);
    assert.match(r.text, /^HTTP\/1\.1 500 /);
    await within(2000, "the generator's finally", finallyRan.promise);
  });
});
