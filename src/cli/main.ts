#!/usr/bin/env node
/** The `eventwsgi` command (package.json `bin`): argv → the primary; failures → one line and an exit code. */

import { exitCodeOf, failureLine } from "./errors.js";
import { runCommand } from "./primary.js";

try {
  process.exitCode = await runCommand(process.argv.slice(2));
} catch (err) {
  process.stderr.write(failureLine(err));
  process.exitCode = exitCodeOf(err);
}
// Handles the command no longer needs (a loaded app's timers) must not keep it running.
process.exit(process.exitCode);
