/** The seed example: hello world on port 8090, closed gracefully on SIGINT/SIGTERM. */

import { listen, server, type Environ, type StartResponse } from "eventwsgi";

function helloWorld(_env: Environ, startResponse: StartResponse): string[] {
  startResponse("200 OK", [["Content-Type", "text/plain"]]);
  return ["Hello, World!\r\n"];
}

// PORT and HOST move it (PORT=0: a free port; the address is in the "wsgi starting up on" line).
const wsgi = server(await listen([process.env.HOST ?? "", Number(process.env.PORT ?? 8090)]), helloWorld);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void wsgi.close({ deadline: 10_000 });
  });
}
await wsgi.closed;
