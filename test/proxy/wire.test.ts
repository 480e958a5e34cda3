/**
 * Behind proxies, over real sockets: forwardedAllowIps setting REMOTE_ADDR,
 * REMOTE_PORT and the scheme (and the access log's client) from a trusted
 * peer only; the PROXY protocol read before HTTP and TLS, required, bounded
 * by headersTimeout, holding a maxSize slot, allowed from proxyAllowFrom only.
 */

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import tls from "node:tls";
import { fileURLToPath } from "node:url";
import { listen, server, wrapSsl, type App, type ServerOptions } from "../../src/index.js";
import { captureLog, parseResponses, rawExchange, withServer } from "../support/wire.js";
import { Signal, within } from "../support/wait.js";

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../../test/fixtures");

/** Answers with what the environ says of the client, as JSON. */
const whoAmI: App = (env, startResponse) => {
  startResponse("200 OK", [["Content-Type", "application/json"]]);
  return [
    JSON.stringify({
      addr: env.REMOTE_ADDR,
      port: env.REMOTE_PORT,
      scheme: env["wsgi.url_scheme"],
      https: env.HTTPS ?? null,
      xff: env.HTTP_X_FORWARDED_FOR ?? null,
      forwarded: env.HTTP_FORWARDED ?? null,
      serverName: env.SERVER_NAME,
    }),
  ];
};

interface Who {
  addr: string;
  port: string;
  scheme: string;
  https: string | null;
  xff: string | null;
  forwarded: string | null;
  serverName: string;
}

function bodies(data: Buffer): Who[] {
  return parseResponses(data).responses.map((r) => JSON.parse(r.body.toString()) as Who);
}

async function ask(port: number, bytes: string | Buffer, responses = 1): Promise<Who[]> {
  const r = await rawExchange(port, bytes, { responses });
  return bodies(r.data);
}

/** The one response's Who. */
async function askOne(port: number, bytes: string | Buffer): Promise<Who> {
  const who: Who | undefined = (await ask(port, bytes))[0];
  assert.ok(who !== undefined, "a response");
  return who;
}

function first(data: Buffer): Who {
  const who: Who | undefined = bodies(data)[0];
  assert.ok(who !== undefined, "a response");
  return who;
}

const GET = (headers = ""): string => `GET / HTTP/1.1\r\nHost: x\r\n${headers}\r\n`;

