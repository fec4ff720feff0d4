// Copyright 2026 the airlock authors. MIT license.

/**
 * A TLS client on Deno for the echo server beside it: `Deno.connect` to 127.0.0.1:PORT, `connectTls` over
 * the `Deno.Conn` as it is, verify the server against the certificate in CA_PEM (and the name
 * "localhost"), then copy stdin to the server and what comes back to stdout. The end of stdin sends
 * close_notify (a TLS 1.3 half-close); the echo keeps coming until the server's close_notify. What was
 * negotiated goes to stderr.
 *
 *     deno run -A examples/deno/echo_server.ts 8443 /tmp/echo-cert.pem
 *     echo hello | deno run -A examples/deno/echo_client.ts 8443 /tmp/echo-cert.pem
 *
 * @module
 */

import { createBioPair, createClient } from "../../mod.ts";
import { connectTls } from "../../adapters/mod.ts";

const [port, caFile] = Deno.args;
if (!port || !caFile) {
  console.error("usage: deno run -A examples/deno/echo_client.ts PORT CA_PEM < input");
  Deno.exit(2);
}

const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
const { engine, network } = createBioPair();
const client = createClient(
  { serverName: "localhost", trustAnchors: [await Deno.readTextFile(caFile)] },
  engine,
);
const tls = await connectTls(client, network, conn, { handshakeTimeoutMs: 10_000 });
const { version, cipherSuite, group } = tls.info;
console.error(`client: ${version} ${cipherSuite} ${group}, server verified as localhost`);
await Promise.all([
  Deno.stdin.readable.pipeTo(tls.writable), // stdin's end closes the writable: close_notify
  tls.readable.pipeTo(Deno.stdout.writable, { preventClose: true }), // ends at the server's close_notify
]);
await tls.closed;
console.error("client: closed with close_notify both ways");
