/**
 * Operations-test support: servers on any ListenSocket (TCP v4/v6, Unix,
 * TLS) with their log captured, a raw peer that works over all of them,
 * bounded waits on events, and child processes that are always stopped.
 */

import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import net from "node:net";
import { dirname, join } from "node:path";
import tls from "node:tls";
import { fileURLToPath } from "node:url";
import { server, type App, type ListenSocket, type ServerOptions, type WsgiServer } from "../../src/index.js";
import { within } from "../support/wait.js";
import { captureLog, parseResponses, type CapturedLog, type ParsedResponse } from "../support/wire.js";

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root (this file runs from dist/test/ops/). */
export const repoRoot = join(here, "..", "..", "..");
export const fixturesDir = join(repoRoot, "test", "fixtures");
export const fixture = (name: string): string => join(fixturesDir, name);
export const CERT = readFileSync(fixture("cert.pem"), "latin1");
export const KEY = readFileSync(fixture("key.pem"), "latin1");
export const CERT2 = readFileSync(fixture("cert2.pem"), "latin1");

export interface OpsServer {
  readonly server: WsgiServer;
  readonly log: CapturedLog;
  /** Closes the server (cutting connections after `deadlineMs`) and waits for it. */
  close(deadlineMs?: number): Promise<void>;
}

/** Serves `app` on `sock` with a capturing logger (merged under `opts`). */
export function serveOn(sock: ListenSocket, app: App, opts: ServerOptions = {}): OpsServer {
  const { log, logger } = captureLog();
  const srv = server(sock, app, { log: logger, ...opts });
  return { server: srv, log, close: (deadlineMs = 1000) => srv.close({ deadline: deadlineMs }) };
}

/** Runs `fn` with a server that is always closed afterwards. */
export async function withOps<T>(sock: ListenSocket, app: App, opts: ServerOptions, fn: (s: OpsServer) => Promise<T>): Promise<T> {
  const s = serveOn(sock, app, opts);
  try {
    return await fn(s);
  } finally {
    await within(5000, "server close", s.close(200));
  }
}

export type PeerTarget =
  | { port: number; host?: string }
  | { path: string }
  | { port: number; host?: string; tls: tls.ConnectionOptions };

/**
 * One client connection over TCP, a Unix socket or TLS: writes exact bytes,
 * keeps everything received, and waits — always with a bound — for
 * responses, for a condition, or for the server to close.
 */
export class Peer {
  readonly socket: net.Socket;
  data: Buffer = Buffer.alloc(0);
  /** The server ended or reset the connection. */
  closed = false;
  /** The first socket error, if any (ECONNRESET and the like). */
  error: NodeJS.ErrnoException | null = null;
  private waiters = new Set<() => void>();

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (d: Buffer) => {
      this.data = this.data.length === 0 ? d : Buffer.concat([this.data, d]);
      this.wake();
    });
    const onClosed = (): void => {
      this.closed = true;
      this.wake();
    };
    socket.on("end", onClosed);
    socket.on("close", onClosed);
    socket.on("error", (err: NodeJS.ErrnoException) => {
      this.error ??= err;
      onClosed();
    });
  }

  static async connect(target: PeerTarget, timeoutMs = 3000): Promise<Peer> {
    let socket: net.Socket;
    let ready: string;
    if ("path" in target) {
      socket = net.connect({ path: target.path });
      ready = "connect";
    } else if ("tls" in target) {
      socket = tls.connect({ host: target.host ?? "127.0.0.1", port: target.port, ...target.tls });
      ready = "secureConnect";
    } else {
      socket = net.connect({ host: target.host ?? "127.0.0.1", port: target.port });
      ready = "connect";
    }
    try {
      await within(timeoutMs, `connection (${ready})`, once(socket, ready));
    } catch (err) {
      socket.destroy();
      throw err;
    }
    return new Peer(socket);
  }

  get text(): string {
    return this.data.toString("latin1");
  }

  write(bytes: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes, (err) => (err ? reject(err) : resolve()));
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves once `holds()` is true (checked now and at each data or close event); rejects after `timeoutMs`. */
  until(holds: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (holds()) return Promise.resolve();
    let waiter!: () => void;
    const p = new Promise<void>((resolve) => {
      waiter = () => {
        if (holds()) resolve();
      };
      this.waiters.add(waiter);
    });
    return within(timeoutMs, what, p).finally(() => this.waiters.delete(waiter));
  }

  /** Waits for `n` complete responses and returns them. */
  async responses(n: number, timeoutMs = 3000, head = false): Promise<ParsedResponse[]> {
    let parsed: ParsedResponse[] = [];
    await this.until(
      () => {
        try {
          parsed = parseResponses(this.data, { head }).responses;
        } catch {
          // incomplete: keep waiting (responses before the incomplete one are not returned)
          return false;
        }
        return parsed.length >= n || this.closed;
      },
      timeoutMs,
      `${n} response(s); got ${JSON.stringify(this.text.slice(0, 300))}`,
    );
    return parsed;
  }

  /** Waits for the server to end or reset the connection. */
  waitClosed(timeoutMs = 3000): Promise<void> {
    return this.until(() => this.closed, timeoutMs, "the server to close the connection");
  }
}

