/**
 * The hostile suites' apps and raw client. The client decides when an
 * exchange is over from events only: the server closes, or the expected
 * number of final responses has arrived — then it half-closes and waits
 * for the server's close, so a response the server should not have sent
 * is still seen.
 */

import net from "node:net";
import { ClientDisconnectedError, type App, type Environ } from "../../src/index.js";
import { completeResponses, type ParsedResponse } from "../support/wire.js";

async function readBody(env: Environ): Promise<Buffer | null> {
  try {
    return await env["wsgi.input"].read();
  } catch (err) {
    if (err instanceof ClientDisconnectedError) return null;
    throw err; // a protocol error in the body: the server answers with its status
  }
}

/** Replies `${REQUEST_METHOD} ${PATH_INFO} ${body.length}:${body}` (bytes kept as Latin-1). */
export const echo: App = async (env, startResponse) => {
  const body = await readBody(env);
  if (body === null) {
    startResponse("299 Incomplete", [["Content-Type", "text/plain"]]);
    return [];
  }
  startResponse("200 OK", [["Content-Type", "text/plain"]]);
  return [Buffer.from(`${env.REQUEST_METHOD} ${env.PATH_INFO} ${body.length}:${body.toString("latin1")}`, "latin1")];
};

/** What a request was parsed into, the same shape for eventwsgi and node:http (see differential.test.ts). */
export interface SeenRequest {
  method: string;
  target: string;
  version: string;
  headers: [string, string][];
  body: string;
}

/**
 * Replies 200 with the request, as it was parsed, in an `X-Echo` header
 * (base64 of JSON, so that HEAD and CONNECT responses, which have no body,
 * carry it too): method, target (path and query; absolute-form reduced to
 * them), version, headers as received, body.
 */
export const jsonEcho: App = async (env, startResponse) => {
  const body = await readBody(env);
  if (body === null) {
    startResponse("299 Incomplete", [["Content-Type", "text/plain"]]);
    return [];
  }
  const query = env.QUERY_STRING;
  const seen: SeenRequest = {
    method: env.REQUEST_METHOD,
    target: `${env.RAW_PATH_INFO}${query === undefined ? "" : `?${query}`}`,
    version: env.SERVER_PROTOCOL,
    headers: env.headers_raw.map(([n, v]) => [n, v]),
    body: body.toString("latin1"),
  };
  startResponse("200 OK", [
    ["X-Echo", encodeSeen(seen)],
    ["Content-Length", "0"],
  ]);
  return [];
};

export const encodeSeen = (seen: SeenRequest): string => Buffer.from(JSON.stringify(seen), "utf8").toString("base64");
export const decodeSeen = (value: string): SeenRequest =>
  JSON.parse(Buffer.from(value, "base64").toString("utf8")) as SeenRequest;

export interface ExchangeResult {
  /** Final (non-1xx) responses, in order. */
  responses: ParsedResponse[];
  /** 1xx responses seen. */
  interim: number;
  /** The server closed the connection by itself (before we half-closed). */
  closedByServer: boolean;
  /** Bytes after the last complete response (should be none). */
  rest: Buffer;
  /** The exchange hit its time limit (a failure: the server neither answered nor closed). */
  timedOut: boolean;
}

export interface ExchangeOptions {
  /** Final responses after which we half-close and wait for the close (default: wait for the server to close). */
  halfCloseAfter?: number;
  /** Parse responses as answers to HEAD/CONNECT: no bodies. */
  noBodies?: boolean;
  timeoutMs?: number;
  host?: string;
}

/** The complete responses in `data`, final and interim, and what follows them. */
function split(
  data: Buffer,
  noBodies: boolean,
  closed: boolean,
): { finals: ParsedResponse[]; interim: number; rest: Buffer } {
  const { responses, used } = completeResponses(data, { head: noBodies, closed });
  const finals = responses.filter((r) => r.status >= 200);
  return { finals, interim: responses.length - finals.length, rest: data.subarray(used) };
}

/** Sends `bytes` and collects the server's answer; see the module comment for when it stops. */
export function exchange(port: number, bytes: Buffer, opts: ExchangeOptions = {}): Promise<ExchangeResult> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const noBodies = opts.noBodies === true;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: opts.host ?? "127.0.0.1", port });
    const chunks: Buffer[] = [];
    let halfClosed = false;
    let closedByServer = false;
    let settled = false;
    const finish = (timedOut: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const { finals, interim, rest } = split(Buffer.concat(chunks), noBodies, true);
      resolve({ responses: finals, interim, closedByServer, rest, timedOut });
    };
    const timer = setTimeout(() => {
      finish(true);
    }, timeoutMs);
    socket.on("data", (d: Buffer) => {
      chunks.push(d);
      if (!halfClosed && opts.halfCloseAfter !== undefined) {
        if (split(Buffer.concat(chunks), noBodies, false).finals.length >= opts.halfCloseAfter) {
          halfClosed = true;
          socket.end();
        }
      }
    });
    const onServerEnd = (): void => {
      if (!halfClosed) closedByServer = true;
      finish(false);
    };
    socket.on("end", onServerEnd);
    socket.on("close", onServerEnd);
    socket.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ECONNRESET" || err.code === "EPIPE") onServerEnd();
      else if (!settled) {
        settled = true;
        clearTimeout(timer);
        reject(err);
      }
    });
    socket.on("connect", () => {
      socket.write(bytes, () => {
        if (opts.halfCloseAfter === 0 && !halfClosed) {
          halfClosed = true;
          socket.end();
        }
      });
    });
  });
}
