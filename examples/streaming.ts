/**
 * A streaming download: `GET /count?to=N` sends the numbers 1 to N, one line every 20 ms, from an
 * async generator. There is no Content-Length, so on HTTP/1.1 the response goes out chunked, each
 * line as it is made (`curl -N localhost:8090/count?to=50`). A response is pulled from the
 * generator only as fast as the client reads it, and if the client leaves, the generator is
 * stopped (its `finally` runs).
 */

import { setTimeout as delay } from "node:timers/promises";
import { listen, server, type Body, type Environ, type StartResponse } from "eventwsgi";

async function* count(to: number): AsyncGenerator<string> {
  try {
    for (let i = 1; i <= to; i++) {
      yield `${i}\n`;
      await delay(20);
    }
  } finally {
    console.log(`count stopped after it was asked for ${to}`);
  }
}

function app(env: Environ, startResponse: StartResponse): Body {
  const query = new URLSearchParams(env.QUERY_STRING ?? "");
  const to = Number(query.get("to") ?? 10);
  if (env.PATH_INFO !== "/count" || !Number.isInteger(to) || to < 0 || to > 10_000) {
    startResponse("400 Bad Request", [["Content-Type", "text/plain"]]);
    return ["GET /count?to=N, N from 0 to 10000\n"];
  }
  // minimumChunkSize would gather small lines into 4 KiB writes; 0 sends each at once.
  env["eventlet.minimum_write_chunk_size"] = 0;
  startResponse("200 OK", [["Content-Type", "text/plain; charset=utf-8"]]);
  return count(to);
}

const wsgi = server(await listen([process.env.HOST ?? "", Number(process.env.PORT ?? 8090)]), app);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void wsgi.close({ deadline: 10_000 }));
}
await wsgi.closed;
