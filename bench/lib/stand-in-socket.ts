/**
 * The part of a net.Socket that a Connection touches, with nothing behind it: for feeding a
 * Connection bytes without the kernel (bench/micro.ts measures the JavaScript path alone;
 * test/server/pipelined-batches.test.ts counts writes). A subclass says what write() does.
 */

import { EventEmitter } from "node:events";

export abstract class StandInSocket extends EventEmitter {
  destroyed = false;
  writableLength = 0;
  writableNeedDrain = false;

  abstract write(data: string | Uint8Array, enc?: unknown, cb?: unknown): boolean;

  cork(): void {}
  uncork(): void {}
  setNoDelay(): this {
    return this;
  }
  setTimeout(): this {
    return this;
  }
  pause(): this {
    return this;
  }
  resume(): this {
    return this;
  }
  end(): this {
    queueMicrotask(() => this.emit("close", false));
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    queueMicrotask(() => this.emit("close", true));
    return this;
  }
}
