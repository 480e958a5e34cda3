/**
 * A worker's logger. Its lines travel to the primary over IPC, gathered per turn of the event
 * loop into one message, and the primary alone writes the log files: lines from every worker
 * arrive whole, never interleaved mid-line, and USR1 reopens the files in one place.
 *
 * Access lines are told from the server's other `info` lines by a mark that the CLI's log
 * format puts in front of them (accessFormat); the mark never reaches a file.
 */

import { compileLogFormat, type AccessLogFields } from "../access-log.js";
import type { Logger } from "../logger.js";
import type { ToPrimary } from "./messages.js";

const ACCESS_MARK = "\u0000access\u0000";

/** The access line format for ServerOptions.logFormat: the user's format, marked as an access line. */
export function accessFormat(format: string): (fields: AccessLogFields) => string {
  const render = compileLogFormat(format);
  return (fields) => ACCESS_MARK + render(fields);
}

export class WorkerLog implements Logger {
  private access = "";
  private error_ = "";
  private scheduled = false;
  private readonly debugOn: boolean;

  constructor(debugOn: boolean) {
    this.debugOn = debugOn;
  }

  info(message: string): void {
    if (message.startsWith(ACCESS_MARK)) this.access += line(message.slice(ACCESS_MARK.length));
    else this.error_ += line(message);
    this.schedule();
  }

  debug(message: string): void {
    if (!this.debugOn) return;
    this.error_ += line(message);
    this.schedule();
  }

  error(message: string): void {
    this.error_ += line(message);
    this.schedule();
  }

  /** Sends what is gathered now; `done` is called once it is handed to the channel. */
  flush(done?: () => void): void {
    this.scheduled = false;
    if (this.access === "" && this.error_ === "") {
      done?.();
      return;
    }
    const message: ToPrimary = { t: "log", access: this.access, error: this.error_ };
    this.access = "";
    this.error_ = "";
    if (process.send === undefined || !process.connected) {
      process.stderr.write(message.access + message.error);
      done?.();
      return;
    }
    process.send(message, undefined, {}, () => done?.());
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.flush();
    });
  }
}

function line(message: string): string {
  return message.endsWith("\n") ? message : `${message}\n`;
}
