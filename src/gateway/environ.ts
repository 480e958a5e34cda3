/**
 * The environ of one request (PEP 3333, eventlet's `get_environ`), built
 * from the parsed head and what the connection knows of its two ends.
 */

import type { RequestHead } from "../http1/request-head.js";
import type { RequestFraming } from "../http1/request-framing.js";
import type { AllowList } from "../proxy/allow-list.js";
import { resolveForwarded } from "../proxy/forwarded.js";
import type { Input } from "./input.js";
import type { Environ, ErrorStream } from "./types.js";

/** What the connection knows about itself, fixed for its life. */
export interface ConnectionInfo {
  readonly serverName: string;
  readonly serverPort: string;
  readonly remoteAddr: string;
  readonly remotePort: string;
  readonly https: boolean;
  /**
   * `forwardedAllowIps` when the peer (remoteAddr) is in it: its forwarding headers then
   * set REMOTE_ADDR, REMOTE_PORT and the scheme. null or absent: the headers are believed in nothing.
   */
  readonly trustedForwarding?: AllowList | null;
  readonly setIdle: () => void;
  readonly errors: ErrorStream;
}

/** Header name as sent → its environ key, or null when the name holds "_" (eventlet drops those). */
const envKeyCache = new Map<string, string | null>();
const ENV_KEY_CACHE_LIMIT = 1024;

function envKeyOf(name: string): string | null {
  let key = envKeyCache.get(name);
  if (key !== undefined) return key;
  if (name.includes("_")) {
    key = null;
  } else {
    const upper = name.toUpperCase().replace(/-/g, "_");
    // CGI: Content-Type and Content-Length have keys of their own, without HTTP_.
    key = upper === "CONTENT_TYPE" || upper === "CONTENT_LENGTH" ? upper : `HTTP_${upper}`;
  }
  if (envKeyCache.size < ENV_KEY_CACHE_LIMIT) envKeyCache.set(name, key);
  return key;
}

/**
 * PATH_INFO: the path percent-decoded, each escape standing for one byte
 * and the bytes read as Latin-1 (PEP 3333's "bytes as latin-1"), like
 * eventlet's `unquote(path, encoding='latin1')`. A malformed escape stays as it is.
 */
export function decodePathLatin1(path: string): string {
  if (!path.includes("%")) return path;
  let out = "";
  let last = 0;
  for (let i = path.indexOf("%"); i !== -1; i = path.indexOf("%", i + 1)) {
    const hex = path.slice(i + 1, i + 3);
    if (hex.length !== 2 || !/^[0-9A-Fa-f]{2}$/.test(hex)) continue;
    out += path.slice(last, i) + String.fromCharCode(parseInt(hex, 16));
    last = i + 3;
    i += 2;
  }
  return out + path.slice(last);
}

/**
 * Keys that describe the request itself: `opts.environ` cannot replace them
 * (eventlet sets them after copying its environ), so a shared value — an
 * `eventlet.posthooks` array, a `wsgi.input` — never leaks across requests.
 * The wsgi.* constants, `HTTPS` and `HTTP_*` defaults it may set.
 */
const PER_REQUEST_KEYS = new Set([
  "REQUEST_METHOD",
  "SCRIPT_NAME",
  "PATH_INFO",
  "RAW_PATH_INFO",
  "QUERY_STRING",
  "CONTENT_TYPE",
  "CONTENT_LENGTH",
  "SERVER_NAME",
  "SERVER_PORT",
  "SERVER_PROTOCOL",
  "REMOTE_ADDR",
  "REMOTE_PORT",
  "GATEWAY_INTERFACE",
  "headers_raw",
  "wsgi.input",
  "eventlet.input",
  "eventlet.posthooks",
  "eventlet.set_idle",
]);

function addExtraKeys(env: Environ, extra: Readonly<Record<string, unknown>>): void {
  for (const key of Object.keys(extra)) {
    if (!PER_REQUEST_KEYS.has(key)) env[key] = extra[key];
  }
}

/** The parts of a request-target the environ needs, whatever its form (RFC 9112 §3.2). */
interface TargetParts {
  readonly path: string;
  readonly query: string | undefined;
  /** The authority of an absolute-form target; null for the other forms. */
  readonly authority: string | null;
}

