/**
 * `--reload`: watches the app's directory tree (not node_modules, not hidden directories) and
 * calls back once a burst of changes to script or JSON files settles. For development: the
 * callback is a rolling restart, so a change with a syntax error leaves the old workers serving.
 */

import { readdirSync, watch, type FSWatcher } from "node:fs";
import { extname, join } from "node:path";

const WATCHED = new Set([".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".json"]);
const SETTLE_MS = 200;
/** Directories watched at most: a tree bigger than this is a mistake (a home directory). */
const MAX_DIRS = 2000;

function directories(root: string): string[] {
  const out = [root];
  for (let i = 0; i < out.length && out.length < MAX_DIRS; i++) {
    const dir = out[i] as string;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (e.isDirectory() && !e.name.startsWith(".") && e.name !== "node_modules") out.push(join(dir, e.name));
    }
  }
  return out.slice(0, MAX_DIRS);
}

export function watchForReload(root: string, onChange: (file: string) => void): () => void {
  let timer: NodeJS.Timeout | null = null;
  let changed = "";
  const watchers: FSWatcher[] = [];
  for (const dir of directories(root)) {
    try {
      const w = watch(dir, (_event, name) => {
        if (name === null || !WATCHED.has(extname(name))) return;
        changed = join(dir, name);
        if (timer !== null) clearTimeout(timer);
        timer = setTimeout(() => {
          timer = null;
          onChange(changed);
        }, SETTLE_MS);
      });
      w.on("error", () => {});
      watchers.push(w);
    } catch {
      // A directory that vanished while walking.
    }
  }
  return () => {
    if (timer !== null) clearTimeout(timer);
    for (const w of watchers) w.close();
  };
}
