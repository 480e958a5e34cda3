/**
 * The primary's workers: how many should serve, starting and replacing them, the heartbeat, and
 * the one mechanism behind every replacement — HUP, --reload, --max-requests, --timeout, a
 * crash. A worker to be replaced is marked `retiring` and keeps serving; the supervisor starts
 * workers until enough non-retiring ones exist, and each new worker that starts serving lets one
 * retiring worker stop (worker.ts says how a stop loses no connection). A replacement that fails
 * to start leaves the old workers serving and is retried with backoff.
 */

import cluster, { type Worker } from "node:cluster";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { BindTarget } from "./bind.js";
import type { CliConfig } from "./flags.js";
import { forwardLines, type LogSink } from "./log-sink.js";
import { isMessage, WORKER_SETTINGS_ENV, type ToPrimary, type ToWorker, type WorkerSettings } from "./messages.js";

/** A worker that dies this soon after it started counts as a failed start (backoff grows). */
const QUICK_DEATH_MS = 2000;
const BACKOFF_FIRST_MS = 100;
const BACKOFF_MAX_MS = 10_000;
/** Milliseconds past --graceful-timeout before a stopping worker is killed. */
const KILL_GRACE_MS = 5000;

interface Member {
  readonly worker: Worker;
  readonly startedAt: number;
  readonly stackFile: string | null;
  lastBeat: number;
  state: "starting" | "serving" | "stopping";
  /** To be replaced: stops once a new worker serves. */
  retiring: boolean;
  /** Why it was stopped or killed, for its exit line. */
  why: string | null;
  /** The one line a worker sends when it cannot start. */
  failure: string | null;
  killTimer: NodeJS.Timeout | null;
}

export interface SupervisorLogs {
  access: LogSink;
  error: LogSink;
  /** A line of the primary's own, to the error log. */
  say(level: "INFO" | "ERROR", message: string): void;
}

export class Supervisor {
  /** Workers that should be serving (TTIN/TTOU change it). */
  target: number;
  private readonly config: CliConfig;
  private readonly binds: BindTarget[];
  private readonly logs: SupervisorLogs;
  private readonly stackDir: string | null;
  private readonly members = new Map<number, Member>();
  private shuttingDown = false;
  private quickDeaths = 0;
  private respawnTimer: NodeJS.Timeout | null = null;
  private readonly beatTimer: NodeJS.Timeout | null = null;
  private spawned = 0;
  private announcedReady = false;
  private resolveStopped!: () => void;
  /** Resolves once shutdown() has stopped every worker. */
  readonly stopped: Promise<void>;

  constructor(config: CliConfig, binds: BindTarget[], logs: SupervisorLogs, stackDir: string | null) {
    this.config = config;
    this.binds = binds;
    this.logs = logs;
    this.stackDir = stackDir;
    this.target = config.workers;
    this.stopped = new Promise((resolve) => {
      this.resolveStopped = resolve;
    });
    if (config.timeout > 0) {
      this.beatTimer = setInterval(() => {
        this.checkHeartbeats();
      }, this.beatMs());
    }
  }

  start(): void {
    this.maintain();
  }

  /** HUP and --reload: every worker is replaced, each new one serving before an old one stops. */
  rollingRestart(why: string): void {
    if (this.shuttingDown) return;
    this.logs.say("INFO", `rolling restart (${why}): starting ${this.target} new worker(s)`);
    for (const m of this.members.values()) this.retire(m, why);
    this.maintain();
  }

  /** TTIN. */
  addWorker(): void {
    this.target++;
    this.logs.say("INFO", `TTIN: ${this.target} worker(s)`);
    this.maintain();
  }

  /** TTOU: one worker fewer, never none. */
  removeWorker(): void {
    if (this.target <= 1) {
      this.logs.say("INFO", "TTOU ignored: one worker is the least");
      return;
    }
    this.target--;
    this.logs.say("INFO", `TTOU: ${this.target} worker(s)`);
    const active = this.active();
    const newest = active[active.length - 1];
    if (active.length > this.target && newest !== undefined) this.stop(newest, "TTOU");
  }