/** An app that reports selected environ keys as JSON. */
export const environApp: App = (env, startResponse) => {
  const keys = ["SERVER_NAME", "SERVER_PORT", "REMOTE_ADDR", "REMOTE_PORT", "wsgi.url_scheme", "HTTPS"];
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = env[k];
  startResponse("200 OK", [["Content-Type", "application/json"]]);
  return [JSON.stringify(out)];
};

export const helloApp: App = (_env, startResponse) => {
  startResponse("200 OK", [["Content-Type", "text/plain"]]);
  return ["Hello, World!\r\n"];
};

/** A child node process that is killed when the test ends, whatever happens. */
export interface Child {
  readonly proc: ChildProcess;
  stderr: string;
  stdout: string;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  readonly exited: Promise<number | string>;
  /** Waits until `re` matches stderr+stdout, returning the match. */
  waitOutput(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Sends SIGKILL if still running and waits for the exit. */
  kill(): Promise<void>;
}

export function spawnNode(args: string[], opts: { ipc?: boolean; env?: NodeJS.ProcessEnv } = {}): Child {
  const proc = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, ...opts.env },
    stdio: opts.ipc === true ? ["ignore", "pipe", "pipe", "ipc"] : ["ignore", "pipe", "pipe"],
  });
  const waiters = new Set<() => void>();
  const child: Child = {
    proc,
    stderr: "",
    stdout: "",
    exited: new Promise((resolve) => {
      proc.once("exit", (code, signal) => {
        resolve(code ?? signal ?? "unknown");
        for (const w of [...waiters]) w();
      });
    }),
    waitOutput(re, timeoutMs) {
      let waiter!: () => void;
      const p = new Promise<RegExpMatchArray>((resolve, reject) => {
        waiter = () => {
          const m = (child.stderr + child.stdout).match(re);
          if (m !== null) resolve(m);
          else if (proc.exitCode !== null || proc.signalCode !== null) reject(new Error(`child exited before ${re}: ${child.stderr}`));
        };
        waiters.add(waiter);
        waiter();
      });
      return within(timeoutMs, `${re} from the child (stderr: ${child.stderr.slice(-500)})`, p).finally(() => waiters.delete(waiter));
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await within(5000, "the child to exit", child.exited);
    },
  };
  proc.stdout?.setEncoding("utf8").on("data", (d: string) => {
    child.stdout += d;
    for (const w of [...waiters]) w();
  });
  proc.stderr?.setEncoding("utf8").on("data", (d: string) => {
    child.stderr += d;
    for (const w of [...waiters]) w();
  });
  return child;
}
