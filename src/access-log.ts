/**
 * The access log line: eventlet's `log_format`, a Python %-template over
 * named fields, compiled once into a function.
 */

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
