/**
 * Protocol limits and defaults, each with its unit. The names and values are
 * eventlet's (`eventlet/wsgi.py`), exported as the public constants.
 */

/** Bytes: a request line (with its CRLF) this long or longer gets 414. */
export const MAX_REQUEST_LINE = 8192;
/** Bytes: a header line (with its CRLF) this long or longer gets 400 Header Line Too Long. */
export const MAX_HEADER_LINE = 8192;
/** Bytes: all header lines together (with CRLFs) longer than this get 400 Headers Too Large. */
export const MAX_TOTAL_HEADER_SIZE = 65536;
/** Bytes: response chunks smaller than this are gathered before a write. */
export const MINIMUM_CHUNK_SIZE = 4096;
/** Connections: the default `maxSize`. */
export const DEFAULT_MAX_SIMULTANEOUS_REQUESTS = 1024;
/** eventlet's access-log template. */
export const DEFAULT_LOG_FORMAT =
  '%(client_ip)s - - [%(date_time)s] "%(request_line)s" %(status_code)s %(body_length)s %(wall_seconds).6f';

/** Bytes: a chunk-size line (size plus extensions plus CRLF) longer than this is a ChunkReadError. */
export const MAX_CHUNK_LINE = 4096;
/** Bytes of request body buffered for an application that is not reading before the socket is paused. */
export const INPUT_HIGH_WATER_MARK = 64 * 1024;
/** Bytes of pipelined input buffered while a request is in progress before the socket is paused. */
export const PIPELINE_HIGH_WATER_MARK = 128 * 1024;

// ---- the server's own limits and timeouts (not eventlet's) ----

/** Bytes of framed response body gathered in the connection's output before it is handed to the socket. */
export const SOCKET_BATCH_BYTES = 64 * 1024;
/** Bytes: a larger array body is written in slices this big, each once the last was taken, so that what reached the kernel is known (access log). */
export const MAX_SOCKET_WRITE_BYTES = 1024 * 1024;
/** Bytes: the smallest buffer copied response chunks are gathered in (gateway/response.ts). */
export const COPY_BUFFER_BYTES = 16 * 1024;
/** Milliseconds an ended connection may wait for the client's FIN before it is destroyed. */
export const LINGER_MS = 5000;
/** Milliseconds an async body's return() is waited for once the client left during its next(). */
export const RETURN_GRACE_MS = 500;
/**
 * Milliseconds a connection that has not carried a request yet may still send
 * its first one once WsgiServer.close() began (docs/api.md, the zero-loss rule).
 */
export const FIRST_REQUEST_GRACE_MS = 1000;
/** Seconds: the default headersTimeout (Node's headersTimeout is 60 s too). */
export const DEFAULT_HEADERS_TIMEOUT_S = 60;
/** Seconds: the default requestTimeout (Node's requestTimeout is 300 s too). */
export const DEFAULT_REQUEST_TIMEOUT_S = 300;
/** Connections: the default listen backlog, eventlet's. */
export const DEFAULT_BACKLOG = 50;
/** Milliseconds: the server checks its connections' time limits at least this often, and at most... */
export const MAX_SWEEP_MS = 1000;
/** ...this often (a quarter of the smallest limit, bounded by these two). */
export const MIN_SWEEP_MS = 20;
