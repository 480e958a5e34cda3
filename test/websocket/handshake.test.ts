/**
 * The opening handshake on the wire (RFC 6455 §4.2), in API.md's order, and permessage-deflate
 * negotiation (RFC 7692 §7.1): statuses, the accept key, subprotocols, hostile headers.
 */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { WebSocketWSGI } from "../../src/index.js";
import { negotiateDeflate, parseExtensions } from "../../src/websocket/extensions.js";
import { startServer, type TestServer } from "../support/wire.js";
import { handshakeRequest, WsPeer } from "./raw-client.js";

let srv: TestServer;
const DEFLATE = {
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
  threshold: 1024,
};

before(async () => {
  const app = WebSocketWSGI(
    async (ws) => {
      await ws.send(JSON.stringify({ path: ws.path, protocol: ws.protocol, origin: ws.origin, version: ws.version }));
      await ws.wait();
    },
    {
      heartbeat: 0,
      supportedProtocols: ["chat", "superchat"],
      originChecker: (_host, origin) => origin !== "http://evil.example",
    },
  );
  srv = await startServer(app);
});
after(async () => {
  await srv.close(500);
});

async function status(request: string): Promise<{ code: number; text: string }> {
  const peer = await WsPeer.connect(srv.port);
  try {
    await peer.write(request);
    await peer.until(() => peer.text.includes("\r\n\r\n") || peer.closed, 3000, "a response head");
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(peer.text);
    return { code: m === null ? 0 : Number(m[1]), text: peer.text };
  } finally {
    peer.destroy();
  }
}

describe("handshake statuses (RFC 6455 §4.2.1, API.md order)", () => {
  const table: [string, string, number][] = [
    ["a plain GET", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400],
    ["POST", handshakeRequest().replace("GET", "POST"), 400],
    ["HTTP/1.0", handshakeRequest().replace("HTTP/1.1", "HTTP/1.0"), 400],
    ["no Upgrade", handshakeRequest("/", { Upgrade: null }), 400],
    ["Upgrade: h2c", handshakeRequest("/", { Upgrade: "h2c" }), 400],
    ["Connection: keep-alive", handshakeRequest("/", { Connection: "keep-alive" }), 400],
    ["no key", handshakeRequest("/", { "Sec-WebSocket-Key": null }), 400],
    ["a 15-byte key", handshakeRequest("/", { "Sec-WebSocket-Key": Buffer.alloc(15).toString("base64") }), 400],
    ["a key that is not base64", handshakeRequest("/", { "Sec-WebSocket-Key": "!!!!!!!!!!!!!!!!!!!!!!==" }), 400],
    ["a body", handshakeRequest("/", { "Content-Length": "5" }) + "hello", 400],
    ["a malformed Sec-WebSocket-Protocol", handshakeRequest("/", { "Sec-WebSocket-Protocol": "a b" }), 400],
    ["a malformed Sec-WebSocket-Extensions", handshakeRequest("/", { "Sec-WebSocket-Extensions": "a;;b" }), 400],
    ["no version", handshakeRequest("/", { "Sec-WebSocket-Version": null }), 426],
    ["version 8", handshakeRequest("/", { "Sec-WebSocket-Version": "8" }), 426],
    ["a forbidden origin", handshakeRequest("/", { Origin: "http://evil.example" }), 403],
    [
      "version checked before origin",
      handshakeRequest("/", { Origin: "http://evil.example", "Sec-WebSocket-Version": "7" }),
      426,
    ],
    ["Connection: keep-alive, Upgrade", handshakeRequest("/", { Connection: "keep-alive, Upgrade" }), 101],
    ["mixed case", handshakeRequest("/", { Upgrade: "WebSocket", Connection: "UPGRADE" }), 101],
  ];
  for (const [name, request, want] of table) {
    test(`${name}: ${want}`, async () => {
      const { code, text } = await status(request);
      assert.equal(code, want, text);
      if (want === 426) assert.match(text, /\r\nSec-WebSocket-Version: 13\r\n/i);
    });
  }

  test("a 101 carries RFC 6455's sample accept key and the attributes reach the handler", async () => {
    const peer = await WsPeer.open(srv.port, "/room/1", {
      Origin: "http://good.example",
      "Sec-WebSocket-Protocol": "x, superchat, chat",
    });
    try {
      assert.match(peer.responseHead, /\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/i);
      assert.match(peer.responseHead, /\r\nUpgrade: websocket\r\n/i);
      assert.match(peer.responseHead, /\r\nSec-WebSocket-Protocol: superchat\r\n/i);
      const f = await peer.nextFrame();
      assert.deepEqual(JSON.parse(f.payload.toString()), {
        path: "/room/1",
        protocol: "superchat",
        origin: "http://good.example",
        version: 13,
      });
    } finally {
      peer.destroy();
    }
  });

  test("no protocol is chosen when none offered is supported", async () => {
    const peer = await WsPeer.open(srv.port, "/", { "Sec-WebSocket-Protocol": "other" });
    try {
      assert.doesNotMatch(peer.responseHead, /Sec-WebSocket-Protocol/i);
    } finally {
      peer.destroy();
    }
  });

  test("hostile: a thousand Sec-WebSocket-Extensions lines are answered at once (ws CVE-2024-37890)", async () => {
    const many: Record<string, string> = {};
    let req = handshakeRequest("/", many).slice(0, -2);
    for (let i = 0; i < 1000; i++) req += `Sec-WebSocket-Extensions: x${i}\r\n`;
    req += "\r\n";
    const t0 = Date.now();
    const { code } = await status(req);
    assert.ok(code === 101 || code === 400, String(code)); // within the server's header limits or not: never a crash
    assert.ok(Date.now() - t0 < 2000);
  });

  test("hostile: a pathological Sec-WebSocket-Protocol takes linear time (ws CVE-2021-32640)", async () => {
    const value = "a," + " ".repeat(7000) + "b";
    const t0 = Date.now();
    const { code } = await status(handshakeRequest("/", { "Sec-WebSocket-Protocol": value }));
    assert.equal(code, 101);
    assert.ok(Date.now() - t0 < 1000);
  });
});

