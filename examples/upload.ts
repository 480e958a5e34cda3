/**
 * An upload read in pieces: `POST /upload` reads `wsgi.input` chunk by chunk as it arrives
 * (`for await`), hashing it, and answers with its size and SHA-256. The body is never held whole in
 * memory; while the app is busy the server stops reading the socket, so a fast client waits for a
 * slow app. Bodies with Content-Length and chunked bodies are read the same way, and a client that
 * sent `Expect: 100-continue` gets its `100 Continue` at the first read.
 *
 *   curl -T big.iso localhost:8090/upload
 */

import { createHash } from "node:crypto";
import { listen, server, type Environ, type StartResponse } from "eventwsgi";

/** Bytes an upload may have; a longer one is refused with 413 before or while it is read. */
const MAX_UPLOAD_BYTES = 64 * 1024 * 1024;

async function app(env: Environ, startResponse: StartResponse): Promise<string[]> {
  if (env.REQUEST_METHOD !== "POST" || env.PATH_INFO !== "/upload") {
    startResponse("404 Not Found", [["Content-Type", "text/plain"]]);
    return ["POST a body to /upload\n"];
  }
  if (Number(env.CONTENT_LENGTH ?? 0) > MAX_UPLOAD_BYTES) {
    // Answered without reading the body: the server drops it (or, after Expect: 100-continue, never receives it).
    startResponse("413 Content Too Large", [["Content-Type", "text/plain"]]);
    return ["too large\n"];
  }
  const hash = createHash("sha256");
  let bytes = 0;
  let pieces = 0;
  for await (const piece of env["wsgi.input"]) {
    bytes += piece.length;
    pieces += 1;
    if (bytes > MAX_UPLOAD_BYTES) {
      startResponse("413 Content Too Large", [["Content-Type", "text/plain"]]);
      return ["too large\n"];
    }
    hash.update(piece);
  }
  startResponse("200 OK", [["Content-Type", "application/json"]]);
  return [JSON.stringify({ bytes, pieces, sha256: hash.digest("hex") }) + "\n"];
}

const wsgi = server(await listen([process.env.HOST ?? "", Number(process.env.PORT ?? 8090)]), app);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void wsgi.close({ deadline: 10_000 }));
}
await wsgi.closed;
