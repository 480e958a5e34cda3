/** The `log` option: a logger with info/debug/error, or a writable stream (info and error only). */

export interface Logger {
  info(message: string): void;
  debug(message: string): void;
  error(message: string): void;
}

export interface WritableLike {
  write(chunk: string): unknown;
}

export type LogTarget = Logger | WritableLike;

function isLogger(target: LogTarget): target is Logger {
  const t = target as Partial<Logger>;
  return typeof t.info === "function" && typeof t.error === "function";
}

export function toLogger(target: LogTarget): Logger {
  if (isLogger(target)) {
    const debug = typeof target.debug === "function" ? target.debug.bind(target) : () => {};
    return { info: target.info.bind(target), debug, error: target.error.bind(target) };
  }
  if (typeof target.write !== "function") throw new TypeError("log must be a logger or a writable stream");
  const line = (message: string): void => {
    target.write(message.endsWith("\n") ? message : `${message}\n`);
  };
  return { info: line, debug: () => {}, error: line };
}

export { describeError } from "./errors.js";
