/**
 * Out of file descriptors (EMFILE): a server in a child process under
 * `ulimit -n 64` is flooded with connections until it has no descriptor
 * left. It must stay up, keep serving a keep-alive connection it already
 * has, log the exhaustion once (not once per refused connection), and serve
 * new connections again once some of the flood's connections are gone.
 *
 * The second test drives the other path, where accept's EMFILE reaches
 * net.Server as an 'error' event (libuv's spare descriptor lost to another
 * thread, which a test cannot arrange on purpose): the error is emitted by
 * hand, in process.
 */

import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { listen, server, type App } from "../../src/index.js";
import { Peer, assertServes } from "./support.js";
import { Signal, until, within } from "../support/wait.js";

const CHILD = fileURLToPath(new URL("./emfile-child.js", import.meta.url));
const DESCRIPTOR_LIMIT = 64;
/** More connections than the child has descriptors. */
const FLOOD = 120;
/** Flood connections closed to free descriptors. */
const FREED = 20;

interface LogLine {
  log: "info" | "error";
  message: string;
}

/** The child server: its port, and its log lines as they arrive. */
class ChildServer {
  readonly process: ChildProcess;
  readonly lines: LogLine[] = [];
  readonly exited = new Signal<number | null>();
  private readonly waiters: { match: RegExp; signal: Signal<LogLine> }[] = [];
  private readonly portSignal = new Signal<number>();
  private buffered = "";

