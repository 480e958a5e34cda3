/** `--help` (every flag with its default) and `--check-config` (the resolved settings). */

import { ACTIONS, DEFAULTS, FLAGS, type CliConfig, type FlagSpec } from "./flags.js";

function shownDefault(spec: FlagSpec): string {
  const value = DEFAULTS[spec.key];
  if (spec.key === "workers") return "1";
  if (spec.key === "forwardedAllowIps") return `${String(value)} (or FORWARDED_ALLOW_IPS)`;
  if (spec.key === "accessLogfile") return "- (stdout)";
  if (spec.key === "errorLogfile") return "- (stderr)";
  if (spec.kind === "boolean") return value === true ? "on" : "off";
  if (value === null || (Array.isArray(value) && value.length === 0)) return "none";
  if (Array.isArray(value)) return value.join(", ");
  return spec.kind === "seconds" ? `${String(value)} s` : String(value);
}

function flagColumn(name: string, short: string | undefined, meta: string | undefined): string {
  return `${short !== undefined ? `-${short}, ` : "    "}--${name}${meta !== undefined ? ` ${meta}` : ""}`;
}

export function helpText(version: string): string {
  const rows: [string, string][] = FLAGS.map((f) => [
    flagColumn(f.name, f.short, f.meta),
    `${f.help} [default: ${shownDefault(f)}]`,
  ]);
  for (const a of ACTIONS)
    rows.push([flagColumn(a.name, "short" in a ? a.short : undefined, "meta" in a ? a.meta : undefined), a.help]);
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  const lines = rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`);
  return [
    `eventwsgi ${version}: serve a WSGI (or fetch-style) app with a primary and worker processes`,
    "",
    "usage: eventwsgi [options] MODULE[:EXPORT]",
    "",
    "MODULE is an ES module file; EXPORT defaults to `default`, then `app`.",
    "Settings come from the flags, then EVENTWSGI_CMD_ARGS, then the config file (-c), then the defaults.",
    "",
    "options:",
    ...lines,
    "",
    "signals to the primary: TERM/INT stop gracefully (a second one forces), HUP rolling restart,",
    "TTIN/TTOU add/remove a worker, USR1 reopens the log files.",
    "exit codes: 0 after a stop, 1 when serving failed, 2 for a usage error.",
    "",
  ].join("\n");
}

export function checkConfigText(config: CliConfig): string {
  return `${JSON.stringify(config, null, 2)}\n`;
}
