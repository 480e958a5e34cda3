/**
 * Every known disagreement between eventwsgi and node:http (llhttp, default
 * options), each with its decision. differential.test.ts fails on any
 * disagreement not listed here, and on a listed corpus case that no longer
 * disagrees. README.md holds the same list for readers; keep them in step.
 */

export interface Disagreement {
  id: string;
  /** true: eventwsgi rejects what node:http accepts (or reads as more requests); false: the other way round. */
  weReject: boolean;
  /** Corpus cases that show it. */
  cases: string[];
  /** Generated-request oddities that show it. */
  oddities: string[];
  decision: string;
}

export const DISAGREEMENTS: Disagreement[] = [
  {
    id: "D01-method-tokens",
    weReject: false,
    cases: ["method-lowercase"],
    oddities: ["unknown-method", "lowercase-method"],
    decision:
      "Lenient on purpose: any token is a method (RFC 9110 §9.1), as in eventlet, and the app decides (405/501). llhttp knows a fixed list of upper-case methods. A token is unambiguous, so this cannot desynchronise a proxy.",
  },
  {
    id: "D02-http-versions",
    weReject: true,
    cases: ["http09-request", "version-http09", "version-http20", "pipeline-after-505"],
    oddities: ["version-0.9", "version-2.0"],
    decision:
      "Stricter on purpose: only HTTP/1.0 and HTTP/1.1 are served; other well-formed versions get 505 (RFC 9110 §15.6.6) and a version-less HTTP/0.9 line a 400. llhttp reads HTTP/0.9 and HTTP/2.0 heads as if they were HTTP/1.x.",
  },
  {
    id: "D03-request-line-whitespace",
    weReject: true,
    cases: ["double-space-after-method", "double-space-before-version"],
    oddities: ["double-space"],
    decision:
      "Stricter on purpose: RFC 9112 §3 is one SP between the parts; the leniency of §3 ('MAY parse on whitespace-delimited word boundaries') is not taken. llhttp skips repeated spaces.",
  },
  {
    id: "D04-leading-line-endings",
    weReject: true,
    cases: ["leading-bare-lf", "leading-cr-cr-lf"],
    oddities: [],
    decision:
      "Stricter on purpose: empty lines before a request line are skipped only as CRLF (RFC 9112 §2.2); a bare LF or CR is a 400 like anywhere else. llhttp skips any CR and LF there.",
  },
  {
    id: "D05-target-forms",
    weReject: true,
    cases: ["asterisk-get", "connect-origin-form", "connect-no-port"],
    oddities: ["asterisk-non-options"],
    decision:
      "Stricter on purpose: asterisk-form only with OPTIONS, authority-form (host:port) only and always with CONNECT (RFC 9112 §3.2.3, §3.2.4). llhttp accepts '*' with any method and any target with CONNECT.",
  },
  {
    id: "D06-eventlet-limits",
    weReject: true,
    cases: [
      "request-line-too-long",
      "pipeline-after-414",
      "header-line-too-long",
      "endless-empty-lines",
      "trailer-too-long",
      "chunk-ext-too-long",
    ],
    oddities: ["long-header-line", "long-request-line"],
    decision:
      "By design: eventlet's limits — a request line of urlLengthLimit (8192) bytes or more is a 414, a header or trailer line of 8192 bytes or more a 400, a chunk line (size and extensions) is limited to 4096 bytes, and empty lines before a request count towards the request line. node:http only limits the whole head to 16 KiB and chunk extensions to 16 KiB.",
  },
  {
    id: "D07-node-head-limit",
    weReject: false,
    cases: [],
    oddities: ["large-header-section"],
    decision:
      "By design: eventlet allows 65536 bytes of header lines (each under 8192); node:http's default maxHeaderSize is 16 KiB (431).",
  },
  {
    id: "D08-host-validation",
    weReject: true,
    cases: ["host-duplicate", "host-duplicate-case", "host-space", "host-userinfo", "host-path"],
    oddities: ["duplicate-host", "invalid-host"],
    decision:
      "Stricter on purpose: RFC 9112 §3.2 requires a 400 for more than one Host or an invalid one. node:http only checks that HTTP/1.1 has one.",
  },
  {
    id: "D09-missing-host-pipelining",
    weReject: true,
    cases: [],
    oddities: ["missing-host"],
    decision:
      "Both answer 400, but node:http goes on reading the requests pipelined behind the bad one; eventwsgi reads nothing after a protocol error (the connection closes).",
  },
  {
    id: "D10-content-length-folding",
    weReject: false,
    cases: ["cl-list-equal", "cl-repeated-equal"],
    oddities: ["cl-list-equal", "cl-repeated-equal"],
    decision:
      "Lenient on purpose, as RFC 9110 §8.6 allows: identical Content-Length values (a list or repeated fields) fold into one; differing ones are a 400. llhttp rejects any repetition. Equal values mean one length to every reader, so no desync.",
  },
  {
    id: "D11-unimplemented-codings",
    weReject: true,
    cases: ["te-gzip-chunked", "te-identity-chunked", "pipeline-after-501"],
    oddities: ["te-gzip-chunked"],
    decision:
      "Stricter on purpose: a transfer coding other than chunked is not implemented, so 501 (RFC 9112 §6.1); `identity` no longer exists (RFC 9112 §7). llhttp strips chunked and hands the still-encoded body to the app.",
  },
  {
    id: "D12-te-in-http10",
    weReject: true,
    cases: ["te-http10"],
    oddities: ["te-http10"],
    decision:
      "Stricter on purpose: RFC 9112 §6.1 says a Transfer-Encoding in an HTTP/1.0 message means faulty framing; an HTTP/1.0 proxy would not dechunk. llhttp dechunks it.",
  },
  {
    id: "D13-te-list-syntax",
    weReject: true,
    cases: ["te-leading-comma", "te-empty"],
    oddities: [],
    decision:
      "Stricter on purpose: an empty Transfer-Encoding or an empty list element is a 400. llhttp reads ', chunked' as chunked (RFC 9110 §5.6.1 empty elements) and an empty value as no Transfer-Encoding, then parses the body as the next request.",
  },
  {
    id: "D14-chunk-size-bound",
    weReject: true,
    cases: ["chunk-size-2-53"],
    oddities: [],
    decision: "By design: chunk sizes are exact integers, at most 2^53-1; llhttp accepts 64-bit sizes.",
  },
  {
    id: "D15-chunk-extension-grammar",
    weReject: true,
    cases: ["chunk-ext-empty-name"],
    oddities: ["chunk-ext-empty-name"],
    decision:
      "Stricter on purpose: chunk extensions are checked against RFC 9112 §7.1.1 (a token name); llhttp skips ';=b'.",
  },
  {
    id: "D16-chunk-extension-bws",
    weReject: false,
    cases: ["chunk-ext-quoted", "chunk-size-tab-before-ext"],
    oddities: [],
    decision:
      "RFC 9112 §7.1.1 allows BWS around ';' and '=' in chunk extensions and says to remove it; llhttp rejects whitespace after the chunk size. Whitespace does not change the size any reader sees (a digit after it is refused), so no desync.",
  },
  {
    id: "D17-framing-field-trailing-ows",
    weReject: false,
    cases: ["cl-trailing-ows", "te-trailing-ows"],
    oddities: [],
    decision:
      "RFC-correct: a field value excludes its trailing OWS (RFC 9110 §5.5, RFC 9112 §5.1), so 'Content-Length: 5 \\t' is 5 and 'Transfer-Encoding: chunked \\t' is chunked. llhttp rejects trailing whitespace in these two fields. Every reader that strips OWS sees the same framing; one that does not refuses the request — neither reads a different length, so no desync.",
  },
  {
    id: "D18-framing-fields-in-trailers",
    weReject: false,
    cases: ["trailer-content-length-ignored"],
    oddities: [],
    decision:
      "By design: trailer fields are read, checked like header fields, and dropped (RFC 9110 §6.5.2: never merged into the header section), so a Content-Length in the trailers changes nothing. llhttp parses trailers as headers and refuses a Content-Length beside chunked. The message ends at the empty line after the last chunk either way.",
  },
  {
    id: "D19-absolute-form-userinfo",
    weReject: true,
    cases: ["absolute-form-userinfo"],
    oddities: [],
    decision:
      "Stricter on purpose: userinfo in an http(s) URI from an untrusted source is to be treated as an error (RFC 9110 §4.2.4) — 'http://trusted@evil/' hides the authority — and Host with userinfo is already a 400 (D08). llhttp accepts it.",
  },
];
