/**
 * Every flag of the `eventwsgi` command, in one table: its spelling (gunicorn's where one exists),
 * the configuration key it sets (the long flag in camelCase, as the config file spells it), its
 * type, default and help line. The parser, the config file check, `--help` and `--check-config`
 * all read this table, so a flag exists in all of them or in none.
 */

import { DEFAULT_LOG_FORMAT } from "../limits.js";

/** The resolved configuration: what the primary and its workers run with. */
export interface CliConfig {
  /** `MODULE[:EXPORT]`. */
  app: string;
  bind: string[];
  workers: number;
  backlog: number;
  certfile: string | null;
  keyfile: string | null;
  /** Seconds an idle keep-alive connection waits for its next request. */
  keepAlive: number;
  /** Seconds a stop or reload lets requests finish. */
  gracefulTimeout: number;
  /** Seconds without a heartbeat before a worker is killed; 0: off. */
  timeout: number;
  maxConnections: number;
  limitRequestLine: number;
  limitRequestFieldSize: number;
  maxRequests: number;
  maxRequestsJitter: number;
  accessLogfile: string;
  accessLogformat: string;
  noAccessLog: boolean;
  errorLogfile: string;
  debug: boolean;
  pid: string | null;
  reload: boolean;
  forwardedAllowIps: string;
  proxyProtocol: boolean;
  proxyAllowFrom: string;
  headersTimeout: number;
  env: string[];
  fetch: boolean;
}

export type FlagKind = "string" | "list" | "int" | "seconds" | "boolean";

export interface FlagSpec {
  /** The long flag without its dashes: "graceful-timeout". */
  readonly name: string;
  readonly short?: string;
  readonly key: keyof CliConfig;
  readonly kind: FlagKind;
  /** The placeholder in --help: "N", "ADDR". */
  readonly meta?: string;
  readonly help: string;
}

export const DEFAULTS: Readonly<CliConfig> = {
  app: "",
  bind: ["127.0.0.1:8000"],
  workers: 1,
  backlog: 2048,
  certfile: null,
  keyfile: null,
  keepAlive: 5,
  gracefulTimeout: 30,
  timeout: 30,
  maxConnections: 1024,
  limitRequestLine: 8192,
  limitRequestFieldSize: 8192,
  maxRequests: 0,
  maxRequestsJitter: 0,
  accessLogfile: "-",
  accessLogformat: DEFAULT_LOG_FORMAT,
  noAccessLog: false,
  errorLogfile: "-",
  debug: false,
  pid: null,
  reload: false,
  forwardedAllowIps: "127.0.0.1,::1",
  proxyProtocol: false,
  proxyAllowFrom: "127.0.0.1,::1",
  headersTimeout: 60,
  env: [],
  fetch: false,
};

export const FLAGS: readonly FlagSpec[] = [
  {
    name: "bind",
    short: "b",
    key: "bind",
    kind: "list",
    meta: "ADDR",
    help: "HOST:PORT, [V6]:PORT or unix:PATH; repeatable",
  },
  { name: "workers", short: "w", key: "workers", kind: "int", meta: "N", help: "worker processes; 0: one per core" },
  {
    name: "backlog",
    key: "backlog",
    kind: "int",
    meta: "N",
    help: "connections the kernel may queue on each listener",
  },
  { name: "certfile", key: "certfile", kind: "string", meta: "FILE", help: "TLS certificate (PEM)" },
  { name: "keyfile", key: "keyfile", kind: "string", meta: "FILE", help: "TLS private key (PEM)" },
  {
    name: "keep-alive",
    key: "keepAlive",
    kind: "seconds",
    meta: "S",
    help: "seconds an idle connection waits for its next request; 0: one request a connection",
  },
  {
    name: "graceful-timeout",
    key: "gracefulTimeout",
    kind: "seconds",
    meta: "S",
    help: "seconds a stop or reload lets requests finish",
  },
  {
    name: "timeout",
    short: "t",
    key: "timeout",
    kind: "seconds",
    meta: "S",
    help: "a worker whose event loop misses its heartbeat this long is killed (stack logged); 0: off",
  },
  {
    name: "max-connections",
    key: "maxConnections",
    kind: "int",
    meta: "N",
    help: "connections served at once by each worker (maxSize)",
  },
  {
    name: "limit-request-line",
    key: "limitRequestLine",
    kind: "int",
    meta: "N",
    help: "bytes: a request line this long gets 414",
  },
  {
    name: "limit-request-field-size",
    key: "limitRequestFieldSize",
    kind: "int",
    meta: "N",
    help: "bytes: a header line this long gets 400",
  },
  {
    name: "max-requests",
    key: "maxRequests",
    kind: "int",
    meta: "N",
    help: "recycle a worker after N requests; 0: never",
  },
  {
    name: "max-requests-jitter",
    key: "maxRequestsJitter",
    kind: "int",
    meta: "N",
    help: "add a random 0..N to --max-requests per worker",
  },
  { name: "access-logfile", key: "accessLogfile", kind: "string", meta: "PATH|-", help: "access log file; -: stdout" },
  {
    name: "access-logformat",
    key: "accessLogformat",
    kind: "string",
    meta: "FMT",
    help: "%(name)s template of an access line",
  },
  { name: "no-access-log", key: "noAccessLog", kind: "boolean", help: "no access log" },
  { name: "error-logfile", key: "errorLogfile", kind: "string", meta: "PATH|-", help: "error log file; -: stderr" },
  { name: "debug", key: "debug", kind: "boolean", help: "debug lines in the error log, stack traces in 500 bodies" },
  {
    name: "pid",
    short: "p",
    key: "pid",
    kind: "string",
    meta: "FILE",
    help: "write the primary's PID here (removed at exit)",
  },
  { name: "reload", key: "reload", kind: "boolean", help: "rolling restart when the app's files change (development)" },
  {
    name: "forwarded-allow-ips",
    key: "forwardedAllowIps",
    kind: "string",
    meta: "LIST",
    help: "peers whose Forwarded/X-Forwarded-* are believed (env FORWARDED_ALLOW_IPS)",
  },
  {
    name: "proxy-protocol",
    key: "proxyProtocol",
    kind: "boolean",
    help: "require a PROXY protocol header (v1 or v2) on every connection",
  },
  {
    name: "proxy-allow-from",
    key: "proxyAllowFrom",
    kind: "string",
    meta: "LIST",
    help: "peers allowed to send a PROXY header",
  },
  {
    name: "headers-timeout",
    key: "headersTimeout",
    kind: "seconds",
    meta: "S",
    help: "seconds for a request head (and a PROXY header) to arrive",
  },
  {
    name: "env",
    short: "e",
    key: "env",
    kind: "list",
    meta: "KEY=VALUE",
    help: "an environment variable for the workers; repeatable",
  },
  { name: "fetch", key: "fetch", kind: "boolean", help: "serve a plain function export as a fetch handler" },
];

/** Flags that act instead of serving; not configuration. */
export const ACTIONS = [
  {
    name: "config",
    short: "c",
    meta: "FILE",
    help: "a JS or JSON file of settings (keys: the long flags in camelCase)",
  },
  { name: "check-config", help: "print the resolved configuration, check the app loads, and exit" },
  { name: "version", help: "print the version and exit" },
  { name: "help", short: "h", help: "print this help and exit" },
] as const;
