/**
 * The child side of the benchmark IPC protocol, shared by every server
 * child (and the idle-connection client). The parent sends:
 *   { type: "stats" }  → the child answers { type: "stats", ...ChildStats }
 *   { type: "exit" }   → the child exits with code 0 (so --cpu-prof writes its profile)
 * The child announces itself with { type: "ready", ... } once it listens.
 * A child whose parent went away (IPC disconnect) exits at once, so no
 * benchmark server outlives its harness.
 */

export interface ChildStats {
  pid: number;
  /** Bytes, process.memoryUsage(). */
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** process.getActiveResourcesInfo().length: sockets, timers, the IPC pipe, ... */
  activeResources: number;
  /** process.getActiveResourcesInfo() counted by kind. */
  resourceKinds: Record<string, number>;
  /** Server-specific numbers (open connections, ...). */
  extra: Record<string, number>;
}

export type StatsSource = () => Record<string, number>;

interface ParentMessage {
  type: string;
  gc?: boolean;
}

function collectStats(extra: StatsSource, runGc: boolean): ChildStats {
  const maybeGc = (globalThis as { gc?: () => void }).gc;
  if (runGc && typeof maybeGc === "function") maybeGc();
  const mem = process.memoryUsage();
  const resources = process.getActiveResourcesInfo();
  const kinds: Record<string, number> = {};
  for (const kind of resources) kinds[kind] = (kinds[kind] ?? 0) + 1;
  return {
    pid: process.pid,
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    heapTotal: mem.heapTotal,
    external: mem.external,
    arrayBuffers: mem.arrayBuffers,
    activeResources: resources.length,
    resourceKinds: kinds,
    extra: extra(),
  };
}

/** Wires the IPC channel; `onExit` may close servers first (it must not block). */
export function serveIpc(extra: StatsSource, onExit: () => void = () => {}): void {
  if (typeof process.send !== "function") {
    throw new Error("this benchmark child must be started by the harness (it needs an IPC channel)");
  }
  const exit = (): void => {
    try {
      onExit();
    } finally {
      process.exit(0);
    }
  };
  process.on("message", (msg: ParentMessage) => {
    if (msg.type === "stats") process.send?.({ type: "stats", ...collectStats(extra, msg.gc === true) });
    else if (msg.type === "exit") exit();
  });
  process.on("disconnect", exit);
  process.on("SIGTERM", exit);
  process.on("SIGINT", exit);
}

export function announceReady(port: number, info: Record<string, unknown> = {}): void {
  process.send?.({ type: "ready", port, pid: process.pid, ...info });
}
