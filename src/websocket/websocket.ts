/**
 * The WebSocket a handler is given (API.md, "WebSocket"): eventlet's RFC6455WebSocket, over a
 * socket the server handed over after the 101.
 *
 * The life of a connection. Bytes from the socket go to the FrameReader; frames are handled in
 * order, one at a time: control frames at once (a ping is answered, a close ends reading), data
 * frames into a MessageBuilder (through the inflater for a compressed message, which is
 * asynchronous: reading waits for it). Whole messages wait in a queue for wait(). The states are
 * three: open; closing (a close frame sent or received); closed (the socket is gone).
 *
 * Backpressure, both ways. Reading stops while the handler leaves more than QUEUE_HIGH_WATER
 * of messages unconsumed, and while more than OUTPUT_HIGH_WATER_BYTES of our own frames wait for a
 * peer that does not read (so its pings, or its messages echoed, cannot grow our memory). send()
 * resolves once the socket has taken the frame: at once below the socket's high-water mark, at
 * its next "drain" above it.
 */

import type { Socket } from "node:net";
import type { Environ } from "../gateway/types.js";
import {
  CloseCode,
  encodeFrame,
  encodeTextFrame,
  isSendableCloseCode,
  MAX_CLOSE_REASON_BYTES,
  MAX_CONTROL_PAYLOAD,
  Opcode,
} from "./frame.js";
import { FrameReader, parseClosePayload, type Frame } from "./frame-reader.js";
import { MessageAssembler } from "./message-assembler.js";
import { PerMessageDeflate } from "./deflate.js";
import type { DeflateParams } from "./extensions.js";
import { WebSocketClosedError, WebSocketProtocolError } from "./errors.js";
import { FrameWriter } from "./frame-writer.js";
import { MessageQueue, type Message } from "./message-queue.js";
import { CLOSE_TIMEOUT_MS, type WebSocketConfig } from "./options.js";

export type { Message };

/** send()'s data: a string goes as text, bytes as binary. */
export type SendData = string | Uint8Array | ArrayBuffer;

const RESOLVED = Promise.resolve();
const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true };
const SOCKET_OWNER = Symbol("eventwsgi.websocket");
type OwnedSocket = Socket & { [SOCKET_OWNER]: WebSocket };

export class WebSocket implements AsyncIterable<Message> {
  /** PATH_INFO of the handshake request. */
  readonly path: string;
  /** The subprotocol chosen, "" when none. */
  readonly protocol: string;
  /** The Origin header, "" when none. */
  readonly origin: string;
  readonly environ: Environ;
  /** The protocol version (RFC 6455's 13). */
  readonly version = 13;
  /** The peer's close code (1005: its close had none; 1006: no close frame came), or the code we failed it with. */
  closeCode: number | null = null;
  closeReason: string | null = null;
  /** @internal for the heartbeat: bytes came from the peer since its last look (cheaper than a clock read per chunk). */
  seen = true;
  /** @internal for the heartbeat: when it last saw bytes from the peer. */
  lastSeenMs = 0;
  /** @internal for the heartbeat: when its ping went out (0: none outstanding). */
  heartbeatPingMs = 0;

  private readonly socket: Socket;
  private readonly reader: FrameReader;
  private readonly assembler: MessageAssembler;
  private readonly deflate: PerMessageDeflate | null;
  private readonly threshold: number;

  private readonly messages = new MessageQueue();
  /** Made when first asked for: an idle connection holds no promise. */
  private closedPromise: Promise<void> | null = null;
  private resolveClosed: (() => void) | null = null;
  private readonly writer: FrameWriter;

  private inflating = false;
  private pausedByQueue = false;
  /** No more messages will come (a close frame, a protocol failure, the socket's end). */
  private readDone = false;
  private closeSent = false;
  private closeReceived = false;
  /** The peer's close waits for the handler to be done with the messages before it. */
  private closeAnswerPending = false;
  private isClosed = false;
  private closeTimer: NodeJS.Timeout | null = null;

