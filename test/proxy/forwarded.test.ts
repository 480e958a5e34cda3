/**
 * The walk of `Forwarded` (RFC 7239) and `X-Forwarded-For`/`-Proto` from a
 * trusted peer: right to left, stopping at the first untrusted hop, never the
 * leftmost entry just because it is there; only http/https as a scheme; the
 * spoofing cases a hostile client tries.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { AllowList } from "../../src/proxy/allow-list.js";
import { canonicalIp } from "../../src/proxy/ip.js";
import { resolveForwarded, type ForwardedClient } from "../../src/proxy/forwarded.js";
import { fuzzRuns, fuzzSeed } from "../http1/generate.js";

const params = (runs: number): fc.Parameters<unknown> => {
  const seed = fuzzSeed();
  return { numRuns: fuzzRuns(runs), ...(seed === undefined ? { seed: 20261203 } : { seed }) };
};

/** The peer 10.0.0.1 and the inner proxies 10.0.0.0/24 are trusted. */
const TRUST = AllowList.parse("10.0.0.0/24", "forwardedAllowIps");

function resolve(headers: [string, string][], trust = TRUST): ForwardedClient {
  return resolveForwarded(headers.flat(), trust);
}

const client = (addr: string, port = "", scheme: "http" | "https" | null = null): ForwardedClient => ({
  addr,
  port,
  scheme,
});
const NOTHING: ForwardedClient = { addr: null, port: "", scheme: null };

describe("X-Forwarded-For and X-Forwarded-Proto", () => {
  test("the nearest untrusted hop is the client, not the leftmost entry", () => {
    // The client wrote "6.6.6.6" itself; the trusted proxy appended the address it saw.
    assert.deepEqual(resolve([["X-Forwarded-For", "6.6.6.6, 203.0.113.7"]]), client("203.0.113.7"));
    // Through two trusted proxies.
    assert.deepEqual(resolve([["X-Forwarded-For", "6.6.6.6, 203.0.113.7, 10.0.0.2"]]), client("203.0.113.7"));
    // Every hop trusted: the leftmost.
    assert.deepEqual(resolve([["X-Forwarded-For", "10.0.0.9, 10.0.0.2"]]), client("10.0.0.9"));
  });

  test("repeated headers are one list in order; names are case-insensitive", () => {
    assert.deepEqual(
      resolve([
        ["x-forwarded-for", "6.6.6.6"],
        ["X-FORWARDED-FOR", "203.0.113.7"],
      ]),
      client("203.0.113.7"),
    );
  });

  test("underscore variants are other headers, not read (the environ drops them too)", () => {
    assert.deepEqual(resolve([["X_Forwarded_For", "6.6.6.6"]]), NOTHING);
    assert.deepEqual(resolve([["X_Forwarded_Proto", "https"]]), NOTHING);
    assert.deepEqual(
      resolve([
        ["X-Forwarded-For", "203.0.113.7"],
        ["X_Forwarded_For", "6.6.6.6"],
      ]),
      client("203.0.113.7"),
    );
    assert.deepEqual(resolve([["Forwarded_", "for=6.6.6.6"]]), NOTHING);
  });

  test("the scheme is the rightmost X-Forwarded-Proto value, http or https only", () => {
    assert.deepEqual(resolve([["X-Forwarded-Proto", "https"]]), { ...NOTHING, scheme: "https" });
    assert.deepEqual(resolve([["X-Forwarded-Proto", "HTTPS"]]), { ...NOTHING, scheme: "https" });
    assert.deepEqual(resolve([["X-Forwarded-Proto", "http, https"]]), { ...NOTHING, scheme: "https" });
    assert.deepEqual(
      resolve([
        ["X-Forwarded-Proto", "https"],
        ["X-Forwarded-Proto", "http"],
      ]),
      { ...NOTHING, scheme: "http" },
    );
    for (const bad of ["javascript", "ftp", "https ;", "http://x", "", "https, ", "wss"]) {
      assert.deepEqual(resolve([["X-Forwarded-Proto", bad]]), NOTHING, bad);
    }
    assert.deepEqual(
      resolve([
        ["X-Forwarded-For", "203.0.113.7"],
        ["X-Forwarded-Proto", "https"],
      ]),
      client("203.0.113.7", "", "https"),
    );
  });

  test("IPv6, IPv4-mapped and ports are read; addresses come out canonical", () => {
    assert.deepEqual(resolve([["X-Forwarded-For", "2001:DB8::0:7"]]), client("2001:db8::7"));
    assert.deepEqual(resolve([["X-Forwarded-For", "[2001:db8::7]:4711"]]), client("2001:db8::7", "4711"));
    assert.deepEqual(resolve([["X-Forwarded-For", "203.0.113.7:4711"]]), client("203.0.113.7", "4711"));
    assert.deepEqual(resolve([["X-Forwarded-For", "::ffff:203.0.113.7"]]), client("203.0.113.7"));
    // An IPv4-mapped hop is matched by the IPv4 rule.
    assert.deepEqual(resolve([["X-Forwarded-For", "203.0.113.7, ::ffff:10.0.0.3"]]), client("203.0.113.7"));
  });

  test("an entry that is not an address ends the walk: the socket's address stands", () => {
    for (const value of [
      "unknown",
      "203.0.113.7, unknown",
      "203.0.113.7, garbage",
      "203.0.113.7,,10.0.0.2",
      "",
      "203.0.113.7 10.0.0.2",
      "203.0.113.7:99999",
      "203.0.113.07",
      "[2001:db8::7",
      "localhost",
      "203.0.113.7;for=1.2.3.4",
      "203.0.113.7:",
      "[2001:db8::7]:",
      "[2001:db8::7]x",
      "[203.0.113.7]",
      "203.0.113.7:_",
      "203.0.113.7:_a!",
    ]) {
      assert.deepEqual(resolve([["X-Forwarded-For", value]]), NOTHING, value);
    }
    // Past a bad entry further left, the walk never reaches it.
    assert.deepEqual(resolve([["X-Forwarded-For", "garbage, 203.0.113.7"]]), client("203.0.113.7"));
    // The proto still counts: the trusted peer sent it.
    assert.deepEqual(
      resolve([
        ["X-Forwarded-For", "unknown"],
        ["X-Forwarded-Proto", "https"],
      ]),
      { ...NOTHING, scheme: "https" },
    );
  });

  test("many hops and a huge header: linear, and still the nearest untrusted hop", () => {
    const hops = Array.from({ length: 5000 }, (_, i) => `10.0.0.${i % 256}`);
    const started = performance.now();
    assert.deepEqual(
      resolve([["X-Forwarded-For", ["6.6.6.6", "203.0.113.7", ...hops].join(", ")]]),
      client("203.0.113.7"),
    );
    assert.deepEqual(resolve([["X-Forwarded-For", `${"1.1.1.1,".repeat(8000)}203.0.113.7`]]), client("203.0.113.7"));
    assert.deepEqual(resolve([["X-Forwarded-For", "9".repeat(60000)]]), NOTHING);
    assert.ok(performance.now() - started < 1000, "well under a second");
  });
});

