/**
 * The server of emfile.test.ts, run as a child under a low `ulimit -n`: an
 * eventwsgi server on 127.0.0.1 whose log lines, and its port, go to stdout
 * as JSON lines. It runs until killed.
 */

import { listen, server, type App } from "../../src/index.js";

const say = (line: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(line)}\n`);
};

const app: App = (env, startResponse) => {
  startResponse("200 OK", [["Content-Type", "text/plain"]]);
  return [`ok ${env.PATH_INFO}`];
};

const sock = await listen(["127.0.0.1", 0], { backlog: 256 });
const srv = server(sock, app, {
  log: {
    info: (message: string) => {
      say({ log: "info", message });
    },
    debug: () => undefined,
    error: (message: string) => {
      say({ log: "error", message });
    },
  },
  // No timeout may close the test's idle connections: only the test frees descriptors.
  headersTimeout: 0,
  requestTimeout: 0,
});
say({ port: (srv.address as { port: number }).port });
