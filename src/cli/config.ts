/**
 * The resolved configuration, from four sources in order of precedence: the command line,
 * `EVENTWSGI_CMD_ARGS`, the config file (`-c`), the defaults (gunicorn's order). Every value is
 * checked and converted here, whatever its source, so a bad one is one usage error (exit 2).
 */

import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseCommandLine, splitShellWords, type ParsedArgs, type RawSettings } from "./args.js";
import { UsageError } from "./errors.js";
import { DEFAULTS, FLAGS, type CliConfig, type FlagSpec } from "./flags.js";

export interface Invocation {
  config: CliConfig;
  checkConfig: boolean;
  version: boolean;
  help: boolean;
}

const NULLABLE = new Set<keyof CliConfig>(["certfile", "keyfile", "pid"]);
/** Smallest accepted value of each integer setting (0 has a meaning for the others). */
const MINIMUM: Partial<Record<keyof CliConfig, number>> = {
  backlog: 1,
  maxConnections: 1,
  limitRequestLine: 64,
  limitRequestFieldSize: 64,
};

function describe(where: string, spec: FlagSpec): string {
  return where === "" ? `--${spec.name}` : `${where}: ${spec.key}`;
}

function convert(spec: FlagSpec, value: unknown, where: string): unknown {
  const name = describe(where, spec);
  const shown = typeof value === "string" ? JSON.stringify(value) : String(value);
  if (value === null && NULLABLE.has(spec.key)) return null;
  switch (spec.kind) {
    case "boolean":
      if (typeof value !== "boolean") throw new UsageError(`${name} must be true or false, got ${shown}`);
      return value;
    case "string":
      if (typeof value !== "string") throw new UsageError(`${name} must be a string, got ${shown}`);
      return value;
    case "list": {
      const list = typeof value === "string" ? [value] : value;
      if (!Array.isArray(list) || !list.every((v) => typeof v === "string"))
        throw new UsageError(`${name} must be a string or a list of strings, got ${shown}`);
      return list;
    }
    case "int": {
      const n = typeof value === "string" && /^\d+$/.test(value.trim()) ? Number(value) : value;
      const min = MINIMUM[spec.key] ?? 0;
      if (typeof n !== "number" || !Number.isSafeInteger(n) || n < min)
        throw new UsageError(`${name} must be an integer of at least ${min}, got ${shown}`);
      return n;
    }
    case "seconds": {
      const n = typeof value === "string" && /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;
      if (typeof n !== "number" || !Number.isFinite(n) || n < 0 || n > 2 ** 31 / 1000)
        throw new UsageError(`${name} must be a number of seconds (0 or more), got ${shown}`);
      return n;
    }
  }
}

const BY_KEY = new Map<string, FlagSpec>(FLAGS.map((f) => [f.key, f]));

/** Checks one source's raw values, returning them converted. `where` names the source in messages. */
function checkSettings(raw: RawSettings, where: string): Partial<CliConfig> {
  const out: Partial<Record<keyof CliConfig, unknown>> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key === "app") {
      if (typeof value !== "string" || value === "")
        throw new UsageError(`${where === "" ? "MODULE" : `${where}: app`} must be a MODULE[:EXPORT] string`);
      out.app = value;
      continue;
    }
    const spec = BY_KEY.get(key);
    if (spec === undefined) {
      throw new UsageError(
        `${where}: unknown setting "${key}" (settings are the long flags in camelCase, e.g. "gracefulTimeout")`,
      );
    }
    out[spec.key] = convert(spec, value, where);
  }
  // Each value was converted to its setting's type by convert().
  return out as Partial<CliConfig>;
}

/** The settings of a JS (its default export) or JSON config file. */
export async function readConfigFile(file: string): Promise<RawSettings> {
  const path = resolve(file);
  if (!existsSync(path)) throw new UsageError(`config file ${file} does not exist`);
  let value: unknown;
  try {
    if (extname(path) === ".json") value = JSON.parse(readFileSync(path, "utf8"));
    else value = ((await import(pathToFileURL(path).href)) as { default?: unknown }).default;
  } catch (err) {
    throw new UsageError(`config file ${file} cannot be read: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new UsageError(`config file ${file} must hold an object (a JS file: its default export)`);
  }
  return value;
}

function mergeSources(sources: Partial<CliConfig>[], env: NodeJS.ProcessEnv): CliConfig {
  const base: CliConfig = { ...DEFAULTS, bind: [...DEFAULTS.bind], env: [] };
  const fromEnv = env.FORWARDED_ALLOW_IPS;
  if (fromEnv !== undefined && fromEnv !== "") base.forwardedAllowIps = fromEnv;
  const config = Object.assign(base, ...sources) as CliConfig;
  if (config.workers === 0) config.workers = availableParallelism();
  return config;
}

/** Everything the command was told, from argv and the environment. */
export async function resolveInvocation(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<Invocation> {
  const flags = parseCommandLine(argv);
  const cmdArgs: ParsedArgs | null =
    env.EVENTWSGI_CMD_ARGS !== undefined && env.EVENTWSGI_CMD_ARGS.trim() !== ""
      ? parseCommandLine(splitShellWords(env.EVENTWSGI_CMD_ARGS))
      : null;
  const configFile = flags.configFile ?? cmdArgs?.configFile ?? null;
  const fromFile =
    configFile === null ? {} : checkSettings(await readConfigFile(configFile), `config file ${configFile}`);
  const fromCmdArgs = cmdArgs === null ? {} : checkSettings(cmdArgs.settings, "");
  const fromFlags = checkSettings(flags.settings, "");
  const config = mergeSources([fromFile, fromCmdArgs, fromFlags], env);
  return {
    config,
    checkConfig: flags.checkConfig || (cmdArgs?.checkConfig ?? false),
    version: flags.version || (cmdArgs?.version ?? false),
    help: flags.help || (cmdArgs?.help ?? false),
  };
}
