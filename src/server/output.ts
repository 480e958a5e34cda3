/**
 * A connection's output: response bytes on their way to the socket, and the
 * requests whose exchanges are over, waiting for those bytes to reach the
 * kernel before their access line and post hooks (request-end.ts).
 *
 * Heads and bodies are appended to `text` (Latin-1) and `parts`, and handed
 * to the socket by `flush()` — once per batch of pipelined requests on the
 * synchronous path — as one write, or one corked writev when there are
 * buffers. Every byte is counted twice: when handed to socket.write
 * (`flushedBytes`) and when its write completed (`ackedBytes`, from the write
 * callbacks, which come in order), so that how far the kernel got is known
 * even after the client cut the connection.
 */

import type { Socket } from "node:net";
import type { EndedRequest } from "./request-end.js";

/** Ends one request: `handedTotal` is how far into the output the kernel took bytes; `gone`: the socket closed. */
export type EndRequest = (req: EndedRequest, handedTotal: number, gone: boolean) => void;

export class SocketOutput {
  private readonly socket: Socket;
  private readonly endRequest: EndRequest;
  /** Called when something first waits for "drain" (the connection adds its listener then). */
  private readonly listenForDrain: () => void;
  /** The socket has closed: nothing written goes anywhere. */
  private closed = false;

  private text = "";
  private parts: (string | Uint8Array)[] = [];
  /** Bytes in `parts`. */
  private partBytes = 0;
  /** Waiting for "drain"; null until something first waits. */
  private drainWaiters: (() => void)[] | null = null;

  /** Bytes handed to socket.write so far. */
  private flushedBytes = 0;
  /** Bytes whose socket.write completed: the kernel took them. */
  private ackedBytes = 0;
  /** The length of each socket.write not yet completed, oldest first. */
  private readonly writeLengths: number[] = [];
  private readonly onWritten = (err?: Error | null): void => {
    const n = this.writeLengths.shift() ?? 0;
    // After a failed writev Node 20 still calls the callbacks of its parts without an error:
    // once the socket is destroyed, no callback counts.
    if ((err === undefined || err === null) && !this.socket.destroyed) this.ackedBytes += n;
  };
  /** Requests whose exchange is over, waiting for their responses to reach the kernel. */
  private ended: EndedRequest[] = [];
  /** An empty write's callback will end the requests queued in `ended`. */
  private endPending = false;

  constructor(socket: Socket, endRequest: EndRequest, listenForDrain: () => void) {
    this.socket = socket;
    this.endRequest = endRequest;
    this.listenForDrain = listenForDrain;
  }

  /** A flush is due at the next check phase of the event loop (flushSoon). */
  private flushDue = false;

  /**
   * Flushes at the end of this turn of the event loop (setImmediate), once
   * however often it is asked: responses to a pipelined batch made by apps
   * that returned promises, within microtask turns of each other, go out in
   * one write as on the synchronous path.
   */
  flushSoon(): void {
    if (this.flushDue) return;
    this.flushDue = true;
    setImmediate(flushDueOutput, this);
  }

  /** @internal (flushSoon's callback) */
  flushNow(): void {
    this.flushDue = false;
    this.flush();
  }

  writeText(text: string): void {
    this.text += text;
  }

  writeBytes(data: Uint8Array): void {
    if (this.text.length > 0) {
      this.partBytes += this.text.length;
      this.parts.push(this.text);
      this.text = "";
    }
    this.partBytes += data.length;
    this.parts.push(data);
  }

  /** Bytes appended and not yet flushed. */
  get pendingBytes(): number {
    return this.partBytes + this.text.length;
  }

  /** Where the next byte written goes, counted from the connection's first. */
  get position(): number {
    return this.flushedBytes + this.pendingBytes;
  }

  /** Hands the output to the socket; false when the socket asks to wait for drain. */
  flush(): boolean {
    const ok = this.writeOut();
    if (this.ended.length !== 0) this.settle();
    return ok;
  }

