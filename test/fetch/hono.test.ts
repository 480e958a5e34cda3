/**
 * Hono on eventwsgi, through fetchApp and a real server, with fetch as the
 * client: what a Hono user relies on works as on @hono/node-server.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { Hono } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { cors } from "hono/cors";
import { etag } from "hono/etag";
import { streamSSE, streamText } from "hono/streaming";
import net from "node:net";
import { Signal, until, within } from "../support/wait.js";
import { startFetch, withFetch } from "./support.js";

function app(): Hono {
  const h = new Hono();
  h.get("/", (c) => c.text("hello"));
  h.get("/user/:id", (c) => c.json({ id: c.req.param("id"), q: c.req.query("q") ?? null }));
  h.post("/json", async (c) => c.json({ got: await c.req.json<unknown>() }, 201));
  h.get("/cookies", (c) => {
    setCookie(c, "a", "1", { path: "/", httpOnly: true });
    setCookie(c, "b", "2", { maxAge: 60, sameSite: "Lax" });
    return c.text(`seen=${getCookie(c, "seen") ?? ""}`);
  });
  h.use("/api/*", cors({ origin: "https://example.com" }));
  h.get("/api/x", (c) => c.text("x"));
  h.use("/etag/*", etag());
  h.get("/etag/x", (c) => c.text("cacheable"));
  h.get("/old", (c) => c.redirect("/new", 301));
  h.post("/upload", async (c) => {
    const form = await c.req.parseBody();
    const file = form.file;
    assert.ok(file instanceof File);
    return c.json({ name: file.name, size: file.size, text: await file.text(), field: form.field });
  });
  h.get("/text", (c) =>
    streamText(c, async (s) => {
      await s.write("one ");
      await s.write("two");
    }),
  );
  h.get("/sse", (c) =>
    streamSSE(c, async (s) => {
      for (let i = 0; i < 3; i++) await s.writeSSE({ event: "tick", data: String(i), id: String(i) });
    }),
  );
  return h;
}

test("Hono: routing, params and query, 404", async () => {
  await withFetch(app(), async ({ base }) => {
    const r = await fetch(`${base}/`);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), "hello");
    assert.equal(r.headers.get("content-length"), "5");
    assert.deepEqual(await (await fetch(`${base}/user/42?q=z`)).json(), { id: "42", q: "z" });
    const missing = await fetch(`${base}/nope`);
    assert.equal(missing.status, 404);
    await missing.arrayBuffer();
  });
});

test("Hono: a JSON body in, JSON out with its status", async () => {
  await withFetch(app(), async ({ base }) => {
    const r = await fetch(`${base}/json`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ a: [1, "é"] }),
    });
    assert.equal(r.status, 201);
    assert.match(r.headers.get("content-type") ?? "", /^application\/json/);
    assert.deepEqual(await r.json(), { got: { a: [1, "é"] } });
  });
});

test("Hono: cookies in, and each Set-Cookie on its own header line", async () => {
  await withFetch(app(), async ({ base }) => {
    const r = await fetch(`${base}/cookies`, { headers: { cookie: "seen=yes" } });
    assert.equal(await r.text(), "seen=yes");
    assert.deepEqual(r.headers.getSetCookie(), ["a=1; Path=/; HttpOnly", "b=2; Max-Age=60; Path=/; SameSite=Lax"]);
  });
});

test("Hono: cors answers a preflight and marks the response", async () => {
  await withFetch(app(), async ({ base }) => {
    const pre = await fetch(`${base}/api/x`, {
      method: "OPTIONS",
      headers: { origin: "https://example.com", "access-control-request-method": "PUT" },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get("access-control-allow-origin"), "https://example.com");
    assert.match(pre.headers.get("access-control-allow-methods") ?? "", /PUT/);
    const r = await fetch(`${base}/api/x`, { headers: { origin: "https://example.com" } });
    assert.equal(r.headers.get("access-control-allow-origin"), "https://example.com");
    assert.equal(await r.text(), "x");
  });
});

test("Hono: etag, then 304 Not Modified with no body for If-None-Match", async () => {
  await withFetch(app(), async ({ base }) => {
    const r = await fetch(`${base}/etag/x`);
    const tag = r.headers.get("etag");
    assert.ok(tag !== null);
    assert.equal(await r.text(), "cacheable");
    const again = await fetch(`${base}/etag/x`, { headers: { "if-none-match": tag } });
    assert.equal(again.status, 304);
    assert.equal(again.headers.get("etag"), tag);
    assert.equal(await again.text(), "");
  });
});

test("Hono: a redirect keeps its status and Location", async () => {
  await withFetch(app(), async ({ base }) => {
    const r = await fetch(`${base}/old`, { redirect: "manual" });
    assert.equal(r.status, 301);
    assert.equal(r.headers.get("location"), "/new");
    await r.arrayBuffer();
  });
});

test("Hono: c.req.parseBody() reads a multipart upload with a file", async () => {
  await withFetch(app(), async ({ base }) => {
    const form = new FormData();
    form.set("field", "v");
    form.set("file", new Blob(["file contents\n"], { type: "text/plain" }), "notes.txt");
    const r = await fetch(`${base}/upload`, { method: "POST", body: form });
    assert.deepEqual(await r.json(), { name: "notes.txt", size: 14, text: "file contents\n", field: "v" });
  });
});

test("Hono: streamText and streamSSE go out chunked, whole", async () => {
  await withFetch(app(), async ({ base }) => {
    const t = await fetch(`${base}/text`);
    assert.equal(t.headers.get("transfer-encoding"), "chunked");
    assert.equal(await t.text(), "one two");
    const s = await fetch(`${base}/sse`);
    assert.match(s.headers.get("content-type") ?? "", /^text\/event-stream/);
    const body = await s.text();
    assert.equal(body, [0, 1, 2].map((i) => `event: tick\ndata: ${i}\nid: ${i}\n\n`).join(""));
  });
});

test("Hono: an SSE event reaches the client before the handler writes the next one", async () => {
  const next = new Signal();
  const h = new Hono();
  h.get("/sse", (c) =>
    streamSSE(c, async (s) => {
      await s.writeSSE({ data: "first" });
      await within(3000, "the client to see the first event", next.promise);
      await s.writeSSE({ data: "second" });
    }),
  );
  await withFetch(h, async ({ base }) => {
    const r = await fetch(`${base}/sse`);
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    const first = await within(3000, "the first event", reader.read());
    assert.equal(Buffer.from(first.value ?? []).toString(), "data: first\n\n");
    next.fire();
    let rest = "";
    for (;;) {
      const c = await within(3000, "the rest", reader.read());
      if (c.done) break;
      rest += Buffer.from(c.value).toString();
    }
    assert.equal(rest, "data: second\n\n");
  });
});

test("Hono: a client that leaves mid-stream aborts the handler's stream (stream.onAbort)", async () => {
  const aborted = new Signal();
  const started = new Signal();
  const h = new Hono();
  h.get("/forever", (c) =>
    streamText(c, async (s) => {
      s.onAbort(() => {
        aborted.fire();
      });
      await s.write("tick");
      started.fire();
      while (!s.aborted) await s.sleep(10);
    }),
  );
  await withFetch(h, async ({ port }) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    sock.on("error", () => {});
    sock.write("GET /forever HTTP/1.1\r\nHost: x\r\n\r\n");
    await within(3000, "the stream to start", started.promise);
    // A reset: a FIN alone, after a complete request, is a half-close the server does not
    // read as leaving (API.md) until a write to the socket fails.
    sock.resetAndDestroy();
    await within(3000, "onAbort", aborted.promise);
  });
});

test("Hono: c.req.raw.signal aborts when the client leaves a slow handler", async () => {
  const entered = new Signal();
  const sawAbort = new Signal<unknown>();
  const h = new Hono();
  h.get("/slow", async (c) => {
    const signal = c.req.raw.signal;
    entered.fire();
    await new Promise<void>((resolve) => {
      signal.addEventListener("abort", () => {
        sawAbort.fire(signal.reason);
        resolve();
      });
    });
    return c.text("too late");
  });
  await withFetch(h, async ({ port }) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    sock.on("error", () => {});
    sock.write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    await within(3000, "the handler", entered.promise);
    // A reset, not a FIN: a half-close after a complete request does not abort (API.md).
    sock.resetAndDestroy();
    const reason = await within(3000, "the abort", sawAbort.promise);
    assert.equal((reason as DOMException).name, "AbortError");
  });
});

test("Hono: c.executionCtx.waitUntil work runs on after the response, which does not wait for it", async () => {
  const clientGotResponse = new Signal();
  const workDone = new Signal();
  const h = new Hono();
  h.get("/", (c) => {
    c.executionCtx.waitUntil(
      (async () => {
        await within(3000, "the client to have its response", clientGotResponse.promise);
        workDone.fire();
      })(),
    );
    return c.text("ok");
  });
  await withFetch(h, async ({ base }) => {
    const r = await within(3000, "the response, while waitUntil's work is pending", fetch(`${base}/`));
    assert.equal(await r.text(), "ok");
    assert.equal(workDone.fired, false);
    clientGotResponse.fire();
    await within(3000, "waitUntil's work", workDone.promise);
  });
});

test("Hono: graceful close() waits for c.executionCtx.waitUntil work", async () => {
  const release = new Signal();
  let workDone = false;
  const h = new Hono();
  h.get("/", (c) => {
    c.executionCtx.waitUntil(
      (async () => {
        await within(3000, "the release", release.promise);
        workDone = true;
      })(),
    );
    return c.text("ok");
  });
  const s = await startFetch(h);
  try {
    assert.equal(await (await fetch(`${s.base}/`, { headers: { connection: "close" } })).text(), "ok");
    let doneWhenClosed: boolean | null = null;
    const closing = s.server.close().then(() => {
      doneWhenClosed = workDone;
    });
    // Once the server has nothing else left (its connection gone), only the waitUntil work holds close().
    await until(3000, "the connection to close", () => s.server.connectionCount === 0);
    await new Promise((r) => setTimeout(r, 50)); // a close() not waiting for the hook resolves within this
    release.fire();
    await within(3000, "close()", closing);
    assert.equal(doneWhenClosed, true, "close() resolved before waitUntil's work was done");
  } finally {
    release.fire();
    await s.close(500);
  }
});
