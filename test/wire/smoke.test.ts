import assert from "node:assert/strict";
import { test } from "node:test";
import { hello, parseAll, rawExchange, withServer } from "../support/wire.js";

test("hello world over a raw socket, then the connection is kept alive", async () => {
  await withServer(hello, {}, async (s) => {
    const r = await rawExchange(s.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", { responses: 1 });
    const [res] = parseAll(r.data);
    assert.equal(res?.status, 200);
    assert.equal(res.body.toString(), "Hello, World!\r\n");
    assert.equal(r.closed, false);
  });
});
