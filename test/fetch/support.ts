/** Fetch-app test support: a fetch handler on a real eventwsgi server on 127.0.0.1:0. */

import { fetchApp, type FetchModule, type ServerOptions } from "../../src/index.js";
import { startServer, type TestServer } from "../support/wire.js";

export interface FetchServer extends TestServer {
  readonly base: string;
}

export async function startFetch(handler: FetchModule, opts: ServerOptions = {}): Promise<FetchServer> {
  const s = await startServer(fetchApp(handler), { logOutput: false, ...opts });
  return Object.assign(s, { base: `http://127.0.0.1:${s.port}` });
}

export async function withFetch<T>(
  handler: FetchModule,
  fn: (s: FetchServer) => Promise<T>,
  opts: ServerOptions = {},
): Promise<T> {
  const s = await startFetch(handler, opts);
  try {
    return await fn(s);
  } finally {
    await s.close(500);
  }
}
