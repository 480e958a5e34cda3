/**
 * The command's front door: --help, --version, --check-config and the precedence of settings,
 * and every way of failing before serving — one line on stderr, no stack trace, the contract's
 * exit code (2 usage, 1 serving failed), and no banner.
 */

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { FLAGS } from "../../src/cli/flags.js";
import { APP, BROKEN, Cli } from "./support.js";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const cli = new Cli(args, env);
  try {
    const { code } = await cli.exited;
    return { code, stdout: cli.stdout, stderr: cli.stderr };
  } finally {
    await cli.stop();
  }
}

/** Exactly one line, starting "eventwsgi: error:", and no stack frame. */
function assertOneLine(r: Run, expected: RegExp): void {
  assert.match(r.stderr, /^eventwsgi: error: [^\n]+\n$/, `one line expected, got:\n${r.stderr}`);
  assert.match(r.stderr, expected);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
  assert.doesNotMatch(r.stderr + r.stdout, /listening on/, "no banner before the binds succeed");
}

let dir = "";
before(() => {
  dir = mkdtempSync(join(tmpdir(), "eventwsgi-cli-"));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("eventwsgi --help and --version", () => {
  test("--help lists every flag with its default and exits 0", async () => {
    const r = await run(["--help"]);
    assert.equal(r.code, 0);
    for (const f of FLAGS) {
      const line = r.stdout.split("\n").find((l) => l.includes(`--${f.name} `) || l.trimEnd().endsWith(`--${f.name}`));
      assert.ok(line !== undefined, `--${f.name} is listed`);
    }
    const flagLines = r.stdout.split("\n").filter((l) => /^\s+(-\w, )?\s*--[a-z]/.test(l));
    for (const l of flagLines.filter((l) => !/--(config|check-config|version|help)\b/.test(l))) {
      assert.match(l, /\[default: .+\]$/, `a default on: ${l}`);
    }
    assert.match(r.stdout, /--bind ADDR .*\[default: 127\.0\.0\.1:8000\]/);
    assert.match(r.stdout, /--graceful-timeout S .*\[default: 30 s\]/);
  });

  test("--version prints the package's version", async () => {
    const r = await run(["--version"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^eventwsgi \d+\.\d+\.\d+ \(Node v\d+/);
  });
});

describe("eventwsgi usage errors exit 2 with one line", () => {
  const cases: [string, string[], RegExp][] = [
    ["an unknown flag", ["--bogus", APP], /Unknown option '--bogus'/],
    ["a bad number", ["-w", "two", APP], /--workers must be an integer/],
    ["negative seconds", ["--graceful-timeout", "-1", APP], /graceful-timeout/],
    ["a bad bind", ["-b", "localhost", APP], /--bind "localhost": expected HOST:PORT/],
    ["a bad --env", ["-e", "NOEQUALS", APP], /--env "NOEQUALS": expected KEY=VALUE/],
    ["no module", [], /no MODULE\[:EXPORT\] given/],
    ["two modules", [APP, APP], /one MODULE\[:EXPORT\] expected, got 2/],
    ["--keyfile alone", ["--keyfile", "k.pem", APP], /--keyfile needs --certfile/],
    [
      "an access log format the server refuses",
      ["--access-logformat", "%(nope)s", APP],
      /--access-logformat names an unknown field: nope/,
    ],
  ];
  for (const [what, args, expected] of cases) {
    test(what, async () => {
      const r = await run(args);
      assert.equal(r.code, 2, r.stderr);
      assertOneLine(r, expected);
    });
  }

  test("an unknown key in the config file", async () => {
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify({ workerz: 2 }));
    const r = await run(["-c", file, APP]);
    assert.equal(r.code, 2);
    assertOneLine(r, /unknown setting "workerz"/);
  });

  test("a config file value of the wrong type", async () => {
    const file = join(dir, "type.json");
    writeFileSync(file, JSON.stringify({ workers: "many" }));
    const r = await run(["-c", file, APP]);
    assert.equal(r.code, 2);
    assertOneLine(r, /workers must be an integer/);
  });
});

describe("eventwsgi failures to serve exit 1 with one line", () => {
  test("a module that does not exist", async () => {
    const r = await run([join(dir, "nope.js")]);
    assert.equal(r.code, 1);
    assertOneLine(r, /cannot find the app module/);
  });

  test("a module that throws while loading", async () => {
    const r = await run([BROKEN]);
    assert.equal(r.code, 1);
    assertOneLine(r, /cannot load .*broken\.js: Error: the database is not there/);
  });

  test("a missing export, and an export that is not an app", async () => {
    const missing = await run([`${APP}:nothing`]);
    assert.equal(missing.code, 1);
    assertOneLine(missing, /has no export "nothing"/);
    const notApp = await run([`${APP}:notAnApp`]);
    assert.equal(notApp.code, 1);
    assertOneLine(notApp, /export "notAnApp" is not an app/);
  });

  test("a .ts module on a Node that cannot strip types says what to do", async (t) => {
    const features = process.features as { typescript?: unknown };
    if (features.typescript !== undefined && features.typescript !== false) {
      t.skip(`Node ${process.version} strips types: the error cannot happen here`);
      return;
    }
    const file = join(dir, "app.ts");
    writeFileSync(file, "export default (e: unknown, s: unknown) => [];\n");
    const r = await run([file]);
    assert.equal(r.code, 1);
    assertOneLine(r, /does not run TypeScript; compile it first \(tsc\).*--experimental-strip-types/);
  });

  test("a fetch-style module: served by the fetch adapter, or a clear 'not available' line", async () => {
    const root = (await import("../../src/index.js")) as { fetchApp?: unknown };
    const adapter = typeof root.fetchApp === "function";
    const r = await run([`${APP}:fetchStyle`, "--check-config"]);
    if (adapter) assert.equal(r.code, 0, r.stderr);
    else {
      assert.equal(r.code, 1);
      assertOneLine(r, /fetch-style apps need the fetch adapter/);
    }
  });

  test("a port in use, before any worker starts", async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = await run(["-b", `127.0.0.1:${port}`, APP]);
      assert.equal(r.code, 1);
      assertOneLine(r, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
    } finally {
      blocker.close();
    }
  });

  test("a certificate that cannot be read", async () => {
    const r = await run(["--certfile", join(dir, "none.pem"), APP]);
    assert.equal(r.code, 1);
    assertOneLine(r, /cannot read certfile/);
  });
});

describe("eventwsgi --check-config: flags > EVENTWSGI_CMD_ARGS > config file > defaults", () => {
  test("each source overrides the ones below it, key by key", async () => {
    const file = join(dir, "conf.json");
    writeFileSync(file, JSON.stringify({ workers: 3, timeout: 7, maxRequests: 10, bind: ["127.0.0.1:9001"] }));
    const r = await run(["-c", file, "-w", "5", APP, "--check-config"], {
      EVENTWSGI_CMD_ARGS: "--workers 4 --timeout 8 --access-logformat '%(status_code)s x'",
      FORWARDED_ALLOW_IPS: "10.0.0.0/8",
    });
    assert.equal(r.code, 0, r.stderr);
    const config = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(config.workers, 5, "the flag wins");
    assert.equal(config.timeout, 8, "EVENTWSGI_CMD_ARGS beats the file");
    assert.equal(config.maxRequests, 10, "the file beats the default");
    assert.deepEqual(config.bind, ["127.0.0.1:9001"]);
    assert.equal(config.accessLogformat, "%(status_code)s x", "quotes are split as a shell would");
    assert.equal(config.gracefulTimeout, 30, "the default");
    assert.equal(config.forwardedAllowIps, "10.0.0.0/8", "FORWARDED_ALLOW_IPS sets the default");
  });

  test("a JS config file's default export, and --forwarded-allow-ips over FORWARDED_ALLOW_IPS", async () => {
    const file = join(dir, "conf.mjs");
    writeFileSync(file, "export default { keepAlive: 2, proxyProtocol: true };\n");
    const r = await run(["-c", file, "--forwarded-allow-ips", "*", APP, "--check-config"], {
      FORWARDED_ALLOW_IPS: "10.0.0.0/8",
    });
    assert.equal(r.code, 0, r.stderr);
    const config = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(config.keepAlive, 2);
    assert.equal(config.proxyProtocol, true);
    assert.equal(config.forwardedAllowIps, "*");
  });
});
