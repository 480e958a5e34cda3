/**
 * The server of big-body.test.ts, in a process of its own so that its peak
 * RSS is its own: a fetch handler that streams N bytes out (GET /down?bytes=N)
 * or counts what is streamed in (POST /up), and reports its peak RSS
 * (GET /rss). Prints its port, then serves until killed.
 */

import { fetchApp, listen, server } from "../../src/index.js";

const CHUNK = new Uint8Array(64 * 1024).fill(0x61);

async function handler(req: Request): Promise<Response> {
  const url = new URL(req.url);
  if (url.pathname === "/down") {
    let left = Number(url.searchParams.get("bytes"));
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (left <= 0) {
          c.close();
          return;
        }
        const n = Math.min(left, CHUNK.length);
        c.enqueue(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
        left -= n;
      },
    });
    return new Response(body, { headers: { "content-length": url.searchParams.get("bytes") ?? "0" } });
  }
  if (url.pathname === "/up") {
    let total = 0;
    const reader = (req.body as ReadableStream<Uint8Array>).getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) total += r.value.byteLength;
    return new Response(String(total));
  }
  // ru_maxrss is in KiB.
  return new Response(String(process.resourceUsage().maxRSS * 1024));
}

const sock = await listen(["127.0.0.1", 0]);
const srv = server(sock, fetchApp(handler), { logOutput: false });
process.stdout.write(`${JSON.stringify({ port: (srv.address as { port: number }).port })}\n`);
