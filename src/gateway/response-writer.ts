/**
 * The response as it goes out (wsgiref's `start_response` and `write`,
 * eventlet's `start_response`/`write` closures): the status and headers the
 * app set, the head with its framing and its keep-alive decision, body
 * chunks gathered and framed (http1/body-encoder.ts), and the server's own
 * error responses. The app call around it — its phases, its body's
 * iteration, its errors and outcome — is response.ts's Exchange, which
 * extends this class.
 *
 * startResponse only checks and remembers the status and headers; nothing
 * goes out until the first body bytes (or the end of the body), so a
 * generator may call it lazily, and an error before then can still become a
 * clean 500. Body chunks are gathered until they reach `minimumChunkSize`,
 * then written; the head goes out just before the first of them, with its
 * framing chosen then: the application's Content-Length, or one computed
 * for an array body, or chunked on HTTP/1.1, or close-delimited on HTTP/1.0.
 * `write()` bypasses the gathering.
 */

import { ClientDisconnectedError, describeError } from "../errors.js";
import { dateHeaderLine } from "../http1/date.js";
import {
  Framing,
  chooseFraming,
  encodeBodyEnd,
  encodeDataEnd,
  encodeDataStart,
  lengthShortfall,
  type EncoderState,
} from "../http1/body-encoder.js";
import {
  contentLengthLine,
  mayCarryContentLength,
  responseHasNoBody,
  type CheckedStatus,
} from "../http1/response-head.js";
import { responseKeepsConnection, type ResponseFacts } from "../http1/keep-alive.js";
import type { RequestFraming } from "../http1/request-framing.js";
import type { RequestHead } from "../http1/request-head.js";
import { SOCKET_BATCH_BYTES } from "../limits.js";
import type { ExchangeHost } from "./host.js";
import type { Input } from "./input.js";
import { ChunkGatherer } from "./chunk-gatherer.js";
import { assembleHead, keepAliveLines } from "./head-assembly.js";
import { Phase } from "./phase.js";
import { checkResponseHeaders, checkResponseStatus } from "./start-response.js";
import type { Chunk, Environ, StartResponse, Write } from "./types.js";

const RESOLVED = Promise.resolve();

/** A rejected promise whose rejection is not reported as unhandled (the app may not await write()). */
export function quietReject(err: unknown): Promise<never> {
  const p = Promise.reject(err instanceof Error ? err : new Error(String(err)));
  p.catch(() => {});
  return p;
}

export abstract class ResponseWriter implements EncoderState, ResponseFacts {
  readonly environ: Environ;
  readonly input: Input;
  readonly head: RequestHead;
  readonly host: ExchangeHost;
  protected readonly framing: RequestFraming;
  /** Both ends speak HTTP/1.1 (the request's version, capped by maxHttpVersion). */
  readonly http11: boolean;

  // What startResponse set.
  protected status: CheckedStatus | null = null;
  private headerBlock = "";
  protected appContentLength = -1;
  private appHasDate = false;
  appWantsClose = false;

  // The response as it goes out.
  /** Where the exchange is (Phase, phase.ts); every change is in a method named for it. */
  protected phase = Phase.Head;
  /** The body encoder's state (http1/body-encoder.ts). */
  bodyFraming = Framing.None;
  /** With Framing.Length: body bytes still owed. */
  remaining = 0;
  /** Body chunks gathered up to the minimum write size (chunk-gatherer.ts). */
  protected readonly gathered = new ChunkGatherer();
  /** The socket asked to wait for drain after the last flush. */
  mustWait = false;
  /** The head said the connection stays open (http1/keep-alive.ts); a short body can still turn it off. */
  protected keepAlive = false;
  /** The code of an error response the server sent itself (a 500, or the input's 4xx). */
  protected serverStatusCode: string | null = null;
  /** Bytes written for this response, head included (eventlet's body_length). */
  bytesSent = 0;

  readonly startResponse: StartResponse = (status, headers, excInfo) => this.start(status, headers, excInfo);
  /**
   * Made with startResponse, sharing its context, rather than in start(): a
   * closure made there needs a context of its own for every call, and while
   * that code is not yet optimized those survive young-generation GCs in
   * bulk (seen with --trace-gc-nvp), which makes V8 grow the young
   * generation for good — megabytes of resident memory.
   */
  private readonly writeFn: Write = (data) => this.write(data);

