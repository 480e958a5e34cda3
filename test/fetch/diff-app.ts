/**
 * The Hono app of the differential test (and the bench's): the same routes
 * served by @hono/node-server and by eventwsgi.
 */

import { Hono } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { cors } from "hono/cors";
import { etag } from "hono/etag";
import { streamSSE, streamText } from "hono/streaming";

export function diffApp(): Hono {
  const h = new Hono();
  h.get("/", (c) => c.text("Hello, World!"));
  h.get("/json", (c) => c.json({ message: "Hello, World!", n: [1, 2, 3] }));
  h.post("/echo", async (c) => c.json({ got: await c.req.json<unknown>() }, 201));
  h.post("/size", async (c) => c.text(String((await c.req.arrayBuffer()).byteLength)));
  h.get("/user/:id", (c) => c.json({ id: c.req.param("id"), q: c.req.queries("q") ?? [] }));
  h.get("/headers", (c) =>
    c.json({ a: c.req.header("x-a") ?? null, u: c.req.header("x_u") ?? null, l: c.req.header("x-l") ?? null }),
  );
  h.get("/url", (c) => c.text(c.req.url));
  h.get("/cookies", (c) => {
    setCookie(c, "a", "1", { path: "/", httpOnly: true });
    setCookie(c, "b", "2", { maxAge: 60 });
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
    return c.json({ name: file instanceof File ? file.name : null, size: file instanceof File ? file.size : -1 });
  });
  h.get("/text", (c) =>
    streamText(c, async (s) => {
      await s.write("one ");
      await s.write("two");
    }),
  );
  h.get("/sse", (c) =>
    streamSSE(c, async (s) => {
      for (let i = 0; i < 100; i++) await s.writeSSE({ data: "x".repeat(1000), id: String(i) });
    }),
  );
  h.get("/latin", () => new Response("l", { headers: { "x-latin": "caf\u00e9" } }));
  h.get("/throw", () => {
    throw new Error("boom");
  });
  h.onError((err, c) => c.text(`handled: ${err.message}`, 500));
  return h;
}
