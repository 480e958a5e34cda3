/**
 * A raw client connection for interactive tests, over TCP, a Unix socket
 * or TLS: writes exact bytes, keeps everything received, and waits — always
 * with a bound — for responses, for some text, a condition, or the server's
 * close. test/wire/client.ts's RawClient extends it with a read position.
 * The fault tests use it too: `ended`, `socketClosed` and `connected` are
 * signals to wait on, and `vanish` leaves with a FIN or a reset.
 */

import { once } from "node:events";
import net from "node:net";
import tls from "node:tls";
import { parseResponses, type ParsedResponse } from "./wire.js";
import { Signal, within } from "./wait.js";

type Endpoint =
  { port: number; host?: string } | { path: string } | { port: number; host?: string; tls: tls.ConnectionOptions };
/** Where to connect: a bare number is a port on 127.0.0.1. */
export type PeerTarget = number | Endpoint;

/** How a client vanishes: a FIN, or a reset. */
export type Vanish = "fin" | "rst";
export const VANISH_KINDS: Vanish[] = ["fin", "rst"];

export class Peer {
  /** The bound of a wait that is given none (milliseconds). */
  static waitMs = 3000;

  readonly socket: net.Socket;
  /** Everything received so far. */
  data: Buffer = Buffer.alloc(0);
  /** The server ended or reset the connection. */
  closed = false;
  /** The first socket error, if any (ECONNRESET and the like). */
  error: NodeJS.ErrnoException | null = null;
  /** The connection is up (fired at once by connect(); start() fires it on "connect"). */
  readonly connected = new Signal();
  /** The server sent FIN, or the connection closed: fires when `closed` becomes true. */
  readonly ended = new Signal();
  /** The socket is closed (FIN both ways, or a reset). */
  readonly socketClosed = new Signal();
  private readonly waitMs: number;
  private readonly waiters = new Set<() => void>();

  constructor(socket: net.Socket) {
    this.socket = socket;
    this.waitMs = (this.constructor as typeof Peer).waitMs;
    socket.on("data", (d: Buffer) => {
      this.data = this.data.length === 0 ? d : Buffer.concat([this.data, d]);
      this.wake();
    });
    const onClosed = (): void => {
      this.closed = true;
      this.ended.fire();
      this.wake();
    };
    if (socket.connecting)
      socket.once("connect", () => {
        this.connected.fire();
      });
    else this.connected.fire();
    socket.on("end", onClosed);
    socket.on("close", () => {
      this.socketClosed.fire();
      onClosed();
    });
    socket.on("error", (err: NodeJS.ErrnoException) => {
      this.error ??= err;
      onClosed();
    });
  }

  /** Connects (a bare number is a port on 127.0.0.1); resolves once connected, or the TLS handshake is done. */
  static async connect<P extends Peer>(
    this: new (socket: net.Socket) => P,
    target: PeerTarget,
    timeoutMs = 3000,
  ): Promise<P> {
    const t: Endpoint = typeof target === "number" ? { port: target } : target;
    let socket: net.Socket;
    let ready: string;
    if ("path" in t) {
      socket = net.connect({ path: t.path });
      ready = "connect";
    } else if ("tls" in t) {
      socket = tls.connect({ host: t.host ?? "127.0.0.1", port: t.port, ...t.tls });
      ready = "secureConnect";
    } else {
      socket = net.connect({ host: t.host ?? "127.0.0.1", port: t.port });
      ready = "connect";
    }
    try {
      await within(timeoutMs, `connection (${ready})`, once(socket, ready));
    } catch (err) {
      socket.destroy();
      throw err;
    }
    return new this(socket);
  }

  /** Connects to a port on 127.0.0.1 without waiting: `connected` or `socketClosed` fires (a flood of connections). */
  static start(port: number): Peer {
    return new Peer(net.connect({ host: "127.0.0.1", port }));
  }

  get text(): string {
    return this.data.toString("latin1");
  }

  get bytesReceived(): number {
    return this.data.length;
  }

  /** The code of the first socket error (ECONNRESET...), if any. */
  get errorCode(): string | undefined {
    return this.error?.code;
  }

  /** Resolves once at least `n` bytes in total have arrived, or the server closed the connection. */
  waitForBytes(n: number, timeoutMs = this.waitMs): Promise<void> {
    return this.until(() => this.data.length >= n || this.closed, timeoutMs, `${n} bytes from the server`);
  }

  /** The client vanishes: "fin" closes normally, "rst" aborts with a reset. */
  vanish(how: Vanish): void {
    if (how === "rst") this.socket.resetAndDestroy();
    else this.socket.destroy();
  }

  /** Writes and resolves once the bytes were handed to the kernel. */
  write(bytes: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes, (err) => {
        if (err) reject(err);
        else resolve();
      });
    });
  }

  /** Half-closes our side. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves once `holds()` is true (checked now and at each data or close event); rejects after `timeoutMs`. */
  until(holds: () => boolean, timeoutMs = this.waitMs, what = "a condition"): Promise<void> {
    if (holds()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!holds()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; received: ${JSON.stringify(this.text.slice(0, 300))}`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  /** Waits for `n` complete responses from the start of the connection, or its close, and returns those that are complete. */
  async responses(n: number, timeoutMs = this.waitMs, head = false): Promise<ParsedResponse[]> {
    let parsed: ParsedResponse[] = [];
    await this.until(
      () => {
        try {
          parsed = parseResponses(this.data, { head }).responses;
        } catch {
          // incomplete: keep waiting (responses before the incomplete one are not returned)
          return false;
        }
        return parsed.length >= n || this.closed;
      },
      timeoutMs,
      `${n} response(s)`,
    );
    return parsed;
  }

  /** Waits until the received text contains `needle`. */
  waitForText(needle: string, timeoutMs = this.waitMs): Promise<void> {
    return this.until(() => this.text.includes(needle), timeoutMs, JSON.stringify(needle));
  }

  /** Waits for the server to end or reset the connection. */
  waitClosed(timeoutMs = this.waitMs): Promise<void> {
    return this.until(() => this.closed, timeoutMs, "the server to close the connection");
  }
}
