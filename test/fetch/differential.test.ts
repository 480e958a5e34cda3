/**
 * The same Hono app (diff-app.ts) on @hono/node-server and on eventwsgi: the
 * same raw requests to both, status, headers and bodies compared. Every
 * difference must be listed in EXPECTED below with its reason, and every
 * listed difference must still occur: the list is the honest account of
 * where a fetch app behaves differently on eventwsgi, and why.
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { fetchApp } from "../../src/index.js";
import { startServer, parseAll, rawExchange, type ParsedResponse } from "../support/wire.js";
import { within } from "../support/wait.js";
import { diffApp } from "./diff-app.js";

const CHILD = fileURLToPath(new URL("./node-server-child.js", import.meta.url));

const H = "Host: example.com\r\nConnection: close\r\n";
const multipart = (): string => {
  const b = "----diffboundary";
  const body =
    `--${b}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nfile body\r\n` +
    `--${b}--\r\n`;
  return `POST /upload HTTP/1.1\r\n${H}Content-Type: multipart/form-data; boundary=${b}\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
};
const json = '{"a":[1,"x"]}';

const REQUESTS: Record<string, string | Buffer> = {
  hello: `GET / HTTP/1.1\r\n${H}\r\n`,
  json: `GET /json HTTP/1.1\r\n${H}\r\n`,
  echo: `POST /echo HTTP/1.1\r\n${H}Content-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n${json}`,
  "post 64 KiB": `POST /size HTTP/1.1\r\n${H}Content-Length: 65536\r\n\r\n${"z".repeat(65536)}`,
  "chunked upload": `POST /size HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
  params: `GET /user/7?q=1&q=2 HTTP/1.1\r\n${H}\r\n`,
  "repeated, underscore and Latin-1 request headers": Buffer.concat([
    Buffer.from(`GET /headers HTTP/1.1\r\n${H}X-A: 1\r\nX-A: 2\r\nX_U: under\r\nX-L: caf`, "latin1"),
    Buffer.from([0xe9]),
    Buffer.from("\r\n\r\n"),
  ]),
  url: `GET /url?x=%7B HTTP/1.1\r\n${H}\r\n`,
  "url with dot segments": `GET /a/../url HTTP/1.1\r\n${H}\r\n`,
  "absolute-form url": `GET http://other.example/url HTTP/1.1\r\n${H}\r\n`,
  cookies: `GET /cookies HTTP/1.1\r\n${H}Cookie: seen=yes\r\n\r\n`,
  "cors preflight": `OPTIONS /api/x HTTP/1.1\r\n${H}Origin: https://example.com\r\nAccess-Control-Request-Method: PUT\r\n\r\n`,
  cors: `GET /api/x HTTP/1.1\r\n${H}Origin: https://example.com\r\n\r\n`,
  etag: `GET /etag/x HTTP/1.1\r\n${H}\r\n`,
  "etag 304": `GET /etag/x HTTP/1.1\r\n${H}If-None-Match: "bogus", W/"x"\r\n\r\n`,
  redirect: `GET /old HTTP/1.1\r\n${H}\r\n`,
  "not found": `GET /nope HTTP/1.1\r\n${H}\r\n`,
  head: `HEAD / HTTP/1.1\r\n${H}\r\n`,
  multipart: multipart(),
  "stream text": `GET /text HTTP/1.1\r\n${H}\r\n`,
  sse: `GET /sse HTTP/1.1\r\n${H}\r\n`,
  "latin-1 response header": `GET /latin HTTP/1.1\r\n${H}\r\n`,
  "app error": `GET /throw HTTP/1.1\r\n${H}\r\n`,
  "bad host": `GET / HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n`,
  "http/1.0 without host": `GET /url HTTP/1.0\r\n\r\n`,
};

/**
 * Not the server's doing but the Response class's: @hono/node-server's serve() replaces the
 * global Response with its own, whose default Content-Type for a string body is
 * "text/plain; charset=UTF-8" (with a space) and which adds none when headers are given;
 * eventwsgi leaves Node's own Response, which writes "text/plain;charset=UTF-8" (the fetch
 * standard's spelling), always. A Hono app that sets its Content-Type (c.json, c.html) is unaffected.
 */
const RESPONSE_CLASS =
  "the Response class: @hono/node-server replaces the global Response, whose default Content-Type differs from Node's";