describe("Forwarded (RFC 7239)", () => {
  test("for= walked right to left; its port and proto with it", () => {
    assert.deepEqual(
      resolve([["Forwarded", "for=6.6.6.6, for=203.0.113.7;proto=https"]]),
      client("203.0.113.7", "", "https"),
    );
    assert.deepEqual(
      resolve([["Forwarded", 'for="203.0.113.7:4711";proto=http;by=10.0.0.1, for=10.0.0.2;proto=https']]),
      client("203.0.113.7", "4711", "http"),
      "the scheme is the chosen element's, not the nearest proxy's",
    );
    assert.deepEqual(resolve([["Forwarded", 'for="[2001:db8:cafe::17]:4711"']]), client("2001:db8:cafe::17", "4711"));
    assert.deepEqual(
      resolve([["Forwarded", 'For="[2001:db8:cafe::17]"; Proto=HTTPS']]),
      client("2001:db8:cafe::17", "", "https"),
    );
    assert.deepEqual(
      resolve([["Forwarded", "for=10.0.0.7;proto=https, for=10.0.0.2"]]),
      client("10.0.0.7", "", "https"),
    );
  });

  test("wins over X-Forwarded-*, which are then ignored", () => {
    assert.deepEqual(
      resolve([
        ["X-Forwarded-For", "198.51.100.1"],
        ["Forwarded", "for=203.0.113.7"],
        ["X-Forwarded-Proto", "https"],
      ]),
      client("203.0.113.7"),
    );
  });

  test("quoted strings: commas and semicolons inside are not separators; escapes are undone", () => {
    assert.deepEqual(resolve([["Forwarded", 'for=203.0.113.7;host="a,b;c", for=10.0.0.2']]), client("203.0.113.7"));
    assert.deepEqual(resolve([["Forwarded", 'for="203.0.113.7";ext="x\\"y,z"']]), client("203.0.113.7"));
    assert.deepEqual(resolve([["Forwarded", 'for="\\2\\0\\3.0.113.7"']]), client("203.0.113.7"));
  });

  test("obfuscated identifiers and unknown end the walk; an obfuscated port hides only the port", () => {
    assert.deepEqual(resolve([["Forwarded", "for=unknown"]]), NOTHING);
    assert.deepEqual(resolve([["Forwarded", "for=_hidden;proto=https"]]), { ...NOTHING, scheme: "https" });
    assert.deepEqual(resolve([["Forwarded", "for=203.0.113.7, for=_gw, for=10.0.0.2"]]), NOTHING);
    assert.deepEqual(resolve([["Forwarded", 'for="203.0.113.7:_p1"']]), client("203.0.113.7", ""));
  });

  test("malformed elements end the walk, and their proto is not believed", () => {
    for (const value of [
      "for=203.0.113.7:4711", // a colon is not a tchar: the value must be quoted
      "for=[2001:db8::1]", // brackets must be quoted
      'for="2001:db8::1"', // IPv6 needs its brackets
      "for=203.0.113.7;for=198.51.100.1", // a parameter twice in one element
      'for="203.0.113.7', // an unterminated quote
      "for=203.0.113.7;proto",
      "=203.0.113.7",
      "for 203.0.113.7",
      "proto=https", // no for=
      "by=10.0.0.1",
      "",
      'for="203.0.113.7"x',
      "for=203.0.113.7 ;proto=https x",
    ]) {
      const got = resolve([["Forwarded", value]]);
      assert.equal(got.addr, null, value);
      if (value !== "proto=https") assert.equal(got.scheme, null, value);
    }
    assert.deepEqual(
      resolve([["Forwarded", "for=203.0.113.7;proto=ftp"]]),
      client("203.0.113.7"),
      "a bad proto is dropped",
    );
  });

  test("a client's forged element to the left of the trusted proxy's changes nothing", () => {
    assert.deepEqual(
      resolve([["Forwarded", "for=10.0.0.5;proto=https, for=203.0.113.7;proto=http"]]),
      client("203.0.113.7", "", "http"),
    );
  });

  test("with trust in everything (*), the leftmost is the client", () => {
    assert.deepEqual(
      resolve([["Forwarded", "for=6.6.6.6, for=203.0.113.7"]], AllowList.parse("*", "x")),
      client("6.6.6.6"),
    );
  });
});

