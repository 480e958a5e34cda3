/**
 * Real proxies for the tests behind them: find a Debian program, give it a
 * free port, run it in the foreground as a child, wait (bounded) until it
 * accepts, and always stop it.
 */

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { httpGet, type Reply } from "../support/http-get.js";

/** The program's path in the usual places, or null. */
export function findProgram(name: string): string | null {
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/usr/local/sbin", "/sbin"];
  for (const dir of dirs) {
    if (dir === "") continue;
    const file = path.join(dir, name);
    if (existsSync(file)) return file;
  }
  return null;
}

/** A port the OS just gave us (bound, read and released). */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** Resolves once a TCP connect to 127.0.0.1:port succeeds, retrying refusals for at most `timeoutMs`. */
export async function waitForPort(port: number, child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`the program exited (${child.exitCode ?? child.signalCode}) before listening on ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect({ host: "127.0.0.1", port });
      c.once("connect", () => {
        c.destroy();
        resolve(true);
      });
      c.once("error", () => {
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port} after ${timeoutMs} ms`);
    // Not a guess at how long start-up takes: the next attempt after a refusal, with a short back-off.
    await new Promise((resolve) => setTimeout(resolve, Math.min(20 * (attempt + 1), 200)));
  }
}

export interface Program {
  readonly child: ChildProcess;
  /** What it wrote to stdout and stderr, for failure messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export function startProgram(file: string, args: string[]): Program {
  const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.on("error", (err) => {
    out += `spawn error: ${err.message}\n`;
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    child.once("exit", () => {
      resolve();
    });
  });
  return {
    child,
    output: () => out,
    async stop(graceMs = 3000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export type { Reply } from "../support/http-get.js";

/** One GET through `agent` from the local address `from` (a loopback address other than the proxy's). */
export function get(
  port: number,
  pathName: string,
  opts: { agent?: http.Agent; from?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return httpGet(port, pathName, opts);
}
