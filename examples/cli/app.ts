/**
 * The app that examples/cli/eventwsgi.config.json serves with the `eventwsgi` command: a plain
 * WSGI app as the module's default export, with no server code of its own. Each answer says which
 * worker process served it.
 *
 *   npm run build
 *   npx eventwsgi -c examples/cli/eventwsgi.config.json dist/examples/cli/app.js
 */

import type { Environ, StartResponse } from "eventwsgi";

export default function app(env: Environ, startResponse: StartResponse): string[] {
  startResponse("200 OK", [["Content-Type", "application/json"]]);
  return [JSON.stringify({ path: env.PATH_INFO, worker: process.pid, multiprocess: env["wsgi.multiprocess"] }) + "\n"];
}
