/**
 * The WebSocket a handler is given (API.md, "WebSocket"): eventlet's RFC6455WebSocket, over a
 * socket the server handed over after the 101.
 *
 * The life of a connection. Bytes from the socket go to the FrameReader; frames are handled in
 * order, one at a time: control frames at once (a ping is answered, a close ends reading), data
 * frames into a MessageBuilder (through the inflater for a compressed message, which is
 * asynchronous: reading waits for it). Whole messages wait in a queue for wait(). The states are
 * three: open; closing (a close frame sent or received); closed (the socket is gone); the closing
 * handshake is closing.ts, this class's base.
 *
 * Backpressure, both ways. Reading stops while the handler leaves more than QUEUE_HIGH_WATER
 * of messages unconsumed, and while more than OUTPUT_HIGH_WATER_BYTES of our own frames wait for a
 * peer that does not read (so its pings, or its messages echoed, cannot grow our memory). send()
 * resolves once the socket has taken the frame: at once below the socket's high-water mark, at
 * its next "drain" above it.
 */

import type { Socket } from "node:net";
import type { Environ } from "../gateway/types.js";
import { encodeFrame, encodeTextFrame, MAX_CONTROL_PAYLOAD, Opcode } from "./frame.js";
import { FrameReader, type Frame } from "./frame-reader.js";
import { MessageAssembler } from "./message-assembler.js";
import { PerMessageDeflate } from "./deflate.js";
import type { DeflateParams } from "./extensions.js";
import { WebSocketClosedError } from "./errors.js";
import { MessageQueue, type Message } from "./message-queue.js";
import { MessageIterator } from "./message-iterator.js";
import { ClosingHandshake } from "./closing.js";
import { routeSocketEvents } from "./socket-events.js";
import type { WebSocketConfig } from "./options.js";

export type { Message };

/** send()'s data: a string goes as text, bytes as binary. */
export type SendData = string | Uint8Array | ArrayBuffer;

export class WebSocket extends ClosingHandshake implements AsyncIterable<Message> {
  /** PATH_INFO of the handshake request. */
  readonly path: string;
  /** The subprotocol chosen, "" when none. */
  readonly protocol: string;
  /** The Origin header, "" when none. */
  readonly origin: string;
  readonly environ: Environ;
  /** The protocol version (RFC 6455's 13). */
  readonly version = 13;
  /** @internal for the heartbeat: bytes came from the peer since its last look (cheaper than a clock read per chunk). */
  seen = true;
  /** @internal for the heartbeat: when it last saw bytes from the peer. */
  lastSeenMs = 0;
  /** @internal for the heartbeat: when its ping went out (0: none outstanding). */
  heartbeatPingMs = 0;

  /** Made with the first bytes from the peer (an idle connection holds neither): see reading(). */
  private reader: FrameReader | null = null;
  private assembler: MessageAssembler | null = null;
  private readonly maxMessageBytes: number;
  private readonly deflate: PerMessageDeflate | null;
  private readonly threshold: number;
  private readonly messages = new MessageQueue();

  private inflating = false;
  private pausedByQueue = false;
  /** No more messages will come (a close frame, a protocol failure, the socket's end). */
  private readDone = false;

  /** @internal made by WebSocketWSGI once the 101 is out. */
  constructor(
    socket: Socket,
    environ: Environ,
    protocol: string,
    deflate: DeflateParams | null,
    config: WebSocketConfig,
    head: Buffer,
  ) {
    super(socket);
    this.environ = environ;
    this.path = environ.PATH_INFO;
    this.protocol = protocol;
    this.origin = typeof environ.HTTP_ORIGIN === "string" ? environ.HTTP_ORIGIN : "";
    this.deflate = deflate === null ? null : new PerMessageDeflate(deflate);
    this.threshold = config.deflate?.threshold ?? 0;
    this.maxMessageBytes = config.maxMessageBytes;
    routeSocketEvents(socket, this);
    if (socket.destroyed) {
      queueMicrotask(() => {
        this.onClose();
      });
      return;
    }
    if (head.length > 0) this.onData(head);
    socket.resume();
  }

  // ---- the handler's API (close() and closed: closing.ts) ----

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

  /** The messages until close. A plain iterator, not an async generator: one promise per message. */
  [Symbol.asyncIterator](): AsyncIterableIterator<Message> {
    return new MessageIterator(this);
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

  // ---- for the heartbeat ----

  /** @internal the heartbeat's ping. */
  heartbeatPing(now: number): void {
    this.heartbeatPingMs = now;
    if (!this.closeSent && !this.isClosed)
      this.writer.frame(encodeFrame(Opcode.Ping, true, false, Buffer.alloc(0))).catch(ignore);
  }

  /** @internal reading is paused by us: the peer's silence is not its fault. */
  get readingPaused(): boolean {
    return this.pausedByQueue || this.writer.backedUp || this.inflating;
  }

  // ---- reading ----

  /** @internal */
  onData(chunk: Buffer): void {
    this.seen = true;
    if (this.readDone) return; // after a close or a failure, what comes is dropped
    (this.reader ?? this.startReading()).push(chunk);
    this.processFrames();
  }

  /** The frame reader and message assembler, made now: bytes came. */
  private startReading(): FrameReader {
    const reader = new FrameReader(this.deflate !== null, this.maxMessageBytes);
    this.assembler = new MessageAssembler(reader, this.maxMessageBytes, this.deflate);
    this.reader = reader;
    return reader;
  }

  private processFrames(): void {
    try {
      while (!this.readDone && !this.inflating && !this.pausedByQueue) {
        const frame = this.reader?.read() ?? null;
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
    const result = (this.assembler as MessageAssembler).add(frame);
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

  protected override endReading(): void {
    this.readDone = true;
    this.messages.end();
  }

  /** @internal the writer's output passed its high-water mark: reading pauses. */
  override onOutputPressure(): void {
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

  protected override get handlerWaiting(): boolean {
    return this.messages.waiting;
  }

  protected override released(): void {
    this.deflate?.close();
  }

  /** @internal */
  onDrain(): void {
    if (this.writer.drained()) {
      this.updateFlow();
      this.processFrames();
    }
  }
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
