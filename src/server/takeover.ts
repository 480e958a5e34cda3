/**
 * Handing a connection's socket to another protocol (gateway/upgrade.ts,
 * takeOver): what the new owner gets, and how it learns of a shutdown.
 */

import type { Socket } from "node:net";
import type { Takeover } from "../gateway/exchange-link.js";
import { ClientDisconnectedError } from "../errors.js";
import { detachData, detachForTakeover } from "./socket-listeners.js";

const NO_BYTES = Buffer.alloc(0);

/** The new owner's shutdown listeners, called once when WsgiServer.close() begins. */
export class ShutdownListeners {
  private listeners: ((deadlineMs: number | undefined) => void)[] | null = [];

  add(listener: (deadlineMs: number | undefined) => void): void {
    this.listeners?.push(listener);
  }

  fire(deadlineMs: number | undefined): void {
    const listeners = this.listeners;
    this.listeners = null;
    if (listeners !== null) for (const listener of listeners) listener(deadlineMs);
  }
}

/** Detaches the server from `socket` (paused, no data/end/drain/timeout listener) and builds the Takeover. */
export function handOver(socket: Socket, head: Buffer | null, shutdown: ShutdownListeners): Takeover {
  detachForTakeover(socket);
  return {
    socket,
    head: head ?? NO_BYTES,
    onShutdown: (listener) => {
      shutdown.add(listener);
    },
  };
}

/** Resolves once the kernel has taken everything written to `socket` so far; rejects if the client went away first. */
export function kernelTook(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.write("", (err) => {
      if ((err !== undefined && err !== null) || socket.destroyed)
        reject(new ClientDisconnectedError("the client went away before the upgrade"));
      else resolve();
    });
  });
}

/**
 * eventlet's getSocket(): the application takes the socket. The server stops
 * reading it; the bytes it had read past the request head go back to the
 * socket (unshift), which is paused for its new owner.
 */
export function giveSocket(socket: Socket, rest: Buffer | null): void {
  detachData(socket);
  if (rest !== null) socket.unshift(rest);
  socket.pause();
}
