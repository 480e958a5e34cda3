/**
 * A large upload and a large download through a fetch handler stream in
 * bounded memory: the server's peak RSS grows by far less than the bytes
 * that went through it. 128 MiB each way by default;
 * EVENTWSGI_BIG_BODY_MIB=1024 runs the 1 GiB.
 */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import net from "node:net";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { within } from "../support/wait.js";

const MIB = 1024 * 1024;
const SIZE = Number(process.env.EVENTWSGI_BIG_BODY_MIB ?? 128) * MIB;
/** Bytes the peak RSS may grow by while SIZE bytes go each way. */
const GROWTH_LIMIT = 96 * MIB;
const CHILD = fileURLToPath(new URL("./big-body-child.js", import.meta.url));

/** Sends `head` then `bodyBytes` bytes (honouring backpressure), and returns the byte count of what came back. */
function exchange(port: number, head: string, bodyBytes: number, onData?: (n: number) => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    const keep: Buffer[] = [];
    let kept = 0;
    sock.on("data", (d: Buffer) => {
      onData?.(d.length);
      if (kept < 4096) {
        keep.push(d);
        kept += d.length;
      }
    });
    sock.on("end", () => {
      resolve(Buffer.concat(keep));
    });
    sock.on("error", reject);
    const chunk = Buffer.alloc(256 * 1024, 0x62);
    let left = bodyBytes;
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!sock.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          sock.once("drain", pump);
          return;
        }
      }
    };
    sock.write(head, "latin1", pump);
  });
}

async function peakRss(port: number): Promise<number> {
  const r = await exchange(port, "GET /rss HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", 0);
  return Number(r.toString("latin1").split("\r\n\r\n")[1]);
}

test(`a ${SIZE / MIB} MiB download and upload through a fetch handler stream in bounded memory`, async (t) => {
  const child = spawn(process.execPath, [CHILD], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    const port = await within(
      10_000,
      "the child's port",
      new Promise<number>((resolve) => {
        child.stdout.once("data", (d: Buffer) => {
          resolve((JSON.parse(d.toString().split("\n")[0] ?? "") as { port: number }).port);
        });
      }),
    );
    const before = await peakRss(port);
    let received = 0;
    await within(
      120_000,
      "the download",
      exchange(port, `GET /down?bytes=${SIZE} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`, 0, (n) => {
        received += n;
      }),
    );
    assert.ok(received > SIZE, `received ${received}`);
    const up = await within(
      120_000,
      "the upload",
      exchange(port, `POST /up HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: ${SIZE}\r\n\r\n`, SIZE),
    );
    assert.ok(up.toString("latin1").endsWith(`\r\n\r\n${SIZE}`), up.toString("latin1"));
    const after = await peakRss(port);
    const growth = after - before;
    t.diagnostic(`peak RSS ${(before / MIB).toFixed(1)} MiB before, ${(after / MIB).toFixed(1)} MiB after`);
    assert.ok(
      growth < GROWTH_LIMIT,
      `peak RSS grew by ${(growth / MIB).toFixed(1)} MiB for ${SIZE / MIB} MiB each way`,
    );
  } finally {
    child.kill("SIGKILL");
  }
});
