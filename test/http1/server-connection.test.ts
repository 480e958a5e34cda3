/**
 * http1/server-connection.ts, the sans-IO server connection, without sockets:
 * keep-alive, pipelining, discarding, 100 Continue, upgrade and close, each
 * fed whole, one byte at a time, and with trailing bytes; and a property:
 * wherever a stream of requests is cut, the events are the same.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  Event,
  Expect100,
  KeepAliveState,
  ReadState,
  ServerConnection,
  type ServerConnectionOptions,
} from "../../src/http1/server-connection.js";
import type { RequestHead } from "../../src/http1/request-head.js";
import { LIMITS, bytes, everyByte } from "./feed.js";
import { fuzzRuns, fuzzSeed, genRequest, serialize } from "./generate.js";

const OPTS: ServerConnectionOptions = { headLimits: LIMITS, rejectBadRequests: true, keepalive: true };

/**
 * What an app's response does once its request is read: keep the connection
 * (true) or close it (false); "leave" and "leave-close" do the same without
 * reading the body.
 */
type Answer = boolean | "leave" | "leave-close";

/**
 * Feeds `input` cut at `cuts`, ending each exchange as `answer` says once its
 * body is read (or at once, for "leave"), and returns the events as text:
 * `GET /a` for a request, `body:<bytes>` at its end, `discarded`, `error:<status>`.
 */
function trace(
  input: string,
  cuts: readonly number[],
  answer: (n: number) => Answer = () => true,
  opts = OPTS,
): { events: string[]; http: ServerConnection } {
  const http = new ServerConnection(opts);
  const buf = bytes(input);
  const events: string[] = [];
  let body = "";
  let n = 0;
  const onBody = (d: Buffer): void => {
    body += d.toString("latin1");
  };
  const end = (): void => {
    const a = answer(n++);
    http.responseEnded(a === true || a === "leave");
  };
  let prev = 0;
  const points = [...cuts.filter((c) => c > 0 && c < buf.length)].sort((a, b) => a - b);
  for (const point of [...points, buf.length]) {
    http.receive(buf.subarray(prev, point));
    prev = point;
    for (let guard = 0; guard < 10_000; guard++) {
      const ev = http.next(onBody);
      if (ev === Event.NeedData || ev === Event.Waiting) break;
      if (ev === Event.Request) {
        const head = http.head as RequestHead;
        events.push(`${head.method} ${head.target}`);
        body = "";
        const a = answer(n);
        if ((a === "leave" || a === "leave-close") && http.bodyIncomplete) end();
        else if (!http.bodyIncomplete) {
          events.push("body:");
          end();
        }
      } else if (ev === Event.BodyEnd) {
        events.push(`body:${body}`);
        end();
      } else if (ev === Event.Discarded) {
        events.push("discarded");
      } else {
        events.push(`error:${(http.error as { status?: number }).status ?? "?"}`);
      }
    }
  }
  return { events, http };
}

/** The same trace whole, one byte at a time, and cut in two at every point. */
function expectTrace(input: string, expected: string[], answer?: (n: number) => Answer): ServerConnection {
  const whole = trace(input, [], answer);
  assert.deepEqual(whole.events, expected, "whole");
  assert.deepEqual(trace(input, everyByte(input.length), answer).events, expected, "byte by byte");
  for (let i = 1; i < input.length; i++) assert.deepEqual(trace(input, [i], answer).events, expected, `cut at ${i}`);
  return whole.http;
}

const GET = (path: string, extra = ""): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

test("keep-alive: requests one after another, idle between them", () => {
  const http = expectTrace(GET("/a") + GET("/b"), ["GET /a", "body:", "GET /b", "body:"]);
  assert.equal(http.readState, ReadState.Head);
  assert.equal(http.keepAliveState, KeepAliveState.Idle);
  assert.equal(http.mayContinue, true);
});

