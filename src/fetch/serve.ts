/**
 * serve(): the one-line start fetch users know from @hono/node-server —
 * `serve({ fetch: app.fetch, port: 8787 })` — on eventwsgi's server.
 * Port 3000 on all IPv4 interfaces unless told otherwise, as @hono/node-server.
 */

import { isIPv6 } from "node:net";
import { listen } from "../server/listen.js";
import { server, type WsgiServer } from "../server/server.js";
import { wrapSsl } from "../server/tls.js";
import type { ServerOptions } from "../options.js";
import { fetchApp, type FetchAppOptions, type FetchModule } from "./fetch-app.js";

export interface ServeOptions extends ServerOptions {
  /** The handler (Hono's `app.fetch`), or a module or object with a `fetch` method (a Hono app). */
  fetch: FetchModule;
  /** Default 3000. */
  port?: number;
  /** Default all IPv4 interfaces ("0.0.0.0"); "::" for IPv6. */
  hostname?: string;
  /** PEM certificate and key: serve HTTPS. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Keys added to every request's `env`. */
  env?: FetchAppOptions["env"];
}

/** What onListen gets, as @hono/node-server's (node's AddressInfo). */
export interface ListenInfo {
  address: string;
  family: "IPv4" | "IPv6";
  port: number;
}

export async function serve(options: ServeOptions, onListen?: (info: ListenInfo) => void): Promise<WsgiServer> {
  const { fetch, port = 3000, hostname = "", tls, env, ...serverOptions } = options;
  const app = fetchApp(fetch, env === undefined ? {} : { env });
  const sock = await listen([hostname === "0.0.0.0" ? "" : hostname, port]);
  const listening = tls === undefined ? sock : wrapSsl(sock, { cert: tls.cert, key: tls.key, serverSide: true });
  const srv = server(listening, app, serverOptions);
  const address = srv.address as { host: string; port: number };
  onListen?.({ address: address.host, family: isIPv6(address.host) ? "IPv6" : "IPv4", port: address.port });
  return srv;
}
