/**
 * listen(): IPv4 on all interfaces, a free port, IPv6 (and dual-stack),
 * Unix sockets (stale file replaced, live one refused, removed on close),
 * bind errors with the system's code, and the environ's address keys.
 */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { listen, server } from "../../src/index.js";
import { hello } from "../support/wire.js";
import { environApp, spawnNode, withOps } from "./support.js";
import { Peer } from "../support/peer.js";
import { within } from "../support/wait.js";

const GET = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

async function environOver(peer: Peer): Promise<Record<string, unknown>> {
  await peer.write(GET);
  const [res] = await peer.responses(1);
  assert.equal(res?.status, 200);
  return JSON.parse((res as { body: Buffer }).body.toString()) as Record<string, unknown>;
}

/**
 * The accept queue's length the kernel holds for a listening socket: the
 * Send-Q column `ss -l` shows for it. null when ss is not installed.
 */
function kernelBacklog(filter: string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    execFile("ss", ["-Hl", ...filter], { timeout: 3000 }, (err, stdout) => {
      if ((err as NodeJS.ErrnoException | null)?.code === "ENOENT") {
        resolve(null);
        return;
      }
      if (err !== null) {
        reject(new Error(`ss failed: ${err.message}`, { cause: err }));
        return;
      }
      const fields = stdout.trim().split(/\s+/);
      // TCP: State Recv-Q Send-Q ...; Unix (-x): Netid State Recv-Q Send-Q ...
      resolve(Number(fields[filter[0] === "-x" ? 3 : 2]));
    });
  });
}

const somaxconn = (): number => Number(readFileSync("/proc/sys/net/core/somaxconn", "utf8").trim());

async function ipv6Available(): Promise<boolean> {
  const probe = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once("error", reject);
      probe.listen(0, "::1", resolve);
    });
    return true;
  } catch {
    return false;
  } finally {
    probe.close();
  }
}

