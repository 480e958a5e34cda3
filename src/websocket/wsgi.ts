/**
 * WebSocketWSGI (eventlet.websocket.WebSocketWSGI): a handler `(ws) => …` made into a WSGI App.
 * The handshake is checked (handshake.ts); a refusal is an ordinary response; an acceptance takes
 * the connection over through the gateway (gateway/upgrade.ts) with a 101, runs the handler, and
 * closes: 1000 when it returns, 1011 when it throws (and the error goes to the server's log, as an
 * application error), 1001 when the server shuts down.
 */

import type { App, Body, Environ, StartResponse } from "../gateway/types.js";
import { takeOver } from "../gateway/upgrade.js";
import { checkHandshake, type Accepted } from "./handshake.js";
import { Heartbeat } from "./heartbeat.js";
import { resolveWebSocketOptions, type WebSocketConfig, type WebSocketOptions } from "./options.js";
import { WebSocketClosedError } from "./errors.js";
import { WebSocket } from "./websocket.js";

export type WebSocketHandler = (ws: WebSocket) => void | Promise<void>;

/**
 * Answers an accepted handshake with the 101, takes the connection over and makes its WebSocket,
 * which gets the 1001 when the server shuts down. Shared by WebSocketWSGI and Hono's helper.
 */
export async function acceptWebSocket(
  environ: Environ,
  handshake: Accepted,
  config: WebSocketConfig,
): Promise<WebSocket> {
  const takeover = await takeOver(environ, "101 Switching Protocols", [
    ["Upgrade", "websocket"],
    ["Connection", "Upgrade"],
    ...handshake.headers,
  ]);
  const ws = new WebSocket(takeover.socket, environ, handshake.protocol, handshake.deflate, config, takeover.head);
  takeover.onShutdown((deadlineMs) => {
    ws.shutdown(deadlineMs);
  });
  return ws;
}

/** Returns a WSGI App that accepts WebSocket connections and hands each to `handler`. */
export function WebSocketWSGI(handler: WebSocketHandler, opts?: WebSocketOptions): App {
  const config = resolveWebSocketOptions(opts);
  const heartbeat = config.heartbeatMs > 0 ? new Heartbeat(config.heartbeatMs) : null;

  return async (environ: Environ, startResponse: StartResponse): Promise<Body> => {
    const handshake = checkHandshake(environ, config);
    if (!handshake.ok) {
      startResponse(handshake.status, handshake.headers);
      return [handshake.body];
    }
    const ws = await acceptWebSocket(environ, handshake, config);
    heartbeat?.add(ws);
    try {
      await handler(ws);
    } catch (err) {
      await ws.closeForError();
      heartbeat?.delete(ws);
      // A send on a connection the peer already closed is the client leaving (eventlet ignores
      // EPIPE and ECONNRESET); any other error is the application's, logged by the server.
      if (!(err instanceof WebSocketClosedError)) throw err;
      return [];
    }
    await ws.finish();
    heartbeat?.delete(ws);
    return [];
  };
}
