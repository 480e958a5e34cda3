/**
 * Hello world over HTTPS. CERTFILE and KEYFILE name a PEM certificate and key; without them a
 * self-signed certificate for localhost is made with `openssl` in a temporary directory, which is
 * fine for trying it out and nothing else.
 *
 *   node dist/examples/tls.js          then   curl -k https://localhost:8443/
 */

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listen, server, wrapSsl, type Environ, type StartResponse } from "eventwsgi";

function helloWorld(env: Environ, startResponse: StartResponse): string[] {
  startResponse("200 OK", [["Content-Type", "text/plain"]]);
  return [`Hello over ${env["wsgi.url_scheme"]}!\r\n`];
}

/** A throw-away self-signed certificate for localhost, valid one day; returns its files and a cleanup. */
function selfSigned(): { certfile: string; keyfile: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "eventwsgi-tls-"));
  const certfile = join(dir, "cert.pem");
  const keyfile = join(dir, "key.pem");
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"]
      .concat(["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
      .concat(["-keyout", keyfile, "-out", certfile]),
    { stdio: "ignore" },
  );
  return {
    certfile,
    keyfile,
    remove: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const given = process.env.CERTFILE !== undefined && process.env.KEYFILE !== undefined;
const files = given
  ? { certfile: process.env.CERTFILE ?? "", keyfile: process.env.KEYFILE ?? "", remove: () => undefined }
  : selfSigned();

const sock = await listen([process.env.HOST ?? "", Number(process.env.PORT ?? 8443)]);
const wsgi = server(wrapSsl(sock, { certfile: files.certfile, keyfile: files.keyfile, serverSide: true }), helloWorld);
files.remove(); // the key is loaded: the temporary files are no longer needed

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void wsgi.close({ deadline: 10_000 }));
}
await wsgi.closed;
