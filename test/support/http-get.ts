/** One GET to 127.0.0.1 with node:http: its status and its body as UTF-8. Bounded in time. */

import http from "node:http";

export interface Reply {
  status: number;
  body: string;
}

export interface GetOptions {
  /** node:http's agent (`false`: a new connection, closed after); the global agent when absent. */
  agent?: http.Agent | false;
  /** The local address to send from (another loopback address than the server's). */
  from?: string;
  headers?: Record<string, string>;
  /** ms without an answer before the request is destroyed (default 5000). */
  timeoutMs?: number;
}

export function httpGet(port: number, path: string, opts: GetOptions = {}): Promise<Reply> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const req = http.get(
      {
        host: "127.0.0.1",
        port,
        path,
        agent: opts.agent,
        localAddress: opts.from,
        headers: opts.headers,
        timeout: timeoutMs,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`GET ${path}: no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
  });
}
