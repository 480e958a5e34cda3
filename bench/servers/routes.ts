/**
 * The routes every benchmark server serves, so that the servers (eventwsgi,
 * its fetch-style handler, node:http, raw net) answer byte-for-byte
 * comparable responses.
 *
 *   GET  /hello      200 "Hello, World!\r\n" with Content-Length
 *   GET  /big        200, a 1 MiB body with Content-Length
 *   POST /echo       reads the whole body (Content-Length or chunked), answers its length in decimal;
 *                    eventwsgi reads it with `await input.read(65536)` until empty (what real apps do)
 *   POST /echo-iter  the same; eventwsgi reads it with `for await (const chunk of input)`
 *   GET  /stream     200, chunked: STREAM_CHUNKS chunks of STREAM_CHUNK_BYTES each
 *   anything else 404
 *
 * `--app sync|async` picks the application's style: `sync` returns its body
 * (an array) from a plain function; `async` is the same code declared
 * `async function app`, so every response comes from a promise — as from
 * most real apps, and every fetch-style handler. The upload routes await
 * the body in both styles.
 */

export const HELLO_BODY = "Hello, World!\r\n";
export const BIG_BYTES = 1024 * 1024;
export const POST_BYTES = 64 * 1024;
export const STREAM_CHUNKS = 100;
export const STREAM_CHUNK_BYTES = 1024;

/** One shared 1 MiB body, allocated once per process. */
export const BIG_BODY: Buffer = Buffer.alloc(BIG_BYTES, "x");
/** One shared 1 KiB chunk for the stream route. */
export const STREAM_CHUNK: Buffer = Buffer.alloc(STREAM_CHUNK_BYTES, "s");
/** What `read(n)` asks for on the /echo route. */
export const READ_SIZE = 65536;

/** The application's style: returns its body, or a promise of it (`async function app`). */
export type AppStyle = "sync" | "async";

/** The server-side command line every benchmark child understands. */
export interface ServerArgs {
  /** TLS certificate and key files (PEM), or null for plain TCP. */
  certFile: string | null;
  keyFile: string | null;
  /** listen() backlog: 511 for every server, Node's own default, so churn compares like with like. */
  backlog: number;
  /** Connections served at once (eventwsgi's maxSize); raised for the idle scenario. */
  maxConnections: number;
  /** The application's style (--app). */
  app: AppStyle;
}

export function parseServerArgs(argv: string[]): ServerArgs {
  const args: ServerArgs = { certFile: null, keyFile: null, backlog: 511, maxConnections: 1024, app: "sync" };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${flag ?? ""} needs a value`);
    switch (flag) {
      case "--cert":
        args.certFile = value;
        break;
      case "--key":
        args.keyFile = value;
        break;
      case "--backlog":
        args.backlog = Number(value);
        break;
      case "--max-connections":
        args.maxConnections = Number(value);
        break;
      case "--app":
        if (value !== "sync" && value !== "async") throw new Error(`--app is sync or async, not ${value}`);
        args.app = value;
        break;
      default:
        throw new Error(`unknown server flag ${flag ?? ""}`);
    }
    i++;
  }
  return args;
}
