/**
 * Benchmark child: the Hono app of test/fetch/diff-app.ts on eventwsgi,
 * through fetchApp, on 127.0.0.1 (a free port). Started by bench/hono.ts.
 */

import { fetchApp, listen, server } from "../../src/index.js";
import { diffApp } from "../../test/fetch/diff-app.js";
import { announceReady, serveIpc } from "./ipc.js";

const quiet = { info: () => {}, debug: () => {}, error: () => {} };
const sock = await listen(["127.0.0.1", 0], { backlog: 511 });
const wsgi = server(sock, fetchApp(diffApp()), { logOutput: false, log: quiet });
serveIpc(() => ({ connections: wsgi.connectionCount }));
const address = wsgi.address;
announceReady("port" in address ? address.port : 0, { server: "eventwsgi" });
