/**
 * Expect: 100-continue (RFC 9110 §10.1.1, eventlet's test_024*): the 100 goes
 * out at the first read and not before, once, with the headers the app set
 * (capitalized); a second one on request; an app that answers without
 * reading never gets the body and the connection closes after its answer.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { App, Environ } from "../../src/index.js";
import { prepare } from "../gateway/harness.js";
import { header, parseAll, rawExchange, withServer } from "../support/wire.js";
import { withClient } from "./client.js";
import { itemAt } from "../support/item-at.js";

const CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n";

test("the 100 goes out at the first read, not before, and only once", async () => {
  const c = prepare("PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n");
  const seen: string[] = [];
  const done = c.run(async (env, sr) => {
    const input = env["wsgi.input"];
    seen.push(c.host.text);
    const first = input.read(5);
    seen.push(c.host.text);
    const a = await first;
    const b = await input.read();
    seen.push(c.host.text);
    sr("200 OK", []);
    return [a, b];
  });
  c.input.push(Buffer.from("01234"));
  c.input.push(Buffer.from("56789"));
  c.input.end();
  await done;
  assert.deepEqual(seen, ["", CONTINUE, CONTINUE]);
  const responses = parseAll(c.host.output);
  assert.deepEqual(
    responses.map((r) => r.status),
    [100, 200],
  );
  assert.equal(itemAt(responses, 1).body.toString(), "0123456789");
});

test("every kind of read sends the 100 first", async () => {
  const reads: Record<string, (env: Parameters<App>[0]) => Promise<unknown>> = {
    read: (env) => env["wsgi.input"].read(),
    readline: (env) => env["wsgi.input"].readline(),
    readlines: (env) => env["wsgi.input"].readlines(),
    iterate: async (env) => {
      for await (const _ of env["wsgi.input"]) break;
    },
    discard: (env) => env["wsgi.input"].discard(),
  };
  for (const [kind, read] of Object.entries(reads)) {
    const c = prepare("PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
    const done = c.run(async (env, sr) => {
      const p = read(env);
      assert.equal(c.host.text, CONTINUE, kind);
      await p;
      sr("200 OK", []);
      return [];
    });
    c.input.push(Buffer.from("a\n"));
    c.input.end();
    await done;
  }
});

test("no 100 for an HTTP/1.0 request, nor after the final response has started", async () => {
  const old = prepare("PUT / HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
  const done = old.run(async (env, sr) => {
    const p = env["wsgi.input"].read();
    await env["wsgi.input"].sendHundredContinueResponse();
    assert.equal(old.host.text, "");
    const body = await p;
    sr("200 OK", []);
    return [body];
  });
  old.input.push(Buffer.from("ok"));
  old.input.end();
  await done;
  assert.equal(itemAt(parseAll(old.host.output), 0).status, 200);

  const late = prepare("PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
  await late.run(async (env, sr) => {
    const write = sr("200 OK", []);
    await write("started");
    await env["wsgi.input"].sendHundredContinueResponse();
    return [];
  });
  assert.equal(late.host.text.includes("100 Continue"), false);
});

test("without an expectation, sendHundredContinueResponse() sends nothing", async () => {
  const c = prepare("PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n");
  const done = c.run(async (env, sr) => {
    await env["wsgi.input"].sendHundredContinueResponse();
    const body = await env["wsgi.input"].read();
    sr("200 OK", []);
    return [body];
  });
  c.input.push(Buffer.from("ok"));
  c.input.end();
  await done;
  assert.deepEqual(
    parseAll(c.host.output).map((r) => r.status),
    [200],
  );
});

const echoOrRefuse: App = async (env, sr) => {
  if (Number(env.CONTENT_LENGTH) > 1024) {
    sr("417 Expectation Failed", [["Content-Length", "7"]]);
    return ["failure"];
  }
  if (env.PATH_INFO === "/headers") {
    env["wsgi.input"].setHundredContinueResponseHeaders([
      ["Hundred-Continue-Header-1", "H1"],
      ["Hundred-Continue-Header-2", "H2"],
      ["Hundred-Continue-Header-k", "Hk"],
    ]);
  }
  const text = await env["wsgi.input"].read();
  sr("200 OK", [["Content-Length", String(text.length)]]);
  return [text];
};

test("an app that answers without reading never gets the body; the connection closes after its answer (test_024)", async () => {
  await withClient(echoOrRefuse, {}, async (c) => {
    await c.write("PUT / HTTP/1.1\r\nHost: localhost\r\nContent-length: 1025\r\nExpect: 100-continue\r\n\r\n");
    const [r] = await c.next();
    assert.ok(r);
    assert.equal(r.statusLine, "HTTP/1.1 417 Expectation Failed");
    assert.equal(r.body.toString(), "failure");
    assert.equal(header(r, "connection"), "close");
    await c.waitClosed();
    assert.equal(c.text.includes("100 Continue"), false);
  });
});

test("a client that sends its body after the refusal does not get it read as a request", async () => {
  await withServer(echoOrRefuse, {}, async (s) => {
    const r = await rawExchange(s.port, "", {
      pieces: [
        "PUT / HTTP/1.1\r\nHost: localhost\r\nContent-length: 1030\r\nExpect: 100-continue\r\n\r\n",
        `GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n${"x".repeat(1030 - 37)}`,
      ],
    });
    assert.equal(r.closed, true);
    assert.deepEqual(
      parseAll(r.data).map((x) => x.status),
      [417],
    );
  });
});

test("reading sends 100 Continue, then the answer; a body sent with the head works too (test_024)", async () => {
  await withClient(echoOrRefuse, {}, async (c) => {
    await c.write("PUT / HTTP/1.1\r\nHost: localhost\r\nContent-length: 7\r\nExpect: 100-continue\r\n\r\ntesting");
    const [cont, ok] = await c.next(2);
    assert.ok(ok);
    assert.ok(cont);
    assert.equal(cont.statusLine, "HTTP/1.1 100 Continue");
    assert.equal(cont.rawHead, "HTTP/1.1 100 Continue");
    assert.equal(ok.statusLine, "HTTP/1.1 200 OK");
    assert.equal(ok.body.toString(), "testing");
    // The expectation was met: the connection goes on.
    await c.write("PUT / HTTP/1.1\r\nHost: localhost\r\nContent-length: 2\r\nExpect: 100-continue\r\n\r\n");
    const [cont2] = await c.next();
    assert.ok(cont2);
    assert.equal(cont2.status, 100);
    await c.write("hi");
    const [ok2] = await c.next();
    assert.ok(ok2);
    assert.equal(ok2.body.toString(), "hi");
  });
});

test("setHundredContinueResponseHeaders: the 100 carries them, capitalized (test_024a)", async () => {
  await withClient(echoOrRefuse, {}, async (c) => {
    await c.write("PUT /headers HTTP/1.1\r\nHost: localhost\r\nContent-length: 7\r\nExpect: 100-continue\r\n\r\n");
    const [cont] = await c.next();
    assert.ok(cont);
    assert.equal(cont.status, 100);
    assert.equal(
      cont.rawHead,
      "HTTP/1.1 100 Continue\r\nHundred-Continue-Header-1: H1\r\nHundred-Continue-Header-2: H2\r\nHundred-Continue-Header-K: Hk",
    );
    await c.write("testing");
    const [ok] = await c.next();
    assert.ok(ok);
    assert.equal(ok.body.toString(), "testing");
  });
});

test("with capitalizeResponseHeaders: false the 100's headers keep their case", async () => {
  await withClient(echoOrRefuse, { capitalizeResponseHeaders: false }, async (c) => {
    await c.write("PUT /headers HTTP/1.1\r\nHost: localhost\r\nContent-length: 2\r\nExpect: 100-continue\r\n\r\n");
    const [cont] = await c.next();
    assert.ok(cont);
    assert.match(cont.rawHead, /\r\nHundred-Continue-Header-k: Hk$/);
  });
});

test("bad 100-continue headers are an application error", async () => {
  const app: App = (env, sr) => {
    env["wsgi.input"].setHundredContinueResponseHeaders([["X", "a\r\nInjected: 1"]]);
    sr("200 OK", []);
    return [];
  };
  await withServer(app, {}, async (s) => {
    const r = await rawExchange(
      s.port,
      "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n",
    );
    assert.deepEqual(
      parseAll(r.data).map((x) => x.status),
      [500],
    );
    assert.equal(r.text.includes("Injected"), false);
  });
});

/** eventlet's test_024b/c: a first 100, part of the body, a second 100 with other headers, the rest. */
function twoContinues(firstRead: number): App {
  return async (env, sr) => {
    const input = env["wsgi.input"];
    input.setHundredContinueResponseHeaders([
      ["Hundred-Continue-Header-1", "H1"],
      ["Hundred-Continue-Header-2", "H2"],
    ]);
    let text = await input.read(firstRead);
    input.setHundredContinueResponseHeaders([["Hundred-Continue-Header-3", "H3"]]);
    await input.sendHundredContinueResponse();
    text = Buffer.concat([text, await input.read()]);
    sr("200 OK", [["Content-Length", String(text.length)]]);
    return [text];
  };
}

