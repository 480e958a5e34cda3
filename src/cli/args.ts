/**
 * argv → settings: the command line (and `EVENTWSGI_CMD_ARGS`, split as a shell would) parsed
 * with node:util's parseArgs against the flag table. Values stay raw strings here; config.ts
 * checks and converts them, so a config file and a flag go through the same checks.
 */

import { parseArgs } from "node:util";
import { ACTIONS, FLAGS, type CliConfig } from "./flags.js";
import { UsageError } from "./errors.js";

/** One source of settings: raw values by config key, as given. */
export type RawSettings = Partial<Record<keyof CliConfig, unknown>>;

export interface ParsedArgs {
  settings: RawSettings;
  configFile: string | null;
  checkConfig: boolean;
  version: boolean;
  help: boolean;
}

type OptionSpec = { type: "string" | "boolean"; short?: string; multiple?: boolean };

function optionTable(): Record<string, OptionSpec> {
  const table: Record<string, OptionSpec> = {};
  for (const f of FLAGS) {
    const spec: OptionSpec = { type: f.kind === "boolean" ? "boolean" : "string" };
    if (f.short !== undefined) spec.short = f.short;
    if (f.kind === "list") spec.multiple = true;
    table[f.name] = spec;
  }
  for (const a of ACTIONS) {
    const spec: OptionSpec = { type: a.name === "config" ? "string" : "boolean" };
    if ("short" in a) spec.short = a.short;
    table[a.name] = spec;
  }
  return table;
}

/** parseArgs's messages, made to read as one line about the flag. */
function usageMessage(err: Error & { code?: string }): string {
  const first = err.message.split("\n")[0] ?? err.message;
  if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return `${first.replace(/\. To specify.*$/, "")} (see --help)`;
  return first;
}

export function parseCommandLine(argv: readonly string[]): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: optionTable(), allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(usageMessage(err as Error & { code?: string }));
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const settings: RawSettings = {};
  for (const f of FLAGS) {
    const v = values[f.name];
    if (v !== undefined) settings[f.key] = v;
  }
  if (parsed.positionals.length > 1) {
    throw new UsageError(
      `one MODULE[:EXPORT] expected, got ${parsed.positionals.length}: ${parsed.positionals.join(" ")}`,
    );
  }
  if (parsed.positionals[0] !== undefined) settings.app = parsed.positionals[0];
  const configFile = values.config;
  return {
    settings,
    configFile: typeof configFile === "string" ? configFile : null,
    checkConfig: values["check-config"] === true,
    version: values.version === true,
    help: values.help === true,
  };
}

/** Splits `EVENTWSGI_CMD_ARGS` into words as a POSIX shell would: whitespace, quotes, backslashes. */
export function splitShellWords(text: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (quote === "'") {
      if (c === "'") quote = null;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === "\\" && i + 1 < text.length && '"\\$`'.includes(text.charAt(i + 1))) word += text.charAt(++i);
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < text.length) {
      word += text.charAt(++i);
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote !== null) throw new UsageError(`EVENTWSGI_CMD_ARGS: unterminated ${quote} quote`);
  if (inWord) words.push(word);
  return words;
}