describe("listen on TCP", () => {
  test('["", 0] listens on all IPv4 interfaces at a free port; the environ names both ends', async () => {
    const sock = await listen(["", 0], { backlog: 8 });
    const address = sock.address() as { host: string; port: number };
    assert.equal(address.host, "0.0.0.0");
    assert.ok(address.port > 0);
    assert.equal(sock.tls, false);
    await withOps(sock, environApp, {}, async () => {
      const peer = await Peer.connect({ port: address.port });
      try {
        const env = await environOver(peer);
        assert.deepEqual(env, {
          SERVER_NAME: "0.0.0.0",
          SERVER_PORT: String(address.port),
          REMOTE_ADDR: "127.0.0.1",
          REMOTE_PORT: String(peer.socket.localPort),
          "wsgi.url_scheme": "http",
        });
      } finally {
        peer.destroy();
      }
    });
  });

  test("connections that arrive before server() attaches are served once it does", async () => {
    const sock = await listen(["127.0.0.1", 0]);
    const { port } = sock.address() as { port: number };
    const peer = await Peer.connect({ port });
    try {
      await peer.write(GET);
      await withOps(sock, hello, {}, async () => {
        const [res] = await peer.responses(1);
        assert.equal(res?.status, 200);
      });
    } finally {
      peer.destroy();
    }
  });

  test("a port in use rejects with EADDRINUSE and a message naming the address", async () => {
    const first = await listen(["127.0.0.1", 0]);
    const { port } = first.address() as { port: number };
    try {
      await assert.rejects(listen(["127.0.0.1", port]), (err: NodeJS.ErrnoException) => {
        assert.equal(err.code, "EADDRINUSE");
        assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
        return true;
      });
    } finally {
      await first.close();
    }
  });

  test("a privileged port for an unprivileged process rejects with EACCES", async (t) => {
    const unprivilegedStart = Number(readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8").trim());
    if (!(unprivilegedStart > 1)) {
      t.skip("every port is unprivileged on this system");
      return;
    }
    const root = process.getuid?.() === 0;
    // A child that drops to nobody (when we are root) and reports what listen() rejected with.
    const script = `
      const { listen } = await import(${JSON.stringify(new URL("../../src/index.js", import.meta.url).href)});
      if (${root}) { process.setgid(65534); process.setuid(65534); }
      try { await listen(["127.0.0.1", 1]); console.log(JSON.stringify({ ok: true })); }
      catch (err) { console.log(JSON.stringify({ code: err.code, message: err.message })); }
    `;
    const child = spawnNode(["--input-type=module", "-e", script]);
    try {
      const [line] = await child.waitOutput(/\{.*\}/, 5000);
      const result = JSON.parse(line) as { code?: string; message?: string };
      assert.equal(result.code, "EACCES");
      assert.match(result.message ?? "", /127\.0\.0\.1:1\b/);
    } finally {
      await child.kill();
    }
  });

  test("a malformed address rejects with a TypeError", async () => {
    await assert.rejects(listen(["127.0.0.1", 1.5]), TypeError);
    await assert.rejects(listen([1 as unknown as string, 0]), TypeError);
  });

  test("backlog defaults to 50, as eventlet's, and is passed to the kernel", async (t) => {
    for (const [opts, expected] of [
      [{}, 50],
      [{ backlog: 7 }, 7],
    ] as const) {
      const sock = await listen(["127.0.0.1", 0], opts);
      try {
        const { port } = sock.address() as { port: number };
        const got = await kernelBacklog(["-tn", `sport = :${port}`]);
        if (got === null) {
          t.skip("ss is not installed");
          return;
        }
        assert.equal(got, Math.min(expected, somaxconn()), `backlog for ${JSON.stringify(opts)}`);
      } finally {
        await sock.close();
      }
    }
  });

  test("a backlog that is not a non-negative integer rejects with a TypeError", async () => {
    await assert.rejects(listen(["127.0.0.1", 0], { backlog: -1 }), /backlog must be a non-negative integer/);
    await assert.rejects(listen(["127.0.0.1", 0], { backlog: 2.5 }), TypeError);
  });

  test("ListenSocket.close() without a server frees the port", async () => {
    const sock = await listen(["127.0.0.1", 0]);
    const { port } = sock.address() as { port: number };
    await sock.close();
    await sock.close(); // twice is harmless
    const again = await listen(["127.0.0.1", port]);
    await again.close();
  });
});

describe("listen on IPv6", () => {
  let v6 = false;
  before(async () => {
    v6 = await ipv6Available();
  });

  test("[::1, 0]: the environ holds the IPv6 addresses", async (t) => {
    if (!v6) {
      t.skip("::1 is not available");
      return;
    }
    const sock = await listen(["::1", 0]);
    const address = sock.address() as { host: string; port: number };
    assert.equal(address.host, "::1");
    await withOps(sock, environApp, {}, async (s) => {
      assert.match(s.log.info[0] ?? "", /wsgi starting up on http:\/\/\[::1\]:\d+/);
      const peer = await Peer.connect({ host: "::1", port: address.port });
      try {
        const env = await environOver(peer);
        assert.equal(env.SERVER_NAME, "::1");
        assert.equal(env.SERVER_PORT, String(address.port));
        assert.equal(env.REMOTE_ADDR, "::1");
        assert.equal(env.REMOTE_PORT, String(peer.socket.localPort));
      } finally {
        peer.destroy();
      }
    });
  });

  test('["::", 0] is dual-stack: IPv4 peers appear as plain IPv4 addresses', async (t) => {
    if (!v6) {
      t.skip("IPv6 is not available");
      return;
    }
    const sock = await listen(["::", 0]);
    const address = sock.address() as { host: string; port: number };
    assert.equal(address.host, "::");
    await withOps(sock, environApp, {}, async () => {
      const v6peer = await Peer.connect({ host: "::1", port: address.port });
      try {
        assert.equal((await environOver(v6peer)).REMOTE_ADDR, "::1");
      } finally {
        v6peer.destroy();
      }
      let v4peer: Peer;
      try {
        v4peer = await Peer.connect({ host: "127.0.0.1", port: address.port });
      } catch {
        t.diagnostic("the OS does not allow dual-stack sockets (bindv6only)");
        return;
      }
      try {
        const env = await environOver(v4peer);
        assert.equal(env.REMOTE_ADDR, "127.0.0.1");
        assert.equal(env.SERVER_NAME, "::");
      } finally {
        v4peer.destroy();
      }
    });
  });

  test("EADDRINUSE on IPv6 names the address in brackets", async (t) => {
    if (!v6) {
      t.skip("::1 is not available");
      return;
    }
    const first = await listen(["::1", 0]);
    const { port } = first.address() as { port: number };
    try {
      await assert.rejects(listen(["::1", port]), (err: NodeJS.ErrnoException) => {
        assert.equal(err.code, "EADDRINUSE");
        assert.ok(err.message.includes(`[::1]:${port}`), err.message);
        return true;
      });
    } finally {
      await first.close();
    }
  });
});

describe("listen on a Unix socket", () => {
  let dir = "";
  before(() => {
    dir = mkdtempSync("/tmp/eventwsgi-ops-");
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test("serves requests; the environ says unix with empty ports; close removes the file", async () => {
    const path = join(dir, "serve.sock");
    const sock = await listen(path);
    assert.deepEqual(sock.address(), { path });
    const s = server(sock, environApp, { log: { info: () => {}, debug: () => {}, error: () => {} } });
    try {
      const peer = await Peer.connect({ path });
      try {
        assert.deepEqual(await environOver(peer), {
          SERVER_NAME: "unix",
          SERVER_PORT: "",
          REMOTE_ADDR: "unix",
          REMOTE_PORT: "",
          "wsgi.url_scheme": "http",
        });
      } finally {
        peer.destroy();
      }
    } finally {
      await within(3000, "server close", s.close({ deadline: 200 }));
    }
    assert.equal(existsSync(path), false, "the socket file is removed");
  });

  test("the access log names a Unix peer as unix", async () => {
    const path = join(dir, "log.sock");
    await withOps(await listen(path), hello, {}, async (s) => {
      const peer = await Peer.connect({ path });
      try {
        await peer.write(GET);
        await peer.responses(1);
        assert.match(await s.log.waitFor("info", /GET \/ HTTP\/1\.1/), /^unix - - \[/);
      } finally {
        peer.destroy();
      }
    });
  });

  test("backlog is passed to the kernel; ListenSocket.close() without a server removes the file", async (t) => {
    const path = join(dir, "backlog.sock");
    const sock = await listen(path, { backlog: 9 });
    try {
      const got = await kernelBacklog(["-x", "src", path]);
      if (got === null) t.skip("ss is not installed");
      else assert.equal(got, Math.min(9, somaxconn()));
    } finally {
      await sock.close();
    }
    assert.equal(existsSync(path), false, "the socket file is removed");
  });

  test("a stale socket file left by a dead process is replaced", async () => {
    const path = join(dir, "stale.sock");
    // A process that binds the path and dies without cleaning up.
    const child = spawnNode(
      ["-e", "require('net').createServer().listen(process.env.SOCK_PATH, () => process.kill(process.pid, 'SIGKILL'))"],
      {
        env: { SOCK_PATH: path },
      },
    );
    assert.equal(await within(5000, "the child to die", child.exited), "SIGKILL");
    assert.ok(existsSync(path), "the dead process left its socket file");
    const sock = await listen(path);
    await withOps(sock, hello, {}, async () => {
      const peer = await Peer.connect({ path });
      try {
        await peer.write(GET);
        const [res] = await peer.responses(1);
        assert.equal(res?.status, 200);
      } finally {
        peer.destroy();
      }
    });
  });

  test("a socket some process still listens on is not replaced: EADDRINUSE naming the path", async () => {
    const path = join(dir, "live.sock");
    const live = await listen(path);
    await withOps(live, hello, {}, async () => {
      await assert.rejects(listen(path), (err: NodeJS.ErrnoException) => {
        assert.equal(err.code, "EADDRINUSE");
        assert.ok(err.message.includes(path), err.message);
        return true;
      });
      const peer = await Peer.connect({ path });
      try {
        await peer.write(GET);
        const [res] = await peer.responses(1);
        assert.equal(res?.status, 200, "the live server still answers");
      } finally {
        peer.destroy();
      }
    });
  });

  test("a file that is not a socket is left alone", async () => {
    const path = join(dir, "plain-file");
    writeFileSync(path, "keep me");
    await assert.rejects(listen(path), (err: NodeJS.ErrnoException) => err.code === "EADDRINUSE");
    assert.equal(readFileSync(path, "utf8"), "keep me");
  });
});
