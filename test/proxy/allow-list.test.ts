/**
 * IP text (ip.ts) and the allow-lists built from it (allow-list.ts): strict
 * reading (no octal, no host names), one canonical spelling (RFC 5952), and
 * matching of IPv4, IPv6, IPv4-mapped IPv6, CIDR blocks, `unix` and `*`.
 */

import assert from "node:assert/strict";
import net from "node:net";
import { describe, test } from "node:test";
import fc from "fast-check";
import { AllowList } from "../../src/proxy/allow-list.js";
import { canonicalIp, formatIp, ipFromBytes, parseIp } from "../../src/proxy/ip.js";
import { normalizeOptions } from "../../src/options.js";
import { fuzzRuns, fuzzSeed } from "../http1/generate.js";

const params = (runs: number): fc.Parameters<unknown> => {
  const seed = fuzzSeed();
  return { numRuns: fuzzRuns(runs), ...(seed === undefined ? { seed: 20261203 } : { seed }) };
};

describe("IP text", () => {
  test("IPv4 and IPv6 are read and spelt canonically", () => {
    assert.equal(canonicalIp("192.0.2.1"), "192.0.2.1");
    assert.equal(canonicalIp("0.0.0.0"), "0.0.0.0");
    assert.equal(canonicalIp("2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
    assert.equal(canonicalIp("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1"); // the first of equal runs
    assert.equal(canonicalIp("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1"); // one zero group is not compressed
    assert.equal(canonicalIp("::"), "::");
    assert.equal(canonicalIp("::1"), "::1");
    assert.equal(canonicalIp("1::"), "1::");
    assert.equal(canonicalIp("::ffff:192.0.2.1"), "192.0.2.1"); // IPv4-mapped is shown as IPv4
    assert.equal(canonicalIp("::ffff:c000:201"), "192.0.2.1");
    assert.equal(canonicalIp("64:ff9b::192.0.2.1"), "64:ff9b::c000:201");
  });

  test("what is not an address is refused, never guessed", () => {
    for (const bad of [
      "",
      "localhost",
      "1.2.3",
      "1.2.3.4.5",
      "01.2.3.4", // octal in inet_aton
      "1.2.3.256",
      "0x7f.0.0.1",
      "1.2.3.4 ",
      " 1.2.3.4",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      ":::",
      "12345::",
      "fe80::1%eth0",
      "[::1]",
      "::1.2.3",
      "1:2:3:4:5:6:7:1.2.3.4",
      "g::",
    ]) {
      assert.equal(parseIp(bad), null, bad);
    }
  });

  test("bytes as the PROXY protocol sends them", () => {
    assert.equal(formatIp(ipFromBytes(Uint8Array.of(9, 203, 0, 113, 7), 1, 4)), "203.0.113.7");
    const v6 = Buffer.from("20010db8000000000000000000000001", "hex");
    assert.equal(formatIp(ipFromBytes(v6, 0, 16)), "2001:db8::1");
  });

  test("property: any IPv4 or IPv6 text reads back as the WHATWG URL parser spells it", () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (text) => {
        const g = parseIp(text);
        assert.notEqual(g, null, text);
        const mine = formatIp(g as Uint16Array);
        assert.equal(net.isIP(mine) !== 0, true);
        const theirs = new URL(`http://${text.includes(":") ? `[${text}]` : text}/`).hostname.replace(/^\[|\]$/g, "");
        // WHATWG spells IPv4-mapped as hex groups; we spell it dotted.
        if (!theirs.startsWith("::ffff:")) assert.equal(mine, theirs);
        assert.deepEqual(parseIp(mine), g);
      }),
      params(500),
    );
  });

  test("property: any 16 bytes spelt and read back are the same address", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const g = ipFromBytes(bytes, 0, 16);
        assert.deepEqual(parseIp(formatIp(g)), g);
      }),
      params(500),
    );
  });
});

