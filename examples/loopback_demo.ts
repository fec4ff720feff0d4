// Copyright 2026 the airlock authors. MIT license.

/**
 * The README's first command (`npm run demo`): an airlock client and an airlock server talk TLS 1.3 over
 * TCP on 127.0.0.1, each engine pumping its BIO pair through a `node:net` socket.
 *
 * The server has a fresh self-signed ECDSA P-256 certificate and ALPN ["h2", "http/1.1"]. The client
 * offers ALPN ["http/1.1"], sends SNI "localhost", and verifies the server by pinning its certificate. It
 * sends "ping", the server answers in upper case, and both close with close_notify.
 *
 *     deno run -A examples/loopback_demo.ts
 *     bun examples/loopback_demo.ts
 *     node --import tsx examples/loopback_demo.ts
 *
 * @module
 */

import net from "node:net";
import process from "node:process";
import {
  createBioPair,
  createClient,
  createServer,
  type HandshakeInfo,
  loadPrivateKey,
  type SigningKey,
} from "../mod.ts";
import { selfSignedCertificate } from "./_cert.ts";
import { pumpSocket } from "./_tcp_pump.ts";

/** The whole demo must finish within this time, or it exits with status 1. */
const TIMEOUT_MS = 10_000;

/** Compare two byte strings without an early exit. */
function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** One line saying what a side negotiated. */
function describe(info: HandshakeInfo): string {
  const retry = info.helloRetry ? " (after HelloRetryRequest)" : "";
  return `${info.version} ${info.cipherSuite} ${info.group}${retry} alpn=${info.alpn ?? "none"} ` +
    `sig=${info.signatureScheme}`;
}

/** Serve one connection: answer each message in upper case until the client's close_notify. */
async function serve(socket: net.Socket, chain: Uint8Array[], key: SigningKey): Promise<void> {
  const { engine, network } = createBioPair();
  const tls = pumpSocket(
    createServer({ certificates: [{ chain, key }], alpnProtocols: ["h2", "http/1.1"] }, engine),
    network,
    socket,
  );
  try {
    const info = await tls.handshake();
    console.log(`server: ${describe(info)} sni=${info.serverName ?? "none"}`);
    for (let data; (data = await tls.read()) !== null;) {
      await tls.write(new TextEncoder().encode(new TextDecoder().decode(data).toUpperCase()));
    }
    await tls.close();
    console.log("server: closed with close_notify both ways");
  } finally {
    socket.destroy();
  }
}

/** Connect, check the pinned certificate, send "ping" and print the answer. */
async function client(port: number, pinned: Uint8Array): Promise<void> {
  const socket = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  let verified = false;
  const { engine, network } = createBioPair();
  const tls = pumpSocket(
    createClient({
      serverName: "localhost",
      alpnProtocols: ["http/1.1"],
      // Verification is on: the handshake fails unless the server presents exactly this certificate.
      verifyPeer: ({ chain }) => (verified = chain[0] !== undefined && equal(chain[0], pinned)),
    }, engine),
    network,
    socket,
  );
  try {
    const info = await tls.handshake();
    console.log(`client: ${describe(info)} verified=${verified ? "pinned-certificate" : "no"}`);
    await tls.write(new TextEncoder().encode("ping"));
    const reply = await tls.read();
    if (reply === null) throw new Error("The server closed the connection without answering");
    console.log(`client: sent "ping", received "${new TextDecoder().decode(reply)}"`);
    await tls.close();
    console.log("client: closed with close_notify both ways");
  } finally {
    socket.destroy();
  }
}

async function main(): Promise<void> {
  const cert = await selfSignedCertificate("localhost");
  const key = await loadPrivateKey(cert.keyPkcs8);
  const server = net.createServer({ allowHalfOpen: true });
  const served = new Promise<void>((resolve, reject) => {
    server.once("connection", (socket: net.Socket) => serve(socket, [cert.der], key).then(resolve, reject));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  console.log(`server: listening on 127.0.0.1:${port} with a fresh self-signed ECDSA P-256 certificate`);
  try {
    await Promise.all([client(port, cert.der), served]);
  } finally {
    server.close();
  }
}

const timer = setTimeout(() => {
  console.error(`demo: no result after ${TIMEOUT_MS / 1000} s`);
  process.exit(1);
}, TIMEOUT_MS);

main().then(
  () => {
    clearTimeout(timer);
    process.exitCode = 0;
  },
  (error: unknown) => {
    console.error("demo failed:", error);
    process.exit(1);
  },
);
