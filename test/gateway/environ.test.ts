/** The environ, key by key, as docs/api.md lists it (eventlet's get_environ, PEP 3333). */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { Environ } from "../../src/index.js";
import { prepare } from "./harness.js";

function env(head: string, opts = {}): Environ {
  return prepare(head, opts).environ;
}

/**
 * The keys of a GET without a body on the harness's connection (its INFO):
 * the method, the CGI defaults, the server's and the peer's addresses, and a
 * fresh set_idle and posthooks.
 */
function assertPlainGetKeys(e: Environ): void {
  assert.equal(e.REQUEST_METHOD, "GET");
  assert.equal(e.SCRIPT_NAME, "");
  assert.equal(e.CONTENT_TYPE, "text/plain");
  assert.equal("CONTENT_LENGTH" in e, false);
  assert.equal(e.SERVER_NAME, "127.0.0.1");
  assert.equal(e.SERVER_PORT, "8090");
  assert.equal(e.SERVER_PROTOCOL, "HTTP/1.1");
  assert.equal(e.REMOTE_ADDR, "10.1.2.3");
  assert.equal(e.REMOTE_PORT, "54321");
  assert.equal(e.GATEWAY_INTERFACE, "CGI/1.1");
  assert.deepEqual(e["eventlet.posthooks"], []);
  assert.equal(typeof e["eventlet.set_idle"], "function");
}

test("a GET has exactly the CGI and wsgi keys, with eventlet's values", () => {
  const e = env("GET /hello?a=1&b=2 HTTP/1.1\r\nHost: example.com\r\n\r\n");
  assertPlainGetKeys(e);
  assert.equal(e.PATH_INFO, "/hello");
  assert.equal(e.RAW_PATH_INFO, "/hello");
  assert.equal(e.QUERY_STRING, "a=1&b=2");
  assert.equal("HTTPS" in e, false);
  assert.equal(e.HTTP_HOST, "example.com");
  assert.deepEqual(e.headers_raw, [["Host", "example.com"]]);
  assert.deepEqual(e["wsgi.version"], [1, 0]);
  assert.equal(e["wsgi.url_scheme"], "http");
  assert.equal(typeof e["wsgi.input"].read, "function");
  assert.equal(e["eventlet.input"], e["wsgi.input"]);
  assert.equal(typeof e["wsgi.errors"].write, "function");
  assert.equal(e["wsgi.multithread"], true);
  assert.equal(e["wsgi.multiprocess"], false);
  assert.equal(e["wsgi.run_once"], false);
  assert.deepEqual(Object.keys(e).sort(), [
    "CONTENT_TYPE",
    "GATEWAY_INTERFACE",
    "HTTP_HOST",
    "PATH_INFO",
    "QUERY_STRING",
    "RAW_PATH_INFO",
    "REMOTE_ADDR",
    "REMOTE_PORT",
    "REQUEST_METHOD",
    "SCRIPT_NAME",
    "SERVER_NAME",
    "SERVER_PORT",
    "SERVER_PROTOCOL",
    "eventlet.input",
    "eventlet.posthooks",
    "eventlet.set_idle",
    "headers_raw",
    "wsgi.errors",
    "wsgi.input",
    "wsgi.multiprocess",
    "wsgi.multithread",
    "wsgi.run_once",
    "wsgi.url_scheme",
    "wsgi.version",
  ]);
});