describe("AllowList", () => {
  test("addresses, CIDR blocks, a string or an array", () => {
    const list = AllowList.parse("127.0.0.1, 10.0.0.0/8 ,2001:db8::/32", "x");
    assert.equal(list.allows("127.0.0.1"), true);
    assert.equal(list.allows("127.0.0.2"), false);
    assert.equal(list.allows("10.255.1.2"), true);
    assert.equal(list.allows("11.0.0.1"), false);
    assert.equal(list.allows("2001:db8:ffff::1"), true);
    assert.equal(list.allows("2001:db9::1"), false);
    assert.deepEqual(
      AllowList.parse(["127.0.0.1", "10.0.0.0/8,::1"], "x").toString(),
      "127.0.0.1/32,10.0.0.0/8,::1/128",
    );
  });

  test("an IPv4 rule covers the same peer seen on a dual-stack socket, and an IPv6 zone is ignored", () => {
    const list = AllowList.parse("192.168.0.0/16,fe80::/10", "x");
    assert.equal(list.allows("::ffff:192.168.3.4"), true);
    assert.equal(list.allows("::ffff:192.169.3.4"), false);
    assert.equal(list.allows("fe80::1%eth0"), true);
    assert.equal(AllowList.parse("::ffff:10.0.0.1", "x").allows("10.0.0.1"), true);
  });

  test("prefix edges: /0, /32, /128, odd prefixes, host bits cleared", () => {
    assert.equal(AllowList.parse("0.0.0.0/0", "x").allows("203.0.113.9"), true);
    assert.equal(AllowList.parse("0.0.0.0/0", "x").allows("2001:db8::1"), false, "an IPv4 /0 is IPv4 only");
    assert.equal(AllowList.parse("::/0", "x").allows("2001:db8::1"), true);
    const odd = AllowList.parse("10.1.2.3/13", "x");
    assert.equal(odd.toString(), "10.0.0.0/13");
    assert.equal(odd.allows("10.7.255.255"), true);
    assert.equal(odd.allows("10.8.0.0"), false);
    const v6 = AllowList.parse("2001:db8::/33", "x");
    assert.equal(v6.allows("2001:db8:7fff::1"), true);
    assert.equal(v6.allows("2001:db8:8000::1"), false);
  });

  test("unix is matched only by unix or *; * matches everything", () => {
    assert.equal(AllowList.parse("127.0.0.1", "x").allows("unix"), false);
    assert.equal(AllowList.parse("0.0.0.0/0,::/0", "x").allows("unix"), false);
    assert.equal(AllowList.parse("unix", "x").allows("unix"), true);
    assert.equal(AllowList.parse("unix", "x").allows("127.0.0.1"), false);
    assert.equal(AllowList.parse("*", "x").allows("unix"), true);
    assert.equal(AllowList.parse("*", "x").allows("198.51.100.1"), true);
  });

  test("the empty list allows no one", () => {
    for (const spec of [null, undefined, "", " , ", []]) {
      const list = AllowList.parse(spec, "x");
      assert.equal(list.empty, true);
      assert.equal(list.allows("127.0.0.1"), false);
      assert.equal(list.allows("unix"), false);
    }
  });

  test("a peer that is not an address is not allowed", () => {
    const list = AllowList.parse("127.0.0.1", "x");
    assert.equal(list.allows(""), false);
    assert.equal(list.allows("localhost"), false);
    assert.equal(list.allows("127.0.0.1 "), false);
  });

  test("a bad entry is a TypeError at start-up naming the option and the entry", () => {
    for (const [spec, re] of [
      ["localhost", /forwardedAllowIps: "localhost" is not an IP address.*host names are not resolved/],
      ["10.0.0.0/33", /prefix length out of 0–32/],
      ["::/129", /prefix length out of 0–128/],
      ["10.0.0.0/", /prefix length/],
      ["10.0.0.0/-1", /prefix length/],
      ["10.0.0.0/08x", /prefix length/],
      ["1.2.3.4/8/8", /prefix length/],
    ] as const) {
      assert.throws(() => AllowList.parse(spec, "forwardedAllowIps"), { name: "TypeError", message: re });
    }
    assert.throws(() => AllowList.parse([1] as unknown as string[], "x"), /every entry must be a string/);
    assert.throws(() => AllowList.parse(5 as unknown as string, "x"), /comma-separated string or an array/);
  });
});

describe("the options", () => {
  const log = { info() {}, debug() {}, error() {} };

  test("defaults: forwarding headers believed from no one, no PROXY header, PROXY from the loopback", () => {
    const cfg = normalizeOptions({ log });
    assert.equal(cfg.forwardedAllowIps, null);
    assert.equal(cfg.proxyProtocol, false);
    assert.equal(cfg.proxyAllowFrom.toString(), "127.0.0.1/32,::1/128");
  });

  test("given, validated at once", () => {
    const cfg = normalizeOptions({
      log,
      forwardedAllowIps: "10.0.0.0/8",
      proxyProtocol: true,
      proxyAllowFrom: ["unix"],
    });
    assert.equal(cfg.forwardedAllowIps?.allows("10.1.1.1"), true);
    assert.equal(cfg.proxyProtocol, true);
    assert.equal(cfg.proxyAllowFrom.allows("unix"), true);
    assert.equal(cfg.proxyAllowFrom.allows("127.0.0.1"), false);
    assert.throws(() => normalizeOptions({ log, forwardedAllowIps: "example.com" }), /forwardedAllowIps/);
    assert.throws(() => normalizeOptions({ log, proxyAllowFrom: "10.0.0.0/99" }), /proxyAllowFrom/);
    assert.throws(
      () => normalizeOptions({ log, proxyProtocol: "yes" as unknown as boolean }),
      /proxyProtocol must be a boolean/,
    );
  });
});
