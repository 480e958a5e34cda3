/**
 * startResponse: PEP 3333's excInfo rules, the checks that keep an app
 * from splitting a response, and header capitalization.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { App, StartResponse, Write } from "../../src/index.js";
import { parseAll } from "../support/wire.js";
import { checkResponseHeaders, InvalidResponseError } from "../../src/gateway/start-response.js";
import { Outcome } from "../../src/gateway/response.js";
import { call } from "./harness.js";
import { itemAt } from "../support/item-at.js";

function only(text: string) {
  const responses = parseAll(Buffer.from(text, "latin1"));
  assert.equal(responses.length, 1, `exactly one response expected:\n${text}`);
  return itemAt(responses, 0);
}

test("a second call with excInfo before the head went out replaces status and headers", async () => {
  const c = await call((_env, startResponse) => {
    startResponse("200 OK", [["X-First", "1"]]);
    startResponse("503 Service Unavailable", [["X-Second", "2"]], new Error("backend down"));
    return ["sorry"];
  });
  const r = only(c.host.text);
  assert.equal(r.statusLine, "HTTP/1.1 503 Service Unavailable");
  assert.equal(r.rawHead.includes("X-First"), false);
  assert.match(r.rawHead, /\r\nX-Second: 2\r\n/);
  assert.equal(r.body.toString(), "sorry");
  assert.equal(c.exchange.statusCode, "503");
});

test("excInfo before any other call is accepted like a first call", async () => {
  const c = await call((_env, startResponse) => {
    startResponse("500 Oops", [], new Error("x"));
    return ["e"];
  });
  assert.equal(only(c.host.text).status, 500);
  assert.equal(c.host.log.error.length, 0);
});

test("after the head went out, excInfo is rethrown as is (PEP 3333) and the response is cut", async () => {
  const original = new RangeError("late failure");
  let caught: unknown = null;
  const c = await call((_env, startResponse) => {
    const write = startResponse("200 OK", []);
    return (async function* () {
      await write("partial");
      try {
        startResponse("500 Internal Server Error", [], original);
      } catch (err) {
        caught = err;
        throw err;
      }
      yield "never";
    })();
  });
  assert.equal(caught, original);
  assert.equal(c.exchange.outcome, Outcome.Aborted);
  assert.notEqual(c.exchange.outcome, Outcome.KeepAlive);
  assert.match(c.host.text, /^HTTP\/1\.1 200 OK\r\n/);
  assert.equal(c.host.text.endsWith("7\r\npartial\r\n"), true, "no final chunk after the failure");
  assert.match(c.host.log.error.join("\n"), /RangeError: late failure\n\s+at /);
});

test("a second call without excInfo is an application error: 500", async () => {
  const c = await call((_env, startResponse) => {
    startResponse("200 OK", []);
    startResponse("201 Created", []);
    return ["x"];
  });
  const r = only(c.host.text);
  assert.equal(r.status, 500);
  assert.match(c.host.log.error.join("\n"), /second time without excInfo/);
});

/** Runs an app whose startResponse call is `bad`, and checks it ends as a lone, clean 500. */
async function assertRejected(bad: (sr: StartResponse) => void, label: string): Promise<void> {
  const app: App = (_env, startResponse) => {
    bad(startResponse);
    return ["body"];
  };
  const c = await call(app);
  const text = c.host.text;
  const r = only(text);
  assert.equal(r.status, 500, label);
  assert.equal(r.body.length, 0, label);
  assert.equal(/injected|evil/i.test(text), false, `${label}: nothing of the bad head may go out:\n${text}`);
  assert.notEqual(c.exchange.outcome, Outcome.KeepAlive, label);
  assert.equal(c.host.log.error.length, 1, label);
}

test("a malformed status is a 500, never a split response", async () => {
  const statuses: unknown[] = [
    "OK",
    "20 OK",
    "2000 OK",
    "200OK",
    "",
    " 200 OK",
    "099 Low",
    "200 OK\r\nX-Injected: evil",
    "200 OK\nX-Injected: evil",
    "200 OK\rX",
    "200 O\u0000K",
    "200 \u0100K",
    200,
    null,
  ];
  for (const status of statuses) {
    await assertRejected((sr) => sr(status as string, []), `status ${JSON.stringify(status)}`);
  }
});

test("a bare three-digit status and obs-text in the reason are allowed", async () => {
  const bare = await call((_env, sr) => {
    sr("299", []);
    return [];
  });
  assert.match(bare.host.text, /^HTTP\/1\.1 299 \r\n/);
  const latin = await call((_env, sr) => {
    sr("200 Tr\u00e8s bien", []);
    return [];
  });
  assert.equal(latin.host.output.subarray(0, 23).toString("latin1"), "HTTP/1.1 200 Tr\u00e8s bien\r");
});

test("a header name that is not a token, or a value with CR, LF, NUL or a char above U+00FF, is a 500", async () => {
  const headers: [string, string][][] = [
    [["", "v"]],
    [["X Y", "v"]],
    [["X:Y", "v"]],
    [["X-Injected\r\nEvil", "v"]],
    [["X\u00e9", "v"]],
    [["X(", "v"]],
    [["X", "a\r\nX-Injected: evil"]],
    [["X", "a\nX-Injected: evil"]],
    [["X", "a\rb"]],
    [["X", "a\u0000b"]],
    [["X", "\u0100"]],
    [["X", "caf\u00e9 \u20ac"]],
    [["X", "\u007f"]],
  ];
  for (const h of headers) {
    await assertRejected((sr) => sr("200 OK", h), `header ${JSON.stringify(h)}`);
  }
  await assertRejected((sr) => sr("200 OK", "X: y" as unknown as [string, string][]), "headers not an array");
  await assertRejected((sr) => sr("200 OK", [["X"]] as unknown as [string, string][]), "a pair of one");
});