test("pipelining: bodies of both framings, then the next head; trailing bytes wait as the next request", () => {
  const input =
    "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" +
    "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n1\r\nf\r\n0\r\n\r\n" +
    GET("/c");
  const http = expectTrace(input + "GET /d HT", ["POST /a", "body:abc", "POST /b", "body:def", "GET /c", "body:"]);
  assert.equal(http.readState, ReadState.Head, "a partial head is waited for");
  assert.equal(http.buffered, 9);
});

test("a request in progress: bytes past it wait (Waiting) until its response ends", () => {
  const http = new ServerConnection(OPTS);
  http.receive(bytes(GET("/a") + GET("/b")));
  assert.equal(
    http.next(() => {}),
    Event.Request,
  );
  assert.equal(http.readState, ReadState.Done);
  assert.equal(http.keepAliveState, KeepAliveState.Busy);
  assert.equal(
    http.next(() => {}),
    Event.Waiting,
  );
  assert.equal(
    http.next(() => {}),
    Event.Waiting,
    "still waiting: nothing is read past the request",
  );
  assert.equal(http.responseEnded(true), true);
  assert.equal(
    http.next(() => {}),
    Event.Request,
  );
  assert.equal(http.head?.target, "/b");
});

test("discarding: a body the app left unread is read and dropped, then the next request", () => {
  const input = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" + GET("/b");
  expectTrace(input, ["POST /a", "discarded", "GET /b", "body:"], (n) => (n === 0 ? "leave" : true));
  const chunked =
    "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + GET("/b");
  expectTrace(chunked, ["POST /a", "discarded", "GET /b", "body:"], (n) => (n === 0 ? "leave" : true));
});

test("close: after a response that closes, nothing more is read, whatever follows", () => {
  const http = expectTrace(GET("/a") + GET("/b"), ["GET /a", "body:"], () => false);
  assert.equal(http.readState, ReadState.Closed);
  assert.equal(http.keepAliveState, KeepAliveState.Disabled);
  assert.equal(http.mayContinue, false);
  http.receive(bytes(GET("/c")));
  assert.equal(
    http.next(() => {}),
    Event.NeedData,
    "bytes after the end are dropped",
  );
  assert.equal(http.buffered, 0);
});

test("close: an unread body with a closing response is not discarded", () => {
  const input = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" + GET("/b");
  const http = expectTrace(input, ["POST /a"], () => "leave-close");
  assert.equal(http.readState, ReadState.Closed);
});

test("errors: a malformed head or body stops reading, with its status; the requests before it are served", () => {
  expectTrace(GET("/a") + "GET /b HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n", ["GET /a", "body:", "error:400"]);
  expectTrace(GET("/a") + "BAD\r\n\r\n" + GET("/c"), ["GET /a", "body:", "error:400"]);
  const badChunk = "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + GET("/b");
  const http = expectTrace(badChunk, ["POST /a", "error:400"]);
  assert.equal(http.readState, ReadState.Closed);
  assert.equal(http.requestLineSoFar, "", "a body error has no head of its own");
});

test("a framing error keeps the request line for the access log", () => {
  const http = new ServerConnection(OPTS);
  http.receive(bytes("GET /x HTTP/1.1\r\n\r\n"));
  assert.equal(
    http.next(() => {}),
    Event.HeadError,
  );
  assert.equal(http.requestLineSoFar, "GET /x HTTP/1.1");
});

test("the peer's FIN: the connection may continue while bytes it sent before are held", () => {
  const http = new ServerConnection(OPTS);
  http.receive(bytes(GET("/a") + GET("/b")));
  http.receiveEnd();
  assert.equal(
    http.next(() => {}),
    Event.Request,
  );
  assert.equal(http.mayContinue, true, "GET /b is still to be read");
  http.responseEnded(true);
  assert.equal(
    http.next(() => {}),
    Event.Request,
  );
  assert.equal(http.mayContinue, false, "nothing can follow GET /b");
  assert.equal(http.peerDone, true);
});

