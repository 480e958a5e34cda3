/**
 * Wire-test support: a real server on 127.0.0.1 port 0 with its log captured,
 * raw-socket exchanges with bounded waits, and a small response parser to
 * split what came back into responses.
 */

import net from "node:net";
import {
  listen,
  server,
  validator,
  type App,
  type ListenOptions,
  type ServerOptions,
  type WsgiServer,
} from "../../src/index.js";
import { Signal, within } from "./wait.js";

export interface CapturedLog {
  info: string[];
  debug: string[];
  error: string[];
  /** Resolves with the first line of `level` (logged before or after the call) that matches `re`. */
  waitFor(level: "info" | "debug" | "error", re: RegExp, timeoutMs?: number): Promise<string>;
}

/** A logger for a server under test that keeps every line, and lets a test wait for one. */
export function captureLog(): {
  log: CapturedLog;
  logger: { info(m: string): void; debug(m: string): void; error(m: string): void };
} {
  const waiters = new Set<() => void>();
  const log: CapturedLog = {
    info: [],
    debug: [],
    error: [],
    waitFor(level, re, timeoutMs = 3000) {
      let waiter!: () => void;
      const p = new Promise<string>((resolve) => {
        waiter = () => {
          const line = log[level].find((l) => re.test(l));
          if (line !== undefined) resolve(line);
        };
        waiters.add(waiter);
        waiter();
      });
      return within(timeoutMs, `a ${level} line matching ${re} (${level}: ${JSON.stringify(log[level])})`, p).finally(
        () => waiters.delete(waiter),
      );
    },
  };
  const push =
    (level: "info" | "debug" | "error") =>
    (m: string): void => {
      log[level].push(m);
      for (const w of [...waiters]) w();
    };
  return { log, logger: { info: push("info"), debug: push("debug"), error: push("error") } };
}

export interface TestServer {
  readonly port: number;
  readonly server: WsgiServer;
  readonly log: CapturedLog;
  /** Closes the server, cutting connections after `deadlineMs`. */
  close(deadlineMs?: number): Promise<void>;
}

const UNVALIDATED = Symbol("unvalidated");

/**
 * Marks an app that breaks PEP 3333 on purpose (a test of how the server copes with
 * it): startServer does not wrap it in validator(), which would refuse it first.
 */
export function unvalidated(app: App): App {
  return Object.assign(((env, sr) => app(env, sr)) as App, { [UNVALIDATED]: true });
}

/**
 * Every app a wire test serves runs under validator() (PEP 3333's checks, as
 * wsgiref.validate), so each request proves the server's environ valid too.
 * Content-Type is not required: PEP 3333 does not, and many tests leave it out.
 */
export function validated(app: App): App {
  return (app as { [UNVALIDATED]?: boolean })[UNVALIDATED] === true
    ? app
    : validator(app, { requireContentType: false });
}

/**
 * Starts `app` on 127.0.0.1:0 with a capturing logger (merged over `opts`).
 * `listenOpts` go to listen(): a test that bursts hundreds of connects needs
 * a larger backlog than eventlet's default of 50, as each overflowed SYN
 * costs the client a one-second retransmit.
 */
export async function startServer(
  app: App,
  opts: ServerOptions = {},
  listenOpts: ListenOptions = {},
): Promise<TestServer> {
  const { log, logger } = captureLog();
  const sock = await listen(["127.0.0.1", 0], listenOpts);
  const srv = server(sock, validated(app), { log: logger, ...opts });
  const address = srv.address as { port: number };
  return {
    port: address.port,
    server: srv,
    log,
    close: (deadlineMs = 2000) => srv.close({ deadline: deadlineMs }),
  };
}

/** Runs `fn` with a server that is always closed afterwards. */
export async function withServer<T>(app: App, opts: ServerOptions, fn: (s: TestServer) => Promise<T>): Promise<T> {
  const s = await startServer(app, opts);
  try {
    return await fn(s);
  } finally {
    await s.close(500);
  }
}

export interface RawResult {
  /** Everything the server sent. */
  data: Buffer;
  /** The server closed (or reset) the connection before the wait ended. */
  closed: boolean;
  /** Latin-1 text of data, handy for assertions. */
  text: string;
}

