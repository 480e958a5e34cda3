/**
 * The log files, owned by the primary alone: every worker's lines come to it (over IPC, or as
 * the worker's stdout/stderr), so each file has one writer and lines arrive whole. `-` is the
 * primary's stdout (access log) or stderr (error log). USR1 reopens the files (log rotation).
 */

import { createWriteStream, type WriteStream } from "node:fs";
import type { Readable } from "node:stream";

export class LogSink {
  private readonly target: string;
  private readonly std: NodeJS.WriteStream;
  private stream: WriteStream | null = null;

  /** `target`: a path, or "-" for `std`. Opening a file that cannot be opened throws (at start-up). */
  constructor(target: string, std: NodeJS.WriteStream) {
    this.target = target;
    this.std = std;
    // A reader of our stdout or stderr that went away (EPIPE) must not take the server down.
    if (std.listenerCount("error") === 0) std.on("error", ignoreError);
    this.open();
  }

  write(text: string): void {
    if (text === "") return;
    (this.stream ?? this.std).write(text);
  }

  /** Closes and opens the file again (after logrotate moved it). */
  reopen(): void {
    if (this.stream === null) return;
    const old = this.stream;
    this.open();
    old.end();
  }

  close(): Promise<void> {
    const stream = this.stream;
    if (stream === null) return Promise.resolve();
    this.stream = null;
    return new Promise((resolve) => stream.end(resolve));
  }

  private open(): void {
    if (this.target === "-") return;
    const stream = createWriteStream(this.target, { flags: "a" });
    stream.on("error", (err) => {
      this.std.write(`eventwsgi: cannot write the log file ${this.target}: ${err.message}\n`);
    });
    this.stream = stream;
  }
}

function ignoreError(): void {}

/**
 * Forwards a worker's stdout or stderr to a sink a whole line at a time (a write from one worker
 * may end mid-line; the rest of the line comes later and must not be cut by another worker's).
 */
export function forwardLines(from: Readable, to: (text: string) => void): void {
  let partial = "";
  from.setEncoding("utf8");
  from.on("data", (chunk: string) => {
    const text = partial + chunk;
    const end = text.lastIndexOf("\n") + 1;
    partial = text.slice(end);
    if (end > 0) to(text.slice(0, end));
    // A line with no end is let through in pieces rather than held without bound.
    if (partial.length > 65536) {
      to(`${partial}\n`);
      partial = "";
    }
  });
  from.on("end", () => {
    if (partial !== "") to(`${partial}\n`);
    partial = "";
  });
}