test("header values are sent as Latin-1 bytes; HTAB is allowed", async () => {
  const c = await call((_env, sr) => {
    sr("200 OK", [["X-Name", "caf\u00e9\tok"]]);
    return [];
  });
  const at = c.host.output.indexOf("X-Name: ", 0, "latin1");
  assert.deepEqual([...c.host.output.subarray(at + 8, at + 15)], [0x63, 0x61, 0x66, 0xe9, 0x09, 0x6f, 0x6b]);
});

test("header names are capitalized like eventlet's by default", async () => {
  const c = await call((_env, sr) => {
    sr("200 oK", [
      ["eTAg", "TAg-VAluE"],
      ["x-foo-BAR", "1"],
      ["content-type", "text/plain"],
      ["www-authenticate", "Basic"],
    ]);
    return [""];
  });
  const r = only(c.host.text);
  assert.equal(r.statusLine, "HTTP/1.1 200 oK");
  assert.match(r.rawHead, /\r\nEtag: TAg-VAluE\r\n/);
  assert.match(r.rawHead, /\r\nX-Foo-Bar: 1\r\n/);
  assert.match(r.rawHead, /\r\nContent-Type: text\/plain\r\n/);
  assert.match(r.rawHead, /\r\nWww-Authenticate: Basic\r\n/);
});

test("capitalizeResponseHeaders: false sends names as given (eventlet's test_disable_header_name_capitalization)", async () => {
  const c = await call(
    (_env, sr) => {
      sr("200 oK", [["eTAg", "TAg-VAluE"]]);
      return [""];
    },
    undefined,
    { capitalizeResponseHeaders: false },
  );
  const r = only(c.host.text);
  assert.equal(r.statusLine, "HTTP/1.1 200 oK");
  assert.match(r.rawHead, /\r\neTAg: TAg-VAluE\r\n/);
});

test("a body without startResponse is an application error", async () => {
  const c = await call(() => {
    // eslint-disable-next-line @typescript-eslint/require-await -- an async generator body is the case under test
    return (async function* () {
      yield "x";
    })();
  });
  assert.equal(only(c.host.text).status, 500);
  assert.match(c.host.log.error.join("\n"), /returned a body without calling start_response/);
});

test("startResponse returns the same write() each time", async () => {
  let writes: unknown[] = [];
  await call((_env, sr) => {
    writes = [sr("200 OK", []), sr("200 OK", [], new Error("again"))];
    return [];
  });
  assert.equal(writes[0], writes[1]);
  assert.equal(typeof writes[0], "function");
});

test("a write() kept past the end of its response is refused and sends nothing, whatever the framing", async () => {
  const bodies: Record<string, () => Iterable<string>> = {
    array: () => ["ok"],
    generator: () =>
      (function* () {
        yield "ok";
      })(),
  };
  for (const [kind, body] of Object.entries(bodies)) {
    for (const head of [
      "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET / HTTP/1.0\r\n\r\n",
      "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n",
    ]) {
      const label = `${kind}, ${JSON.stringify(head.split("\r\n")[0])}`;
      let kept: Write | null = null;
      const c = await call((_env, startResponse) => {
        kept = startResponse("200 OK", []);
        return body();
      }, head);
      const before = c.host.text;
      await assert.rejects((kept as unknown as Write)("late"), /after the response was complete/, label);
      c.host.flush();
      assert.equal(c.host.text, before, `${label}: nothing more was written`);
      assert.match(c.host.log.error.join("\n"), /after the response was complete/, `${label}: logged as an app error`);
    }
  }
});

test("a write() from a body's close() is refused too: the response is over", async () => {
  let kept: Write | null = null;
  let closeWrite: Promise<void> | null = null;
  const c = await call((_env, startResponse) => {
    kept = startResponse("200 OK", []);
    return Object.assign(
      (function* () {
        yield "ok";
      })(),
      {
        close() {
          closeWrite = (kept as unknown as Write)("from close");
        },
      },
    );
  });
  await assert.rejects(closeWrite as unknown as Promise<void>, /after the response was complete/);
  assert.equal(c.host.text.includes("from close"), false);
  assert.ok(c.host.text.endsWith("0\r\n\r\n"), "the chunked body ended normally");
});

test("checkResponseHeaders: a Content-Length with NBSP, VT or FF around its digits is invalid (OWS is SP and HTAB only)", () => {
  for (const bad of ["5\u00a0", "\u000b5", "5\u000c"]) {
    assert.throws(
      () => checkResponseHeaders([["Content-Length", bad]], false),
      InvalidResponseError,
      JSON.stringify(bad),
    );
  }
  assert.equal(checkResponseHeaders([["Content-Length", " \t5\t "]], false).contentLength, 5);
});

test("checkResponseHeaders: conflicting Content-Lengths are an error even where the length is left out (204, 1xx)", () => {
  assert.throws(
    () =>
      checkResponseHeaders(
        [
          ["Content-Length", "5"],
          ["Content-Length", "6"],
        ],
        false,
        true,
      ),
    InvalidResponseError,
  );
  const same = checkResponseHeaders(
    [
      ["Content-Length", "5"],
      ["Content-Length", "5"],
    ],
    false,
    true,
  );
  assert.equal(same.contentLength, -1);
  assert.equal(same.block, "");
});

test("a 204 with conflicting Content-Lengths is a 500", async () => {
  const c = await call((_env, sr) => {
    sr("204 No Content", [
      ["Content-Length", "0"],
      ["Content-Length", "7"],
    ]);
    return [];
  });
  assert.equal(only(c.host.text).status, 500);
  assert.match(c.host.log.error.join("\n"), /conflicting Content-Length/);
});
