// Copyright 2026 the airlock authors. MIT license.

/**
 * A TLS echo server on Deno: `Deno.listen` accepts TCP connections, and each `Deno.Conn` (already a
 * `readable`/`writable` pair) is handed to `connectTls` as it is. Every connection gets its own engine and
 * BIO pair, echoes what it reads until the client's close_notify, then sends its own.
 *
 * It makes a throwaway self-signed ECDSA certificate for "localhost" at start-up and writes it (PEM) to
 * CERT_OUT for clients to trust; in production, load your chain and key from files instead
 * (`certificates: [{ chain: pemText, key: await loadPrivateKey(keyPem) }]`). PORT 0 picks a free port.
 *
 *     deno run -A examples/deno/echo_server.ts 8443 /tmp/echo-cert.pem
 *     echo hello | deno run -A examples/deno/echo_client.ts 8443 /tmp/echo-cert.pem
 *
 * @module
 */

import {
  createBioPair,
  createServer,
  type HandshakeInfo,
  loadPrivateKey,
  pemEncode,
  type SigningKey,
} from "../../mod.ts";
import { connectTls } from "../../adapters/mod.ts";
import { selfSignedCertificate } from "../_cert.ts";

const [port = "8443", certOut] = Deno.args;
if (!certOut) {
  console.error("usage: deno run -A examples/deno/echo_server.ts PORT CERT_OUT");
  Deno.exit(2);
}

function describe(info: HandshakeInfo): string {
  return `${info.version} ${info.cipherSuite} ${info.group} sni=${info.serverName ?? "none"}`;
}

/** One connection: handshake, echo until the client's close_notify, answer with ours. */
async function serve(conn: Deno.TcpConn, chain: Uint8Array[], key: SigningKey): Promise<void> {
  const peer = `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`;
  const { engine, network } = createBioPair();
  const server = createServer({ certificates: [{ chain, key }] }, engine);
  try {
    const tls = await connectTls(server, network, conn, { handshakeTimeoutMs: 10_000 });
    console.log(`${peer}: ${describe(tls.info)}`);
    await tls.readable.pipeTo(tls.writable); // at the client's close_notify the writable closes: ours goes out
    await tls.closed;
    console.log(`${peer}: closed with close_notify both ways`);
  } catch (error) {
    // This connection failed (a failed handshake has sent its alert); the server goes on with the others.
    console.log(`${peer}: ${error instanceof Error ? error.message : error}`);
  }
}

const cert = await selfSignedCertificate("localhost");
const key = await loadPrivateKey(cert.keyPkcs8);
await Deno.writeTextFile(certOut, pemEncode(cert.der, "CERTIFICATE"));
const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(port) });
console.log(`listening on 127.0.0.1:${listener.addr.port}`);
for await (const conn of listener) serve(conn, [cert.der], key); // each connection on its own
