/**
 * The opening handshake's checks (RFC 6455 §4.2.1, §4.2.2), in API.md's order, sans-IO: an environ
 * in, a 101's headers or a refusal out. Every list header is split by hand in one pass; nothing
 * here backtracks, and a request's header count is already bounded by the HTTP parser.
 */

import { createHash } from "node:crypto";
import type { Environ } from "../gateway/types.js";
import { isToken, trimOws } from "../http1/grammar.js";
import { negotiateDeflate, parseExtensions, type DeflateParams } from "./extensions.js";
import type { WebSocketConfig } from "./options.js";

/** RFC 6455 §1.3: appended to the key before hashing. */
const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export interface Accepted {
  readonly ok: true;
  /** The 101's headers, after Upgrade and Connection. */
  readonly headers: [string, string][];
  readonly protocol: string;
  readonly deflate: DeflateParams | null;
}

export interface Refused {
  readonly ok: false;
  readonly status: string;
  readonly headers: [string, string][];
  readonly body: string;
}

export function checkHandshake(environ: Environ, config: WebSocketConfig): Accepted | Refused {
  if (environ.REQUEST_METHOD !== "GET" || environ.SERVER_PROTOCOL !== "HTTP/1.1") {
    return badRequest("a WebSocket handshake is a GET on HTTP/1.1 (RFC 6455 §4.1)");
  }
  if (!listHas(header(environ, "HTTP_UPGRADE"), "websocket")) {
    return badRequest("this resource speaks WebSocket only: Upgrade: websocket is required");
  }
  if (!listHas(header(environ, "HTTP_CONNECTION"), "upgrade")) {
    return badRequest("Connection must include upgrade (RFC 6455 §4.2.1)");
  }
  const key = header(environ, "HTTP_SEC_WEBSOCKET_KEY");
  if (!isValidKey(key)) return badRequest("Sec-WebSocket-Key must be 16 bytes in base64 (RFC 6455 §4.2.1)");
  // What follows the head is the WebSocket's: a request body would be read as frames.
  const length = environ.CONTENT_LENGTH;
  if ((length !== undefined && length !== "0") || environ.HTTP_TRANSFER_ENCODING !== undefined) {
    return badRequest("a WebSocket handshake has no body");
  }
  const offeredProtocols = tokenList(header(environ, "HTTP_SEC_WEBSOCKET_PROTOCOL"));
  if (offeredProtocols === null) return badRequest("Sec-WebSocket-Protocol must be a list of tokens");
  const extensionsValue = header(environ, "HTTP_SEC_WEBSOCKET_EXTENSIONS");
  const offers = extensionsValue === "" ? [] : parseExtensions(extensionsValue);
  if (offers === null) return badRequest("Sec-WebSocket-Extensions is malformed (RFC 6455 §9.1)");

  if (header(environ, "HTTP_SEC_WEBSOCKET_VERSION") !== "13") {
    return {
      ok: false,
      status: "426 Upgrade Required",
      headers: [
        ["Sec-WebSocket-Version", "13"],
        ["Content-Type", "text/plain"],
      ],
      body: "only WebSocket version 13 is supported (RFC 6455 §4.4)\n",
    };
  }
  if (
    config.originChecker !== null &&
    !config.originChecker(header(environ, "HTTP_HOST"), header(environ, "HTTP_ORIGIN"))
  ) {
    return {
      ok: false,
      status: "403 Forbidden",
      headers: [["Content-Type", "text/plain"]],
      body: "origin not allowed\n",
    };
  }

  const headers: [string, string][] = [["Sec-WebSocket-Accept", acceptKey(key)]];
  const protocol = offeredProtocols.find((p) => config.supportedProtocols.includes(p)) ?? "";
  if (protocol !== "") headers.push(["Sec-WebSocket-Protocol", protocol]);
  let deflate: DeflateParams | null = null;
  if (config.deflate !== null && offers.length > 0) {
    const agreement = negotiateDeflate(offers, config.deflate);
    if (agreement !== null) {
      deflate = agreement.params;
      headers.push(["Sec-WebSocket-Extensions", agreement.header]);
    }
  }
  return { ok: true, headers, protocol, deflate };
}

/** Sec-WebSocket-Accept for a key (RFC 6455 §4.2.2 step 5.4). */
export function acceptKey(key: string): string {
  return createHash("sha1")
    .update(key + WEBSOCKET_GUID)
    .digest("base64");
}

function header(environ: Environ, name: string): string {
  const v = environ[name];
  return typeof v === "string" ? v : "";
}

/** A base64 value of 24 characters that decodes to 16 bytes (§4.1: "a randomly selected 16-byte value"). */
function isValidKey(key: string): boolean {
  if (key.length !== 24 || key[22] !== "=" || key[23] !== "=") return false;
  for (let i = 0; i < 22; i++) {
    const c = key.charCodeAt(i);
    const ok =
      (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f;
    if (!ok) return false;
  }
  return true;
}

/** Whether a comma-separated list holds `wanted`, compared case-insensitively. */
function listHas(value: string, wanted: string): boolean {
  let start = 0;
  while (start <= value.length) {
    let end = value.indexOf(",", start);
    if (end < 0) end = value.length;
    if (trimOws(value.slice(start, end)).toLowerCase() === wanted) return true;
    start = end + 1;
  }
  return false;
}

/** A comma-separated list of tokens (empty elements skipped), or null when an element is not a token. */
function tokenList(value: string): string[] | null {
  const out: string[] = [];
  let start = 0;
  while (start <= value.length) {
    let end = value.indexOf(",", start);
    if (end < 0) end = value.length;
    const item = trimOws(value.slice(start, end));
    if (item !== "") {
      if (!isToken(item)) return null;
      out.push(item);
    }
    start = end + 1;
  }
  return out;
}

function badRequest(body: string): Refused {
  return { ok: false, status: "400 Bad Request", headers: [["Content-Type", "text/plain"]], body: body + "\n" };
}
