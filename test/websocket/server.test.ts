/**
 * The WebSocket and the server around it: wss:// over wrapSsl, maxSize counting, and
 * WsgiServer.close() sending 1001 to every open WebSocket (API.md, "WebSocket").
 */

import assert from "node:assert/strict";
import { once } from "node:events";
import { describe, test } from "node:test";
import { WebSocket as WsClient } from "ws";
import { listen, server, WebSocketWSGI, wrapSsl, type App } from "../../src/index.js";
import { CERT, fixture } from "../ops/support.js";
import { captureLog, startServer } from "../support/wire.js";
import { Signal, until, within } from "../support/wait.js";
import { closeBody, WsPeer } from "./raw-client.js";

const echo = (): App =>
  WebSocketWSGI(
    async (ws) => {
      for await (const m of ws) await ws.send(m);
    },
    { heartbeat: 0 },
  );

describe("websocket and the server", () => {
  test("wss:// over wrapSsl, with compression", async () => {
    const sock = wrapSsl(await listen(["127.0.0.1", 0]), {
      certfile: fixture("cert.pem"),
      keyfile: fixture("key.pem"),
      serverSide: true,
    });
    const { logger } = captureLog();
    const srv = server(sock, echo(), { log: logger });
    const port = (srv.address as { port: number }).port;
    const c = new WsClient(`wss://localhost:${port}/`, { ca: CERT, perMessageDeflate: true });
    try {
      await within(3000, "open", once(c, "open"));
      assert.match(c.extensions, /permessage-deflate/);
      const back = once(c, "message");
      c.send("over tls ".repeat(200));
      const [data] = (await within(3000, "echo", back)) as [Buffer];
      assert.equal(data.toString(), "over tls ".repeat(200));
      const closed = once(c, "close");
      c.close(1000);
      assert.equal(((await within(3000, "close", closed)) as [number])[0], 1000);
    } finally {
      c.terminate();
      await srv.close({ deadline: 500 });
    }
  });

  test("a WebSocket counts in maxSize until its connection closes", async () => {
    const s = await startServer(
      (env, start) => {
        if (env.PATH_INFO === "/ws") return echo()(env, start);
        start("200 OK", [["Content-Type", "text/plain"]]);
        return ["plain\n"];
      },
      { maxSize: 1 },
    );
    const ws = await WsPeer.open(s.port, "/ws");
    const other = await WsPeer.connect(s.port);
    try {
      assert.equal(s.server.connectionCount, 1);
      await other.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      // Held unread while the WebSocket holds the only slot: the echo proves the server is live.
      await ws.send({ opcode: 1, payload: "ping" });
      assert.equal((await ws.nextFrame()).payload.toString(), "ping");
      assert.equal(other.text, "", "the second connection is not served while the WebSocket is open");
      await ws.send({ opcode: 8, payload: closeBody(1000) });
      await ws.waitClosed();
      await other.waitForText("plain");
      // One access-log line for the WebSocket, with its 101.
      await s.log.waitFor("info", /"GET \/ws HTTP\/1\.1" 101 /);
    } finally {
      ws.destroy();
      other.destroy();
      await s.close(500);
    }
  });

  test("two hundred sessions, closed by either side or cut, leave no connection behind", async () => {
    const s = await startServer(echo());
    try {
      for (let batch = 0; batch < 4; batch++) {
        await Promise.all(
          Array.from({ length: 50 }, async (_, i) => {
            const c = new WsClient(`ws://127.0.0.1:${s.port}/`, { perMessageDeflate: i % 2 === 0 });
            try {
              await within(5000, "open", once(c, "open"));
              const back = once(c, "message");
              c.send(`m${i}`);
              await within(5000, "echo", back);
              if (i % 3 === 0) c.terminate();
              else {
                const closed = once(c, "close");
                c.close(1000);
                await within(5000, "close", closed);
              }
            } finally {
              c.terminate();
            }
          }),
        );
      }
      await until(5000, "every connection to close", () => s.server.connectionCount === 0);
    } finally {
      await s.close(500);
    }
  });

  test("WsgiServer.close() sends 1001 to every open WebSocket and ends each after its handshake", async () => {
    const returned = new Signal<(number | null)[]>();
    const codes: (number | null)[] = [];
    const s = await startServer(
      WebSocketWSGI(
        async (ws) => {
          for await (const m of ws) await ws.send(m);
          codes.push(ws.closeCode);
          if (codes.length === 2) returned.fire(codes);
        },
        { heartbeat: 0 },
      ),
    );
    const a = await WsPeer.open(s.port);
    const b = await WsPeer.open(s.port);
    try {
      const closing = s.server.close({ deadline: 3000 });
      for (const peer of [a, b]) {
        const f = await peer.nextFrame();
        assert.equal(f.opcode, 8);
        assert.equal(f.payload.readUInt16BE(0), 1001);
        await peer.send({ opcode: 8, payload: closeBody(1001) });
      }
      await within(3000, "both handlers", returned.promise);
      assert.deepEqual(codes, [1001, 1001]);
      await within(4000, "the server's close", closing);
      assert.ok(a.closed && b.closed);
    } finally {
      a.destroy();
      b.destroy();
      await s.close(100);
    }
  });

  test("WsgiServer.close() drops a WebSocket whose peer never answers 1001, at the deadline", async () => {
    const s = await startServer(echo());
    const peer = await WsPeer.open(s.port);
    try {
      const t0 = Date.now();
      await within(3000, "the server's close", s.server.close({ deadline: 300 }));
      const f = await peer.nextFrame();
      assert.equal(f.payload.readUInt16BE(0), 1001);
      await peer.waitClosed();
      assert.ok(Date.now() - t0 < 2500);
    } finally {
      peer.destroy();
    }
  });
});
