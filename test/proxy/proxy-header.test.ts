/**
 * The PROXY protocol header parser (HAProxy's proxy-protocol.txt): v1 and
 * v2 read whole, byte by byte and with the HTTP bytes behind them; every
 * malformed header an error as soon as a byte shows it; every length bounded.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  PROXY_HEADER_MAX_BYTES,
  PROXY_V1_MAX_BYTES,
  PROXY_V2_MAX_PAYLOAD,
  ProxyHeaderError,
  ProxyHeaderReader,
  parseProxyHeader,
  type ProxyHeader,
} from "../../src/proxy/proxy-header.js";
import { fuzzRuns, fuzzSeed } from "../http1/generate.js";

const params = (runs: number): fc.Parameters<unknown> => {
  const seed = fuzzSeed();
  return { numRuns: fuzzRuns(runs), ...(seed === undefined ? { seed: 20261203 } : { seed }) };
};

const SIG = Buffer.from("0d0a0d0a000d0a515549540a", "hex");
const HTTP = Buffer.from("GET / HTTP/1.1\r\nHost: a\r\n\r\n");

interface V2Spec {
  command?: number; // 0 LOCAL, 1 PROXY
  version?: number;
  family?: number; // 0 UNSPEC, 1 INET, 2 INET6, 3 UNIX
  transport?: number; // 1 STREAM
  addresses?: Buffer;
  tlvs?: Buffer;
  /** Overrides the length field. */
  length?: number;
}

function v2(spec: V2Spec): Buffer {
  const body = Buffer.concat([spec.addresses ?? Buffer.alloc(0), spec.tlvs ?? Buffer.alloc(0)]);
  const fixed = Buffer.alloc(4);
  fixed[0] = ((spec.version ?? 2) << 4) | (spec.command ?? 1);
  fixed[1] = ((spec.family ?? 1) << 4) | (spec.transport ?? 1);
  fixed.writeUInt16BE(spec.length ?? body.length, 2);
  return Buffer.concat([SIG, fixed, body]);
}

function inet(src: number[], dst: number[], sport: number, dport: number): Buffer {
  const b = Buffer.alloc(12);
  Buffer.from(src).copy(b, 0);
  Buffer.from(dst).copy(b, 4);
  b.writeUInt16BE(sport, 8);
  b.writeUInt16BE(dport, 10);
  return b;
}

function inet6(src: string, dst: string, sport: number, dport: number): Buffer {
  const b = Buffer.alloc(36);
  Buffer.from(src, "hex").copy(b, 0);
  Buffer.from(dst, "hex").copy(b, 16);
  b.writeUInt16BE(sport, 32);
  b.writeUInt16BE(dport, 34);
  return b;
}

function tlv(type: number, value: Buffer): Buffer {
  const head = Buffer.alloc(3);
  head[0] = type;
  head.writeUInt16BE(value.length, 1);
  return Buffer.concat([head, value]);
}

/** Feeds `bytes` to a reader in the given pieces: the outcome and in which piece it came. */
function feed(pieces: Buffer[]): { header: ProxyHeader; rest: Buffer } | ProxyHeaderError | null {
  const reader = new ProxyHeaderReader();
  const rest: Buffer[] = [];
  let done: { header: ProxyHeader; rest: Buffer } | null = null;
  for (const piece of pieces) {
    if (done !== null) {
      rest.push(piece);
      continue;
    }
    try {
      done = reader.push(piece);
    } catch (err) {
      assert.ok(err instanceof ProxyHeaderError, String(err));
      return err;
    }
    if (done !== null) rest.push(done.rest);
  }
  return done === null ? null : { header: done.header, rest: Buffer.concat(rest) };
}

function byteByByte(b: Buffer): Buffer[] {
  return Array.from(b, (_, i) => b.subarray(i, i + 1));
}

/** The header, read whole, byte by byte and with HTTP behind it, is `expected` every way. */
function expectHeader(bytes: Buffer, expected: ProxyHeader): void {
  for (const [how, pieces, rest] of [
    ["whole", [bytes], Buffer.alloc(0)],
    ["byte by byte", byteByByte(bytes), Buffer.alloc(0)],
    ["with trailing bytes", [Buffer.concat([bytes, HTTP])], HTTP],
    ["byte by byte, then trailing bytes", [...byteByByte(bytes), HTTP], HTTP],
  ] as const) {
    const out = feed([...pieces]);
    assert.ok(
      out !== null && !(out instanceof ProxyHeaderError),
      `${how}: ${out instanceof Error ? out.message : "need more"}`,
    );
    assert.deepEqual(out.header, expected, how);
    assert.deepEqual(out.rest, rest, how);
  }
}

