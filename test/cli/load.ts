/**
 * A load generator for the zero-loss tests: clients that each run one request at a time, some on
 * kept-alive connections (a new connection after every `perConnection` requests, or when the
 * server says `Connection: close`), some on a new connection for every request. It counts every
 * request that failed, and follows RFC 9112 §9.3.1 as real clients do: a request on a reused
 * connection that closes before any byte of the response is retried once on a new connection
 * (counted as `retried`, not failed). A request on a new connection is never retried.
 */

import net from "node:net";

export interface LoadStats {
  ok: number;
  failed: number;
  retried: number;
  /** The first few failures, described. */
  failures: string[];
}

export interface LoadOptions {
  port: number;
  keepAliveClients: number;
  freshClients: number;
  perConnection: number;
  /** A request without its whole response after this long is a failure. */
  timeoutMs: number;
}

/** Why an exchange failed, and whether any response byte had come. */
class ExchangeError extends Error {
  constructor(
    message: string,
    readonly anyByte: boolean,
  ) {
    super(message);
  }
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.removeListener("error", reject);
      resolve(s);
    });
    s.once("error", reject);
  });
}

/** Writes one GET and reads its whole response; resolves with whether the server keeps the connection. */
function exchange(sock: net.Socket, close: boolean, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      finish(new ExchangeError(`no whole response within ${timeoutMs} ms`, buf.length > 0));
    }, timeoutMs);
    const finish = (err: ExchangeError | null, keep = false): void => {
      clearTimeout(timer);
      sock.removeListener("data", onData);
      sock.removeListener("close", onClose);
      sock.removeListener("error", onError);
      if (err === null) resolve(keep);
      else reject(err);
    };
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buf.subarray(0, end).toString("latin1");
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
      if (buf.length < end + 4 + length) return;
      if (!head.startsWith("HTTP/1.1 200 ")) {
        finish(new ExchangeError(`status ${head.split("\r\n")[0] ?? ""}`, true));
        return;
      }
      finish(null, !/\r\nconnection: *close/i.test(head));
    };
    const onClose = (): void => {
      finish(
        new ExchangeError(buf.length > 0 ? "closed mid-response" : "closed before any response byte", buf.length > 0),
      );
    };
    const onError = (err: Error): void => {
      finish(new ExchangeError((err as NodeJS.ErrnoException).code ?? err.message, buf.length > 0));
    };
    sock.on("data", onData);
    sock.once("close", onClose);
    sock.once("error", onError);
    sock.write(`GET / HTTP/1.1\r\nHost: load\r\n${close ? "Connection: close\r\n" : ""}\r\n`);
  });
}

export class Load {
  readonly stats: LoadStats = { ok: 0, failed: 0, retried: 0, failures: [] };
  private stopped = false;
  private readonly running: Promise<void>[] = [];
  private readonly opts: LoadOptions;
  private readonly waiters: { n: number; resolve: () => void }[] = [];
  /** How many failures of each kind ("new connection: ECONNREFUSED"). */
  readonly failureKinds = new Map<string, number>();
  /** When each failed request began. */
  private readonly failureStarts: number[] = [];

  constructor(opts: LoadOptions) {
    this.opts = opts;
    for (let i = 0; i < opts.keepAliveClients; i++) this.running.push(this.keepAliveClient());
    for (let i = 0; i < opts.freshClients; i++) this.running.push(this.freshClient());
  }

  get total(): number {
    return this.stats.ok + this.stats.failed;
  }

  /** Resolves once `n` requests have ended (succeeded or failed). */
  reached(n: number): Promise<void> {
    if (this.total >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  private counted(): void {
    const total = this.total;
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i];
      if (w !== undefined && total >= w.n) {
        this.waiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  async stop(): Promise<LoadStats> {
    this.stopped = true;
    await Promise.all(this.running);
    return this.stats;
  }

  /** Read through a call: stop() flips it while a client awaits. */
  private active(): boolean {
    return !this.stopped;
  }

  private ok(): void {
    this.stats.ok++;
    this.counted();
  }

  /** Failures of requests begun at or after `ms` (Date.now()). */
  failedSince(ms: number): number {
    return this.failureStarts.filter((t) => t >= ms).length;
  }

  private fail(what: string, startedAt: number): void {
    this.failureStarts.push(startedAt);
    this.failureKinds.set(what, (this.failureKinds.get(what) ?? 0) + 1);
    this.stats.failed++;
    this.counted();
    if (this.stats.failures.length < 10) this.stats.failures.push(`${new Date().toISOString()} ${what}`);
  }

  /** One request on a new connection; true when it succeeded. */
  private async fresh(close: boolean): Promise<net.Socket | null> {
    const startedAt = Date.now();
    let sock: net.Socket | null = null;
    try {
      sock = await connect(this.opts.port);
      const keep = await exchange(sock, close, this.opts.timeoutMs);
      this.ok();
      if (keep) return sock;
    } catch (err) {
      this.fail(`new connection: ${(err as Error).message}`, startedAt);
    }
    sock?.destroy();
    return null;
  }

  private async freshClient(): Promise<void> {
    while (!this.stopped) await this.fresh(true);
  }

  private async keepAliveClient(): Promise<void> {
    while (!this.stopped) {
      let sock = await this.fresh(false);
      for (let n = 1; sock !== null && n < this.opts.perConnection && this.active(); n++) {
        const current: net.Socket = sock;
        const startedAt = Date.now();
        try {
          if (!(await exchange(current, false, this.opts.timeoutMs))) {
            current.destroy();
            sock = null;
          }
          this.ok();
        } catch (err) {
          current.destroy();
          sock = null;
          if (err instanceof ExchangeError && !err.anyByte) {
            this.stats.retried++;
            sock = await this.fresh(false);
          } else this.fail(`reused connection: ${(err as Error).message}`, startedAt);
        }
      }
      sock?.destroy();
    }
  }
}
