/**
 * A worker process: loads the app, listens on the primary's addresses through node:cluster (the
 * primary accepts and hands connections round-robin to the workers listening), serves, beats, and
 * stops when the primary says so.
 *
 * The life of a stop, and why it loses no connection: the primary only asks a worker to stop once
 * another worker is listening (or the whole server is stopping). The worker closes its listeners,
 * which tells the primary's round-robin to hand it nothing more; a hand-off already on its way is
 * answered "not accepted" by cluster and goes to another worker. The worker then says
 * "unlistened" and exits only after the primary's answer: the channel is ordered, so by then every
 * hand-off sent before has arrived and been answered. Connections already taken drain under
 * WsgiServer.close()'s rule (one that has not carried a request gets a short grace for its first;
 * an idle kept-alive one is closed, which its client retries, RFC 9112 §9.3.1).
 */

import { once } from "node:events";
import type { App } from "../gateway/types.js";
import { listen, type ListenSocket } from "../server/listen.js";
import { server, type WsgiServer } from "../server/server.js";
import { wrapSsl } from "../server/tls.js";
import { loadApp, parseAppSpec } from "./load-app.js";
import { isMessage, WORKER_SETTINGS_ENV, type ToPrimary, type ToWorker, type WorkerSettings } from "./messages.js";
import { startWatchdog } from "./watchdog.js";
import { serverOptions } from "./server-options.js";
import { WorkerLog } from "./worker-log.js";

function send(message: ToPrimary, done?: () => void): void {
  if (process.send === undefined || !process.connected) {
    done?.();
    return;
  }
  process.send(message, undefined, {}, () => done?.());
}

/** Counts requests and asks once for a replacement when --max-requests is reached. */
function countRequests(app: App, limit: number): App {
  if (limit <= 0) return app;
  let served = 0;
  return (environ, startResponse) => {
    served++;
    if (served === limit) send({ t: "retire", requests: served });
    return app(environ, startResponse);
  };
}

class WorkerProcess {
  private readonly settings: WorkerSettings;
  private readonly log: WorkerLog;
  private readonly servers: WsgiServer[] = [];
  private readonly socks: ListenSocket[] = [];
  private stopping = false;
  private unlistenAcked: (() => void) | null = null;

  constructor(settings: WorkerSettings) {
    this.settings = settings;
    this.log = new WorkerLog(settings.config.debug);
  }

  /** Settles once start() is over, however it ended; a stop waits for it. */
  private startedPromise: Promise<unknown> = Promise.resolve();

  start(): Promise<void> {
    const starting = this.listenAll();
    this.startedPromise = starting.catch(() => undefined);
    return starting;
  }

  private async listenAll(): Promise<void> {
    const c = this.settings.config;
    const app = countRequests(await loadApp(parseAppSpec(c.app), c.fetch), this.settings.maxRequests);
    const opts = serverOptions(this.settings.config, this.settings.multiprocess, this.log);
    for (const target of this.settings.binds) {
      let sock: ListenSocket = await listen("path" in target ? target.path : [target.host, target.port], {
        backlog: c.backlog,
      });
      if (c.certfile !== null) {
        const ssl = { certfile: c.certfile, serverSide: true, ...(c.keyfile !== null ? { keyfile: c.keyfile } : {}) };
        sock = wrapSsl(sock, ssl);
      }
      this.socks.push(sock);
      this.servers.push(server(sock, app, opts));
    }
  }

  onMessage(message: ToWorker): void {
    if (message.t === "stop") void this.stop(message.deadlineMs);
    else this.unlistenAcked?.();
  }

  async stop(deadlineMs: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const acked = new Promise<void>((resolve) => {
      this.unlistenAcked = resolve;
    });
    // A listener being set up now is registered with the primary's round-robin: it must be
    // closed through the same steps as the others.
    await this.startedPromise;
    // Closing the listeners tells cluster to hand us nothing more; once the primary answers,
    // every connection it handed us has arrived.
    await Promise.all(this.socks.map((sock) => sock.close()));
    send({ t: "unlistened" });
    // Without a primary (it died), nothing more can be handed to us, and no answer will come.
    if (process.connected) await Promise.race([acked, once(process, "disconnect")]);
    // close() gives a connection that has not carried a request yet a grace for its first one
    // (FIRST_REQUEST_GRACE_MS): one handed over just now is served, not closed as idle.
    await Promise.all(this.servers.map((s) => s.close({ deadline: deadlineMs })));
    this.exit(0);
  }

  exit(code: number): void {
    const timer = setTimeout(() => process.exit(code), 2000);
    this.log.flush(() => {
      clearTimeout(timer);
      process.exit(code);
    });
  }
}

async function main(): Promise<void> {
  const raw = process.env[WORKER_SETTINGS_ENV];
  if (raw === undefined)
    throw new Error(`${WORKER_SETTINGS_ENV} is not set: this module is started by the eventwsgi primary`);
  const settings = JSON.parse(raw) as WorkerSettings;
  const worker = new WorkerProcess(settings);
  // Ctrl-C in a terminal signals the whole process group: the primary decides what stops.
  process.on("SIGINT", () => {});
  process.on("SIGTERM", () => void worker.stop(settings.config.gracefulTimeout * 1000));
  process.on("message", (message: unknown) => {
    if (isMessage(message)) worker.onMessage(message as ToWorker);
  });
  process.on("disconnect", () => void worker.stop(settings.config.gracefulTimeout * 1000));
  setInterval(() => {
    send({ t: "beat" });
  }, settings.beatMs).unref();
  if (settings.stackFile !== null) {
    startWatchdog(settings.stackFile, settings.stackAfterMs, (line) => {
      process.stderr.write(`${line}\n`);
    });
  }
  try {
    await worker.start();
  } catch (err) {
    send({ t: "failed", message: (err as Error).message.replace(/\s*\n\s*/g, " ") }, () => process.exit(3));
    return;
  }
  send({ t: "ready" });
}

await main();