/** The bytes are an error however they are cut. */
function expectError(bytes: Buffer, re: RegExp): void {
  for (const pieces of [[bytes], byteByByte(bytes), [Buffer.concat([bytes, HTTP])]]) {
    const out = feed(pieces);
    assert.ok(out instanceof ProxyHeaderError, `expected an error for ${JSON.stringify(bytes.toString("latin1"))}`);
    assert.match(out.message, re);
  }
}

function throwsAt(bytes: Buffer): number {
  for (let n = 1; n <= bytes.length; n++) {
    try {
      parseProxyHeader(bytes.subarray(0, n));
    } catch {
      return n;
    }
  }
  return -1;
}

describe("PROXY v1", () => {
  test("TCP4, TCP6 and UNKNOWN", () => {
    expectHeader(Buffer.from("PROXY TCP4 203.0.113.7 192.0.2.1 56324 443\r\n"), {
      command: "proxy",
      version: 1,
      family: "tcp4",
      sourceAddress: "203.0.113.7",
      destinationAddress: "192.0.2.1",
      sourcePort: 56324,
      destinationPort: 443,
    });
    expectHeader(Buffer.from("PROXY TCP6 2001:DB8::7 2001:db8:0:0::1 0 65535\r\n"), {
      command: "proxy",
      version: 1,
      family: "tcp6",
      sourceAddress: "2001:db8::7",
      destinationAddress: "2001:db8::1",
      sourcePort: 0,
      destinationPort: 65535,
    });
    expectHeader(Buffer.from("PROXY TCP6 ::ffff:203.0.113.7 ::1 1 2\r\n"), {
      command: "proxy",
      version: 1,
      family: "tcp6",
      sourceAddress: "203.0.113.7",
      destinationAddress: "::1",
      sourcePort: 1,
      destinationPort: 2,
    });
    expectHeader(Buffer.from("PROXY UNKNOWN\r\n"), { command: "local", version: 1 });
    expectHeader(Buffer.from("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"), { command: "local", version: 1 });
  });

  test("the longest header, 107 bytes, is read; one byte more is an error", () => {
    const longest =
      "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
    assert.equal(longest.length, PROXY_V1_MAX_BYTES);
    const out = feed([Buffer.from(longest)]);
    assert.ok(out !== null && !(out instanceof ProxyHeaderError));
    const tooLong = `PROXY UNKNOWN ${"x".repeat(PROXY_V1_MAX_BYTES - 15)}\r\n`;
    assert.equal(tooLong.length, PROXY_V1_MAX_BYTES + 1);
    expectError(Buffer.from(tooLong), /no CRLF in the first 107 bytes/);
    // A line that never ends is refused once no CRLF can fit in 107 bytes, not held.
    assert.equal(throwsAt(Buffer.from(`PROXY UNKNOWN ${"x".repeat(500)}`)), PROXY_V1_MAX_BYTES - 1);
  });

  test("malformed lines are errors", () => {
    for (const [line, re] of [
      ["PROXY TCP4 203.0.113.7 192.0.2.1 56324\r\n", /four fields/],
      ["PROXY TCP4 203.0.113.7 192.0.2.1 56324 443 1\r\n", /four fields/],
      ["PROXY TCP4  203.0.113.7 192.0.2.1 56324 443\r\n", /four fields/],
      ["PROXY TCP5 203.0.113.7 192.0.2.1 56324 443\r\n", /"TCP4", "TCP6" or "UNKNOWN"/],
      ["PROXY tcp4 203.0.113.7 192.0.2.1 56324 443\r\n", /"TCP4"/],
      ["PROXY \r\n", /"TCP4"/],
      ["PROXY TCP4 2001:db8::1 192.0.2.1 1 2\r\n", /bad TCP4 address/],
      ["PROXY TCP6 203.0.113.7 ::1 1 2\r\n", /bad TCP6 address/],
      ["PROXY TCP4 203.0.113.07 192.0.2.1 1 2\r\n", /bad TCP4 address/],
      ["PROXY TCP4 localhost 192.0.2.1 1 2\r\n", /bad TCP4 address/],
      ["PROXY TCP4 203.0.113.7 192.0.2.1 65536 2\r\n", /bad port "65536"/],
      ["PROXY TCP4 203.0.113.7 192.0.2.1 080 2\r\n", /bad port "080"/],
      ["PROXY TCP4 203.0.113.7 192.0.2.1 -1 2\r\n", /bad port/],
      ["PROXY TCP4 203.0.113.7 192.0.2.1 1 2\n", /LF without CR/],
      ["PROXY TCP4 203.0.113.7 192.0.2.1 1 2\rX", /CR without LF/],
      ["PROXY TCP4 203.0.113.7 192.0.2.1 1 2 \r\n", /four fields/],
    ] as const) {
      expectError(Buffer.from(line, "latin1"), re);
    }
  });
});

