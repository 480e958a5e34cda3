/**
 * The wire-level case table, in the spirit of the Autobahn|Testsuite: each case sends raw client
 * frames to an echo server and states what must come back — the echoed messages and the close
 * code — citing the RFC rule it checks. Groups follow Autobahn's: framing, pings, reserved bits,
 * opcodes, fragmentation, UTF-8, limits, close, compression.
 */

import { closeBody, deflateMessage, type ClientFrame } from "./raw-client.js";

export interface Case {
  id: string;
  group: string;
  rfc: string;
  title: string;
  frames: ClientFrame[];
  /** The client offers permessage-deflate (with server_no_context_takeover, so replies inflate alone). */
  deflate?: boolean;
  /** Messages the server must send back first: [opcode, payload]. */
  echo?: [number, Buffer | string][];
  /** The server's close code: a failure, or (absent) the echo of the client's 1000 sent after the frames. */
  close?: number;
  /** The client's own close is part of `frames` (the server's answer is `close`). */
  clientCloses?: boolean;
}

const T = 0x1;
const B = 0x2;
const C = 0x0;
const CLOSE = 0x8;
const PING = 0x9;
const PONG = 0xa;
const bytes = (n: number, fill = 0x61): Buffer => Buffer.alloc(n, fill);
const hex = (h: string): Buffer => Buffer.from(h.replace(/ /g, ""), "hex");

/** The echo server's maxMessageBytes for these cases. */
export const CASE_MAX_MESSAGE_BYTES = 256 * 1024;

