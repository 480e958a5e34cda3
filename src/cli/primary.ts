/**
 * The primary process: resolves the settings, checks the app and the certificate, binds every
 * address, then supervises the workers and turns signals into actions. Every failure before
 * serving is one line on stderr and an exit code (errors.ts); the banner comes only once every
 * address is bound.
 *
 * Workers share the listeners through node:cluster's round-robin: the primary's listening socket
 * accepts and hands each connection to one worker in turn. (Node 20 has no SO_REUSEPORT, which
 * would let each worker accept on its own socket; round-robin is also what spreads connections
 * evenly, where a shared accept queue lets one busy worker take most of them.)
 */

import cluster from "node:cluster";
import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createServerContext } from "../server/tls.js";
import { describeBind, parseBind, probeBinds, type BindTarget } from "./bind.js";
import { resolveInvocation } from "./config.js";
import { StartupError, UsageError } from "./errors.js";
import type { CliConfig } from "./flags.js";
import { checkConfigText, helpText } from "./help.js";
import { loadApp, parseAppSpec } from "./load-app.js";
import { LogSink } from "./log-sink.js";
import { removePidFile, writePidFile } from "./pidfile.js";
import { watchForReload } from "./reload-watch.js";
import { checkServerOptions } from "./server-options.js";
import { Supervisor, type SupervisorLogs } from "./supervisor.js";
import { packageVersion } from "./version.js";

function checkEnvPairs(pairs: readonly string[]): void {
  for (const pair of pairs) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(pair))
      throw new UsageError(`--env ${JSON.stringify(pair)}: expected KEY=VALUE`);
  }
}

function checkWritable(path: string, what: string): void {
  if (path === "-") return;
  try {
    closeSync(openSync(path, "a"));
  } catch (err) {
    throw new StartupError(`cannot open the ${what} ${path}: ${(err as Error).message}`);
  }
}

function checkTls(config: CliConfig): void {
  if (config.certfile === null) {
    if (config.keyfile !== null) throw new UsageError("--keyfile needs --certfile");
    return;
  }
  const ssl = {
    certfile: config.certfile,
    serverSide: true,
    ...(config.keyfile !== null ? { keyfile: config.keyfile } : {}),
  };
  try {
    createServerContext(ssl, "TLS");
  } catch (err) {
    throw new StartupError((err as Error).message);
  }
}

function makeLogs(config: CliConfig): SupervisorLogs {
  checkWritable(config.accessLogfile, "access log");
  checkWritable(config.errorLogfile, "error log");
  const access = new LogSink(config.accessLogfile, process.stdout);
  const error = new LogSink(config.errorLogfile, process.stderr);
  return {
    access,
    error,
    say(level, message) {
      error.write(`[${new Date().toISOString()}] [${process.pid}] [${level}] ${message}\n`);
    },
  };
}

/** Everything that can fail before serving, in order; throws UsageError or StartupError. */
async function prepare(config: CliConfig): Promise<BindTarget[]> {
  const targets = config.bind.map(parseBind);
  checkEnvPairs(config.env);
  const spec = parseAppSpec(config.app);
  checkServerOptions(config);
  checkTls(config);
  if (config.reload) spec.module = resolve(spec.module);
  await loadApp(spec, config.fetch);
  return probeBinds(targets, config.backlog);
}

/** Runs the command; resolves with the process's exit code. */
export async function runCommand(argv: readonly string[]): Promise<number> {
  const version = packageVersion();
  const inv = await resolveInvocation(argv, process.env);
  if (inv.help) {
    process.stdout.write(helpText(version));
    return 0;
  }
  if (inv.version) {
    process.stdout.write(`eventwsgi ${version} (Node ${process.version})\n`);
    return 0;
  }
  const config = inv.config;
  if (inv.checkConfig) {
    config.bind.map(parseBind);
    checkEnvPairs(config.env);
    await loadApp(parseAppSpec(config.app), config.fetch);
    process.stdout.write(checkConfigText(config));
    return 0;
  }
  const binds = await prepare(config);
  const logs = makeLogs(config);
  if (config.pid !== null) writePidFile(config.pid);
  const where = binds.map((b) => describeBind(b, config.certfile !== null)).join(", ");
  logs.say("INFO", `eventwsgi ${version} listening on ${where} with ${config.workers} worker(s)`);
  return serve(config, binds, logs);
}

async function serve(config: CliConfig, binds: BindTarget[], logs: SupervisorLogs): Promise<number> {
  const here = dirname(fileURLToPath(import.meta.url));
  cluster.schedulingPolicy = cluster.SCHED_RR;
  cluster.setupPrimary({ exec: join(here, "worker.js"), args: [], silent: true });
  const stackDir = config.timeout > 0 ? mkdtempSync(join(tmpdir(), "eventwsgi-")) : null;
  const supervisor = new Supervisor(config, binds, logs, stackDir);
  let stopSignals = 0;
  const stop = (signal: string): void => {
    stopSignals++;
    logs.say("INFO", stopSignals === 1 ? `${signal}: stopping gracefully` : `${signal} again: stopping now`);
    void supervisor.shutdown(stopSignals > 1);
  };
  process.on("SIGTERM", () => {
    stop("TERM");
  });
  process.on("SIGINT", () => {
    stop("INT");
  });
  process.on("SIGHUP", () => {
    supervisor.rollingRestart("HUP");
  });
  process.on("SIGTTIN", () => {
    supervisor.addWorker();
  });
  process.on("SIGTTOU", () => {
    supervisor.removeWorker();
  });
  process.on("SIGUSR1", () => {
    logs.access.reopen();
    logs.error.reopen();
    logs.say("INFO", "USR1: log files reopened");
  });
  const stopWatching = config.reload
    ? watchForReload(dirname(resolve(parseAppSpec(config.app).module)), (file) => {
        supervisor.rollingRestart(`${file} changed`);
      })
    : null;
  supervisor.start();
  await supervisor.stopped;
  stopWatching?.();
  logs.say("INFO", "stopped");
  if (config.pid !== null) removePidFile(config.pid);
  if (stackDir !== null) rmSync(stackDir, { recursive: true, force: true });
  await Promise.all([logs.access.close(), logs.error.close()]);
  return 0;
}