export interface RawOptions {
  /** Milliseconds to wait for the server to close before giving up (default 2000). */
  timeoutMs?: number;
  /** Stop once this many complete responses have arrived (instead of waiting for the close). */
  responses?: number;
  /** Parse responses as answers to HEAD (no bodies). */
  head?: boolean;
  /** Half-close our side after writing. */
  end?: boolean;
  /** Write each of these pieces in turn (each after the previous was flushed). */
  pieces?: (string | Buffer)[];
}

/** Connects, writes `bytes`, and collects what the server sends until it closes, `responses` arrive, or the timeout. */
export function rawExchange(port: number, bytes: string | Buffer, opts: RawOptions = {}): Promise<RawResult> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const data = Buffer.concat(chunks);
      resolve({ data, closed, text: data.toString("latin1") });
    };
    const timer = setTimeout(() => {
      finish(false);
    }, timeoutMs);
    socket.on("data", (d: Buffer) => {
      chunks.push(d);
      if (opts.responses !== undefined) {
        try {
          const parsed = parseResponses(Buffer.concat(chunks), { head: opts.head });
          if (parsed.responses.length >= opts.responses) finish(false);
        } catch {
          // incomplete: keep reading
        }
      }
    });
    socket.on("end", () => {
      finish(true);
    });
    socket.on("close", () => {
      finish(true);
    });
    socket.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ECONNRESET" || err.code === "EPIPE") finish(true);
      else if (!settled) {
        settled = true;
        clearTimeout(timer);
        reject(err);
      }
    });
    socket.on("connect", () => {
      const pieces = opts.pieces ?? [bytes];
      const writeNext = (i: number): void => {
        if (i >= pieces.length) {
          if (opts.end === true) socket.end();
          return;
        }
        socket.write(pieces[i] as string | Buffer, "latin1", () => {
          writeNext(i + 1);
        });
      };
      writeNext(0);
    });
  });
}

export interface ParsedResponse {
  statusLine: string;
  status: number;
  /** Header names lower-cased, in order. */
  headers: [string, string][];
  body: Buffer;
  /** The exact bytes of the head (for checking capitalization). */
  rawHead: string;
  chunked: boolean;
}

/** First value of a header (case-insensitive). */
export function header(r: ParsedResponse, name: string): string | undefined {
  const lower = name.toLowerCase();
  return r.headers.find(([n]) => n === lower)?.[1];
}

/**
 * Splits a byte stream into responses. 1xx responses are returned too.
 * `rest` is what follows the last complete response. Throws when a
 * response is incomplete and `allowCloseDelimited` is false.
 */
export function parseResponses(
  data: Buffer,
  opts: { head?: boolean | undefined; allowCloseDelimited?: boolean } = {},
): { responses: ParsedResponse[]; rest: Buffer } {
  const responses: ParsedResponse[] = [];
  let pos = 0;
  while (pos < data.length) {
    const headEnd = data.indexOf("\r\n\r\n", pos, "latin1");
    if (headEnd === -1) throw new Error("incomplete head");
    const rawHead = data.toString("latin1", pos, headEnd);
    const lines = rawHead.split("\r\n");
    const statusLine = lines[0] as string;
    const status = Number(statusLine.split(" ")[1]);
    const headers: [string, string][] = lines.slice(1).map((l) => {
      const i = l.indexOf(":");
      return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
    });
    let p = headEnd + 4;
    const get = (n: string): string | undefined => headers.find(([k]) => k === n)?.[1];
    const te = get("transfer-encoding");
    const cl = get("content-length");
    let body: Buffer;
    const noBody = opts.head === true || status < 200 || status === 204 || status === 304;
    if (noBody) {
      body = Buffer.alloc(0);
    } else if (te !== undefined && te.toLowerCase().includes("chunked")) {
      const parts: Buffer[] = [];
      for (;;) {
        const lineEnd = data.indexOf("\r\n", p, "latin1");
        if (lineEnd === -1) throw new Error("incomplete chunk size");
        const size = parseInt(data.toString("latin1", p, lineEnd).split(";")[0] as string, 16);
        p = lineEnd + 2;
        if (size === 0) {
          const end = data.indexOf("\r\n\r\n", p - 2, "latin1");
          if (end === -1) throw new Error("incomplete trailer");
          p = end + 4;
          break;
        }
        if (p + size + 2 > data.length) throw new Error("incomplete chunk");
        parts.push(data.subarray(p, p + size));
        p += size + 2;
      }
      body = Buffer.concat(parts);
    } else if (cl !== undefined) {
      const n = Number(cl);
      if (p + n > data.length) throw new Error("incomplete body");
      body = data.subarray(p, p + n);
      p += n;
    } else {
      if (opts.allowCloseDelimited !== true) throw new Error("close-delimited body");
      body = data.subarray(p);
      p = data.length;
    }
    responses.push({ statusLine, status, headers, body, rawHead, chunked: te !== undefined });
    pos = p;
  }
  return { responses, rest: data.subarray(pos) };
}

