/**
 * eventwsgi/hono's upgradeWebSocket: a Hono app served through fetchApp upgrades a route, and its
 * events (onOpen, onMessage, onClose) run on eventwsgi's WebSocket; ordinary routes still answer.
 */

import assert from "node:assert/strict";
import { once } from "node:events";
import { test } from "node:test";
import { Hono } from "hono";
import { WebSocket as WsClient } from "ws";
import { fetchApp } from "../../src/index.js";
import { upgradeWebSocket } from "../../src/hono.js";
import { startServer } from "../support/wire.js";
import { Signal, within } from "../support/wait.js";

test("hono: upgradeWebSocket echoes with compression, reports open and close, and plain routes still work", async () => {
  const events: string[] = [];
  const closed = new Signal<[number, string]>();
  const app = new Hono();
  app.get("/plain", (c) => c.text("plain"));
  app.get(
    "/ws",
    upgradeWebSocket(() => ({
      onOpen(_evt, ws) {
        events.push("open");
        ws.send("hello");
      },
      onMessage(evt, ws) {
        const data = (evt as { data: unknown }).data;
        if (data === "bye") ws.close(4001, "done");
        else ws.send(typeof data === "string" ? `echo:${data}` : new Uint8Array(data as ArrayBuffer));
      },
      onClose(evt) {
        events.push("close");
        const e = evt as unknown as { code: number; reason: string };
        closed.fire([e.code, e.reason]);
      },
    })),
  );
  const s = await startServer(fetchApp(app));
  const c = new WsClient(`ws://127.0.0.1:${s.port}/ws`, { perMessageDeflate: true });
  try {
    const got: string[] = [];
    c.on("message", (d: Buffer, isBinary: boolean) => got.push(isBinary ? `bin:${d.length}` : d.toString()));
    await within(3000, "open", once(c, "open"));
    assert.match(c.extensions, /permessage-deflate/);
    c.send("x".repeat(3000));
    c.send(Buffer.alloc(10, 1));
    const clientClosed = once(c, "close");
    c.send("bye");
    const [code, reason] = (await within(3000, "close", clientClosed)) as [number, Buffer];
    assert.equal(code, 4001);
    assert.equal(reason.toString(), "done");
    assert.deepEqual(got, ["hello", `echo:${"x".repeat(3000)}`, "bin:10"]);
    assert.deepEqual(await within(3000, "onClose", closed.promise), [4001, "done"]);
    assert.deepEqual(events, ["open", "close"]);
    const res = await fetch(`http://127.0.0.1:${s.port}/plain`);
    assert.equal(await res.text(), "plain");
    await s.log.waitFor("info", /"GET \/ws HTTP\/1\.1" 101 /);
    assert.deepEqual(s.log.error, []);
  } finally {
    c.terminate();
    await s.close(500);
  }
});

test("hono: a plain GET to an upgradeWebSocket route falls through to the next handler", async () => {
  const app = new Hono();
  app.get(
    "/ws",
    upgradeWebSocket(() => ({})),
    (c) => c.text("not a websocket", 426),
  );
  const s = await startServer(fetchApp(app));
  try {
    const res = await fetch(`http://127.0.0.1:${s.port}/ws`);
    assert.equal(res.status, 426);
    assert.equal(await res.text(), "not a websocket");
  } finally {
    await s.close(500);
  }
});
