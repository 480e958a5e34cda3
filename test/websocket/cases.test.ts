/**
 * Runs the case table (cases.ts) against a real server on 127.0.0.1: every case with its frames
 * written whole, and the small ones again split into single bytes (a frame cut anywhere is the
 * same frame). A case passes when the server sends exactly the expected frames, then its close
 * code, then closes the TCP connection (RFC 6455 §7.1.1: the server closes first).
 */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { WebSocketWSGI } from "../../src/index.js";
import { startServer, type TestServer } from "../support/wire.js";
import { CASE_MAX_MESSAGE_BYTES, CASES, type Case } from "./cases.js";
import { clientFrame, closeBody, inflateMessage, WsPeer, type ServerFrame } from "./raw-client.js";

let srv: TestServer;

before(async () => {
  const app = WebSocketWSGI(
    async (ws) => {
      for await (const message of ws) await ws.send(message);
    },
    { maxMessageBytes: CASE_MAX_MESSAGE_BYTES, heartbeat: 0, permessageDeflate: { threshold: 64 } },
  );
  srv = await startServer(app);
});
after(async () => {
  await srv.close(500);
});

function asBuffer(p: Buffer | string): Buffer {
  return typeof p === "string" ? Buffer.from(p) : p;
}

async function run(c: Case, split: boolean): Promise<void> {
  const headers: Record<string, string> = c.deflate
    ? { "Sec-WebSocket-Extensions": "permessage-deflate; server_no_context_takeover; client_max_window_bits" }
    : {};
  const peer = await WsPeer.open(srv.port, "/", headers);
  try {
    if (c.deflate) assert.match(peer.responseHead, /Sec-WebSocket-Extensions: permessage-deflate/i);
    let bytes = Buffer.concat(c.frames.map((f) => clientFrame(f)));
    const expectFailure = c.close !== undefined && !c.clientCloses;
    if (!expectFailure && !c.clientCloses)
      bytes = Buffer.concat([bytes, clientFrame({ opcode: 0x8, payload: closeBody(1000) })]);
    if (split) {
      for (let i = 0; i < bytes.length && !peer.closed; i++) await peer.write(bytes.subarray(i, i + 1));
    } else {
      // The server may fail the connection before all is written (a too-big header): a reset is fine.
      await peer.write(bytes).catch(() => undefined);
    }
    const { code, before } = await peer.expectClose(5000);
    const got = before.map((f: ServerFrame) => [f.opcode, f.rsv1 ? inflateMessage(f.payload) : f.payload] as const);
    const want = (c.echo ?? []).map(([op, p]) => [op, asBuffer(p)] as const);
    assert.deepEqual(
      got.map(([op, p]) => [op, p.toString("hex")]),
      want.map(([op, p]) => [op, p.toString("hex")]),
      "the frames before the close",
    );
    assert.equal(code, c.close ?? 1000, "the close code");
  } finally {
    peer.destroy();
  }
}

for (const group of [...new Set(CASES.map((c) => c.group))]) {
  describe(`websocket cases: ${group}`, () => {
    for (const c of CASES.filter((x) => x.group === group)) {
      test(`${c.id}: ${c.title} (RFC 6455 ${c.rfc})`, async () => {
        await run(c, false);
        const size = c.frames.reduce((n, f) => n + (f.payload?.length ?? 0), 0);
        if (size < 400 && c.frames.length < 20) await run(c, true);
      });
    }
  });
}
