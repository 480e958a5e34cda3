/**
 * Real clients: Node's fetch (undici) and curl, including curl's HTTP/1.0
 * mode, its chunked uploads and the Expect: 100-continue it sends on its
 * own for uploads over its threshold or of unknown size.
 */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { test } from "node:test";
import type { App, Environ } from "../../src/index.js";
import { withServer } from "../support/wire.js";

const CURL = "/usr/bin/curl";
const curlSkip = existsSync(CURL) ? false : `curl is not installed at ${CURL}`;

/** Echoes what it received, with what it saw of the request in headers. */
const echo: App = async (env, sr) => {
  const input = env["wsgi.input"];
  const parts: Buffer[] = [];
  for await (const chunk of input) parts.push(chunk);
  const body = Buffer.concat(parts);
  sr("200 OK", [
    ["Content-Type", "application/octet-stream"],
    ["X-Method", env.REQUEST_METHOD],
    ["X-Protocol", env.SERVER_PROTOCOL],
    ["X-Length", String(body.length)],
    ["X-Sha256", createHash("sha256").update(body).digest("hex")],
    ["X-Expect", typeof env.HTTP_EXPECT === "string" ? env.HTTP_EXPECT : ""],
    ["X-Transfer-Encoding", typeof env.HTTP_TRANSFER_ENCODING === "string" ? env.HTTP_TRANSFER_ENCODING : ""],
  ]);
  return [body];
};

/** Streams `n` pieces from a generator (chunked on HTTP/1.1). */
const stream: App = (env, sr) => {
  sr("200 OK", [["Content-Type", "text/plain"]]);
  const n = Number(/n=(\d+)/.exec(env.QUERY_STRING ?? "")?.[1] ?? 3);
  return (function* () {
    for (let i = 0; i < n; i++) yield `line ${i}\n`;
  })();
};

const router: App = (env: Environ, sr) => (env.PATH_INFO === "/stream" ? stream(env, sr) : echo(env, sr));

test("fetch: GET, POST with a body, a streamed response, on kept-alive connections", async () => {
  await withServer(router, {}, async (s) => {
    const base = `http://127.0.0.1:${s.port}`;
    const get = await fetch(`${base}/`);
    assert.equal(get.status, 200);
    assert.equal(get.headers.get("x-method"), "GET");
    assert.equal(get.headers.get("x-protocol"), "HTTP/1.1");
    assert.equal((await get.arrayBuffer()).byteLength, 0);

    const payload = Buffer.alloc(200_000, 0x61);
    const post = await fetch(`${base}/echo`, { method: "POST", body: payload });
    assert.equal(post.headers.get("x-length"), String(payload.length));
    assert.deepEqual(Buffer.from(await post.arrayBuffer()), payload);

    const streamed = await fetch(`${base}/stream?n=100`);
    assert.equal(streamed.headers.get("transfer-encoding"), "chunked");
    const text = await streamed.text();
    assert.equal(text.split("\n").length - 1, 100);
    assert.ok(text.endsWith("line 99\n"));

    // A streamed request body (undici sends it chunked).
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 5; i++) controller.enqueue(new TextEncoder().encode(`part${i};`));
        controller.close();
      },
    });
    const up = await fetch(`${base}/echo`, { method: "PUT", body, duplex: "half" });
    assert.equal(up.headers.get("x-transfer-encoding"), "chunked");
    assert.equal(await up.text(), "part0;part1;part2;part3;part4;");
    assert.deepEqual(s.log.error, []);
  });
});

test("fetch: many requests in parallel", async () => {
  await withServer(router, {}, async (s) => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        fetch(`http://127.0.0.1:${s.port}/echo`, { method: "POST", body: `request ${i}` }).then((r) => r.text()),
      ),
    );
    assert.deepEqual(
      results,
      Array.from({ length: 50 }, (_, i) => `request ${i}`),
    );
  });
});

interface CurlResult {
  stdout: Buffer;
  stderr: string;
}

function curl(args: string[], input?: Buffer): Promise<CurlResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      CURL,
      ["--silent", "--show-error", "--max-time", "5", ...args],
      { encoding: "buffer", maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`curl ${args.join(" ")} failed: ${err.message}\n${stderr.toString()}`));
        else resolve({ stdout, stderr: stderr.toString() });
      },
    );
    child.stdin?.end(input);
  });
}

/** Splits curl -i output: the heads (1xx ones included), then the body. */
function splitHead(out: Buffer): { head: string; body: Buffer } {
  let pos = 0;
  let head = "";
  for (let i = 0; i < 10; i++) {
    const end = out.indexOf("\r\n\r\n", pos, "latin1");
    assert.ok(end !== -1, out.toString("latin1"));
    const one = out.toString("latin1", pos, end + 4);
    head += one;
    pos = end + 4;
    if (!/^HTTP\/1\.[01] 1\d\d /.test(one)) break;
  }
  return { head, body: out.subarray(pos) };
}

test("curl: a plain GET, kept alive across two URLs", { skip: curlSkip }, async () => {
  await withServer(router, {}, async (s) => {
    const base = `http://127.0.0.1:${s.port}`;
    const { stdout, stderr } = await curl(["-v", `${base}/stream?n=2`, `${base}/stream?n=1`]);
    assert.equal(stdout.toString(), "line 0\nline 1\nline 0\n");
    assert.match(stderr, /Re-using existing connection/i);
  });
});

