/**
 * The socket's events, routed to the WebSocket that owns it: plain functions shared by every
 * connection (the owner is found on the socket), so a connection costs no listener closures.
 */

import type { Socket } from "node:net";

/** What the socket's events are routed to. */
export interface SocketEventOwner {
  onData(chunk: Buffer): void;
  onEnd(): void;
  onClose(): void;
  onDrain(): void;
}

const SOCKET_OWNER = Symbol("eventwsgi.websocket");
type OwnedSocket = Socket & { [SOCKET_OWNER]: SocketEventOwner };

/** Routes `socket`'s data, end, close, error and drain events to `owner`. */
export function routeSocketEvents(socket: Socket, owner: SocketEventOwner): void {
  (socket as OwnedSocket)[SOCKET_OWNER] = owner;
  socket.on("data", onSocketData);
  socket.on("end", onSocketEnd);
  socket.on("close", onSocketClose);
  socket.on("error", onSocketError);
  socket.on("drain", onSocketDrain);
}

function onSocketData(this: OwnedSocket, chunk: Buffer): void {
  this[SOCKET_OWNER].onData(chunk);
}
function onSocketEnd(this: OwnedSocket): void {
  this[SOCKET_OWNER].onEnd();
}
function onSocketClose(this: OwnedSocket): void {
  this[SOCKET_OWNER].onClose();
}
function onSocketDrain(this: OwnedSocket): void {
  this[SOCKET_OWNER].onDrain();
}
function onSocketError(): void {
  /* a reset or a broken pipe: "close" follows, and closeCode says 1006 */
}
