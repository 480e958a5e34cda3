/**
 * The access log: eventlet's default line, templates, a function format,
 * X-Forwarded-For, logOutput: false, and `log` as a stream or a logger.
 */

import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { DEFAULT_LOG_FORMAT, listen, server, type AccessLogFields, type App } from "../../src/index.js";
import { hello, rawExchange, withServer } from "../support/wire.js";
import { withClient } from "./client.js";
import { within } from "../support/wait.js";
import { itemAt } from "../support/item-at.js";

const GET = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
const DEFAULT_LINE =
  /^127\.0\.0\.1 - - \[(\d{2})\/([A-Z][a-z]{2})\/(\d{4}) (\d{2}):(\d{2}):(\d{2})\] "GET \/ HTTP\/1\.1" 200 (\d+) (\d+\.\d{6})$/;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function accessLines(info: string[]): string[] {
  return info.filter((l) => !l.includes("wsgi starting up") && !l.includes("wsgi exited"));
}

test('the default line is eventlet\'s: ip - - [local time] "request line" status bytes seconds', async () => {
  assert.equal(
    DEFAULT_LOG_FORMAT,
    '%(client_ip)s - - [%(date_time)s] "%(request_line)s" %(status_code)s %(body_length)s %(wall_seconds).6f',
  );
  await withServer(hello, {}, async (s) => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const r = await rawExchange(s.port, GET, { responses: 1 });
    const after = Date.now();
    await within(2000, "the access line", waitForLines(s.log.info, 1));
    const [line] = accessLines(s.log.info);
    const m = DEFAULT_LINE.exec(line ?? "");
    assert.ok(m, line);
    const [, dd, mon, yyyy, hh, mi, ss, bytes, secs] = m;
    assert.ok(mon);
    const logged = new Date(
      Number(yyyy),
      MONTHS.indexOf(mon),
      Number(dd),
      Number(hh),
      Number(mi),
      Number(ss),
    ).getTime();
    assert.ok(logged >= before && logged <= after, `${line}: local time of the request`);
    assert.equal(Number(bytes), r.data.length, "body_length counts every byte sent, head included, as eventlet");
    assert.ok(Number(secs) >= 0 && Number(secs) < 5);
  });
});

/** Resolves once `lines` holds `n` access lines (bounded by within()). */
async function waitForLines(lines: string[], n: number): Promise<void> {
  for (let i = 0; i < 500 && accessLines(lines).length < n; i++) await new Promise((r) => setImmediate(r));
  assert.ok(accessLines(lines).length >= n, `expected ${n} access lines: ${lines.join("\n")}`);
}

