/**
 * validator()'s wrappers, as wsgiref.validate's InputWrapper, ErrorWrapper
 * and IteratorWrapper: each passes every call through to the real object
 * and checks how it is used.
 */

import type { Input } from "../gateway/input.js";
import type { Body, Chunk, ErrorStream } from "../gateway/types.js";
import { checkChunk } from "./checks.js";
import { check, Section } from "./error.js";

const S = Section.streams;

function checkSize(size: unknown, method: string): void {
  check(
    size === undefined || (typeof size === "number" && Number.isInteger(size)),
    `wsgi.input.${method}() was given a size that is not an integer`,
    S,
    () => String(size),
  );
}

/** wsgi.input, checked: integer sizes, and never closed (the server owns it). */
export function wrapInput(input: Input): Input {
  const wrapped = {
    read: (size?: number) => {
      checkSize(size, "read");
      return input.read(size);
    },
    readline: (size?: number) => {
      checkSize(size, "readline");
      return input.readline(size);
    },
    readlines: (hint?: number) => {
      checkSize(hint, "readlines");
      return input.readlines(hint);
    },
    [Symbol.asyncIterator]: () => input[Symbol.asyncIterator](),
    discard: () => input.discard(),
    getSocket: () => input.getSocket(),
    setHundredContinueResponseHeaders: (headers: [string, string][]) => {
      input.setHundredContinueResponseHeaders(headers);
    },
    sendHundredContinueResponse: () => input.sendHundredContinueResponse(),
    close: () => {
      check(false, "wsgi.input.close() must not be called", S, () => "the server closes it");
    },
  };
  for (const key of ["buffered", "complete", "error", "waiting", "continueExpected", "continueSent"] as const) {
    Object.defineProperty(wrapped, key, { get: () => input[key], enumerable: true });
  }
  return wrapped as unknown as Input;
}

/** wsgi.errors, checked: strings only, never closed. */
export function wrapErrors(errors: ErrorStream): ErrorStream {
  return {
    write: (chunk: string) => {
      check(
        typeof chunk === "string",
        "wsgi.errors.write() was given something that is not a string",
        S,
        () => typeof chunk,
      );
      return errors.write(chunk);
    },
    close: () => {
      check(false, "wsgi.errors.close() must not be called", S, () => "the server owns it");
    },
  } as ErrorStream;
}

/** What the body wrapper needs to know of the exchange. */
export interface BodyWatch {
  /** start_response has been called. */
  readonly started: boolean;
}

const A = Section.appSide;

function checkItem(chunk: unknown, watch: BodyWatch): void {
  checkChunk(chunk, "a body item");
  // Adapted: an empty item may come first (PEP 3333 holds the head until the first non-empty one).
  const empty = (chunk as Chunk).length === 0;
  check(watch.started || empty, "the body yielded before start_response() was called", A, () => "the first item");
}

/** close() once, then the real one. */
function closeOnce(body: Body): () => void | Promise<void> {
  let closed = false;
  return () => {
    check(!closed, "the body's close() was called twice", A, () => "close() must be called exactly once");
    closed = true;
    return body.close?.();
  };
}

/**
 * The body, checked as it is iterated. An array stays an array (the server
 * gives it a Content-Length), its items checked at once; an iterable is
 * wrapped, keeping whether it is synchronous or asynchronous.
 */
export function wrapBody(body: unknown, watch: BodyWatch): Body {
  check(
    typeof body !== "string" && !(body instanceof Uint8Array),
    "the application returned a string or bytes as its body, not an iterable of them",
    A,
    () => "return [body] instead",
  );
  check(body !== null && typeof body === "object", "the application's body is not an iterable", A, () => String(body));
  const b = body as Body;
  if (Array.isArray(b)) {
    for (const chunk of b as unknown[]) checkItem(chunk, watch);
    return b as Chunk[];
  }
  const close = closeOnce(b);
  const sync = (b as Iterable<Chunk>)[Symbol.iterator];
  if (typeof sync === "function") {
    return {
      *[Symbol.iterator]() {
        for (const chunk of { [Symbol.iterator]: () => sync.call(b) }) {
          checkItem(chunk, watch);
          yield chunk;
        }
      },
      close,
    };
  }
  const async = (b as AsyncIterable<Chunk>)[Symbol.asyncIterator];
  check(typeof async === "function", "the application's body is not an iterable", A, () =>
    Object.prototype.toString.call(b),
  );
  return {
    async *[Symbol.asyncIterator]() {
      for await (const chunk of { [Symbol.asyncIterator]: () => async.call(b) }) {
        checkItem(chunk, watch);
        yield chunk;
      }
    },
    close,
  };
}