  /** @internal made by WebSocketWSGI once the 101 is out. */
  constructor(
    socket: Socket,
    environ: Environ,
    protocol: string,
    deflate: DeflateParams | null,
    config: WebSocketConfig,
    head: Buffer,
  ) {
    this.socket = socket;
    this.writer = new FrameWriter(socket, this);
    this.environ = environ;
    this.path = environ.PATH_INFO;
    this.protocol = protocol;
    this.origin = typeof environ.HTTP_ORIGIN === "string" ? environ.HTTP_ORIGIN : "";
    this.deflate = deflate === null ? null : new PerMessageDeflate(deflate);
    this.threshold = config.deflate?.threshold ?? 0;
    this.reader = new FrameReader(deflate !== null, config.maxMessageBytes);
    this.assembler = new MessageAssembler(this.reader, config.maxMessageBytes, this.deflate);
    (socket as OwnedSocket)[SOCKET_OWNER] = this;
    socket.on("data", onSocketData);
    socket.on("end", onSocketEnd);
    socket.on("close", onSocketClose);
    socket.on("error", onSocketError);
    socket.on("drain", onSocketDrain);
    if (socket.destroyed) {
      queueMicrotask(() => {
        this.onClose();
      });
      return;
    }
    if (head.length > 0) this.onData(head);
    socket.resume();
  }

  // ---- the handler's API ----

  /** Sends a message: text for a string, binary for bytes. Resolves once the socket has taken it. */
  send(data: SendData): Promise<void> {
    if (this.closeSent || this.isClosed) {
      return Promise.reject(new WebSocketClosedError("send() after the close began"));
    }
    if (typeof data === "string") {
      const deflate = this.deflate;
      if (deflate !== null && data.length * 3 >= this.threshold && Buffer.byteLength(data) >= this.threshold) {
        const payload = Buffer.from(data);
        return this.writer.enqueue(() => deflate.deflate(payload).then((d) => this.writer.data(Opcode.Text, true, d)));
      }
      if (this.writer.busy) return this.writer.enqueue(() => this.writer.frame(encodeTextFrame(data)));
      return this.writer.frame(encodeTextFrame(data));
    }
    const bytes = toBuffer(data, "send()");
    const deflate = this.deflate;
    if (deflate !== null && bytes.length >= this.threshold) {
      return this.writer.enqueue(() => deflate.deflate(bytes).then((d) => this.writer.data(Opcode.Binary, true, d)));
    }
    if (this.writer.busy) return this.writer.enqueue(() => this.writer.data(Opcode.Binary, false, bytes));
    return this.writer.data(Opcode.Binary, false, bytes);
  }

  /** The next whole message; null once no more will come. */
  wait(): Promise<Message | null> {
    const message = this.messages.shift();
    if (message !== undefined) {
      if (this.pausedByQueue && !this.messages.full) {
        this.pausedByQueue = false;
        this.updateFlow();
        this.processFrames();
      }
      return Promise.resolve(message);
    }
    // The handler is done with what came before the peer's close: now it is answered.
    if (this.closeAnswerPending) this.answerClose();
    return this.messages.wait();
  }

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

