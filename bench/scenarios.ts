/**
 * The benchmark scenarios (issues "eventwsgi performance" and 12) and the
 * servers they compare. Each scenario is driven by wrk against every server
 * it lists; `idle` also holds IDLE_CONNECTIONS keep-alive connections open
 * while it measures.
 *
 * A contender is a server kind and an application style: eventwsgi and
 * node:http each serve a `sync` and an `async` app (routes.ts), eventwsgi
 * also a `fetch`-style handler (compared with node:http's async app), and
 * raw-net, the ceiling, has no app at all.
 */

import type { AppStyle } from "./servers/routes.js";
import { POST_BYTES, READ_SIZE, STREAM_CHUNKS } from "./servers/routes.js";

export type ServerKind = "eventwsgi" | "node:http" | "raw-net";

/** How the application is written: routes.ts's two styles, or a fetch-style handler (eventwsgi only). */
export type Style = AppStyle | "fetch";
export const STYLES: Style[] = ["sync", "async", "fetch"];

export interface Contender {
  kind: ServerKind;
  /** null for raw-net, which runs no application. */
  style: Style | null;
}

export function contenderLabel(c: Contender): string {
  return c.style === null ? c.kind : `${c.kind}/${c.style}`;
}

/** The child script (under dist/bench) and its arguments for a contender. */
export function contenderScript(c: Contender): { script: string; args: string[] } {
  switch (c.kind) {
    case "eventwsgi":
      return c.style === "fetch"
        ? { script: "servers/eventwsgi-fetch.js", args: [] }
        : { script: "servers/eventwsgi.js", args: ["--app", c.style ?? "sync"] };
    case "node:http":
      return { script: "servers/node-http.js", args: ["--app", c.style === "sync" ? "sync" : "async"] };
    case "raw-net":
      return { script: "servers/raw-net.js", args: [] };
  }
}

/** What an eventwsgi contender of this style is measured against: node:http with the same style (async for fetch). */
export function nodeCounterpart(style: Style): Contender {
  return { kind: "node:http", style: style === "sync" ? "sync" : "async" };
}

/** The contenders for these styles: eventwsgi and node:http in each, and raw-net when `withRaw`. */
export function contenders(styles: Style[], withRaw: boolean): Contender[] {
  const list: Contender[] = [];
  for (const style of styles) list.push({ kind: "eventwsgi", style });
  for (const style of styles) {
    if (style === "fetch") continue;
    list.push({ kind: "node:http", style });
  }
  if (styles.includes("fetch") && !styles.includes("async")) list.push(nodeCounterpart("fetch"));
  if (withRaw) list.push({ kind: "raw-net", style: null });
  return list;
}

export function sameContender(a: Contender, b: Contender): boolean {
  return a.kind === b.kind && a.style === b.style;
}

/** Scenarios one server process goes through in sequence in the mixed run, in this order. */
export const MIXED_ORDER = ["hello", "pipelined", "big", "post", "post-iter", "churn", "stream"];

export interface Scenario {
  name: string;
  /** What the table's note says about it. */
  description: string;
  path: string;
  connections: number;
  /** Lua run by wrk before the requests (see lib/wrk.ts). */
  lua: string;
  /** The server kinds it runs against (every style of each). */
  servers: ServerKind[];
  tls: boolean;
  /** Idle keep-alive connections held open during the measurement (0: none). */
  idleConnections: number;
}

const ALL: ServerKind[] = ["eventwsgi", "node:http", "raw-net"];
export const PIPELINE_DEPTH = 16;

const POST_LUA = `
wrk.method = "POST"
wrk.body = string.rep("p", ${POST_BYTES})
wrk.headers["Content-Type"] = "application/octet-stream"
`;

export function scenarios(idleConnections: number): Scenario[] {
  return [
    {
      name: "hello",
      description: "GET /hello, keep-alive",
      path: "/hello",
      connections: 50,
      lua: "",
      servers: ALL,
      tls: false,
      idleConnections: 0,
    },
    {
      name: "pipelined",
      description: `GET /hello, ${PIPELINE_DEPTH} requests pipelined per connection`,
      path: "/hello",
      connections: 50,
      lua: `
init = function(args)
  local r = {}
  for i = 1, ${PIPELINE_DEPTH} do r[i] = wrk.format(nil, "/hello") end
  pipelined = table.concat(r)
end
request = function() return pipelined end
`,
      servers: ALL,
      tls: false,
      idleConnections: 0,
    },
    {
      name: "big",
      description: "GET /big, a 1 MiB body",
      path: "/big",
      connections: 10,
      lua: "",
      servers: ALL,
      tls: false,
      idleConnections: 0,
    },
    {
      name: "post",
      description: `POST /echo with a ${POST_BYTES / 1024} KiB body, read with \`await read(${READ_SIZE})\` until empty (fetch: the body's reader; node:http: "data" events), its length answered`,
      path: "/echo",
      connections: 20,
      lua: POST_LUA,
      servers: ALL,
      tls: false,
      idleConnections: 0,
    },
    {
      name: "post-iter",
      description: `POST /echo-iter with a ${POST_BYTES / 1024} KiB body, read with \`for await\` (node:http: "data" events), its length answered`,
      path: "/echo-iter",
      connections: 20,
      lua: POST_LUA,
      servers: ALL,
      tls: false,
      idleConnections: 0,
    },
    {
      name: "churn",
      description: "GET /hello with Connection: close (a new connection per request)",
      path: "/hello",
      connections: 20,
      lua: `wrk.headers["Connection"] = "close"\n`,
      servers: ALL,
      tls: false,
      idleConnections: 0,
    },
    {
      name: "stream",
      description: `GET /stream: a generator of ${STREAM_CHUNKS} chunks of 1 KiB, chunked (eventwsgi: default minimumChunkSize 4096, so 4 KiB writes; node:http: res.write per chunk)`,
      path: "/stream",
      connections: 20,
      lua: "",
      servers: ALL,
      tls: false,
      idleConnections: 0,
    },
    {
      name: "tls-hello",
      description: "GET /hello over TLS, keep-alive (eventwsgi wrapSsl vs node:https, self-signed RSA 2048)",
      path: "/hello",
      connections: 50,
      lua: "",
      servers: ["eventwsgi", "node:http"],
      tls: true,
      idleConnections: 0,
    },
    {
      name: "idle",
      description: `GET /hello, 50 connections, with ${idleConnections} idle keep-alive connections held open`,
      path: "/hello",
      connections: 50,
      lua: "",
      servers: ALL,
      tls: false,
      idleConnections,
    },
  ];
}
