/**
 * The checks of Python's wsgiref.validate (check_environ, check_status,
 * check_headers, check_content_type), adapted to eventwsgi's API: bodies may
 * hold strings (sent as UTF-8), headers are [name, value] arrays, the Input's
 * reads are asynchronous, and the environ carries `headers_raw`.
 * Adapted rules are marked so.
 */

import { check, Section } from "./error.js";

const REQUIRED_KEYS = [
  "REQUEST_METHOD",
  "SCRIPT_NAME",
  "PATH_INFO",
  "SERVER_NAME",
  "SERVER_PORT",
  "SERVER_PROTOCOL",
  "wsgi.version",
  "wsgi.url_scheme",
  "wsgi.input",
  "wsgi.errors",
  "wsgi.multithread",
  "wsgi.multiprocess",
  "wsgi.run_once",
];

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Keys without a dot that are not CGI strings: eventwsgi's own (adapted). */
const NON_STRING_KEYS = new Set(["headers_raw"]);

/** A control character other than HTAB (RFC 9110 §5.5: a field value may hold HTAB). */
function hasControlChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}

function isLatin1(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return false;
  return true;
}

const show = (v: unknown): string => {
  try {
    return typeof v === "string" ? JSON.stringify(v) : String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
};

export function checkEnviron(environ: unknown): void {
  const E = Section.environ;
  check(environ !== null && typeof environ === "object", "environ is not an object", E, () => show(environ));
  const env = environ as Record<string, unknown>;
  for (const key of REQUIRED_KEYS) check(key in env, "environ lacks a required key", E, () => key);
  for (const key of ["HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"])
    check(!(key in env), "environ has a key that must be CONTENT_* instead", E, () => key);
  for (const key of Object.keys(env)) {
    if (key.includes(".") || NON_STRING_KEYS.has(key)) continue;
    const value = env[key];
    check(typeof value === "string", "a CGI environ value is not a string", E, () => `${key} = ${show(value)}`);
    check(isLatin1(value), "an environ string is not Latin-1", Section.unicode, () => `${key} = ${show(value)}`);
  }
  const version = env["wsgi.version"];
  check(
    Array.isArray(version) && version.length === 2 && version[0] === 1 && version[1] === 0,
    "wsgi.version is not [1, 0]",
    E,
    () => show(version),
  );
  const scheme = env["wsgi.url_scheme"];
  check(scheme === "http" || scheme === "https", "wsgi.url_scheme is neither http nor https", E, () => show(scheme));
  for (const key of ["wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once"])
    check(typeof env[key] === "boolean", "a wsgi.* flag is not a boolean", E, () => `${key} = ${show(env[key])}`);
  checkInputShape(env["wsgi.input"]);
  const errors = env["wsgi.errors"] as { write?: unknown } | null;
  check(typeof errors?.write === "function", "wsgi.errors has no write()", Section.streams, () => show(errors));
  const method = env.REQUEST_METHOD as string;
  check(TOKEN.test(method), "REQUEST_METHOD is not a token", E, () => show(method));
  const script = env.SCRIPT_NAME as string;
  check(script === "" || script.startsWith("/"), "SCRIPT_NAME is neither empty nor starts with /", E, () =>
    show(script),
  );
  check(script !== "/", "SCRIPT_NAME is '/' (it should be '', with PATH_INFO '/')", E, () => show(script));
  const path = env.PATH_INFO as string;
  // Adapted: "*" (OPTIONS *) and a CONNECT's authority are paths as the request gave them.
  const pathOk = path === "" || path.startsWith("/") || (method === "OPTIONS" && path === "*") || method === "CONNECT";
  check(pathOk, "PATH_INFO is neither empty nor starts with /", E, () => show(path));
  const length = env.CONTENT_LENGTH;
  check(length === undefined || /^[0-9]+$/.test(length as string), "CONTENT_LENGTH is not an integer", E, () =>
    show(length),
  );
  const hooks = env["eventlet.posthooks"];
  if (hooks !== undefined) check(Array.isArray(hooks), "eventlet.posthooks is not an array", E, () => show(hooks));
}

function checkInputShape(input: unknown): void {
  const i = input as Record<string | symbol, unknown> | null;
  const ok =
    i !== null &&
    typeof i === "object" &&
    typeof i.read === "function" &&
    typeof i.readline === "function" &&
    typeof i.readlines === "function" &&
    typeof i[Symbol.asyncIterator] === "function";
  check(ok, "wsgi.input lacks read/readline/readlines/iteration", Section.streams, () => show(input));
}

/** The status code, once the status is checked. */
export function checkStatus(status: unknown): number {
  const S = Section.startResponse;
  check(typeof status === "string", "the status is not a string", S, () => show(status));
  const code = Number(status.slice(0, 3));
  check(/^[0-9]{3}/.test(status) && code >= 100, "the status does not start with a 3-digit code >= 100", S, () =>
    show(status),
  );
  check(status.length === 3 || status[3] === " ", "the status code is not followed by a space", S, () => show(status));
  return code;
}

export function checkHeaders(headers: unknown, code: number): void {
  const S = Section.startResponse;
  check(Array.isArray(headers), "the headers are not an array", S, () => show(headers));
  let contentType = false;
  for (const pair of headers as unknown[]) {
    check(Array.isArray(pair) && pair.length === 2, "a header is not a [name, value] pair", S, () => show(pair));
    const [name, value] = pair as unknown[];
    check(typeof name === "string" && typeof value === "string", "a header name or value is not a string", S, () =>
      show(pair),
    );
    check(
      name.toLowerCase() !== "status",
      "a header is named Status (the status goes in the status line)",
      S,
      () => name,
    );
    check(TOKEN.test(name), "a header name is not a token (no ':', space or newline)", S, () => show(name));
    check(!/[-_]$/.test(name), "a header name ends with - or _", S, () => show(name));
    // Adapted: HTAB is allowed in a value (RFC 9110 §5.5), other control characters are not.
    check(!hasControlChar(value), "a header value holds a control character", S, () => `${name}: ${show(value)}`);
    check(isLatin1(value), "a header value is not Latin-1", Section.unicode, () => `${name}: ${show(value)}`);
    if (name.toLowerCase() === "content-type") contentType = true;
  }
  const noContent = code === 204 || code === 304;
  if (noContent)
    check(!contentType, "a Content-Type on a response that has no content", S, () => `status ${String(code)}`);
}

/** wsgiref's check_content_type, kept apart: many apps leave Content-Type out, and PEP 3333 allows it. */
export function checkContentType(headers: [string, string][], code: number): void {
  if (code < 200 || code === 204 || code === 304) return;
  check(
    headers.some(([n]) => n.toLowerCase() === "content-type"),
    "no Content-Type header",
    Section.startResponse,
    () => `status ${String(code)}`,
  );
}

/** A body chunk: bytes, or (adapted) a string, sent as UTF-8. */
export function checkChunk(chunk: unknown, where: string): void {
  check(
    typeof chunk === "string" || chunk instanceof Uint8Array,
    `${where} is neither bytes nor a string`,
    Section.appSide,
    () => Object.prototype.toString.call(chunk),
  );
}
