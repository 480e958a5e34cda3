/**
 * validator(): each of wsgiref.validate's rules, broken once, gives an
 * error naming the rule and its PEP 3333 section; a good app passes through
 * untouched. Run through wsgiFetch (no socket): the server's 500 and its
 * log line are what a violation becomes.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { validator, WsgiValidationError, wsgiFetch, type App, type Environ } from "../../src/index.js";
import { captureLog } from "../support/wire.js";

async function run(
  app: App,
  init?: RequestInit,
  path = "/",
): Promise<{ status: number; body: string; errors: string[] }> {
  const { log, logger } = captureLog();
  const f = wsgiFetch(validator(app), { log: logger });
  const r = await f(new Request(`http://example.com${path}`, init));
  const body = await r.text().catch((err: unknown) => `(cut: ${String(err)})`);
  return { status: r.status, body, errors: log.error };
}

async function violation(app: App, rule: RegExp, section: string, init?: RequestInit): Promise<void> {
  const r = await run(app, init);
  const line = r.errors.find((l) => l.includes("WSGI violation"));
  assert.ok(line !== undefined, `no violation logged; errors: ${JSON.stringify(r.errors)}`);
  assert.match(line, rule);
  assert.ok(line.includes(`(PEP 3333, "${section}")`), line);
}

const ok: App = (_env, sr) => {
  sr("200 OK", [["Content-Type", "text/plain"]]);
  return ["fine"];
};

test("validator: a good app passes, and its array body keeps its Content-Length", async () => {
  const { log, logger } = captureLog();
  const r = await wsgiFetch(validator(ok), { log: logger })(new Request("http://example.com/"));
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("content-length"), "4");
  assert.equal(await r.text(), "fine");
  assert.deepEqual(log.error, []);
});

test("validator: the environ's rules (PEP 3333 'environ Variables', 'Unicode Issues')", async () => {
  const broken = (mutate: (env: Environ) => void): App => {
    const inner = validator(ok);
    return (env, sr) => {
      mutate(env);
      return inner(env, sr);
    };
  };
  const E = "environ Variables";
  await violation(
    broken((e) => delete (e as Partial<Environ>).SERVER_NAME),
    /lacks a required key/,
    E,
  );
  await violation(
    broken((e) => (e.HTTP_CONTENT_TYPE = "x")),
    /must be CONTENT_\* instead/,
    E,
  );
  await violation(
    broken((e) => (e.SERVER_PORT = 80 as unknown as string)),
    /CGI environ value is not a string/,
    E,
  );
  await violation(
    broken((e) => (e.HTTP_X = "\u0100")),
    /not Latin-1/,
    "Unicode Issues",
  );
  await violation(
    broken((e) => (e["wsgi.version"] = [2, 0])),
    /wsgi.version is not \[1, 0\]/,
    E,
  );
  await violation(
    broken((e) => (e["wsgi.url_scheme"] = "ftp" as "http")),
    /url_scheme/,
    E,
  );
  await violation(
    broken((e) => (e.SCRIPT_NAME = "/")),
    /SCRIPT_NAME is '\/'/,
    E,
  );
  await violation(
    broken((e) => (e.PATH_INFO = "x")),
    /PATH_INFO is neither empty nor starts with \//,
    E,
  );
  await violation(
    broken((e) => (e.CONTENT_LENGTH = "12a")),
    /CONTENT_LENGTH is not an integer/,
    E,
  );
  await violation(
    broken((e) => (e["wsgi.multithread"] = 1 as unknown as boolean)),
    /flag is not a boolean/,
    E,
  );
});

test("validator: start_response's rules (PEP 3333 'The start_response() Callable')", async () => {
  const S = "The start_response() Callable";
  const withHeaders =
    (status: string, headers: unknown): App =>
    (_env, sr) => {
      sr(status, headers as [string, string][]);
      return [];
    };
  await violation(withHeaders("OK", []), /3-digit code/, S);
  await violation(withHeaders("200OK", []), /not followed by a space/, S);
  await violation(withHeaders("200 OK", [["Status", "200"]]), /named Status/, S);
  await violation(withHeaders("200 OK", [["X-A:", "1"]]), /not a token/, S);
  await violation(withHeaders("200 OK", [["X-A-", "1"]]), /ends with - or _/, S);
  await violation(withHeaders("200 OK", [["X-A", "1\n2"]]), /control character/, S);
  await violation(withHeaders("200 OK", [["X-A", 1]]), /not a string/, S);
  await violation(
    withHeaders("204 No Content", [["Content-Type", "text/plain"]]),
    /Content-Type on a response that has no content/,
    S,
  );
  await violation(
    (_env, sr) => {
      sr("200 OK", [["Content-Type", "text/plain"]]);
      sr("200 OK", [["Content-Type", "text/plain"]]);
      return [];
    },
    /second time without excInfo/,
    S,
  );
});

test("validator: wsgiref's Content-Type rule, unless turned off", async () => {
  const { log, logger } = captureLog();
  const bare: App = (_env, sr) => {
    sr("200 OK", []);
    return ["x"];
  };
  const strict = await wsgiFetch(validator(bare), { log: logger })(new Request("http://h/"));
  assert.equal(strict.status, 500);
  assert.match(log.error.join("\n"), /no Content-Type header/);
  const lax = await wsgiFetch(validator(bare, { requireContentType: false }), { log: logger })(
    new Request("http://h/"),
  );
  assert.equal(lax.status, 200);
});

test("validator: the body's rules (PEP 3333 'The Application/Framework Side')", async () => {
  const A = "The Application/Framework Side";
  await violation(
    (_env, sr) => {
      sr("200 OK", [["Content-Type", "text/plain"]]);
      const body: unknown = "a string";
      return body as string[];
    },
    /returned a string or bytes as its body/,
    A,
  );
  await violation(() => ["no start_response"], /yielded before start_response/, A);
  await violation(
    (_env, sr) => {
      sr("200 OK", [["Content-Type", "text/plain"]]);
      return [42 as unknown as string];
    },
    /neither bytes nor a string/,
    A,
  );
});

test("validator: close() exactly once", async () => {
  const { log, logger } = captureLog();
  const inner = validator((_env, sr) => {
    sr("200 OK", [["Content-Type", "text/plain"]]);
    return (function* () {
      yield "a";
    })();
  });
  // An outer layer that closes the body itself, then hands it on: the server closes it again.
  const closesEarly: App = async (env, sr) => {
    const body = await inner(env, sr);
    await body.close?.();
    return body;
  };
  await (await wsgiFetch(closesEarly, { log: logger })(new Request("http://h/"))).text();
  await log.waitFor("error", /close\(\) was called twice \(PEP 3333, "The Application\/Framework Side"\)/);
});

test("validator: the streams' rules (PEP 3333 'Input and Error Streams')", async () => {
  const S = "Input and Error Streams";
  await violation(
    async (env, sr) => {
      await env["wsgi.input"].read(1.5);
      sr("200 OK", [["Content-Type", "text/plain"]]);
      return [];
    },
    /read\(\) was given a size that is not an integer/,
    S,
    { method: "POST", body: "abc" },
  );
  await violation(
    (env, sr) => {
      (env["wsgi.input"] as unknown as { close(): void }).close();
      sr("200 OK", [["Content-Type", "text/plain"]]);
      return [];
    },
    /wsgi.input.close\(\) must not be called/,
    S,
  );
  await violation(
    (env, sr) => {
      env["wsgi.errors"].write(5 as unknown as string);
      sr("200 OK", [["Content-Type", "text/plain"]]);
      return [];
    },
    /wsgi.errors.write\(\) was given something that is not a string/,
    S,
  );
});

test("validator: a violation is a WsgiValidationError with its rule and section", () => {
  const app = validator(ok);
  assert.throws(
    () => app({} as Environ, () => () => Promise.resolve()),
    (err: unknown) =>
      err instanceof WsgiValidationError && err.section === "environ Variables" && /required key/.test(err.rule),
  );
});
