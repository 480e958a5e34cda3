/**
 * Post hooks for bandwidth accounting, the seed's reason for them. `GET /download` streams 64 MiB;
 * the body is pulled only as fast as the socket takes it, so the bytes it yielded are what was
 * handed to the kernel for the client, even when the client disconnects half way (the kernel's
 * socket buffers, a few MiB on loopback, are the only slack). A post hook, which runs once the
 * response is done or the client has gone, adds them to the client's total; `GET /usage` shows the
 * totals. Each hook also prints one line, `usage <client> <bytes> <complete|cut>`.
 */

import { listen, server, type Environ, type StartResponse } from "eventwsgi";

const CHUNK = Buffer.alloc(64 * 1024, "x");
const DOWNLOAD_BYTES = 1024 * CHUNK.length;

/** Bytes sent to each client address, over all its downloads. */
const usage = new Map<string, number>();

/** What one download has handed to the server so far; the hook reads it when the response is over. */
interface Transfer {
  bytes: number;
}

function account(env: Environ, transfer: Transfer): void {
  const total = (usage.get(env.REMOTE_ADDR) ?? 0) + transfer.bytes;
  usage.set(env.REMOTE_ADDR, total);
  console.log(`usage ${env.REMOTE_ADDR} ${transfer.bytes} ${transfer.bytes === DOWNLOAD_BYTES ? "complete" : "cut"}`);
}

function* download(transfer: Transfer): Generator<Buffer> {
  // Counted as each chunk is handed over: the server takes the next one only once it wrote this one.
  while (transfer.bytes < DOWNLOAD_BYTES) {
    transfer.bytes += CHUNK.length;
    yield CHUNK;
  }
}

function app(env: Environ, startResponse: StartResponse): Iterable<Buffer | string> {
  if (env.PATH_INFO === "/download") {
    const transfer: Transfer = { bytes: 0 };
    env["eventlet.posthooks"].push([account, [transfer]]);
    startResponse("200 OK", [
      ["Content-Type", "application/octet-stream"],
      ["Content-Length", String(DOWNLOAD_BYTES)],
    ]);
    return download(transfer);
  }
  if (env.PATH_INFO === "/usage") {
    startResponse("200 OK", [["Content-Type", "application/json"]]);
    return [JSON.stringify(Object.fromEntries(usage))];
  }
  startResponse("404 Not Found", [["Content-Type", "text/plain"]]);
  return ["not found\n"];
}

const wsgi = server(await listen([process.env.HOST ?? "", Number(process.env.PORT ?? 8090)]), app);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void wsgi.close({ deadline: 10_000 }));
}
await wsgi.closed;