test("a second 100 Continue with other headers, Content-Length body (test_024c)", async () => {
  await withClient(twoContinues(13), {}, async (c) => {
    await c.write(
      "PUT /a HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 29\r\nExpect: 100-continue\r\n\r\n",
    );
    const [first] = await c.next();
    assert.ok(first);
    assert.equal(
      first.rawHead,
      "HTTP/1.1 100 Continue\r\nHundred-Continue-Header-1: H1\r\nHundred-Continue-Header-2: H2",
    );
    await c.write("first message");
    const [second] = await c.next();
    assert.ok(second);
    assert.equal(second.rawHead, "HTTP/1.1 100 Continue\r\nHundred-Continue-Header-3: H3");
    await c.write(", second message");
    const [ok] = await c.next();
    assert.ok(ok);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.toString(), "first message, second message");
  });
});

test("a second 100 Continue with other headers, chunked body (test_024b, one chunked body)", async () => {
  await withClient(twoContinues(13), {}, async (c) => {
    await c.write(
      "PUT /a HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
    );
    const [first] = await c.next();
    assert.ok(first);
    assert.match(first.rawHead, /Hundred-Continue-Header-2: H2$/);
    await c.write("5\r\nfirst\r\n8\r\n message\r\n");
    const [second] = await c.next();
    assert.ok(second);
    assert.equal(second.rawHead, "HTTP/1.1 100 Continue\r\nHundred-Continue-Header-3: H3");
    await c.write("8\r\n, second\r\n8\r\n message\r\n0\r\n\r\n");
    const [ok] = await c.next();
    assert.ok(ok);
    assert.equal(ok.body.toString(), "first message, second message");
  });
});

