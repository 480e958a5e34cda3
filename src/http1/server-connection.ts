/**
 * The server side of one HTTP/1.1 connection, sans-IO (h11's `Connection`,
 * hyper's `proto/h1/conn.rs`): bytes in, events out. No sockets, timers or
 * application here — `src/server/connection.ts` owns those and asks this
 * machine what the bytes mean and whether the connection goes on.
 *
 * Theory of operation. The machine holds the bytes received and not yet
 * consumed (read-buffer.ts), the head parser, the current request's framing
 * and body decoder, and three states:
 *
 * - the read state (`ReadState`), what the next bytes are:
 *
 *       Head ──request──▶ Body ──body end──▶ Done ──responseEnded(keep)──▶ Head
 *         │                │                  └──responseEnded(close)──▶ Closed
 *         │                └──responseEnded(keep)──▶ Discarding ──body end──▶ Head
 *         └──request without a body──▶ Done
 *       any state ── a protocol error, stopReading() ──▶ Closed
 *       Done ──upgrade()──▶ Upgraded (the bytes belong to another protocol)
 *
 *   `Done` means the request is read and its response is being made: bytes
 *   past it are the next (pipelined) request and wait, unread, until the
 *   response ends. A further 100 Continue may take `Done` back to `Body` for
 *   a second chunked body (`anotherBody`, eventlet's multi-phase uploads).
 *   In Closed and Upgraded, received bytes are dropped.
 * - the keep-alive state (`keepAliveState`), derived from the read state:
 *   idle (waiting for a head), busy (a request in progress), disabled (no
 *   further request will be read);
 * - the expect-100 state (`expect100`): none, waiting (the client holds its
 *   body back until a 100 Continue), sent. Whether a 100 is owed at all is
 *   the gateway's rule (gateway/input.ts, expectsContinue); the machine is
 *   told (`expectContinue`) and records when it went out.
 *
 * The choice of decoder is made here, from the head's framing
 * (request-framing.ts): chunked, Content-Length, or none. Whether the
 * connection stays open after a response is decided by http1/keep-alive.ts,
 * with the facts this machine holds (`ConnectionFacts`): it is asked when the
 * head goes out (`mayContinue`) and when the exchange ends (`responseEnded`).
 *
 * `next(onBody)` takes one step and returns what happened (`Event`); body
 * bytes go to `onBody` as views into the received bytes. It never waits for
 * bytes it already has, and after an error it reads nothing more.
 *
 * The life of a request here, in the order the connection calls:
 * `receive` (bytes) → `next` → Request (`head`, `framing`; `expectContinue`
 * if the gateway owes a 100) → `next` … BodyEnd (body bytes to onBody;
 * `continueSent` when a 100 goes out) → the app answers → `mayContinue` when
 * its head goes out → `responseEnded(keep)` → `next` (Discarded, then the
 * next Request, or NeedData while idle).
 */

import { HttpProtocolError } from "../errors.js";
import { ChunkedDecoder, EmptyDecoder, LengthDecoder, type BodyDecoder, type DataSink } from "./body-decoder.js";
import { connectionMayContinue, type ConnectionFacts } from "./keep-alive.js";
import { ReadBuffer } from "./read-buffer.js";
import { requestFraming, type RequestFraming } from "./request-framing.js";
import { RequestHeadParser, type HeadLimits, type RequestHead } from "./request-head.js";

/** What the next received bytes are. */
export const enum ReadState {
  /** A request head (the connection is idle between requests). */
  Head,
  /** The body of the request being served. */
  Body,
  /** The request is read; its response is being made. Bytes past it wait. */
  Done,
  /** The body of a request whose response is over, read and dropped before the next head. */
  Discarding,
  /** Another protocol's (takeOver): nothing is read here any more. */
  Upgraded,
  /** Nothing: a protocol error, a timeout, or the connection is ending. */
  Closed,
}

/** hyper's keep-alive states. */
export const enum KeepAliveState {
  /** Waiting for a request. */
  Idle,
  /** A request is in progress (its body, its response, or its body's discarding). */
  Busy,
  /** No further request will be read. */
  Disabled,
}

/** The client's `Expect: 100-continue`, as far as the connection goes. */
export const enum Expect100 {
  None,
  /** The client may be holding its body back until a 100 Continue. */
  Waiting,
  /** A 100 Continue went out. */
  Sent,
}

