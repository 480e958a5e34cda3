/**
 * `MODULE[:EXPORT]` → the App to serve. EXPORT defaults to `default`, then `app`. A function is a
 * WSGI app (a fetch handler with `--fetch`); an object with a `fetch` method is a fetch-style app
 * (Hono, Cloudflare and Bun modules), served through the fetch adapter. Every way this can fail
 * is a StartupError with one line saying what to do.
 */

import { existsSync } from "node:fs";
import { extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { App } from "../gateway/types.js";
import { StartupError, UsageError } from "./errors.js";

export interface AppSpec {
  module: string;
  /** null: `default`, then `app`. */
  exportName: string | null;
}

export function parseAppSpec(text: string): AppSpec {
  if (text === "") throw new UsageError("no MODULE[:EXPORT] given (see --help)");
  const m = /^(.+?)(?::([A-Za-z_$][\w$]*))?$/.exec(text);
  if (m?.[1] === undefined) throw new UsageError(`MODULE[:EXPORT] expected, got ${JSON.stringify(text)}`);
  return { module: m[1], exportName: m[2] ?? null };
}

const TS_EXTENSIONS = new Set([".ts", ".mts", ".cts"]);

/** True when this Node runs .ts files itself (22.6+ with --experimental-strip-types, 23.6+ by default). */
function canStripTypes(): boolean {
  const features = process.features as { typescript?: unknown };
  return features.typescript === "strip" || features.typescript === "transform";
}

async function importModule(module: string): Promise<Record<string, unknown>> {
  const path = resolve(module);
  if (!existsSync(path)) throw new StartupError(`cannot find the app module ${module} (no file ${path})`);
  if (TS_EXTENSIONS.has(extname(path)) && !canStripTypes()) {
    throw new StartupError(
      `cannot load ${module}: Node ${process.version} does not run TypeScript; compile it first (tsc) and give the .js file, ` +
        "or use Node >= 22.6 with --experimental-strip-types (23.6+ strips types by default)",
    );
  }
  try {
    return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    const e = err as Error;
    const where = e instanceof SyntaxError ? ` (${firstFrame(e)})` : "";
    throw new StartupError(`cannot load ${module}: ${e.name}: ${e.message}${where}`);
  }
}

/** "file:///app.js:3" from a SyntaxError's stack, where Node puts the place of the error. */
function firstFrame(err: Error): string {
  const line = (err.stack ?? "").split("\n")[0] ?? "";
  return /^file:|^\//.test(line) ? line : "see the module";
}

function pickExport(mod: Record<string, unknown>, spec: AppSpec): [string, unknown] {
  const names = spec.exportName !== null ? [spec.exportName] : ["default", "app"];
  for (const name of names) {
    if (mod[name] !== undefined) return [name, mod[name]];
  }
  const wanted = spec.exportName !== null ? `no export "${spec.exportName}"` : `neither a default nor an "app" export`;
  throw new StartupError(`${spec.module} has ${wanted}`);
}

type FetchHandler = (...args: unknown[]) => unknown;

/** The fetch adapter's fetchApp (a root export once the adapter is built in), loaded only when a fetch-style app is served. */
async function loadFetchApp(): Promise<(handler: FetchHandler) => App> {
  const root = (await import("../index.js")) as { fetchApp?: (handler: FetchHandler) => App };
  if (typeof root.fetchApp === "function") return root.fetchApp;
  throw new StartupError(
    "fetch-style apps need the fetch adapter (fetchApp), which this build of eventwsgi does not have yet",
  );
}

/** Loads the module and returns the WSGI App it serves (a fetch-style app wrapped by fetchApp). */
export async function loadApp(spec: AppSpec, fetchFlag: boolean): Promise<App> {
  const mod = await importModule(spec.module);
  const [name, value] = pickExport(mod, spec);
  if (typeof value === "function" && !fetchFlag) return value as App;
  if (typeof value === "function") {
    const handler = value as FetchHandler;
    return (await loadFetchApp())(handler);
  }
  const fetchMethod = (value as { fetch?: unknown } | null)?.fetch;
  if (typeof fetchMethod === "function") {
    const target = value as object;
    const handler: FetchHandler = (...args) => (fetchMethod as FetchHandler).apply(target, args);
    return (await loadFetchApp())(handler);
  }
  throw new StartupError(
    `${spec.module}: export "${name}" is not an app: a WSGI app is a function, a fetch-style app an object with a fetch method (got ${value === null ? "null" : typeof value})`,
  );
}
