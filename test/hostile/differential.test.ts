/**
 * Differential check against node:http (llhttp, default options): the same
 * bytes go to a node:http server and to an eventwsgi server, both on
 * 127.0.0.1, and what each made of them is compared — accepted or rejected,
 * and for each request read: method, target, version, header fields as
 * received, and body. Inputs: the hostile corpus (default-option cases), and
 * generated well-formed requests each given one named oddity (oddities.ts),
 * sometimes with a second request pipelined behind.
 *
 * Every disagreement must be listed in disagreements.ts (and so in
 * README.md) with a decision; a listed corpus case must still disagree.
 * DIFF_EXPLORE=1 prints every disagreement instead of failing.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { test } from "node:test";
import fc from "fast-check";
import { runStream } from "../http1/driver.js";
import { genRequest, serialize } from "../http1/generate.js";
import { header, withServer } from "../support/wire.js";
import { CORPUS } from "./corpus.js";
import { DISAGREEMENTS, type Disagreement } from "./disagreements.js";
import { decodeSeen, exchange, jsonEcho, type SeenRequest } from "./echo.js";
import { ODDITIES } from "./oddities.js";
import { itemAt } from "../support/item-at.js";

interface Outcome {
  rejected: boolean;
  requests: SeenRequest[];
  /** For messages: node's error code or our statuses. */
  detail: string;
}

interface Input {
  /** Corpus case name, or the oddity's name. */
  key: string;
  kind: "corpus" | "oddity";
  bytes: Buffer;
}

/** The path and query of a request-target, as the gateway reduces it (environ.ts splitTarget). */
function reduceTarget(method: string, target: string): string {
  if (target.startsWith("/") || target === "*" || method === "CONNECT") return target;
  const afterScheme = target.indexOf("://") + 3;
  const rest = target.slice(afterScheme);
  const at = rest.search(/[/?]/);
  const pathAndQuery = at === -1 ? "/" : rest.slice(at);
  return pathAndQuery.startsWith("?") ? `/${pathAndQuery}` : pathAndQuery;
}

// ---- node:http side: what its parser produced, recorded on the server ----

interface NodeEntry {
  req: http.IncomingMessage;
  chunks: Buffer[];
}

interface NodeConnection {
  entries: NodeEntry[];
  connect: SeenRequest | null;
  errorCode: string | null;
  closed: Promise<void>;
}

/** Codes that only say the peer stopped (a partial request at EOF, bytes after `Connection: close`), not that a request was bad. */
const NODE_NOT_REJECTIONS = new Set(["HPE_INVALID_EOF_STATE", "HPE_CLOSED_CONNECTION", "ECONNRESET"]);

class NodeRecorder {
  readonly server: http.Server;
  private readonly connections = new Map<number, NodeConnection>();

  constructor() {
    this.server = http.createServer((req, res) => {
      const entry: NodeEntry = { req, chunks: [] };
      this.of(req.socket).entries.push(entry);
      req.on("data", (d: Buffer) => entry.chunks.push(d));
      req.on("end", () => res.end());
    });
    this.server.on("connection", (socket: net.Socket) => {
      let done: () => void = () => undefined;
      const closed = new Promise<void>((resolve) => (done = resolve));
      this.connections.set(socket.remotePort as number, { entries: [], connect: null, errorCode: null, closed });
      socket.on("close", () => {
        done();
      });
    });
    this.server.on("connect", (req: http.IncomingMessage, socket: net.Socket) => {
      this.of(socket).connect = seenOf(req, "");
      socket.end("HTTP/1.1 200 OK\r\n\r\n");
    });
    this.server.on("clientError", (err: NodeJS.ErrnoException, socket: net.Socket) => {
      this.of(socket).errorCode = err.code ?? "unknown";
      // Let queued body data and 'end' events run before the socket (and its requests) are torn down.
      setImmediate(() => socket.destroy());
    });
  }

  private of(socket: net.Socket): NodeConnection {
    return this.connections.get(socket.remotePort as number) as NodeConnection;
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) =>
      this.server.close(() => {
        resolve();
      }),
    );
  }

  /** Sends the bytes, half-closes, and waits for both ends to close. */
  async outcome(port: number, bytes: Buffer): Promise<Outcome> {
    const socket = net.connect({ host: "127.0.0.1", port });
    const received: Buffer[] = [];
    const localPort = await new Promise<number>((resolve, reject) => {
      socket.once("connect", () => {
        resolve(socket.localPort as number);
      });
      socket.once("error", reject);
    });
    socket.on("data", (d: Buffer) => received.push(d));
    socket.on("error", () => undefined); // a reset is an ending like any other
    const clientClosed = new Promise<void>((resolve) =>
      socket.on("close", () => {
        resolve();
      }),
    );
    socket.end(bytes);
    const timer = setTimeout(() => socket.destroy(), 3000);
    await clientClosed;
    clearTimeout(timer);
    const conn = this.connections.get(localPort);
    if (conn === undefined) throw new Error("node:http never saw the connection");
    await conn.closed;
    this.connections.delete(localPort);
    const requests = conn.entries
      .filter((e) => e.req.complete)
      .map((e) => seenOf(e.req, Buffer.concat(e.chunks).toString("latin1")));
    if (conn.connect !== null) requests.push(conn.connect);
    // node:http answers a missing Host itself, with a 400 and no event.
    const plain400 = /(^|\r\n)HTTP\/1\.1 400 /.test(Buffer.concat(received).toString("latin1"));
    const code = conn.errorCode;
    return {
      rejected: plain400 || (code !== null && !NODE_NOT_REJECTIONS.has(code)),
      requests,
      detail: code ?? (plain400 ? "400 (missing Host)" : "ok"),
    };
  }
}

