/**
 * Hono's `upgradeWebSocket` for apps served through fetchApp (`eventwsgi/hono`), made with Hono's
 * own `defineWebSocketHelper` on top of WebSocketWSGI's WebSocket: the same handshake checks,
 * limits and compression. The middleware takes the connection over, runs the session to its end
 * (Hono's events: onOpen, onMessage, onClose, onError), then marks the environ as handled
 * (`eventlet.already_handled`), so fetchApp sends nothing more.
 */

import type { Context } from "hono";
import { defineWebSocketHelper, WSContext, type WSEvents, type WSReadyState } from "hono/ws";

/** Hono's CloseEvent type (the DOM's, which Node 20's types lack). */
type HonoCloseEvent = Parameters<NonNullable<WSEvents["onClose"]>>[0];
import type { Environ } from "../gateway/types.js";
import { checkHandshake } from "./handshake.js";
import { resolveWebSocketOptions, type WebSocketConfig, type WebSocketOptions } from "./options.js";
import type { WebSocket } from "./websocket.js";
import { acceptWebSocket } from "./wsgi.js";

const configs = new WeakMap<object, WebSocketConfig>();
const DEFAULT_CONFIG = resolveWebSocketOptions();

function configFor(options: WebSocketOptions | undefined): WebSocketConfig {
  if (options === undefined) return DEFAULT_CONFIG;
  let config = configs.get(options);
  if (config === undefined) {
    config = resolveWebSocketOptions({ ...options, heartbeat: 0 });
    configs.set(options, config);
  }
  return config;
}

/** A CloseEvent (Node 20 has no global one): an Event with `code`, `reason` and `wasClean`. */
function closeEvent(code: number, reason: string): HonoCloseEvent {
  const event: HonoCloseEvent = Object.assign(new Event("close"), { code, reason, wasClean: code !== 1006 });
  return event;
}

function readyState(ws: WebSocket, open: boolean): WSReadyState {
  if (!ws.isOpen) return 3;
  return open ? 1 : 2;
}

/**
 * `upgradeWebSocket((c) => ({ onMessage(evt, ws) { ws.send(evt.data) } }), options?)`, as
 * @hono/node-server's. `options` are WebSocketOptions (no heartbeat here: the session belongs to
 * Hono's events).
 */
export const upgradeWebSocket = defineWebSocketHelper<WebSocket, WebSocketOptions>(
  async (c: Context, events, options) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") return;
    const environ = (c.env as { environ?: Environ } | undefined)?.environ;
    if (environ === undefined)
      throw new TypeError("upgradeWebSocket: c.env.environ is missing; is the app served by fetchApp?");
    const config = configFor(options);
    const handshake = checkHandshake(environ, config);
    if (!handshake.ok) {
      return new Response(handshake.body, { status: Number(handshake.status.slice(0, 3)), headers: handshake.headers });
    }
    const ws = await acceptWebSocket(environ, handshake, config);
    let open = true;
    const ctx = new WSContext<WebSocket>({
      send: (data) => {
        ws.send(data).catch(() => undefined);
      },
      close: (code, reason) => {
        open = false;
        void ws.close(code ?? 1000, reason ?? "");
      },
      raw: ws,
      get readyState() {
        return readyState(ws, open);
      },
      url: c.req.url,
      protocol: handshake.protocol === "" ? null : handshake.protocol,
    });
    const report = (err: unknown): void => {
      events.onError?.(Object.assign(new Event("error"), { error: err }), ctx);
    };
    try {
      events.onOpen?.(new Event("open"), ctx);
      for await (const message of ws) {
        const data = typeof message === "string" ? message : new Uint8Array(message).buffer;
        events.onMessage?.(new MessageEvent("message", { data }), ctx);
      }
    } catch (err) {
      report(err);
      await ws.closeForError();
    }
    await ws.finish();
    open = false;
    try {
      events.onClose?.(closeEvent(ws.closeCode ?? 1006, ws.closeReason ?? ""), ctx);
    } catch (err) {
      report(err);
    }
    // The session is over and the connection the server's again to drop: fetchApp sends nothing more.
    environ["eventlet.already_handled"] = true;
    return new Response(null);
  },
);
