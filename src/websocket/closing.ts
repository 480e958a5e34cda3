/**
 * The closing handshake of a WebSocket (RFC 6455 §5.5.1, §7): who sends the close frame and when,
 * answering the peer's close, failing the connection on a protocol error, the 5 s limit, the
 * server's shutdown (1001) and the final state (closeCode, closeReason, `closed`).
 *
 * A base class of WebSocket, not an object it holds: an idle connection pays for no extra object.
 * The reading side (websocket.ts) tells it what it needs through two hooks: `endReading()` (no
 * more messages will come) and `handlerWaiting` (a wait() is pending).
 */

import type { Socket } from "node:net";
import { CloseCode, isSendableCloseCode, MAX_CLOSE_REASON_BYTES } from "./frame.js";
import { parseClosePayload } from "./frame-reader.js";
import { WebSocketProtocolError } from "./errors.js";
import { FrameWriter } from "./frame-writer.js";
import { CLOSE_TIMEOUT_MS } from "./options.js";

const RESOLVED = Promise.resolve();

export abstract class ClosingHandshake {
  /** The peer's close code (1005: its close had none; 1006: no close frame came), or the code we failed it with. */
  closeCode: number | null = null;
  closeReason: string | null = null;

  protected readonly socket: Socket;
  protected readonly writer: FrameWriter;
  protected closeSent = false;
  protected closeReceived = false;
  /** The peer's close waits for the handler to be done with the messages before it. */
  protected closeAnswerPending = false;
  protected isClosed = false;
  private closeTimer: NodeJS.Timeout | null = null;
  /** Made when first asked for: an idle connection holds no promise. */
  private closedPromise: Promise<void> | null = null;
  private resolveClosed: (() => void) | null = null;

  protected constructor(socket: Socket) {
    this.socket = socket;
    this.writer = new FrameWriter(socket, this);
  }

  /** @internal the writer's output passed its high-water mark. */
  abstract onOutputPressure(): void;
  /** No more messages will come: pending and future wait()s get null. */
  protected abstract endReading(): void;
  /** A wait() is pending: the handler is ready for what comes next. */
  protected abstract get handlerWaiting(): boolean;
  /** The socket is gone: the reading side releases what it holds. */
  protected abstract released(): void;

