/**
 * What trusting a proxy costs per request and per connection, without
 * sockets: the Forwarded / X-Forwarded-For walk (once for the environ, once
 * more for the access log), the PROXY header parse, an allow-list match.
 * CPU time of this process, in ns per operation; compare with micro.ts's
 * ns per request to see the share.
 *
 *   node dist/bench/proxy.js [--ms 500]
 */

import { AllowList } from "../src/proxy/allow-list.js";
import { resolveForwarded } from "../src/proxy/forwarded.js";
import { parseProxyHeader } from "../src/proxy/proxy-header.js";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

const MS = arg("--ms", 500);

/** Runs `fn` in batches for about MS ms of CPU time; ns per call. */
function measure(fn: () => unknown): number {
  for (let i = 0; i < 10_000; i++) fn(); // warm up
  let calls = 0;
  const start = process.cpuUsage();
  let usedUs = 0;
  while (usedUs < MS * 1000) {
    for (let i = 0; i < 10_000; i++) fn();
    calls += 10_000;
    const u = process.cpuUsage(start);
    usedUs = u.user + u.system;
  }
  return (usedUs * 1000) / calls;
}

const trust = AllowList.parse("127.0.0.1,::1,10.0.0.0/8", "forwardedAllowIps");
/** A request as nginx passes it on: a dozen headers, X-Forwarded-For with the client and one inner proxy. */
const NGINX_HEADERS = [
  "Host",
  "example.com",
  "X-Forwarded-For",
  "203.0.113.7, 10.0.0.2",
  "X-Forwarded-Proto",
  "https",
  "Connection",
  "close",
  "User-Agent",
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
  "Accept",
  "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
  "Accept-Language",
  "en-US,en;q=0.5",
  "Accept-Encoding",
  "gzip, deflate, br",
  "Cookie",
  "session=0123456789abcdef",
];
const FORWARDED_HEADERS = ["Host", "example.com", "Forwarded", 'for="[2001:db8::7]:4711";proto=https, for=10.0.0.2'];
const V1 = Buffer.from("PROXY TCP4 203.0.113.7 192.0.2.1 56324 443\r\nGET / HTTP/1.1\r\n");
const V2 = Buffer.from("0d0a0d0a000d0a515549540a2111000ccb00710711c0000201dc0401bb", "hex");

const rows: [string, number][] = [
  // A new headers array each time, as each request has: the answer is cached by it.
  ["X-Forwarded-For walk (nginx request, 9 headers)", measure(() => resolveForwarded(NGINX_HEADERS.slice(), trust))],
  ["Forwarded walk (IPv6 with port, 2 hops)", measure(() => resolveForwarded(FORWARDED_HEADERS.slice(), trust))],
  ["the access log's second ask (cached)", measure(() => resolveForwarded(NGINX_HEADERS, trust))],
  ["PROXY v1 header", measure(() => parseProxyHeader(V1))],
  ["PROXY v2 header", measure(() => parseProxyHeader(V2))],
  ["allow-list match (IPv4 peer, 3 entries)", measure(() => trust.allows("10.1.2.3"))],
];
console.log(`eventwsgi proxy costs, ns per operation (CPU time, ${MS} ms each, Node ${process.version})`);
for (const [what, ns] of rows) console.log(`${ns.toFixed(0).padStart(8)}  ${what}`);
