/**
 * Post hooks for bandwidth accounting, the seed's reason for them. `GET /download` streams 1 MiB;
 * the body is pulled only as fast as the client reads, so the bytes it yielded are (within one
 * chunk) what the client was sent, even when it disconnects half way. A post hook, which runs once
 * the response is done or the client has gone, adds them to the client's total; `GET /usage` shows
 * the totals. Each hook also prints one line, `usage <client> <bytes> <complete|cut>`.
 */

import { listen, server, type Environ, type StartResponse } from "eventwsgi";

const CHUNK = Buffer.alloc(64 * 1024, "x");
const DOWNLOAD_BYTES = 16 * CHUNK.length;

/** Bytes sent to each client address, over all its downloads. */
const usage = new Map<string, number>();

/** What one download has sent so far; the hook reads it when the response is over. */
interface Transfer {
  bytes: number;
  complete: boolean;
}

function account(env: Environ, transfer: Transfer): void {
  const total = (usage.get(env.REMOTE_ADDR) ?? 0) + transfer.bytes;
  usage.set(env.REMOTE_ADDR, total);
  console.log(`usage ${env.REMOTE_ADDR} ${transfer.bytes} ${transfer.complete ? "complete" : "cut"}`);
}

function* download(transfer: Transfer): Generator<Buffer> {
  for (let sent = 0; sent < DOWNLOAD_BYTES; sent += CHUNK.length) {
    yield CHUNK;
    transfer.bytes += CHUNK.length;
  }
  transfer.complete = true;
}

function app(env: Environ, startResponse: StartResponse): Iterable<Buffer | string> {
  if (env.PATH_INFO === "/download") {
    const transfer: Transfer = { bytes: 0, complete: false };
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
