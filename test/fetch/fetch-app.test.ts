/**
 * fetchApp on the wire: raw bytes in, the exact bytes out. The rules of
 * API.md's "Rules of fetchApp" and the "what users ran into".
 */

import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { header, parseAll, parseResponses, rawExchange } from "../support/wire.js";
import { Signal, within } from "../support/wait.js";
import { withFetch } from "./support.js";

const GET = (path: string, extra = ""): string => `GET ${path} HTTP/1.1\r\nHost: example.com\r\n${extra}\r\n`;

test("request.url: scheme, Host, raw path and query; dot segments resolved, host lower-cased, as new URL() would", async () => {
  const seen: string[] = [];
  await withFetch(
    (req) => {
      seen.push(req.url);
      return new Response("ok");
    },
    async ({ port }) => {
      await rawExchange(port, GET("/a/b?x=1&y=%20"), { responses: 1 });
      await rawExchange(port, "GET /a/../c/./d?q='x HTTP/1.1\r\nHost: EXAMPLE.com:8080\r\n\r\n", { responses: 1 });
      await rawExchange(port, "GET /p HTTP/1.0\r\n\r\n", { responses: 1 });
      await rawExchange(port, "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", { responses: 1 });
    },
  );
  assert.equal(seen[0], "http://example.com/a/b?x=1&y=%20");
  assert.equal(seen[1], "http://example.com:8080/c/d?q=%27x");
  // No Host (HTTP/1.0): SERVER_NAME:SERVER_PORT.
  assert.match(String(seen[2]), /^http:\/\/127\.0\.0\.1:[0-9]+\/p$/);
  assert.equal(seen[3], "http://h/");
});

test("a host no URL can hold gets 400, and the handler is never called", async () => {
  let called = 0;
  await withFetch(
    () => {
      called++;
      return new Response("ok");
    },
    async ({ port }) => {
      for (const req of [
        "GET http://user@example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: 1.2.3.999\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
      ]) {
        const r = await rawExchange(port, req);
        const [res] = parseAll(r.data);
        assert.equal(res?.status, 400, req);
        assert.equal(r.closed, true);
      }
    },
  );
  assert.equal(called, 0);
});

test("request headers: from headers_raw, in order, repeated values kept, '_' names kept, Latin-1 bytes", async () => {
  let got: [string, string][] = [];
  let latin = "";
  await withFetch(
    (req) => {
      got = [...req.headers].filter(([n]) => n === "x-a" || n === "x_b");
      latin = req.headers.get("x-latin") ?? "";
      return new Response("ok");
    },
    async ({ port }) => {
      const head = Buffer.concat([
        Buffer.from(GET("/", "X-A: 1\r\nX_B: under\r\nX-A: 2\r\nX-Latin: caf"), "latin1").subarray(0, -2),
        Buffer.from([0xe9]),
        Buffer.from("\r\n\r\n"),
      ]);
      await rawExchange(port, head, { responses: 1 });
    },
  );
  assert.deepEqual(got, [
    ["x-a", "1, 2"],
    ["x_b", "under"],
  ]);
  assert.equal(latin, "caf\u00e9");
});

test("response headers: each Set-Cookie its own line, Latin-1 bytes out, hop-by-hop headers dropped", async () => {
  await withFetch(
    () => {
      const h = new Headers({ "x-latin": "caf\u00e9" });
      h.append("set-cookie", "a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT");
      h.append("set-cookie", "b=2");
      for (const [n, v] of [
        ["connection", "close"],
        ["keep-alive", "timeout=1"],
        ["transfer-encoding", "gzip"],
        ["upgrade", "h2c"],
        ["proxy-connection", "close"],
      ] as const)
        h.set(n, v);
      return new Response("body", { headers: h });
    },
    async ({ port }) => {
      const r = await rawExchange(port, GET("/") + GET("/"), { responses: 2 });
      const [res, second] = parseResponses(r.data).responses;
      assert.ok(res !== undefined && second !== undefined, "keep-alive: both answered on one connection");
      assert.deepEqual(
        res.headers.filter(([n]) => n === "set-cookie").map(([, v]) => v),
        ["a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT", "b=2"],
      );
      assert.ok(r.data.includes(Buffer.from("X-Latin: caf\xe9\r\n", "latin1")));
      for (const n of ["transfer-encoding", "keep-alive", "upgrade", "proxy-connection", "connection"])
        assert.equal(header(res, n), undefined, n);
      assert.equal(header(res, "content-length"), "4");
    },
  );
});

