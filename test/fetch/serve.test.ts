/** serve() and getConnInfo() (eventwsgi/hono): the @hono/node-server calls, on eventwsgi. */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Hono } from "hono";
import { serve, type ListenInfo } from "../../src/index.js";
import { getConnInfo } from "../../src/hono.js";
import module from "../fixtures/fetch-module.js";

const quiet = { log: { info: () => {}, debug: () => {}, error: () => {} } };

test("serve(): a plain `export default { fetch }` module, with onListen's address info", async () => {
  let info: ListenInfo | null = null;
  const srv = await serve({ fetch: module, port: 0, hostname: "127.0.0.1", ...quiet }, (i) => {
    info = i;
  });
  try {
    const i = info as ListenInfo | null;
    assert.ok(i !== null);
    assert.equal(i.address, "127.0.0.1");
    assert.equal(i.family, "IPv4");
    assert.ok(i.port > 0);
    const r = await fetch(`http://127.0.0.1:${i.port}/some/where`);
    assert.equal(await r.text(), "plain module: GET /some/where");
  } finally {
    await srv.close();
  }
});

test("serve(): port 3000 on all IPv4 interfaces by default (as @hono/node-server)", async (t) => {
  let srv;
  try {
    srv = await serve({ fetch: () => new Response("default"), ...quiet });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EADDRINUSE") {
      t.skip("port 3000 is taken on this machine");
      return;
    }
    throw err;
  }
  try {
    assert.deepEqual(srv.address, { host: "0.0.0.0", port: 3000 });
  } finally {
    await srv.close();
  }
});

test("serve(): tls serves HTTPS; a Hono app's getConnInfo gives the client's address", async () => {
  const h = new Hono();
  h.get("/", (c) => c.json(getConnInfo(c)));
  const fixtures = new URL("../../../test/fixtures/", import.meta.url);
  const tls = { cert: readFileSync(new URL("cert.pem", fixtures)), key: readFileSync(new URL("key.pem", fixtures)) };
  const srv = await serve({ fetch: h, port: 0, hostname: "127.0.0.1", tls, ...quiet });
  try {
    const port = (srv.address as { port: number }).port;
    const { request } = await import("node:https");
    const body = await new Promise<string>((resolve, reject) => {
      request({ host: "127.0.0.1", port, path: "/", rejectUnauthorized: false }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => {
          resolve(text);
        });
      })
        .on("error", reject)
        .end();
    });
    const info = JSON.parse(body) as {
      remote: { address: string; port: number; addressType: string; transport: string };
    };
    assert.equal(info.remote.address, "127.0.0.1");
    assert.equal(info.remote.addressType, "IPv4");
    assert.equal(info.remote.transport, "tcp");
    assert.ok(info.remote.port > 0);
  } finally {
    await srv.close();
  }
});