describe("properties", () => {
  const address = fc.oneof(
    fc.ipV4(),
    fc.ipV6(),
    fc.nat(255).map((n) => `10.0.0.${n}`),
    fc.nat(255).map((n) => `::ffff:10.0.0.${n}`),
  );

  /** The walk as the contract words it, over plain addresses. */
  function model(hops: readonly string[]): string | null {
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = canonicalIp(hops[i] as string) as string;
      if (!TRUST.allows(hop) || i === 0) return hop;
    }
    return null;
  }

  test("over valid addresses, the client is the first untrusted from the right, else the leftmost", () => {
    fc.assert(
      fc.property(fc.array(address, { minLength: 1, maxLength: 10 }), fc.boolean(), (hops, rfc7239) => {
        const value = rfc7239
          ? hops.map((h) => (h.includes(":") ? `for="[${h}]"` : `for=${h}`)).join(", ")
          : hops.join(", ");
        const got = resolve([[rfc7239 ? "Forwarded" : "X-Forwarded-For", value]]);
        assert.equal(got.addr, model(hops), value);
      }),
      params(1000),
    );
  });

  test("whatever the entries, the result is never a trusted hop unless every hop right of it is trusted", () => {
    const hop = fc.oneof(address, fc.constantFrom("unknown", "_x", "garbage", ""), fc.string({ maxLength: 12 }));
    fc.assert(
      fc.property(fc.array(hop, { maxLength: 12 }), (hops) => {
        const got = resolve([["X-Forwarded-For", hops.join(",")]]);
        if (got.addr === null) return;
        const entries = hops.join(",").split(",");
        const firstUntrusted = [...entries.keys()].reverse().find((i) => {
          const a = canonicalIp(entries[i]?.trim() ?? "");
          return a === null || !TRUST.allows(a);
        });
        if (firstUntrusted !== undefined) {
          assert.equal(got.addr, canonicalIp(entries[firstUntrusted]?.trim() ?? ""));
        }
      }),
      params(1000),
    );
  });

  test("nothing thrown, whatever the bytes", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("Forwarded", "X-Forwarded-For", "X-Forwarded-Proto"),
        fc.string({ maxLength: 80, unit: "binary" }),
        (name, value) => {
          resolve([[name, value]]);
        },
      ),
      params(300),
    );
  });
});
