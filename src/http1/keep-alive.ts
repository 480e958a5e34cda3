/**
 * Whether a connection stays open after a response (RFC 9112 §9.3, §9.6;
 * RFC 9110 §7.6.1, §9.3.6, §15.2) with eventlet's rules: the one place it is
 * decided, as h11's `_keep_alive` and Go's `shouldReuseConnection`. Sans-IO:
 * it reads facts: the connection's from http1/server-connection.ts (which
 * implements ConnectionFacts), the response's from the exchange
 * (gateway/response-writer.ts implements ResponseFacts).
 *
 * It is asked twice for each response: when its head is written (does the
 * head say `Connection: close`? response-writer.ts's sendHead), and when its
 * exchange is over (is the next request read? server/connection.ts's
 * exchangeDone, which tells server-connection.ts's responseEnded). The
 * second time more facts are known — the response was cut, the socket taken
 * over, the body could not be drained — and any of them can only turn a yes
 * into a no.
 */

/** What the connection knows. */
export interface ConnectionFacts {
  /** The keepalive option is on. */
  readonly keepaliveEnabled: boolean;
  /** The server is shutting down. */
  readonly serverClosing: boolean;
  /** Reading stopped for good (a framing error or a timeout). */
  readonly readingStopped: boolean;
  /** The client half-closed, and no byte it sent before is left to read. */
  readonly peerDone: boolean;
}

/** What the exchange knows about its request and response. */
export interface ResponseFacts {
  /** The request's method and the response's status code. */
  readonly method: string;
  readonly statusNumber: number;
  /** Both ends speak HTTP/1.1. */
  readonly http11: boolean;
  /** The request said `Connection: close` / `Connection: keep-alive`. */
  readonly requestClose: boolean;
  readonly requestKeepAlive: boolean;
  /** The request's framing forbids another request (Content-Length with Transfer-Encoding let through). */
  readonly framingMustClose: boolean;
  /** The application sent `Connection: close`. */
  readonly appWantsClose: boolean;
  /** The body runs to the connection's close (HTTP/1.0 without Content-Length). */
  readonly closeDelimited: boolean;
  /** The client still waits for a 100 Continue: its unsent body would be read as the next request. */
  readonly continuePending: boolean;
  /** Reading the request body failed. */
  readonly inputFailed: boolean;
}

/** The connection may serve another request, whatever the response. */
export function connectionMayContinue(c: ConnectionFacts): boolean {
  return c.keepaliveEnabled && !c.serverClosing && !c.readingStopped && !c.peerDone;
}

/** The connection stays open after this response; `mayContinue` is connectionMayContinue()'s answer. */
export function responseKeepsConnection(mayContinue: boolean, r: ResponseFacts): boolean {
  if (!mayContinue || r.appWantsClose || r.framingMustClose || r.closeDelimited) return false;
  // A 1xx as the final status: after a 101 the client speaks another protocol (RFC 9110 §15.2.2),
  // after any other it waits for a final response that will not come — HTTP cannot go on.
  if (r.statusNumber < 200) return false;
  // A 2xx to CONNECT makes the connection a tunnel (RFC 9110 §9.3.6): what follows is not HTTP.
  if (r.method === "CONNECT" && r.statusNumber < 300) return false;
  // HTTP/1.1 is persistent unless closed; HTTP/1.0 only when it asked (RFC 9112 §9.3).
  if (r.http11 ? r.requestClose : !r.requestKeepAlive) return false;
  return !r.continuePending && !r.inputFailed;
}
