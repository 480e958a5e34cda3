/**
 * The command's two kinds of failure, each with its exit code: a usage error (a bad flag or
 * value, exit 2) and a failure to serve (the app does not load, a port is in use, exit 1). Either
 * is printed as exactly one line on stderr, never with a stack trace.
 */

export class UsageError extends Error {
  readonly code = "EVENTWSGI_USAGE";
  readonly exitCode = 2;
}

export class StartupError extends Error {
  readonly code = "EVENTWSGI_STARTUP";
  readonly exitCode = 1;
}

/** The one line a failure prints: "eventwsgi: error: …" with any newline folded away. */
export function failureLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return `eventwsgi: error: ${message.replace(/\s*\n\s*/g, " ")}\n`;
}

/** The exit code for an error thrown before serving began: 2 for usage, 1 for anything else. */
export function exitCodeOf(err: unknown): number {
  return err instanceof UsageError ? 2 : 1;
}
