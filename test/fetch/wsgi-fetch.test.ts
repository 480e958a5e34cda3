/**
 * wsgiFetch(): a WSGI app as a fetch handler, with no socket. The server's
 * own parser, environ, Input and Exchange run, so what a client would get
 * on the wire is what the Response holds.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { fetchApp, wsgiFetch, type App, type Environ } from "../../src/index.js";
import { captureLog } from "../support/wire.js";
import { Signal, within } from "../support/wait.js";

const quiet = (): { log: ReturnType<typeof captureLog>["log"]; f: (app: App) => (r: Request) => Promise<Response> } => {
  const { log, logger } = captureLog();
  return { log, f: (app) => wsgiFetch(app, { log: logger }) };
};

test("wsgiFetch: the environ is the server's (method, path decoded, query, headers, url scheme)", async () => {
  let env: Environ | null = null;
  const app: App = (e, sr) => {
    env = e;
    sr("200 OK", [["Content-Type", "text/plain"]]);
    return ["ok"];
  };
  const r = await quiet().f(app)(
    new Request("https://example.com:8443/a%20b?x=1", { headers: { "x-one": "1", "x-two": "2" } }),
  );
  assert.equal(await r.text(), "ok");
  const e = env as unknown as Environ;
  assert.equal(e.REQUEST_METHOD, "GET");
  assert.equal(e.PATH_INFO, "/a b");
  assert.equal(e.RAW_PATH_INFO, "/a%20b");
  assert.equal(e.QUERY_STRING, "x=1");
  assert.equal(e.HTTP_HOST, "example.com:8443");
  assert.equal(e.HTTP_X_ONE, "1");
  assert.equal(e["wsgi.url_scheme"], "https");
  assert.equal(e.HTTPS, "on");
  assert.equal(e.SERVER_PORT, "8443");
});

test("wsgiFetch: an array body gets its Content-Length; Date is set; hop-by-hop headers are not in the Response", async () => {
  const r = await quiet().f((_e, sr) => {
    sr("201 Created", [
      ["Content-Type", "text/plain"],
      ["Connection", "close"],
    ]);
    return ["made ", "it"];
  })(new Request("http://h/"));
  assert.equal(r.status, 201);
  assert.equal(r.statusText, "Created");
  assert.equal(r.headers.get("content-length"), "7");
  assert.ok(r.headers.get("date") !== null);
  assert.equal(r.headers.get("connection"), null);
  assert.equal(await r.text(), "made it");
});

test("wsgiFetch: a request body (sized, or streamed as chunked) reaches wsgi.input whole", async () => {
  const echo: App = async (e, sr) => {
    const body = await e["wsgi.input"].read();
    sr("200 OK", [["Content-Type", "text/plain"]]);
    return [`${e.CONTENT_LENGTH ?? "chunked"}:${body.toString()}`];
  };
  const f = quiet().f(echo);
  assert.equal(await (await f(new Request("http://h/", { method: "POST", body: "hello" }))).text(), "5:hello");
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode("str"));
      c.enqueue(new TextEncoder().encode("eamed"));
      c.close();
    },
  });
  const r = await f(new Request("http://h/", { method: "POST", body: stream, duplex: "half" }));
  assert.equal(await r.text(), "chunked:streamed");
});

test("wsgiFetch: a generator body streams, chunk by chunk, to the Response's reader", async () => {
  const next = new Signal();
  const app: App = (e, sr) => {
    e["eventlet.minimum_write_chunk_size"] = 0;
    sr("200 OK", [["Content-Type", "text/plain"]]);
    return (async function* () {
      yield "first";
      await within(3000, "the reader to see the first chunk", next.promise);
      yield "second";
    })();
  };
  const r = await quiet().f(app)(new Request("http://h/"));
  const reader = (r.body as ReadableStream<Uint8Array>).getReader();
  const first = await within(3000, "the first chunk", reader.read());
  assert.equal(Buffer.from(first.value ?? []).toString(), "first");
  next.fire();
  let rest = "";
  for (let c = await reader.read(); !c.done; c = await reader.read()) rest += Buffer.from(c.value).toString();
  assert.equal(rest, "second");
});

test("wsgiFetch: post hooks run after the response is read, and close() once", async () => {
  const hookRan = new Signal<boolean>();
  let closes = 0;
  let bodyRead = false;
  const app: App = (e, sr) => {
    e["eventlet.posthooks"].push([
      () => {
        hookRan.fire(bodyRead);
      },
    ]);
    sr("200 OK", [["Content-Type", "text/plain"]]);
    return Object.assign(["x"], {
      close() {
        closes++;
      },
    });
  };
  const r = await quiet().f(app)(new Request("http://h/"));
  assert.equal(await r.text(), "x");
  bodyRead = true;
  await within(3000, "the post hook", hookRan.promise);
  assert.equal(closes, 1);
});

test("wsgiFetch: an app that throws gives the server's 500, logged", async () => {
  const { log, f } = quiet();
  const r = await f(() => {
    throw new Error("kaboom");
  })(new Request("http://h/"));
  assert.equal(r.status, 500);
  await r.arrayBuffer();
  await log.waitFor("error", /kaboom/);
});

test("wsgiFetch: an app failing mid-body makes the Response body error, not end cleanly", async () => {
  const app: App = (e, sr) => {
    e["eventlet.minimum_write_chunk_size"] = 0;
    sr("200 OK", [["Content-Type", "text/plain"]]);
    return (function* () {
      yield "part";
      throw new Error("mid-body");
    })();
  };
  const r = await quiet().f(app)(new Request("http://h/"));
  await assert.rejects(r.text(), /cut short/);
});

test("wsgiFetch: cancelling the Response body is the client going away (close() runs, the generator stops)", async () => {
  const closed = new Signal();
  let yielded = 0;
  const app: App = (e, sr) => {
    e["eventlet.minimum_write_chunk_size"] = 0;
    sr("200 OK", [["Content-Type", "text/plain"]]);
    return Object.assign(
      (function* () {
        for (;;) {
          yielded++;
          yield "x".repeat(1024);
        }
      })(),
      {
        close: () => {
          closed.fire();
        },
      },
    );
  };
  const r = await quiet().f(app)(new Request("http://h/"));
  const reader = (r.body as ReadableStream<Uint8Array>).getReader();
  await reader.read();
  await reader.cancel();
  await within(3000, "close()", closed.promise);
  const after = yielded;
  assert.ok(after < 10_000, `the generator ran on: ${after}`);
});

test("wsgiFetch: HEAD and 204 give a null body", async () => {
  const f = quiet().f((_e, sr) => {
    sr("200 OK", [["Content-Type", "text/plain"]]);
    return ["body"];
  });
  const head = await f(new Request("http://h/", { method: "HEAD" }));
  assert.equal(head.body, null);
  assert.equal(head.headers.get("content-length"), "4");
  const none = await quiet().f((_e, sr) => {
    sr("204 No Content", []);
    return [];
  })(new Request("http://h/"));
  assert.equal(none.status, 204);
  assert.equal(none.body, null);
});

test("wsgiFetch round-trips fetchApp: a fetch handler behind the WSGI gateway, in memory", async () => {
  const handler = async (req: Request): Promise<Response> =>
    Response.json({ method: req.method, url: req.url, body: await req.text() }, { headers: { "set-cookie": "a=1" } });
  const r = await quiet().f(fetchApp(handler))(new Request("http://example.com/p?q=1", { method: "POST", body: "hi" }));
  assert.deepEqual(await r.json(), { method: "POST", url: "http://example.com/p?q=1", body: "hi" });
  assert.deepEqual(r.headers.getSetCookie(), ["a=1"]);
});
