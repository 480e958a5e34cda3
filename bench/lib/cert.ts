/** A throwaway self-signed certificate for 127.0.0.1, made with openssl for the TLS scenario. */

import { spawnSync } from "node:child_process";
import { join } from "node:path";

export interface CertificateFiles {
  cert: string;
  key: string;
}

/** Writes cert.pem and key.pem (RSA 2048, valid two days) into dir; null when openssl is missing or fails. */
export function makeCertificate(dir: string): CertificateFiles | null {
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const r = spawnSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "2",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ],
    { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" },
  );
  if (r.status !== 0) {
    process.stderr.write(`openssl could not make a certificate (${r.error?.message ?? r.stderr}); skipping TLS\n`);
    return null;
  }
  return { cert, key };
}
