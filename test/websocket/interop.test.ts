/**
 * Interop with real clients: the npm `ws` client (with and without permessage-deflate, with every
 * context-takeover combination) and Python's `websockets` in a python3 child (skipped, with the
 * reason, when it is not installed).
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { WebSocket as WsClient } from "ws";
import { WebSocketWSGI } from "../../src/index.js";
import { startServer, type TestServer } from "../support/wire.js";
import { within } from "../support/wait.js";

let srv: TestServer;

before(async () => {
  const app = WebSocketWSGI(
    async (ws) => {
      for await (const m of ws) {
        if (m === "close-please") {
          await ws.close(4321, "as asked");
          return;
        }
        await ws.send(m);
      }
    },
    { heartbeat: 0, permessageDeflate: { threshold: 16 } },
  );
  srv = await startServer(app);
});
after(async () => {
  await srv.close(500);
});

/** Opens a ws client, echoes `messages`, closes; returns what came back and the negotiated extensions. */
async function echoWithWs(
  perMessageDeflate: boolean | Record<string, unknown>,
  messages: (string | Buffer)[],
): Promise<{ back: (string | Buffer)[]; extensions: string; code: number }> {
  const c = new WsClient(`ws://127.0.0.1:${srv.port}/echo`, { perMessageDeflate });
  try {
    await within(3000, "open", once(c, "open"));
    const back: (string | Buffer)[] = [];
    const all = new Promise<void>((resolve) => {
      c.on("message", (d: Buffer, isBinary: boolean) => {
        back.push(isBinary ? d : d.toString());
        if (back.length === messages.length) resolve();
      });
    });
    for (const m of messages) c.send(m);
    await within(5000, "the echoes", all);
    const closed = once(c, "close");
    c.close(1000, "done");
    const [code] = (await within(3000, "close", closed)) as [number];
    return { back, extensions: c.extensions, code };
  } finally {
    c.terminate();
  }
}

const MESSAGES: (string | Buffer)[] = [
  "hi",
  "repeat ".repeat(2000),
  Buffer.alloc(200000, 9),
  "κόσμε 𝄞".repeat(500),
  Buffer.from([]),
  "",
  "repeat ".repeat(2000),
];

describe("interop: the ws client", () => {
  for (const [name, pmd] of [
    ["no compression", false],
    ["permessage-deflate", true],
    ["both no context takeover", { serverNoContextTakeover: true, clientNoContextTakeover: true }],
    ["small windows", { serverMaxWindowBits: 10, clientMaxWindowBits: 9 }],
  ] as const) {
    test(`echo with ${name}`, async () => {
      const { back, extensions, code } = await echoWithWs(pmd, MESSAGES);
      assert.deepEqual(back, MESSAGES);
      assert.equal(code, 1000);
      if (pmd === false) assert.equal(extensions, "");
      else assert.match(extensions, /permessage-deflate/);
    });
  }

  test("the server's close code and reason reach the ws client", async () => {
    const c = new WsClient(`ws://127.0.0.1:${srv.port}/`);
    try {
      await within(3000, "open", once(c, "open"));
      c.send("close-please");
      const [code, reason] = (await within(3000, "close", once(c, "close"))) as [number, Buffer];
      assert.equal(code, 4321);
      assert.equal(reason.toString(), "as asked");
    } finally {
      c.terminate();
    }
  });
});

const PY_CLIENT = `
import asyncio, sys
try:
    import websockets
except ImportError:
    print("MISSING"); sys.exit(0)
async def main(port):
    uri = "ws://127.0.0.1:%d/py" % port
    for compression in (None, "deflate"):
        async with websockets.connect(uri, compression=compression, max_size=None) as ws:
            for m in ["hello", "x" * 100000, b"\\x00\\x01\\x02" * 1000]:
                await ws.send(m)
                back = await ws.recv()
                assert back == m, (compression, type(back), len(back))
            await ws.send("close-please")
            try:
                await ws.recv()
            except websockets.exceptions.ConnectionClosed as e:
                code = e.rcvd.code if getattr(e, "rcvd", None) else e.code
                assert code == 4321, code
    print("OK")
asyncio.run(main(int(sys.argv[1])))
`;

describe("interop: Python websockets", () => {
  test("echo with and without compression, and the close code", async (t) => {
    // Debian's interpreter, where python3-websockets lives (a pyenv python3 may come first on PATH).
    const python = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    const py = spawn(python, ["-c", PY_CLIENT, String(srv.port)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    py.stdout.on("data", (d: Buffer) => (out += d.toString()));
    py.stderr.on("data", (d: Buffer) => (err += d.toString()));
    try {
      const [code] = (await within(20000, "python3", once(py, "exit"))) as [number | null];
      if (out.includes("MISSING")) {
        t.skip("python3-websockets not installed: apt-get install python3-websockets");
        return;
      }
      assert.equal(code, 0, err);
      assert.match(out, /OK/);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") t.skip("python3 not installed");
      else throw e;
    } finally {
      py.kill();
    }
  });
});
