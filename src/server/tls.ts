/**
 * wrapSsl(): a ListenSocket whose connections speak TLS, as eventlet's
 * `wrap_ssl(sock, certfile=…, keyfile=…, server_side=True)`. The context is
 * built at once, so a missing file or a key that does not match the
 * certificate throws here, not at the first connection.
 */

import { readFileSync } from "node:fs";
import type net from "node:net";
import tls from "node:tls";
import type { Acceptor, Address, ListenSocket } from "./listen.js";

export interface SslOptions {
  /** Path of the PEM certificate (chain). */
  certfile?: string;
  /** Path of the PEM private key. */
  keyfile?: string;
  /** The certificate as PEM. */
  cert?: string | Buffer;
  /** The private key as PEM. */
  key?: string | Buffer;
  /** Must be true: this is a server. */
  serverSide: boolean;
  /** CA certificates (PEM) for client certificates. */
  ca?: string | Buffer | (string | Buffer)[];
  /** Passphrase of an encrypted key. */
  passphrase?: string;
  /** OpenSSL cipher list. */
  ciphers?: string;
}

function readPem(who: string, path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw Object.assign(new Error(`${who}: cannot read ${what} ${path}: ${e.message}`), { code: e.code });
  }
}

/** OpenSSL's reason ("key values mismatch"), without its "error:0580…" prefix. */
function opensslReason(err: NodeJS.ErrnoException & { reason?: string }): string {
  return err.reason ?? err.message;
}

/**
 * What is wrong with the key, in words, for the OpenSSL errors that say it
 * badly ("unsupported", "bad decrypt"); null for other errors. An encrypted
 * key is told by its PEM text: decrypting with a wrong (or no) passphrase
 * fails as "bad decrypt" or, when the garbage happens to look padded, as
 * "unsupported", at random.
 */
function describeKeyProblem(
  err: NodeJS.ErrnoException,
  key: string | Buffer,
  hasPassphrase: boolean,
  keyInCertFile: boolean,
): string | null {
  const text = typeof key === "string" ? key : key.toString("latin1");
  const undecodable = err.code === "ERR_OSSL_BAD_DECRYPT" || err.code === "ERR_OSSL_UNSUPPORTED";
  if (!undecodable) return null;
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: *4, *ENCRYPTED/.test(text)) {
    return hasPassphrase ? "cannot be decrypted: the passphrase is wrong" : "is encrypted: a passphrase is needed";
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    return keyInCertFile
      ? "is missing: give keyfile (or key), or put the key in the certificate's file"
      : "is not a PEM private key";
  }
  return null;
}

function contextError(message: string, cause: NodeJS.ErrnoException): Error {
  return Object.assign(new Error(message, { cause }), { code: cause.code ?? "ERR_TLS_CONTEXT" });
}

/**
 * Builds a secure context from SslOptions. Throws at once, naming the file
 * (or "cert"/"key" for PEM given inline), when the certificate or key cannot
 * be read or parsed, or the key does not belong to the certificate. `who`
 * prefixes the messages ("wrapSsl", "setSecureContext").
 */
/** Whether a value from a JavaScript caller, whatever its declared type, is an object. */
function isObject(value: unknown): value is object {
  return typeof value === "object" && value !== null;
}

export function createServerContext(opts: SslOptions, who = "wrapSsl"): tls.SecureContext {
  if (!isObject(opts)) throw new TypeError(`${who}: options are needed`);
  if (!opts.serverSide) throw new TypeError(`${who}: serverSide must be true`);
  const certName = opts.cert !== undefined ? "the certificate (cert)" : `the certificate ${opts.certfile ?? ""}`;
  const cert = opts.cert ?? (opts.certfile !== undefined ? readPem(who, opts.certfile, "certfile") : undefined);
  if (cert === undefined) throw new TypeError(`${who}: a certificate is needed (certfile or cert)`);
  // Without a key, the key is looked for in the certificate's file, as Python's ssl does.
  const keyName =
    opts.key !== undefined
      ? "the private key (key)"
      : opts.keyfile !== undefined
        ? `the private key ${opts.keyfile}`
        : `the private key in ${certName}`;
  const key = opts.key ?? (opts.keyfile !== undefined ? readPem(who, opts.keyfile, "keyfile") : cert);
  try {
    tls.createSecureContext({ cert });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw contextError(`${who}: ${certName} is not a usable PEM certificate: ${opensslReason(e)}`, e);
  }
  const options: tls.SecureContextOptions = { cert, key };
  if (opts.ca !== undefined) options.ca = opts.ca;
  if (opts.passphrase !== undefined) options.passphrase = opts.passphrase;
  if (opts.ciphers !== undefined) options.ciphers = opts.ciphers;
  try {
    return tls.createSecureContext(options);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "ERR_OSSL_X509_KEY_VALUES_MISMATCH") {
      throw contextError(`${who}: ${keyName} does not match ${certName}`, e);
    }
    if (e.code === "ERR_SSL_NO_CIPHER_MATCH")
      throw contextError(`${who}: the cipher list ${JSON.stringify(opts.ciphers)} matches no cipher`, e);
    const keyProblem = describeKeyProblem(
      e,
      key,
      opts.passphrase !== undefined,
      opts.key === undefined && opts.keyfile === undefined,
    );
    if (keyProblem !== null) throw contextError(`${who}: ${keyName} ${keyProblem}`, e);
    throw contextError(`${who}: ${keyName} (or the ca, ciphers or passphrase) cannot be used: ${opensslReason(e)}`, e);
  }
}

class TlsListenSocket implements ListenSocket, Acceptor {
  readonly tls = true;
  private readonly inner: ListenSocket & Acceptor;
  private context: tls.SecureContext;

  constructor(inner: ListenSocket & Acceptor, context: tls.SecureContext) {
    this.inner = inner;
    this.context = context;
  }

  get netServer(): net.Server {
    return this.inner.netServer;
  }

  get secureContext(): tls.SecureContext {
    return this.context;
  }

  address(): Address {
    return this.inner.address();
  }

  attach(handler: (socket: net.Socket) => void): void {
    this.inner.attach(handler);
  }

  setSecureContext(context: tls.SecureContext): void {
    this.context = context;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export function wrapSsl(sock: ListenSocket, opts: SslOptions): ListenSocket {
  if (sock.tls) throw new TypeError("wrapSsl: the socket is already wrapped");
  if (!(sock instanceof Object) || typeof (sock as Partial<Acceptor>).attach !== "function") {
    throw new TypeError("wrapSsl: needs a socket from listen()");
  }
  return new TlsListenSocket(sock as ListenSocket & Acceptor, createServerContext(opts));
}

/** The server side of TLS over an accepted socket, with ALPN offering http/1.1. */
export function secureSocket(raw: net.Socket, context: tls.SecureContext): tls.TLSSocket {
  return new tls.TLSSocket(raw, { isServer: true, secureContext: context, ALPNProtocols: ["http/1.1"] });
}