/**
 * Where the response that starts at `start` ends, or -1 while it is
 * incomplete. A body with neither chunked framing nor Content-Length runs
 * to the close: it ends at the end of `data` once `closed`, never before.
 * Transfer-Encoding wins over Content-Length (RFC 9112 §6.3).
 */
export function responseEnd(
  data: Buffer,
  start: number,
  opts: { head?: boolean | undefined; closed?: boolean } = {},
): number {
  const headEnd = data.indexOf("\r\n\r\n", start, "latin1");
  if (headEnd === -1) return -1;
  const lines = data.toString("latin1", start, headEnd).split("\r\n");
  const status = Number((lines[0] as string).split(" ")[1]);
  const get = (name: string): string | undefined => {
    for (const l of lines.slice(1)) {
      const i = l.indexOf(":");
      if (l.slice(0, i).trim().toLowerCase() === name) return l.slice(i + 1).trim();
    }
    return undefined;
  };
  let p = headEnd + 4;
  if (opts.head === true || status < 200 || status === 204 || status === 304) return p;
  if ((get("transfer-encoding") ?? "").toLowerCase().includes("chunked")) {
    for (;;) {
      const lineEnd = data.indexOf("\r\n", p, "latin1");
      if (lineEnd === -1) return -1;
      const size = parseInt(data.toString("latin1", p, lineEnd), 16);
      if (size === 0) {
        const end = data.indexOf("\r\n\r\n", lineEnd, "latin1");
        return end === -1 ? -1 : end + 4;
      }
      p = lineEnd + 2 + size + 2;
      if (p > data.length) return -1;
    }
  }
  const cl = get("content-length");
  if (cl === undefined) return opts.closed === true ? data.length : -1;
  const end = p + Number(cl);
  return end <= data.length ? end : -1;
}

/**
 * The complete responses (1xx included) at the start of `data`, at most
 * `max` of them, and the bytes they take; unlike parseResponses, an
 * incomplete one at the end is not an error but where it stops.
 */
export function completeResponses(
  data: Buffer,
  opts: { head?: boolean | undefined; closed?: boolean; max?: number } = {},
): { responses: ParsedResponse[]; used: number } {
  const responses: ParsedResponse[] = [];
  let used = 0;
  while (used < data.length && responses.length < (opts.max ?? Infinity)) {
    const end = responseEnd(data, used, opts);
    if (end === -1) break;
    const [one] = parseResponses(data.subarray(used, end), {
      head: opts.head,
      allowCloseDelimited: opts.closed === true,
    }).responses;
    if (one === undefined) break;
    responses.push(one);
    used = end;
  }
  return { responses, used };
}

/** Parses everything, allowing a final close-delimited body. */
export function parseAll(data: Buffer, head = false): ParsedResponse[] {
  return parseResponses(data, { head, allowCloseDelimited: true }).responses;
}

/** Answers 200 with its PATH_INFO: which request a response answers. */
export const pathApp: App = (env, startResponse) => {
  startResponse("200 OK", []);
  return [env.PATH_INFO];
};

/** A hello-world app. */
export const hello: App = (_env, startResponse) => {
  startResponse("200 OK", [["Content-Type", "text/plain"]]);
  return ["Hello, World!\r\n"];
};

/**
 * An app held until the test lets it go: `started` fires when it is
 * called, and once `release` fires (within 3 s) it answers 200 with `body`.
 * With `setIdle` it first marks its request idle (eventlet.set_idle).
 */
export function heldApp(
  body: string,
  opts: { setIdle?: boolean } = {},
): { app: App; started: Signal; release: Signal } {
  const started = new Signal();
  const release = new Signal();
  const app: App = async (env, startResponse) => {
    if (opts.setIdle === true) env["eventlet.set_idle"]();
    started.fire();
    await within(3000, "release", release.promise);
    startResponse("200 OK", []);
    return [body];
  };
  return { app, started, release };
}