  /** Resolves (never rejects) once the socket is closed. */
  get closed(): Promise<void> {
    if (this.closedPromise === null) {
      this.closedPromise = this.isClosed
        ? RESOLVED
        : new Promise<void>((resolve) => {
            this.resolveClosed = resolve;
          });
    }
    return this.closedPromise;
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  /**
   * The closing handshake (RFC 6455 §7.1.2): sends a close frame after any pending sends, then
   * resolves once the peer answered and the socket closed, or after 5 s.
   */
  close(code = CloseCode.Normal as number, reason = ""): Promise<void> {
    if (!isSendableCloseCode(code))
      throw new RangeError(`close code ${String(code)} is not 1000–1003, 1007–1011 or 3000–4999`);
    if (Buffer.byteLength(reason) > MAX_CLOSE_REASON_BYTES)
      throw new RangeError("a close reason is at most 123 UTF-8 bytes");
    this.startClose(code, reason, CLOSE_TIMEOUT_MS);
    return this.closed;
  }

  /** @internal the handler returned: the peer's close is answered, or a 1000 is sent. */
  finish(): Promise<void> {
    if (this.closeAnswerPending) this.answerClose();
    else this.startClose(CloseCode.Normal, "", CLOSE_TIMEOUT_MS);
    return this.closed;
  }

  /** @internal the handler threw: close with 1011 (RFC 6455 §7.4.1). */
  closeForError(): Promise<void> {
    this.startClose(CloseCode.InternalError, "", CLOSE_TIMEOUT_MS);
    return this.closed;
  }

  /** @internal the server is shutting down: 1001, then the socket goes after the handshake, 5 s or the deadline. */
  shutdown(deadlineMs: number | undefined): void {
    const limit = deadlineMs === undefined ? CLOSE_TIMEOUT_MS : Math.min(CLOSE_TIMEOUT_MS, Math.max(0, deadlineMs));
    this.startClose(CloseCode.GoingAway, "", limit);
    this.armCloseTimer(limit);
  }

  /** @internal the heartbeat's verdict: the peer is gone (1006, never sent on the wire). */
  drop(): void {
    this.closeCode ??= CloseCode.Abnormal;
    this.socket.destroy();
  }

  /**
   * The peer's close (RFC 6455 §5.5.1): answered with the same code, then the server closes TCP
   * first (§7.1.1). As eventlet, where the handler meets the close in its next wait(), messages
   * that came before the close are the handler's to answer first: while it is still busy with one,
   * the answer waits for its next wait(), its return, or CLOSE_TIMEOUT_MS.
   */
  protected onCloseFrame(payload: Buffer): void {
    const { code, reason } = parseClosePayload(payload);
    this.closeReceived = true;
    if (this.closeCode === null) {
      this.closeCode = code;
      this.closeReason = reason;
    }
    const handlerWaiting = this.handlerWaiting;
    this.endReading();
    if (this.closeSent) {
      if (this.writer.closeWritten) this.socket.end();
    } else if (handlerWaiting) {
      this.answerClose();
    } else {
      this.closeAnswerPending = true;
      this.armCloseTimer(CLOSE_TIMEOUT_MS, () => {
        this.answerClose();
      });
    }
  }

  /** Answers the peer's close with its own code (none when it sent none). */
  protected answerClose(): void {
    const code = this.closeCode === CloseCode.NoStatus ? undefined : (this.closeCode ?? undefined);
    this.startClose(code, "", CLOSE_TIMEOUT_MS);
  }

  /** Fails the connection (RFC 6455 §7.1.7): a close frame with the error's code, now, then our FIN. */
  protected fail(err: unknown): void {
    const code = err instanceof WebSocketProtocolError ? err.closeCode : CloseCode.InternalError;
    this.endReading();
    if (!this.closeSent) {
      this.closeSent = true;
      this.closeCode ??= code;
      this.closeReason ??= "";
      this.writer.close(code, "");
    }
    this.socket.end();
    this.armCloseTimer(CLOSE_TIMEOUT_MS);
  }

  private startClose(code: number | undefined, reason: string, timeoutMs: number): void {
    if (this.closeSent || this.isClosed) return;
    this.closeSent = true;
    if (this.closeAnswerPending) {
      // Its timer was to answer the peer: this close is the answer.
      this.closeAnswerPending = false;
      if (this.closeTimer !== null) clearTimeout(this.closeTimer);
      this.closeTimer = null;
    }
    const write = (): Promise<void> => {
      this.writer.close(code, reason);
      if (this.closeReceived) this.socket.end();
      return RESOLVED;
    };
    if (!this.writer.busy) void write();
    else this.writer.enqueue(write).catch(ignore);
    this.armCloseTimer(timeoutMs);
  }

  /** After `ms`: `action`, or by default, the socket is dropped (the closing handshake took too long). */
  private armCloseTimer(ms: number, action?: () => void): void {
    if (this.isClosed) return;
    if (this.closeTimer !== null) {
      // A shorter limit (a shutdown deadline) replaces a longer one; never the reverse.
      if (ms >= CLOSE_TIMEOUT_MS && action === undefined) return;
      clearTimeout(this.closeTimer);
    }
    this.closeTimer = setTimeout(
      action ??
        (() => {
          this.closeCode ??= CloseCode.Abnormal;
          this.socket.destroy();
        }),
      ms,
    );
    this.closeTimer.unref();
  }

  /** @internal the peer's FIN: nothing more will come (allowHalfOpen is on: our side ends too). */
  onEnd(): void {
    if (!this.closeReceived) this.closeCode ??= CloseCode.Abnormal;
    this.endReading();
    this.socket.end();
    this.armCloseTimer(CLOSE_TIMEOUT_MS);
  }

  /** @internal */
  onClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closeCode ??= CloseCode.Abnormal;
    this.closeReason ??= "";
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    this.closeTimer = null;
    this.released();
    this.endReading();
    this.writer.closed();
    this.resolveClosed?.();
  }
}

function ignore(): void {
  /* the socket's close settles what is left */
}
