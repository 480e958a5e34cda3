/**
 * `for await (const m of ws)`: a class, not an async generator, so an iteration costs one promise
 * per message and no closures.
 */

import type { Message } from "./message-queue.js";

const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true };

export class MessageIterator implements AsyncIterableIterator<Message> {
  private readonly source: { wait(): Promise<Message | null> };
  constructor(source: { wait(): Promise<Message | null> }) {
    this.source = source;
  }
  next(): Promise<IteratorResult<Message>> {
    return this.source.wait().then(toResult);
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
