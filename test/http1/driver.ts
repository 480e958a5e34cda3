/**
 * A sans-IO stand-in for the connection's read loop (src/server/connection.ts):
 * heads, framing and body decoders over a byte stream that arrives in
 * pieces, pipelined requests one after another, and what stops the stream.
 * The property tests check that the outcome never depends on where the
 * stream was cut; the differential test uses it to know how many responses
 * to wait for.
 */

import { HttpProtocolError } from "../../src/errors.js";
import { ChunkedDecoder, LengthDecoder, type BodyDecoder } from "../../src/http1/body-decoder.js";
import { requestFraming } from "../../src/http1/request-framing.js";
import { RequestHeadParser, type HeadLimits } from "../../src/http1/request-head.js";
import { LIMITS } from "./feed.js";

export interface ParsedRequest {
  method: string;
  target: string;
  version: string;
  /** name, value, name, value, … as the head parser gives them. */
  headers: string[];
  /** The body, decoded, as Latin-1. */
  body: string;
}

export interface StreamOutcome {
  /** Requests whose head and body were complete. */
  requests: ParsedRequest[];
  /**
   * How the stream ended: "error" (a protocol error: status given; nothing
   * after it is read), "closed" (a request asked for the connection to be
   * closed after it), or "more" (waiting for bytes: nothing, or a partial request).
   */
  end: "error" | "closed" | "more";
  status?: number;
  errorName?: string;
}

export interface StreamOptions {
  limits?: HeadLimits;
  rejectBadRequests?: boolean;
}

/** Does this request end the connection after its response? (gateway/response.ts decideKeepAlive, for the echo app). */
function closesAfter(version: string, f: ReturnType<typeof requestFraming>): boolean {
  if (f.mustClose) return true;
  return version === "HTTP/1.1" ? f.connectionClose : !f.connectionKeepAlive;
}

/** Feeds `input` cut at `cuts`, each piece appended to what was not consumed yet (as connection.ts does). */
export function runStream(input: Buffer, cuts: readonly number[], opts: StreamOptions = {}): StreamOutcome {
  const limits = opts.limits ?? LIMITS;
  const reject = opts.rejectBadRequests ?? true;
  const parser = new RequestHeadParser(limits);
  const requests: ParsedRequest[] = [];
  let pending: Buffer = Buffer.alloc(0);
  let decoder: BodyDecoder | null = null;
  let current: ParsedRequest | null = null;
  let body: Buffer[] = [];
  let closeAfterCurrent = false;
  const points = [...cuts.filter((c) => c > 0 && c < input.length), input.length];
  let prev = 0;
  try {
    for (const point of points) {
      pending = Buffer.concat([pending, input.subarray(prev, point)]);
      prev = point;
      let offset = 0;
      for (;;) {
        if (decoder !== null) {
          offset += decoder.decode(pending, offset, pending.length, (d) => body.push(Buffer.from(d)));
          if (!decoder.done) break;
          (current as ParsedRequest).body = Buffer.concat(body).toString("latin1");
          requests.push(current as ParsedRequest);
          decoder = null;
          current = null;
          if (closeAfterCurrent) return { requests, end: "closed" };
          continue;
        }
        if (offset >= pending.length) break;
        const end = parser.execute(pending, offset, pending.length);
        if (end < 0) break;
        const head = parser.head;
        parser.reset();
        offset = end;
        const framing = requestFraming(head, reject);
        current = { method: head.method, target: head.target, version: head.version, headers: head.headers, body: "" };
        body = [];
        closeAfterCurrent = closesAfter(head.version, framing);
        decoder = framing.chunked
          ? new ChunkedDecoder(limits)
          : new LengthDecoder(framing.contentLength > 0 ? framing.contentLength : 0);
      }
      pending = pending.subarray(offset);
    }
  } catch (err) {
    if (!(err instanceof HttpProtocolError)) throw err;
    return { requests, end: "error", status: err.status, errorName: err.name };
  }
  return { requests, end: "more" };
}
