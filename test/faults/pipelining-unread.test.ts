/**
 * A client that pipelines large requests and never reads the responses
 * (issue 11, finding 1): the server must stop reading the next request while
 * a response still waits on the socket, so that what it holds stays bounded
 * however many requests are pipelined, and then serve the next connection
 * normally.
 */

import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import type { App } from "../../src/index.js";
import { startServer } from "../support/wire.js";
import { Signal, within } from "../support/wait.js";
import { assertServes } from "./support.js";

const BODY_BYTES = 1024 * 1024;
const REQUESTS = 64;

/** Echoes the request body: every request makes a 1 MiB response. */
const echo = (started: { n: number }): App =>
  async function echoApp(env, startResponse) {
    if (env.PATH_INFO === "/ping") {
      startResponse("200 OK", [["Content-Type", "text/plain"]]);
      return ["pong"];
    }
    started.n++;
    const body = await env["wsgi.input"].read();
    startResponse("200 OK", [["Content-Type", "application/octet-stream"]]);
    return [body];
  };

/**
 * Resolves once `value()` has not changed for `quietMs` (checked every 50 ms),
 * rejecting after `limitMs`: the server offers no event for "stopped reading",
 * so the test waits for the count of requests it started to settle.
 */
async function settled(value: () => number, quietMs: number, limitMs: number): Promise<number> {
  const deadline = Date.now() + limitMs;
  let last = value();
  let since = Date.now();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = value();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) {
      return now;
    }
    if (Date.now() > deadline) throw new Error(`still changing after ${limitMs} ms (now ${now})`);
  }
}

test("64 pipelined 1 MiB echoes to a client that never reads: the server stops reading, then serves others", async () => {
  const started = { n: 0 };
  const s = await startServer(echo(started));
  const client = net.connect({ host: "127.0.0.1", port: s.port });
  try {
    await within(2000, "connect", new Promise((resolve) => client.once("connect", resolve)));
    client.pause(); // never reads: the responses pile up in the kernel's buffers, then in the server
    client.on("error", () => {});
    const head = `POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: ${BODY_BYTES}\r\n\r\n`;
    const body = Buffer.alloc(BODY_BYTES, 0x61);
    let written = 0;
    const stalled = new Signal();
    // The client writes as fast as its socket drains, so it holds at most one request itself.
    const writeNext = (): void => {
      while (written < REQUESTS) {
        client.write(head);
        const ok = client.write(body);
        written++;
        if (!ok) {
          client.once("drain", writeNext);
          return;
        }
      }
      stalled.fire();
    };
    writeNext();
    const served = await settled(() => started.n, 750, 20_000);
    const sent = client.bytesWritten - client.writableLength;
    // Kernel buffers on loopback hold several MiB each way (tcp_rmem/tcp_wmem); what is bounded is what
    // the server reads beyond them: at most one response waiting in Node plus one request being read.
    assert.ok(served < REQUESTS / 2, `the server began ${served} of ${REQUESTS} requests for a client reading nothing`);
    assert.ok(
      sent < (REQUESTS / 2) * BODY_BYTES,
      `${(sent / 2 ** 20).toFixed(1)} MiB of requests were taken from a client reading nothing`,
    );
    assert.equal(stalled.fired, false, "the client could not write all its requests: the server stopped reading");
    await assertServes(s.port);
  } finally {
    client.destroy();
    await s.close(500);
  }
});