describe("permessage-deflate negotiation (RFC 7692 §7.1)", () => {
  const negotiate = (offer: string, opts = DEFLATE): string | null => {
    const offers = parseExtensions(offer);
    assert.notEqual(offers, null, offer);
    return negotiateDeflate(offers ?? [], opts)?.header ?? null;
  };
  const table: [string, string | null][] = [
    ["permessage-deflate", "permessage-deflate"],
    ["permessage-deflate; client_max_window_bits", "permessage-deflate"],
    ["permessage-deflate; client_max_window_bits=10", "permessage-deflate; client_max_window_bits=10"],
    ["permessage-deflate; server_max_window_bits=12", "permessage-deflate; server_max_window_bits=12"],
    ['permessage-deflate; server_max_window_bits="11"', "permessage-deflate; server_max_window_bits=11"],
    ["permessage-deflate; server_no_context_takeover", "permessage-deflate; server_no_context_takeover"],
    ["permessage-deflate; client_no_context_takeover", "permessage-deflate; client_no_context_takeover"],
    ["permessage-deflate; server_max_window_bits=8", null],
    ["permessage-deflate; client_max_window_bits=8", null],
    ["permessage-deflate; server_max_window_bits=16", null],
    ["permessage-deflate; server_max_window_bits=010", null],
    ["permessage-deflate; server_max_window_bits", null],
    ["permessage-deflate; server_no_context_takeover=1", null],
    ["permessage-deflate; unknown", null],
    ["permessage-deflate; server_no_context_takeover; server_no_context_takeover", null],
    ["x-webkit-deflate-frame", null],
    ["permessage-deflate; server_max_window_bits=8, permessage-deflate", "permessage-deflate"],
    ["foo, permessage-deflate; client_max_window_bits=9", "permessage-deflate; client_max_window_bits=9"],
  ];
  for (const [offer, want] of table) {
    test(`${offer} → ${String(want)}`, () => {
      assert.equal(negotiate(offer), want);
    });
  }

  test("server options: no context takeover and smaller windows are asked of the client", () => {
    const opts = { ...DEFLATE, serverNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 11 };
    assert.equal(
      negotiate("permessage-deflate; client_max_window_bits", opts),
      "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11",
    );
    // A client that cannot limit its window is declined when the server needs it limited.
    assert.equal(negotiate("permessage-deflate", opts), null);
  });

  test("malformed extension headers are null, never a throw", () => {
    for (const bad of ["a;", ";a", "a,,b;=", 'a; b="unterminated', 'a; b="c d"', "a b", "a; b=", "=", "a;b=c=d"]) {
      assert.equal(parseExtensions(bad), null, bad);
    }
    assert.deepEqual(parseExtensions(" , a ;  b = c , "), [{ name: "a", params: [["b", "c"]] }]);
  });
});
