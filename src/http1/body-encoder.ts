/**
 * Response body encoders (RFC 9112 §6.3, §7.1), sans-IO: the writers that
 * mirror body-decoder.ts's readers. A response's body is framed one of four
 * ways — no body, Content-Length, chunked, or close-delimited — chosen once,
 * when its head goes out (`chooseFraming`). The encoder's state is two
 * numbers (`EncoderState`) that its owner keeps in its own fields, so a
 * response costs no encoder object; these functions say what goes around
 * each run of body bytes and at the end:
 *
 *   framing        before n bytes          after     at the end
 *   None           (bytes dropped)         —         —
 *   Length         — (n counted off)       —         — (a shortfall closes the connection)
 *   Chunked        "<hex n>\r\n"           "\r\n"    "0\r\n\r\n"
 *   Close          —                       —         — (the connection's close ends it)
 */

/** How the body of a response is delimited (RFC 9112 §6.3). */
export const enum Framing {
  /** No body may be sent: HEAD, 1xx, 204, 304, 2xx to CONNECT. */
  None,
  /** Content-Length bytes. */
  Length,
  /** Transfer-Encoding: chunked. */
  Chunked,
  /** Until the connection closes (HTTP/1.0 without Content-Length). */
  Close,
}

/**
 * RFC 9112 §6.1–§6.3: no body → none; a Content-Length → length; an HTTP/1.1
 * exchange → chunked; otherwise the body runs to the connection's close.
 */
export function chooseFraming(noBody: boolean, hasContentLength: boolean, http11: boolean): Framing {
  if (noBody) return Framing.None;
  if (hasContentLength) return Framing.Length;
  return http11 ? Framing.Chunked : Framing.Close;
}

/** The chunk-size line of a chunk of `length` bytes (RFC 9112 §7.1). */
export function chunkHeader(length: number): string {
  return `${length.toString(16)}\r\n`;
}

/** last-chunk and an empty trailer section. */
export const LAST_CHUNK = "0\r\n\r\n";

/** An encoder's state, kept by its owner: the framing, and the bytes a Content-Length still owes. */
export interface EncoderState {
  bodyFraming: Framing;
  remaining: number;
}

/** More body than the Content-Length declared: an application error (the response cannot be completed). */
export class ContentLengthExceededError extends Error {
  readonly code = "ERR_CONTENT_LENGTH_EXCEEDED";
  constructor(declared: number) {
    super(`the response body is longer than its Content-Length (${declared})`);
    this.name = "ContentLengthExceededError";
  }
}

/**
 * What goes before `n` (> 0) body bytes: the chunk-size line, or "" — or null
 * when the response may carry no body and the bytes are dropped. Counts them
 * off a Content-Length, throwing when they would pass it.
 */
export function encodeDataStart(state: EncoderState, n: number, declaredLength: number): string | null {
  switch (state.bodyFraming) {
    case Framing.None:
      return null;
    case Framing.Length:
      if (n > state.remaining) throw new ContentLengthExceededError(declaredLength);
      state.remaining -= n;
      return "";
    case Framing.Chunked:
      return chunkHeader(n);
    case Framing.Close:
      return "";
  }
}

/** What goes after a run of body bytes: the chunk's CRLF, or "". */
export function encodeDataEnd(framing: Framing): string {
  return framing === Framing.Chunked ? "\r\n" : "";
}

/** What ends the body: the last-chunk, or "". */
export function encodeBodyEnd(framing: Framing): string {
  return framing === Framing.Chunked ? LAST_CHUNK : "";
}

/** Bytes a Content-Length still owes once the body is over: a short response, after which the connection must close. */
export function lengthShortfall(state: EncoderState): number {
  return state.bodyFraming === Framing.Length ? state.remaining : 0;
}
