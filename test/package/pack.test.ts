/**
 * The package as users meet it: `npm pack` in a copy of the repository as a fresh clone holds it
 * (its tracked and untracked, not ignored, files; no dist/), then `npm install <tarball>` into an
 * empty project, offline (eventwsgi has no runtime dependencies). From there the seed's hello world
 * runs from plain JavaScript and answers a request, and a TypeScript consumer type-checks under
 * `moduleResolution` "nodenext" and "bundler", with the repository's own TypeScript.
 */

import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const tsc = join(repo, "node_modules", "typescript", "bin", "tsc");

/** The parts of package.json this test follows: whatever subpaths and binaries the package declares are checked. */
interface Manifest {
  version: string;
  exports: Record<string, string | Record<string, string>>;
  bin?: Record<string, string>;
}

const manifest = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as Manifest;

/** "./dist/src/index.js" → "dist/src/index.js", as npm pack lists files. */
const packed = (target: string): string => target.replace(/^\.\//, "");

interface Run {
  stdout: string;
  stderr: string;
}

/** The environment of a user's shell: none of the npm_* variables `npm test` sets, a private cache, offline. */
function userEnv(cache: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.toLowerCase().startsWith("npm_")) env[key] = value;
  }
  return {
    ...env,
    npm_config_cache: cache,
    npm_config_offline: "true",
    npm_config_audit: "false",
    npm_config_fund: "false",
    npm_config_update_notifier: "false",
    npm_config_loglevel: "error",
  };
}

function run(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, env, timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err !== null) {
        reject(new Error(`${file} ${args.join(" ")} failed in ${cwd}: ${err.message}\n${stdout}\n${stderr}`));
      } else {
        resolve({ stdout, stderr });
      }
    });
  });
}