/**
 * Where eventwsgi differs, and why. Key: request name + what differs
 * ("status", "body", or "header <name>"). Headers that are the transport's
 * own (Date, Connection, Keep-Alive, Transfer-Encoding) are not compared.
 */
const EXPECTED: Record<string, string> = {
  ...Object.fromEntries(
    [
      "hello",
      "post 64 KiB",
      "chunked upload",
      "url",
      "url with dot segments",
      "absolute-form url",
      "etag",
      "etag 304",
      "head",
      "latin-1 response header",
      "http/1.0 without host",
    ].map((name) => [`${name}|header content-type`, RESPONSE_CLASS]),
  ),
  "latin-1 response header|header x-latin":
    "eventwsgi sends the Headers' ByteString as Latin-1 (one byte 0xE9), as the fetch standard means it; node:http encodes the string as UTF-8 (two bytes, which the client reads as 'cafÃ©')",
  "redirect|header content-length":
    "eventwsgi frames an empty body with Content-Length: 0; node:http, answering a Connection: close request, leaves the length out and ends the body by closing",
  "bad host|header content-length":
    "both refuse a Host that is not a valid host with 400 and no body; eventwsgi's parser says Content-Length: 0",
  "http/1.0 without host|body":
    "with no Host, eventwsgi builds request.url from SERVER_NAME:SERVER_PORT (PEP 3333's URL reconstruction, the port included); @hono/node-server uses the listening address without its port",
  "http/1.0 without host|header content-length": "the URL it echoes is longer by its port",
};

/** What is compared of a response: status, body, and headers but the transport's. */
function facts(r: ParsedResponse | undefined): Map<string, string> {
  const m = new Map<string, string>();
  if (r === undefined) {
    m.set("status", "no response");
    return m;
  }
  m.set("status", String(r.status));
  m.set("body", r.body.toString("latin1"));
  const skip = new Set(["date", "connection", "keep-alive", "transfer-encoding"]);
  for (const [n, v] of r.headers) {
    if (skip.has(n)) continue;
    const key = `header ${n}`;
    m.set(key, m.has(key) ? `${m.get(key) ?? ""}\n${v}` : v);
  }
  return m;
}

async function startNodeServer(): Promise<{ port: number; stop: () => void }> {
  const child = spawn(process.execPath, [CHILD], { stdio: ["ignore", "pipe", "pipe"] });
  const port = await within(
    10_000,
    "@hono/node-server's port",
    new Promise<number>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const line = out.split("\n")[0];
        if (out.includes("\n") && line !== undefined) resolve((JSON.parse(line) as { port: number }).port);
      });
      child.on("exit", (code) => {
        reject(new Error(`node-server child exited with ${String(code)}`));
      });
    }),
  ).catch((err: unknown) => {
    child.kill("SIGKILL");
    throw err;
  });
  return { port, stop: () => child.kill("SIGKILL") };
}

test("the same Hono app on @hono/node-server and on eventwsgi: every difference is a listed one", async (t) => {
  const node = await startNodeServer();
  const ours = await startServer(fetchApp(diffApp()), { logOutput: false });
  const found = new Map<string, string>();
  try {
    for (const [name, bytes] of Object.entries(REQUESTS)) {
      const head = name === "head";
      const [a, b] = await Promise.all([
        rawExchange(node.port, bytes, { timeoutMs: 3000 }),
        rawExchange(ours.port, bytes, { timeoutMs: 3000 }),
      ]);
      const theirs = facts(parseAll(a.data, head)[0]);
      const mine = facts(parseAll(b.data, head)[0]);
      for (const key of new Set([...theirs.keys(), ...mine.keys()])) {
        if (theirs.get(key) !== mine.get(key))
          found.set(
            `${name}|${key}`,
            `node-server ${JSON.stringify(theirs.get(key))} / eventwsgi ${JSON.stringify(mine.get(key))}`,
          );
      }
    }
  } finally {
    node.stop();
    await ours.close(500);
  }
  for (const [k, v] of found) t.diagnostic(`${k}: ${v}`);
  const unexpected = [...found].filter(([k]) => !(k in EXPECTED));
  assert.deepEqual(unexpected, [], "differences not in EXPECTED");
  const vanished = Object.keys(EXPECTED).filter((k) => !found.has(k));
  assert.deepEqual(vanished, [], "listed differences that no longer occur");
});
