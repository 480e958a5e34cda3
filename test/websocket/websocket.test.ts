/**
 * The WebSocket's behaviour (API.md, "WebSocket"): send/wait/close/ping, iteration, the close rules,
 * 1011 for a handler that throws, the heartbeat, and backpressure both ways. Raw peers on 127.0.0.1.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { WebSocketWSGI, type WebSocket, type WebSocketOptions } from "../../src/index.js";
import { startServer, type TestServer } from "../support/wire.js";
import { Signal, until, within } from "../support/wait.js";
import { clientFrame, closeBody, WsPeer } from "./raw-client.js";

async function withWs(
  handler: (ws: WebSocket) => Promise<void>,
  opts: WebSocketOptions,
  fn: (s: TestServer) => Promise<void>,
): Promise<void> {
  const s = await startServer(WebSocketWSGI(handler, { heartbeat: 0, ...opts }));
  try {
    await fn(s);
  } finally {
    await s.close(500);
  }
}

describe("websocket: the handler's API", () => {
  test("wait() gives messages in order, then null after the peer's close; closeCode and closeReason are the peer's", async () => {
    const seen = new Signal<[unknown[], number | null, string | null]>();
    await withWs(
      async (ws) => {
        const got: unknown[] = [];
        for (let m = await ws.wait(); m !== null; m = await ws.wait()) got.push(typeof m === "string" ? m : [...m]);
        seen.fire([got, ws.closeCode, ws.closeReason]);
      },
      {},
      async (s) => {
        const peer = await WsPeer.open(s.port);
        try {
          await peer.send({ opcode: 1, payload: "one" });
          await peer.send({ opcode: 2, payload: Buffer.from([1, 2]) });
          await peer.send({ opcode: 8, payload: closeBody(4001, "done") });
          const [got, code, reason] = await within(3000, "the handler", seen.promise);
          assert.deepEqual(got, ["one", [1, 2]]);
          assert.equal(code, 4001);
          assert.equal(reason, "done");
          const close = await peer.expectClose();
          assert.equal(close.code, 4001);
        } finally {
          peer.destroy();
        }
      },
    );
  });

  test("when the handler returns, the server closes with 1000 and closes TCP after the peer's answer", async () => {
    await withWs(
      async (ws) => {
        await ws.send("bye");
      },
      {},
      async (s) => {
        const peer = await WsPeer.open(s.port);
        try {
          assert.equal((await peer.nextFrame()).payload.toString(), "bye");
          const f = await peer.nextFrame();
          assert.equal(f.opcode, 8);
          assert.equal(f.payload.readUInt16BE(0), 1000);
          await peer.send({ opcode: 8, payload: closeBody(1000) });
          await peer.waitClosed();
        } finally {
          peer.destroy();
        }
      },
    );
  });

  test("close(code, reason) rules: RangeError outside the allowed codes or past 123 bytes; send() after close rejects", async () => {
    const result = new Signal<string[]>();
    await withWs(
      async (ws) => {
        const errors: string[] = [];
        for (const code of [999, 1004, 1005, 1006, 1012, 1015, 2999, 5000, 1000.5]) {
          try {
            void ws.close(code);
          } catch (err) {
            errors.push(`${code}:${(err as Error).name}`);
          }
        }
        try {
          void ws.close(1000, "é".repeat(62));
        } catch (err) {
          errors.push(`reason:${(err as Error).name}`);
        }
        try {
          void ws.send(123 as unknown as string);
        } catch (err) {
          errors.push(`send(123):${(err as Error).name}`);
        }
        const closing = ws.close(3001, "é".repeat(61));
        await ws.send("late").catch((err: unknown) => errors.push(`send:${(err as Error).name}`));
        result.fire(errors);
        await closing;
      },
      {},
      async (s) => {
        const peer = await WsPeer.open(s.port);
        try {
          const errors = await within(3000, "the handler", result.promise);
          assert.deepEqual(errors, [
            ...[999, 1004, 1005, 1006, 1012, 1015, 2999, 5000, 1000.5].map((c) => `${c}:RangeError`),
            "reason:RangeError",
            "send(123):TypeError",
            "send:WebSocketClosedError",
          ]);
          const f = await peer.nextFrame();
          assert.equal(f.opcode, 8);
          assert.equal(f.payload.readUInt16BE(0), 3001);
          assert.equal(f.payload.subarray(2).toString(), "é".repeat(61));
          await peer.send({ opcode: 8, payload: closeBody(3001) });
          await peer.waitClosed();
        } finally {
          peer.destroy();
        }
      },
    );
  });

  test("a peer that vanishes gives closeCode 1006 and wait() null", async () => {
    const seen = new Signal<number | null>();
    await withWs(
      async (ws) => {
        await ws.wait();
        seen.fire(ws.closeCode);
      },
      {},
      async (s) => {
        const peer = await WsPeer.open(s.port);
        peer.destroy();
        assert.equal(await within(3000, "the handler", seen.promise), 1006);
      },
    );
  });

  test("a handler that throws closes with 1011, and the error is logged", async () => {
    await withWs(
      async (ws) => {
        await ws.wait();
        throw new Error("handler exploded");
      },
      {},
      async (s) => {
        const peer = await WsPeer.open(s.port);
        try {
          await peer.send({ opcode: 1, payload: "go" });
          const f = await peer.nextFrame();
          assert.equal(f.opcode, 8);
          assert.equal(f.payload.readUInt16BE(0), 1011);
          assert.equal(f.payload.length, 2, "no internals in the reason");
          await peer.send({ opcode: 8, payload: closeBody(1011) });
          await s.log.waitFor("error", /handler exploded/);
        } finally {
          peer.destroy();
        }
      },
    );
  });

  test("ping() sends a ping; the peer's pong is accepted; a ping over 125 bytes is a RangeError", async () => {
    const done = new Signal<string>();
    await withWs(
      async (ws) => {
        await ws.ping("are you there");
        try {
          await ws.ping("x".repeat(126));
        } catch (err) {
          done.fire((err as Error).name);
        }
        await ws.wait();
      },
      {},
      async (s) => {
        const peer = await WsPeer.open(s.port);
        try {
          const f = await peer.nextFrame();
          assert.equal(f.opcode, 9);
          assert.equal(f.payload.toString(), "are you there");
          assert.equal(await within(3000, "the handler", done.promise), "RangeError");
          await peer.send({ opcode: 10, payload: "are you there" });
          await peer.send({ opcode: 8, payload: closeBody(1000) });
          assert.equal((await peer.expectClose()).code, 1000);
        } finally {
          peer.destroy();
        }
      },
    );
  });

  test("permessage-deflate threshold: short messages go uncompressed, long ones with RSV1", async () => {
    await withWs(
      async (ws) => {
        await ws.send("short");
        await ws.send("long ".repeat(100));
        await ws.wait();
      },
      { permessageDeflate: { threshold: 100 } },
      async (s) => {
        const peer = await WsPeer.open(s.port, "/", { "Sec-WebSocket-Extensions": "permessage-deflate" });
        try {
          const a = await peer.nextFrame();
          const b = await peer.nextFrame();
          assert.equal(a.rsv1, false);
          assert.equal(b.rsv1, true);
          assert.ok(b.payload.length < 100);
        } finally {
          peer.destroy();
        }
      },
    );
  });
});

describe("websocket: heartbeat", () => {
  test("a silent peer is pinged; one that answers stays; one that never answers is dropped (1006, nothing sent)", async () => {
    const codes: (number | null)[] = [];
    const dropped = new Signal();
    await withWs(
      async (ws) => {
        await ws.wait();
        codes.push(ws.closeCode);
        dropped.fire();
      },
      { heartbeat: 0.2 },
      async (s) => {
        const silent = await WsPeer.open(s.port);
        const lively = await WsPeer.open(s.port);
        try {
          const ping = await lively.nextFrame(2000);
          assert.equal(ping.opcode, 9);
          await lively.send({ opcode: 10 });
          const sPing = await silent.nextFrame(2000);
          assert.equal(sPing.opcode, 9);
          await within(3000, "the silent peer's drop", dropped.promise);
          await silent.waitClosed();
          assert.deepEqual(codes, [1006]);
          assert.equal(lively.closed, false, "the peer that answered is still connected");
          const frames = await silent.framesUntilClosed();
          assert.ok(
            frames.every((f) => f.opcode !== 8),
            "no close frame is sent for 1006",
          );
        } finally {
          silent.destroy();
          lively.destroy();
        }
      },
    );
  });
});

describe("websocket: backpressure", () => {
  test("a handler that does not read stops the server reading; nothing is lost once it does", async () => {
    const go = new Signal();
    let total = 0;
    await withWs(
      async (ws) => {
        await go.promise;
        for await (const m of ws) total += (m as Buffer).length;
      },
      { maxMessageBytes: 1 << 20 },
      async (s) => {
        const peer = await WsPeer.open(s.port);
        try {
          const frame = { opcode: 2, payload: Buffer.alloc(1 << 20, 1) };
          let written = 0;
          // Far more than socket buffers hold: writes stall once the server stops reading.
          for (let i = 0; i < 64 && peer.socket.writableLength < 8 << 20; i++) {
            peer.socket.write(clientFrame(frame));
            written++;
          }
          await until(5000, "the client's writes to stall", () => peer.socket.writableLength > 4 << 20);
          go.fire();
          await until(10000, "every message to be read", () => total === written << 20);
        } finally {
          peer.destroy();
        }
      },
    );
  });

  test("a peer that never reads: awaited sends stall with bounded memory, and resume when it reads", async () => {
    let sent = 0;
    const finished = new Signal();
    await withWs(
      async (ws) => {
        const chunk = Buffer.alloc(64 * 1024, 2);
        for (let i = 0; i < 1024; i++) {
          await ws.send(chunk);
          sent++;
        }
        finished.fire();
        await ws.wait();
      },
      {},
      async (s) => {
        const peer = await WsPeer.open(s.port);
        try {
          peer.socket.pause();
          let last = -1;
          await until(5000, "the handler's sends to stall", () => {
            const stalled = sent === last && sent > 0;
            last = sent;
            return stalled && sent < 1024;
          });
          assert.ok(sent * 64 * 1024 < 48 << 20, `${sent} sends went out to a peer that reads nothing`);
          // Read the rest by counting (the peer's own buffer would copy 64 MiB over and over).
          let received = peer.data.length;
          peer.socket.removeAllListeners("data");
          peer.socket.on("data", (d: Buffer) => {
            received += d.length;
          });
          peer.socket.resume();
          await within(10000, "the handler to finish", finished.promise);
          await until(10000, "every byte", () => received >= (1024 - 0) * 64 * 1024);
        } finally {
          peer.destroy();
        }
      },
    );
  });

  test("a flood of pings from a peer that never reads: the server stops reading rather than queue pongs", async () => {
    await withWs(
      async (ws) => {
        await ws.wait();
      },
      {},
      async (s) => {
        const peer = await WsPeer.open(s.port);
        try {
          peer.socket.pause();
          const ping = clientFrame({ opcode: 9, payload: Buffer.alloc(125, 7) });
          const burst = Buffer.concat(Array.from({ length: 8192 }, () => ping)); // ~1 MiB of pings
          for (let i = 0; i < 64 && peer.socket.writableLength < 16 << 20; i++) peer.socket.write(burst);
          await until(10000, "the client's writes to stall", () => peer.socket.writableLength > 4 << 20);
        } finally {
          peer.destroy();
        }
      },
    );
  });
});
