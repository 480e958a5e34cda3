/**
 * Runs a byte stream through the sans-IO server connection
 * (src/http1/server-connection.ts), as the server's connection does, for an
 * app that reads each request's body and answers 200: heads, framing and
 * body decoders over bytes that arrive in pieces, pipelined requests one
 * after another, and what stops the stream (a protocol error, or a request
 * after which http1/keep-alive.ts closes the connection). The property tests
 * check that the outcome never depends on where the stream was cut; the
 * differential test uses it to know how many responses to wait for.
 */

import { HttpProtocolError } from "../../src/errors.js";
import { responseKeepsConnection } from "../../src/http1/keep-alive.js";
import { Event, ServerConnection } from "../../src/http1/server-connection.js";
import type { RequestFraming } from "../../src/http1/request-framing.js";
import type { HeadLimits, RequestHead } from "../../src/http1/request-head.js";
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

/** The echo app's 200 to the request the machine has just read: does the connection stay open after it? */
function keepsAfter(http: ServerConnection): boolean {
  const head = http.head as RequestHead;
  const framing = http.framing as RequestFraming;
  return responseKeepsConnection(http.mayContinue, {
    method: head.method,
    statusNumber: 200,
    http11: head.version === "HTTP/1.1",
    requestClose: framing.connectionClose,
    requestKeepAlive: framing.connectionKeepAlive,
    framingMustClose: framing.mustClose,
    appWantsClose: false,
    closeDelimited: false,
    continuePending: false, // the app reads the body: a 100 Continue went out
    inputFailed: false,
  });
}

/** Feeds `input` cut at `cuts`, each piece handed to the machine as a socket's data event would be. */
export function runStream(input: Buffer, cuts: readonly number[], opts: StreamOptions = {}): StreamOutcome {
  const http = new ServerConnection({
    headLimits: opts.limits ?? LIMITS,
    rejectBadRequests: opts.rejectBadRequests ?? true,
    keepalive: true,
  });
  const requests: ParsedRequest[] = [];
  let current: ParsedRequest | null = null;
  let body: Buffer[] = [];
  const onBody = (d: Buffer): void => {
    body.push(Buffer.from(d));
  };
  const points = [...cuts.filter((c) => c > 0 && c < input.length), input.length];
  let prev = 0;
  for (const point of points) {
    http.receive(input.subarray(prev, point));
    prev = point;
    for (let ev = http.next(onBody); ev !== Event.NeedData; ev = http.next(onBody)) {
      if (ev === Event.HeadError || ev === Event.BodyError) {
        const err = http.error;
        if (!(err instanceof HttpProtocolError)) throw err ?? new Error("an error event without an error");
        return { requests, end: "error", status: err.status, errorName: err.name };
      }
      if (ev === Event.Request) {
        const head = http.head as RequestHead;
        current = { method: head.method, target: head.target, version: head.version, headers: head.headers, body: "" };
        body = [];
        if (http.bodyIncomplete) continue;
      } else if (ev !== Event.BodyEnd) {
        throw new Error(`unexpected event ${String(ev)}`);
      }
      // The request is whole: the app answers, and the exchange ends.
      const request = current as ParsedRequest;
      request.body = Buffer.concat(body).toString("latin1");
      requests.push(request);
      if (!http.responseEnded(keepsAfter(http))) return { requests, end: "closed" };
    }
  }
  return { requests, end: "more" };
}
