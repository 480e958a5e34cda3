/**
 * Benchmark child: the same Hono app on @hono/node-server with its defaults
 * (its own lightweight Request/Response in place of the globals), on
 * 127.0.0.1 (a free port). Started by bench/hono.ts.
 */

import { serve } from "@hono/node-server";
import { diffApp } from "../../test/fetch/diff-app.js";
import { announceReady, serveIpc } from "./ipc.js";

const s = serve({ fetch: diffApp().fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
  announceReady(info.port, { server: "@hono/node-server" });
});
serveIpc(
  () => ({}),
  () => {
    s.close();
  },
);
