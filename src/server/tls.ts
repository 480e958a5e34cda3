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

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw Object.assign(new Error(`wrapSsl: cannot read ${what} ${path}: ${e.message}`), { code: e.code });
  }
}

/** Builds a secure context from SslOptions; throws a clear error for a bad certificate or key. */
export function createServerContext(opts: SslOptions): tls.SecureContext {
  if (opts.serverSide !== true) throw new TypeError("wrapSsl: serverSide must be true");
  const cert = opts.cert ?? (opts.certfile !== undefined ? readPem(opts.certfile, "certfile") : undefined);
  const key = opts.key ?? (opts.keyfile !== undefined ? readPem(opts.keyfile, "keyfile") : cert);
  if (cert === undefined) throw new TypeError("wrapSsl: a certificate is needed (certfile or cert)");
  try {
    const options: tls.SecureContextOptions = { cert, key };
    if (opts.ca !== undefined) options.ca = opts.ca;
    if (opts.passphrase !== undefined) options.passphrase = opts.passphrase;
    if (opts.ciphers !== undefined) options.ciphers = opts.ciphers;
    return tls.createSecureContext(options);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw Object.assign(new Error(`wrapSsl: bad certificate or key: ${e.message}`), { code: e.code ?? "ERR_TLS_CONTEXT" });
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
