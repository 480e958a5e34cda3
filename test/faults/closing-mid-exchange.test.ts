/**
 * Faults that strike after a response's head went out promising keep-alive:
 * the body times out (requestTimeout), the body is malformed, the client
 * half-closes, the server begins shutting down. The response may still
 * complete, but the connection cannot serve another request, so the server
 * must close it once the response is sent rather than keep it open, idle,
 * ignoring what arrives.
 */

import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import type { App, ServerOptions } from "../../src/index.js";
import { startServer, type TestServer } from "../support/wire.js";
import { Peer, activeResources, assertCleanShutdown, type ResourceCounts } from "./support.js";
import { Signal, until, within } from "../support/wait.js";

/** The end of a chunked response. */
const LAST_CHUNK = "\r\n0\r\n\r\n";

/**
 * Sends its head and a first chunk through write(), then reads the whole
 * request body, swallows the read's error, and finishes the response normally.
 */
function headFirstApp(readFailed: Signal<Error>): App {
  return async (env, startResponse) => {
    const write = startResponse("200 OK", [["Content-Type", "text/plain"]]);
    await write("partial ");
    try {
      await env["wsgi.input"].read();
    } catch (err) {
      readFailed.fire(err as Error);
    }
    return ["done"];
  };
}

/** Sends 5000 bytes, then waits for `gate` before the last chunk. */
function gatedStreamApp(gate: Signal): App {
  return (_env, startResponse) => {
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    return Promise.resolve({
      async *[Symbol.asyncIterator]() {
        yield "x".repeat(5000);
        await gate.promise;
        yield "end";
      },
    });
  };
}

/**
 * Runs `fn` with a server for `app` and one client connected to it; the
 * resource counts from before the server started are `fn`'s baseline for
 * assertCleanShutdown. `release` runs first when it is over, however it ends.
 */
async function withPeer(
  app: App,
  opts: ServerOptions,
  fn: (s: TestServer, peer: Peer, baseline: ResourceCounts) => Promise<void>,
  release: () => void = () => {},
): Promise<void> {
  const baseline = activeResources();
  const s = await startServer(app, opts);
  let peer: Peer | undefined;
  try {
    peer = await Peer.connect(s.port);
    await fn(s, peer, baseline);
  } finally {
    release();
    peer?.destroy();
    await s.close(200);
  }
}

test("requestTimeout striking after the head went out: the connection is closed once the response is sent", async () => {
  const readFailed = new Signal<Error>();
  await withPeer(headFirstApp(readFailed), { headersTimeout: 0.3, requestTimeout: 0.3 }, async (s, peer, baseline) => {
    await peer.write("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789");
    const err = await within(2000, "the read to time out", readFailed.promise);
    assert.equal((err as Error & { code?: string }).code, "ERR_REQUEST_TIMEOUT");
    await peer.waitForText(LAST_CHUNK);
    await within(1000, "the server to close the connection after the response", peer.ended.promise);
    await assertCleanShutdown(s, baseline);
  });
});

test("a malformed chunk after the head went out: the connection is closed once the response is sent", async () => {
  const readFailed = new Signal<Error>();
  await withPeer(headFirstApp(readFailed), {}, async (s, peer, baseline) => {
    await peer.write("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    await peer.waitForText("partial ");
    await peer.write("zz\r\n");
    const err = await within(2000, "the read to fail", readFailed.promise);
    assert.equal(err.name, "ChunkReadError");
    await peer.waitForText(LAST_CHUNK);
    await within(1000, "the server to close the connection after the response", peer.ended.promise);
    await assertCleanShutdown(s, baseline);
  });
});

/**
 * withPeer on gatedStreamApp, once the client has asked for /stream and has
 * its first 5000 bytes: `fn` fires `gate` to let the rest go.
 */
async function whileStreaming(
  fn: (s: TestServer, peer: Peer, baseline: ResourceCounts, gate: Signal) => Promise<void>,
): Promise<void> {
  const gate = new Signal();
  await withPeer(
    gatedStreamApp(gate),
    {},
    async (s, peer, baseline) => {
      await peer.write("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
      await peer.waitForBytes(5000);
      await fn(s, peer, baseline, gate);
    },
    gate.fire,
  );
}

test("a client that half-closes while its response streams: the connection is closed once the response is sent", async () => {
  await whileStreaming(async (s, peer, baseline, gate) => {
    peer.socket.end(); // half-close: the client sends nothing more but still reads
    // No event tells that the server has read the FIN; on loopback 100 ms is ample.
    await delay(100);
    gate.fire();
    await peer.waitForText(LAST_CHUNK);
    assert.ok(peer.text.includes("end"));
    await within(1000, "the server to close the half-closed connection after the response", peer.socketClosed.promise);
    await assertCleanShutdown(s, baseline);
  });
});

test("server close() while a response streams: the connection is closed after it, without waiting for a deadline", async () => {
  await whileStreaming(async (s, peer, baseline, gate) => {
    const closing = s.server.close(); // no deadline: it resolves only when the connection is done
    gate.fire();
    await peer.waitForText(LAST_CHUNK);
    await within(1000, "close() to resolve after the response", closing);
    await within(1000, "the connection to be closed", peer.socketClosed.promise);
    await until(1000, "no connection left", () => s.server.connectionCount === 0);
    await assertCleanShutdown(s, baseline);
  });
});

test("an app that answers a large upload without reading it, on a closing connection: the rest is read and dropped, the close is clean", async () => {
  const app: App = async (env, sr) => {
    // Until the unread body passes the input high-water mark (64 KiB): the socket is paused.
    const input = env["wsgi.input"];
    await until(3000, "the upload to fill the input buffer", () => input.buffered > 64 * 1024);
    sr("200 OK", [["Content-Length", "2"]]);
    return ["ok"];
  };
  const s = await startServer(app);
  try {
    // More than the loopback socket buffers hold: the upload completes only if the server reads it.
    const total = 32 * 1024 * 1024;
    const socket = net.connect({ host: "127.0.0.1", port: s.port });
    const chunks: Buffer[] = [];
    let error: Error | null = null;
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", (err) => {
      error = err;
    });
    const closed = new Promise<void>((resolve) =>
      socket.once("close", () => {
        resolve();
      }),
    );
    socket.write(`POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${total}\r\n\r\n`);
    socket.end(Buffer.alloc(total, 0x61));
    // Left paused, the server would destroy the socket only after its 5 s linger, with an RST.
    await within(4000, "the connection to close cleanly", closed);
    assert.equal(error, null, "no reset");
    assert.match(Buffer.concat(chunks).toString("latin1"), /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nok$/);
  } finally {
    await s.close(500);
  }
});