test("PATH_INFO is percent-decoded as Latin-1; RAW_PATH_INFO is as sent", () => {
  const cases: [target: string, path: string][] = [
    ["/caf%C3%A9", "caf\u00c3\u00a9"],
    ["/a*b@%40%233", "/a*b@@#3"],
    ["/%2F%2f", "///"],
    ["/%E9t%E9", "/\u00e9t\u00e9"],
    ["/100%", "/100%"],
    ["/%zz%4", "/%zz%4"],
    ["/a%20b+c", "/a b+c"],
  ];
  for (const [target, path] of cases) {
    const e = env(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.equal(e.PATH_INFO, target === "/caf%C3%A9" ? `/${path}` : path, target);
    assert.equal(e.RAW_PATH_INFO, target, target);
  }
});

test("QUERY_STRING is there only when the target has a '?'", () => {
  assert.equal("QUERY_STRING" in env("GET /p HTTP/1.1\r\nHost: x\r\n\r\n"), false);
  const empty = env("GET /p? HTTP/1.1\r\nHost: x\r\n\r\n");
  assert.equal(empty.QUERY_STRING, "");
  assert.equal(empty.PATH_INFO, "/p");
  const q = env("GET /p?x=%41&y=?z HTTP/1.1\r\nHost: x\r\n\r\n");
  assert.equal(q.QUERY_STRING, "x=%41&y=?z", "the query is not decoded, and only the first '?' splits");
});

test("an absolute-form target gives its path and query", () => {
  const e = env("GET http://example.com:8080/p%41th?q=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n");
  assert.equal(e.PATH_INFO, "/pAth");
  assert.equal(e.RAW_PATH_INFO, "/p%41th");
  assert.equal(e.QUERY_STRING, "q=1");
  assert.equal(env("GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n").PATH_INFO, "/");
});

test("rejectBadRequests: false with Content-Length and chunked: chunked frames the body, so CONTENT_LENGTH is left out", () => {
  const e = env("POST /f HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", {
    rejectBadRequests: false,
  });
  assert.equal("CONTENT_LENGTH" in e, false, "an app must not read 5 bytes of a chunked body as if it were the whole");
  assert.equal(e.HTTP_TRANSFER_ENCODING, "chunked");
  assert.deepEqual(
    e.headers_raw.slice(1),
    [
      ["Content-Length", "5"],
      ["Transfer-Encoding", "chunked"],
    ],
    "headers_raw keeps what was sent",
  );
});

test("an absolute-form target's authority is HTTP_HOST, whatever Host says (RFC 9112 §3.2.2)", () => {
  const e = env("GET http://example.com:8080/p?q=1 HTTP/1.1\r\nHost: other.example\r\n\r\n");
  assert.equal(e.HTTP_HOST, "example.com:8080");
  assert.deepEqual(e.headers_raw, [["Host", "other.example"]], "headers_raw keeps what was sent");
  assert.equal(env("GET http://example.com?x HTTP/1.1\r\nHost: y\r\n\r\n").HTTP_HOST, "example.com");
  assert.equal(env("GET /p HTTP/1.1\r\nHost: y\r\n\r\n").HTTP_HOST, "y", "origin-form keeps Host");
});

test("CONTENT_TYPE and CONTENT_LENGTH come from their headers, without HTTP_", () => {
  const e = env("POST /f HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n");
  assert.equal(e.CONTENT_TYPE, "application/json");
  assert.equal(e.CONTENT_LENGTH, "12");
  assert.equal("HTTP_CONTENT_TYPE" in e, false);
  assert.equal("HTTP_CONTENT_LENGTH" in e, false);
  const chunked = env("POST /f HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  assert.equal("CONTENT_LENGTH" in chunked, false, "a chunked request sends no Content-Length");
  assert.equal(chunked.HTTP_TRANSFER_ENCODING, "chunked");
  assert.equal(env("POST /f HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").CONTENT_LENGTH, "0");
});

test("a repeated Content-Type is not joined: the first one is CONTENT_TYPE, as eventlet's headers.get() gives", () => {
  const e = env(
    "POST /f HTTP/1.1\r\nHost: x\r\nContent-Type: text/html\r\nContent-Length: 0\r\ncontent-type: application/json\r\n\r\n",
  );
  assert.equal(e.CONTENT_TYPE, "text/html");
  assert.deepEqual(
    e.headers_raw.filter(([n]) => n.toLowerCase() === "content-type"),
    [
      ["Content-Type", "text/html"],
      ["content-type", "application/json"],
    ],
    "headers_raw keeps both",
  );
  assert.equal(
    env("POST /f HTTP/1.1\r\nHost: x\r\nContent-Type:\r\n\r\n").CONTENT_TYPE,
    "",
    "an empty one is kept as sent",
  );
});

test("SERVER_PROTOCOL is the request's version", () => {
  assert.equal(env("GET / HTTP/1.0\r\n\r\n").SERVER_PROTOCOL, "HTTP/1.0");
  assert.equal(env("GET / HTTP/1.1\r\nHost: x\r\n\r\n", { maxHttpVersion: "HTTP/1.0" }).SERVER_PROTOCOL, "HTTP/1.1");
});

test("HTTP_* keys: upper-cased, '-' to '_', repeats joined with ',', names with '_' dropped (eventlet's test_env_headers)", () => {
  const e = env(
    "GET / HTTP/1.1\r\nHost: localhost\r\npath-info: foo\r\nx-ANY_k: one\r\nhttp-x-ANY_k: two\r\n" +
      "Accept: a/b\r\nX-Multi: 1\r\naccept: c/d\r\nx-multi:  2 \r\n\r\n",
  );
  const httpKeys = Object.keys(e)
    .filter((k) => k.startsWith("HTTP_"))
    .sort();
  assert.deepEqual(httpKeys, ["HTTP_ACCEPT", "HTTP_HOST", "HTTP_PATH_INFO", "HTTP_X_MULTI"]);
  assert.equal(e.HTTP_PATH_INFO, "foo");
  assert.equal(e.PATH_INFO, "/", "a header cannot overwrite a CGI key");
  assert.equal(e.HTTP_ACCEPT, "a/b,c/d");
  assert.equal(e.HTTP_X_MULTI, "1,2");
});

test("headers_raw keeps every header as received, '_' names included, values trimmed (eventlet's test_headers_raw)", () => {
  const e = env("GET / HTTP/1.1\r\nHost: localhost\r\nx-ANY_k: one\r\nx-ANY_k:\ttwo \t\r\nEmpty:\r\n\r\n");
  assert.deepEqual(e.headers_raw, [
    ["Host", "localhost"],
    ["x-ANY_k", "one"],
    ["x-ANY_k", "two"],
    ["Empty", ""],
  ]);
});

test("header bytes are decoded as Latin-1", () => {
  const e = env("GET / HTTP/1.1\r\nHost: x\r\nX-Name: caf\u00c3\u00a9 \u00ff\r\n\r\n");
  assert.equal(e.HTTP_X_NAME, "caf\u00c3\u00a9 \u00ff");
});

test("opts.environ keys are in every environ; each request gets its own environ and posthooks", () => {
  const shared = { "my.config": { a: 1 }, "my.flag": true };
  const a = env("GET / HTTP/1.1\r\nHost: x\r\n\r\n", { environ: shared });
  const b = env("GET / HTTP/1.1\r\nHost: x\r\n\r\n", { environ: shared });
  assert.equal(a["my.config"], shared["my.config"]);
  assert.equal(a["my.flag"], true);
  assert.notEqual(a, b);
  assert.notEqual(a["eventlet.posthooks"], b["eventlet.posthooks"]);
  a["added.by.app"] = 1;
  assert.equal("added.by.app" in b, false);
  assert.equal("added.by.app" in shared, false);
});

test("opts.environ cannot replace the keys that describe the request (eventlet sets them after its environ)", () => {
  const sharedHooks: unknown[] = [];
  const extra = {
    "eventlet.posthooks": sharedHooks,
    "wsgi.input": "not an input",
    "eventlet.input": "not an input",
    "eventlet.set_idle": "nope",
    REQUEST_METHOD: "PUT",
    SCRIPT_NAME: "/mount",
    PATH_INFO: "/elsewhere",
    RAW_PATH_INFO: "/elsewhere",
    QUERY_STRING: "from=opts",
    CONTENT_TYPE: "application/x-opts",
    CONTENT_LENGTH: "99",
    SERVER_NAME: "opts",
    SERVER_PORT: "1",
    SERVER_PROTOCOL: "HTTP/2",
    REMOTE_ADDR: "opts",
    REMOTE_PORT: "2",
    GATEWAY_INTERFACE: "CGI/9",
    headers_raw: [["X-Opts", "1"]],
    // These it may set: the wsgi.* constants (a proxy's url_scheme), HTTPS, defaults for headers.
    "wsgi.url_scheme": "https",
    HTTPS: "on",
    HTTP_X_DEFAULT: "d",
    "wsgi.multiprocess": true,
  };
  const c = prepare("GET /path HTTP/1.1\r\nHost: x\r\n\r\n", { environ: extra });
  const e = c.environ;
  assert.equal(e["wsgi.input"], c.input);
  assert.equal(e["eventlet.input"], c.input);
  assert.notEqual(e["eventlet.posthooks"], sharedHooks);
  assertPlainGetKeys(e);
  assert.equal(e.PATH_INFO, "/path");
  assert.equal(e.RAW_PATH_INFO, "/path");
  assert.equal("QUERY_STRING" in e, false, "no query in the target: none in the environ");
  assert.deepEqual(e.headers_raw, [["Host", "x"]]);
  assert.equal(e["wsgi.url_scheme"], "https");
  assert.equal(e.HTTPS, "on");
  assert.equal(e.HTTP_X_DEFAULT, "d");
  assert.equal(e["wsgi.multiprocess"], true);
});

test("over TLS: HTTPS is 'on' and the scheme https", () => {
  const e = prepare("GET / HTTP/1.1\r\nHost: x\r\n\r\n", {}, { https: true }).environ;
  assert.equal(e.HTTPS, "on");
  assert.equal(e["wsgi.url_scheme"], "https");
});
