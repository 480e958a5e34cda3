/** The WebSocket's protocol error: a peer broke RFC 6455 or RFC 7692, and is answered with `closeCode`. */

export class WebSocketProtocolError extends Error {
  /** The close code the connection is failed with (RFC 6455 §7.4.1): 1002, 1007 or 1009. */
  readonly closeCode: number;
  readonly code = "ERR_WEBSOCKET_PROTOCOL";
  constructor(closeCode: number, message: string) {
    super(message);
    this.name = "WebSocketProtocolError";
    this.closeCode = closeCode;
  }
}

/** send(), ping() or close() on a connection whose closing has begun, or a socket that is gone. */
export class WebSocketClosedError extends Error {
  readonly code = "ERR_WEBSOCKET_CLOSED";
  constructor(message = "the WebSocket is closed") {
    super(message);
    this.name = "WebSocketClosedError";
  }
}