/** What `next()` found. */
export const enum Event {
  /** Nothing more can be made of the bytes held (body bytes may have been handed out). */
  NeedData,
  /** A request head was read: `head` and `framing`; the read state is Body or Done. */
  Request,
  /** The current request's body is complete (Body → Done). */
  BodyEnd,
  /** The body being discarded is complete (Discarding → Head). */
  Discarded,
  /** A request is being served (Done) and bytes past it wait for its response to end. */
  Waiting,
  /** The head (or its framing) was malformed: `error`, `requestLineSoFar`. Read state Closed. */
  HeadError,
  /** The body was malformed: `error`. Read state Closed. */
  BodyError,
}

export interface ServerConnectionOptions {
  readonly headLimits: HeadLimits;
  /** ServerOptions.rejectBadRequests: Content-Length with Transfer-Encoding is a 400. */
  readonly rejectBadRequests: boolean;
  /** ServerOptions.keepalive is on. */
  readonly keepalive: boolean;
}

const EMPTY_DECODER = new EmptyDecoder();

export class ServerConnection implements ConnectionFacts {
  private readonly opts: ServerConnectionOptions;
  private readonly parser: RequestHeadParser;
  /** Received bytes not yet consumed. */
  private readonly rb = new ReadBuffer();
  private decoder: BodyDecoder = EMPTY_DECODER;

  readState = ReadState.Head;
  expect100 = Expect100.None;
  /** The last request's head and framing (valid from its Request event until the next). */
  head: RequestHead | null = null;
  framing: RequestFraming | null = null;
  /** The error of a HeadError or BodyError event. */
  error: Error | null = null;
  /** The request line as far as it was read when the head failed (the access log's). */
  private failedRequestLine = "";
  /** The client half-closed (FIN): no byte after those held will come. */
  private peerHalfClosed = false;
  /** The server is shutting down: set by the connection. */
  serverClosing = false;

  constructor(opts: ServerConnectionOptions) {
    this.opts = opts;
    this.parser = new RequestHeadParser(opts.headLimits);
  }

  // ---- bytes in ----

  /** Bytes from the client; dropped once nothing more is read (Closed, Upgraded). */
  receive(chunk: Buffer): void {
    if (this.readState === ReadState.Closed || this.readState === ReadState.Upgraded) return;
    this.rb.append(chunk);
  }

  /** The client half-closed: what it sent before is still read. */
  receiveEnd(): void {
    this.peerHalfClosed = true;
  }

  /** The client half-closed (whatever it sent before may still be held). */
  get peerEnded(): boolean {
    return this.peerHalfClosed;
  }

  /** Bytes held and not yet consumed. */
  get buffered(): number {
    return this.rb.length;
  }

  /** The bytes held, handed over and forgotten (a takeover's first bytes), or null. */
  takeBuffered(): Buffer | null {
    return this.rb.take();
  }

  /** Takes one step over the bytes held. */
  next(onBody: DataSink): Event {
    switch (this.readState) {
      case ReadState.Head:
        return this.rb.empty ? Event.NeedData : this.readHead();
      case ReadState.Body:
      case ReadState.Discarding:
        return this.rb.empty ? Event.NeedData : this.readBody(onBody);
      case ReadState.Done:
        return this.rb.empty ? Event.NeedData : Event.Waiting;
      default:
        return Event.NeedData;
    }
  }

  private readHead(): Event {
    const rb = this.rb;
    let end: number;
    try {
      end = this.parser.execute(rb.bytes as Buffer, rb.start, rb.end);
    } catch (err) {
      return this.headFailed(err, this.parser.requestLineSoFar);
    }
    if (end < 0) return Event.NeedData;
    const head = this.parser.head;
    this.parser.reset();
    rb.advance(end - rb.start);
    let framing: RequestFraming;
    try {
      framing = requestFraming(head, this.opts.rejectBadRequests);
    } catch (err) {
      return this.headFailed(err, head.requestLine);
    }
    this.head = head;
    this.framing = framing;
    this.expect100 = Expect100.None;
    this.decoder = framing.chunked
      ? new ChunkedDecoder(this.opts.headLimits)
      : framing.contentLength > 0
        ? new LengthDecoder(framing.contentLength)
        : EMPTY_DECODER;
    this.readState = this.decoder.done ? ReadState.Done : ReadState.Body;
    return Event.Request;
  }

