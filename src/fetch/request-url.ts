/**
 * `request.url` for a fetch handler, from the environ (API.md, "Rules of fetchApp"):
 * `wsgi.url_scheme` + "://" + host + SCRIPT_NAME + RAW_PATH_INFO + "?" + QUERY_STRING,
 * as the WHATWG URL parser would serialize it.
 *
 * Most requests are plain (a lower-case host name, a path and query of
 * characters the URL parser leaves alone, no dot segments): for them the
 * string is already what the parser would give, and it is built without it.
 * Anything else goes through `new URL()`, so the handler never sees a URL
 * that a later `new URL(request.url)` would read differently.
 */

import { isValidHost } from "../http1/grammar.js";
import type { Environ } from "../gateway/types.js";

/** The request cannot be given a URL: answered 400, as a bad Host is. */
export class BadRequestUrlError extends Error {
  readonly code = "ERR_BAD_REQUEST_URL";
  constructor(message: string) {
    super(message);
    this.name = "BadRequestUrlError";
  }
}

/**
 * A host the URL parser keeps as it is, with an optional port: a lower-case
 * name whose last label starts with a letter (a last label of digits, or 0x,
 * is read as IPv4 and may be rewritten or refused), or a dotted quad in canonical form.
 */
const PLAIN_HOST =
  /^(?:(?:[a-z0-9-]+\.)*[a-z][a-z0-9-]*|(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]))(?::[0-9]{1,5})?$/;
/** A path of characters outside the WHATWG path percent-encode set, with no "\" (read as "/"). */
const PLAIN_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/;
/** ".", "..", or their %2e spellings as a segment: the parser removes them. */
const DOT_SEGMENT = /\/(?:\.|%2e)(?:\.|%2e)?(?:\/|$)/i;
/** A query of characters outside the special-query percent-encode set. */
const PLAIN_QUERY = /^[A-Za-z0-9\-._~!$&()*+,;=:@%/?[\]^`{|}]*$/;

/** A host (and port) that new URL() would give back unchanged. */
function isPlainHost(host: string, scheme: string): boolean {
  if (!PLAIN_HOST.test(host) || host.includes("xn--")) return false; // punycode is checked by the parser
  const colon = host.indexOf(":");
  if (colon === -1) return true;
  const digits = host.slice(colon + 1);
  const port = Number(digits);
  // The parser drops a default port and leading zeros, and refuses a port out of range.
  return String(port) === digits && port <= 65535 && port !== (scheme === "https" ? 443 : 80);
}

/** The authority part: HTTP_HOST, else SERVER_NAME:SERVER_PORT (PEP 3333's URL reconstruction). */
function hostOf(environ: Environ): string {
  const host = environ.HTTP_HOST;
  if (typeof host === "string" && host.length > 0) {
    // The server checked a Host header; an absolute-form target's authority (which may
    // carry userinfo) and a host set by middleware are checked here.
    if (!isValidHost(host)) throw new BadRequestUrlError(`invalid host: ${JSON.stringify(host)}`);
    return host;
  }
  const name = environ.SERVER_NAME;
  const port = environ.SERVER_PORT;
  const scheme = environ["wsgi.url_scheme"];
  const defaultPort = scheme === "https" ? "443" : "80";
  const bracketed = name.includes(":") ? `[${name}]` : name;
  return port === "" || port === defaultPort ? bracketed : `${bracketed}:${port}`;
}

/** The request's URL, as a string the WHATWG URL parser would give back unchanged. */
export function requestUrl(environ: Environ): string {
  const scheme = environ["wsgi.url_scheme"];
  const host = hostOf(environ);
  // asterisk-form (OPTIONS *) and authority-form (CONNECT) have no path: the URL gets "/".
  const raw = environ.RAW_PATH_INFO;
  const path = environ.SCRIPT_NAME + (raw.charCodeAt(0) === 0x2f ? raw : "/");
  const query = environ.QUERY_STRING;
  const url = `${scheme}://${host}${path}${query === undefined ? "" : `?${query}`}`;
  if (
    isPlainHost(host, scheme) &&
    PLAIN_PATH.test(path) &&
    !DOT_SEGMENT.test(path) &&
    (query === undefined || PLAIN_QUERY.test(query))
  ) {
    return url;
  }
  try {
    return new URL(url).href;
  } catch {
    throw new BadRequestUrlError(`no valid URL for host ${JSON.stringify(host)} and path ${JSON.stringify(path)}`);
  }
}
