/**
 * Fuzzing against a real server (fast-check): random sequences of frames — valid, malformed and
 * plain random bytes — split anywhere, then the client's close and FIN. The server must never
 * crash or hang: every connection ends with the TCP connection closed by the server, and any
 * close frame it sent carries a defined code.
 */

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { WebSocketWSGI } from "../../src/index.js";
import { startServer, type TestServer } from "../support/wire.js";
import { clientFrame, closeBody, deflateMessage, parseServerFrame, WsPeer, type ClientFrame } from "./raw-client.js";

let srv: TestServer;

before(async () => {
  const app = WebSocketWSGI(
    async (ws) => {
      for await (const m of ws) await ws.send(m);
    },
    { heartbeat: 0, maxMessageBytes: 4096, permessageDeflate: { threshold: 32 } },
  );
  srv = await startServer(app);
});
after(async () => {
  await srv.close(500);
});

const payload = fc.oneof(
  fc.string({ maxLength: 60 }).map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
  fc.constantFrom(Buffer.from([0xff]), Buffer.from([0xce]), Buffer.from([0xed, 0xa0, 0x80])),
);

const frameArb: fc.Arbitrary<Buffer> = fc.oneof(
  fc
    .record({
      opcode: fc.constantFrom(0, 1, 2, 3, 8, 9, 10, 11),
      fin: fc.boolean(),
      rsv1: fc.boolean(),
      rsv2: fc.constant(false),
      mask: fc.oneof(fc.constant(true), fc.constant(true), fc.constant(false)),
      payload,
    })
    .map((f: ClientFrame) => clientFrame(f)),
  fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)),
  payload.map((p) => clientFrame({ opcode: 2, rsv1: true, payload: deflateMessage(p) })),
  fc.integer({ min: 0, max: 5000 }).map((n) => clientFrame({ opcode: 8, payload: closeBody(n) })),
  fc.constant(clientFrame({ opcode: 2, payload: Buffer.alloc(5000) })),
);

const DEFINED_CODES = new Set([1000, 1002, 1007, 1009]);

test("fuzz: random frame sequences, split anywhere, always end in a defined close", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(frameArb, { maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      fc.boolean(),
      async (frames, cuts, deflate) => {
        const headers: Record<string, string> = deflate ? { "Sec-WebSocket-Extensions": "permessage-deflate" } : {};
        const peer = await WsPeer.open(srv.port, "/", headers);
        try {
          const bytes = Buffer.concat([...frames, clientFrame({ opcode: 8, payload: closeBody(1000) })]);
          const points = [...new Set([0, ...cuts.map((c) => c % (bytes.length + 1)), bytes.length])].sort(
            (a, b) => a - b,
          );
          for (let i = 1; i < points.length && !peer.closed; i++) {
            await peer.write(bytes.subarray(points[i - 1], points[i])).catch(() => undefined);
          }
          if (!peer.closed) peer.end();
          await peer.waitClosed(6000);
          // Every close frame the server sent carries a defined code (or none, answering an empty close).
          const start = peer.data.indexOf("\r\n\r\n") + 4;
          for (let pos = start; ;) {
            const p = parseServerFrame(peer.data, pos);
            if (p === null) break;
            pos = p.end;
            if (p.frame.opcode === 8 && p.frame.payload.length >= 2) {
              const code = p.frame.payload.readUInt16BE(0);
              assert.ok(DEFINED_CODES.has(code) || (code >= 1000 && code <= 4999), `close code ${code}`);
            }
          }
        } finally {
          peer.destroy();
        }
      },
    ),
    { numRuns: 150 },
  );
  // The server still serves.
  const peer = await WsPeer.open(srv.port);
  try {
    await peer.send({ opcode: 1, payload: "alive" });
    assert.equal((await peer.nextFrame()).payload.toString(), "alive");
  } finally {
    peer.destroy();
  }
});
