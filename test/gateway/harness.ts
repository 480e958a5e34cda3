/**
 * One application call against an in-memory connection: the request head
 * is parsed from bytes, the environ and Input built as the connection
 * builds them, and everything the Exchange writes is recorded, flush by
 * flush, so tests can see exactly what would have gone on the wire.
 */

import { buildEnviron, type ConnectionInfo } from "../../src/gateway/environ.js";
import { Input, expectsContinue, type InputSource } from "../../src/gateway/input.js";
import { Exchange, type ExchangeHost } from "../../src/gateway/response.js";
import type { App, Environ } from "../../src/gateway/types.js";
import { requestFraming } from "../../src/http1/request-framing.js";
import { RequestHeadParser } from "../../src/http1/request-head.js";
import { normalizeOptions, type ServerConfig, type ServerOptions } from "../../src/options.js";
import { captureLog, type CapturedLog } from "../support/wire.js";

export class MemoryHost implements ExchangeHost, InputSource {
  readonly config: ServerConfig;
  readonly log: CapturedLog;
  mayKeepAlive = true;
  gone = false;
  /** What each flush handed to the "socket". */
  readonly flushes: Buffer[] = [];
  private pending: Buffer[] = [];
  exchange: Exchange | null = null;
  /** What getSocket() returns. */
  readonly socket = { fake: "socket" };
  socketTaken = false;

  constructor(opts: ServerOptions = {}) {
    const { log, logger } = captureLog();
    this.log = log;
    this.config = normalizeOptions({ log: logger, ...opts });
  }

  /** Everything written so far, flushed or not. */
  get output(): Buffer {
    return Buffer.concat([...this.flushes, ...this.pending]);
  }

  get text(): string {
    return this.output.toString("latin1");
  }

  get outputBytes(): number {
    let n = 0;
    for (const b of this.pending) n += b.length;
    return n;
  }

  writeText(text: string): void {
    this.pending.push(Buffer.from(text, "latin1"));
  }

  writeBytes(data: Uint8Array): void {
    this.pending.push(Buffer.from(data));
  }

  flush(): boolean {
    if (this.pending.length > 0) {
      this.flushes.push(Buffer.concat(this.pending));
      this.pending = [];
    }
    return true;
  }

  drained(): Promise<void> {
    return Promise.resolve();
  }

  private goneListeners = new Set<() => void>();

  onGone(listener: () => void): () => void {
    const once = (): void => {
      this.goneListeners.delete(once);
      listener();
    };
    this.goneListeners.add(once);
    return () => this.goneListeners.delete(once);
  }

  /** The client leaves: `gone`, and every onGone listener is called. */
  disconnect(): void {
    this.gone = true;
    for (const l of [...this.goneListeners]) l();
  }

  get finalResponseStarted(): boolean {
    return this.exchange === null || this.exchange.responseStarted;
  }

  writeInterim(response: string): void {
    this.writeText(response);
    this.flush();
  }

  /** A further body after a second 100 Continue: the test pushes it into the Input itself. */
  expectAnotherBody(): void {}

  get capitalizeResponseHeaders(): boolean {
    return this.config.capitalizeResponseHeaders;
  }

  consumed(): void {}

  upgrade(): Promise<never> {
    return Promise.reject(new Error("the in-memory connection has no socket to hand over"));
  }

  takeSocket(): unknown {
    this.socketTaken = true;
    return this.socket;
  }
}

export interface Call {
  host: MemoryHost;
  exchange: Exchange;
  environ: Environ;
  input: Input;
  /** Runs the app and resolves once the exchange is over. */
  run(app: App): Promise<void>;
}

const INFO: Omit<ConnectionInfo, "setIdle"> = {
  serverName: "127.0.0.1",
  serverPort: "8090",
  remoteAddr: "10.1.2.3",
  remotePort: "54321",
  https: false,
  errors: { write: () => true },
};

/** Prepares one call for the request head `head` (its body, if any, is pushed by the test). */
export function prepare(head: string, opts: ServerOptions = {}, info: Partial<ConnectionInfo> = {}): Call {
  const host = new MemoryHost(opts);
  const parser = new RequestHeadParser(host.config.headLimits);
  const bytes = Buffer.from(head, "latin1");
  const end = parser.execute(bytes, 0, bytes.length);
  if (end < 0) throw new Error("incomplete head in test");
  const parsed = parser.head;
  const framing = requestFraming(parsed, host.config.rejectBadRequests);
  const empty = !framing.chunked && framing.contentLength <= 0;
  const input = new Input(host, expectsContinue(framing.expectContinue, host.config.http11), empty);
  const environ = buildEnviron(parsed, framing, { ...INFO, setIdle: () => {}, ...info }, input, host.config.environ);
  const exchange = new Exchange(host, parsed, framing, environ, input);
  host.exchange = exchange;
  return {
    host,
    exchange,
    environ,
    input,
    run: async (app) => {
      await exchange.run(app);
      host.flush();
    },
  };
}

/** Runs `app` for a GET (or the given head) and returns the host with what was written. */
export async function call(
  app: App,
  head = "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
  opts: ServerOptions = {},
): Promise<Call> {
  const c = prepare(head, opts);
  await c.run(app);
  return c;
}
