/**
 * eventwsgi/hono: helpers for Hono apps served by eventwsgi (hono is an
 * optional peer dependency; only its types are used here).
 */

import type { Context } from "hono";
import type { ConnInfo } from "hono/conninfo";
import { isIPv4, isIPv6 } from "node:net";
import type { Environ } from "./gateway/types.js";

/**
 * Hono's ConnInfo from the WSGI environ (`c.env.environ`, as fetchApp passes it):
 * the client's address and port as the server sees them (REMOTE_ADDR, which
 * `forwardedAllowIps` may have taken from a trusted proxy's headers).
 * A drop-in for @hono/node-server's `getConnInfo`.
 */
export function getConnInfo(c: Context): ConnInfo {
  const environ = (c.env as { environ?: Environ } | undefined)?.environ;
  if (environ === undefined)
    throw new TypeError("getConnInfo: c.env.environ is missing; is the app served by fetchApp?");
  const address = environ.REMOTE_ADDR;
  const port = environ.REMOTE_PORT === "" ? undefined : Number(environ.REMOTE_PORT);
  const unix = environ.SERVER_NAME === "unix";
  return {
    remote: {
      address: unix ? undefined : address,
      port,
      addressType: isIPv4(address) ? "IPv4" : isIPv6(address) ? "IPv6" : undefined,
      transport: unix ? undefined : "tcp",
    },
  };
}

// WebSocket: Hono's upgradeWebSocket on eventwsgi's WebSocket (docs/websocket.md).
export { upgradeWebSocket } from "./websocket/hono.js";
