/**
 * A minimal HTTP/1.1 client over a raw node:net socket, for the soak: it
 * writes exact bytes (well-formed, malformed, or cut short) and reads
 * responses one at a time, framed by Content-Length, chunked encoding, or
 * the end of the connection. Every wait is bounded by a timeout.
 */

import net from "node:net";

export interface RawResponse {
  status: number;
  /** Header names lower-cased; repeated headers joined with ",". */
  headers: Map<string, string>;
  body: Buffer;
}

const EMPTY = Buffer.alloc(0);
const HEAD_END = Buffer.from("\r\n\r\n");
const CRLF = Buffer.from("\r\n");

export class ClientTimeoutError extends Error {
  readonly code = "ERR_SOAK_TIMEOUT";
}

export class RawClient {
  private buf: Buffer = EMPTY;
  private ended = false;
  private closed = false;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;

  private constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
      this.signal();
    });
    socket.on("end", () => {
      this.ended = true;
      this.signal();
    });
    socket.on("error", (err) => {
      this.failure = err;
      this.signal();
    });
    socket.on("close", () => {
      this.closed = true;
      this.ended = true;
      this.signal();
    });
  }

  static connect(port: number, timeoutMs: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: "127.0.0.1", port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ClientTimeoutError(`connect timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeListener("error", onError);
        resolve(new RawClient(socket));
      });
      const onError = (err: Error): void => {
        clearTimeout(timer);
        reject(err);
      };
      socket.once("error", onError);
    });
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** Waits for more bytes, the end, or an error; rejects on timeout. */
  private more(deadline: number): Promise<void> {
    if (this.ended || this.failure !== null) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => {
          this.wake = null;
          reject(new ClientTimeoutError("timed out waiting for the server"));
        },
        Math.max(1, deadline - Date.now()),
      );
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  write(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Reads the next response to a request made with `method`. */
  async read(method: string, timeoutMs: number): Promise<RawResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this.tryParse(method);
      if (r !== null) return r;
      if (this.failure !== null && this.buf.length === 0) throw this.failure;
      if (this.ended) {
        const close = this.tryParseUntilClose(method);
        if (close !== null) return close;
        throw new Error(
          `connection closed ${this.buf.length === 0 ? "before a response" : "in the middle of a response"}`,
        );
      }
      await this.more(deadline);
    }
  }

  /** Resolves true when the server ends the connection within timeoutMs, false otherwise. */
  async waitEnd(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended && this.failure === null) {
      try {
        await this.more(deadline);
      } catch {
        return false;
      }
    }
    return true;
  }

  close(): void {
    this.socket.destroy();
  }

  /** End our side, then destroy: no RST for a clean close. */
  end(): void {
    if (this.closed) return;
    this.socket.end();
    this.socket.destroySoon();
  }

  private head(): { status: number; headers: Map<string, string>; bodyStart: number } | null {
    const end = this.buf.indexOf(HEAD_END);
    if (end === -1) return null;
    const lines = this.buf.toString("latin1", 0, end).split("\r\n");
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "");
    if (m === null) throw new Error(`malformed status line: ${JSON.stringify(lines[0])}`);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon <= 0) throw new Error(`malformed response header: ${JSON.stringify(line)}`);
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      const prev = headers.get(name);
      headers.set(name, prev === undefined ? value : `${prev},${value}`);
    }
    return { status: Number(m[1]), headers, bodyStart: end + 4 };
  }

  private consume(n: number): void {
    this.buf = n >= this.buf.length ? EMPTY : this.buf.subarray(n);
  }

  private tryParse(method: string): RawResponse | null {
    const h = this.head();
    if (h === null) return null;
    const { status, headers, bodyStart } = h;
    if (status >= 100 && status < 200) {
      this.consume(bodyStart); // an interim response: skip it, read the final one
      return this.tryParse(method);
    }
    if (method === "HEAD" || status === 204 || status === 304) {
      this.consume(bodyStart);
      return { status, headers, body: EMPTY };
    }
    const te = headers.get("transfer-encoding");
    if (te !== undefined && /chunked\s*$/i.test(te)) return this.tryChunked(status, headers, bodyStart);
    const cl = headers.get("content-length");
    if (cl !== undefined) {
      const n = Number(cl);
      if (this.buf.length - bodyStart < n) return null;
      const body = Buffer.from(this.buf.subarray(bodyStart, bodyStart + n));
      this.consume(bodyStart + n);
      return { status, headers, body };
    }
    return null; // close-delimited: complete only at the end (tryParseUntilClose)
  }

  private tryChunked(status: number, headers: Map<string, string>, bodyStart: number): RawResponse | null {
    const parts: Buffer[] = [];
    let at = bodyStart;
    for (;;) {
      const lineEnd = this.buf.indexOf(CRLF, at);
      if (lineEnd === -1) return null;
      const size = parseInt(this.buf.toString("latin1", at, lineEnd).split(";")[0] ?? "", 16);
      if (!Number.isFinite(size)) throw new Error("malformed chunk size in response");
      at = lineEnd + 2;
      if (size === 0) {
        // Trailers (none expected) end with an empty line.
        const end = this.buf.indexOf(HEAD_END, at - 2);
        if (end === -1) return null;
        this.consume(end + 4);
        return { status, headers, body: Buffer.concat(parts) };
      }
      if (this.buf.length < at + size + 2) return null;
      parts.push(this.buf.subarray(at, at + size));
      at += size + 2;
    }
  }

  private tryParseUntilClose(method: string): RawResponse | null {
    const h = this.head();
    if (h === null) return null;
    if (method === "HEAD" || h.headers.has("content-length") || h.headers.has("transfer-encoding")) return null;
    const body = Buffer.from(this.buf.subarray(h.bodyStart));
    this.buf = EMPTY;
    return { status: h.status, headers: h.headers, body };
  }
}
