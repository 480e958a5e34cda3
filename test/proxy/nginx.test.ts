/**
 * Behind nginx (Debian's, started here on loopback with its own prefix and
 * config): two eventwsgi instances trust 127.0.0.1 (forwardedAllowIps);
 * the app sees the client's address and scheme, not what the client claims;
 * when one instance closes gracefully, nginx's clients see no error.
 *
 * The client connects from 127.0.0.2 so that its address differs from
 * nginx's (127.0.0.1): seeing 127.0.0.2 proves the header was read.
 */

import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { App } from "../../src/index.js";
import { within } from "../support/wait.js";
import { startServer, type TestServer } from "../support/wire.js";
import { findProgram, freePort, get, startProgram, waitForPort, type Program } from "./programs.js";

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../../test/fixtures");
const NGINX = findProgram("nginx");
const CLIENT_ADDR = "127.0.0.2";

/** ms between the two halves of a /slow response: long enough that a close finds some mid-body. */
const SLOW_BODY_GAP_MS = 25;

function instanceApp(name: string): App {
  return (env, startResponse) => {
    startResponse("200 OK", [["Content-Type", "application/json"]]);
    const json = JSON.stringify({
      name,
      addr: env.REMOTE_ADDR,
      scheme: env["wsgi.url_scheme"],
      https: env.HTTPS ?? null,
    });
    if (env.PATH_INFO !== "/slow") return [json];
    // Half the body now, half later: a server that cut it would leave nginx a response it cannot retry.
    return (async function* () {
      yield json.slice(0, 10);
      await new Promise((resolve) => setTimeout(resolve, SLOW_BODY_GAP_MS));
      yield json.slice(10);
    })();
  };
}

interface Seen {
  name: string;
  addr: string;
  scheme: string;
  https: string | null;
}

function nginxConfig(prefix: string, httpPort: number, httpsPort: number, upstreams: number[]): string {
  return `
daemon off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log stderr notice;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  upstream eventwsgi {
${upstreams.map((p) => `    server 127.0.0.1:${p};`).join("\n")}
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${httpPort};
    listen 127.0.0.1:${httpsPort} ssl;
    ssl_certificate ${FIXTURES}/cert.pem;
    ssl_certificate_key ${FIXTURES}/key.pem;
    location / {
      proxy_pass http://eventwsgi;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      # A client's own Forwarded header would win over X-Forwarded-For: nginx must not pass it on.
      proxy_set_header Forwarded "";
    }
  }
}
`;
}

describe(
  "behind nginx",
  {
    skip:
      NGINX === null
        ? "nginx not installed: needed to prove eventwsgi behind a real reverse proxy (apt-get install nginx-light)"
        : false,
  },
  () => {
    let prefix = "";
    let nginx: Program | null = null;
    let a: TestServer | null = null;
    let b: TestServer | null = null;
    let httpPort = 0;
    let httpsPort = 0;

    before(async () => {
      a = await startServer(instanceApp("A"), { forwardedAllowIps: "127.0.0.1", minimumChunkSize: 0 });
      b = await startServer(instanceApp("B"), { forwardedAllowIps: "127.0.0.1", minimumChunkSize: 0 });
      prefix = mkdtempSync(path.join(tmpdir(), "ewsgi-nginx-"));
      chmodSync(prefix, 0o755); // nginx's workers may run as another user
      httpPort = await freePort();
      httpsPort = await freePort();
      writeFileSync(path.join(prefix, "nginx.conf"), nginxConfig(prefix, httpPort, httpsPort, [a.port, b.port]));
      nginx = startProgram(NGINX as string, ["-p", prefix, "-c", path.join(prefix, "nginx.conf"), "-e", "stderr"]);
      try {
        await waitForPort(httpPort, nginx.child);
        await waitForPort(httpsPort, nginx.child);
      } catch (err) {
        throw new Error(`nginx did not start: ${(err as Error).message}\n${nginx.output()}`, { cause: err });
      }
    });

    after(async () => {
      await nginx?.stop();
      await a?.close(500);
      await b?.close(500);
      if (prefix !== "") rmSync(prefix, { recursive: true, force: true });
    });

    test("the app sees the client's address, not one the client claims, and nginx's scheme", async () => {
      const agent = new http.Agent({ keepAlive: false });
      const spoofs = {
        "X-Forwarded-For": "6.6.6.6",
        Forwarded: "for=6.6.6.6;proto=https",
        "X-Forwarded-Proto": "https",
      };
      const names = new Set<string>();
      for (let i = 0; i < 4; i++) {
        const r = await get(httpPort, "/", { agent, from: CLIENT_ADDR, headers: spoofs });
        assert.equal(r.status, 200);
        const seen = JSON.parse(r.body) as Seen;
        assert.equal(seen.addr, CLIENT_ADDR);
        assert.equal(seen.scheme, "http", "X-Forwarded-Proto from nginx ($scheme), not the client's");
        names.add(seen.name);
      }
      assert.deepEqual([...names].sort(), ["A", "B"], "both instances served");
      const seen = await within(
        5000,
        "an HTTPS request through nginx",
        new Promise<Seen>((resolve, reject) => {
          https
            .get(
              {
                host: "127.0.0.1",
                port: httpsPort,
                path: "/",
                localAddress: CLIENT_ADDR,
                rejectUnauthorized: false,
                agent: false,
              },
              (res) => {
                let body = "";
                res.on("data", (d: Buffer) => (body += d.toString()));
                res.on("end", () => {
                  resolve(JSON.parse(body) as Seen);
                });
              },
            )
            .on("error", reject);
        }),
      );
      assert.deepEqual(
        { addr: seen.addr, scheme: seen.scheme, https: seen.https },
        { addr: CLIENT_ADDR, scheme: "https", https: "on" },
      );
    });

    test("when one instance closes gracefully, nginx's clients see no error, even mid-body", async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
      const total = 300;
      const closeAfter = 100;
      let started = 0;
      let done = 0;
      let failed = 0;
      const failures: string[] = [];
      const servedBy: Record<string, number> = { A: 0, B: 0 };
      const run: { closing: Promise<void> | null } = { closing: null };
      const lane = async (): Promise<void> => {
        while (started < total) {
          started++;
          try {
            const r = await get(httpPort, "/slow", { agent, from: CLIENT_ADDR });
            if (r.status !== 200) throw new Error(`status ${r.status}: ${r.body.slice(0, 80)}`);
            const seen = JSON.parse(r.body) as Seen;
            servedBy[seen.name] = (servedBy[seen.name] ?? 0) + 1;
            done++;
          } catch (err) {
            failed++;
            if (failures.length < 5) failures.push((err as Error).message);
          }
          if (done === closeAfter && run.closing === null) run.closing = (a as TestServer).server.close();
        }
      };
      try {
        await within(60_000, `${total} requests through nginx`, Promise.all([lane(), lane(), lane(), lane()]));
        assert.equal(failed, 0, `failed requests: ${failures.join("; ")}`);
        assert.equal(done, total);
        const closing = run.closing;
        assert.ok(closing !== null, "instance A was closed mid-run");
        await within(5000, "instance A to finish closing", closing);
        assert.ok((servedBy.A ?? 0) > 0 && (servedBy.B ?? 0) > 0, JSON.stringify(servedBy));
        // After the close, every request was B's: A's listener is gone.
        const after = await get(httpPort, "/", { agent, from: CLIENT_ADDR });
        assert.equal((JSON.parse(after.body) as Seen).name, "B");
      } finally {
        agent.destroy();
      }
    });
  },
);
