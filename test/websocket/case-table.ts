/** The shape of a wire-level case (cases.ts) and the helpers its two halves share. */

import { deflateMessage, type ClientFrame } from "./raw-client.js";

export interface Case {
  id: string;
  group: string;
  rfc: string;
  title: string;
  frames: ClientFrame[];
  /** The client offers permessage-deflate (with server_no_context_takeover, so replies inflate alone). */
  deflate?: boolean;
  /** Messages the server must send back first: [opcode, payload]. */
  echo?: [number, Buffer | string][];
  /** The server's close code: a failure, or (absent) the echo of the client's 1000 sent after the frames. */
  close?: number;
  /** The client's own close is part of `frames` (the server's answer is `close`). */
  clientCloses?: boolean;
}

export const T = 0x1;
export const B = 0x2;
export const C = 0x0;
export const CLOSE = 0x8;
export const PING = 0x9;
export const PONG = 0xa;
export const bytes = (n: number, fill = 0x61): Buffer => Buffer.alloc(n, fill);
export const hex = (h: string): Buffer => Buffer.from(h.replace(/ /g, ""), "hex");

/** The echo server's maxMessageBytes for these cases. */
export const CASE_MAX_MESSAGE_BYTES = 256 * 1024;

/** Deflates `data` as a continuation of a stream that already carried `history` (context takeover). */
export function deflateWithHistory(history: string, data: string): Buffer {
  return deflateMessage(Buffer.from(data), Buffer.from(history));
}