test("one line per request, in order, with its status and byte count", async () => {
  const app: App = (env, sr) => {
    if (env.PATH_INFO === "/boom") throw new Error("boom");
    sr(env.PATH_INFO === "/missing" ? "404 Not Found" : "200 OK", []);
    return ["x".repeat(10)];
  };
  await withServer(app, {}, async (s) => {
    const req = (p: string): string => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`;
    await rawExchange(s.port, req("/") + req("/missing") + req("/boom"));
    await waitForLines(s.log.info, 3);
    const lines = accessLines(s.log.info);
    assert.match(itemAt(lines, 0), /"GET \/ HTTP\/1\.1" 200 \d+ /);
    assert.match(itemAt(lines, 1), /"GET \/missing HTTP\/1\.1" 404 \d+ /);
    assert.match(itemAt(lines, 2), /"GET \/boom HTTP\/1\.1" 500 \d+ /);
  });
});

test("a custom template (eventlet's test_026_log_format) and every field", async () => {
  await withServer(hello, { logFormat: "HI %(request_line)s HI" }, async (s) => {
    await rawExchange(s.port, "GET /yo! HTTP/1.1\r\nHost: localhost\r\n\r\n", { responses: 1 });
    await waitForLines(s.log.info, 1);
    assert.deepEqual(accessLines(s.log.info), ["HI GET /yo! HTTP/1.1 HI"]);
  });
  const template = "%(client_ip)s:%(client_port)s %(status_code)s %(body_length)d %(wall_seconds).2f 100%%";
  await withClient(hello, { logFormat: template }, async (c, s) => {
    await c.write(GET);
    await c.next();
    await waitForLines(s.log.info, 1);
    assert.match(
      itemAt(accessLines(s.log.info), 0),
      new RegExp(`^127\\.0\\.0\\.1:${c.localPort} 200 ${c.data.length} \\d+\\.\\d{2} 100%$`),
    );
  });
});

test("a function format gets the fields", async () => {
  const seen: AccessLogFields[] = [];
  const logFormat = (f: AccessLogFields): string => {
    seen.push(f);
    return `fn ${f.request_line}`;
  };
  await withClient(hello, { logFormat }, async (c, s) => {
    await c.write(GET);
    await c.next();
    await waitForLines(s.log.info, 1);
    assert.deepEqual(accessLines(s.log.info), ["fn GET / HTTP/1.1"]);
    const f = itemAt(seen, 0);
    assert.equal(f.client_ip, "127.0.0.1");
    assert.equal(f.client_port, String(c.localPort));
    assert.equal(f.status_code, "200");
    assert.equal(f.body_length, c.data.length);
    assert.equal(typeof f.wall_seconds, "number");
    // Measured finer than a millisecond, as eventlet's time.time() (%(wall_seconds).6f).
    const ms = f.wall_seconds * 1000;
    assert.ok(ms > 0 && Math.abs(ms - Math.round(ms)) > 1e-9, `wall_seconds ${f.wall_seconds} is a whole number of ms`);
    assert.match(f.date_time, /^\d{2}\/[A-Z][a-z]{2}\/\d{4} \d{2}:\d{2}:\d{2}$/);
  });
});

test("a function format that throws is logged as an error; the responses, pipelined ones included, still go out", async () => {
  const logFormat = (f: AccessLogFields): string => {
    if (f.request_line.includes("/boom")) throw new Error("format boom");
    return `fn ${f.request_line}`;
  };
  await withServer(hello, { logFormat }, async (s) => {
    const r = await rawExchange(s.port, "GET /boom HTTP/1.1\r\nHost: x\r\n\r\nGET /fine HTTP/1.1\r\nHost: x\r\n\r\n", {
      responses: 2,
    });
    assert.equal(r.text.split("HTTP/1.1 200 OK").length - 1, 2, r.text);
    await waitForLines(s.log.info, 1);
    assert.deepEqual(accessLines(s.log.info), ["fn GET /fine HTTP/1.1"]);
    assert.match(s.log.error.join("\n"), /format boom/);
  });
});

test("a template naming an unknown field is refused when the server starts", async () => {
  const sock = await listen(["127.0.0.1", 0]);
  try {
    assert.throws(
      () => server(sock, hello, { logFormat: "%(nope)s", log: { info() {}, debug() {}, error() {} } }),
      /nope/,
    );
  } finally {
    await sock.close();
  }
});

test("X-Forwarded-For is logged before the peer's address, spaces removed; not with logXForwardedFor: false (test_020)", async () => {
  const req = "GET / HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: 1.2.3.4, 5.6.7.8\r\n\r\n";
  await withServer(hello, {}, async (s) => {
    await rawExchange(s.port, req, { responses: 1 });
    await waitForLines(s.log.info, 1);
    assert.match(itemAt(accessLines(s.log.info), 0), /^1\.2\.3\.4,5\.6\.7\.8,127\.0\.0\.1 - - \[/);
  });
  await withServer(hello, { logXForwardedFor: false }, async (s) => {
    await rawExchange(s.port, req, { responses: 1 });
    await waitForLines(s.log.info, 1);
    const line = itemAt(accessLines(s.log.info), 0);
    assert.match(line, /^127\.0\.0\.1 - - \[/);
    assert.equal(line.includes("1.2.3.4"), false);
    assert.equal(line.includes("5.6.7.8"), false);
  });
});

test("logOutput: false: no access line", async () => {
  await withClient(hello, { logOutput: false }, async (c, s) => {
    await c.write("GET / HTTP/1.1\r\nHost: localhost\r\npath-info: foo\r\nx-ANY_k: one\r\n\r\n");
    await c.next();
    // A second request proves the first one is over (its log line would have been written).
    await c.write(GET);
    await c.next();
    assert.deepEqual(accessLines(s.log.info), []);
  });
});

/** A writable stream that keeps what it is given. */
function memoryStream(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return { stream, text: () => chunks.join("") };
}

test("log as a stream: startup, access and error lines, each ending in a newline; no debug lines", async () => {
  const { stream, text } = memoryStream();
  const app: App = (env, sr) => {
    if (env.PATH_INFO === "/boom") throw new Error("streamed failure");
    sr("200 OK", []);
    return ["ok"];
  };
  const sock = await listen(["127.0.0.1", 0]);
  const srv = server(sock, app, { log: stream });
  const port = (srv.address as { port: number }).port;
  try {
    await rawExchange(port, GET, { responses: 1 });
    await rawExchange(port, "GET /boom HTTP/1.1\r\nHost: x\r\n\r\n");
    await rawExchange(port, "NOT HTTP\r\n\r\n"); // a bad request: logged at debug only
  } finally {
    await srv.close({ deadline: 500 });
  }
  const out = text();
  assert.match(out, new RegExp(`^\\(${process.pid}\\) wsgi starting up on http://127\\.0\\.0\\.1:${port}\\n`));
  assert.match(out, /\n127\.0\.0\.1 - - \[[^\]]+\] "GET \/ HTTP\/1\.1" 200 \d+ \d+\.\d{6}\n/);
  assert.match(out, /\nError: streamed failure\n\s+at [^\n]+\n/);
  assert.match(out, /"GET \/boom HTTP\/1\.1" 500 /);
  assert.equal(out.includes("NOT HTTP"), false, "bad requests go to debug, which a stream does not get");
  assert.ok(out.endsWith("wsgi exited, is_accepting=False\n"), out);
});

test("log as a logger: access to info, app errors to error, bad requests to debug", async () => {
  const app: App = (env, sr) => {
    if (env.PATH_INFO === "/boom") throw new Error("logged failure");
    sr("200 OK", []);
    return ["ok"];
  };
  await withServer(app, {}, async (s) => {
    await rawExchange(s.port, GET, { responses: 1 });
    await rawExchange(s.port, "GET /boom HTTP/1.1\r\nHost: x\r\n\r\n");
    await rawExchange(s.port, "NOT HTTP\r\n\r\n");
    await waitForLines(s.log.info, 3);
    // The bad request gets its line too, its request line "-" (none could be parsed): docs/api.md, the access log.
    assert.equal(accessLines(s.log.info).length, 3);
    assert.match(itemAt(accessLines(s.log.info), 2), /"-" 400 \d+ /);
    assert.equal(s.log.error.length, 1);
    assert.match(itemAt(s.log.error, 0), /logged failure/);
    assert.ok(
      s.log.debug.some((l) => /bad request/i.test(l)),
      s.log.debug.join("\n"),
    );
  });
});
