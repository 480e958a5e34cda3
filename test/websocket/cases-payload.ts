/** The case table's second half: UTF-8, limits, close, compression (RFC 6455 §5.5, §7, §8; RFC 7692). */

import { closeBody, deflateMessage, type ClientFrame } from "./raw-client.js";
import { B, bytes, C, CASE_MAX_MESSAGE_BYTES, CLOSE, deflateWithHistory, hex, T, type Case } from "./case-table.js";

export const PAYLOAD_CASES: Case[] = [
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
  {
    id: "6.5 fail fast in a later fragment",
    group: "utf-8",
    rfc: "§8.1; Autobahn 6.4.2",
    title: "an impossible sequence in the second fragment fails at once, the message still open",
    frames: [
      { opcode: T, fin: false, payload: "valid start " },
      { opcode: C, fin: false, payload: hex("ed a0 80") },
    ],
    close: 1007,
  },
  {
    id: "6.6 invalid UTF-8 in a compressed message",
    group: "utf-8",
    rfc: "§8.1 (after inflation), RFC 7692 §6",
    title: "a compressed text message that inflates to invalid UTF-8 fails with 1007",
    deflate: true,
    frames: [{ opcode: T, rsv1: true, payload: deflateMessage(Buffer.from([0x61, 0xff, 0x62])) }],
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
