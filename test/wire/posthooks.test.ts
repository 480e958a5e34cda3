/**
 * eventlet.posthooks (run after the response, with args and kwargs; a hook
 * that throws is logged and the others run), eventlet.already_handled with
 * getSocket(), and eventlet.set_idle.
 */

import assert from "node:assert/strict";
import type net from "node:net";
import { test } from "node:test";
import type { App, Environ } from "../../src/index.js";
import { parseAll, rawExchange, withServer, heldApp } from "../support/wire.js";
import { RawClient, withClient } from "./client.js";
import { Signal, within } from "../support/wait.js";
import { itemAt } from "../support/item-at.js";

const GET = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

test("post hooks run after the response, as fn(environ, ...args, kwargs) (eventlet's test_029_posthooks)", async () => {
  let count1 = 0;
  let count2 = 0;
  const allRan = new Signal();
  const posthook1 = (env: Environ, value: number, kwargs?: { multiplier?: number }): void => {
    assert.equal(env["local.test"], "test_029_posthooks");
    count1 += value * (kwargs?.multiplier ?? 1);
  };
  const posthook2 = (env: Environ, value: number, kwargs?: { divisor?: number }): void => {
    assert.equal(env["local.test"], "test_029_posthooks");
    count2 += value / (kwargs?.divisor ?? 1);
    allRan.fire();
  };
  let responded = false;
  const app: App = (env, sr) => {
    env["local.test"] = "test_029_posthooks";
    env["eventlet.posthooks"].push([posthook1, [4], { multiplier: 5 }]);
    env["eventlet.posthooks"].push([posthook2, [100], { divisor: 4 }]);
    env["eventlet.posthooks"].push([
      () => {
        assert.equal(responded, true, "after the response");
      },
    ]);
    sr("200 OK", [["Content-Type", "text/plain"]]);
    return (function* () {
      yield "";
      responded = true;
    })();
  };
  await withServer(app, {}, async (s) => {
    const r = await rawExchange(s.port, GET, { responses: 1 });
    assert.match(r.text, /^HTTP\/1\.1 200 OK\r\n/);
    await within(2000, "every hook to run", allRan.promise);
    assert.equal(count1, 20);
    assert.equal(count2, 25);
    assert.deepEqual(s.log.error, []);
  });
});

test("a hook without args or kwargs gets the environ alone", async () => {
  const got = new Signal<unknown[]>();
  const app: App = (env, sr) => {
    env["eventlet.posthooks"].push([
      (...a: unknown[]) => {
        got.fire(a);
      },
    ]);
    sr("200 OK", []);
    return [];
  };
  await withServer(app, {}, async (s) => {
    await rawExchange(s.port, GET, { responses: 1 });
    const args = await within(2000, "the app to report", got.promise);
    assert.equal(args.length, 1);
    assert.equal((args[0] as Environ).REQUEST_METHOD, "GET");
  });
});

test("a hook that throws (or rejects) is logged with log.error; the others still run, in order", async () => {
  const order: string[] = [];
  const last = new Signal();
  const app: App = (env, sr) => {
    env["eventlet.posthooks"].push(
      [() => void order.push("first")],
      [
        () => {
          order.push("throws");
          throw new Error("hook failed");
        },
      ],
      [
        () => {
          order.push("rejects");
          return Promise.reject(new Error("async hook failed"));
        },
      ],
      [
        () => {
          order.push("last");
          last.fire();
        },
      ],
    );
    sr("200 OK", []);
    return ["x"];
  };
  await withClient(app, {}, async (c, s) => {
    await c.write(GET);
    await c.next();
    await within(2000, "the last hook", last.promise);
    assert.deepEqual(order, ["first", "throws", "rejects", "last"]);
    assert.equal(s.log.error.length, 2);
    assert.match(itemAt(s.log.error, 0), /Error: hook failed\n\s+at /);
    assert.match(itemAt(s.log.error, 1), /async hook failed/);
    // The connection is unharmed.
    await c.write(GET);
    assert.equal(itemAt(await c.next(), 0).status, 200);
  });
});

