/**
 * The generated parts of test/hostile/README.md: the corpus tables (from
 * corpus.ts) and the list of disagreements with node:http (from
 * disagreements.ts). readme.test.ts fails when README.md is out of step;
 * `node dist/test/hostile/readme.js` rewrites those parts in place.
 */

import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { SECTIONS, type HostileCase } from "./corpus.js";
import { DISAGREEMENTS } from "./disagreements.js";

/** README.md in the source tree (this file runs from dist/test/hostile/). */
export const README_PATH = fileURLToPath(new URL("../../../test/hostile/README.md", import.meta.url));

const MAX_SHORT_BYTES = 72;

/** One byte as it reads in a table: printable ASCII as itself, the rest escaped. */
function escapeByte(c: string): string {
  if (c === "\r") return "\\r";
  if (c === "\n") return "\\n";
  if (c === "\t") return "\\t";
  if (c === "\\") return "\\\\";
  const code = c.charCodeAt(0);
  // A backtick would end the table cell's code span.
  if (code < 0x20 || code >= 0x7f || c === "`") return `\\x${code.toString(16).padStart(2, "0")}`;
  return c;
}

const escapeText = (s: string): string => Array.from(s, escapeByte).join("");

/** A unit of 1–8 bytes repeated 8 times or more. */
const RUN = /([\s\S]{1,8}?)\1{7,}/g;

/**
 * The bytes, short: escaped, each long run written `[unit×count]`, cut at
 * MAX_SHORT_BYTES characters.
 */
export function shortBytes(bytes: string): string {
  let out = "";
  let last = 0;
  for (const m of bytes.matchAll(RUN)) {
    const unit = m[1] as string;
    out += `${escapeText(bytes.slice(last, m.index))}[${escapeText(unit)}×${m[0].length / unit.length}]`;
    last = m.index + m[0].length;
  }
  out += escapeText(bytes.slice(last));
  return out.length > MAX_SHORT_BYTES ? `${out.slice(0, MAX_SHORT_BYTES)}…` : out;
}

/** Inside a table cell: pipes escaped (GFM reads `\|` as a pipe, even in code spans). */
const cell = (s: string): string => s.replace(/\|/g, "\\|");

const code = (s: string): string => `\`${cell(s)}\``;

/** "400 Header Line Too Long; closed", "200 `GET /a 0:` → 400; closed", "200 `GET / 0:`; kept alive". */
export function outcome(c: HostileCase): string {
  const parts = c.responses.map((r, i) => {
    if (typeof r === "string") return `200 ${code(shortBytes(r))}`;
    const isLast = i === c.responses.length - 1;
    return isLast && c.reason !== undefined ? `${r} ${c.reason}` : String(r);
  });
  const options =
    c.options === undefined
      ? ""
      : ` (with ${Object.entries(c.options)
          .map(([k, v]) => `${k}: ${String(v)}`)
          .join(", ")})`;
  const shown =
    parts.length > 5 ? [parts[0], parts[1], "…", parts[parts.length - 1], `(${parts.length} responses)`] : parts;
  return `${shown.join(" → ").replace(" → (", " (")}; ${c.closed ? "closed" : "kept alive"}${options}`;
}

export function renderCorpus(): string {
  const out: string[] = [];
  for (const section of SECTIONS) {
    out.push(`### ${section.title[0]?.toUpperCase() ?? ""}${section.title.slice(1)}`, "");
    out.push("| case | bytes (short) | required outcome | source |", "| --- | --- | --- | --- |");
    for (const c of section.cases) {
      out.push(`| ${code(c.name)} | ${code(shortBytes(c.bytes))} | ${outcome(c)} | ${cell(c.source)} |`);
    }
    out.push("");
  }
  return out.join("\n");
}

export function renderDisagreements(): string {
  const out: string[] = [];
  for (const d of DISAGREEMENTS) {
    const direction = d.weReject ? "eventwsgi is stricter" : "eventwsgi is more lenient";
    out.push(`#### ${d.id} — ${direction}`, "");
    const shown: string[] = [];
    if (d.cases.length > 0) shown.push(`corpus cases ${d.cases.map(code).join(", ")}`);
    if (d.oddities.length > 0) shown.push(`oddities ${d.oddities.map(code).join(", ")}`);
    if (shown.length > 0) out.push(`Shown by ${shown.join("; ")}.`, "");
    out.push(d.decision, "");
  }
  return out.join("\n");
}

const BLOCKS: [name: string, render: () => string][] = [
  ["corpus", renderCorpus],
  ["disagreements", renderDisagreements],
];

const begin = (name: string): string => `<!-- generated:${name} (node dist/test/hostile/readme.js) -->`;
const end = (name: string): string => `<!-- end:${name} -->`;

/** `text` with each generated block replaced by what the code says now. */
export function regenerate(text: string): string {
  let out = text;
  for (const [name, render] of BLOCKS) {
    const from = out.indexOf(begin(name));
    const to = out.indexOf(end(name));
    if (from === -1 || to === -1 || to < from) throw new Error(`README.md has no block ${begin(name)} … ${end(name)}`);
    out = `${out.slice(0, from + begin(name).length)}\n\n${render()}\n${out.slice(to)}`;
  }
  return out;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const before = readFileSync(README_PATH, "utf8");
  const after = regenerate(before);
  if (after !== before) writeFileSync(README_PATH, after);
  console.log(after === before ? "README.md is up to date" : "README.md rewritten");
}
