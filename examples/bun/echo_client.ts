// Copyright 2026 the airlock authors. MIT license.

/**
 * A TLS client on Bun for the echo server beside it: `Bun.connect` to 127.0.0.1:PORT, `connectTls` over the
 * socket (as a web stream pair, `socket_streams.ts`), verify the server against the certificate in CA_PEM
 * (and the name "localhost"), then copy stdin to the server and what comes back to stdout. The end of
 * stdin sends close_notify (a TLS 1.3 half-close); the echo keeps coming until the server's close_notify.
 * What was negotiated goes to stderr.
 *
 *     bun examples/bun/echo_server.ts 8443 /tmp/echo-cert.pem
 *     echo hello | bun examples/bun/echo_client.ts 8443 /tmp/echo-cert.pem
 *
 * @module
 */

import { readFileSync } from "node:fs";
import process from "node:process";
import { createBioPair, createClient } from "../../mod.ts";
import { connectTls } from "../../adapters/mod.ts";
import { nodeCryptoProvider } from "../../adapters/node.ts";
import { Bun, socketHandlers, type SocketStreams } from "./socket_streams.ts";

const [port, caFile] = process.argv.slice(2);
if (!port || !caFile) {
  console.error("usage: bun examples/bun/echo_client.ts PORT CA_PEM < input");
  process.exit(2);
}

let opened!: (transport: SocketStreams) => void;
const transport = new Promise<SocketStreams>((resolve) => (opened = resolve));
await Bun.connect({
  hostname: "127.0.0.1",
  port: Number(port),
  allowHalfOpen: true,
  socket: socketHandlers(opened),
});

const { engine, network } = createBioPair();
const client = createClient({
  serverName: "localhost",
  trustAnchors: [readFileSync(caFile, "utf8")],
  provider: nodeCryptoProvider,
}, engine);
const tls = await connectTls(client, network, await transport, { handshakeTimeoutMs: 10_000 });
const { version, cipherSuite, group } = tls.info;
console.error(`client: ${version} ${cipherSuite} ${group}, server verified as localhost`);
const stdout = new WritableStream<Uint8Array>({
  write: (chunk) => new Promise<void>((resolve) => process.stdout.write(chunk, () => resolve())),
});
await Promise.all([
  Bun.stdin.stream().pipeTo(tls.writable), // stdin's end closes the writable: close_notify
  tls.readable.pipeTo(stdout), // ends at the server's close_notify
]);
await tls.closed;
console.error("client: closed with close_notify both ways");
