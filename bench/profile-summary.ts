/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): where the time
 * went, by category (eventwsgi's own code, Node's internals, GC, native,
 * idle), by eventwsgi source file, and the functions with the most self
 * time — and the most total time among eventwsgi's own functions.
 *
 *   node dist/bench/profile-summary.js FILE.cpuprofile [--top 25]
 *
 * Paths under dist/src/*.js are shown as the src/*.ts they come from; line
 * numbers are those of the compiled JavaScript (1-based).
 */

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

type Category = "eventwsgi" | "node internals" | "bench app/harness" | "GC" | "native (program)" | "idle" | "other";

function categoryOf(frame: CallFrame): Category {
  const { url, functionName } = frame;
  if (functionName === "(idle)") return "idle";
  if (functionName === "(garbage collector)") return "GC";
  if (functionName === "(program)" || functionName === "(root)") return "native (program)";
  if (url.includes("/dist/src/")) return "eventwsgi";
  if (url.includes("/dist/bench/")) return "bench app/harness";
  if (url.startsWith("node:") || url === "") return "node internals";
  return "other";
}

/** dist/src/server/connection.js → src/server/connection.ts; node:net stays. */
function shortUrl(url: string): string {
  const m = /\/dist\/((?:src|bench)\/.*)\.js$/.exec(url);
  if (m !== null) return `${m[1]}.ts`;
  return url.replace(/^file:\/\//, "");
}

function frameKey(frame: CallFrame): string {
  return `${frame.functionName || "(anonymous)"}\u0000${frame.url}\u0000${frame.lineNumber}`;
}

function frameLabel(frame: CallFrame): string {
  const name = frame.functionName || "(anonymous)";
  if (frame.url === "") return name;
  return `${name}  ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
}

export interface Summary {
  totalUs: number;
  busyUs: number;
  byCategory: Map<Category, number>;
  byFile: Map<string, number>;
  selfByFunction: Map<string, { label: string; category: Category; us: number }>;
  totalByFunction: Map<string, { label: string; us: number }>;
}

export function analyse(profile: CpuProfile): Summary {
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  // Self time per node: sample i lasts until sample i+1 (timeDeltas[i+1]).
  const selfUs = new Map<number, number>();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    const dt = i + 1 < timeDeltas.length ? (timeDeltas[i + 1] as number) : 0;
    const id = samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt));
  }
  const s: Summary = {
    totalUs: 0,
    busyUs: 0,
    byCategory: new Map(),
    byFile: new Map(),
    selfByFunction: new Map(),
    totalByFunction: new Map(),
  };
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0) continue;
    const cat = categoryOf(node.callFrame);
    s.totalUs += us;
    if (cat !== "idle") s.busyUs += us;
    s.byCategory.set(cat, (s.byCategory.get(cat) ?? 0) + us);
    if (cat === "eventwsgi") {
      const file = shortUrl(node.callFrame.url);
      s.byFile.set(file, (s.byFile.get(file) ?? 0) + us);
    }
    const key = frameKey(node.callFrame);
    const entry = s.selfByFunction.get(key) ?? { label: frameLabel(node.callFrame), category: cat, us: 0 };
    entry.us += us;
    s.selfByFunction.set(key, entry);
  }
  // Total (inclusive) time of eventwsgi's functions: a function counts once per stack, however deep it recurses.
  const root = profile.nodes[0];
  if (root !== undefined) {
    const onStack = new Map<string, number>();
    const visit = (node: ProfileNode): number => {
      const key = frameKey(node.callFrame);
      const own = categoryOf(node.callFrame) === "eventwsgi";
      if (own) onStack.set(key, (onStack.get(key) ?? 0) + 1);
      let total = selfUs.get(node.id) ?? 0;
      for (const child of node.children ?? []) {
        const c = byId.get(child);
        if (c !== undefined) total += visit(c);
      }
      if (own) {
        const depth = onStack.get(key) as number;
        if (depth === 1) {
          const entry = s.totalByFunction.get(key) ?? { label: frameLabel(node.callFrame), us: 0 };
          entry.us += total;
          s.totalByFunction.set(key, entry);
        }
        onStack.set(key, depth - 1);
      }
      return total;
    };
    visit(root);
  }
  return s;
}

const pct = (us: number, of: number): string => (of === 0 ? "0.0%" : `${((us / of) * 100).toFixed(1)}%`);
const msText = (us: number): string => `${(us / 1000).toFixed(0)} ms`;

function sortedEntries<T extends { us: number }>(m: Map<string, T>): T[] {
  return [...m.values()].sort((a, b) => b.us - a.us);
}

export function formatSummary(s: Summary, top = 25, title = "profile"): string {
  const lines: string[] = [];
  lines.push(
    `${title}: ${msText(s.totalUs)} sampled, ${msText(s.busyUs)} busy (not idle); percentages are of busy time`,
  );
  lines.push("", "by category:");
  for (const [cat, us] of [...s.byCategory].sort((a, b) => b[1] - a[1])) {
    if (cat === "idle")
      lines.push(`  ${cat.padEnd(20)} ${msText(us).padStart(9)}  (${pct(us, s.totalUs)} of all samples)`);
    else lines.push(`  ${cat.padEnd(20)} ${msText(us).padStart(9)}  ${pct(us, s.busyUs).padStart(6)}`);
  }
  lines.push("", "eventwsgi self time by file:");
  for (const [file, us] of [...s.byFile].sort((a, b) => b[1] - a[1])) {
    lines.push(`  ${file.padEnd(36)} ${msText(us).padStart(9)}  ${pct(us, s.busyUs).padStart(6)}`);
  }
  lines.push("", `top ${top} functions by self time:`);
  for (const f of sortedEntries(s.selfByFunction)
    .filter((f) => f.category !== "idle")
    .slice(0, top)) {
    lines.push(`  ${pct(f.us, s.busyUs).padStart(6)}  ${msText(f.us).padStart(8)}  [${f.category}] ${f.label}`);
  }
  lines.push("", `top ${Math.min(top, 15)} eventwsgi functions by total time (self + callees):`);
  for (const f of sortedEntries(s.totalByFunction).slice(0, Math.min(top, 15))) {
    lines.push(`  ${pct(f.us, s.busyUs).padStart(6)}  ${msText(f.us).padStart(8)}  ${f.label}`);
  }
  return lines.join("\n");
}

export function summarizeFile(path: string, top = 25): string {
  const profile = JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
  return formatSummary(analyse(profile), top, path);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const topAt = args.indexOf("--top");
  const top = topAt === -1 ? 25 : Number(args[topAt + 1]);
  const files = args.filter((_, i) => topAt === -1 || (i !== topAt && i !== topAt + 1));
  if (files.length === 0) {
    process.stderr.write("usage: node dist/bench/profile-summary.js FILE.cpuprofile [--top N]\n");
    process.exit(2);
  }
  for (const file of files) process.stdout.write(`${summarizeFile(file, top)}\n\n`);
}
