/**
 * Graceful shutdown. On SIGTERM or SIGINT the server stops accepting, closes idle keep-alive
 * connections at once, lets requests in flight finish (their responses carry `Connection: close`),
 * and exits once they are done, or cuts them after DEADLINE_MS (default 10 s). A second signal
 * exits at once. `GET /slow` takes SLOW_MS (default 2 s) to answer, to try it:
 *
 *   curl localhost:8090/slow & sleep 0.5; kill -TERM <pid>   # the curl still gets its answer
 */

import { setTimeout as delay } from "node:timers/promises";
import { listen, server, type Environ, type StartResponse } from "eventwsgi";

const slowMs = Number(process.env.SLOW_MS ?? 2000);
const deadlineMs = Number(process.env.DEADLINE_MS ?? 10_000);

async function app(env: Environ, startResponse: StartResponse): Promise<string[]> {
  if (env.PATH_INFO === "/slow") {
    console.log("slow request started");
    await delay(slowMs);
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    return [`done after ${slowMs} ms\n`];
  }
  startResponse("200 OK", [["Content-Type", "text/plain"]]);
  return ["fast\n"];
}

const wsgi = server(await listen([process.env.HOST ?? "", Number(process.env.PORT ?? 8090)]), app);

let stopping = false;
function stop(signal: NodeJS.Signals): void {
  if (stopping) {
    console.log(`${signal} again: exiting now`);
    process.exit(1);
  }
  stopping = true;
  console.log(`${signal}: finishing ${wsgi.outstandingRequests} request(s), at most ${deadlineMs} ms`);
  void wsgi.close({ deadline: deadlineMs });
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

await wsgi.closed; // resolves once every connection is gone; the process then exits by itself
console.log("stopped");
