/**
 * A real browser: headless Chromium (driven by playwright-core) loads the chat example's page from
 * eventwsgi, connects with permessage-deflate, exchanges messages and sees the server's close code.
 * Skipped, with the reason, when Chromium is not installed.
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { chromium } from "playwright-core";
import { chatApp } from "../../examples/websocket-chat.js";
import { startServer } from "../support/wire.js";

const CHROMIUM = "/usr/bin/chromium";

interface ChatState {
  received: string[];
  closed: { code: number; reason: string; wasClean: boolean } | null;
  extensions: string;
  readyState: number;
}

test("chromium: the chat page connects with permessage-deflate, chats, and sees close code 4000", async (t) => {
  if (!existsSync(CHROMIUM)) {
    t.skip("chromium not installed: apt-get install chromium (Debian) to run the browser test");
    return;
  }
  const srv = await startServer(chatApp());
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${srv.port}/`);
    const state = (): Promise<ChatState> =>
      page.evaluate(() => {
        const chat = (
          globalThis as unknown as { chat: { ws: WebSocket; received: string[]; closed: ChatState["closed"] } }
        ).chat;
        return {
          received: chat.received,
          closed: chat.closed,
          extensions: chat.ws.extensions,
          readyState: chat.ws.readyState,
        };
      });
    await page.waitForFunction(
      () => (globalThis as unknown as { chat: { ws: WebSocket } }).chat.ws.readyState === 1,
      null,
      {
        timeout: 10000,
      },
    );
    assert.match((await state()).extensions, /permessage-deflate/);
    const long = "compressible chat line ".repeat(200);
    await page.fill("#text", "hello from chromium");
    await page.click("button");
    await page.evaluate((text) => {
      (globalThis as unknown as { chat: { ws: WebSocket } }).chat.ws.send(text);
    }, long);
    await page.waitForFunction(
      () => (globalThis as unknown as { chat: { received: string[] } }).chat.received.length >= 2,
      null,
      {
        timeout: 10000,
      },
    );
    const { received } = await state();
    assert.equal(received[0], "guest1: hello from chromium");
    assert.equal(received[1], `guest1: ${long}`);
    await page.evaluate(() => {
      (globalThis as unknown as { chat: { ws: WebSocket } }).chat.ws.send("/quit");
    });
    await page.waitForFunction(
      () => (globalThis as unknown as { chat: { closed: unknown } }).chat.closed !== null,
      null,
      {
        timeout: 10000,
      },
    );
    assert.deepEqual((await state()).closed, { code: 4000, reason: "bye", wasClean: true });
    assert.match((await page.textContent("#status")) ?? "", /closed: 4000 bye/);
  } finally {
    await browser.close();
    await srv.close(500);
  }
});
