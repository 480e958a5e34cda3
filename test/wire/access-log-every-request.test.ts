/**
 * docs/api.md, "The access log: one line for every request": requests the
 * server answers itself, clients that leave before any status (499), and
 * body_length as the bytes the kernel took, not what the app produced.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { App } from "../../src/index.js";
import { Peer } from "../support/peer.js";
import { rawExchange, withServer, type TestServer } from "../support/wire.js";

const ok: App = (_env, sr) => {
  sr("200 OK", [["Content-Type", "text/plain"]]);
  return ["ok"];
};

function accessLines(s: TestServer): string[] {
  return s.log.info.filter((l) => !l.includes("wsgi starting up") && !l.includes("wsgi exited"));
}

/** Sends `bytes`, waits for the server's answer and its access line; returns the one line. */
async function lineFor(s: TestServer, bytes: string, expect: RegExp): Promise<string> {
  const r = await rawExchange(s.port, bytes);
  const line = await s.log.waitFor("info", expect);
  assert.equal(accessLines(s).length, 1, accessLines(s).join("\n"));
  // body_length: exactly the bytes of the server's answer (head included)
  assert.ok(line.includes(` ${r.data.length} `), `${line} (answer of ${r.data.length} bytes)`);
  return line;
}

const SERVER_MADE: [string, string, RegExp][] = [
  ["400 for a request line that does not parse", "NOT HTTP\r\n\r\n", /"-" 400 \d+ /],
  ["414 for a request line too long", `GET /${"a".repeat(9000)} HTTP/1.1\r\n\r\n`, /"-" 414 \d+ /],
  [
    "400 for a bad header line, with the request line",
    "GET /x HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
    /"GET \/x HTTP\/1\.1" 400 \d+ /,
  ],
  [
    "400 for headers too large, with the request line",
    `GET /big HTTP/1.1\r\n${Array.from({ length: 10 }, (_, i) => `X-${i}: ${"v".repeat(8000)}\r\n`).join("")}\r\n`,
    /"GET \/big HTTP\/1\.1" 400 \d+ /,
  ],
  [
    "501 for an unknown transfer coding",
    "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    /"POST \/up HTTP\/1\.1" 501 \d+ /,
  ],
];

for (const [name, bytes, expect] of SERVER_MADE) {
  test(`one access line for a server-made ${name}`, async () => {
    await withServer(ok, {}, async (s) => {
      await lineFor(s, bytes, expect);
    });
  });
}

test("one access line for a 408 when the head does not arrive within headersTimeout", async () => {
  await withServer(ok, { headersTimeout: 0.2 }, async (s) => {
    await lineFor(s, "GET /slow HTTP/1.1\r\nHost: x\r\n", /"GET \/slow HTTP\/1\.1" 408 \d+ /);
  });
});

test("a chunked upload whose client vanished before any status is logged 499 0", async () => {
  let reading!: () => void;
  const readStarted = new Promise<void>((resolve) => (reading = resolve));
  const app: App = async (env, sr) => {
    const input = env["wsgi.input"];
    const p = input.read();
    reading();
    await p;
    sr("200 OK", []);
    return ["never sent"];
  };
  await withServer(app, {}, async (s) => {
    const peer = await Peer.connect(s.port);
    await peer.write("PUT /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    await readStarted;
    peer.destroy();
    const line = await s.log.waitFor("info", /"PUT \/up HTTP\/1\.1"/);
    assert.match(line, /"PUT \/up HTTP\/1\.1" 499 0 /);
    assert.equal(accessLines(s).length, 1);
  });
});

test("a large download cut by the client logs about what the kernel took, not the whole body", async () => {
  const total = 64 * 1024 * 1024;
  const body = Buffer.alloc(total, 0x62);
  const app: App = (_env, sr) => {
    sr("200 OK", [["Content-Type", "application/octet-stream"]]);
    return [body];
  };
  await withServer(app, {}, async (s) => {
    const peer = await Peer.connect(s.port);
    await peer.write("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    await peer.until(() => peer.data.length >= 1024 * 1024, 5000, "1 MiB of the body");
    const received = peer.data.length;
    peer.destroy();
    const line = await s.log.waitFor("info", /"GET \/big HTTP\/1\.1"/);
    const m = / 200 (\d+) /.exec(line);
    assert.ok(m, line);
    const logged = Number(m[1]);
    // What the kernel took: at least what the client read, at most that plus the socket buffers on
    // both sides and one write in flight (a few MiB) — far from the 64 MiB the app produced.
    assert.ok(logged >= received, `${logged} logged, ${received} received`);
    assert.ok(logged < 24 * 1024 * 1024, `${logged} bytes logged for a download cut after ${received}`);
  });
});
