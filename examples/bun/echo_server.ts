// Copyright 2026 the airlock authors. MIT license.

/**
 * A TLS echo server on Bun: `Bun.listen` accepts TCP connections, `socket_streams.ts` presents each Bun
 * socket as a web stream pair, and `connectTls` drives a fresh engine over it. Each connection echoes what
 * it reads until the client's close_notify, then sends its own.
 *
 * It makes a throwaway self-signed ECDSA certificate for "localhost" at start-up and writes it (PEM) to
 * CERT_OUT for clients to trust; in production, load your chain and key from files instead. PORT 0 picks a
 * free port. With Bun, `nodeCryptoProvider` (from `adapters/node.ts`) is the fast provider.
 *
 *     bun examples/bun/echo_server.ts 8443 /tmp/echo-cert.pem
 *     echo hello | bun examples/bun/echo_client.ts 8443 /tmp/echo-cert.pem
 *
 * @module
 */

import { writeFileSync } from "node:fs";
import process from "node:process";
import { createBioPair, createServer, loadPrivateKey, pemEncode } from "../../mod.ts";
import { connectTls } from "../../adapters/mod.ts";
import { nodeCryptoProvider } from "../../adapters/node.ts";
import { selfSignedCertificate } from "../_cert.ts";
import { Bun, socketHandlers, type SocketStreams } from "./socket_streams.ts";

const [port = "8443", certOut] = process.argv.slice(2);
if (!certOut) {
  console.error("usage: bun examples/bun/echo_server.ts PORT CERT_OUT");
  process.exit(2);
}

const cert = await selfSignedCertificate("localhost");
const key = await loadPrivateKey(cert.keyPkcs8);
writeFileSync(certOut, pemEncode(cert.der, "CERTIFICATE"));

/** One connection: handshake, echo until the client's close_notify, answer with ours. */
async function serve(transport: SocketStreams): Promise<void> {
  const peer = `${transport.socket.remoteAddress}:${transport.socket.remotePort}`;
  const { engine, network } = createBioPair();
  const server = createServer(
    { certificates: [{ chain: [cert.der], key }], provider: nodeCryptoProvider },
    engine,
  );
  try {
    const tls = await connectTls(server, network, transport, { handshakeTimeoutMs: 10_000 });
    const { version, cipherSuite, group } = tls.info;
    console.log(`${peer}: ${version} ${cipherSuite} ${group} sni=${tls.info.serverName ?? "none"}`);
    await tls.readable.pipeTo(tls.writable); // at the client's close_notify the writable closes: ours goes out
    await tls.closed;
    console.log(`${peer}: closed with close_notify both ways`);
  } catch (error) {
    // This connection failed (a failed handshake has sent its alert); the server goes on with the others.
    console.log(`${peer}: ${error instanceof Error ? error.message : error}`);
  }
}

const listener = Bun.listen({
  hostname: "127.0.0.1",
  port: Number(port),
  allowHalfOpen: true,
  socket: socketHandlers(serve),
});
console.log(`listening on 127.0.0.1:${listener.port}`);
