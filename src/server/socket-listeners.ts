/**
 * The listeners a connection puts on its socket. They are shared functions
 * that find their handler on the socket, rather than closures made for every
 * connection: cheaper to accept, less to hold (10,000 idle connections).
 */

import type { Socket } from "node:net";

/** What handles a socket's events: the connection. */
export interface SocketHandler {
  onData(chunk: Buffer): void;
  onEnd(): void;
  onError(err: Error): void;
  onClose(): void;
  onDrain(): void;
  onTimeout(): void;
}

const HANDLER = Symbol("eventwsgi.connection");
type OwnedSocket = Socket & { [HANDLER]: SocketHandler };

function onSocketData(this: OwnedSocket, chunk: Buffer): void {
  this[HANDLER].onData(chunk);
}
function onSocketEnd(this: OwnedSocket): void {
  this[HANDLER].onEnd();
}
function onSocketError(this: OwnedSocket, err: Error): void {
  this[HANDLER].onError(err);
}
function onSocketClose(this: OwnedSocket): void {
  this[HANDLER].onClose();
}
export function onSocketDrain(this: OwnedSocket): void {
  this[HANDLER].onDrain();
}
function onSocketTimeout(this: OwnedSocket): void {
  this[HANDLER].onTimeout();
}

/** Listens to `socket` for `handler`; "drain" is listened to only once something waits for it (onSocketDrain). */
export function attachSocket(socket: Socket, handler: SocketHandler, timeoutMs: number): void {
  (socket as OwnedSocket)[HANDLER] = handler;
  socket.on("data", onSocketData);
  socket.on("end", onSocketEnd);
  socket.on("error", onSocketError);
  socket.on("close", onSocketClose);
  if (timeoutMs > 0) {
    socket.setTimeout(timeoutMs);
    socket.on("timeout", onSocketTimeout);
  }
}

/** Stops reading `socket` for good (the application took it): its unread bytes stay for the new owner. */
export function detachData(socket: Socket): void {
  socket.removeListener("data", onSocketData);
}

/**
 * A takeover: no data, end, drain or timeout listener is left (the error and
 * close listeners stay, so the server still learns when it closes), and the
 * socket is paused.
 */
export function detachForTakeover(socket: Socket): void {
  socket.removeListener("data", onSocketData);
  socket.removeListener("end", onSocketEnd);
  socket.removeListener("drain", onSocketDrain);
  socket.setTimeout(0);
  socket.removeListener("timeout", onSocketTimeout);
  socket.pause();
}