function seenOf(req: http.IncomingMessage, body: string): SeenRequest {
  const raw = req.rawHeaders;
  const headers: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) headers.push([raw[i] as string, raw[i + 1] as string]);
  const method = req.method ?? "";
  return { method, target: reduceTarget(method, req.url ?? ""), version: `HTTP/${req.httpVersion}`, headers, body };
}

// ---- eventwsgi side: what the echo app saw, over the wire ----

async function ourOutcome(port: number, bytes: Buffer): Promise<Outcome> {
  // The sans-IO driver says how many responses to wait for before half-closing (see echo.ts).
  const predicted = runStream(bytes, []);
  const r = await exchange(port, bytes, {
    halfCloseAfter: predicted.end === "more" ? predicted.requests.length : undefined,
    noBodies: true,
  });
  const requests: SeenRequest[] = [];
  let rejected = false;
  const statuses: number[] = [];
  for (const res of r.responses) {
    statuses.push(res.status);
    const echoed = header(res, "x-echo");
    if (res.status === 200 && echoed !== undefined) requests.push(decodeSeen(echoed));
    else if (res.status >= 400) rejected = true;
  }
  if (r.timedOut) rejected = true;
  return { rejected, requests, detail: r.timedOut ? "timed out" : statuses.join(",") || "none" };
}

// ---- inputs ----

function generatedInputs(): Input[] {
  const env = process.env.FUZZ_RUNS;
  const perOddity = env === undefined || env === "" ? 3 : Math.max(3, Math.ceil(Number(env) / 1000));
  const seed =
    process.env.FUZZ_SEED === undefined || process.env.FUZZ_SEED === "" ? 4242 : Number(process.env.FUZZ_SEED);
  const samples = fc.sample(fc.tuple(genRequest, genRequest, fc.boolean()), {
    numRuns: perOddity * ODDITIES.length,
    seed,
  });
  return samples.map(([first, second, pipelined], i) => {
    const oddity = itemAt(ODDITIES, i % ODDITIES.length);
    const text = oddity.apply(first) + (pipelined ? serialize(second) : "");
    return { key: oddity.name, kind: "oddity", bytes: Buffer.from(text, "latin1") };
  });
}

function corpusInputs(): Input[] {
  return CORPUS.filter((c) => c.options === undefined).map((c) => ({
    key: c.name,
    kind: "corpus",
    bytes: Buffer.from(c.bytes, "latin1"),
  }));
}

function explain(input: Input): Disagreement | undefined {
  return DISAGREEMENTS.find((d) => (input.kind === "corpus" ? d.cases : d.oddities).includes(input.key));
}

const show = (o: Outcome): string =>
  `${o.rejected ? "rejected" : "accepted"} [${o.detail}] ${JSON.stringify(o.requests).slice(0, 300)}`;

/** Runs `fn` over `items`, `width` at a time. */
async function pool<T, R>(items: T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  // One iterator shared by the workers: each next() hands out the next item exactly once.
  const queue = items.entries();
  const worker = async (): Promise<void> => {
    for (const [i, item] of queue) out[i] = await fn(item);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

test("differential: eventwsgi and node:http read the same bytes the same way, but for the documented list", async () => {
  const node = new NodeRecorder();
  const nodePort = await node.listen();
  try {
    await withServer(jsonEcho, { logOutput: false }, async (s) => {
      const inputs = [...corpusInputs(), ...generatedInputs()];
      const results = await pool(inputs, 8, async (input) => {
        const [ours, theirs] = await Promise.all([
          ourOutcome(s.port, input.bytes),
          node.outcome(nodePort, input.bytes),
        ]);
        return { input, ours, theirs };
      });
      const unexplained: string[] = [];
      const disagreeingCases = new Set<string>();
      for (const { input, ours, theirs } of results) {
        const agree =
          ours.rejected === theirs.rejected && JSON.stringify(ours.requests) === JSON.stringify(theirs.requests);
        if (agree) continue;
        if (input.kind === "corpus") disagreeingCases.add(input.key);
        const d = explain(input);
        const line = `${input.kind} ${input.key}: ${JSON.stringify(input.bytes.toString("latin1").slice(0, 120))}\n    eventwsgi ${show(ours)}\n    node:http ${show(theirs)}`;
        if (d === undefined) unexplained.push(line);
        else if (d.weReject !== ours.rejected)
          unexplained.push(`${line}\n    (documented as ${d.id}, but the other way round)`);
        else if (process.env.DIFF_EXPLORE === "1") console.log(`[${d.id}] ${line}`);
      }
      if (process.env.DIFF_EXPLORE === "1") {
        for (const line of unexplained) console.log(`[UNDOCUMENTED] ${line}`);
        return;
      }
      assert.deepEqual(unexplained, [], `undocumented disagreements with node:http:\n${unexplained.join("\n")}`);
      // The list stays honest: every corpus case it names still disagrees.
      const stale = DISAGREEMENTS.flatMap((d) => d.cases).filter((name) => !disagreeingCases.has(name));
      assert.deepEqual(stale, [], "documented corpus disagreements that no longer disagree");
    });
  } finally {
    await node.close();
  }
});

test("every documented disagreement is in README.md, and names real cases and oddities", () => {
  const readme = readFileSync(new URL("../../../test/hostile/README.md", import.meta.url), "latin1");
  const caseNames = new Set(CORPUS.map((c) => c.name));
  const oddityNames = new Set(ODDITIES.map((o) => o.name));
  for (const d of DISAGREEMENTS) {
    assert.ok(readme.includes(d.id), `README.md does not mention ${d.id}`);
    for (const c of d.cases) assert.ok(caseNames.has(c), `${d.id}: no corpus case ${c}`);
    for (const o of d.oddities) assert.ok(oddityNames.has(o), `${d.id}: no oddity ${o}`);
  }
});
