/**
 * Every program in examples/ is started as a user starts it and answers real requests. One row of
 * EXAMPLES per case: the example's name, its environment, what it needs, and the requests it must
 * answer. To add an example, add a row.
 */

import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { request as httpsRequest } from "node:https";
import net from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import assert from "node:assert/strict";
import { TLSSocket } from "node:tls";
import { fileURLToPath } from "node:url";
import { once } from "node:events";
import WebSocket from "ws";
import { startExample, stopExample, type RunningExample } from "./run-example.js";
import { within } from "../support/wait.js";

const fixtures = fileURLToPath(new URL("../../../test/fixtures/", import.meta.url));

interface Example {
  /** The test's name. */
  title: string;
  /** The file under examples/, without extension. */
  example: string;
  env?: Record<string, string>;
  /** node's arguments, when the example is not started as dist/examples/NAME.js. */
  args?: string[];
  /** A reason to skip, when something the example needs is missing. */
  missing?: () => string | null;
  check: (ex: RunningExample) => Promise<void>;
}

function hasProgram(name: string, why: string): () => string | null {
  return () => {
    try {
      execFileSync(name, ["version"], { stdio: "ignore" });
      return null;
    } catch {
      return `${name} not installed: ${why}`;
    }
  };
}

/** GET over HTTPS, accepting the example's self-signed certificate; the body and the certificate's subject CN. */
function httpsGet(origin: string, path: string): Promise<{ status: number; body: string; cn: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${origin}${path}`, { rejectUnauthorized: false }, (res) => {
      assert.ok(res.socket instanceof TLSSocket, "an HTTPS response comes over a TLSSocket");
      const cn = String(res.socket.getPeerCertificate().subject.CN);
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body, cn });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** Opens a WebSocket (accepting a self-signed certificate), for the WebSocket examples. */
async function openSocket(url: string): Promise<{ ws: WebSocket; next: () => Promise<string> }> {
  const ws = new WebSocket(url, { rejectUnauthorized: false });
  const received: string[] = [];
  const waiting: ((m: string) => void)[] = [];
  ws.on("message", (data: Buffer, isBinary: boolean) => {
    const text = isBinary ? `binary ${data.toString("hex")}` : data.toString("utf8");
    const waiter = waiting.shift();
    if (waiter === undefined) received.push(text);
    else waiter(text);
  });
  await within(5000, `the WebSocket ${url} to open`, once(ws, "open"));
  const next = (): Promise<string> => {
    const ready = received.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return within(5000, "a WebSocket message", new Promise<string>((resolve) => waiting.push(resolve)));
  };
  return { ws, next };
}

/** The closing handshake, initiated by the client; resolves with the code the server answered. */
async function closeSocket(ws: WebSocket, code = 1000): Promise<number> {
  const closed = once(ws, "close") as Promise<[number, Buffer]>;
  ws.close(code);
  const [answered] = await within(5000, "the WebSocket to close", closed);
  return answered;
}

async function json(response: Response): Promise<unknown> {
  assert.equal(response.headers.get("content-type"), "application/json");
  return JSON.parse(await response.text()) as unknown;
}

/** Reads `atLeast` bytes of a download on a raw socket, then leaves without reading the rest. */
function readPartOfThenLeave(port: number, path: string, atLeast: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: example\r\n\r\n`);
    });
    let received = 0;
    socket.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received >= atLeast) {
        socket.destroy();
        resolve(received);
      }
    });
    socket.on("error", reject);
  });
}

