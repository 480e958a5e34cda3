/**
 * README.md's tables are generated from corpus.ts and disagreements.ts
 * (readme.ts); this fails when someone edited one side only. The fix:
 * `npm run build && node dist/test/hostile/readme.js`.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { CORPUS } from "./corpus.js";
import { README_PATH, regenerate, shortBytes } from "./readme.js";

test("README.md's corpus tables and disagreements are those the code generates", () => {
  const readme = readFileSync(README_PATH, "utf8");
  assert.ok(
    regenerate(readme) === readme,
    "test/hostile/README.md is out of step: run `npm run build && node dist/test/hostile/readme.js`",
  );
  for (const c of CORPUS) assert.ok(readme.includes(`| \`${c.name}\` |`), `README.md has no row for ${c.name}`);
});

test("bytes are shown escaped, with long runs counted and long cases cut", () => {
  assert.equal(shortBytes("GET / HTTP/1.1\r\n\r\n"), "GET / HTTP/1.1\\r\\n\\r\\n");
  assert.equal(shortBytes(`GET /${"a".repeat(8192)} HTTP/1.1`), "GET /[a×8192] HTTP/1.1");
  assert.equal(shortBytes("\r\n".repeat(4096)), "[\\r\\n×4096]");
  assert.equal(shortBytes("A\x00B\x7f\xe9`"), "A\\x00B\\x7f\\xe9\\x60");
  const long = shortBytes(Array.from({ length: 100 }, (_, i) => String.fromCharCode(0x41 + (i % 26))).join(""));
  assert.ok(long.endsWith("…") && long.length === 73, long);
});