  constructor(host: ExchangeHost, head: RequestHead, framing: RequestFraming, environ: Environ, input: Input) {
    this.host = host;
    this.head = head;
    this.framing = framing;
    this.environ = environ;
    this.input = input;
    this.http11 = host.config.http11 && head.version === "HTTP/1.1";
  }

  /** The whole response is in the connection's output (or the socket is another protocol's). */
  protected completeResponse(phase: Phase.Complete | Phase.Upgraded = Phase.Complete): void {
    this.phase = phase;
    this.responseCompleted();
  }

  /** Called once the response is complete: the exchange stops reporting a client that leaves. */
  protected abstract responseCompleted(): void;

  // ---- startResponse and write ----

  private start(status: string, headers: [string, string][], excInfo?: unknown): Write {
    if (excInfo !== undefined && excInfo !== null) {
      // PEP 3333: once the head is out, the error can only propagate.
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- PEP 3333: re-raised as the app gave it
      if (this.phase !== Phase.Head) throw excInfo;
    } else if (this.status !== null) {
      throw new Error("startResponse called a second time without excInfo (PEP 3333)");
    }
    const checkedStatus = checkResponseStatus(status);
    const code = checkedStatus.code;
    // RFC 9110 §8.6: no Content-Length on 1xx, 204, nor 2xx to CONNECT, even the app's.
    const omitLength = !mayCarryContentLength(this.head.method, code);
    const checked = checkResponseHeaders(headers, this.host.config.capitalizeResponseHeaders, omitLength);
    this.status = checkedStatus;
    this.headerBlock = checked.block;
    this.appContentLength = checked.contentLength;
    this.appHasDate = checked.hasDate;
    this.appWantsClose = checked.wantsClose;
    return this.writeFn;
  }

  private write(data: Chunk): Promise<void> {
    try {
      if (this.status === null) throw new Error("write() before start_response()");
      if (this.phase > Phase.Body) {
        const err = new Error("write() after the response was complete");
        this.host.config.log.error(describeError(err));
        throw err;
      }
      if (this.host.gone) throw new ClientDisconnectedError("the client went away before the response was sent");
      this.gathered.add(data, true);
      this.writeParts(-1);
      if (this.host.flush()) return RESOLVED;
      return this.host.drained();
    } catch (err) {
      return quietReject(err);
    }
  }

  // ---- body bytes ----

  /** Adds a chunk and writes what was gathered once it reaches the minimum chunk size. */
  gather(chunk: Chunk): void {
    this.gathered.add(chunk, true);
    const min = this.environ["eventlet.minimum_write_chunk_size"];
    // An empty chunk sends nothing, not even the head (PEP 3333: the head waits for the first non-empty chunk).
    const gathered = this.gathered.bytes;
    if (gathered > 0 && gathered >= (typeof min === "number" ? min : this.host.config.minimumChunkBytes)) {
      this.writeParts(-1);
      // Gathered chunks are framed at once; the socket gets them in batches
      // (fewer syscalls), and backpressure is checked at each batch.
      if (this.host.outputBytes >= SOCKET_BATCH_BYTES && !this.host.flush()) this.mustWait = true;
    }
  }

  /** Writes the gathered parts, framed, sending the head first if it has not gone yet. */
  protected writeParts(knownLength: number): void {
    if (this.phase === Phase.Head) this.sendHead(knownLength);
    const n = this.gathered.bytes;
    if (n === 0) return;
    const parts = this.gathered.take();
    const before = encodeDataStart(this, n, this.appContentLength);
    if (before === null) return;
    if (before.length > 0) this.host.writeText(before);
    for (const part of parts) {
      if (typeof part === "string") this.host.writeText(part);
      else this.host.writeBytes(part);
    }
    const after = encodeDataEnd(this.bodyFraming);
    if (after.length > 0) this.host.writeText(after);
    this.bytesSent += before.length + n + after.length;
  }