describe("PROXY v2", () => {
  test("PROXY over INET and INET6, LOCAL, UNSPEC", () => {
    expectHeader(v2({ addresses: inet([203, 0, 113, 7], [192, 0, 2, 1], 56324, 443) }), {
      command: "proxy",
      version: 2,
      family: "tcp4",
      sourceAddress: "203.0.113.7",
      destinationAddress: "192.0.2.1",
      sourcePort: 56324,
      destinationPort: 443,
    });
    expectHeader(
      v2({ family: 2, addresses: inet6("20010db8000000000000000000000007", "00000000000000000000ffffc0000201", 1, 2) }),
      {
        command: "proxy",
        version: 2,
        family: "tcp6",
        sourceAddress: "2001:db8::7",
        destinationAddress: "192.0.2.1",
        sourcePort: 1,
        destinationPort: 2,
      },
    );
    // LOCAL: the balancer's own health check; whatever addresses follow are ignored.
    expectHeader(v2({ command: 0, family: 0, transport: 0 }), { command: "local", version: 2 });
    expectHeader(v2({ command: 0, addresses: Buffer.alloc(5) }), { command: "local", version: 2 });
    expectHeader(v2({ family: 0, transport: 0 }), { command: "local", version: 2 });
  });

  test("AF_UNIX gives the paths", () => {
    const block = Buffer.alloc(216);
    block.write("/run/client.sock", 0, "latin1");
    block.write("/run/eventwsgi.sock", 108, "latin1");
    expectHeader(v2({ family: 3, addresses: block }), {
      command: "proxy",
      version: 2,
      family: "unix",
      sourceAddress: "/run/client.sock",
      destinationAddress: "/run/eventwsgi.sock",
      sourcePort: null,
      destinationPort: null,
    });
  });

  test("TLVs are skipped, but must tile the header exactly", () => {
    const addresses = inet([10, 0, 0, 1], [10, 0, 0, 2], 1, 2);
    const tlvs = Buffer.concat([
      tlv(0x01, Buffer.from("h2")),
      tlv(0x04, Buffer.alloc(0)),
      tlv(0xea, Buffer.alloc(40, 7)),
    ]);
    const out = feed([Buffer.concat([v2({ addresses, tlvs }), HTTP])]);
    assert.ok(out !== null && !(out instanceof ProxyHeaderError));
    assert.equal(out.header.command === "proxy" && out.header.sourceAddress, "10.0.0.1");
    assert.deepEqual(out.rest, HTTP);
    expectError(v2({ addresses, tlvs: Buffer.from([0x01, 0x00]) }), /a truncated TLV/);
    expectError(v2({ addresses, tlvs: Buffer.from([0x01, 0x00, 0x05, 0x61]) }), /a TLV longer than the header/);
  });

  test("the length is bounded before anything is waited for", () => {
    const head = v2({ addresses: Buffer.alloc(0), length: PROXY_V2_MAX_PAYLOAD + 1 });
    expectError(head, /over the limit of 4112/);
    assert.equal(throwsAt(head), 16, "refused as soon as the length field is read");
    // The largest allowed header is read.
    const addresses = inet([10, 0, 0, 1], [10, 0, 0, 2], 1, 2);
    const big = v2({ addresses, tlvs: tlv(0xee, Buffer.alloc(PROXY_V2_MAX_PAYLOAD - 12 - 3)) });
    assert.equal(big.length, PROXY_HEADER_MAX_BYTES);
    assert.ok(!(feed([big]) instanceof ProxyHeaderError));
    assert.equal(feed([big.subarray(0, big.length - 1)]), null, "one byte short: waits");
  });

  test("malformed headers are errors", () => {
    const a4 = inet([10, 0, 0, 1], [10, 0, 0, 2], 1, 2);
    expectError(v2({ version: 1, addresses: a4 }), /version 1 is not 2/);
    expectError(v2({ version: 3, addresses: a4 }), /version 3 is not 2/);
    expectError(v2({ command: 2, addresses: a4 }), /unknown command 2/);
    expectError(v2({ family: 4, addresses: a4 }), /unknown address family 4/);
    expectError(v2({ transport: 2, addresses: a4 }), /transport 2 is not a stream/);
    expectError(v2({ addresses: a4.subarray(0, 11) }), /11 bytes cannot hold the addresses/);
    expectError(v2({ family: 2, addresses: a4 }), /12 bytes cannot hold/);
    expectError(v2({ family: 3, addresses: Buffer.alloc(215) }), /215 bytes cannot hold/);
    // The version is known at the 13th byte: refused there.
    assert.equal(throwsAt(v2({ version: 1, addresses: a4 })), 13);
  });
});