describe("forwardedAllowIps", () => {
  test("from a trusted peer: the client, its port and scheme; the headers stay as sent; the log shows the client", async () => {
    await withServer(whoAmI, { forwardedAllowIps: "127.0.0.1" }, async (s) => {
      const who = await askOne(
        s.port,
        GET("X-Forwarded-For: 6.6.6.6, 203.0.113.7\r\nX-Forwarded-Proto: https\r\nX_Forwarded_For: 9.9.9.9\r\n"),
      );
      assert.deepEqual(who, {
        addr: "203.0.113.7",
        port: "",
        scheme: "https",
        https: "on",
        xff: "6.6.6.6, 203.0.113.7",
        forwarded: null,
        serverName: "127.0.0.1",
      });
      const line = await s.log.waitFor("info", /"GET \/ HTTP\/1.1" 200/);
      assert.match(line, /^203\.0\.113\.7 - - \[/, "the client alone, not the claimed chain");
      const fwd = await askOne(
        s.port,
        GET('Forwarded: for="[2001:db8::7]:4711";proto=https\r\nX-Forwarded-For: 1.1.1.1\r\n'),
      );
      assert.equal(fwd.addr, "2001:db8::7");
      assert.equal(fwd.port, "4711");
      assert.equal(fwd.scheme, "https");
    });
  });

  test("from an untrusted peer the headers are believed in nothing; the log is eventlet's", async () => {
    await withServer(whoAmI, { forwardedAllowIps: "10.0.0.0/8" }, async (s) => {
      const who = await askOne(
        s.port,
        GET("X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\nForwarded: for=1.2.3.4\r\n"),
      );
      assert.equal(who.addr, "127.0.0.1");
      assert.notEqual(who.port, "");
      assert.equal(who.scheme, "http");
      assert.equal(who.https, null);
      assert.equal(who.xff, "203.0.113.7");
      const line = await s.log.waitFor("info", /"GET \/ HTTP\/1.1" 200/);
      assert.match(line, /^203\.0\.113\.7,127\.0\.0\.1 - - \[/);
    });
  });

  test("each request on a kept-alive connection is judged by its own headers", async () => {
    await withServer(whoAmI, { forwardedAllowIps: "127.0.0.1" }, async (s) => {
      const two = await ask(
        s.port,
        GET("X-Forwarded-For: 203.0.113.7\r\n") + GET("X-Forwarded-For: 198.51.100.9\r\n") + GET(),
        3,
      );
      assert.deepEqual(
        two.map((w) => w.addr),
        ["203.0.113.7", "198.51.100.9", "127.0.0.1"],
      );
    });
  });

  test("the access log names each request's own client, however requests interleave", async () => {
    const release = new Signal();
    const app: App = async (env, startResponse) => {
      if (env.PATH_INFO === "/wait") await release.promise;
      return whoAmI(env, startResponse);
    };
    await withServer(app, { forwardedAllowIps: "127.0.0.1" }, async (s) => {
      const slow = rawExchange(s.port, `GET /wait HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.7\r\n\r\n`, {
        responses: 1,
      });
      await askOne(s.port, GET("X-Forwarded-For: 198.51.100.9\r\n"));
      release.fire();
      await slow;
      await s.log.waitFor("info", /^203\.0\.113\.7 .*"GET \/wait HTTP\/1.1" 200/);
      await s.log.waitFor("info", /^198\.51\.100\.9 .*"GET \/ HTTP\/1.1" 200/);
    });
  });

  test("an IPv6 peer: ::1 trusted by its rule", async (t) => {
    const { logger } = captureLog();
    let sock;
    try {
      sock = await listen(["::1", 0]);
    } catch {
      t.skip("::1 is not available");
      return;
    }
    const srv = server(sock, whoAmI, { log: logger, forwardedAllowIps: "::1" });
    try {
      const port = (srv.address as { port: number }).port;
      const r = await new Promise<Buffer>((resolve, reject) => {
        const c = net.connect({ host: "::1", port });
        const got: Buffer[] = [];
        c.on("data", (d: Buffer) => {
          got.push(d);
        });
        c.on("error", reject);
        c.on("close", () => {
          resolve(Buffer.concat(got));
        });
        c.end(GET('Forwarded: for="[2001:db8::7]:4711";proto=https\r\nConnection: close\r\n'));
      });
      const who = first(r);
      assert.deepEqual([who.addr, who.port, who.scheme], ["2001:db8::7", "4711", "https"]);
    } finally {
      await srv.close({ deadline: 500 });
    }
  });

  test("over TLS, a trusted proxy's proto=http makes the scheme http and removes HTTPS", async () => {
    const { logger } = captureLog();
    const sock = wrapSsl(await listen(["127.0.0.1", 0]), {
      certfile: path.join(FIXTURES, "cert.pem"),
      keyfile: path.join(FIXTURES, "key.pem"),
      serverSide: true,
    });
    const srv = server(sock, whoAmI, { log: logger, forwardedAllowIps: "127.0.0.1" });
    try {
      const port = (srv.address as { port: number }).port;
      const ask = async (headers: string): Promise<Who> => {
        const secure = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false });
        const chunks: Buffer[] = [];
        secure.on("data", (d: Buffer) => {
          chunks.push(d);
        });
        await within(3000, "the TLS handshake", new Promise((r) => secure.once("secureConnect", r)));
        secure.write(GET(`Connection: close\r\n${headers}`));
        await within(3000, "the response", new Promise((r) => secure.once("end", r)));
        secure.destroy();
        return first(Buffer.concat(chunks));
      };
      const plain = await ask("X-Forwarded-Proto: http\r\n");
      assert.deepEqual([plain.scheme, plain.https], ["http", null]);
      const direct = await ask("");
      assert.deepEqual([direct.scheme, direct.https], ["https", "on"]);
    } finally {
      await srv.close({ deadline: 500 });
    }
  });

  test("by default no peer is trusted, not even the loopback", async () => {
    await withServer(whoAmI, {}, async (s) => {
      const who = await askOne(s.port, GET("X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\n"));
      assert.equal(who.addr, "127.0.0.1");
      assert.equal(who.scheme, "http");
    });
  });

  test("a trusted peer's bad proto leaves the scheme as the socket's", async () => {
    await withServer(whoAmI, { forwardedAllowIps: ["127.0.0.1", "::1"] }, async (s) => {
      const who = await askOne(s.port, GET("X-Forwarded-Proto: javascript\r\n"));
      assert.equal(who.scheme, "http");
    });
  });
});