const EXAMPLES: Example[] = [
  {
    title: "hello: the seed's hello world",
    example: "hello",
    async check({ origin }) {
      const response = await fetch(`${origin}/`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-type"), "text/plain");
      assert.equal(await response.text(), "Hello, World!\r\n");
    },
  },
  {
    title: "tls: with the certificate and key given (CERTFILE, KEYFILE)",
    example: "tls",
    env: { CERTFILE: join(fixtures, "cert.pem"), KEYFILE: join(fixtures, "key.pem") },
    async check({ origin }) {
      assert.match(origin, /^https:/);
      const { status, body } = await httpsGet(origin, "/");
      assert.equal(status, 200);
      assert.equal(body, "Hello over https!\r\n");
    },
  },
  {
    title: "tls: with a self-signed certificate made at start",
    example: "tls",
    missing: hasProgram("openssl", "the example makes its self-signed certificate with it"),
    async check({ origin }) {
      const { status, body, cn } = await httpsGet(origin, "/");
      assert.equal(status, 200);
      assert.equal(body, "Hello over https!\r\n");
      assert.equal(cn, "localhost");
    },
  },
  {
    title: "posthooks: bandwidth accounting for complete and cut downloads",
    example: "posthooks",
    async check({ origin, port, stdout }) {
      const whole = 64 * 1024 * 1024;
      const download = await fetch(`${origin}/download`);
      assert.equal((await download.arrayBuffer()).byteLength, whole);
      await stdout.waitFor(new RegExp(`^usage 127\\.0\\.0\\.1 ${whole} complete$`, "m"));
      assert.deepEqual(await json(await fetch(`${origin}/usage`)), { "127.0.0.1": whole });

      // A client that leaves after 100 KiB: the hook still runs, and counts what went to the
      // kernel, far less than the whole (socket buffers on loopback hold a few MiB at most).
      await readPartOfThenLeave(port, "/download", 100 * 1024);
      const [, cut = ""] = await stdout.waitFor(/^usage 127\.0\.0\.1 (\d+) cut$/m);
      assert.ok(Number(cut) < whole / 2, `a cut download counted ${cut} bytes`);
      const usage = (await json(await fetch(`${origin}/usage`))) as Record<string, number>;
      assert.equal(usage["127.0.0.1"], whole + Number(cut));
    },
  },
  {
    title: "streaming: a chunked download made line by line",
    example: "streaming",
    async check({ origin, stdout }) {
      const response = await fetch(`${origin}/count?to=5`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("transfer-encoding"), "chunked");
      assert.equal(await response.text(), "1\n2\n3\n4\n5\n");
      await stdout.waitFor(/count stopped after it was asked for 5/);
      assert.equal((await fetch(`${origin}/count?to=-1`)).status, 400);
    },
  },
  {
    title: "upload: wsgi.input read in pieces, Content-Length and chunked",
    example: "upload",
    async check({ origin }) {
      const body = randomBytes(3 * 1024 * 1024 + 17);
      const sha256 = createHash("sha256").update(body).digest("hex");
      const sized = (await json(await fetch(`${origin}/upload`, { method: "POST", body }))) as Record<string, number>;
      assert.equal(sized.bytes, body.length);
      assert.equal(sized.sha256, sha256);
      assert.ok(sized.pieces !== undefined && sized.pieces > 1, `read in ${String(sized.pieces)} piece(s)`);

      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let at = 0; at < body.length; at += 256 * 1024) controller.enqueue(body.subarray(at, at + 256 * 1024));
          controller.close();
        },
      });
      const init = { method: "POST", body: stream, duplex: "half" } as RequestInit;
      const chunked = (await json(await fetch(`${origin}/upload`, init))) as Record<string, number>;
      assert.equal(chunked.bytes, body.length);
      assert.equal(chunked.sha256, sha256);
      assert.equal((await fetch(`${origin}/upload`)).status, 404);
    },
  },
  {
    title: "shutdown: SIGTERM lets the request in flight finish, then the process exits",
    example: "shutdown",
    env: { SLOW_MS: "300" },
    async check({ origin, child, stdout, stderr, exited }) {
      const slow = fetch(`${origin}/slow`);
      await stdout.waitFor(/slow request started/);
      child.kill("SIGTERM");
      const response = await slow;
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("connection"), "close");
      assert.equal(await response.text(), "done after 300 ms\n");
      assert.equal(await within(10_000, "the example to exit", exited), 0);
      assert.match(stdout.text, /SIGTERM: finishing 1 request\(s\)/);
      assert.match(stdout.text, /stopped\n$/);
      assert.match(stderr.text, /wsgi exited, is_accepting=False/);
    },
  },
  {
    title: "hono: a Hono app through fetchApp, with getConnInfo and waitUntil",
    example: "hono",
    async check({ origin, stdout }) {
      const index = await fetch(`${origin}/`);
      assert.equal(index.status, 200);
      assert.equal(await index.text(), "Hello from Hono on eventwsgi!\n");
      assert.deepEqual(await json(await fetch(`${origin}/hello/ada`)), { hello: "ada", from: "127.0.0.1" });
      const echoed = await fetch(`${origin}/echo`, { method: "POST", body: '{"n":[1,2,3]}' });
      assert.deepEqual(await json(echoed), { n: [1, 2, 3] });
      const later = await fetch(`${origin}/later`);
      assert.equal(await later.text(), "answered\n");
      await stdout.waitFor(/^after the response to \/later$/m);
      const missing = await fetch(`${origin}/nowhere`);
      assert.equal(missing.status, 404);
      await missing.text();
    },
  },
  {
    title: "cli: the eventwsgi command with a config file (two workers)",
    example: "cli/app",
    // The config binds 127.0.0.1:8000; the flag wins over it (flags, then the config file).
    args: [
      "dist/src/cli/main.js",
      "-c",
      "examples/cli/eventwsgi.config.json",
      "-b",
      "127.0.0.1:0",
      "dist/examples/cli/app.js",
    ],
    async check({ origin, stdout, stderr }) {
      await stderr.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+ with 2 worker/);
      await stderr.waitFor(/ready: 2 worker\(s\) serving/);
      const answer = (await json(await fetch(`${origin}/hi`))) as Record<string, unknown>;
      assert.equal(answer.path, "/hi");
      assert.equal(answer.multiprocess, true);
      // The config's access-log format, whole lines through the primary, on stdout ("-").
      await stdout.waitFor(/^127\.0\.0\.1 "GET \/hi HTTP\/1\.1" 200 \d+ \d+\.\d{3}$/m);
    },
  },
  {
    title: "websocket-echo: text and binary messages sent back",
    example: "websocket-echo",
    async check({ port }) {
      const { ws, next } = await openSocket(`ws://127.0.0.1:${port}/`);
      ws.send("hello");
      assert.equal(await next(), "hello");
      ws.send(Buffer.from([0, 1, 2, 255]));
      assert.equal(await next(), "binary 000102ff");
      assert.equal(await closeSocket(ws), 1000);
    },
  },
  {
    title: "websocket-chat: the page, and a message to the room reaches everyone",
    example: "websocket-chat",
    async check({ origin, port }) {
      const page = await fetch(`${origin}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<html/i);
      const ada = await openSocket(`ws://127.0.0.1:${port}/ws`);
      const bob = await openSocket(`ws://127.0.0.1:${port}/ws`);
      ada.ws.send("hi all");
      const [toAda, toBob] = await Promise.all([ada.next(), bob.next()]);
      assert.match(toAda, /^guest\d+: hi all$/);
      assert.equal(toBob, toAda);
      bob.ws.send("/quit");
      assert.equal((await once(bob.ws, "close"))[0], 4000);
      assert.equal(await closeSocket(ada.ws), 1000);
    },
  },
  {
    title: "websocket-tls: the echo over wss://",
    example: "websocket-tls",
    async check({ origin, port }) {
      assert.match(origin, /^https:/);
      const { ws, next } = await openSocket(`wss://127.0.0.1:${port}/`);
      ws.send("secret");
      assert.equal(await next(), "secret");
      assert.equal(await closeSocket(ws), 1000);
    },
  },
  {
    title: "websocket-hono: Hono's upgradeWebSocket through fetchApp",
    example: "websocket-hono",
    async check({ origin, port, stdout }) {
      assert.equal(await (await fetch(`${origin}/`)).text(), "WebSocket at /ws\n");
      const { ws, next } = await openSocket(`ws://127.0.0.1:${port}/ws`);
      ws.send("x");
      assert.equal(await next(), "echo: x");
      assert.equal(await closeSocket(ws), 1000);
      await stdout.waitFor(/connection closed/);
    },
  },
  {
    title: "router: the Flask-style app of docs/from-eventlet.md",
    example: "router",
    async check({ origin }) {
      assert.deepEqual(await json(await fetch(`${origin}/`)), { hello: "world" });
      assert.deepEqual(await json(await fetch(`${origin}/users/42`)), { id: "42" });
      const echoed = await fetch(`${origin}/echo`, { method: "POST", body: '{"a":[1,2]}' });
      assert.deepEqual(await json(echoed), { a: [1, 2] });
      const bad = await fetch(`${origin}/echo`, { method: "POST", body: "{" });
      assert.equal(bad.status, 400);
      const missing = await fetch(`${origin}/nowhere`);
      assert.equal(missing.status, 404);
      await missing.text();
      const wrongMethod = await fetch(`${origin}/users/42`, { method: "DELETE" });
      assert.equal(wrongMethod.status, 405);
      assert.equal(wrongMethod.headers.get("allow"), "GET");
      await wrongMethod.text();
    },
  },
];

for (const { title, example, env, args, missing, check } of EXAMPLES) {
  test(`examples/${title}`, async (t) => {
    const reason = missing?.() ?? null;
    if (reason !== null) {
      t.skip(reason);
      return;
    }
    const running = await startExample(example, { env, args });
    try {
      await check(running);
    } finally {
      await stopExample(running);
    }
  });
}
