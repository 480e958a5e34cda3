/**
 * Response heads as the exchange assembles them: the pieces joined once,
 * and the last head reused while a server answers the same way again; the
 * keep-alive lines; a protocol switch's headers (takeOver).
 */

import { checkResponseHeaders } from "./start-response.js";

/** The last head assembled, and its parts (see assembleHead). */
const lastParts = ["", "", "", "", "", ""];
let lastHead = "";

/**
 * status line + the application's headers + Date + Content-Length +
 * Transfer-Encoding + Connection, and the blank line. A server answering
 * the same way again (the same status, headers, second and length) gets the
 * same string back: one piece per head in the output rather than six, which
 * is less to join when a batch of responses goes to the socket.
 */
export function assembleHead(
  status: string,
  block: string,
  date: string,
  length: string,
  coding: string,
  connection: string,
): string {
  const p = lastParts;
  if (p[0] === status && p[1] === block && p[2] === date && p[3] === length && p[4] === coding && p[5] === connection)
    return lastHead;
  p[0] = status;
  p[1] = block;
  p[2] = date;
  p[3] = length;
  p[4] = coding;
  p[5] = connection;
  lastHead = `${status}${block}${date}${length}${coding}${connection}\r\n`;
  return lastHead;
}

let keepAliveSeconds = -1;
let keepAliveText = "";

/** "Connection: keep-alive" and "Keep-Alive: timeout=N" lines, made once for N. */
export function keepAliveLines(seconds: number): string {
  if (seconds !== keepAliveSeconds) {
    keepAliveSeconds = seconds;
    keepAliveText = `Connection: keep-alive\r\nKeep-Alive: timeout=${seconds}\r\n`;
  }
  return keepAliveText;
}

/**
 * A protocol switch's headers, checked and capitalised as startResponse does;
 * no Content-Length (a 101 has no body). Its `Connection: Upgrade` is kept,
 * where a final response's Connection is the server's to write (RFC 9110 §7.8).
 */
export function checkUpgradeHeaders(headers: [string, string][], capitalize: boolean): string {
  if (!Array.isArray(headers)) return checkResponseHeaders(headers, capitalize, true).block;
  let connection = "";
  const rest: [string, string][] = [];
  for (const pair of headers) {
    if (Array.isArray(pair) && typeof pair[0] === "string" && pair[0].toLowerCase() === "connection") {
      // Checked on its own (as a harmless name) so that its value gets the same checks.
      const one = checkResponseHeaders([["X", pair[1]]], capitalize, true).block;
      connection += `${capitalize ? "Connection" : pair[0]}${one.slice(1)}`;
    } else {
      rest.push(pair);
    }
  }
  return checkResponseHeaders(rest, capitalize, true).block + connection;
}
