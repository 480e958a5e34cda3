/** The app bench/cli-workers.ts serves through the eventwsgi command: eventlet's hello world. */

import type { Environ, StartResponse } from "../../src/index.js";

export default function hello(_env: Environ, startResponse: StartResponse): string[] {
  startResponse("200 OK", [["Content-Type", "text/plain"]]);
  return ["Hello, World!\r\n"];
}
