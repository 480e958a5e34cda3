/**
 * A small Flask-style JSON app with a router of its own, moved from eventlet (docs/from-eventlet.md
 * shows the Python it came from, side by side). Routes are `METHOD /path/<param>`; a handler gets
 * the environ and the path's parameters and returns a status and a JSON value.
 *
 *   GET /                 {"hello":"world"}
 *   GET /users/<id>       {"id":"42"}
 *   POST /echo            the JSON body, parsed and sent back
 *   otherwise             404, or 405 with Allow when the path exists for other methods
 */

import { listen, server, type Environ, type StartResponse } from "eventwsgi";

type Params = Record<string, string>;
type Handler = (env: Environ, params: Params) => [number, unknown] | Promise<[number, unknown]>;

interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

const routes: Route[] = [];

/** `/users/<id>` matches `/users/42` with params `{ id: "42" }`. */
function route(method: string, path: string, handler: Handler): void {
  const source = path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/<(\w+)>/g, "(?<$1>[^/]+)");
  routes.push({ method, pattern: new RegExp(`^${source}$`), handler });
}

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
};

route("GET", "/", () => [200, { hello: "world" }]);

route("GET", "/users/<id>", (_env, { id }) => [200, { id }]);

route("POST", "/echo", async (env) => {
  const body = await env["wsgi.input"].read();
  try {
    return [200, JSON.parse(body.length === 0 ? "null" : body.toString("utf8")) as unknown];
  } catch {
    return [400, { error: "the body is not JSON" }];
  }
});

async function app(env: Environ, startResponse: StartResponse): Promise<string[]> {
  const allowed: string[] = [];
  let status = 404;
  let data: unknown = { error: "not found" };
  for (const { method, pattern, handler } of routes) {
    const match = pattern.exec(env.PATH_INFO);
    if (match === null) continue;
    if (method !== env.REQUEST_METHOD) {
      allowed.push(method);
      continue;
    }
    [status, data] = await handler(env, { ...match.groups });
    allowed.length = 0;
    break;
  }
  const headers: [string, string][] = [["Content-Type", "application/json"]];
  if (allowed.length > 0) {
    status = 405;
    data = { error: "method not allowed" };
    headers.push(["Allow", allowed.join(", ")]);
  }
  startResponse(`${status} ${REASONS[status] ?? "Unknown"}`, headers);
  return [JSON.stringify(data) + "\n"];
}

const wsgi = server(await listen([process.env.HOST ?? "", Number(process.env.PORT ?? 8090)]), app);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void wsgi.close({ deadline: 10_000 }));
}
await wsgi.closed;
