/**
 * Taking a connection over for another protocol (WebSocket, RFC 6455; any
 * `Upgrade`, RFC 9110 §7.8). Internal to the package: adapters import it from
 * here; it is not a root export.
 */

import type { Environ } from "./types.js";
import { exchangeOf, type Takeover } from "./exchange-link.js";

export type { Takeover } from "./exchange-link.js";

/**
 * Sends `status` (a 101) with `headers` through the server's own response-head
 * serialiser (capitalisation and checks as startResponse), waits until the
 * kernel has taken it, moves the connection to its "upgraded" state (no
 * parser, no header/request/keep-alive timers, still counted in maxSize and
 * connectionCount) and hands the socket over. Throws if the response has
 * already started or the request has a body still unread. The app keeps
 * running while it uses the socket; when the app returns (its body should be
 * empty) the exchange ends with an "upgraded" outcome: the server destroys
 * the socket if still open, writes ONE access-log line (status 101,
 * body_length = the head's bytes) and runs post hooks.
 */
export function takeOver(environ: Environ, status: string, headers: [string, string][]): Promise<Takeover> {
  const exchange = exchangeOf(environ);
  if (exchange === undefined) return Promise.reject(new TypeError("takeOver(): not an environ from this server"));
  return exchange.takeOver(status, headers);
}
