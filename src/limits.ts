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
