// Copyright 2026 the airlock authors. MIT license.

/**
 * Certificates against OpenSSL on 127.0.0.1: our client validating a CA-issued chain from
 * `openssl s_server`, mTLS both ways (`s_server -Verify`, `s_client -cert`), and the alerts each side
 * sees when a check fails. Without `openssl` on PATH every case fails with a message saying so.
 * @module
 */

import assert from "node:assert/strict";
import { createBioPair, createClient, createServer, loadPrivateKey, TlsError } from "../../mod.ts";
import { generateChain, type TestChain } from "../../testing/pki.ts";
import { LineReader, pumpSocket, requireOpenssl, type Scope, scoped } from "../../testing/peers.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);

function files(scope: Scope, server: TestChain, client?: TestChain) {
  const pem = (der: Uint8Array) =>
    `-----BEGIN CERTIFICATE-----\n${
      btoa(String.fromCharCode(...der)).match(/.{1,64}/g)!.join("\n")
    }\n-----END CERTIFICATE-----\n`;
  return scope.writeFiles({
    "server-leaf.pem": pem(server.chain[0]!),
    "server-chain.pem": server.chain.slice(1).map(pem).join(""),
    "server-key.pem": server.keyPem,
    "server-root.pem": server.rootPem,
    ...(client
      ? { "client.pem": client.chainPem, "client-key.pem": client.keyPem, "client-root.pem": client.rootPem }
      : {}),
  });
}

/** openssl s_server with a CA-issued chain; optionally -Verify with the client root. */
async function sServer(scope: Scope, path: (n: string) => string, verifyClient: boolean, chain: TestChain) {
  const server = scope.spawn("openssl", [
    "s_server",
    "-tls1_3",
    "-naccept",
    "1",
    "-accept",
    "127.0.0.1:0",
    "-cert",
    path("server-leaf.pem"),
    ...(chain.chain.length > 1 ? ["-cert_chain", path("server-chain.pem")] : []),
    "-key",
    path("server-key.pem"),
    "-rev",
    ...(verifyClient ? ["-Verify", "2", "-CAfile", path("client-root.pem"), "-verify_return_error"] : []),
  ]);
  const [, port] = await server.waitFor(/^ACCEPT 127\.0\.0\.1:(\d+)$/m);
  return { server, socket: await scope.connect(Number(port)) };
}

Deno.test("openssl s_server ↔ airlock client: the chain validates to the root by trustAnchors", async () => {
  requireOpenssl();
  await scoped(async (scope) => {
    const chain = await generateChain({ intermediate: true, dnsNames: ["localhost"] });
    const path = files(scope, chain);
    const { server, socket } = await sServer(scope, path, false, chain);
    const { engine, network } = createBioPair();
    const client = createClient({ serverName: "localhost", trustAnchors: [chain.rootPem] }, engine);
    const tls = pumpSocket(client, network, socket);
    const info = await tls.handshake();
    assert.equal(info.peerCertificates.length, 2);
    await tls.write(utf8("abc\n"));
    assert.equal(await new LineReader(tls).next(), "cba", server.output);
    await tls.close();
    assert.equal((await server.exited).code, 0, server.output);
  });
});

Deno.test("openssl s_server ↔ airlock client: another root is unknown_ca, and s_server hears it", async () => {
  requireOpenssl();
  await scoped(async (scope) => {
    const chain = await generateChain({ intermediate: true, dnsNames: ["localhost"] });
    const other = await generateChain();
    const path = files(scope, chain);
    const { server, socket } = await sServer(scope, path, false, chain);
    const { engine, network } = createBioPair();
    const client = createClient({ serverName: "localhost", trustAnchors: [other.rootPem] }, engine);
    const tls = pumpSocket(client, network, socket);
    await assert.rejects(tls.handshake(), (e: unknown) => {
      assert.ok(e instanceof TlsError);
      assert.equal(e.alert, "unknown_ca");
      assert.equal(e.code, "certificate.unknown_issuer");
      return true;
    });
    await server.exited;
    assert.match(server.stderr, /alert unknown ca/, server.output);
  });
});