  private headFailed(err: unknown, requestLine: string): Event {
    if (!(err instanceof HttpProtocolError)) throw err;
    this.error = err;
    this.failedRequestLine = requestLine;
    this.close();
    return Event.HeadError;
  }

  private readBody(onBody: DataSink): Event {
    const rb = this.rb;
    try {
      rb.advance(this.decoder.decode(rb.bytes as Buffer, rb.start, rb.end, onBody));
    } catch (err) {
      // A malformed body: nothing after it is a request.
      this.error = err instanceof Error ? err : new Error(String(err));
      this.close();
      return Event.BodyError;
    }
    if (!this.decoder.done) return Event.NeedData;
    if (this.readState === ReadState.Discarding) {
      this.readState = ReadState.Head;
      return Event.Discarded;
    }
    this.readState = ReadState.Done;
    return Event.BodyEnd;
  }

  // ---- what the connection tells it ----

  /** The gateway owes this request a 100 Continue at its first read (gateway/input.ts, expectsContinue). */
  expectContinue(): void {
    this.expect100 = Expect100.Waiting;
  }

  /** A 100 Continue went out. */
  continueSent(): void {
    this.expect100 = Expect100.Sent;
  }

  /**
   * A further 100 Continue went out: once a chunked body is complete and its
   * response not begun, the client may send another chunked body (docs/api.md,
   * Input; eventlet's multi-phase uploads, as OpenStack Swift uses them). True
   * when one is now read. A Content-Length body needs nothing: its rest is
   * still to come.
   */
  anotherBody(): boolean {
    if (this.expect100 !== Expect100.Sent || this.readState !== ReadState.Done || this.framing?.chunked !== true)
      return false;
    this.decoder = new ChunkedDecoder(this.opts.headLimits);
    this.readState = ReadState.Body;
    return true;
  }

  /**
   * The request's exchange is over; `keep` is http1/keep-alive.ts's answer for
   * its response. The next head is read, after its unread body is discarded —
   * or nothing more is read. Returns whether the connection goes on.
   */
  responseEnded(keep: boolean): boolean {
    const state = this.readState;
    if (state !== ReadState.Done && state !== ReadState.Body) return false;
    if (!keep) {
      this.close();
      return false;
    }
    this.readState = state === ReadState.Done ? ReadState.Head : ReadState.Discarding;
    return true;
  }

  /** Nothing more is read (a timeout, a shutdown, the connection ending); what is held is dropped. */
  stopReading(): void {
    if (this.readState !== ReadState.Upgraded) this.close();
  }

  /** The connection was taken over by another protocol (a 101 went out). */
  upgrade(): void {
    this.readState = ReadState.Upgraded;
  }

  private close(): void {
    this.readState = ReadState.Closed;
    this.rb.clear();
    this.decoder = EMPTY_DECODER;
  }

  // ---- what the connection asks ----

  /** A body is still to come: the request's, or one being discarded. */
  get bodyIncomplete(): boolean {
    return this.readState === ReadState.Body || this.readState === ReadState.Discarding;
  }

  get keepAliveState(): KeepAliveState {
    switch (this.readState) {
      case ReadState.Head:
        return KeepAliveState.Idle;
      case ReadState.Body:
      case ReadState.Done:
      case ReadState.Discarding:
        return KeepAliveState.Busy;
      default:
        return KeepAliveState.Disabled;
    }
  }

  /** The request line of the head being read (a head timeout's access line), or of the failed head. */
  get requestLineSoFar(): string {
    return this.readState === ReadState.Closed ? this.failedRequestLine : this.parser.requestLineSoFar;
  }

  /** Another request may follow the current one (http1/keep-alive.ts, connectionMayContinue). */
  get mayContinue(): boolean {
    return connectionMayContinue(this);
  }

  // ---- ConnectionFacts (keep-alive.ts) ----

  get keepaliveEnabled(): boolean {
    return this.opts.keepalive;
  }
  get readingStopped(): boolean {
    return this.readState === ReadState.Closed || this.readState === ReadState.Upgraded;
  }
  get peerDone(): boolean {
    return this.peerHalfClosed && this.rb.empty;
  }
}
