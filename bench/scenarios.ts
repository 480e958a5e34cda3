/**
 * The benchmark scenarios (issue "eventwsgi performance"). Each is driven
 * by wrk against every server it lists; `idle` also holds IDLE_CONNECTIONS
 * keep-alive connections open while it measures.
 */

import { POST_BYTES, STREAM_CHUNKS } from "./servers/routes.js";

export type ServerKind = "eventwsgi" | "node:http" | "raw-net";

export const SERVER_SCRIPTS: Record<ServerKind, string> = {
  eventwsgi: "servers/eventwsgi.js",
  "node:http": "servers/node-http.js",
  "raw-net": "servers/raw-net.js",
};

export interface Scenario {
  name: string;
  /** What the table's note says about it. */
  description: string;
  path: string;
  connections: number;
  /** Lua run by wrk before the requests (see lib/wrk.ts). */
  lua: string;
  servers: ServerKind[];
  tls: boolean;
  /** Idle keep-alive connections held open during the measurement (0: none). */
  idleConnections: number;
}

const ALL: ServerKind[] = ["eventwsgi", "node:http", "raw-net"];
export const PIPELINE_DEPTH = 16;

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
      description: `POST /echo with a ${POST_BYTES / 1024} KiB body, read whole, its length answered`,
      path: "/echo",
      connections: 20,
      lua: `
wrk.method = "POST"
wrk.body = string.rep("p", ${POST_BYTES})
wrk.headers["Content-Type"] = "application/octet-stream"
`,
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
