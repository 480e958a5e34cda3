/**
 * The access log line: eventlet's `log_format`, a Python %-template over
 * named fields, compiled once into a function.
 */

import type { AllowList } from "./proxy/allow-list.js";
import { resolveForwarded } from "./proxy/forwarded.js";

/** The connection's peer, as the access log needs it (gateway/environ.ts's ConnectionInfo is one). */
export interface LoggedPeer {
  readonly remoteAddr: string;
  readonly remotePort: string;
  /** forwardedAllowIps, when it trusts this peer. */
  readonly trustedForwarding?: AllowList | null;
}

export interface AccessLogFields {
  client_ip: string;
  client_port: string;
  date_time: string;
  request_line: string;
  status_code: string;
  body_length: number;
  wall_seconds: number;
}

type Piece = string | ((f: AccessLogFields) => string);

/**
 * Supports `%%` and `%(name)[flags][width][.precision]conv` with conv one of
 * s, r, d, i, f, F, x, X — what log formats use. An unknown field name is an
 * error at server start, as it would be at the first request in eventlet.
 */
export function compileLogFormat(
  format: string | ((fields: AccessLogFields) => string),
): (f: AccessLogFields) => string {
  if (typeof format === "function") return format;
  const pieces: Piece[] = [];
  const re = /%(?:%|\((\w+)\)([-+ 0#]*)(\d*)(?:\.(\d+))?([srdifFxX]))/g;
  let last = 0;
  for (let m = re.exec(format); m !== null; m = re.exec(format)) {
    if (m.index > last) pieces.push(format.slice(last, m.index));
    last = re.lastIndex;
    if (m[0] === "%%") {
      pieces.push("%");
      continue;
    }
    pieces.push(field(m[1] as keyof AccessLogFields, m[2] ?? "", m[3] ?? "", m[4], m[5] as string));
  }
  if (last < format.length) pieces.push(format.slice(last));
  return (f) => {
    let out = "";
    for (const p of pieces) out += typeof p === "string" ? p : p(f);
    return out;
  };
}

const KNOWN = new Set([
  "client_ip",
  "client_port",
  "date_time",
  "request_line",
  "status_code",
  "body_length",
  "wall_seconds",
]);

function field(
  name: keyof AccessLogFields,
  flags: string,
  width: string,
  precision: string | undefined,
  conv: string,
): (f: AccessLogFields) => string {
  if (!KNOWN.has(name)) throw new TypeError(`logFormat names an unknown field: ${name}`);
  const w = width === "" ? 0 : Number(width);
  const left = flags.includes("-");
  const zero = flags.includes("0") && !left;
  const pad = (s: string): string => (s.length >= w ? s : left ? s.padEnd(w) : s.padStart(w, zero ? "0" : " "));
  switch (conv) {
    case "s":
      return (f) => pad(precision === undefined ? String(f[name]) : String(f[name]).slice(0, Number(precision)));
    case "r":
      return (f) => pad(JSON.stringify(String(f[name])).replace(/^"|"$/g, "'"));
    case "d":
    case "i":
      return (f) => pad(String(Math.trunc(Number(f[name]))));
    case "x":
    case "X": {
      const upper = conv === "X";
      return (f) => {
        const s = Math.trunc(Number(f[name])).toString(16);
        return pad(upper ? s.toUpperCase() : s);
      };
    }
    default:
      return (f) => pad(Number(f[name]).toFixed(precision === undefined ? 6 : Number(precision)));
  }
}

/**
 * The `client_ip` and `client_port` of a request's line. From a peer that
 * `forwardedAllowIps` trusts: the client its forwarding headers name, as
 * REMOTE_ADDR and REMOTE_PORT were set; `logXForwardedFor` adds nothing
 * then, the chain having been judged (the untrusted entries left of the
 * client are the client's own claims). From any other peer, eventlet's rule:
 * with `logXForwardedFor`, the X-Forwarded-For as sent, a comma, and the
 * peer's address (the address of a PROXY protocol header, when there is one).
 * `headers`: the request's, as parsed; null when none could be (a server-made 400).
 */
export function logClient(
  peer: LoggedPeer,
  headers: readonly string[] | null,
  xForwardedFor: unknown,
  logXForwardedFor: boolean,
): { ip: string; port: string } {
  const trust = peer.trustedForwarding ?? null;
  if (trust !== null && headers !== null) {
    const client = resolveForwarded(headers, trust);
    if (client.addr !== null) return { ip: client.addr, port: client.port };
  }
  if (trust === null && logXForwardedFor && typeof xForwardedFor === "string" && xForwardedFor.length > 0)
    return { ip: `${xForwardedFor.replace(/ /g, "")},${peer.remoteAddr}`, port: peer.remotePort };
  return { ip: peer.remoteAddr, port: peer.remotePort };
}
