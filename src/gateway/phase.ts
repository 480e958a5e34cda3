/** Where an exchange is, and how it ended (gateway/response.ts). */

/**
 * Where an exchange is, in order (one field, rather than a flag for each):
 * the head not yet written; the body going out; then one of the ends.
 */
export const enum Phase {
  /** The app runs; nothing of the response is written (startResponse may have been called). */
  Head,
  /** The head is written; the body goes out. */
  Body,
  /** The whole response is in the connection's output. */
  Complete,
  /** Cut short after an error, or the client left: the connection is cut, nothing more is sent. */
  Aborted,
  /** The application took the socket (eventlet.already_handled, getSocket()). */
  HandedOver,
  /** takeOver(): a 101 went out and the socket is another protocol's. */
  Upgraded,
}

/** How an exchange ended, as the connection reads it (conclude()). */
export const enum Outcome {
  /** The response is complete and the connection may serve another request. */
  KeepAlive,
  /** The response is complete (or the client left) and said Connection: close: end the connection. */
  Close,
  /** The response is incomplete: cut the connection, send nothing more. */
  Aborted,
  /** The socket is another protocol's, and that protocol is over: destroy it. */
  Upgraded,
  /** The application took the socket: the server lets it go. */
  HandedOver,
}