  constructor() {
    this.process = spawn("bash", ["-c", `ulimit -n ${DESCRIPTOR_LIMIT} && exec "${process.execPath}" "${CHILD}"`], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    this.process.once("exit", (code) => {
      this.exited.fire(code);
    });
    this.process.stdout?.setEncoding("utf8");
    this.process.stdout?.on("data", (text: string) => {
      this.read(text);
    });
  }

  private read(text: string): void {
    this.buffered += text;
    let eol: number;
    while ((eol = this.buffered.indexOf("\n")) !== -1) {
      const parsed = JSON.parse(this.buffered.slice(0, eol)) as Partial<LogLine> & { port?: number };
      this.buffered = this.buffered.slice(eol + 1);
      if (parsed.port !== undefined) {
        this.portSignal.fire(parsed.port);
        continue;
      }
      const line = parsed as LogLine;
      this.lines.push(line);
      for (const w of this.waiters) if (!w.signal.fired && w.match.test(line.message)) w.signal.fire(line);
    }
  }

  port(ms: number): Promise<number> {
    return within(
      ms,
      "the child server's port",
      Promise.race([
        this.portSignal.promise,
        this.exited.promise.then(() => Promise.reject(new Error("the child exited"))),
      ]),
    );
  }

  /** Resolves with the first log line (past or future) matching `match`. */
  logged(match: RegExp, ms: number): Promise<LogLine> {
    const seen = this.lines.find((l) => match.test(l.message));
    if (seen !== undefined) return Promise.resolve(seen);
    const signal = new Signal<LogLine>();
    this.waiters.push({ match, signal });
    return within(ms, `a log line matching ${String(match)}`, signal.promise);
  }

  count(match: RegExp): number {
    return this.lines.filter((l) => match.test(l.message)).length;
  }

  async kill(): Promise<void> {
    if (!this.exited.fired) this.process.kill("SIGKILL");
    await within(5000, "the child to exit", this.exited.promise);
  }
}

const OUT_OF_DESCRIPTORS = /out of file descriptors \(EMFILE\)/;
const AVAILABLE_AGAIN = /file descriptors are available again/;

/** One request on a kept-alive peer; resolves once its response (ending in `ok <path>`) is in. */
async function requestOn(peer: Peer, path: string, ms: number): Promise<void> {
  const before = peer.text.length;
  await peer.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  const deadline = Date.now() + ms;
  while (!peer.text.slice(before).endsWith(`ok ${path}`)) {
    if (peer.socketClosed.fired)
      throw new Error(
        `the kept-alive connection was closed; got ${JSON.stringify(peer.text.slice(before, before + 200))}`,
      );
    const left = deadline - Date.now();
    if (left <= 0)
      throw new Error(`no response to ${path}; got ${JSON.stringify(peer.text.slice(before, before + 200))}`);
    await peer.waitForBytes(peer.bytesReceived + 1, left).catch(() => undefined);
  }
  assert.match(peer.text.slice(before), /^HTTP\/1\.1 200 /);
}

/** A new connection's fate: answered (200), or closed unanswered. */
async function tryRequest(port: number, ms: number): Promise<"served" | "closed"> {
  const peer = Peer.start(port);
  try {
    await peer.write("GET /new HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").catch(() => undefined);
    await within(ms, "the new connection to end", peer.socketClosed.promise);
    return /^HTTP\/1\.1 200 /.test(peer.text) ? "served" : "closed";
  } finally {
    peer.destroy();
  }
}

test("out of file descriptors: the server logs once, keeps serving what it has, and accepts again when descriptors free up", async () => {
  const child = new ChildServer();
  const flood: Peer[] = [];
  let keptAlive: Peer | undefined;
  try {
    const port = await child.port(10_000);
    keptAlive = await Peer.connect(port);
    await requestOn(keptAlive, "/before", 2000);

    // The flood: connections that say nothing. The server holds each one
    // until it has no descriptor left; libuv closes the rest at once.
    for (let i = 0; i < FLOOD; i++) flood.push(Peer.start(port));
    await within(
      5000,
      "every flood connection to be set up",
      Promise.all(flood.map((p) => Promise.race([p.connected.promise, p.socketClosed.promise]))),
    );
    await child.logged(OUT_OF_DESCRIPTORS, 5000);
    const refusedByServer = flood.filter((p) => p.socketClosed.fired).length;
    assert.ok(refusedByServer > 0, "some flood connections were closed unserved");
    assert.ok(refusedByServer < FLOOD, "some flood connections were held");

    // Still up, still serving the connection it has, still refusing new ones.
    assert.equal(child.exited.fired, false, "the server process is alive");
    await requestOn(keptAlive, "/during", 2000);
    assert.equal(await tryRequest(port, 2000), "closed", "a new connection is closed while out of descriptors");

    // Free some descriptors: new connections are served again.
    const held = flood.filter((p) => !p.socketClosed.fired);
    for (const p of held.slice(0, FREED)) p.destroy();
    await child.logged(AVAILABLE_AGAIN, 5000);
    assert.equal(await tryRequest(port, 2000), "served", "a new connection is served once descriptors are free");
    await requestOn(keptAlive, "/after", 2000);

    assert.equal(
      child.count(OUT_OF_DESCRIPTORS),
      1,
      `logged once, not once per refused connection:\n${child.lines.map((l) => l.message).join("\n")}`,
    );
    assert.equal(child.count(AVAILABLE_AGAIN), 1);
    assert.equal(child.lines.filter((l) => l.log === "error").length, 1, "no other error was logged");
  } finally {
    keptAlive?.destroy();
    for (const p of flood) p.destroy();
    await child.kill();
  }
});

test("an EMFILE 'error' from the listener is logged once per burst and neither crashes nor stops the server", async () => {
  const errors: string[] = [];
  const infos: string[] = [];
  const log = { info: (m: string) => infos.push(m), debug: () => undefined, error: (m: string) => errors.push(m) };
  const app: App = (_env, startResponse) => {
    startResponse("200 OK", [["Content-Type", "text/plain"]]);
    return ["ok"];
  };
  const sock = await listen(["127.0.0.1", 0]);
  // headersTimeout 0.2 s: the sweep, and so the descriptor probe, runs every 50 ms.
  const srv = server(sock, app, { log, logOutput: false, headersTimeout: 0.2 });
  const port = (srv.address as { port: number }).port;
  try {
    const netServer = (sock as unknown as { netServer: net.Server }).netServer;
    const emfile = (): Error =>
      Object.assign(new Error("accept EMFILE"), { code: "EMFILE", errno: -24, syscall: "accept" });
    // libuv retries accept() at once after such an error: a burst of them.
    for (let i = 0; i < 1000; i++) netServer.emit("error", emfile());
    assert.equal(errors.filter((m) => OUT_OF_DESCRIPTORS.test(m)).length, 1, errors.join("\n"));

    // Descriptors were never really short: the next probe ends the burst, and the server serves.
    await until(2000, "the end of the burst to be logged", () => infos.some((m) => AVAILABLE_AGAIN.test(m)));
    await assertServes(port, 2000);

    // A second burst is a second line; another accept error is logged, at most once a second.
    for (let i = 0; i < 10; i++) netServer.emit("error", emfile());
    for (let i = 0; i < 10; i++)
      netServer.emit("error", Object.assign(new Error("accept ENOBUFS"), { code: "ENOBUFS", syscall: "accept" }));
    assert.equal(errors.filter((m) => OUT_OF_DESCRIPTORS.test(m)).length, 2, errors.join("\n"));
    assert.equal(errors.filter((m) => /accept ENOBUFS/.test(m)).length, 1, errors.join("\n"));
    await until(2000, "the end of the second burst", () => infos.filter((m) => AVAILABLE_AGAIN.test(m)).length === 2);
    await assertServes(port, 2000);
  } finally {
    await srv.close({ deadline: 1000 });
  }
});