/** The files a fresh clone has: tracked, and untracked but not ignored (so uncommitted work is packed too). */
async function cloneLike(into: string, env: NodeJS.ProcessEnv): Promise<void> {
  const { stdout } = await run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], repo, env);
  for (const path of stdout.split("\0")) {
    if (path === "") continue;
    try {
      cpSync(join(repo, path), join(into, path), { recursive: false });
    } catch (err) {
      // A file deleted in the work tree but still in the index: a fresh clone of the commit-to-be lacks it too.
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
  // The build needs the dev dependencies (tsc); a clone would `npm ci` them.
  symlinkSync(join(repo, "node_modules"), join(into, "node_modules"), "dir");
}

const HELLO_JS = `
import { server, listen } from "eventwsgi";

function helloWorld(env, startResponse) {
  startResponse("200 OK", [["Content-Type", "text/plain"]]);
  return ["Hello, World!\\r\\n"];
}

const quiet = { info() {}, debug() {}, error(message) { console.error(message); } };
const wsgi = server(await listen(["127.0.0.1", 0]), helloWorld, { log: quiet });
try {
  const response = await fetch(\`http://127.0.0.1:\${wsgi.address.port}/\`);
  console.log(JSON.stringify({ status: response.status, type: response.headers.get("content-type"), body: await response.text() }));
  const internal = await import("eventwsgi/dist/src/limits.js").then(() => "importable", (err) => err.code);
  console.log(JSON.stringify({ internal }));
} finally {
  await wsgi.close({ deadline: 1000 });
}
`;

const CONSUMER_TS = `
import {
  server, listen, wrapSsl, formatDateTime, DEFAULT_LOG_FORMAT, MAX_REQUEST_LINE, MAX_HEADER_LINE,
  MAX_TOTAL_HEADER_SIZE, MINIMUM_CHUNK_SIZE, DEFAULT_MAX_SIMULTANEOUS_REQUESTS, ChunkReadError,
  ClientDisconnectedError, HeaderLineTooLong, HeadersTooLarge, HttpProtocolError, HeaderLineTooLongError,
  HeadersTooLargeError,
  type App, type Body, type Chunk, type Environ, type ErrorStream, type Input, type PostHook,
  type StartResponse, type Write, type ServerOptions, type WsgiServer, type CloseOptions,
  type ListenSocket, type ListenOptions, type Address, type SslOptions, type Logger, type LogTarget,
  type AccessLogFields,
} from "eventwsgi";

const echo: App = async (env: Environ, startResponse: StartResponse): Promise<Body> => {
  const input: Input = env["wsgi.input"];
  const body: Buffer = await input.read();
  const hook: PostHook = [(e: Environ, n: number) => { void e; void n; }, [body.length]];
  env["eventlet.posthooks"].push(hook);
  const write: Write = startResponse("200 OK", [["Content-Type", "application/octet-stream"]]);
  void write;
  const chunks: Chunk[] = [body, "\\n"];
  return chunks;
};

const logger: Logger = { info() {}, debug() {}, error() {} };
const target: LogTarget = process.stderr;
const format = (f: AccessLogFields): string => \`\${f.client_ip} \${f.status_code} \${f.body_length}\`;
const options: ServerOptions = { log: logger, maxSize: DEFAULT_MAX_SIMULTANEOUS_REQUESTS, logFormat: format, keepalive: 5 };
const listenOptions: ListenOptions = { backlog: 50 };
const errors: ErrorStream = process.stderr;
void target; void errors;

const sock: ListenSocket = await listen(["127.0.0.1", 0], listenOptions);
const address: Address = sock.address();
const ssl: SslOptions = { certfile: "cert.pem", keyfile: "key.pem", serverSide: true };
void wrapSsl; void ssl;
const wsgi: WsgiServer = server(sock, echo, options);
const closing: CloseOptions = { deadline: 1000 };
const count: number = wsgi.outstandingRequests + wsgi.connectionCount;
const sizes: number = MAX_REQUEST_LINE + MAX_HEADER_LINE + MAX_TOTAL_HEADER_SIZE + MINIMUM_CHUNK_SIZE;
const text: string = formatDateTime(0) + DEFAULT_LOG_FORMAT;
const failure: HttpProtocolError = new HeadersTooLargeError();
const alias: typeof HeaderLineTooLong = HeaderLineTooLongError;
void [alias, HeadersTooLarge];
const status: number = failure.status;
void [address, count, sizes, text, status, ChunkReadError, ClientDisconnectedError, HeaderLineTooLong];

// The declarations are real types, not any:
// @ts-expect-error maxSize is a number
server(sock, echo, { maxSize: "many" });
// @ts-expect-error an App returns a Body, not a number
const wrong: App = () => 42;
void wrong;

await wsgi.close(closing);

// eventwsgi/hono, with hono installed beside it (an optional peer dependency).
import { Hono } from "hono";
import { fetchApp, type FetchEnv } from "eventwsgi";
import { getConnInfo } from "eventwsgi/hono";
const hono = new Hono<{ Bindings: FetchEnv }>();
hono.get("/", (c) => c.text(getConnInfo(c).remote.address ?? "unknown"));
const served: App = fetchApp(hono);
void served;

// WebSocket, as eventlet.websocket's first example.
import { WebSocketWSGI, type WebSocket as WsgiWebSocket } from "eventwsgi";
const wsEcho: App = WebSocketWSGI(async (ws: WsgiWebSocket) => {
  for await (const message of ws) await ws.send(message);
});
void wsEcho;
`;

/** With `checkLibs`, the package's own .d.ts files are checked too (slower: all of @types/node with them). */
function tsconfig(module: string, moduleResolution: string, checkLibs = false): string {
  return JSON.stringify({
    compilerOptions: {
      target: "ES2022",
      module,
      moduleResolution,
      lib: ["ES2023", "DOM"],
      types: ["node"],
      typeRoots: [join(repo, "node_modules", "@types")],
      strict: true,
      noUncheckedIndexedAccess: true,
      noEmit: true,
      skipLibCheck: !checkLibs,
    },
    files: ["consumer.ts"],
  });
}

describe("the package, packed and installed into an empty project", () => {
  let work = "";
  let tarball = "";
  let files: string[] = [];
  let consumer = "";
  let env: NodeJS.ProcessEnv = {};

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "eventwsgi-pack-"));
    env = userEnv(join(work, "npm-cache"));
    const clone = join(work, "clone");
    mkdirSync(clone);
    await cloneLike(clone, env);
    const packed = await run("npm", ["pack", "--json", "--pack-destination", work], clone, env);
    const report = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as {
      filename: string;
      files: { path: string }[];
    }[];
    const first = report[0];
    assert.ok(first !== undefined, "npm pack reported no tarball");
    tarball = join(work, first.filename);
    files = first.files.map((f) => f.path).sort();

    consumer = join(work, "consumer");
    mkdirSync(consumer);
    writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
    await run("npm", ["install", "--ignore-scripts", tarball], consumer, env);
    // hono, the optional peer that eventwsgi/hono's types need, as a user would have it installed.
    symlinkSync(join(repo, "node_modules", "hono"), join(consumer, "node_modules", "hono"), "dir");
  });

  after(() => {
    if (work !== "") rmSync(work, { recursive: true, force: true });
  });

  test("the tarball holds the compiled library and its declarations", () => {
    for (const needed of [
      "package.json",
      "README.md",
      "LICENSE",
      "CHANGELOG.md",
      "docs/api.md",
      "dist/src/index.js",
      "dist/src/index.d.ts",
    ]) {
      assert.ok(files.includes(needed), `${needed} is missing from the tarball: ${files.join(", ")}`);
    }
    const js = files.filter((f) => f.endsWith(".js"));
    assert.ok(js.length > 20, `only ${js.length} .js files`);
    for (const f of js) {
      assert.ok(files.includes(f.replace(/\.js$/, ".d.ts")), `${f} has no declaration file`);
    }
  });

  test("every file that exports and bin name is in the tarball", () => {
    const targets = Object.values(manifest.exports).flatMap((t) => (typeof t === "string" ? [t] : Object.values(t)));
    for (const target of [...targets, ...Object.values(manifest.bin ?? {})]) {
      assert.ok(files.includes(packed(target)), `${target} is declared in package.json but not in the tarball`);
    }
  });

  test("each command in bin runs from the installed package (--version)", async (t) => {
    const names = Object.keys(manifest.bin ?? {});
    if (names.length === 0) {
      t.skip("package.json declares no bin");
      return;
    }
    for (const name of names) {
      const { stdout } = await run(join(consumer, "node_modules", ".bin", name), ["--version"], consumer, env);
      assert.match(stdout, new RegExp(manifest.version.replaceAll(".", "\\.")), `${name} --version`);
    }
  });

  test("the tarball holds no tests, benchmarks, examples, sources or source maps", () => {
    const unwanted = files.filter(
      (f) =>
        /(^|\/)(test|tests|bench|examples|node_modules)\//.test(f) ||
        /\.(map|tsbuildinfo)$/.test(f) ||
        (f.endsWith(".ts") && !f.endsWith(".d.ts")) ||
        /\.test\.(js|d\.ts)$/.test(f) ||
        f.startsWith("src/") ||
        f.startsWith(".") ||
        f.includes("/."),
    );
    assert.deepEqual(unwanted, []);
  });

  test("the seed's hello world runs from plain JavaScript and answers a request", async () => {
    writeFileSync(join(consumer, "hello.mjs"), HELLO_JS);
    const { stdout, stderr } = await run(process.execPath, ["hello.mjs"], consumer, env);
    const [answer, encapsulated] = stdout.trim().split("\n");
    assert.deepEqual(JSON.parse(answer ?? ""), { status: 200, type: "text/plain", body: "Hello, World!\r\n" });
    assert.deepEqual(JSON.parse(encapsulated ?? ""), { internal: "ERR_PACKAGE_PATH_NOT_EXPORTED" });
    assert.equal(stderr, "");
  });

  for (const [module, moduleResolution, checkLibs] of [
    ["nodenext", "nodenext", true],
    ["esnext", "bundler", false],
  ] as const) {
    test(`a TypeScript consumer type-checks with moduleResolution "${moduleResolution}"`, async () => {
      writeFileSync(join(consumer, "consumer.ts"), CONSUMER_TS);
      const config = `tsconfig.${moduleResolution}.json`;
      writeFileSync(join(consumer, config), tsconfig(module, moduleResolution, checkLibs));
      const { stdout } = await run(process.execPath, [tsc, "-p", config], consumer, env);
      assert.equal(stdout, "");
    });
  }

  test("the type check fails on a type error (the consumer test can fail)", async () => {
    writeFileSync(
      join(consumer, "consumer.ts"),
      `import { server } from "eventwsgi";\nserver("not a socket", () => []);\n`,
    );
    writeFileSync(join(consumer, "tsconfig.bad.json"), tsconfig("nodenext", "nodenext"));
    await assert.rejects(run(process.execPath, [tsc, "-p", "tsconfig.bad.json"], consumer, env), /TS2345/);
  });
});
