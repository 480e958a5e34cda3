/** The environ's connection keys over real sockets, and an environ the app may clobber. */

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { listen, server, type App, type Environ } from "../../src/index.js";
import { parseAll } from "../support/wire.js";
import { withClient } from "./client.js";
import { Signal, within } from "../support/wait.js";

test("SERVER_NAME/PORT are the listening address, REMOTE_ADDR/PORT the client's", async () => {
  let seen: Environ | null = null;
  const app: App = (env, startResponse) => {
    seen = env;
    startResponse("200 OK", []);
    return [];
  };
  await withClient(app, {}, async (c, s) => {
    await c.write("GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n");
    await c.next();
    const e = seen as unknown as Environ;
    assert.equal(e.SERVER_NAME, "127.0.0.1");
    assert.equal(e.SERVER_PORT, String(s.port));
    assert.equal(e.REMOTE_ADDR, "127.0.0.1");
    assert.equal(e.REMOTE_PORT, String(c.localPort));
    assert.equal(e.SERVER_PROTOCOL, "HTTP/1.1");
    assert.equal(e["wsgi.url_scheme"], "http");
  });
});

test("an app may overwrite every environ key without breaking its response (eventlet's test_021)", async () => {
  const app: App = (environ, startResponse) => {
    for (const key of [
      "wsgi.version",
      "wsgi.url_scheme",
      "wsgi.input",
      "wsgi.errors",
      "wsgi.multithread",
      "wsgi.multiprocess",
      "wsgi.run_once",
      "REQUEST_METHOD",
      "SCRIPT_NAME",
      "RAW_PATH_INFO",
      "PATH_INFO",
      "QUERY_STRING",
      "CONTENT_TYPE",
      "CONTENT_LENGTH",
      "SERVER_NAME",
      "SERVER_PORT",
      "SERVER_PROTOCOL",
      "eventlet.input",
      "eventlet.posthooks",
      "headers_raw",
    ]) {
      environ[key] = null;
    }
    startResponse("200 OK", [["Content-type", "text/plain"]]);
    return ["ok"];
  };
  await withClient(app, {}, async (c, s) => {
    await c.write("POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc");
    const [r1] = await c.next();
    assert.equal(r1?.status, 200);
    assert.equal(r1.body.toString(), "ok");
    // The unread body was still discarded and the next request is served.
    await c.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    const [r2] = await c.next();
    assert.equal(r2?.status, 200);
    assert.equal(s.log.error.length, 0, s.log.error.join("\n"));
  });
});

test("on a Unix socket SERVER_NAME and REMOTE_ADDR are 'unix' and the ports empty", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "eventwsgi-env-"));
  const sockPath = path.join(dir, "s.sock");
  const seen = new Signal<Environ>();
  const app: App = (env, startResponse) => {
    seen.fire(env);
    startResponse("200 OK", []);
    return [];
  };
  const lines: string[] = [];
  const srv = server(await listen(sockPath), app, {
    log: { info: (m) => lines.push(m), debug: () => {}, error: (m) => lines.push(m) },
  });
  try {
    const data = await within(
      2000,
      "the Unix-socket exchange",
      new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        const sock = net.connect(sockPath, () => sock.write("GET / HTTP/1.0\r\n\r\n"));
        sock.on("data", (d: Buffer) => chunks.push(d));
        sock.on("error", reject);
        sock.on("close", () => {
          resolve(Buffer.concat(chunks));
        });
      }),
    );
    assert.equal(parseAll(data)[0]?.status, 200);
    const e = await seen.promise;
    assert.equal(e.SERVER_NAME, "unix");
    assert.equal(e.SERVER_PORT, "");
    assert.equal(e.REMOTE_ADDR, "unix");
    assert.equal(e.REMOTE_PORT, "");
    assert.ok(
      lines.some((l) => l.includes(`http:${sockPath}`)),
      lines.join("\n"),
    );
    assert.ok(
      lines.some((l) => l.startsWith("unix - - [")),
      lines.join("\n"),
    );
  } finally {
    await srv.close({ deadline: 500 });
    rmSync(dir, { recursive: true, force: true });
  }
});