test("curl -0: HTTP/1.0, answered close-delimited", { skip: curlSkip }, async () => {
  await withServer(router, {}, async (s) => {
    const { stdout } = await curl(["-0", "-i", `http://127.0.0.1:${s.port}/stream?n=3`]);
    const { head, body } = splitHead(stdout);
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(head, /\r\nConnection: close\r\n/);
    assert.equal(/transfer-encoding/i.test(head), false);
    assert.equal(body.toString(), "line 0\nline 1\nline 2\n");
    const echoed = await curl(["-0", "-i", "--data-binary", "hello", `http://127.0.0.1:${s.port}/echo`]);
    const e = splitHead(echoed.stdout);
    assert.match(e.head, /\r\nX-Protocol: HTTP\/1\.0\r\n/);
    assert.equal(e.body.toString(), "hello");
  });
});

test("curl -H 'Transfer-Encoding: chunked': a chunked upload", { skip: curlSkip }, async () => {
  await withServer(router, {}, async (s) => {
    const payload = Buffer.from("chunked upload from curl\n".repeat(50));
    const { stdout } = await curl(
      [
        "-i",
        "-H",
        "Transfer-Encoding: chunked",
        "-H",
        "Expect:",
        "--data-binary",
        "@-",
        `http://127.0.0.1:${s.port}/echo`,
      ],
      payload,
    );
    const { head, body } = splitHead(stdout);
    assert.match(head, /\r\nX-Transfer-Encoding: chunked\r\n/);
    assert.match(head, new RegExp(`\\r\\nX-Length: ${payload.length}\\r\\n`));
    assert.deepEqual(body, payload);
  });
});

/**
 * curl adds `Expect: 100-continue` on its own to an upload whose size is
 * unknown, or known and above its EXPECT_100_THRESHOLD (lib/http.h: 1 KiB in
 * old curls, 1 MiB in current ones — 7.88.1 sends a 64 KiB body without it).
 * 2 MiB is above both, so these uploads exercise curl's own Expect behaviour.
 */
const OVER_CURL_EXPECT_THRESHOLD = 2 * 1024 * 1024;

function patterned(n: number): Buffer {
  const payload = Buffer.alloc(n);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + (i >> 8)) & 0xff;
  return payload;
}

test(
  "curl: an upload over curl's Expect threshold (2 MiB) sends Expect: 100-continue and gets its 100 Continue",
  { skip: curlSkip },
  async () => {
    await withServer(router, {}, async (s) => {
      const payload = patterned(OVER_CURL_EXPECT_THRESHOLD);
      const { stdout, stderr } = await curl(
        ["-v", "-i", "--data-binary", "@-", `http://127.0.0.1:${s.port}/echo`],
        payload,
      );
      assert.match(stderr, /> Expect: 100-continue/i, "curl itself chose to send Expect");
      // Had the 100 Continue not come, curl would have sent the body anyway after its 1 s wait.
      assert.equal(
        /Done waiting for 100-continue/i.test(stderr),
        false,
        "curl got its 100 Continue rather than giving up waiting",
      );
      const text = stdout.toString("latin1");
      assert.match(text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
      assert.match(text, /\r\nX-Expect: 100-continue\r\n/);
      assert.match(text, new RegExp(`\\r\\nX-Length: ${payload.length}\\r\\n`));
      assert.match(text, new RegExp(`\\r\\nX-Sha256: ${createHash("sha256").update(payload).digest("hex")}\\r\\n`));
      assert.deepEqual(stdout.subarray(stdout.length - payload.length), payload);
    });
  },
);

test(
  "curl -T -: an upload of unknown size goes chunked with Expect: 100-continue and gets its 100 Continue",
  { skip: curlSkip },
  async () => {
    await withServer(router, {}, async (s) => {
      const payload = patterned(300 * 1024);
      const { stdout, stderr } = await curl(["-v", "-i", "-T", "-", `http://127.0.0.1:${s.port}/echo`], payload);
      assert.match(stderr, /> Transfer-Encoding: chunked/i);
      assert.match(stderr, /> Expect: 100-continue/i, "curl itself chose to send Expect");
      const text = stdout.toString("latin1");
      assert.match(text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
      assert.match(text, /\r\nX-Method: PUT\r\n/);
      assert.match(text, /\r\nX-Transfer-Encoding: chunked\r\n/);
      assert.match(text, new RegExp(`\\r\\nX-Sha256: ${createHash("sha256").update(payload).digest("hex")}\\r\\n`));
      assert.deepEqual(stdout.subarray(stdout.length - payload.length), payload);
    });
  },
);

test(
  "curl: an app that refuses a large upload without reading it (417) is not kept waiting",
  { skip: curlSkip },
  async () => {
    const refuse: App = (_env, sr) => {
      sr("417 Expectation Failed", [["Content-Length", "7"]]);
      return ["failure"];
    };
    await withServer(refuse, {}, async (s) => {
      const started = Date.now();
      const { stdout, stderr } = await curl(
        ["-v", "-i", "--data-binary", "@-", `http://127.0.0.1:${s.port}/`],
        Buffer.alloc(OVER_CURL_EXPECT_THRESHOLD, 0x41),
      );
      assert.match(stderr, /> Expect: 100-continue/i, "curl itself chose to send Expect");
      assert.equal(/Done waiting for 100-continue/i.test(stderr), false);
      const text = stdout.toString("latin1");
      assert.match(text, /^HTTP\/1\.1 417 Expectation Failed\r\n/);
      assert.equal(text.includes("100 Continue"), false);
      assert.ok(text.endsWith("failure"));
      assert.ok(Date.now() - started < 900, "curl did not wait out its 1 s Expect timeout");
    });
  },
);
