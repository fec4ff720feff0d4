// Copyright 2026 the airlock authors. MIT license.

/**
 * The README's first command (`npm run demo`): an airlock client and an airlock server talk TLS 1.3 over
 * TCP on 127.0.0.1, each engine driven over a `node:net` socket by the adapters (`connectTls` and
 * `nodeSocketStreams`), with plaintext as web streams.
 *
 * The server has a fresh self-signed ECDSA P-256 certificate and ALPN ["h2", "http/1.1"]. The client
 * offers ALPN ["http/1.1"], sends SNI "localhost", and verifies the server against that certificate as its
 * trust anchor. It sends "ping" and half-closes; the server answers in upper case, and both close with
 * close_notify.
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
import { connectTls } from "../adapters/stream.ts";
import { nodeSocketStreams } from "../adapters/node.ts";

/** The whole demo must finish within this time, or it exits with status 1. */
const TIMEOUT_MS = 10_000;

/** One line saying what a side negotiated. */
function describe(info: HandshakeInfo): string {
  const retry = info.helloRetry ? " (after HelloRetryRequest)" : "";
  return `${info.version} ${info.cipherSuite} ${info.group}${retry} alpn=${info.alpn ?? "none"} ` +
    `sig=${info.signatureScheme}`;
}

/** Serve one connection: answer each message in upper case until the client's close_notify. */
async function serve(socket: net.Socket, chain: Uint8Array[], key: SigningKey): Promise<void> {
  const { engine, network } = createBioPair();
  const server = createServer({ certificates: [{ chain, key }], alpnProtocols: ["h2", "http/1.1"] }, engine);
  const tls = await connectTls(server, network, nodeSocketStreams(socket), {
    handshakeTimeoutMs: TIMEOUT_MS,
  });
  console.log(`server: ${describe(tls.info)} sni=${tls.info.serverName ?? "none"}`);
  const decoder = new TextDecoder(), encoder = new TextEncoder();
  const upper = new TransformStream<Uint8Array, Uint8Array>({
    transform: (chunk, out) =>
      out.enqueue(encoder.encode(decoder.decode(chunk, { stream: true }).toUpperCase())),
  });
  await tls.readable.pipeThrough(upper).pipeTo(tls.writable); // ends with our close_notify once the client's has come
  await tls.closed;
  console.log("server: closed with close_notify both ways");
}

/** Connect, verify the server, send "ping" and print the answer. */
async function client(port: number, anchor: Uint8Array): Promise<void> {
  const socket = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  const { engine, network } = createBioPair();
  // Verification is on: the chain must lead to this anchor and name "localhost" (here the anchor is the
  // server's own self-signed certificate).
  const engineClient = createClient({
    serverName: "localhost",
    trustAnchors: [anchor],
    alpnProtocols: ["http/1.1"],
  }, engine);
  const tls = await connectTls(engineClient, network, nodeSocketStreams(socket), {
    handshakeTimeoutMs: TIMEOUT_MS,
  });
  console.log(`client: ${describe(tls.info)} verified=trust-anchor`);
  const writer = tls.writable.getWriter();
  await writer.write(new TextEncoder().encode("ping"));
  await writer.close(); // close_notify: a TLS 1.3 half-close, the answer still comes
  const reply = await new Response(tls.readable).text();
  console.log(`client: sent "ping", received "${reply}"`);
  await tls.closed;
  console.log("client: closed with close_notify both ways");
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
