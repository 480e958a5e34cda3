/**
 * Benchmark child: the ceiling. A raw node:net server that does the least
 * an HTTP/1.1 server can: it finds each request's end (CRLF CRLF), skips a
 * Content-Length body, and writes a canned response for the route — all
 * responses to one read go out in one write. No parsing, no validation,
 * no application: what is left is Node's socket cost, which bounds what
 * any server written on node:net can reach.
 *
 * It honours `Connection: close` (answers with it, then ends the socket),
 * because wrk reconnects only when the response says so.
 */

import net from "node:net";
import { BIG_BODY, HELLO_BODY, STREAM_CHUNK, STREAM_CHUNKS, parseServerArgs } from "./routes.js";
import { announceReady, serveIpc } from "./ipc.js";

const HEAD_END = Buffer.from("\r\n\r\n");

interface Canned {
  hello: Buffer;
  helloClose: Buffer;
  big: Buffer;
  stream: Buffer;
  notFound: Buffer;
  date: string;
}

function streamBody(): Buffer {
  const parts: Buffer[] = [];
  const size = Buffer.from(`${STREAM_CHUNK.length.toString(16)}\r\n`);
  for (let i = 0; i < STREAM_CHUNKS; i++) parts.push(size, STREAM_CHUNK, Buffer.from("\r\n"));
  parts.push(Buffer.from("0\r\n\r\n"));
  return Buffer.concat(parts);
}

const STREAM_BODY = streamBody();

function buildCanned(): Canned {
  const date = new Date().toUTCString();
  const head = (type: string, framing: string, extra = ""): string =>
    `HTTP/1.1 200 OK\r\nContent-Type: ${type}\r\nDate: ${date}\r\n${framing}${extra}\r\n`;
  return {
    hello: Buffer.from(head("text/plain", `Content-Length: ${HELLO_BODY.length}\r\n`) + HELLO_BODY, "latin1"),
    helloClose: Buffer.from(
      head("text/plain", `Content-Length: ${HELLO_BODY.length}\r\n`, "Connection: close\r\n") + HELLO_BODY,
    ),
    big: Buffer.concat([
      Buffer.from(head("application/octet-stream", `Content-Length: ${BIG_BODY.length}\r\n`)),
      BIG_BODY,
    ]),
    stream: Buffer.concat([
      Buffer.from(head("application/octet-stream", "Transfer-Encoding: chunked\r\n")),
      STREAM_BODY,
    ]),
    notFound: Buffer.from(
      `HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nDate: ${date}\r\nContent-Length: 11\r\n\r\nnot found\r\n`,
    ),
    date,
  };
}

let canned = buildCanned();
setInterval(() => {
  canned = buildCanned();
}, 1000).unref();

function echoResponse(length: number): Buffer {
  const text = String(length);
  return Buffer.from(
    `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: ${canned.date}\r\nContent-Length: ${text.length}\r\n\r\n${text}`,
  );
}

/** Content-Length of a head (0 when absent); the head is searched case-insensitively. */
function contentLength(lowerHead: string): number {
  const at = lowerHead.indexOf("\r\ncontent-length:");
  if (at === -1) return 0;
  return parseInt(lowerHead.slice(at + 17, lowerHead.indexOf("\r\n", at + 17)).trim(), 10) || 0;
}

class RawConnection {
  private pending: Buffer | null = null;
  /** Body bytes of the current POST still to skip. */
  private skip = 0;
  private bodyLength = 0;
  private closing = false;

  constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => {
      this.onData(chunk);
    });
    socket.on("error", () => {});
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    const buf = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = null;
    let offset = 0;
    const out: Buffer[] = [];
    while (offset < buf.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length - offset);
        this.skip -= n;
        offset += n;
        if (this.skip === 0) out.push(echoResponse(this.bodyLength));
        continue;
      }
      const end = buf.indexOf(HEAD_END, offset);
      if (end === -1) break;
      const response = this.route(buf, offset, end);
      offset = end + 4;
      if (response !== null) out.push(response);
      if (this.willClose()) break;
    }
    if (offset < buf.length && !this.willClose()) this.pending = buf.subarray(offset);
    const [first] = out;
    if (out.length > 1) this.socket.write(Buffer.concat(out));
    else if (first !== undefined) this.socket.write(first);
    if (this.willClose()) this.socket.end();
  }

  /** route() may have set `closing` (a method call, so the check above does not narrow it away). */
  private willClose(): boolean {
    return this.closing;
  }

  /** The canned response for the head at buf[start, end), or null when a body must be skipped first. */
  private route(buf: Buffer, start: number, end: number): Buffer | null {
    const lineEnd = buf.indexOf(0x0d, start);
    const line = buf.toString("latin1", start, lineEnd);
    const headLower = buf.toString("latin1", lineEnd, end + 2).toLowerCase();
    if (headLower.includes("\r\nconnection: close")) this.closing = true;
    if (line.startsWith("GET /hello ")) return this.closing ? canned.helloClose : canned.hello;
    if (line.startsWith("GET /big ")) return canned.big;
    if (line.startsWith("GET /stream ")) return canned.stream;
    if (line.startsWith("POST /echo ") || line.startsWith("POST /echo-iter ")) {
      const length = contentLength(headLower);
      if (length === 0) return echoResponse(0);
      this.skip = length;
      this.bodyLength = length;
      this.closing = false; // Connection: close is honoured for GETs only (the churn scenario)
      return null;
    }
    return canned.notFound;
  }
}

const args = parseServerArgs(process.argv.slice(2));
let open = 0;
const srv = net.createServer((socket) => {
  open++;
  socket.once("close", () => open--);
  new RawConnection(socket);
});
srv.listen({ host: "127.0.0.1", port: 0, backlog: args.backlog }, () => {
  serveIpc(() => ({ connections: open }));
  const address = srv.address();
  announceReady(typeof address === "object" && address !== null ? address.port : 0, { server: "raw-net" });
});
