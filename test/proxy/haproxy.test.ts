/**
 * Behind HAProxy (Debian's, in TCP mode, started here on loopback): one
 * instance gets `send-proxy-v2`, another `send-proxy` (v1). The app's
 * REMOTE_ADDR and REMOTE_PORT are the real client's; in HTTP mode with
 * `option forwardfor`, a third trusting 127.0.0.1 sees the client too; HAProxy's health checks
 * (an HTTP check behind a PROXY v2 LOCAL header, which carries no address)
 * are served, from HAProxy's own address; a direct connection without the
 * header is refused.
 *
 * The client connects from 127.0.0.2 so that its address differs from
 * HAProxy's (127.0.0.1).
 */

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { App } from "../../src/index.js";
import { Signal, within } from "../support/wait.js";
import { rawExchange, startServer, type TestServer } from "../support/wire.js";
import { findProgram, freePort, startProgram, waitForPort, type Program } from "./programs.js";

const HAPROXY = findProgram("haproxy");
const CLIENT_ADDR = "127.0.0.2";

interface Seen {
  name: string;
  addr: string;
  port: string;
}

/** A request from CLIENT_ADDR through `port`: the client's own local port and the app's answer. */
function askFrom(port: number, headers = ""): Promise<{ localPort: number; seen: Seen }> {
  return within(
    5000,
    `a request through HAProxy port ${port}`,
    new Promise((resolve, reject) => {
      const c = net.connect({ host: "127.0.0.1", port, localAddress: CLIENT_ADDR });
      const chunks: Buffer[] = [];
      let localPort = 0;
      c.on("connect", () => {
        localPort = c.localPort ?? 0;
        c.write(`GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}\r\n`);
      });
      c.on("data", (d: Buffer) => {
        chunks.push(d);
      });
      c.on("error", reject);
      c.on("close", () => {
        const text = Buffer.concat(chunks).toString();
        const body = text.slice(text.indexOf("\r\n\r\n") + 4);
        try {
          resolve({ localPort, seen: JSON.parse(body) as Seen });
        } catch {
          reject(new Error(`not a JSON answer: ${JSON.stringify(text)}`));
        }
      });
    }),
  );
}

function haproxyConfig(ports: {
  v2Front: number;
  v1Front: number;
  httpFront: number;
  a: number;
  b: number;
  c: number;
}): string {
  const { v2Front, v1Front, httpFront } = ports;
  return `
global
  maxconn 200
defaults
  mode tcp
  timeout connect 2s
  timeout client 10s
  timeout server 10s
frontend v2
  bind 127.0.0.1:${v2Front}
  default_backend v2
backend v2
  option httpchk GET /health
  server a 127.0.0.1:${ports.a} send-proxy-v2 check check-send-proxy inter 200ms
frontend v1
  bind 127.0.0.1:${v1Front}
  default_backend v1
backend v1
  server b 127.0.0.1:${ports.b} send-proxy
frontend http
  mode http
  bind 127.0.0.1:${httpFront}
  option forwardfor
  http-request del-header Forwarded
  default_backend http
backend http
  mode http
  server c 127.0.0.1:${ports.c}
`;
}

describe(
  "behind HAProxy",
  {
    skip:
      HAPROXY === null
        ? "haproxy not installed: needed to prove the PROXY protocol against a real sender (apt-get install haproxy)"
        : false,
  },
  () => {
    let dir = "";
    let haproxy: Program | null = null;
    let a: TestServer | null = null;
    let b: TestServer | null = null;
    let c: TestServer | null = null;
    let v2Front = 0;
    let v1Front = 0;
    let httpFront = 0;
    const healthCheck = new Signal<string>();

    function instanceApp(name: string): App {
      return (env, startResponse) => {
        if (env.PATH_INFO === "/health") healthCheck.fire(env.REMOTE_ADDR);
        startResponse("200 OK", [["Content-Type", "application/json"]]);
        return [JSON.stringify({ name, addr: env.REMOTE_ADDR, port: env.REMOTE_PORT })];
      };
    }

    before(async () => {
      a = await startServer(instanceApp("A"), { proxyProtocol: true });
      b = await startServer(instanceApp("B"), { proxyProtocol: true });
      c = await startServer(instanceApp("C"), { forwardedAllowIps: "127.0.0.1" });
      dir = mkdtempSync(path.join(tmpdir(), "ewsgi-haproxy-"));
      v2Front = await freePort();
      v1Front = await freePort();
      httpFront = await freePort();
      const cfg = path.join(dir, "haproxy.cfg");
      writeFileSync(cfg, haproxyConfig({ v2Front, v1Front, httpFront, a: a.port, b: b.port, c: c.port }));
      haproxy = startProgram(HAPROXY as string, ["-f", cfg, "-db"]);
      try {
        await waitForPort(v2Front, haproxy.child);
        await waitForPort(v1Front, haproxy.child);
        await waitForPort(httpFront, haproxy.child);
      } catch (err) {
        throw new Error(`haproxy did not start: ${(err as Error).message}\n${haproxy.output()}`, { cause: err });
      }
    });

    after(async () => {
      await haproxy?.stop();
      await a?.close(500);
      await b?.close(500);
      await c?.close(500);
      if (dir !== "") rmSync(dir, { recursive: true, force: true });
    });

    test("send-proxy-v2: REMOTE_ADDR and REMOTE_PORT are the real client's", async () => {
      for (let i = 0; i < 3; i++) {
        const { localPort, seen } = await askFrom(v2Front);
        assert.deepEqual(seen, { name: "A", addr: CLIENT_ADDR, port: String(localPort) });
      }
    });

    test("send-proxy (v1): REMOTE_ADDR and REMOTE_PORT are the real client's", async () => {
      for (let i = 0; i < 3; i++) {
        const { localPort, seen } = await askFrom(v1Front);
        assert.deepEqual(seen, { name: "B", addr: CLIENT_ADDR, port: String(localPort) });
      }
    });

    test("HTTP mode with option forwardfor: the client's address, not the one it claims", async () => {
      const { seen } = await askFrom(httpFront, "X-Forwarded-For: 6.6.6.6\r\nForwarded: for=6.6.6.6\r\n");
      assert.equal(seen.name, "C");
      assert.equal(seen.addr, CLIENT_ADDR);
    });

    test("HAProxy's health checks, sent behind a PROXY v2 LOCAL header, are served with the socket's peer", async () => {
      const addr = await within(5000, "an HTTP health check from HAProxy", healthCheck.promise);
      assert.equal(addr, "127.0.0.1");
      assert.deepEqual(a?.log.error, []);
    });

    test("a direct connection without the header is refused: closed unread", async () => {
      for (const s of [a, b]) {
        assert.ok(s !== null);
        const r = await rawExchange(s.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", { end: true });
        assert.equal(r.closed, true);
        assert.equal(r.data.length, 0);
        await s.log.waitFor("debug", /closed: not a PROXY protocol header/);
      }
    });
  },
);
