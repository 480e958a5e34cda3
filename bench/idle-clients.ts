/**
 * Benchmark child: opens --count keep-alive connections to 127.0.0.1:--port,
 * makes one GET /hello on each (so each is an ordinary kept-alive
 * connection, idle between requests), and holds them all open until the
 * harness says exit. At most --concurrency connections are being opened
 * at once, so the server's accept backlog is not flooded. Bounded: it gives
 * up opening after --timeout seconds and reports what it has.
 */

import net from "node:net";
import { announceReady, serveIpc } from "./servers/ipc.js";
import { HELLO_BODY } from "./servers/routes.js";

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} needs a number`);
  return value;
}

const port = option("port", 0);
const count = option("count", 10000);
const concurrency = option("concurrency", 200);
const deadline = Date.now() + option("timeout", 120) * 1000;
const REQUEST = "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

const sockets: net.Socket[] = [];
let failed = 0;
let closedByServer = 0;

/** Opens one connection and waits for its first response; resolves false on failure. */
function openOne(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    let received = "";
    let settled = false;
    let held = false;
    const settle = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      held = ok;
      if (ok) sockets.push(socket);
      else socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => {
      settle(false);
    }, 10000);
    socket.setNoDelay(true);
    socket.on("connect", () => socket.write(REQUEST));
    socket.on("data", (chunk: Buffer) => {
      if (settled) return;
      received += chunk.toString("latin1");
      if (received.endsWith(HELLO_BODY)) settle(true);
    });
    socket.on("error", () => {
      settle(false);
    });
    socket.on("close", () => {
      if (held) closedByServer++;
      settle(false);
    });
  });
}

async function worker(next: () => boolean): Promise<void> {
  while (next() && Date.now() < deadline) {
    if (!(await openOne())) failed++;
  }
}

const started = Date.now();
let issued = 0;
const next = (): boolean => issued++ < count;
await Promise.all(Array.from({ length: Math.min(concurrency, count) }, () => worker(next)));
serveIpc(
  () => ({ open: sockets.length - closedByServer, failed, closedByServer }),
  () => {
    for (const socket of sockets) socket.destroy();
  },
);
announceReady(port, { open: sockets.length, failed, openingMs: Date.now() - started });
