/**
 * The in-memory connection under wsgiFetch(): what the gateway's Exchange
 * writes is read back as a response (head, then the body decoded from its
 * framing by the same decoders the server reads request bodies with), and a
 * ReadableStream carries the body to the caller with backpressure: flush()
 * says "wait" while the stream's queue is full, and drained() resolves when
 * the caller reads. Cancelling the stream is the client going away.
 */

import { ChunkedDecoder, EmptyDecoder, LengthDecoder, type BodyDecoder } from "../http1/body-decoder.js";
import type { ExchangeHost } from "../gateway/response.js";
import type { InputSource } from "../gateway/input.js";
import type { ServerConfig } from "../options.js";

/** The status line and headers of the response, once its head was written. */
export interface ResponseHead {
  status: number;
  statusText: string;
  headers: [string, string][];
}

/** Bytes the body stream may queue before flush() asks the Exchange to wait. */
const QUEUE_BYTES = 64 * 1024;
const CRLFCRLF = Buffer.from("\r\n\r\n");

export class MemoryHost implements ExchangeHost, InputSource {
  readonly config: ServerConfig;
  readonly mayKeepAlive = true;
  finalResponseStarted = false;
  gone = false;
  /** Resolves with the head once it is written; rejects if the exchange ends without one. */
  readonly head: Promise<ResponseHead>;
  readonly body: ReadableStream<Uint8Array>;
  private resolveHead!: (head: ResponseHead) => void;
  private rejectHead!: (err: Error) => void;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private raw: Buffer = Buffer.alloc(0);
  private decoder: BodyDecoder | null = null;
  private closeDelimited = false;
  private readonly goneListeners = new Set<() => void>();
  private drainWaiters: (() => void)[] = [];
  private readonly isHead: boolean;

  constructor(config: ServerConfig, isHead: boolean) {
    this.config = config;
    this.isHead = isHead;
    this.head = new Promise((resolve, reject) => {
      this.resolveHead = resolve;
      this.rejectHead = reject;
    });
    this.head.catch(() => {});
    this.body = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.controller = c;
        },
        pull: () => {
          this.wakeDrainWaiters();
        },
        cancel: () => {
          this.leave();
        },
      },
      { highWaterMark: QUEUE_BYTES, size: (chunk) => chunk.byteLength },
    );
  }

  // ---- Transport ----

  writeText(text: string): void {
    this.pending.push(Buffer.from(text, "latin1"));
    this.pendingBytes += text.length;
  }

  writeBytes(data: Uint8Array): void {
    this.pending.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    this.pendingBytes += data.byteLength;
  }

  get outputBytes(): number {
    return this.pendingBytes;
  }

  flush(): boolean {
    if (this.pending.length > 0) {
      const bytes = Buffer.concat(this.pending);
      this.pending = [];
      this.pendingBytes = 0;
      if (!this.gone) this.take(bytes);
    }
    return this.gone || (this.controller.desiredSize ?? 0) > 0;
  }

  drained(): Promise<void> {
    if (this.gone || (this.controller.desiredSize ?? 0) > 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  onGone(listener: () => void): () => void {
    const once = (): void => {
      this.goneListeners.delete(once);
      listener();
    };
    this.goneListeners.add(once);
    return () => this.goneListeners.delete(once);
  }

  /** The caller went away (cancelled the body, or aborted its request). */
  leave(): void {
    if (this.gone) return;
    this.gone = true;
    this.wakeDrainWaiters();
    this.consumed();
    for (const l of [...this.goneListeners]) l();
  }

  // ---- InputSource ----

  /** No 100 Continue in memory: the request's body is there to be read (the head says no Expect). */
  writeInterim(): void {}

  /** A second 100 Continue never goes out here, so no further body follows. */
  expectAnotherBody(): void {}

  get capitalizeResponseHeaders(): boolean {
    return this.config.capitalizeResponseHeaders;
  }

  /** No socket to hand over (a WebSocket, an Upgrade): the app's takeOver() fails. */
  upgrade(): Promise<never> {
    return Promise.reject(new Error("wsgiFetch: there is no connection to upgrade"));
  }

  private consumedWaiters: (() => void)[] = [];

  /** The app took bytes from its Input, or waits for more. */
  consumed(): void {
    const waiters = this.consumedWaiters;
    if (waiters.length === 0) return;
    this.consumedWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves at the app's next read (or when the caller leaves). */
  nextRead(): Promise<void> {
    if (this.gone) return Promise.resolve();
    return new Promise((resolve) => this.consumedWaiters.push(resolve));
  }
  takeSocket(): unknown {
    throw new Error("wsgiFetch: there is no socket to take over");
  }

  // ---- the response, read back ----

  /** The exchange is over: `aborted` when its response was cut short. */
  end(aborted: boolean): void {
    this.flush();
    if (this.gone) return;
    if (!this.finalResponseStarted) {
      this.rejectHead(new Error("wsgiFetch: the application's exchange ended without a response"));
      return;
    }
    if (this.closeDelimited && !aborted) this.controller.close();
    else if (aborted || this.decoder?.done !== true)
      this.controller.error(new Error("wsgiFetch: the response was cut short (the application failed mid-body)"));
    else this.controller.close();
  }

  private take(bytes: Buffer): void {
    if (!this.finalResponseStarted) {
      this.raw = this.raw.length === 0 ? bytes : Buffer.concat([this.raw, bytes]);
      const end = this.raw.indexOf(CRLFCRLF);
      if (end === -1) return;
      const head = this.parseHead(this.raw.toString("latin1", 0, end));
      const rest = this.raw.subarray(end + 4);
      this.raw = Buffer.alloc(0);
      if (head === null) {
        // A 1xx before the final response: keep reading.
        if (rest.length > 0) this.take(rest);
        return;
      }
      this.finalResponseStarted = true;
      this.resolveHead(head);
      if (rest.length > 0) this.feed(rest);
      return;
    }
    this.feed(bytes);
  }

  private feed(bytes: Buffer): void {
    if (this.closeDelimited) {
      this.controller.enqueue(bytes);
      return;
    }
    const decoder = this.decoder as BodyDecoder;
    decoder.decode(bytes, 0, bytes.length, (data) => {
      this.controller.enqueue(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
  }

  /** The head's status and headers, its body decoder chosen; null for a 1xx that is not final. */
  private parseHead(text: string): ResponseHead | null {
    const lines = text.split("\r\n");
    const statusLine = lines[0] ?? "";
    const status = Number(statusLine.slice(9, 12));
    if (status === 100 || status === 102 || status === 103) return null;
    const headers: [string, string][] = [];
    let length = -1;
    let chunked = false;
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      const name = line.slice(0, colon);
      const value = line.slice(colon + 1).trim();
      const lower = name.toLowerCase();
      if (lower === "transfer-encoding") chunked = true;
      else if (lower === "content-length") length = Number(value);
      // The framing and connection headers are this in-memory hop's, not the response's.
      if (lower === "transfer-encoding" || lower === "connection" || lower === "keep-alive") continue;
      headers.push([name, value]);
    }
    const noBody = this.isHead || status < 200 || status === 204 || status === 304;
    if (noBody) this.decoder = new EmptyDecoder();
    else if (chunked) this.decoder = new ChunkedDecoder(this.config.headLimits);
    else if (length >= 0) this.decoder = new LengthDecoder(length);
    else this.closeDelimited = true;
    return { status, statusText: statusLine.slice(13), headers };
  }

  private wakeDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }
}
