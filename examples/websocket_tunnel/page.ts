// Copyright 2026 the airlock authors. MIT license.

/**
 * The page of the WebSocket tunnel example: a TLS 1.3 client in the browser, its bytes carried by a
 * WebSocket to relay.ts, which passes them to a TLS server over TCP. The client verifies the server's
 * certificate against `ca.pem` (fetched from the relay), sends a line, and shows what the server echoes.
 * Bundle it for the page (the import map of the JSR package, or the npm package with an alias):
 *
 *     npx esbuild examples/websocket_tunnel/page.ts --bundle --format=esm \
 *       --alias:@airlock/tls=airlock-tls --outfile=examples/websocket_tunnel/public/page.js
 *
 * The result is also left in `globalThis.airlockResult`, for tests.
 *
 * @module
 */

import { createBioPair, createClient } from "@airlock/tls";
import { connectTlsOverMessages, webSocketTransport } from "@airlock/tls/adapters";

const params = new URLSearchParams(location.search);
const serverName = params.get("servername") ?? "localhost";
const out = document.getElementById("out")!;
const show = (line: string) => (out.textContent += `${line}\n`);

async function run(): Promise<string> {
  const ca = await (await fetch("ca.pem")).text();
  const ws = new WebSocket(new URL("/tunnel", location.href.replace(/^http/, "ws")));
  const { engine, network } = createBioPair();
  const client = createClient({ serverName, trustAnchors: [ca] }, engine);
  const tls = await connectTlsOverMessages(client, network, webSocketTransport(ws), {
    handshakeTimeoutMs: 10_000,
  });
  show(
    `handshake: ${tls.info.version} ${tls.info.cipherSuite} ${tls.info.group}, server ${serverName} verified`,
  );
  const writer = tls.writable.getWriter();
  await writer.write(new TextEncoder().encode("hello through the tunnel\n"));
  let echoed = "";
  const reader = tls.readable.getReader();
  while (!echoed.endsWith("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    echoed += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  await writer.close(); // close_notify
  await tls.close();
  if (echoed !== "hello through the tunnel\n") throw new Error(`the echo was ${JSON.stringify(echoed)}`);
  return `ok through the WebSocket: ${tls.info.version} ${tls.info.cipherSuite}, echoed ${
    JSON.stringify(echoed)
  }`;
}

const g = globalThis as { airlockResult?: string };
run().then(
  (r) => (g.airlockResult = r),
  (e) => (g.airlockResult = `FAIL ${e instanceof Error ? e.message : String(e)}`),
).finally(() => show(g.airlockResult ?? ""));