  /** The messages until close. A plain iterator, not an async generator: one promise per message. */
  [Symbol.asyncIterator](): AsyncIterableIterator<Message> {
    return new MessageIterator(this);
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

  /** Sends a ping (at most 125 bytes of data). */
  ping(data: SendData = ""): Promise<void> {
    const payload = typeof data === "string" ? Buffer.from(data) : toBuffer(data, "ping()");
    if (payload.length > MAX_CONTROL_PAYLOAD) throw new RangeError("a ping's data is at most 125 bytes");
    if (this.closeSent || this.isClosed)
      return Promise.reject(new WebSocketClosedError("ping() after the close began"));
    const frame = encodeFrame(Opcode.Ping, true, false, payload);
    return !this.writer.busy ? this.writer.frame(frame) : this.writer.enqueue(() => this.writer.frame(frame));
  }

  // ---- for WebSocketWSGI and the heartbeat ----

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

  /** @internal the heartbeat's ping. */
  heartbeatPing(now: number): void {
    this.heartbeatPingMs = now;
    if (!this.closeSent && !this.isClosed)
      this.writer.frame(encodeFrame(Opcode.Ping, true, false, Buffer.alloc(0))).catch(ignore);
  }

  /** @internal the heartbeat's verdict: the peer is gone (1006, never sent on the wire). */
  drop(): void {
    this.closeCode ??= CloseCode.Abnormal;
    this.socket.destroy();
  }

  /** @internal reading is paused by us: the peer's silence is not its fault. */
  get readingPaused(): boolean {
    return this.pausedByQueue || this.writer.backedUp || this.inflating;
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  // ---- reading ----

  /** @internal */
  onData(chunk: Buffer): void {
    this.seen = true;
    if (this.readDone) return; // after a close or a failure, what comes is dropped
    this.reader.push(chunk);
    this.processFrames();
  }

  private processFrames(): void {
    try {
      while (!this.readDone && !this.inflating && !this.pausedByQueue) {
        const frame = this.reader.read();
        if (frame === null) break;
        this.handleFrame(frame);
      }
    } catch (err) {
      this.fail(err);
    }
    this.updateFlow();
  }

  private handleFrame(frame: Frame): void {
    switch (frame.opcode) {
      case Opcode.Ping:
        if (!this.closeSent) this.writer.control(encodeFrame(Opcode.Pong, true, false, frame.payload));
        return;
      case Opcode.Pong:
        return;
      case Opcode.Close:
        this.onCloseFrame(frame.payload);
        return;
      default:
        this.dataFrame(frame);
    }
  }

  private dataFrame(frame: Frame): void {
    const result = this.assembler.add(frame);
    if (result === null) return;
    if (!(result instanceof Promise)) {
      this.deliver(result);
      return;
    }
    // Inflation is asynchronous: frames wait in the reader until it is done.
    this.inflating = true;
    result.then(
      (message) => {
        this.inflating = false;
        if (message !== null) this.deliver(message);
        this.processFrames();
      },
      (err: unknown) => {
        this.inflating = false;
        this.fail(err);
      },
    );
  }

  private deliver(message: Message): void {
    this.messages.push(message);
    if (this.messages.full) this.pausedByQueue = true;
  }

  /**
   * The peer's close (RFC 6455 §5.5.1): answered with the same code, then the server closes TCP
   * first (§7.1.1). As eventlet, where the handler meets the close in its next wait(), messages
   * that came before the close are the handler's to answer first: while it is still busy with one,
   * the answer waits for its next wait(), its return, or CLOSE_TIMEOUT_MS.
   */
  private onCloseFrame(payload: Buffer): void {
    const { code, reason } = parseClosePayload(payload);
    this.closeReceived = true;
    if (this.closeCode === null) {
      this.closeCode = code;
      this.closeReason = reason;
    }
    const handlerWaiting = this.messages.waiting;
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
  private answerClose(): void {
    const code = this.closeCode === CloseCode.NoStatus ? undefined : (this.closeCode ?? undefined);
    this.startClose(code, "", CLOSE_TIMEOUT_MS);
  }

  /** Fails the connection (RFC 6455 §7.1.7): a close frame with the error's code, now, then our FIN. */
  private fail(err: unknown): void {
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

  private endReading(): void {
    this.readDone = true;
    this.messages.end();
  }

  /** @internal the writer's output passed its high-water mark: reading pauses. */
  onOutputPressure(): void {
    this.updateFlow();
  }

  /** Pauses or resumes the socket as the queue, the output and the inflater allow. */
  private updateFlow(): void {
    if (this.isClosed) return;
    const shouldRead = this.readDone || (!this.pausedByQueue && !this.writer.backedUp && !this.inflating);
    if (shouldRead) {
      if (this.socket.isPaused()) this.socket.resume();
    } else if (!this.socket.isPaused()) {
      this.socket.pause();
    }
  }

  // ---- closing ----

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
    this.deflate?.close();
    this.endReading();
    this.writer.closed();
    this.resolveClosed?.();
  }

  /** @internal */
  onDrain(): void {
    if (this.writer.drained()) {
      this.updateFlow();
      this.processFrames();
    }
  }
}

/** `for await (const m of ws)`: a class, so an iteration costs no closures. */
class MessageIterator implements AsyncIterableIterator<Message> {
  private readonly ws: WebSocket;
  constructor(ws: WebSocket) {
    this.ws = ws;
  }
  next(): Promise<IteratorResult<Message>> {
    return this.ws.wait().then(toResult);
  }
  return(): Promise<IteratorResult<Message>> {
    return Promise.resolve(DONE);
  }
  [Symbol.asyncIterator](): AsyncIterableIterator<Message> {
    return this;
  }
}

function toResult(value: Message | null): IteratorResult<Message> {
  return value === null ? DONE : { value, done: false };
}

/** Bytes as a Buffer over the same memory; anything else is a TypeError (eventlet sent its str()). */
function toBuffer(data: unknown, what: string): Buffer {
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError(`${what} takes a string or bytes, not ${typeof data}`);
}

function ignore(): void {
  /* the socket's close settles what is left */
}

function onSocketData(this: OwnedSocket, chunk: Buffer): void {
  this[SOCKET_OWNER].onData(chunk);
}
function onSocketEnd(this: OwnedSocket): void {
  this[SOCKET_OWNER].onEnd();
}
function onSocketClose(this: OwnedSocket): void {
  this[SOCKET_OWNER].onClose();
}
function onSocketDrain(this: OwnedSocket): void {
  this[SOCKET_OWNER].onDrain();
}
function onSocketError(): void {
  /* a reset or a broken pipe: "close" follows, and closeCode says 1006 */
}