function v2Header(src: number[], sport: number): Buffer {
  const b = Buffer.alloc(28);
  Buffer.from("0d0a0d0a000d0a515549540a", "hex").copy(b);
  b[12] = 0x21;
  b[13] = 0x11;
  b.writeUInt16BE(12, 14);
  Buffer.from(src).copy(b, 16);
  Buffer.from([127, 0, 0, 1]).copy(b, 20);
  b.writeUInt16BE(sport, 24);
  b.writeUInt16BE(8080, 26);
  return b;
}

const V1 = "PROXY TCP4 203.0.113.7 127.0.0.1 56324 8080\r\n";

describe("proxyProtocol", () => {
  const opts: ServerOptions = { proxyProtocol: true };

  test("v1 and v2: REMOTE_ADDR/PORT are the header's; SERVER_NAME stays the listener's; pipelined requests follow", async () => {
    await withServer(whoAmI, opts, async (s) => {
      const a = await askOne(s.port, V1 + GET());
      assert.equal(a.addr, "203.0.113.7");
      assert.equal(a.port, "56324");
      assert.equal(a.serverName, "127.0.0.1");
      const two = await ask(s.port, Buffer.concat([v2Header([198, 51, 100, 9], 1234), Buffer.from(GET() + GET())]), 2);
      assert.deepEqual(
        two.map((w) => `${w.addr}:${w.port}`),
        ["198.51.100.9:1234", "198.51.100.9:1234"],
      );
      const line = await s.log.waitFor("info", /^198\.51\.100\.9 /);
      assert.match(line, /"GET \/ HTTP\/1.1" 200/);
    });
  });

  test("the header and the request byte by byte", async () => {
    await withServer(whoAmI, opts, async (s) => {
      const bytes = V1 + GET();
      const r = await rawExchange(s.port, "", { responses: 1, pieces: bytes.split("") });
      assert.equal(first(r.data).addr, "203.0.113.7");
    });
  });

  test("LOCAL and UNKNOWN: the socket's own peer", async () => {
    await withServer(whoAmI, opts, async (s) => {
      const local = Buffer.from("0d0a0d0a000d0a515549540a20000000", "hex");
      const a = await askOne(s.port, Buffer.concat([local, Buffer.from(GET())]));
      assert.equal(a.addr, "127.0.0.1");
      const b = await askOne(s.port, `PROXY UNKNOWN\r\n${GET()}`);
      assert.equal(b.addr, "127.0.0.1");
    });
  });

  test("the PROXY header's address is the peer forwardedAllowIps judges", async () => {
    await withServer(whoAmI, { ...opts, forwardedAllowIps: "10.0.0.0/8" }, async (s) => {
      const trusted = "PROXY TCP4 10.1.2.3 127.0.0.1 5 8080\r\n";
      const a = await askOne(s.port, trusted + GET("X-Forwarded-For: 6.6.6.6, 203.0.113.7\r\n"));
      assert.equal(a.addr, "203.0.113.7");
      const b = await askOne(s.port, V1 + GET("X-Forwarded-For: 6.6.6.6\r\n"));
      assert.equal(b.addr, "203.0.113.7", "an untrusted PROXY source: its XFF is not believed");
    });
  });

  for (const [what, bytes, reason] of [
    ["a plain HTTP request", GET(), /not a PROXY protocol header/],
    ["a malformed v1 line", "PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\n" + GET(), /bad port/],
    ["a v1 line that never ends", `PROXY UNKNOWN ${"x".repeat(200)}`, /no CRLF in the first 107 bytes/],
    ["a truncated header, then the client's FIN", "PROXY TCP4 1.2.3.4", /closed before its PROXY header was complete/],
  ] as const) {
    test(`${what} is refused: closed, nothing read as HTTP, one debug line`, async () => {
      let calls = 0;
      const app: App = (env, sr) => {
        calls++;
        return whoAmI(env, sr);
      };
      await withServer(app, opts, async (s) => {
        const r = await rawExchange(s.port, bytes, { end: true });
        assert.equal(r.closed, true);
        assert.equal(r.data.length, 0, "not even a 400");
        const line = await s.log.waitFor("debug", reason);
        assert.match(line, /^connection from 127\.0\.0\.1:\d+ closed: /);
        assert.equal(s.log.debug.filter((l) => l.startsWith("connection from")).length, 1);
        assert.equal(calls, 0);
      });
    });
  }

  test("a header that does not come within headersTimeout: closed, and its slot freed", async () => {
    await withServer(whoAmI, { ...opts, headersTimeout: 0.2, maxSize: 1 }, async (s) => {
      const silent = net.connect({ host: "127.0.0.1", port: s.port });
      try {
        await within(2000, "the silent connection to be accepted", new Promise((r) => silent.once("connect", r)));
        silent.write("PROXY TCP4 "); // begun, never finished
        // The one slot is held: a second client waits until the first is cut.
        const started = Date.now();
        const who = await askOne(s.port, V1 + GET());
        assert.equal(who.addr, "203.0.113.7");
        assert.ok(Date.now() - started >= 150, "served only after the first header timed out");
        await s.log.waitFor("debug", /no complete PROXY header within 0\.2 s/);
      } finally {
        silent.destroy();
      }
    });
  });

  test("a peer outside proxyAllowFrom is closed unread", async () => {
    await withServer(whoAmI, { ...opts, proxyAllowFrom: "10.0.0.0/8" }, async (s) => {
      const r = await rawExchange(s.port, V1 + GET(), { end: true });
      assert.equal(r.closed, true);
      assert.equal(r.data.length, 0);
      await s.log.waitFor("debug", /^connection from 127\.0\.0\.1:\d+ refused: not in proxyAllowFrom/);
    });
  });

  // The ClientHello in the same read as the header (put back on the socket for TLS), or
  // written once the server had a turn to read the header alone.
  for (const together of [true, false]) {
    test(`before TLS: the header in clear, then the handshake and HTTPS (ClientHello ${together ? "right behind" : "after a flush"})`, async () => {
      const { log, logger } = captureLog();
      const sock = wrapSsl(await listen(["127.0.0.1", 0]), {
        certfile: path.join(FIXTURES, "cert.pem"),
        keyfile: path.join(FIXTURES, "key.pem"),
        serverSide: true,
      });
      const srv = server(sock, whoAmI, { log: logger, proxyProtocol: true });
      try {
        const port = (srv.address as { port: number }).port;
        const raw = net.connect({ host: "127.0.0.1", port });
        await new Promise((r) => raw.once("connect", r));
        if (together) raw.write(V1);
        else {
          await new Promise((r) => raw.write(V1, r));
          // A turn of the event loop: its poll phase lets the server read the header alone.
          for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
        }
        const secure = tls.connect({ socket: raw, rejectUnauthorized: false });
        const chunks: Buffer[] = [];
        secure.on("data", (d: Buffer) => {
          chunks.push(d);
        });
        await within(3000, "the TLS handshake", new Promise((r) => secure.once("secureConnect", r)));
        secure.write(GET("Connection: close\r\n"));
        await within(3000, "the response", new Promise((r) => secure.once("end", r)));
        secure.destroy();
        const who = first(Buffer.concat(chunks));
        assert.equal(who.addr, "203.0.113.7");
        assert.equal(who.scheme, "https");
        assert.deepEqual(log.error, []);
      } finally {
        await srv.close({ deadline: 500 });
      }
    });
  }

  test("on a Unix socket: allowed only when proxyAllowFrom holds unix; an AF_UNIX source is REMOTE_ADDR unix", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ewsgi-proxy-"));
    const file = path.join(dir, "s.sock");
    const { log, logger } = captureLog();
    const srv = server(await listen(file), whoAmI, { log: logger, proxyProtocol: true, proxyAllowFrom: "unix" });
    try {
      const talk = (bytes: string): Promise<Buffer> =>
        new Promise((resolve, reject) => {
          const c = net.connect(file);
          const got: Buffer[] = [];
          c.on("data", (d: Buffer) => {
            got.push(d);
          });
          c.on("error", reject);
          c.on("close", () => {
            resolve(Buffer.concat(got));
          });
          c.end(bytes);
        });
      const a = first(await talk(V1 + GET("Connection: close\r\n")));
      assert.equal(a.addr, "203.0.113.7");
      const b = first(await talk(`PROXY UNKNOWN\r\n${GET("Connection: close\r\n")}`));
      assert.equal(b.addr, "unix");
      assert.deepEqual(log.error, []);
    } finally {
      await srv.close({ deadline: 500 });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /** A client that has begun its PROXY header; resolves once the server had turns to accept it and read. */
  async function beginHeader(port: number): Promise<net.Socket> {
    const c = net.connect({ host: "127.0.0.1", port });
    c.on("error", () => {}); // a cut may come as a reset
    await new Promise((r) => c.once("connect", r));
    await new Promise((r) => c.write("PROXY ", r));
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    return c;
  }

  test("close(): a connection still reading its header gets the first-request grace, and is served", async () => {
    const { logger } = captureLog();
    const srv = server(await listen(["127.0.0.1", 0]), whoAmI, { log: logger, proxyProtocol: true });
    const c = await beginHeader((srv.address as { port: number }).port);
    try {
      const got: Buffer[] = [];
      c.on("data", (d: Buffer) => {
        got.push(d);
      });
      const ended = new Promise((r) => c.once("close", r));
      const closing = srv.close();
      c.write(`${V1.slice("PROXY ".length)}${GET()}`);
      await within(3000, "the response and the close", ended);
      const [response] = parseResponses(Buffer.concat(got)).responses;
      assert.equal(response?.status, 200);
      assert.equal(response.headers.find(([n]) => n === "connection")?.[1], "close");
      assert.equal((JSON.parse(response.body.toString()) as Who).addr, "203.0.113.7");
      await within(3000, "close() to finish", closing);
    } finally {
      c.destroy();
    }
  });

  test("close(): a header still unfinished when the grace ends is cut", async () => {
    const { logger } = captureLog();
    const srv = server(await listen(["127.0.0.1", 0]), whoAmI, { log: logger, proxyProtocol: true });
    const c = await beginHeader((srv.address as { port: number }).port);
    try {
      const closed = new Promise((r) => c.once("close", r));
      const started = Date.now();
      await within(3000, "close() to finish", srv.close());
      await within(2000, "the client to see the close", closed);
      assert.ok(Date.now() - started >= 900, "not before the grace");
    } finally {
      c.destroy();
    }
  });
});
