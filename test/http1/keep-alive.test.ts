/** http1/keep-alive.ts: the one decision whether a connection stays open after a response. */

import assert from "node:assert/strict";
import { test } from "node:test";
import { connectionMayContinue, responseKeepsConnection, type ResponseFacts } from "../../src/http1/keep-alive.js";

const open = { keepaliveEnabled: true, serverClosing: false, readingStopped: false, peerDone: false };
const ok: ResponseFacts = {
  method: "GET",
  statusNumber: 200,
  http11: true,
  requestClose: false,
  requestKeepAlive: false,
  framingMustClose: false,
  appWantsClose: false,
  closeDelimited: false,
  continuePending: false,
  inputFailed: false,
};

test("connectionMayContinue: keepalive on, server not closing, reading not stopped, peer not done", () => {
  assert.equal(connectionMayContinue(open), true);
  for (const key of ["serverClosing", "readingStopped", "peerDone"] as const)
    assert.equal(connectionMayContinue({ ...open, [key]: true }), false, key);
  assert.equal(connectionMayContinue({ ...open, keepaliveEnabled: false }), false);
});

test("responseKeepsConnection: an HTTP/1.1 200 keeps it; each fact against it closes", () => {
  assert.equal(responseKeepsConnection(true, ok), true);
  assert.equal(responseKeepsConnection(false, ok), false, "the connection cannot continue");
  const closers: [string, Partial<ResponseFacts>][] = [
    ["the app's Connection: close", { appWantsClose: true }],
    ["CL with TE let through", { framingMustClose: true }],
    ["a close-delimited body", { closeDelimited: true }],
    ["a final 1xx (101)", { statusNumber: 101 }],
    ["a 2xx to CONNECT (a tunnel)", { method: "CONNECT", statusNumber: 200 }],
    ["Connection: close from an HTTP/1.1 client", { requestClose: true }],
    ["HTTP/1.0 without keep-alive", { http11: false }],
    ["a client still waiting for 100 Continue", { continuePending: true }],
    ["a failed request body", { inputFailed: true }],
  ];
  for (const [what, facts] of closers) assert.equal(responseKeepsConnection(true, { ...ok, ...facts }), false, what);
  assert.equal(responseKeepsConnection(true, { ...ok, http11: false, requestKeepAlive: true }), true, "1.0 keep-alive");
  assert.equal(responseKeepsConnection(true, { ...ok, method: "CONNECT", statusNumber: 407 }), true, "CONNECT refused");
});
