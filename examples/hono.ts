/**
 * A Hono app served by eventwsgi through `fetchApp`: the fetch-style handler becomes a WSGI app,
 * served with eventwsgi's strict parser, backpressure and graceful shutdown. `getConnInfo` from
 * `eventwsgi/hono` gives the client's address, as @hono/node-server's does.
 *
 *   GET /            text
 *   GET /hello/:name JSON, with the client's address
 *   POST /echo       the JSON body, sent back
 *   GET /later       answers at once; its waitUntil work runs after the response (a post hook)
 */

import { Hono } from "hono";
import { fetchApp, listen, server, type FetchEnv } from "eventwsgi";
import { getConnInfo } from "eventwsgi/hono";

const app = new Hono<{ Bindings: FetchEnv }>();

app.get("/", (c) => c.text("Hello from Hono on eventwsgi!\n"));

app.get("/hello/:name", (c) => c.json({ hello: c.req.param("name"), from: getConnInfo(c).remote.address }));

app.post("/echo", async (c) => c.json(await c.req.json<unknown>()));

app.get("/later", (c) => {
  c.executionCtx.waitUntil(
    Promise.resolve().then(() => {
      console.log(`after the response to ${c.req.path}`);
    }),
  );
  return c.text("answered\n");
});

const wsgi = server(await listen([process.env.HOST ?? "", Number(process.env.PORT ?? 8090)]), fetchApp(app));
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void wsgi.close({ deadline: 10_000 }));
}
await wsgi.closed;
