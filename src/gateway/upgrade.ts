// PROVISIONAL: replaced by core's implementation at merge
/**
 * Taking a connection over after a 101 (the contract the core helper is adding). This stand-in
 * uses only public API: input.getSocket(), the 101 written here, eventlet.already_handled.
 */

import type { Socket } from "node:net";
import type { Environ } from "./types.js";

export interface Takeover {
  /** Paused; the server no longer reads or writes it. */
  readonly socket: Socket;
  /** Bytes already received past the request head. */
  readonly head: Buffer;
  /** WsgiServer.close() began. */
  onShutdown(listener: (deadlineMs: number | undefined) => void): void;
}

export async function takeOver(environ: Environ, status: string, headers: [string, string][]): Promise<Takeover> {
  const socket = environ["wsgi.input"].getSocket() as Socket;
  environ["eventlet.already_handled"] = true;
  let head = `HTTP/1.1 ${status}\r\n`;
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
  head += "\r\n";
  await new Promise<void>((resolve, reject) => {
    socket.write(head, "latin1", (err) => {
      if (err) reject(err);
      else resolve();
    });
  });
  return {
    socket,
    head: Buffer.alloc(0),
    onShutdown: () => {
      /* no-op until the core's version lands */
    },
  };
}
