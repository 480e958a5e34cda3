/**
 * The differential test's (and the bench's) other side: the same Hono app
 * on @hono/node-server, with its defaults, in a process of its own (its
 * serve() replaces the global Request and Response). Prints its port.
 */

import { serve } from "@hono/node-server";
import { diffApp } from "./diff-app.js";

const server = serve({ fetch: diffApp().fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
  process.stdout.write(`${JSON.stringify({ port: info.port })}\n`);
});
process.on("SIGTERM", () => {
  server.close();
  process.exit(0);
});
