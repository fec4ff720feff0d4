// Copyright 2026 the airlock authors. MIT license.

/**
 * TLS over a WebRTC data channel: two `RTCPeerConnection`s in one page (signalling is a function call
 * here; in an application it is whatever carries the offer, the answer and the ICE candidates), a data
 * channel between them, and airlock's client on one end and server on the other. The server's certificate
 * is made in the page; the client pins it, as a WebRTC application would pin a key exchanged through its
 * signalling. The client sends 100 KiB and the server echoes it; the page shows what was negotiated.
 *
 * Bundle it for the page, then serve this folder from any static server on localhost:
 *
 *     npx esbuild examples/webrtc_datachannel/page.ts --bundle --format=esm \
 *       --alias:@airlock/tls=airlock-tls --outfile=examples/webrtc_datachannel/page.js
 *
 * The result is also left in `globalThis.airlockResult`, for tests.
 *
 * @module
 */

import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { createBioPair, createClient, createServer, loadPrivateKey } from "@airlock/tls";
import { connectTlsOverMessages, dataChannelTransport } from "@airlock/tls/adapters";

const out = document.getElementById("out")!;
const show = (line: string) => (out.textContent += `${line}\n`);

/** Two peer connections joined in the page; resolves to the two ends of one reliable, ordered channel. */
async function connectedChannels(): Promise<[RTCDataChannel, RTCDataChannel, RTCPeerConnection]> {
  const a = new RTCPeerConnection(), b = new RTCPeerConnection();
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
  const theirs = new Promise<RTCDataChannel>((resolve) => (b.ondatachannel = (e) => resolve(e.channel)));
  const ours = a.createDataChannel("tls"); // reliable and ordered: TLS needs every byte, in order
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription!);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription!);
  return [ours, await theirs, a];
}

async function run(): Promise<string> {
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await crypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: "CN=peer-b",
    keys,
    signingAlgorithm: alg,
  });
  const pinned = new Uint8Array(cert.rawData);
  const key = await loadPrivateKey(new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey)));

  const [channelA, channelB, pc] = await connectedChannels();
  // Each end sends at most what this connection's SCTP carries in one message.
  const maxMessageSize = Math.min(pc.sctp?.maxMessageSize ?? 16384, 65536);
  const c = createBioPair(), s = createBioPair();
  const client = createClient({
    serverName: "peer-b",
    verifyPeer: ({ chain }) =>
      chain[0]?.length === pinned.length && chain[0].every((x, i) => x === pinned[i]),
  }, c.engine);
  const server = createServer({ certificates: [{ chain: [pinned], key }] }, s.engine);
  const [ct, st] = await Promise.all([
    connectTlsOverMessages(client, c.network, dataChannelTransport(channelA, { maxMessageSize }), {
      handshakeTimeoutMs: 20_000,
    }),
    connectTlsOverMessages(server, s.network, dataChannelTransport(channelB, { maxMessageSize }), {
      handshakeTimeoutMs: 20_000,
    }),
  ]);
  show(`handshake over the data channel: ${ct.info.version} ${ct.info.cipherSuite} ${ct.info.group}`);
  const echo = st.readable.pipeTo(st.writable); // echo until close_notify, then send ours
  const sent = Uint8Array.from({ length: 100 * 1024 }, (_, i) => (i * 31 + (i >> 8)) & 0xff);
  const writer = ct.writable.getWriter();
  await writer.write(sent);
  await writer.close();
  const back = new Uint8Array(await new Response(ct.readable).arrayBuffer());
  await Promise.all([echo, ct.closed, st.closed]);
  if (back.length !== sent.length || !back.every((x, i) => x === sent[i])) {
    throw new Error(`${back.length} bytes came back, not the ${sent.length} sent`);
  }
  return `ok over a WebRTC data channel: ${ct.info.version} ${ct.info.cipherSuite}, ${back.length} bytes echoed`;
}

const g = globalThis as { airlockResult?: string };
run().then(
  (r) => (g.airlockResult = r),
  (e) => (g.airlockResult = `FAIL ${e instanceof Error ? e.message : String(e)}`),
).finally(() => show(g.airlockResult ?? ""));