  /** Resolves when the socket can take more, or is gone. */
  drained(): Promise<void> {
    if (this.closed || this.socket.destroyed || !this.socket.writableNeedDrain) return Promise.resolve();
    if (this.drainWaiters === null) {
      this.drainWaiters = [];
      this.listenForDrain();
    }
    const waiters = this.drainWaiters;
    return new Promise((resolve) => waiters.push(resolve));
  }

  /** "drain", or the socket closed or was handed over: every waiter wakes. */
  wakeDrainWaiters(): void {
    const waiters = this.drainWaiters;
    if (waiters === null || waiters.length === 0) return;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }

  /** A request whose exchange is over: it ends once the output before it is in the kernel. */
  requestEnded(req: EndedRequest): void {
    this.ended.push(req);
    // Closed already: it ends now. Open: when the output is next flushed.
    if (this.closed) this.settle();
  }

  /** The socket closed: what is pending ends now, as far as the kernel got. */
  socketClosed(): void {
    this.closed = true;
    this.wakeDrainWaiters();
    this.settle();
  }

  /** Writes what is pending without ending requests (a connection about to be destroyed ends them on close). */
  writeOut(): boolean {
    const socket = this.socket;
    if (this.closed || socket.destroyed) {
      this.text = "";
      this.parts = [];
      this.partBytes = 0;
      return true;
    }
    if (this.parts.length === 0) {
      if (this.text.length > 0) {
        const text = this.text;
        this.text = "";
        return this.writeString(text);
      }
      return !socket.writableNeedDrain;
    }
    if (this.text.length > 0) this.parts.push(this.text);
    const parts = this.parts;
    this.text = "";
    this.parts = [];
    this.partBytes = 0;
    if (parts.length > 1) socket.cork();
    let ok = true;
    for (const part of parts) ok = typeof part === "string" ? this.writeString(part) : this.writeBuffer(part);
    if (parts.length > 1) socket.uncork();
    return ok && !socket.writableNeedDrain;
  }

  private writeString(text: string): boolean {
    this.flushedBytes += text.length;
    this.writeLengths.push(text.length);
    return this.socket.write(text, "latin1", this.onWritten);
  }

  private writeBuffer(data: Uint8Array): boolean {
    this.flushedBytes += data.length;
    this.writeLengths.push(data.length);
    return this.socket.write(data, this.onWritten);
  }

  /** How far into the output the kernel has taken bytes. */
  private get handedBytes(): number {
    return this.closed || this.socket.destroyed ? this.ackedBytes : this.flushedBytes - this.socket.writableLength;
  }

  /**
   * Ends the requests whose exchanges are over once their responses are in the
   * kernel: now when nothing waits on the socket, else when an empty write
   * queued behind them completes (one for the whole batch), else when the
   * socket closes (a destroyed socket's last write callbacks come before "close").
   */
  private settle(): void {
    if (this.ended.length === 0) return;
    if (this.closed) {
      this.endFirst(this.ended.length);
      return;
    }
    if (this.socket.destroyed || this.endPending) return;
    if (this.socket.writableLength === 0) {
      this.endFirst(this.ended.length);
      return;
    }
    this.endPending = true;
    const n = this.ended.length;
    this.socket.write("", (err) => {
      this.endPending = false;
      // A failed socket's requests are ended on "close", once its write callbacks have all come
      // (Node calls them with the error before it destroys the socket).
      if ((err !== undefined && err !== null) || this.socket.destroyed) return;
      this.endFirst(n);
      this.settle();
    });
  }

  private endFirst(n: number): void {
    const all = n === this.ended.length;
    const batch = all ? this.ended : this.ended.slice(0, n);
    this.ended = all ? [] : this.ended.slice(n);
    const handed = this.handedBytes;
    for (const req of batch) this.endRequest(req, handed, this.closed);
  }
}

function flushDueOutput(out: SocketOutput): void {
  out.flushNow();
}