describe("what is not a PROXY header", () => {
  test("HTTP, TLS and garbage are refused at the first byte that shows it", () => {
    assert.equal(throwsAt(HTTP), 1, "GET");
    assert.equal(throwsAt(Buffer.from("160301020001", "hex")), 1, "a TLS ClientHello");
    assert.equal(throwsAt(Buffer.from("PRI * HTTP/2.0\r\n")), 3, "PRI");
    assert.equal(throwsAt(Buffer.from("PROXYTCP4")), 6);
    assert.equal(throwsAt(Buffer.from("\r\n\r\nGET")), 5, "a v2 signature that stops");
    assert.equal(throwsAt(Buffer.from("\r\n\r\n\x00\r\nQUIT!")), 12);
  });

  test("nothing at all is not an error, only not yet a header", () => {
    assert.equal(parseProxyHeader(Buffer.alloc(0)), null);
    assert.equal(feed([Buffer.from("PROX")]), null);
    assert.equal(feed([SIG]), null);
  });

  test("property: any valid header, cut anywhere, reads as written, and the bytes behind it are handed back", () => {
    const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
    const port = fc.nat(65535);
    const header = fc.oneof(
      fc.record({ v: fc.constant(1), src: v4, dst: v4, sp: port, dp: port }).map(({ src, dst, sp, dp }) => ({
        bytes: Buffer.from(`PROXY TCP4 ${src.join(".")} ${dst.join(".")} ${sp} ${dp}\r\n`),
        source: src.join("."),
        port: sp,
      })),
      fc
        .record({
          src: v4,
          dst: v4,
          sp: port,
          dp: port,
          tlvs: fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 5 }),
        })
        .map(({ src, dst, sp, dp, tlvs }) => ({
          bytes: v2({
            addresses: inet(src, dst, sp, dp),
            tlvs: Buffer.concat(tlvs.map((t, i) => tlv(0xe0 + i, Buffer.from(t)))),
          }),
          source: src.join("."),
          port: sp,
        })),
    );
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 40 }), fc.array(fc.nat(), { maxLength: 6 }), (h, after, cuts) => {
        const all = Buffer.concat([h.bytes, after]);
        const points = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b);
        const pieces: Buffer[] = [];
        let last = 0;
        for (const p of [...points, all.length]) {
          pieces.push(all.subarray(last, p));
          last = p;
        }
        const out = feed(pieces);
        assert.ok(out !== null && !(out instanceof ProxyHeaderError), out === null ? "need more" : "an error");
        assert.equal(out.header.command === "proxy" && out.header.sourceAddress, h.source);
        assert.equal(out.header.command === "proxy" && out.header.sourcePort, h.port);
        assert.deepEqual(out.rest, Buffer.from(after));
      }),
      params(1000),
    );
  });

  test("property: random bytes never make a reader hold more than the bound, or throw anything but ProxyHeaderError", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.concat([Buffer.from("PROXY "), b])),
          fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.concat([SIG, b])),
        ),
        fc.integer({ min: 1, max: 64 }),
        (bytes, step) => {
          const buf = Buffer.from(bytes);
          const pieces: Buffer[] = [];
          for (let i = 0; i < buf.length; i += step) pieces.push(buf.subarray(i, i + step));
          const out = feed(pieces);
          if (out !== null && !(out instanceof ProxyHeaderError)) {
            assert.ok(buf.length - out.rest.length <= PROXY_HEADER_MAX_BYTES);
            // Whatever is accepted is accepted whole as well, with the same rest.
            assert.deepEqual(feed([buf]), out);
          }
          if (out === null) assert.ok(buf.length < PROXY_HEADER_MAX_BYTES);
        },
      ),
      params(2000),
    );
  });
});
