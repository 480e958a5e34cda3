/**
 * Zero failed requests: the CLI with 2 workers under load (kept-alive and new connections mixed,
 * every request counted) through HUP rolling restarts, --max-requests recycles and the final TERM;
 * then a kill -9 of one worker, where failures are allowed but the service goes on; and a TERM
 * under load, after which only new connections may fail. The access log must hold one whole line
 * per request served.
 */

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { within } from "../support/wait.js";
import { Load } from "./load.js";
import { APP, serveCli } from "./support.js";

/** Requests driven through the restarts: enough to see one loss in 10,000. */
const TOTAL = Number(process.env.EVENTWSGI_ZERO_LOSS_REQUESTS ?? 20_000);
const HUPS = 3;

let dir = "";
before(() => {
  dir = mkdtempSync(join(tmpdir(), "eventwsgi-zero-"));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const ACCESS_LINE = /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/ HTTP\/1\.1" 200 \d+ \d+\.\d{6}$/;

test(`no request fails across ${HUPS} HUPs, --max-requests recycles and TERM (${TOTAL} requests, 2 workers)`, async () => {
  const accessLog = join(dir, "access.log");
  const { cli, port } = await serveCli([
    "-w",
    "2",
    "--max-requests",
    String(Math.floor(TOTAL / 10)),
    "--max-requests-jitter",
    "200",
    "--access-logfile",
    accessLog,
    APP,
  ]);
  const load = new Load({ port, keepAliveClients: 4, freshClients: 2, perConnection: 40, timeoutMs: 10_000 });
  let stopped = false;
  try {
    // The first half: --max-requests recycles (each worker serves about TOTAL/4 of it).
    await within(300_000, `${TOTAL / 2} requests`, load.reached(TOTAL / 2));
    await cli.waitFor(/(stopped \(max-requests\)[^]*){2}/, 30_000);
    // The second half: HUPs.
    for (let i = 1; i <= HUPS; i++) {
      const at = TOTAL / 2 + (i * TOTAL) / 2 / (HUPS + 1);
      await within(300_000, `${at} requests`, load.reached(at));
      // Each HUP replaces both workers: two more stops (a worker already retiring for
      // --max-requests when the HUP comes stops under that reason instead).
      const stopsBefore = cli.count(/worker \d+ stopped \(/);
      cli.signal("SIGHUP");
      await cli.waitFor(new RegExp(`(worker \\d+ stopped \\([^]*){${stopsBefore + 2}}`), 30_000);
    }
    await within(300_000, `${TOTAL} requests`, load.reached(TOTAL));
    const stats = await load.stop();
    stopped = true;
    const recycles = cli.count(/stopped \(max-requests\)/);
    cli.signal("SIGTERM");
    const { code } = await within(40_000, "the CLI to stop", cli.exited);
    assert.equal(code, 0, "TERM exits 0");
    if (stats.failed > 0 && process.env.EVENTWSGI_ZERO_LOSS_DUMP !== undefined)
      writeFileSync(process.env.EVENTWSGI_ZERO_LOSS_DUMP, cli.stderr);
    assert.deepEqual(stats.failures, [], `failed requests: ${stats.failed} of ${stats.ok + stats.failed}`);
    assert.equal(stats.failed, 0);
    assert.ok(recycles >= 2, `at least two --max-requests recycles happened (saw ${recycles})`);
    const lines = readFileSync(accessLog, "utf8").split("\n");
    assert.equal(lines.pop(), "", "the log ends with a whole line");
    const bad = lines.filter((l) => !ACCESS_LINE.test(l));
    assert.deepEqual(bad.slice(0, 3), [], "every access line is whole");
    assert.equal(lines.length, stats.ok, "one access line per request served");
    process.stdout.write(
      `# zero-loss: ${stats.ok} ok, ${stats.failed} failed, ${stats.retried} retried (reused connection closed before any byte), ${recycles} recycles, ${HUPS} HUPs\n`,
    );
  } finally {
    if (!stopped) await load.stop();
    await cli.stop();
  }
});

test("kill -9 of one worker: it is replaced, with a log line, and the service goes on", async () => {
  const { cli, port } = await serveCli(["-w", "2", "--no-access-log", APP]);
  const load = new Load({ port, keepAliveClients: 4, freshClients: 2, perConnection: 40, timeoutMs: 5_000 });
  let stopped = false;
  try {
    await within(60_000, "2000 requests", load.reached(2000));
    const [, pid] = await cli.waitFor(/worker (\d+) serving/, 1000);
    process.kill(Number(pid), "SIGKILL");
    await cli.waitFor(new RegExp(`worker ${pid ?? ""} died \\(signal SIGKILL\\)`), 10_000);
    await cli.waitFor(/starting a replacement[^]*worker \d+ serving/, 20_000);
    const replaced = Date.now();
    await within(60_000, "2000 more requests", load.reached(load.total + 2000));
    const stats = await load.stop();
    stopped = true;
    // A request already on its way to the killed worker may fail (or hang until its timeout);
    // none begun once the replacement serves may.
    assert.equal(load.failedSince(replaced), 0, `failures after the replacement: ${stats.failures.join("; ")}`);
    const failedAtKill = stats.failed;
    process.stdout.write(`# kill -9: ${failedAtKill} failed of ${stats.ok + stats.failed} (allowed there)\n`);
  } finally {
    if (!stopped) await load.stop();
    await cli.stop();
  }
});

test("TERM under load: every request the server took is answered; only new connections are refused", async () => {
  const { cli, port } = await serveCli(["-w", "2", "--no-access-log", APP]);
  const load = new Load({ port, keepAliveClients: 4, freshClients: 2, perConnection: 40, timeoutMs: 10_000 });
  let stopped = false;
  try {
    await within(60_000, "3000 requests", load.reached(3000));
    cli.signal("SIGTERM");
    const { code } = await within(40_000, "the CLI to stop", cli.exited);
    assert.equal(code, 0);
    await load.stop();
    stopped = true;
    // Once the listener is closed, connecting fails (refused, or reset by the kernel for a
    // connection still in its accept queue): those requests never reached the server.
    const allowed = /^new connection: (connect )?(ECONNREFUSED|ECONNRESET)\b/;
    const other = [...load.failureKinds].filter(([kind]) => !allowed.test(kind));
    assert.deepEqual(other, [], "no request the server took failed or hung");
    process.stdout.write(
      `# TERM: ${load.stats.ok} ok; after the stop: ${[...load.failureKinds].map(([k, n]) => `${n} × ${k}`).join(", ") || "none"}\n`,
    );
  } finally {
    if (!stopped) await load.stop();
    await cli.stop();
  }
});
