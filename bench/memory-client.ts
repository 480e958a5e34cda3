/**
 * The client side of a server-memory measurement, shared by bench/memory.ts
 * and test/ops/backpressure.test.ts: the IPC protocol of bench/memory-server.ts
 * (which runs in a child process, so that its memory is apart from the
 * clients'), a paced download, and an upload that writes until the socket
 * stops draining. Every wait is bounded.
 */

import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import net from "node:net";
import { dirname, join } from "node:path";
import tls from "node:tls";
import { fileURLToPath } from "node:url";
import { within } from "../test/support/wait.js";
import type { Memory } from "./memory-server.js";

export type { Memory } from "./memory-server.js";

const here = dirname(fileURLToPath(import.meta.url));
/** The compiled server script, to run in a child process with an IPC channel. */
export const MEMORY_SERVER = join(here, "memory-server.js");
const CA = readFileSync(join(here, "..", "..", "test", "fixtures", "cert.pem"), "latin1");

/** The child server and its request/reply protocol over IPC. */
export class MemoryServer {
  private nextId = 1;
  private readonly replies = new Map<number, (m: Memory) => void>();
  private readonly events = new Set<string>();
  private readonly eventWaiters = new Set<() => void>();

  private constructor(
    readonly proc: ChildProcess,
    readonly port: number,
  ) {
    proc.on("message", (m: Partial<Memory> & { id?: number; event?: string }) => {
      if (m.id !== undefined) {
        this.replies.get(m.id)?.(m as Memory);
        this.replies.delete(m.id);
      } else if (m.event !== undefined) {
        this.events.add(m.event);
        for (const w of [...this.eventWaiters]) w();
      }
    });
  }

  /** Waits for `proc` (running MEMORY_SERVER) to listen; kills it when it does not within `ms`. */
  static async attach(proc: ChildProcess, ms: number): Promise<MemoryServer> {
    try {
      const [msg] = (await within(ms, "the memory server to listen", once(proc, "message"))) as [{ port: number }];
      return new MemoryServer(proc, msg.port);
    } catch (err) {
      proc.kill("SIGKILL");
      throw err;
    }
  }

  call(cmd: "memory" | "resetPeak" | "release" | "gc", ms = 5000): Promise<Memory> {
    const id = this.nextId++;
    const reply = new Promise<Memory>((resolve) => this.replies.set(id, resolve));
    this.proc.send({ id, cmd });
    return within(ms, `the server's reply to ${cmd}`, reply);
  }

  waitEvent(name: string, ms: number): Promise<void> {
    let waiter!: () => void;
    const p = new Promise<void>((resolve) => {
      waiter = () => {
        if (this.events.has(name)) resolve();
      };
      this.eventWaiters.add(waiter);
      waiter();
    });
    return within(ms, `the server's ${name} event`, p).finally(() => this.eventWaiters.delete(waiter));
  }

  /** A baseline: garbage collected (when the child runs with --expose-gc), peaks reset. */
  async baseline(): Promise<Memory> {
    await this.call("gc");
    return this.call("resetPeak");
  }

  /** Disconnecting ends the server; it is killed when it has not exited within `ms`. */
  async stop(ms = 3000): Promise<void> {
    if (this.proc.connected) this.proc.disconnect();
    const exited = once(this.proc, "exit");
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    await within(ms, "the server to exit", exited).catch(() => {
      this.proc.kill("SIGKILL");
    });
  }
}

export function connect(port: number, secure: boolean): net.Socket {
  return secure
    ? tls.connect({ host: "127.0.0.1", port, ca: CA, servername: "localhost" })
    : net.connect({ host: "127.0.0.1", port });
}

/**
 * How a download reads: at most `bytesPerSecond` (Infinity: as fast as it
 * can), or `pauseMs` of not reading after every `burst` bytes.
 */
export type Pacing = { bytesPerSecond: number } | { burst: number; pauseMs: number };

/**
 * GETs /big?total and reads the body as `pacing` says, pausing its socket
 * (so that the server's writes must wait for it). Resolves with the body's
 * length; rejects on a status other than 200 or a close before the end.
 */
export function download(port: number, secure: boolean, total: number, pacing: Pacing): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, secure);
    let head = Buffer.alloc(0);
    let body = -1;
    let t0 = 0;
    let nextPause = "burst" in pacing ? pacing.burst : Infinity;
    socket.on("error", reject);
    socket.on("close", () => {
      reject(new Error(`closed after ${body} body bytes`));
    });
    socket.once(secure ? "secureConnect" : "connect", () => {
      t0 = Date.now();
      socket.write(`GET /big?${total} HTTP/1.1\r\nHost: x\r\n\r\n`);
    });
    socket.on("data", (d: Buffer) => {
      if (body < 0) {
        head = Buffer.concat([head, d]);
        const end = head.indexOf("\r\n\r\n");
        if (end === -1) return;
        if (!head.toString("latin1", 0, 13).startsWith("HTTP/1.1 200 ")) {
          socket.destroy();
          reject(new Error(`not a 200: ${head.toString("latin1", 0, end)}`));
          return;
        }
        body = head.length - end - 4;
      } else {
        body += d.length;
      }
      if (body >= total) {
        socket.removeAllListeners("close");
        socket.destroy();
        resolve(body);
        return;
      }
      let pauseMs = 0;
      if ("burst" in pacing) {
        if (body >= nextPause) {
          nextPause += pacing.burst;
          pauseMs = pacing.pauseMs;
        }
      } else {
        const aheadMs = (body / pacing.bytesPerSecond) * 1000 - (Date.now() - t0);
        if (aheadMs > 5) pauseMs = aheadMs;
      }
      if (pauseMs > 0) {
        socket.pause();
        setTimeout(() => socket.resume(), pauseMs);
      }
    });
  });
}

/**
 * True once the socket drains, false when no drain comes within `ms`: no
 * event says "the peer stopped reading", so a drain that does not come is the stall.
 */
export function drainedWithin(socket: net.Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const onDrain = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      socket.removeListener("drain", onDrain);
      resolve(false);
    }, ms);
    socket.once("drain", onDrain);
  });
}

/** Writes a `total`-byte body to `socket` in 64 KiB chunks, in as many pumps as it takes. */
export class Upload {
  private readonly chunk = Buffer.alloc(64 * 1024, 0x62);
  /** Bytes handed to the socket so far. */
  written = 0;

  constructor(
    private readonly socket: net.Socket,
    private readonly total: number,
  ) {}

  /** Writes until all is written ("done"), or no drain comes for `stallMs` ("stalled"). */
  async pump(stallMs: number): Promise<"done" | "stalled"> {
    while (this.written < this.total) {
      const n = Math.min(this.chunk.length, this.total - this.written);
      this.written += n;
      if (!this.socket.write(n === this.chunk.length ? this.chunk : this.chunk.subarray(0, n))) {
        if (!(await drainedWithin(this.socket, stallMs))) return "stalled";
      }
    }
    return "done";
  }

  /** What left the client: written, less what still waits in the socket's buffer. */
  get accepted(): number {
    return this.written - this.socket.writableLength;
  }
}
