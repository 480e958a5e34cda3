/**
 * `--bind` addresses: `HOST:PORT`, `[V6]:PORT` or `unix:PATH`, parsed and described. The primary
 * binds each one before forking (a port in use fails at once, exit 1) and hands the workers the
 * address it got (a port 0 becomes the port the kernel chose).
 */

import { listen } from "../server/listen.js";
import { StartupError, UsageError } from "./errors.js";

export type BindTarget = { host: string; port: number } | { path: string };

export function parseBind(text: string): BindTarget {
  if (text.startsWith("unix:")) {
    const path = text.slice(5);
    if (path === "") throw new UsageError(`--bind ${text}: a Unix socket needs a path (unix:/run/app.sock)`);
    return { path };
  }
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port > 65535) {
    throw new UsageError(`--bind ${JSON.stringify(text)}: expected HOST:PORT, [V6]:PORT or unix:PATH`);
  }
  const host = m[1] ?? m[2] ?? "";
  return { host: host === "" ? "0.0.0.0" : host, port };
}

export function describeBind(target: BindTarget, tls = false): string {
  if ("path" in target) return `unix:${target.path}`;
  const host = target.host.includes(":") ? `[${target.host}]` : target.host;
  return `${tls ? "https" : "http"}://${host}:${target.port}`;
}

/**
 * Binds every target once, to fail before any worker exists and to learn the ports the kernel
 * chose for port 0, then lets them go: the workers' cluster listener binds them again at once.
 */
export async function probeBinds(targets: readonly BindTarget[], backlog: number): Promise<BindTarget[]> {
  const bound: BindTarget[] = [];
  for (const target of targets) {
    try {
      const sock = await listen("path" in target ? target.path : [target.host, target.port], { backlog });
      const address = sock.address();
      await sock.close();
      bound.push(address);
    } catch (err) {
      throw new StartupError((err as Error).message);
    }
  }
  return bound;
}
