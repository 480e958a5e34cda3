/**
 * The protocol errors live together in src/errors.ts, the timeout's with the
 * rest: one place for their statuses, codes and the response they get.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { HttpProtocolError, RequestTimeoutError, renderErrorResponse } from "../../src/errors.js";

test("RequestTimeoutError is a protocol error answered with 408 and the connection closed", () => {
  const err = new RequestTimeoutError();
  assert.ok(err instanceof HttpProtocolError);
  assert.equal(err.name, "RequestTimeoutError");
  assert.equal(err.code, "ERR_REQUEST_TIMEOUT");
  assert.equal(
    renderErrorResponse(err),
    "HTTP/1.0 408 Request Timeout\r\nConnection: close\r\nContent-length: 0\r\n\r\n",
  );
});
