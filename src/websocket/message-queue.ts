/**
 * Whole messages between the reader and the handler: handed straight to a waiting wait(), or
 * queued. The queue reports itself full past QUEUE_HIGH_WATER (messages or bytes), and the
 * WebSocket then stops reading the socket until the handler catches up: a handler that does not
 * consume messages costs at most this much memory (API.md, backpressure).
 */

/** A message: a string for text, a Buffer for binary. */
export type Message = string | Buffer;

const QUEUE_HIGH_WATER_COUNT = 64;
const QUEUE_HIGH_WATER_BYTES = 1024 * 1024;

export class MessageQueue {
  // Made when first needed: an idle connection holds neither.
  private queue: Message[] | null = null;
  private bytes = 0;
  private waiters: ((m: Message | null) => void)[] | null = null;
  private ended = false;

  /** A wait() is pending: the handler is ready for the next message. */
  get waiting(): boolean {
    return this.waiters !== null && this.waiters.length > 0;
  }

  get full(): boolean {
    return (this.queue?.length ?? 0) >= QUEUE_HIGH_WATER_COUNT || this.bytes >= QUEUE_HIGH_WATER_BYTES;
  }

  /** Hands the message to a waiting wait(), or queues it. */
  push(message: Message): void {
    const waiter = this.waiters?.shift();
    if (waiter !== undefined) {
      waiter(message);
      return;
    }
    (this.queue ??= []).push(message);
    this.bytes += message.length;
  }

  /** The next queued message, if any. */
  shift(): Message | undefined {
    const message = this.queue?.shift();
    if (message !== undefined) this.bytes -= message.length;
    return message;
  }

  /** The next message, or null once ended and empty. */
  wait(): Promise<Message | null> {
    const message = this.shift();
    if (message !== undefined) return Promise.resolve(message);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => (this.waiters ??= []).push(resolve));
  }

  /** No more messages will come: pending waits get null (queued messages are still delivered). */
  end(): void {
    this.ended = true;
    const waiters = this.waiters;
    this.waiters = null;
    if (waiters !== null) for (const waiter of waiters) waiter(null);
  }
}
