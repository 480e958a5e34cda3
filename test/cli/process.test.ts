/**
 * The process model, through the real command: workers, wsgi.multiprocess, TERM (in-flight
 * requests finish, exit 0, pid file removed) and a second TERM that forces, TTIN/TTOU, USR1
 * reopening the log files, whole access lines from several workers, -e, a hung worker's stack
 * under --timeout, backoff for workers that die as they start, and --reload (a broken edit
 * leaves the old workers serving).
 */

import assert from "node:assert/strict";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { until, within } from "../support/wait.js";
import { APP, Cli, get, repoRoot, serveCli } from "./support.js";

let dir = "";
before(() => {
  dir = mkdtempSync(join(tmpdir(), "eventwsgi-proc-"));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("eventwsgi workers", () => {
  test("two workers both serve, and wsgi.multiprocess is true; with one it is false", async () => {
    const { cli, port } = await serveCli(["-w", "2", APP]);
    try {
      const pids = new Set<number>();
      for (let i = 0; i < 10 && pids.size < 2; i++) {
        const { body } = await get(port, "/environ");
        const e = JSON.parse(body) as { multiprocess: boolean; pid: number };
        assert.equal(e.multiprocess, true);
        pids.add(e.pid);
      }
      assert.equal(pids.size, 2, "round-robin reaches both workers");
    } finally {
      await cli.stop();
    }
    const one = await serveCli(["-w", "1", APP]);
    try {
      assert.equal(
        (JSON.parse((await get(one.port, "/environ")).body) as { multiprocess: boolean }).multiprocess,
        false,
      );
    } finally {
      await one.cli.stop();
    }
  });

  test("TERM lets a request in flight finish, exits 0 and removes the pid file", async () => {
    const pidFile = join(dir, "term.pid");
    const { cli, port } = await serveCli(["-w", "2", "-p", pidFile, APP]);
    try {
      assert.equal(readFileSync(pidFile, "utf8").trim(), String(cli.pid));
      const slow = get(port, "/slow?ms=1500");
      await cli.waitFor(/slow request started in \d+/, 5000, "stdout");
      cli.signal("SIGTERM");
      const res = await slow;
      assert.equal(res.status, 200);
      const { code } = await within(10_000, "the CLI to exit", cli.exited);
      assert.equal(code, 0);
      assert.equal(existsSync(pidFile), false, "the pid file is removed");
      assert.match(cli.stderr, /TERM: stopping gracefully[^]*stopped \(shutdown\)[^]*\[INFO\] stopped/);
    } finally {
      await cli.stop();
    }
  });

  test("a second TERM stops at once, not after --graceful-timeout", async () => {
    const { cli, port } = await serveCli(["-w", "1", "--graceful-timeout", "60", APP]);
    try {
      const slow = get(port, "/slow?ms=30000", 40_000).catch((err: unknown) => err);
      await cli.waitFor(/slow request started in \d+/, 5000, "stdout");
      cli.signal("SIGTERM");
      await cli.waitFor(/TERM: stopping gracefully/, 5000);
      cli.signal("SIGTERM");
      const { code } = await within(10_000, "the forced stop", cli.exited);
      assert.equal(code, 0);
      assert.match(cli.stderr, /TERM again: stopping now/);
      assert.ok((await slow) instanceof Error, "the request in flight is cut");
    } finally {
      await cli.stop();
    }
  });

  test("TTIN adds a worker, TTOU removes one", async () => {
    const { cli, port } = await serveCli(["-w", "1", APP]);
    try {
      cli.signal("SIGTTIN");
      await cli.waitFor(/TTIN: 2 worker\(s\)[^]*worker \d+ serving/, 10_000);
      cli.signal("SIGTTOU");
      await cli.waitFor(/TTOU: 1 worker\(s\)[^]*worker \d+ stopped \(TTOU\)/, 10_000);
      cli.signal("SIGTTOU");
      await cli.waitFor(/TTOU ignored: one worker is the least/, 5000);
      assert.equal((await get(port, "/")).status, 200);
    } finally {
      await cli.stop();
    }
  });

  test("a Unix socket served by two workers; its file is removed at exit", async () => {
    const path = join(dir, "app.sock");
    const cli = new Cli(["-w", "2", "-b", `unix:${path}`, APP]);
    try {
      await cli.waitFor(/listening on unix:\S+app\.sock with 2 worker/, 10_000);
      await cli.waitFor(/ready: 2 worker\(s\) serving/, 15_000);
      const status = await new Promise<number>((resolve, reject) => {
        http
          .get({ socketPath: path, path: "/", agent: false }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
          .on("error", reject);
      });
      assert.equal(status, 200);
      cli.signal("SIGTERM");
      assert.equal((await within(10_000, "the CLI to exit", cli.exited)).code, 0);
      assert.equal(existsSync(path), false, "the socket's file is removed");
    } finally {
      await cli.stop();
    }
  });

  test("--certfile/--keyfile: HTTPS", async () => {
    const fixture = (name: string): string => join(repoRoot, "test", "fixtures", name);
    const cli = new Cli(["-b", "127.0.0.1:0", "--certfile", fixture("cert.pem"), "--keyfile", fixture("key.pem"), APP]);
    try {
      const [, port] = await cli.waitFor(/listening on https:\/\/127\.0\.0\.1:(\d+)/, 10_000);
      await cli.waitFor(/ready: 1 worker\(s\) serving/, 15_000);
      const body = await new Promise<string>((resolve, reject) => {
        https
          .get({ host: "127.0.0.1", port: Number(port), path: "/", rejectUnauthorized: false, agent: false }, (res) => {
            let text = "";
            res.setEncoding("utf8").on("data", (d: string) => (text += d));
            res.on("end", () => {
              resolve(text);
            });
          })
          .on("error", reject);
      });
      assert.match(body, /^pid=\d+\n$/);
    } finally {
      await cli.stop();
    }
  });

  test("--limit-request-line and --limit-request-field-size reach the server", async () => {
    const { cli, port } = await serveCli(["--limit-request-line", "100", "--limit-request-field-size", "100", APP]);
    try {
      const raw = (head: string): Promise<string> =>
        new Promise((resolve, reject) => {
          const c = net.connect({ host: "127.0.0.1", port }, () => c.end(head));
          let text = "";
          c.setEncoding("latin1").on("data", (d: string) => (text += d));
          c.on("end", () => {
            resolve(text);
          });
          c.on("error", reject);
        });
      assert.match(await raw(`GET /${"a".repeat(120)} HTTP/1.1\r\nHost: x\r\n\r\n`), /^HTTP\/1\.[01] 414 /);
      assert.match(await raw(`GET / HTTP/1.1\r\nHost: x\r\nX-Long: ${"b".repeat(120)}\r\n\r\n`), /^HTTP\/1\.[01] 400 /);
      assert.match(await raw(`GET / HTTP/1.1\r\nHost: x\r\nX-Short: ${"b".repeat(60)}\r\n\r\n`), /^HTTP\/1\.1 200 /);
    } finally {
      await cli.stop();
    }
  });

  test("a fetch-style export (an object with fetch) is served through fetchApp", async (t) => {
    const root = (await import("../../src/index.js")) as { fetchApp?: unknown };
    if (typeof root.fetchApp !== "function") {
      t.skip("the fetch adapter (fetchApp) is not in this build yet");
      return;
    }
    const { cli, port } = await serveCli([`${APP}:fetchStyle`]);
    try {
      assert.deepEqual(await get(port, "/"), { status: 200, body: "fetched\n" });
    } finally {
      await cli.stop();
    }
  });

  test("--forwarded-allow-ips (default 127.0.0.1,::1) and --proxy-protocol reach the server", async () => {
    const raw = (port: number, bytes: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const c = net.connect({ host: "127.0.0.1", port }, () => c.end(bytes));
        let text = "";
        c.setEncoding("latin1").on("data", (d: string) => (text += d));
        c.on("close", () => {
          resolve(text);
        });
        c.on("error", reject);
      });
    const forwarded =
      "GET /environ HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n\r\n";
    const trusting = await serveCli([APP]);
    try {
      const res = await raw(trusting.port, forwarded);
      assert.match(res, /"remote":"203\.0\.113\.7","scheme":"https"/, "a loopback proxy is trusted by default");
    } finally {
      await trusting.cli.stop();
    }
    const strict = await serveCli(["--forwarded-allow-ips", "10.0.0.1", "--proxy-protocol", APP]);
    try {
      assert.equal(await raw(strict.port, forwarded), "", "no PROXY header: the connection is closed unanswered");
      const res = await raw(strict.port, `PROXY TCP4 198.51.100.9 127.0.0.1 5555 80\r\n${forwarded}`);
      assert.match(
        res,
        /"remote":"198\.51\.100\.9","scheme":"http"/,
        "the PROXY header's client; X-Forwarded-* not believed from it",
      );
    } finally {
      await strict.cli.stop();
    }
  });

  test("-e sets an environment variable for the workers", async () => {
    const { cli, port } = await serveCli(["-e", "FIXTURE_GREETING=hello there", APP]);
    try {
      assert.equal((await get(port, "/env?name=FIXTURE_GREETING")).body, "hello there\n");
    } finally {
      await cli.stop();
    }
  });
});

describe("eventwsgi logs", () => {
  test("access lines from two workers arrive whole, and USR1 reopens the files", async () => {
    const access = join(dir, "access.log");
    const { cli, port } = await serveCli(["-w", "2", "--access-logfile", access, APP]);
    try {
      const long = `/${"x".repeat(6000)}`;
      await Promise.all(Array.from({ length: 40 }, () => get(port, long)));
      // An access line is written once the response is handed to the kernel, and travels to
      // the primary after it: the client can have its response before the line is in the file.
      const lineCount = (): number => (existsSync(access) ? readFileSync(access, "utf8").split("\n").length - 1 : 0);
      await until(10_000, "40 access lines in the file", () => lineCount() >= 40);
      renameSync(access, `${access}.1`);
      cli.signal("SIGUSR1");
      await cli.waitFor(/USR1: log files reopened/, 5000);
      await get(port, "/after-rotation");
      cli.signal("SIGTERM");
      await within(10_000, "the CLI to exit", cli.exited);
      const rotated = readFileSync(`${access}.1`, "utf8").split("\n");
      assert.equal(rotated.pop(), "");
      assert.equal(rotated.length, 40);
      for (const line of rotated)
        assert.match(
          line,
          new RegExp(`^127\\.0\\.0\\.1 - - \\[[^\\]]+\\] "GET ${long} HTTP/1\\.1" 200 \\d+ \\d+\\.\\d{6}$`),
        );
      assert.match(readFileSync(access, "utf8"), /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/after-rotation HTTP\/1\.1" 200 /);
    } finally {
      await cli.stop();
    }
  });
});

describe("eventwsgi failures of workers", () => {
  test("--timeout: a worker stuck in a busy loop is killed, its JavaScript stack logged first", async () => {
    const { cli, port } = await serveCli(["-w", "1", "-t", "1", APP]);
    try {
      const stuck = get(port, "/spin", 20_000).catch((err: unknown) => err);
      const [line] = await cli.waitFor(
        /worker \d+ timed out: no heartbeat for [\d.]+ s \(--timeout 1\); its JavaScript stack[^]*?\n\[/,
        20_000,
      );
      assert.match(line, /at spinForever \(file:\/\/\/.*fixtures\/app\.js:\d+:\d+\)/);
      assert.match(line, /at app \(file:\/\/\/.*fixtures\/app\.js:\d+:\d+\)/);
      await cli.waitFor(/died \(signal SIGKILL\)[^]*worker \d+ serving/, 15_000);
      assert.ok((await stuck) instanceof Error);
      assert.equal((await get(port, "/")).status, 200, "the replacement serves");
    } finally {
      await cli.stop();
    }
  });

  test("workers whose primary is killed stop on their own", async () => {
    const { cli } = await serveCli(["-w", "2", APP]);
    try {
      const pids = [...cli.stderr.matchAll(/worker (\d+) serving/g)].map((m) => Number(m[1]));
      assert.equal(pids.length, 2);
      process.kill(cli.pid, "SIGKILL");
      await within(5000, "the primary to die", cli.exited);
      const alive = (pid: number): boolean => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      await until(10_000, "the workers to exit", () => !pids.some(alive));
    } finally {
      await cli.stop();
    }
  });

  test("workers that die as they start are restarted with backoff, not in a hot loop", async () => {
    const { Cli } = await import("./support.js");
    const cli = new Cli(["-b", "127.0.0.1:0", "-w", "1", APP], { FIXTURE_WORKER_EXIT: "7" });
    try {
      await cli.waitFor(/died while starting \(exit code 7\)/, 10_000);
      await cli.waitFor(/(died while starting[^]*){4}/, 15_000);
      const started = Date.now();
      const before = cli.count(/died while starting/);
      await cli.waitFor(new RegExp(`(died while starting[^]*){${before + 1}}`), 20_000);
      // By the fifth failure the backoff is at least 800 ms.
      assert.ok(Date.now() - started >= 700, `the next restart waited ${Date.now() - started} ms`);
      assert.match(cli.stderr, /starting a replacement \(with backoff\)/);
    } finally {
      await cli.stop();
    }
  });

  test("--reload: an edit is served after a rolling restart; a broken edit leaves the old workers serving", async () => {
    const appDir = mkdtempSync(join(dir, "reload-"));
    const file = join(appDir, "app.mjs");
    const source = (word: string): string =>
      `export default (env, sr) => { sr("200 OK", [["Content-Type", "text/plain"]]); return ["${word}\\n"]; };\n`;
    writeFileSync(file, source("one"));
    const { cli, port } = await serveCli(["-w", "1", "--reload", file]);
    try {
      assert.equal((await get(port, "/")).body, "one\n");
      writeFileSync(file, source("two"));
      await cli.waitFor(/rolling restart \(.*app\.mjs changed\)[^]*stopped \(.*app\.mjs changed\)/, 15_000);
      assert.equal((await get(port, "/")).body, "two\n");
      writeFileSync(file, "export default (;\n");
      await cli.waitFor(/died while starting \(exit code 3\): cannot load/, 15_000);
      assert.equal((await get(port, "/")).body, "two\n", "the old worker still serves");
    } finally {
      await cli.stop();
    }
  });
});