export const CASES: Case[] = [
  // ---- framing (RFC 6455 §5.2, §5.6) ----
  ...[0, 125, 126, 65535, 65536].map((n): Case => ({
    id: `1.1 text ${n}`,
    group: "framing",
    rfc: "§5.2 (7-, 16- and 64-bit lengths), §5.6",
    title: `a text message of ${n} bytes is echoed`,
    frames: [{ opcode: T, payload: bytes(n) }],
    echo: [[T, bytes(n)]],
  })),
  ...[0, 125, 126, 65535, 65536].map((n): Case => ({
    id: `1.2 binary ${n}`,
    group: "framing",
    rfc: "§5.2, §5.6",
    title: `a binary message of ${n} bytes is echoed`,
    frames: [{ opcode: B, payload: bytes(n, 0xfe) }],
    echo: [[B, bytes(n, 0xfe)]],
  })),
  {
    id: "1.3 unmasked",
    group: "framing",
    rfc: "§5.1",
    title: "an unmasked client frame fails with 1002",
    frames: [{ opcode: T, payload: "hi", mask: false }],
    close: 1002,
  },
  {
    id: "1.4 non-minimal 16-bit length",
    group: "framing",
    rfc: "§5.2 (the minimal number of bytes MUST be used)",
    title: "a 5-byte payload with a 16-bit length fails with 1002",
    frames: [{ opcode: T, payload: "hello", lengthForm: 16 }],
    close: 1002,
  },
  {
    id: "1.5 non-minimal 64-bit length",
    group: "framing",
    rfc: "§5.2",
    title: "a 200-byte payload with a 64-bit length fails with 1002",
    frames: [{ opcode: T, payload: bytes(200), lengthForm: 64 }],
    close: 1002,
  },
  {
    id: "1.6 64-bit length MSB",
    group: "framing",
    rfc: "§5.2 (the most significant bit MUST be 0)",
    title: "a 64-bit length with its top bit set fails with 1002",
    frames: [{ opcode: B, payload: bytes(70000), lengthForm: 64, msb: true }],
    close: 1002,
  },
  // ---- pings and pongs (§5.5.2, §5.5.3) ----
  {
    id: "2.1 ping empty",
    group: "pings",
    rfc: "§5.5.2",
    title: "an empty ping is answered with an empty pong",
    frames: [{ opcode: PING }],
    echo: [[PONG, ""]],
  },
  {
    id: "2.2 ping 125",
    group: "pings",
    rfc: "§5.5.2, §5.5.3 (the pong carries the ping's data)",
    title: "a 125-byte ping is answered with the same data",
    frames: [{ opcode: PING, payload: bytes(125, 0x00) }],
    echo: [[PONG, bytes(125, 0x00)]],
  },
  {
    id: "2.3 ping 126",
    group: "pings",
    rfc: "§5.5 (control payloads are at most 125 bytes)",
    title: "a 126-byte ping fails with 1002",
    frames: [{ opcode: PING, payload: bytes(126) }],
    close: 1002,
  },
  {
    id: "2.4 unsolicited pong",
    group: "pings",
    rfc: "§5.5.3 (an unsolicited pong needs no response)",
    title: "a pong nobody asked for is ignored",
    frames: [
      { opcode: PONG, payload: "x" },
      { opcode: T, payload: "after" },
    ],
    echo: [[T, "after"]],
  },
  {
    id: "2.5 fragmented ping",
    group: "pings",
    rfc: "§5.5 (control frames MUST NOT be fragmented)",
    title: "a ping without FIN fails with 1002",
    frames: [{ opcode: PING, fin: false, payload: "a" }],
    close: 1002,
  },
  {
    id: "2.6 ten pings",
    group: "pings",
    rfc: "§5.5.2",
    title: "ten pings get ten pongs in order",
    frames: Array.from({ length: 10 }, (_, i) => ({ opcode: PING, payload: `p${i}` })),
    echo: Array.from({ length: 10 }, (_, i): [number, string] => [PONG, `p${i}`]),
  },
  // ---- reserved bits (§5.2) ----
  ...(["rsv1", "rsv2", "rsv3"] as const).map((bit): Case => ({
    id: `3.1 ${bit}`,
    group: "reserved bits",
    rfc: "§5.2 (MUST be 0 unless an extension defines them)",
    title: `${bit.toUpperCase()} without a negotiated extension fails with 1002`,
    frames: [{ opcode: T, payload: "x", [bit]: true }],
    close: 1002,
  })),
  {
    id: "3.2 rsv1 on a ping",
    group: "reserved bits",
    rfc: "RFC 7692 §6.1 (RSV1 is for data messages only)",
    title: "RSV1 on a ping fails with 1002 even with permessage-deflate",
    deflate: true,
    frames: [{ opcode: PING, rsv1: true }],
    close: 1002,
  },
  // ---- opcodes (§5.2) ----
  ...[3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf].map((op): Case => ({
    id: `4.1 opcode ${op}`,
    group: "opcodes",
    rfc: "§5.2 (reserved opcodes), §10.7",
    title: `reserved opcode 0x${op.toString(16)} fails with 1002`,
    frames: [{ opcode: op, payload: op >= 8 ? "" : "data" }],
    close: 1002,
  })),
  // ---- fragmentation (§5.4) ----
  {
    id: "5.1 two fragments",
    group: "fragmentation",
    rfc: "§5.4",
    title: "a text message in two fragments is one message",
    frames: [
      { opcode: T, fin: false, payload: "frag" },
      { opcode: C, payload: "ment" },
    ],
    echo: [[T, "fragment"]],
  },
  {
    id: "5.2 ping between fragments",
    group: "fragmentation",
    rfc: "§5.4 (control frames MAY be injected in the middle of a fragmented message)",
    title: "a ping inside a message is answered before the message",
    frames: [
      { opcode: T, fin: false, payload: "a" },
      { opcode: PING, payload: "in" },
      { opcode: C, payload: "b" },
    ],
    echo: [
      [PONG, "in"],
      [T, "ab"],
    ],
  },
  {
    id: "5.3 continuation first",
    group: "fragmentation",
    rfc: "§5.4",
    title: "a continuation with no message in progress fails with 1002",
    frames: [{ opcode: C, payload: "x" }],
    close: 1002,
  },
  {
    id: "5.4 new message inside a message",
    group: "fragmentation",
    rfc: "§5.4 (fragments of one message MUST NOT be interleaved with another)",
    title: "a text frame while a message is open fails with 1002",
    frames: [
      { opcode: T, fin: false, payload: "a" },
      { opcode: T, payload: "b" },
    ],
    close: 1002,
  },
  {
    id: "5.5 many fragments",
    group: "fragmentation",
    rfc: "§5.4",
    title: "a binary message in 1000 one-byte fragments is one message",
    frames: Array.from({ length: 1000 }, (_, i) => ({
      opcode: i === 0 ? B : C,
      fin: i === 999,
      payload: Buffer.from([i & 0xff]),
    })),
    echo: [[B, Buffer.from(Array.from({ length: 1000 }, (_, i) => i & 0xff))]],
  },
  {
    id: "5.6 empty fragments",
    group: "fragmentation",
    rfc: "§5.4",
    title: "empty fragments around data make one message",
    frames: [{ opcode: T, fin: false }, { opcode: C, fin: false, payload: "x" }, { opcode: C }],
    echo: [[T, "x"]],
  },
  // ---- UTF-8 (§8.1, §5.6) ----
  {
    id: "6.1 valid multi-byte",
    group: "utf-8",
    rfc: "§5.6, §8.1",
    title: "text with 2-, 3- and 4-byte sequences is echoed",
    frames: [{ opcode: T, payload: "κόσμε €𝄞" }],
    echo: [[T, "κόσμε €𝄞"]],
  },
  {
    id: "6.2 split code point",
    group: "utf-8",
    rfc: "§8.1 (validity is of the whole message)",
    title: "a code point split across fragments is valid",
    frames: [
      { opcode: T, fin: false, payload: hex("f0 9d") },
      { opcode: C, fin: false, payload: hex("84") },
      { opcode: C, payload: hex("9e") },
    ],
    echo: [[T, "𝄞"]],
  },
  ...[
    ["invalid byte", "ff"],
    ["overlong", "c0 80"],
    ["surrogate", "ed a0 80"],
    ["past U+10FFFF", "f4 90 80 80"],
    ["lone continuation", "80"],
    ["truncated", "ce"],
  ].map(([name, bad]): Case => ({
    id: `6.3 ${name as string}`,
    group: "utf-8",
    rfc: "§8.1 (invalid UTF-8 fails with 1007)",
    title: `text with ${name as string} fails with 1007`,
    frames: [{ opcode: T, payload: Buffer.concat([Buffer.from("ok "), hex(bad as string)]) }],
    close: 1007,
  })),
  {
    id: "6.4 fail fast",
    group: "utf-8",
    rfc: "§8.1; Autobahn 6.4 (fail on the first invalid fragment)",
    title: "a fragment with an impossible prefix fails at once, before the message ends",
    frames: [{ opcode: T, fin: false, payload: hex("ce ba e1 bd b9 cf 83 ce bc ce b5 f4 90 80") }],
    close: 1007,
  },
  // ---- limits (§10.4) ----
  {
    id: "9.1 one frame too big",
    group: "limits",
    rfc: "§10.4, §7.4.1 (1009)",
    title: "a frame declaring more than maxMessageBytes fails with 1009 from its header",
    frames: [{ opcode: B, payload: bytes(CASE_MAX_MESSAGE_BYTES + 1) }],
    close: 1009,
  },
  {
    id: "9.2 fragments too big",
    group: "limits",
    rfc: "§10.4 (the limit is the message's, not a frame's)",
    title: "fragments adding up past maxMessageBytes fail with 1009 before the final one",
    frames: [
      { opcode: B, fin: false, payload: bytes(CASE_MAX_MESSAGE_BYTES / 2) },
      { opcode: C, fin: false, payload: bytes(CASE_MAX_MESSAGE_BYTES / 2) },
      { opcode: C, fin: false, payload: bytes(1) },
    ],
    close: 1009,
  },
  {
    id: "9.3 exactly the limit",
    group: "limits",
    rfc: "§10.4",
    title: "a message of exactly maxMessageBytes is accepted",
    frames: [
      { opcode: B, fin: false, payload: bytes(CASE_MAX_MESSAGE_BYTES / 2) },
      { opcode: C, payload: bytes(CASE_MAX_MESSAGE_BYTES / 2) },
    ],
    echo: [[B, bytes(CASE_MAX_MESSAGE_BYTES)]],
  },
  {
    id: "9.4 deflate bomb",
    group: "limits",
    rfc: "RFC 7692 §8.1, §10.4 (the limit holds after inflation)",
    title: "a small compressed message inflating past maxMessageBytes fails with 1009",
    deflate: true,
    frames: [{ opcode: B, rsv1: true, payload: deflateMessage(Buffer.alloc(CASE_MAX_MESSAGE_BYTES * 8)) }],
    close: 1009,
  },
  // ---- close (§5.5.1, §7.4) ----
  {
    id: "7.1 close without code",
    group: "close",
    rfc: "§5.5.1 (a close MAY have no body)",
    title: "an empty close is answered with an empty close",
    frames: [{ opcode: CLOSE }],
    clientCloses: true,
    close: 1005,
  },
  ...[1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999].map(
    (code): Case => ({
      id: `7.2 close ${code}`,
      group: "close",
      rfc: "§7.4.1, §7.4.2 (valid codes), §5.5.1 (echo the code)",
      title: `close ${code} is answered with ${code}`,
      frames: [{ opcode: CLOSE, payload: closeBody(code, "bye") }],
      clientCloses: true,
      close: code,
    }),
  ),
  ...[0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535].map((code): Case => ({
    id: `7.3 close ${code}`,
    group: "close",
    rfc: "§7.4.1, §7.4.2 (codes not valid on the wire)",
    title: `close ${code} fails with 1002`,
    frames: [{ opcode: CLOSE, payload: closeBody(code) }],
    clientCloses: true,
    close: 1002,
  })),
  {
    id: "7.4 close of one byte",
    group: "close",
    rfc: "§5.5.1 (a body starts with a 2-byte code)",
    title: "a 1-byte close body fails with 1002",
    frames: [{ opcode: CLOSE, payload: hex("03") }],
    clientCloses: true,
    close: 1002,
  },
  {
    id: "7.5 close reason not UTF-8",
    group: "close",
    rfc: "§5.5.1, §8.1",
    title: "a close reason that is not UTF-8 fails with 1007",
    frames: [{ opcode: CLOSE, payload: Buffer.concat([closeBody(1000), hex("ce ba ff")]) }],
    clientCloses: true,
    close: 1007,
  },
  {
    id: "7.6 close with 123-byte reason",
    group: "close",
    rfc: "§5.5 (125-byte control payload)",
    title: "a close with the longest reason is answered",
    frames: [{ opcode: CLOSE, payload: closeBody(1000, "r".repeat(123)) }],
    clientCloses: true,
    close: 1000,
  },
  {
    id: "7.7 data after close",
    group: "close",
    rfc: "§5.5.1 (after a close, no more data frames)",
    title: "a message after the client's close is not echoed",
    frames: [
      { opcode: CLOSE, payload: closeBody(1000) },
      { opcode: T, payload: "late" },
    ],
    clientCloses: true,
    close: 1000,
  },
  {
    id: "7.8 close inside a message",
    group: "close",
    rfc: "§5.4, §5.5.1",
    title: "a close between fragments ends the connection; the partial message is dropped",
    frames: [
      { opcode: T, fin: false, payload: "partial" },
      { opcode: CLOSE, payload: closeBody(1000) },
    ],
    clientCloses: true,
    close: 1000,
  },
  // ---- compression (RFC 7692) ----
  {
    id: "12.1 compressed text",
    group: "compression",
    rfc: "RFC 7692 §6, §7.2.2",
    title: "a compressed text message is inflated and echoed",
    deflate: true,
    frames: [{ opcode: T, rsv1: true, payload: deflateMessage("compressed ".repeat(300)) }],
    echo: [[T, "compressed ".repeat(300)]],
  },
  {
    id: "12.2 compressed fragments",
    group: "compression",
    rfc: "RFC 7692 §6.1 (RSV1 on the first frame only)",
    title: "a compressed message in three fragments is one message",
    deflate: true,
    frames: ((): ClientFrame[] => {
      const d = deflateMessage("fragmented and compressed ".repeat(100));
      const a = Math.floor(d.length / 3);
      return [
        { opcode: T, rsv1: true, fin: false, payload: d.subarray(0, a) },
        { opcode: C, fin: false, payload: d.subarray(a, 2 * a) },
        { opcode: C, payload: d.subarray(2 * a) },
      ];
    })(),
    echo: [[T, "fragmented and compressed ".repeat(100)]],
  },
  {
    id: "12.3 rsv1 on a continuation",
    group: "compression",
    rfc: "RFC 7692 §6.1",
    title: "RSV1 on a continuation frame fails with 1002",
    deflate: true,
    frames: [
      { opcode: T, fin: false, payload: "a" },
      { opcode: C, rsv1: true, payload: "b" },
    ],
    close: 1002,
  },
  {
    id: "12.4 corrupt deflate data",
    group: "compression",
    rfc: "RFC 7692 §8.1",
    title: "compressed data that does not inflate fails with 1007",
    deflate: true,
    frames: [{ opcode: B, rsv1: true, payload: hex("ff ff ff ff ff ff") }],
    close: 1007,
  },
  {
    id: "12.5 client context takeover",
    group: "compression",
    rfc: "RFC 7692 §7.2.2 (the client's window carries over messages)",
    title: "a second message that refers back into the first inflates",
    deflate: true,
    frames: ((): ClientFrame[] => {
      const first = "the quick brown fox jumps over the lazy dog ".repeat(30);
      return [
        { opcode: T, rsv1: true, payload: deflateMessage(first) },
        { opcode: T, rsv1: true, payload: deflateWithHistory(first, first) },
      ];
    })(),
    echo: [
      [T, "the quick brown fox jumps over the lazy dog ".repeat(30)],
      [T, "the quick brown fox jumps over the lazy dog ".repeat(30)],
    ],
  },
  {
    id: "12.6 uncompressed message under deflate",
    group: "compression",
    rfc: "RFC 7692 §6 (RSV1 clear: the message is not compressed)",
    title: "an uncompressed message on a compressing connection is echoed",
    deflate: true,
    frames: [{ opcode: T, payload: "plain" }],
    echo: [[T, "plain"]],
  },
  {
    id: "12.7 empty compressed message",
    group: "compression",
    rfc: "RFC 7692 §7.2.3.6",
    title: "an empty compressed message is an empty message",
    deflate: true,
    frames: [{ opcode: T, rsv1: true, payload: hex("00") }],
    echo: [[T, ""]],
  },
];

/** Deflates `data` as a continuation of a stream that already carried `history` (context takeover). */
function deflateWithHistory(history: string, data: string): Buffer {
  return deflateMessage(Buffer.from(data), Buffer.from(history));
}
