/**
 * Responses to a batch of pipelined requests go to the socket in one write,
 * whether the app answers synchronously or returns a promise (issue 12): a
 * Connection fed through a stand-in socket that records each write(). An
 * app that is really waiting (on I/O, a timer) does not hold back the
 * responses before it for longer than one turn of the event loop; over a
 * real socket, pipelined answers to an async app come back in order.
 */

import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { test } from "node:test";
import { Connection, type ConnectionOwner } from "../../src/server/connection.js";
import { normalizeOptions } from "../../src/options.js";
import type { App } from "../../src/gateway/types.js";
import { parseAll, rawExchange, withServer } from "../support/wire.js";
import { StandInSocket } from "../../bench/lib/stand-in-socket.js";

/** Takes writes and keeps them; calls write callbacks as a socket would, after the write. */
class RecordingSocket extends StandInSocket {
  readonly writes: string[] = [];
  private corked = 0;
  private pending = "";

  write(data: string | Uint8Array, enc?: unknown, cb?: unknown): boolean {
    const text = typeof data === "string" ? data : Buffer.from(data).toString("latin1");
    if (this.corked > 0) this.pending += text;
    else if (text.length > 0) this.writes.push(text);
    const done = typeof enc === "function" ? enc : cb;
    if (typeof done === "function")
      queueMicrotask(() => {
        (done as () => void)();
      });
    return true;
  }
  override cork(): void {
    this.corked++;
  }
  override uncork(): void {
    if (--this.corked === 0 && this.pending.length > 0) {
      this.writes.push(this.pending);
      this.pending = "";
    }
  }
  /** Responses in all writes so far. */
  get responses(): number {
    return this.writes.join("").split("HTTP/1.1 200 OK").length - 1;
  }
}

function serve(app: App): { sock: RecordingSocket; finished: () => number } {
  const config = normalizeOptions({ logOutput: false, log: { info: () => {}, debug: () => {}, error: () => {} } });
  let finished = 0;
  const owner = {
    config,
    app,
    closing: false,
    requestStarted() {},
    requestFinished() {
      finished++;
    },
    requestAbandoned() {},
    connectionClosed() {},
    hooksStarted() {},
  } as unknown as ConnectionOwner;
  const sock = new RecordingSocket();
  new Connection(owner, sock as unknown as Socket, {
    serverName: "127.0.0.1",
    serverPort: "80",
    remoteAddr: "127.0.0.1",
    remotePort: "50000",
    https: false,
    errors: process.stderr,
  });
  return { sock, finished: () => finished };
}

const REQUEST = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
const BATCH = Buffer.from(REQUEST.repeat(16), "latin1");
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const syncApp: App = (_env, sr) => {
  sr("200 OK", [["Content-Type", "text/plain"]]);
  return ["hello\r\n"];
};
const asyncApp: App = async (env, sr) => syncApp(env, sr);

for (const [name, app] of [
  ["a synchronous app", syncApp],
  ["an async app", asyncApp],
] as const) {
  test(`16 pipelined requests to ${name}: 16 responses, in one write`, async () => {
    const { sock, finished } = serve(app);
    sock.emit("data", BATCH);
    for (let i = 0; i < 10 && finished() < 16; i++) await turn();
    await turn();
    assert.equal(finished(), 16);
    assert.equal(sock.responses, 16);
    assert.equal(sock.writes.length, 1, `writes: ${sock.writes.length}`);
  });
}

test("an app still waiting does not hold back the responses before it beyond one event-loop turn", async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  let calls = 0;
  const app: App = async (env, sr) => {
    if (++calls === 3) await gate;
    return syncApp(env, sr);
  };
  const { sock, finished } = serve(app);
  sock.emit("data", Buffer.from(REQUEST.repeat(4), "latin1"));
  await turn();
  await turn();
  assert.equal(finished(), 2);
  assert.equal(sock.responses, 2, "the two answered responses went out while the third waits");
  release();
  for (let i = 0; i < 10 && finished() < 4; i++) await turn();
  await turn();
  assert.equal(sock.responses, 4);
  assert.equal(sock.writes.length, 2, "the last two in one write");
});

test("over a real socket: 32 pipelined requests to an async app that waits a varying number of turns are answered in order", async () => {
  const app: App = async (env, sr) => {
    const n = Number(env.PATH_INFO.slice(1));
    // Some answer within microtask turns, some after an event-loop turn, one after a timer.
    if (n % 5 === 0) await new Promise((resolve) => setImmediate(resolve));
    else if (n === 17) await new Promise((resolve) => setTimeout(resolve, 5));
    else for (let i = 0; i < n % 4; i++) await Promise.resolve();
    sr("200 OK", [["Content-Type", "text/plain"]]);
    return [`response ${n}`];
  };
  await withServer(app, {}, async (s) => {
    const requests = Array.from({ length: 32 }, (_, i) => `GET /${i} HTTP/1.1\r\nHost: x\r\n\r\n`).join("");
    const r = await rawExchange(s.port, requests, { responses: 32 });
    const bodies = parseAll(r.data).map((res) => res.body.toString("latin1"));
    assert.deepEqual(
      bodies,
      Array.from({ length: 32 }, (_, i) => `response ${i}`),
    );
  });
});