test("a second 100 Continue after a complete chunked body: the client's second chunked body is read (Swift's multi-phase PUT)", async () => {
  const app: App = async (env, sr) => {
    const input = env["wsgi.input"];
    const first = await input.read();
    input.setHundredContinueResponseHeaders([["X-Phase", "2"]]);
    await input.sendHundredContinueResponse();
    const second = await input.read();
    const text = `${first.toString()}|${second.toString()}`;
    sr("200 OK", [["Content-Length", String(text.length)]]);
    return [text];
  };
  await withClient(app, {}, async (c) => {
    await c.write("PUT /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n");
    const [first] = await c.next();
    assert.ok(first);
    assert.equal(first.status, 100);
    await c.write("5\r\nfirst\r\n6\r\n phase\r\n0\r\n\r\n");
    const [second] = await c.next();
    assert.ok(second);
    assert.equal(second.rawHead, "HTTP/1.1 100 Continue\r\nX-Phase: 2");
    await c.write("6\r\nsecond\r\n0\r\n\r\n");
    const [ok] = await c.next();
    assert.ok(ok);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.toString(), "first phase|second");
    // The connection goes on: the second body's end was the request's end.
    await c.write("GET /b HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    const [next] = await c.next();
    assert.ok(next);
    assert.equal(next.status, 200);
    assert.equal(next.body.toString(), "|");
  });
});

test("an Input kept past its response sends no 100 Continue and gives no socket during the next request", async () => {
  let kept: Environ["wsgi.input"] | null = null;
  const app: App = async (env, sr) => {
    if (kept === null) {
      kept = env["wsgi.input"];
      const body = await kept.read();
      sr("200 OK", [["Content-Length", String(body.length)]]);
      return [body];
    }
    await kept.sendHundredContinueResponse();
    let refused = "no";
    try {
      kept.getSocket();
    } catch {
      refused = "yes";
    }
    sr("200 OK", [["X-Socket-Refused", refused]]);
    return ["second"];
  };
  await withClient(app, {}, async (c) => {
    await c.write("PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nhi");
    const [cont, first] = await c.next(2);
    assert.ok(first);
    assert.ok(cont);
    assert.equal(cont.status, 100);
    assert.equal(first.body.toString(), "hi");
    await c.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const [second] = await c.next();
    assert.ok(second);
    assert.equal(second.status, 200, "no stray 100 Continue before the second response");
    assert.equal(header(second, "x-socket-refused"), "yes");
    assert.equal(second.body.toString(), "second");
  });
});

test("a server limited to HTTP/1.0 sends no 100 Continue, even to an HTTP/1.1 client that expects one", async () => {
  await withClient(echoOrRefuse, { maxHttpVersion: "HTTP/1.0" }, async (c) => {
    await c.write("PUT / HTTP/1.1\r\nHost: localhost\r\nContent-length: 2\r\nExpect: 100-continue\r\n\r\nok");
    const [r] = await c.next();
    assert.ok(r);
    assert.equal(r.statusLine, "HTTP/1.0 200 OK");
    assert.equal(r.body.toString(), "ok");
    assert.equal(c.text.includes("100 Continue"), false);
  });
});

test("a Content-Length among the 100 Continue's headers is left out of it", async () => {
  const app: App = async (env, sr) => {
    env["wsgi.input"].setHundredContinueResponseHeaders([
      ["Content-Length", "99"],
      ["X-Hundred", "1"],
    ]);
    const text = await env["wsgi.input"].read();
    sr("200 OK", [["Content-Length", String(text.length)]]);
    return [text];
  };
  await withClient(app, {}, async (c) => {
    await c.write("PUT / HTTP/1.1\r\nHost: localhost\r\nContent-length: 2\r\nExpect: 100-continue\r\n\r\n");
    const [cont] = await c.next();
    assert.ok(cont);
    assert.equal(cont.rawHead, "HTTP/1.1 100 Continue\r\nX-Hundred: 1");
    await c.write("ok");
    const [ok] = await c.next();
    assert.ok(ok);
    assert.equal(ok.body.toString(), "ok");
  });
});
