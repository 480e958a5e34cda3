/**
 * The heartbeat (API.md: `heartbeat`): one timer for every WebSocket of a WebSocketWSGI app, not
 * one per connection. After `intervalMs` without bytes from a peer it is pinged; after as long
 * again still without any, it is dropped (closeCode 1006, nothing sent). A connection whose reading
 * we paused (its handler is behind) is not judged: its silence may be ours.
 */

import type { WebSocket } from "./websocket.js";

export class Heartbeat {
  private readonly intervalMs: number;
  private readonly sockets = new Set<WebSocket>();
  private timer: NodeJS.Timeout | null = null;

  constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
  }

  add(ws: WebSocket): void {
    this.sockets.add(ws);
    if (this.timer === null) {
      // Checked a few times per interval: a peer is pinged at most a quarter interval late.
      this.timer = setInterval(
        () => {
          this.sweep(Date.now());
        },
        Math.max(10, Math.min(1000, this.intervalMs / 4)),
      );
      this.timer.unref();
    }
  }

  delete(ws: WebSocket): void {
    this.sockets.delete(ws);
    if (this.sockets.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  private sweep(now: number): void {
    for (const ws of this.sockets) {
      if (ws.seen || ws.readingPaused || ws.lastSeenMs === 0) {
        ws.seen = false;
        ws.lastSeenMs = now;
        ws.heartbeatPingMs = 0;
        continue;
      }
      if (ws.heartbeatPingMs > 0) {
        if (now - ws.heartbeatPingMs >= this.intervalMs) ws.drop();
      } else if (now - ws.lastSeenMs >= this.intervalMs) {
        ws.heartbeatPing(now);
      }
    }
  }
}
