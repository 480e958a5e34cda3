/**
 * docs/from-eventlet.md shows examples/router.ts as its "after": the code in the guide is the code
 * that test/examples runs, so the guide cannot drift from a working program.
 */

import { readFileSync } from "node:fs";
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("../../../", import.meta.url));

test("docs/from-eventlet.md's TypeScript 'after' is examples/router.ts, less its header comment", () => {
  const guide = readFileSync(`${repo}docs/from-eventlet.md`, "utf8");
  const example = readFileSync(`${repo}examples/router.ts`, "utf8");
  const after = guide.indexOf("After, TypeScript with eventwsgi");
  assert.ok(after >= 0, "the guide has its 'After' section");
  const start = guide.indexOf("```ts\n", after) + "```ts\n".length;
  const end = guide.indexOf("```\n", start);
  assert.equal(guide.slice(start, end), example.slice(example.indexOf("import {")));
});