test("post hooks run after an error response, and when the client went away", async () => {
  const ran = new Signal<string>();
  const crash: App = (env) => {
    env["eventlet.posthooks"].push([
      () => {
        ran.fire("after 500");
      },
    ]);
    throw new Error("crash");
  };
  await withServer(crash, {}, async (s) => {
    const r = await rawExchange(s.port, GET);
    assert.equal(itemAt(parseAll(r.data), 0).status, 500);
    assert.equal(await within(2000, "the hook to run", ran.promise), "after 500");
  });

  const gone = new Signal<string>();
  const started = new Signal();
  const leave = new Signal();
  const slow: App = async (env, sr) => {
    env["eventlet.posthooks"].push([
      () => {
        gone.fire("after the client left");
      },
    ]);
    started.fire();
    await within(3000, "the client to leave", leave.promise);
    sr("200 OK", []);
    return ["too late"];
  };
  await withServer(slow, {}, async (s) => {
    const c = await RawClient.connect(s.port);
    await c.write(GET);
    await within(2000, "the app to start", started.promise);
    // The server cannot tell a client that left from one that half-closed until it writes.
    c.destroy();
    leave.fire();
    assert.equal(await within(2000, "the hook after the client left", gone.promise), "after the client left");
  });
});

test("eventlet.already_handled: the app writes its own bytes on the socket; the server adds nothing and closes", async () => {
  const app: App = async (env, sr) => {
    sr("200 OK", [["Content-Type", "text/plain"]]);
    const sock = env["wsgi.input"].getSocket() as net.Socket;
    await new Promise<void>((resolve, reject) =>
      sock.write("HTTP/1.1 299 Mine\r\nContent-Length: 4\r\n\r\nmine", (err) => {
        if (err) reject(err);
        else resolve();
      }),
    );
    env["eventlet.already_handled"] = true;
    return ["ignored"];
  };
  await withServer(app, {}, async (s) => {
    const r = await rawExchange(s.port, GET + GET);
    assert.equal(r.closed, true);
    assert.equal(r.text, "HTTP/1.1 299 Mine\r\nContent-Length: 4\r\n\r\nmine");
    assert.equal(s.log.error.length, 0, s.log.error.join("\n"));
    // The taken-over socket is closed at once, not left to linger until a deadline cuts it.
    await within(1000, "the taken-over connection to be closed", s.server.close({ deadline: 3000 }));
  });
});

test("eventlet.already_handled: the app may read the rest from the socket itself (an upgrade)", async () => {
  const app: App = async (env) => {
    const sock = env["wsgi.input"].getSocket() as net.Socket;
    env["eventlet.already_handled"] = true;
    sock.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n");
    // Echo one message in the new protocol, then finish: the server closes the connection.
    const msg = await within(
      2000,
      "the upgraded client's message",
      new Promise<Buffer>((resolve) => {
        sock.once("data", resolve);
        sock.resume();
      }),
    );
    await new Promise<void>((resolve) =>
      sock.write(Buffer.concat([Buffer.from("echo:"), msg]), () => {
        resolve();
      }),
    );
    return [];
  };
  await withClient(app, {}, async (c) => {
    await c.write("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n");
    await c.waitForText("\r\n\r\n");
    await c.write("ping");
    await c.waitClosed();
    assert.equal(c.text, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\necho:ping");
  });
});

test("bytes pipelined behind a taken-over request reach the app's socket, not the server", async () => {
  const app: App = async (env) => {
    const sock = env["wsgi.input"].getSocket() as net.Socket;
    env["eventlet.already_handled"] = true;
    const msg = await within(
      2000,
      "the pipelined bytes",
      new Promise<Buffer>((resolve) => {
        sock.once("data", resolve);
        sock.resume();
      }),
    );
    await new Promise<void>((resolve) =>
      sock.write(`got:${msg.toString("latin1")}`, () => {
        resolve();
      }),
    );
    return [];
  };
  await withServer(app, {}, async (s) => {
    const r = await rawExchange(s.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\nRAWBYTES");
    assert.equal(r.text, "got:RAWBYTES");
  });
});

test("eventlet.set_idle: a long request marked idle is closed at once when the server closes", async () => {
  const { app, started, release } = heldApp("late", { setIdle: true });
  await withServer(app, {}, async (s) => {
    const c = await RawClient.connect(s.port);
    try {
      await c.write(GET);
      await within(2000, "the app to start", started.promise);
      const closing = s.server.close({ deadline: 3000 });
      await c.waitClosed(1000);
      assert.equal(c.data.length, 0, "closed without a response");
      release.fire();
      await within(2000, "the server to close", closing);
    } finally {
      release.fire();
      c.destroy();
    }
  });
});

test("without set_idle, a long request delays the server's close until it is done", async () => {
  const { app, started, release } = heldApp("done");
  await withClient(app, {}, async (c, s) => {
    await c.write(GET);
    await within(2000, "the app to start", started.promise);
    let closed = false;
    const closing = s.server.close({ deadline: 3000 }).then(() => (closed = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(closed, false);
    release.fire();
    const [r] = await c.next();
    assert.ok(r);
    assert.equal(r.body.toString(), "done");
    await within(2000, "the server to close", closing);
  });
});
