/**
 * The outbound side of a WebSocket: frames to the socket, in order, with backpressure.
 *
 * The life of a write. A frame below COPY_LIMIT is built whole and written once; a larger payload
 * is written after its header under cork (no copy). A write resolves at once while the socket
 * stays below its high-water mark, else at its next "drain": that is send()'s "the socket has
 * taken it". Compressed messages are deflated asynchronously, so sends queue behind one another
 * (`enqueue`) while any is in flight; the close frame goes through the same queue, after every
 * message sent before it, and nothing is written after it.
 *
 * Corking: the first write of a tick corks the socket and a nextTick uncorks it, so the frames a
 * handler writes in one tick (a burst of sends, a pong and a message) leave in one writev; a lone
 * frame is still one write. The socket's end() flushes what is corked.
 */

import type { Socket } from "node:net";
import { WebSocketClosedError } from "./errors.js";
import { closePayload, encodeFrame, frameHeader, Opcode } from "./frame.js";

/** Payloads from this size are written after their header rather than copied into one buffer. */
const COPY_LIMIT = 16 * 1024;
/** Past this many unsent bytes, the writer reports pressure (the reader then stops reading). */
const OUTPUT_HIGH_WATER_BYTES = 1024 * 1024;

const RESOLVED = Promise.resolve();

export class FrameWriter {
  private readonly socket: Socket;
  /** Told when the output passes OUTPUT_HIGH_WATER_BYTES. */
  private readonly owner: { onOutputPressure(): void };
  /** The close frame went to the socket: nothing may follow it. */
  closeWritten = false;
  /** More than OUTPUT_HIGH_WATER_BYTES wait in the socket; cleared at the next "drain". */
  backedUp = false;
  private chain: Promise<void> | null = null;
  private pending = 0;
  private drainWaiters: { resolve: () => void; reject: (err: Error) => void }[] | null = null;
  /** The socket is corked until the next tick. */
  corked = false;

  constructor(socket: Socket, owner: { onOutputPressure(): void }) {
    this.socket = socket;
    this.owner = owner;
  }

  /** Sends are queued (a compression is in flight): a new one must queue too, to keep the order. */
  get busy(): boolean {
    return this.chain !== null;
  }

  /** Runs `step` after every send queued before it. */
  enqueue(step: () => Promise<void>): Promise<void> {
    const previous = this.chain ?? RESOLVED;
    this.pending++;
    const run = previous.then(step);
    const settled: Promise<void> = run.then(
      () => {
        this.settle(settled);
      },
      () => {
        this.settle(settled);
      },
    );
    this.chain = settled;
    return run;
  }

  /** A data message in one frame. */
  data(opcode: number, compressed: boolean, payload: Buffer): Promise<void> {
    if (payload.length < COPY_LIMIT) return this.frame(encodeFrame(opcode, true, compressed, payload));
    if (this.closeWritten || this.socket.destroyed) return Promise.reject(new WebSocketClosedError());
    const socket = this.socket;
    this.cork();
    socket.write(frameHeader(opcode, true, compressed, payload.length));
    return this.afterWrite(socket.write(payload));
  }

  /** A whole frame, already built. */
  frame(frame: Buffer): Promise<void> {
    if (this.closeWritten || this.socket.destroyed) return Promise.reject(new WebSocketClosedError());
    this.cork();
    return this.afterWrite(this.socket.write(frame));
  }

  /** A pong: written even after our close was queued (RFC 6455 §5.5.2), errors left to "close". */
  control(frame: Buffer): void {
    if (this.closeWritten || this.socket.destroyed || this.socket.writableEnded) return;
    this.cork();
    this.afterWrite(this.socket.write(frame)).catch(ignore);
  }

  /** The close frame (§5.5.1), once; nothing is written after it. */
  close(code: number | undefined, reason: string): void {
    if (this.closeWritten || this.socket.destroyed || this.socket.writableEnded) return;
    this.cork();
    this.afterWrite(this.socket.write(encodeFrame(Opcode.Close, true, false, closePayload(code, reason)))).catch(
      ignore,
    );
    this.closeWritten = true;
  }

  /** The socket drained: waiting writes resolve. True when the pressure it reported is over. */
  drained(): boolean {
    const waiters = this.drainWaiters;
    this.drainWaiters = null;
    if (waiters !== null) for (const w of waiters) w.resolve();
    const wasBackedUp = this.backedUp;
    this.backedUp = false;
    return wasBackedUp;
  }

  /** The socket closed: waiting writes reject. */
  closed(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = null;
    if (waiters === null) return;
    const err = new WebSocketClosedError("the connection closed");
    for (const w of waiters) w.reject(err);
  }

  /** Corks the socket until the next tick, once per tick. */
  private cork(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(uncork, this);
  }

  /** @internal the tick's writes leave together. */
  uncork(): void {
    this.corked = false;
    this.socket.uncork();
  }

  private settle(link: Promise<void>): void {
    if (--this.pending === 0 && this.chain === link) this.chain = null;
  }

  private afterWrite(ok: boolean): Promise<void> {
    if (!this.backedUp && this.socket.writableLength > OUTPUT_HIGH_WATER_BYTES) {
      this.backedUp = true;
      this.owner.onOutputPressure();
    }
    if (ok) return RESOLVED;
    return new Promise((resolve, reject) => (this.drainWaiters ??= []).push({ resolve, reject }));
  }
}

function uncork(writer: FrameWriter): void {
  writer.uncork();
}

function ignore(): void {
  /* the socket's close settles what is left */
}
