/**
 * request.url's fast path gives exactly what the WHATWG URL parser gives:
 * a property over hosts, paths and queries built from the characters that
 * matter (dots, percent signs, digits, default ports, punycode, quotes...).
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { Environ } from "../../src/index.js";
import { BadRequestUrlError, requestUrl } from "../../src/fetch/request-url.js";

function environ(host: string | undefined, path: string, query: string | undefined, https = false): Environ {
  const env = {
    REQUEST_METHOD: "GET",
    SCRIPT_NAME: "",
    RAW_PATH_INFO: path,
    SERVER_NAME: "10.0.0.1",
    SERVER_PORT: "8090",
    "wsgi.url_scheme": https ? "https" : "http",
  } as unknown as Environ;
  if (host !== undefined) env.HTTP_HOST = host;
  if (query !== undefined) env.QUERY_STRING = query;
  return env;
}

/** What the parser makes of it, or null when it refuses. */
function parsed(env: Environ): string | null {
  const host = (env.HTTP_HOST as string | undefined) ?? "10.0.0.1:8090";
  const q = env.QUERY_STRING === undefined ? "" : `?${env.QUERY_STRING}`;
  try {
    return new URL(`${env["wsgi.url_scheme"]}://${host}${env.RAW_PATH_INFO}${q}`).href;
  } catch {
    return null;
  }
}

const hostChars = fc.constantFrom(..."abcxyzAZ0123456789.-:[]_%@xn-".split(""));
const host = fc.oneof(
  fc.constantFrom(
    "example.com",
    "127.0.0.1",
    "localhost:8080",
    "a.b:80",
    "a:443",
    "xn--abc.com",
    "1.2.3.999",
    "a:0080",
    "[::1]:1",
  ),
  fc.string({ unit: hostChars, minLength: 1, maxLength: 12 }),
);
const pathChars = fc.constantFrom(..."/a.%2eE0'\"<>{}|\\^`~!$&()*+,;=:@ab".split(""));
const path = fc.string({ unit: pathChars, maxLength: 16 }).map((p) => `/${p}`);
const query = fc.option(fc.string({ unit: pathChars, maxLength: 10 }), { nil: undefined });

test("requestUrl() equals new URL().href, or refuses (400) exactly when the parser refuses or the host is bad", () => {
  fc.assert(
    fc.property(host, path, query, fc.boolean(), (h, p, q, https) => {
      const env = environ(h, p, q, https);
      let ours: string | null;
      try {
        ours = requestUrl(env);
      } catch (err) {
        assert.ok(err instanceof BadRequestUrlError);
        ours = null;
      }
      const theirs = parsed(env);
      if (ours !== null) assert.equal(ours, theirs);
      // We may refuse more (a host that is not a valid Host value), never accept what the parser refuses.
      if (theirs === null) assert.equal(ours, null);
    }),
    { numRuns: 3000 },
  );
});

test("requestUrl(): without a Host, SERVER_NAME and SERVER_PORT; asterisk and authority forms get '/'", () => {
  assert.equal(requestUrl(environ(undefined, "/p", "a=1")), "http://10.0.0.1:8090/p?a=1");
  assert.equal(requestUrl(environ("h", "*", undefined)), "http://h/");
  assert.equal(requestUrl(environ("", "/x", undefined)), "http://10.0.0.1:8090/x");
  const env = environ(undefined, "/", undefined, true);
  env.SERVER_PORT = "443";
  env.SERVER_NAME = "::1";
  assert.equal(requestUrl(env), "https://[::1]/");
});