test("a header value above U+00FF is an application error: 500, logged", async () => {
  await withFetch(
    () => ({ status: 200, headers: [["x-bad", "\u0100"]], body: null }) as unknown as Response,
    async ({ port, log }) => {
      const r = await rawExchange(port, GET("/"));
      assert.equal(parseAll(r.data)[0]?.status, 500);
      await log.waitFor("error", /x-bad/i);
    },
  );
});

test("a handler that throws, or returns no Response, gives 500 and is logged", async () => {
  const handler = (req: Request): Response => {
    if (req.url.endsWith("/throw")) throw new Error("boom in handler");
    return { nope: true } as unknown as Response;
  };
  await withFetch(handler, async ({ port, log }) => {
    assert.equal(parseAll((await rawExchange(port, GET("/throw"))).data)[0]?.status, 500);
    await log.waitFor("error", /boom in handler/);
    assert.equal(parseAll((await rawExchange(port, GET("/other"))).data)[0]?.status, 500);
    await log.waitFor("error", /not a Response/);
  });
});

test("a Response recognised by its shape (a polyfill or another realm's) is served", async () => {
  await withFetch(
    () =>
      ({
        status: 202,
        statusText: "Accepted",
        headers: [["content-type", "text/plain"]],
        body: "shaped",
      }) as unknown as Response,
    async ({ port }) => {
      const [res] = parseAll((await rawExchange(port, GET("/"), { responses: 1 })).data);
      assert.equal(res?.statusLine, "HTTP/1.1 202 Accepted");
      assert.equal(String(res.body), "shaped");
    },
  );
});

test("a stream that errors mid-body: the connection is closed without a final chunk, and the error logged", async () => {
  await withFetch(
    () => {
      let n = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          if (n++ === 0) c.enqueue(new TextEncoder().encode("partial"));
          else c.error(new Error("stream broke"));
        },
      });
      return new Response(body);
    },
    async ({ port, log }) => {
      const r = await rawExchange(port, GET("/"));
      assert.equal(r.closed, true);
      assert.ok(r.text.includes("partial"));
      assert.ok(!r.text.endsWith("0\r\n\r\n"), "no last-chunk");
      await log.waitFor("error", /stream broke/);
    },
  );
});

test("HEAD: a streamed body is cancelled, not pulled; no Content-Length invented; a declared one kept", async () => {
  const cancelled = new Signal();
  let pulls = 0;
  await withFetch(
    (req) => {
      if (req.url.endsWith("/declared")) return new Response("12345", { headers: { "content-length": "5" } });
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          pulls++;
          c.enqueue(new Uint8Array(1024));
        },
        cancel() {
          cancelled.fire();
        },
      });
      return new Response(body);
    },
    async ({ port }) => {
      const r = await rawExchange(
        port,
        "HEAD /s HTTP/1.1\r\nHost: h\r\n\r\nHEAD /declared HTTP/1.1\r\nHost: h\r\n\r\n",
        {
          responses: 2,
          head: true,
        },
      );
      const [s, d] = parseResponses(r.data, { head: true }).responses;
      assert.ok(s !== undefined && d !== undefined);
      assert.equal(s.status, 200);
      assert.equal(header(s, "content-length"), undefined);
      assert.equal(header(s, "transfer-encoding"), undefined);
      assert.equal(header(d, "content-length"), "5");
      await within(3000, "the stream's cancel", cancelled.promise);
      assert.ok(pulls <= 1, `pulled ${pulls} times`);
    },
  );
});