  /** TERM/INT: every worker stops gracefully; `force` (a second signal) kills them at once. */
  shutdown(force: boolean): Promise<void> {
    this.shuttingDown = true;
    if (this.respawnTimer !== null) clearTimeout(this.respawnTimer);
    if (this.beatTimer !== null) clearInterval(this.beatTimer);
    for (const m of this.members.values()) {
      if (force) m.worker.process.kill("SIGKILL");
      else this.stop(m, "shutdown");
    }
    if (this.members.size === 0) this.resolveStopped();
    return this.stopped;
  }

  private beatMs(): number {
    return Math.max(50, Math.min(1000, (this.config.timeout * 1000) / 4));
  }

  /** Serving or starting workers that are not to be replaced. */
  private active(): Member[] {
    return [...this.members.values()].filter((m) => m.state !== "stopping" && !m.retiring);
  }

  private retire(m: Member, why: string): void {
    if (m.state === "stopping" || m.retiring) return;
    if (m.state === "starting") {
      this.stop(m, why);
      return;
    }
    m.retiring = true;
    m.why = why;
  }

  /** Starts workers until `target` non-retiring ones exist; after failed starts, with backoff. */
  private maintain(): void {
    if (this.shuttingDown || this.respawnTimer !== null) return;
    if (this.quickDeaths > 0 && this.active().length < this.target) {
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (this.quickDeaths - 1));
      this.respawnTimer = setTimeout(() => {
        this.respawnTimer = null;
        this.spawnMissing();
      }, delay);
      return;
    }
    this.spawnMissing();
  }

  private spawnMissing(): void {
    if (this.shuttingDown) return;
    while (this.active().length < this.target) this.spawn();
  }

  private settingsFor(index: number): WorkerSettings {
    const c = this.config;
    const jitter = c.maxRequestsJitter > 0 ? Math.floor(Math.random() * (c.maxRequestsJitter + 1)) : 0;
    const timeoutMs = c.timeout * 1000;
    return {
      config: c,
      binds: this.binds,
      multiprocess: this.target > 1,
      maxRequests: c.maxRequests > 0 ? c.maxRequests + jitter : 0,
      beatMs: this.beatMs(),
      stackFile: this.stackDir === null || c.timeout === 0 ? null : join(this.stackDir, `${index}.stack`),
      stackAfterMs: Math.max(timeoutMs / 2, timeoutMs - 2000),
    };
  }

  private spawn(): void {
    const settings = this.settingsFor(++this.spawned);
    const env: Record<string, string> = { [WORKER_SETTINGS_ENV]: JSON.stringify(settings) };
    for (const pair of this.config.env) {
      const eq = pair.indexOf("=");
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    const worker = cluster.fork(env);
    const now = Date.now();
    const m: Member = {
      worker,
      startedAt: now,
      stackFile: settings.stackFile,
      lastBeat: now,
      state: "starting",
      retiring: false,
      why: null,
      failure: null,
      killTimer: null,
    };
    this.members.set(worker.id, m);
    if (worker.process.stdout !== null)
      forwardLines(worker.process.stdout, (t) => {
        process.stdout.write(t);
      });
    if (worker.process.stderr !== null)
      forwardLines(worker.process.stderr, (t) => {
        this.logs.error.write(t);
      });
    worker.on("message", (message: unknown) => {
      if (isMessage(message)) this.onMessage(m, message as ToPrimary);
    });
    worker.on("exit", (code: number | null, signal: string | null) => {
      this.onExit(m, code, signal);
    });
    worker.on("error", () => {
      // An IPC write to a worker that just died: its exit is handled above.
    });
  }

  private onMessage(m: Member, message: ToPrimary): void {
    switch (message.t) {
      case "beat":
        m.lastBeat = Date.now();
        break;
      case "log":
        this.logs.access.write(message.access);
        this.logs.error.write(message.error);
        break;
      case "ready":
        this.onReady(m);
        break;
      case "unlistened":
        send(m, { t: "unlisten-ack" });
        break;
      case "retire":
        this.logs.say(
          "INFO",
          `worker ${m.worker.process.pid} served ${message.requests} requests (--max-requests): replacing it`,
        );
        this.retire(m, "max-requests");
        this.maintain();
        break;
      case "failed":
        m.failure = message.message;
        break;
    }
  }

  private onReady(m: Member): void {
    m.lastBeat = Date.now();
    if (m.state !== "starting") return;
    m.state = "serving";
    this.quickDeaths = 0;
    this.logs.say("INFO", `worker ${m.worker.process.pid} serving`);
    const old = [...this.members.values()].find((o) => o.retiring && o.state === "serving");
    if (old !== undefined) this.stop(old, old.why ?? "replaced");
    if (!this.announcedReady && this.active().filter((a) => a.state === "serving").length >= this.target) {
      this.announcedReady = true;
      this.logs.say("INFO", `ready: ${this.target} worker(s) serving`);
    }
  }

  /** Graceful stop: the worker stops accepting, drains within --graceful-timeout, exits. */
  private stop(m: Member, why: string): void {
    if (m.state === "stopping") return;
    m.state = "stopping";
    m.why ??= why;
    const deadlineMs = this.config.gracefulTimeout * 1000;
    send(m, { t: "stop", deadlineMs });
    m.killTimer = setTimeout(() => {
      this.logs.say(
        "ERROR",
        `worker ${m.worker.process.pid} did not stop within ${this.config.gracefulTimeout} s: killing it`,
      );
      m.worker.process.kill("SIGKILL");
    }, deadlineMs + KILL_GRACE_MS);
  }

  private onExit(m: Member, code: number | null, signal: string | null): void {
    this.members.delete(m.worker.id);
    if (m.killTimer !== null) clearTimeout(m.killTimer);
    if (m.stackFile !== null) rmSync(m.stackFile, { force: true });
    const pid = m.worker.process.pid;
    const how = signal !== null ? `signal ${signal}` : `exit code ${String(code)}`;
    const expected = m.state === "stopping" && m.why !== "timeout";
    if (expected && code === 0) this.logs.say("INFO", `worker ${pid} stopped (${m.why ?? "stop"})`);
    else {
      const failure = m.failure !== null ? `: ${m.failure}` : "";
      const during = m.state === "starting" ? " while starting" : "";
      this.logs.say("ERROR", `worker ${pid} died${during} (${how})${failure}`);
    }
    if (this.shuttingDown) {
      if (this.members.size === 0) this.resolveStopped();
      return;
    }
    const quick = Date.now() - m.startedAt < QUICK_DEATH_MS || m.state === "starting";
    if (!expected && quick) this.quickDeaths++;
    if (!expected) this.logs.say("INFO", "starting a replacement" + (this.quickDeaths > 0 ? " (with backoff)" : ""));
    this.maintain();
  }

  private checkHeartbeats(): void {
    const now = Date.now();
    const limitMs = this.config.timeout * 1000;
    for (const m of this.members.values()) {
      if (m.why === "timeout" || now - m.lastBeat <= limitMs) continue;
      this.timedOut(m, now - m.lastBeat);
    }
  }

  /** A hung worker: its stack is logged, a replacement started, and it is killed. */
  private timedOut(m: Member, silentMs: number): void {
    const pid = m.worker.process.pid;
    const stack =
      m.stackFile !== null && existsSync(m.stackFile)
        ? `; its JavaScript stack, ${readFileSync(m.stackFile, "utf8").trimEnd()}`
        : "; no stack could be taken (blocked outside JavaScript?)";
    this.logs.say(
      "ERROR",
      `worker ${pid} timed out: no heartbeat for ${(silentMs / 1000).toFixed(1)} s (--timeout ${this.config.timeout})${stack}`,
    );
    if (m.state === "serving") m.retiring = true;
    m.state = "stopping";
    m.why = "timeout";
    this.maintain();
    m.worker.process.kill("SIGKILL");
  }
}

function send(m: Member, message: ToWorker): void {
  if (m.worker.isConnected()) m.worker.send(message);
}