  /** The body is over: the last gathered bytes, the head if still unsent, the final chunk. */
  finish(knownLength: number): void {
    this.writeParts(knownLength);
    this.completeResponse();
    const end = encodeBodyEnd(this.bodyFraming);
    if (end.length > 0) {
      this.host.writeText(end);
      this.bytesSent += end.length;
    }
    const short = lengthShortfall(this);
    if (short > 0) {
      this.host.config.log.error(
        `response to "${this.head.requestLine}" is ${short} bytes shorter than its Content-Length; closing the connection`,
      );
      this.keepAlive = false;
    }
  }

  private sendHead(knownLength: number): void {
    const status = this.status;
    // write() checks for itself: here the body came (or ended) with no status to send.
    if (status === null) throw new Error("the application returned a body without calling start_response()");
    const cfg = this.host.config;
    const code = status.code;
    let contentLength = this.appContentLength;
    let addContentLength = false;
    // A length computed from an array body, where one may be sent (HEAD keeps the GET's). Not on a
    // 304: its Content-Length would be the selected representation's (RFC 9110 §8.6), not this empty body's.
    if (contentLength < 0 && knownLength >= 0 && code !== 304 && mayCarryContentLength(this.head.method, code)) {
      contentLength = knownLength;
      addContentLength = true;
    }
    this.bodyFraming = chooseFraming(responseHasNoBody(this.head.method, code), contentLength >= 0, this.http11);
    this.remaining = contentLength;
    const keepAlive = this.decideKeepAlive();
    this.keepAlive = keepAlive;

    let connection = "";
    if (!keepAlive) {
      connection = "Connection: close\r\n";
    } else if (this.framing.connectionKeepAlive) {
      // Only echoed to clients that asked: it is the default in HTTP/1.1.
      connection =
        cfg.keepaliveHeaderSeconds > 0 ? keepAliveLines(cfg.keepaliveHeaderSeconds) : "Connection: keep-alive\r\n";
    }
    const head = assembleHead(
      cfg.http11 ? status.line11 : status.line10,
      this.headerBlock,
      this.appHasDate ? "" : dateHeaderLine(this.host.now),
      addContentLength ? contentLengthLine(contentLength) : "",
      this.bodyFraming === Framing.Chunked ? "Transfer-Encoding: chunked\r\n" : "",
      connection,
    );
    this.phase = Phase.Body;
    this.host.writeText(head);
    this.bytesSent += head.length;
  }

  /** Whether the connection stays open after this response: http1/keep-alive.ts decides. */
  private decideKeepAlive(): boolean {
    return responseKeepsConnection(this.host.mayKeepAlive, this);
  }

  // ---- ResponseFacts (http1/keep-alive.ts) ----

  get method(): string {
    return this.head.method;
  }
  get statusNumber(): number {
    return (this.status as CheckedStatus).code;
  }
  get requestClose(): boolean {
    return this.framing.connectionClose;
  }
  get requestKeepAlive(): boolean {
    return this.framing.connectionKeepAlive;
  }
  get framingMustClose(): boolean {
    return this.framing.mustClose;
  }
  get closeDelimited(): boolean {
    return this.bodyFraming === Framing.Close;
  }
  get continuePending(): boolean {
    const input = this.input;
    return input.continueExpected && !input.continueSent && !input.complete;
  }
  get inputFailed(): boolean {
    return this.input.error !== null;
  }

  /** The server's own error response (a 500), with Connection: close. */
  protected sendErrorResponse(code: number, reason: string, text: string): void {
    const body = Buffer.from(text, "utf8");
    const head =
      `${this.host.config.http11 ? "HTTP/1.1" : "HTTP/1.0"} ${code} ${reason}\r\n` +
      `Content-Type: text/plain\r\nContent-Length: ${body.length}\r\n${dateHeaderLine()}Connection: close\r\n\r\n`;
    this.completeResponse();
    this.serverStatusCode = String(code);
    this.host.writeText(head);
    this.bytesSent += head.length;
    // A HEAD response has its Content-Length but not its body (RFC 9110 §9.3.2): only what was sent counts.
    if (this.head.method !== "HEAD" && body.length > 0) {
      this.host.writeBytes(body);
      this.bytesSent += body.length;
    }
  }
}
