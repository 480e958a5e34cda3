/** eventwsgi: an event-driven WSGI server for TypeScript on Node.js. Public exports only. */

export { listen, type Address, type ListenOptions, type ListenSocket } from "./server/listen.js";
export { wrapSsl, type SslOptions } from "./server/tls.js";
export { server, type CloseOptions, type WsgiServer } from "./server/server.js";
export { formatDateTime } from "./http1/date.js";
export {
  DEFAULT_LOG_FORMAT,
  DEFAULT_MAX_SIMULTANEOUS_REQUESTS,
  MAX_HEADER_LINE,
  MAX_REQUEST_LINE,
  MAX_TOTAL_HEADER_SIZE,
  MINIMUM_CHUNK_SIZE,
} from "./limits.js";
export {
  ChunkReadError,
  ClientDisconnectedError,
  HeaderLineTooLong,
  HeaderLineTooLongError,
  HeadersTooLarge,
  HeadersTooLargeError,
  HttpProtocolError,
} from "./errors.js";
export type { App, Body, Chunk, Environ, ErrorStream, PostHook, StartResponse, Write } from "./gateway/types.js";
export type { Input } from "./gateway/input.js";
export type { ServerOptions } from "./options.js";
export type { Logger, LogTarget } from "./logger.js";
export type { AccessLogFields } from "./access-log.js";

// Fetch-style apps (issue 14): WHATWG fetch handlers on eventwsgi, WSGI apps as fetch handlers, a PEP 3333 validator.
export {
  fetchApp,
  type ExecutionContext,
  type FetchAppOptions,
  type FetchEnv,
  type FetchHandler,
  type FetchModule,
} from "./fetch/fetch-app.js";
export { wsgiFetch, type WsgiFetchOptions } from "./fetch/wsgi-fetch.js";
export { serve, type ListenInfo, type ServeOptions } from "./fetch/serve.js";
export { validator, type ValidatorOptions } from "./validate/validator.js";
export { WsgiValidationError } from "./validate/error.js";

// WebSocket (eventlet.websocket)
export { WebSocketWSGI, type WebSocketHandler } from "./websocket/wsgi.js";
export type { WebSocket, Message as WebSocketMessage, SendData as WebSocketData } from "./websocket/websocket.js";
export { WebSocketClosedError, WebSocketProtocolError } from "./websocket/errors.js";
export type { PermessageDeflateOptions, WebSocketOptions } from "./websocket/options.js";