Deno.test("openssl s_server -Verify ↔ airlock client with a certificate (mTLS)", async () => {
  requireOpenssl();
  await scoped(async (scope) => {
    const chain = await generateChain({ dnsNames: ["localhost"] });
    const clientChain = await generateChain({
      intermediate: true,
      dnsNames: ["client.test"],
      eku: ["clientAuth"],
    });
    const path = files(scope, chain, clientChain);
    const { server, socket } = await sServer(scope, path, true, chain);
    const { engine, network } = createBioPair();
    const key = await loadPrivateKey(clientChain.keyPkcs8);
    const client = createClient({
      serverName: "localhost",
      trustAnchors: [chain.rootPem],
      clientCertificate: { chain: clientChain.chain, key },
    }, engine);
    const tls = pumpSocket(client, network, socket);
    await tls.handshake();
    await tls.write(utf8("mtls\n"));
    assert.equal(await new LineReader(tls).next(), "sltm", server.output);
    await tls.close();
    assert.equal((await server.exited).code, 0, server.output);
    assert.match(server.stderr, /^Peer certificate: CN = airlock test leaf$/m, server.output);
    assert.match(server.stderr, /^Verification: OK$/m, server.output);
  });
});

Deno.test("openssl s_server -Verify ↔ airlock client without a certificate: certificate_required", async () => {
  requireOpenssl();
  await scoped(async (scope) => {
    const chain = await generateChain({ dnsNames: ["localhost"] });
    const clientChain = await generateChain({ dnsNames: ["client.test"], eku: ["clientAuth"] });
    const path = files(scope, chain, clientChain);
    const { server, socket } = await sServer(scope, path, true, chain);
    const { engine, network } = createBioPair();
    const client = createClient({ serverName: "localhost", trustAnchors: [chain.rootPem] }, engine);
    const tls = pumpSocket(client, network, socket);
    // The client completes its side, then learns of the refusal from the server's alert.
    const outcome = await tls.handshake().then(() => tls.read()).catch((e) => e);
    const err = outcome instanceof TlsError ? outcome : client.error;
    assert.equal(err?.code, "alert_received.certificate_required", String(outcome));
    await server.exited;
  });
});

function sClient(scope: Scope, path: (n: string) => string, port: number, withCert: boolean) {
  return scope.spawn("openssl", [
    "s_client",
    "-tls1_3",
    "-connect",
    `127.0.0.1:${port}`,
    "-servername",
    "localhost",
    "-CAfile",
    path("server-root.pem"),
    "-verify_return_error",
    ...(withCert ? ["-cert", path("client.pem"), "-key", path("client-key.pem")] : []),
  ]);
}

Deno.test("openssl s_client -cert ↔ airlock server requiring a client certificate (mTLS)", async () => {
  requireOpenssl();
  await scoped(async (scope) => {
    const chain = await generateChain({ intermediate: true, dnsNames: ["localhost"] });
    const clientChain = await generateChain({ dnsNames: ["client.test"], eku: ["clientAuth"] });
    const path = files(scope, chain, clientChain);
    const listener = await scope.listen();
    const client = sClient(scope, path, listener.port, true);
    const socket = await listener.accepted;
    const { engine, network } = createBioPair();
    const server = createServer({
      certificates: [{ chain: chain.chain, key: await loadPrivateKey(chain.keyPkcs8) }],
      clientAuth: { required: true, trustAnchors: [clientChain.rootPem] },
    }, engine);
    const tls = pumpSocket(server, network, socket);
    const info = await tls.handshake();
    assert.deepEqual(info.peerCertificates[0], clientChain.chain[0]);
    client.send("hello\n");
    assert.equal(await new LineReader(tls).next(), "hello");
    await tls.close();
    assert.equal((await client.exited).code, 0, client.output);
    assert.match(client.stdout, /^Verify return code: 0 \(ok\)$/m, client.output);
  });
});

Deno.test("openssl s_client without -cert ↔ airlock server requiring one: certificate_required", async () => {
  requireOpenssl();
  await scoped(async (scope) => {
    const chain = await generateChain({ dnsNames: ["localhost"] });
    const clientChain = await generateChain({ dnsNames: ["client.test"], eku: ["clientAuth"] });
    const path = files(scope, chain, clientChain);
    const listener = await scope.listen();
    const client = sClient(scope, path, listener.port, false);
    const socket = await listener.accepted;
    const { engine, network } = createBioPair();
    const server = createServer({
      certificates: [{ chain: chain.chain, key: await loadPrivateKey(chain.keyPkcs8) }],
      clientAuth: { required: true, trustAnchors: [clientChain.rootPem] },
    }, engine);
    const tls = pumpSocket(server, network, socket);
    await assert.rejects(tls.handshake(), (e: unknown) => {
      assert.ok(e instanceof TlsError);
      assert.equal(e.code, "certificate.required");
      return true;
    });
    await client.exited;
    assert.match(client.output, /alert certificate required/, client.output);
  });
});
