/**
 * Protocol errors. Each knows the status it is answered with and a stable
 * `code`; `renderErrorResponse` is the one place their responses are built.
 * The bytes are eventlet's: an HTTP/1.0 status line, `Connection: close`,
 * an empty body — and the connection is closed after them.
 */

export class HttpProtocolError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly code: string;
  constructor(status: number, reason: string, code: string, message?: string) {
    super(message ?? `${status} ${reason}`);
    this.name = new.target.name;
    this.status = status;
    this.reason = reason;
    this.code = code;
  }
}

/** Malformed request line, header, framing or Host (RFC 9112 §2–§7). */
export class BadRequestError extends HttpProtocolError {
  constructor(message: string) {
    super(400, "Bad Request", "ERR_BAD_REQUEST", message);
  }
}

/** The request line is `urlLengthLimit` bytes or longer (eventlet's 414). */
export class RequestLineTooLongError extends HttpProtocolError {
  constructor() {
    super(414, "Request URI Too Long", "ERR_REQUEST_LINE_TOO_LONG");
  }
}

/** A header line of MAX_HEADER_LINE bytes or more (eventlet's `HeaderLineTooLong`). */
export class HeaderLineTooLong extends HttpProtocolError {
  constructor() {
    super(400, "Header Line Too Long", "ERR_HEADER_LINE_TOO_LONG");
  }
}

/** Header lines adding up to more than MAX_TOTAL_HEADER_SIZE bytes (eventlet's `HeadersTooLarge`). */
export class HeadersTooLarge extends HttpProtocolError {
  constructor() {
    super(400, "Headers Too Large", "ERR_HEADERS_TOO_LARGE");
  }
}

/** A malformed chunked body (eventlet's `ChunkReadError`). */
export class ChunkReadError extends HttpProtocolError {
  constructor(message: string) {
    super(400, "Bad Request", "ERR_CHUNK_READ", message);
  }
}

/** A transfer coding this server does not implement (RFC 9112 §6.1). */
export class NotImplementedError extends HttpProtocolError {
  constructor(message: string) {
    super(501, "Not Implemented", "ERR_NOT_IMPLEMENTED", message);
  }
}

/** A well-formed HTTP version other than 1.0 and 1.1. */
export class VersionNotSupportedError extends HttpProtocolError {
  constructor(version: string) {
    super(505, "HTTP Version Not Supported", "ERR_VERSION_NOT_SUPPORTED", `unsupported version ${version}`);
  }
}

/** A head not complete within headersTimeout, or a body not within requestTimeout (RFC 9110 §15.5.9). */
export class RequestTimeoutError extends HttpProtocolError {
  constructor() {
    super(408, "Request Timeout", "ERR_REQUEST_TIMEOUT");
  }
}

/** The client went away before the request body was complete. */
export class ClientDisconnectedError extends Error {
  readonly code = "ERR_CLIENT_DISCONNECTED";
  constructor(message = "client disconnected before the request body was complete") {
    super(message);
    this.name = "ClientDisconnectedError";
  }
}

/** eventlet's names, with the `Error` suffix that the other error classes carry. */
export { HeaderLineTooLong as HeaderLineTooLongError, HeadersTooLarge as HeadersTooLargeError };

/** An error with its stack, for log.error. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return `non-Error thrown: ${String(err)}`;
}

/** The response to a protocol error: always closes the connection. */
export function renderErrorResponse(err: HttpProtocolError): string {
  return `HTTP/1.0 ${err.status} ${err.reason}\r\nConnection: close\r\nContent-length: 0\r\n\r\n`;
}