test("a handler that never reads the body does not stall a kept-alive connection", async () => {
  await withFetch(
    () => new Response("ignored your body"),
    async ({ port }) => {
      const body = "x".repeat(200_000);
      const req = `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
      const r = await rawExchange(port, req + GET("/next"), { responses: 2, timeoutMs: 3000 });
      const responses = parseResponses(r.data).responses;
      assert.equal(responses.length, 2);
      assert.equal(responses[1]?.body.toString(), "ignored your body");
    },
  );
});

test("the body is not read before the handler pulls: no 100 Continue for a handler that does not read", async () => {
  await withFetch(
    async (req) => {
      if (req.url.endsWith("/read")) return new Response(`read ${(await req.text()).length}`);
      return new Response("not reading", { status: 413 });
    },
    async ({ port }) => {
      const skip = await rawExchange(
        port,
        "POST /skip HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
      );
      assert.ok(!skip.text.includes("100 Continue"));
      assert.equal(parseAll(skip.data)[0]?.status, 413);
      const sock = net.connect({ host: "127.0.0.1", port });
      try {
        sock.write("POST /read HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
        const cont = await within(3000, "100 Continue", new Promise<Buffer>((r) => sock.once("data", r)));
        assert.match(cont.toString("latin1"), /^HTTP\/1\.1 100 Continue\r\n/);
        sock.write("hello");
        const res = await within(3000, "the response", new Promise<Buffer>((r) => sock.once("data", r)));
        assert.ok(res.toString().endsWith("read 5"));
      } finally {
        sock.destroy();
      }
    },
  );
});

test("request.signal does not abort after a completed POST, even once the client has gone", async () => {
  let signal: AbortSignal | null = null;
  await withFetch(
    async (req) => {
      signal = req.signal;
      return new Response(await req.text());
    },
    async ({ port }) => {
      const r = await rawExchange(
        port,
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
      );
      assert.equal(parseAll(r.data)[0]?.body.toString(), "abc");
      assert.equal(r.closed, true);
    },
  );
  assert.equal((signal as AbortSignal | null)?.aborted, false);
});

test("the request is a Request: instanceof, new Request(req), clone(), arrayBuffer()", async () => {
  await withFetch(
    async (req) => {
      assert.ok(req instanceof Request);
      const copy = new Request(req, { headers: { "x-copy": "1" } });
      assert.equal(copy.url, req.url);
      assert.equal(copy.method, "PUT");
      const text = await copy.text();
      assert.equal(req.bodyUsed, true);
      return new Response(`${text}|${copy.headers.get("x-copy")}`);
    },
    async ({ port }) => {
      const r = await rawExchange(port, "PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody", {
        responses: 1,
      });
      assert.equal(parseAll(r.data)[0]?.body.toString(), "body|1");
    },
  );
});

test("request.body is a stream of what arrives, chunk by chunk (a chunked upload)", async () => {
  await withFetch(
    async (req) => {
      const reader = (req.body as ReadableStream<Uint8Array>).getReader();
      let total = 0;
      let chunks = 0;
      for (;;) {
        const r = await reader.read();
        if (r.done) break;
        total += r.value.byteLength;
        chunks++;
      }
      return new Response(`${total} in ${chunks > 0 ? "chunks" : "none"}`);
    },
    async ({ port }) => {
      const req = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
      const r = await rawExchange(port, req, { responses: 1 });
      assert.equal(parseAll(r.data)[0]?.body.toString(), "5 in chunks");
    },
  );
});

test("request.signal aborts when the client half-closes before its body is complete", async () => {
  const entered = new Signal();
  const aborted = new Signal();
  await withFetch(
    (req) => {
      req.signal.addEventListener("abort", () => {
        aborted.fire();
      });
      entered.fire();
      return new Promise<Response>(() => {}); // never answers: only the abort ends it
    },
    async ({ port }) => {
      const sock = net.connect({ host: "127.0.0.1", port });
      sock.on("error", () => {});
      try {
        sock.write("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc");
        await within(3000, "the handler", entered.promise);
        sock.end();
        await within(3000, "the abort", aborted.promise);
      } finally {
        sock.destroy();
      }
    },
  );
});
