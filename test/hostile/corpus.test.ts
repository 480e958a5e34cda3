/**
 * The hostile-request corpus (corpus.ts) over real sockets: each case's
 * bytes go to an echo server on 127.0.0.1, and exactly the listed responses
 * must come back — then the close, or (for kept-alive connections) nothing
 * more once we half-close.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { ServerOptions } from "../../src/index.js";
import { header, withServer } from "../support/wire.js";
import { CORPUS, type HostileCase } from "./corpus.js";
import { echo, exchange } from "./echo.js";

test("the corpus: 100+ cases, unique names, each with a source", () => {
  assert.ok(CORPUS.length >= 100, `only ${CORPUS.length} cases`);
  const names = new Set<string>();
  for (const c of CORPUS) {
    assert.ok(!names.has(c.name), `duplicate case ${c.name}`);
    names.add(c.name);
    assert.match(c.name, /^[a-z0-9-]+$/, c.name);
    assert.ok(c.source.length > 0, `${c.name}: no source`);
    assert.ok(c.responses.length > 0, `${c.name}: no responses`);
  }
});

export async function checkCase(port: number, c: HostileCase): Promise<void> {
  const r = await exchange(port, Buffer.from(c.bytes, "latin1"), {
    halfCloseAfter: c.closed ? undefined : c.responses.length,
    noBodies: c.noBodies === true,
  });
  const got = r.responses.map((res) =>
    res.status === 200 && c.noBodies !== true ? res.body.toString("latin1") : res.status,
  );
  const show = (v: (string | number)[]): string =>
    JSON.stringify(v.map((x) => (typeof x === "string" && x.length > 60 ? `${x.slice(0, 60)}…` : x)));
  assert.equal(r.timedOut, false, `${c.name}: neither answered nor closed in time; got ${show(got)}`);
  assert.equal(show(got), show(c.responses), `${c.name}: responses`);
  assert.deepEqual(got, c.responses, `${c.name}: responses`);
  assert.equal(
    r.rest.length,
    0,
    `${c.name}: unexpected bytes after the responses: ${JSON.stringify(r.rest.toString("latin1").slice(0, 80))}`,
  );
  assert.equal(
    r.closedByServer,
    c.closed,
    `${c.name}: the server ${c.closed ? "did not close" : "closed"} the connection`,
  );
  const last = r.responses[r.responses.length - 1];
  if (last !== undefined) {
    if (last.status >= 400)
      assert.equal(header(last, "connection")?.toLowerCase(), "close", `${c.name}: an error response closes`);
    if (!c.closed) assert.notEqual(header(last, "connection")?.toLowerCase(), "close", `${c.name}: kept alive`);
    if (c.reason !== undefined) assert.equal(last.statusLine.slice(13), c.reason, `${c.name}: reason phrase`);
  }
}

/** Cases grouped by server options, one server per group. */
function groups(): Map<string, { options: ServerOptions; cases: HostileCase[] }> {
  const byOptions = new Map<string, { options: ServerOptions; cases: HostileCase[] }>();
  for (const c of CORPUS) {
    const key = JSON.stringify(c.options ?? {});
    const g = byOptions.get(key) ?? { options: c.options ?? {}, cases: [] };
    g.cases.push(c);
    byOptions.set(key, g);
  }
  return byOptions;
}

for (const [key, g] of groups()) {
  test(`hostile requests, options ${key}`, async (t) => {
    await withServer(echo, { ...g.options, logOutput: false }, async (s) => {
      for (const c of g.cases) {
        await t.test(c.name, () => checkCase(s.port, c));
      }
    });
  });
}