function splitTarget(method: string, target: string): TargetParts {
  let pathAndQuery = target;
  let authority: string | null = null;
  if (target.charCodeAt(0) !== 0x2f && target !== "*" && method !== "CONNECT") {
    // absolute-form: drop scheme and authority; an empty path is "/".
    const afterScheme = target.indexOf("://") + 3;
    const slash = target.slice(afterScheme).search(/[/?]/);
    authority = slash === -1 ? target.slice(afterScheme) : target.slice(afterScheme, afterScheme + slash);
    pathAndQuery = slash === -1 ? "/" : target.slice(afterScheme + slash);
    if (pathAndQuery.charCodeAt(0) === 0x3f) pathAndQuery = `/${pathAndQuery}`;
  }
  const q = pathAndQuery.indexOf("?");
  return q === -1
    ? { path: pathAndQuery, query: undefined, authority }
    : { path: pathAndQuery.slice(0, q), query: pathAndQuery.slice(q + 1), authority };
}

/**
 * A trusted peer's Forwarded / X-Forwarded-* (proxy/forwarded.ts) over the socket's
 * REMOTE_ADDR, REMOTE_PORT, wsgi.url_scheme and HTTPS. The headers stay as sent.
 */
function applyForwarded(env: Environ, headers: readonly string[], trust: AllowList): void {
  const client = resolveForwarded(headers, trust);
  if (client.addr !== null) {
    env.REMOTE_ADDR = client.addr;
    env.REMOTE_PORT = client.port;
  }
  if (client.scheme !== null) {
    env["wsgi.url_scheme"] = client.scheme;
    if (client.scheme === "https") env.HTTPS = "on";
    else delete env.HTTPS;
  }
}

export function buildEnviron(
  head: RequestHead,
  framing: RequestFraming,
  conn: ConnectionInfo,
  input: Input,
  extra: Readonly<Record<string, unknown>> | null,
): Environ {
  const { path: rawPath, query, authority } = splitTarget(head.method, head.target);
  const env: Environ = {
    REQUEST_METHOD: head.method,
    SCRIPT_NAME: "",
    PATH_INFO: decodePathLatin1(rawPath),
    RAW_PATH_INFO: rawPath,
    CONTENT_TYPE: "text/plain",
    SERVER_NAME: conn.serverName,
    SERVER_PORT: conn.serverPort,
    SERVER_PROTOCOL: head.version,
    REMOTE_ADDR: conn.remoteAddr,
    REMOTE_PORT: conn.remotePort,
    GATEWAY_INTERFACE: "CGI/1.1",
    headers_raw: [],
    "wsgi.version": [1, 0],
    "wsgi.url_scheme": conn.https ? "https" : "http",
    "wsgi.input": input,
    "eventlet.input": input,
    "wsgi.errors": conn.errors,
    "wsgi.multithread": true,
    "wsgi.multiprocess": false,
    "wsgi.run_once": false,
    "eventlet.posthooks": [],
    "eventlet.set_idle": conn.setIdle,
  };
  if (query !== undefined) env.QUERY_STRING = query;
  if (conn.https) env.HTTPS = "on";
  if (extra !== null) addExtraKeys(env, extra);
  const h = head.headers;
  const raw = env.headers_raw;
  let contentTypeSeen = false;
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i] as string;
    const value = h[i + 1] as string;
    raw.push([name, value]);
    const key = envKeyOf(name);
    if (key === null) continue;
    if (key === "CONTENT_LENGTH") {
      // Sent only when the request has one; its folded value when it was a list (RFC 9110 §8.6).
      if (framing.contentLength >= 0) env.CONTENT_LENGTH = String(framing.contentLength);
      continue;
    }
    if (key === "CONTENT_TYPE") {
      // Not a list field: a repeated one is not joined, and the first counts (eventlet's headers.get()).
      if (!contentTypeSeen) env.CONTENT_TYPE = value;
      contentTypeSeen = true;
      continue;
    }
    const prev = env[key];
    env[key] = prev === undefined ? value : `${prev as string},${value}`;
  }
  const trust = conn.trustedForwarding ?? null;
  if (trust !== null) applyForwarded(env, h, trust);
  // RFC 9112 §3.2.2: with an absolute-form target the server uses the target's
  // authority and ignores Host (headers_raw still holds what was sent).
  if (authority !== null) env.HTTP_HOST = authority;
  return env;
}