test("keepalive off, or the server shutting down: no request may follow", () => {
  const off = new ServerConnection({ ...OPTS, keepalive: false });
  assert.equal(off.mayContinue, false);
  const closing = new ServerConnection(OPTS);
  closing.serverClosing = true;
  assert.equal(closing.mayContinue, false);
});

test("100 Continue: waiting, sent; a further one after a complete chunked body opens another body", () => {
  const http = new ServerConnection(OPTS);
  const head = "PUT /a HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n";
  http.receive(bytes(head));
  assert.equal(
    http.next(() => {}),
    Event.Request,
  );
  http.expectContinue();
  assert.equal(http.expect100, Expect100.Waiting);
  assert.equal(http.anotherBody(), false, "no 100 went out yet");
  http.continueSent();
  assert.equal(http.expect100, Expect100.Sent);
  let body = "";
  const onBody = (d: Buffer): void => {
    body += d.toString("latin1");
  };
  http.receive(bytes("3\r\none\r\n0\r\n\r\n"));
  assert.equal(http.next(onBody), Event.BodyEnd);
  assert.equal(body, "one");
  http.continueSent();
  assert.equal(http.anotherBody(), true);
  assert.equal(http.readState, ReadState.Body);
  http.receive(bytes("3\r\ntwo\r\n0\r\n\r\n"));
  assert.equal(http.next(onBody), Event.BodyEnd);
  assert.equal(body, "onetwo");
});

test("100 Continue: a further one with a Content-Length body opens nothing (its rest is still to come)", () => {
  const http = new ServerConnection(OPTS);
  http.receive(bytes("PUT /a HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nab"));
  assert.equal(
    http.next(() => {}),
    Event.Request,
  );
  http.continueSent();
  assert.equal(
    http.next(() => {}),
    Event.BodyEnd,
  );
  assert.equal(http.anotherBody(), false);
  assert.equal(http.readState, ReadState.Done);
});

test("upgrade: the bytes past the head are handed over, and nothing more is read", () => {
  const http = new ServerConnection(OPTS);
  http.receive(bytes(GET("/ws", "Upgrade: websocket\r\nConnection: Upgrade\r\n") + "\x81\x05hello"));
  assert.equal(
    http.next(() => {}),
    Event.Request,
  );
  const rest = http.takeBuffered();
  http.upgrade();
  assert.equal(rest?.toString("latin1"), "\x81\x05hello");
  assert.equal(http.readState, ReadState.Upgraded);
  assert.equal(http.keepAliveState, KeepAliveState.Disabled);
  http.receive(bytes("more"));
  assert.equal(http.buffered, 0);
  assert.equal(
    http.next(() => {}),
    Event.NeedData,
  );
  http.stopReading();
  assert.equal(http.readState, ReadState.Upgraded, "stopReading leaves an upgraded connection to its new owner");
});

test("stopReading (a timeout): what is held is dropped, nothing more is read", () => {
  const http = new ServerConnection(OPTS);
  http.receive(bytes("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
  assert.equal(
    http.next(() => {}),
    Event.Request,
  );
  assert.equal(
    http.next(() => {}),
    Event.NeedData,
  );
  assert.equal(http.bodyIncomplete, true);
  http.stopReading();
  assert.equal(http.bodyIncomplete, false);
  assert.equal(http.readingStopped, true);
});

test("property: a stream of generated requests gives the same events wherever it is cut", () => {
  const stream = fc.array(genRequest, { minLength: 1, maxLength: 4 });
  const withCuts = stream.chain((rs) => {
    const text = rs.map((r) => serialize(r)).join("");
    return fc.tuple(fc.constant(text), fc.uniqueArray(fc.integer({ min: 1, max: Math.max(1, text.length - 1) })));
  });
  fc.assert(
    fc.property(withCuts, fc.boolean(), ([text, cuts], leave) => {
      const answer = (n: number): Answer => (leave && n % 2 === 0 ? "leave" : true);
      assert.deepEqual(trace(text, cuts, answer).events, trace(text, [], answer).events);
    }),
    { numRuns: fuzzRuns(200), seed: fuzzSeed() },
  );
});
