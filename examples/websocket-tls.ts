/**
 * WebSocket over TLS (wss://): the echo handler behind wrapSsl. CERT and KEY name PEM files
 * (test/fixtures/cert.pem and key.pem, a self-signed pair, by default). Try it with
 * `node -e "new (require('ws'))('wss://localhost:8443',{rejectUnauthorized:false}).on('open',function(){this.send('hi')}).on('message',m=>{console.log(String(m));process.exit()})"`.
 */

import { listen, server, WebSocketWSGI, wrapSsl } from "eventwsgi";

const echo = WebSocketWSGI(async (ws) => {
  for await (const message of ws) await ws.send(message);
});

const sock = wrapSsl(await listen(["", Number(process.env.PORT ?? 8443)]), {
  certfile: process.env.CERT ?? "test/fixtures/cert.pem",
  keyfile: process.env.KEY ?? "test/fixtures/key.pem",
  serverSide: true,
});
const wsgi = server(sock, echo);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void wsgi.close({ deadline: 10_000 });
  });
}
await wsgi.closed;
