// Copyright 2026 the airlock authors. MIT license.

/**
 * Resumption against OpenSSL on 127.0.0.1: the airlock client resumes with a ticket from
 * `openssl s_server`, and `openssl s_client -sess_out`/`-sess_in` resumes against the airlock server.
 * @module
 */

import assert from "node:assert/strict";
import {
  createBioPair,
  createClient,
  createServer,
  loadPrivateKey,
  on,
  type ServerConfig,
  TlsSession,
} from "../../mod.ts";
import { generateChain } from "../../testing/pki.ts";
import { LineReader, pumpSocket, requireProgram, scoped } from "../../testing/peers.ts";
import { settled } from "../../testing/pair.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);

Deno.test("openssl s_server ↔ airlock client: the second connection resumes with a ticket", async () => {
  requireProgram("openssl", ["version"], "Install OpenSSL 3 for the interop tests.");
  await scoped(async (scope) => {
    const chain = await generateChain({ dnsNames: ["localhost"] });
    const path = scope.writeFiles({ "cert.pem": chain.chainPem, "key.pem": chain.keyPem });
    const server = scope.spawn("openssl", [
      "s_server",
      "-tls1_3",
      "-naccept",
      "2",
      "-accept",
      "127.0.0.1:0",
      "-cert",
      path("cert.pem"),
      "-key",
      path("key.pem"),
      "-rev",
    ]);
    const [, port] = await server.waitFor(/^ACCEPT 127\.0\.0\.1:(\d+)$/m);
    const sessions: TlsSession[] = [];
    const connect = async (session?: TlsSession) => {
      const socket = await scope.connect(Number(port));
      const { engine, network } = createBioPair();
      const client = createClient({
        serverName: "localhost",
        trustAnchors: [chain.rootPem],
        ...(session ? { session } : {}),
      }, engine);
      on(client, "session", (s) => sessions.push(s));
      const tls = pumpSocket(client, network, socket);
      const info = await tls.handshake();
      await tls.write(utf8("resume me\n"));
      assert.equal(await new LineReader(tls).next(), "em emuser", server.output);
      await tls.close();
      return info;
    };
    const first = await connect();
    assert.equal(first.resumed, false);
    assert.ok(sessions.length > 0, "OpenSSL sent tickets");
    const second = await connect(TlsSession.fromBytes(sessions[0]!.toBytes()));
    assert.equal(second.resumed, true);
    assert.deepEqual(second.peerCertificates[0], chain.chain[0]);
    assert.equal((await server.exited).code, 0, server.output);
  });
});

/** Two `openssl s_client` connections to an airlock server: the first saves its session, the second offers it. */
async function sClientTwice(server: Partial<ServerConfig>, firstArgs: string[], secondArgs: string[]) {
  requireProgram("openssl", ["version"], "Install OpenSSL 3 for the interop tests.");
  const chain = await generateChain({ dnsNames: ["localhost"] });
  const key = await loadPrivateKey(chain.keyPkcs8);
  const config: ServerConfig = { certificates: [{ chain: chain.chain, key }], ...server };
  return await scoped(async (scope) => {
    const path = scope.writeFiles({ "root.pem": chain.rootPem });
    const listener = await scope.listen();
    const run = async (args: string[]) => {
      const client = scope.spawn("openssl", [
        "s_client",
        "-tls1_3",
        "-connect",
        `127.0.0.1:${listener.port}`,
        "-servername",
        "localhost",
        "-CAfile",
        path("root.pem"),
        "-verify_return_error",
        ...args,
      ]);
      const socket = await listener.next();
      const { engine, network } = createBioPair();
      const tls = pumpSocket(createServer(config, engine), network, socket);
      const info = await tls.handshake();
      client.send("hello\n");
      assert.equal(await new LineReader(tls).next(), "hello");
      await tls.close();
      const exit = await client.exited;
      assert.equal(exit.code, 0, client.output);
      return { info, client };
    };
    const first = await run([...firstArgs, "-sess_out", path("sess.pem")]);
    assert.equal(first.info.resumed, false);
    assert.match(first.client.stdout, /^New, TLSv1\.3/m, first.client.output);
    const second = await run([...secondArgs, "-sess_in", path("sess.pem")]);
    assert.equal(second.info.resumed, true);
    assert.match(second.client.stdout, /^Reused, TLSv1\.3/m, second.client.output);
    return { first: first.info, second: second.info };
  });
}

Deno.test("openssl s_client -sess_out/-sess_in ↔ airlock server: the second connection is reused", async () => {
  await sClientTwice({}, [], []);
});

Deno.test("security: openssl s_client resumes through a HelloRetryRequest in the ticket's suite", async () => {
  // Issue #15, finding 10: the server prefers AES-128 and only takes secp384r1; the ticket is AES-256 and
  // the client's one share is X25519, so the HelloRetryRequest must already name AES-256.
  const { second } = await sClientTwice({ groups: ["secp384r1"] }, [
    "-ciphersuites",
    "TLS_AES_256_GCM_SHA384",
  ], [
    "-groups",
    "X25519:secp384r1",
  ]);
  assert.equal(second.helloRetry, true);
  assert.equal(second.cipherSuite, "TLS_AES_256_GCM_SHA384");
});

Deno.test("openssl s_client -early_data ↔ airlock server: early data accepted and read apart", async () => {
  requireProgram("openssl", ["version"], "Install OpenSSL 3 for the interop tests.");
  await scoped(async (scope) => {
    const chain = await generateChain({ dnsNames: ["localhost"] });
    const key = await loadPrivateKey(chain.keyPkcs8);
    const path = scope.writeFiles({ "root.pem": chain.rootPem, "early.txt": "early bird\n" });
    const config: ServerConfig = {
      certificates: [{ chain: chain.chain, key }],
      earlyData: { maxSize: 16384 },
    };
    const listener = await scope.listen();
    const run = async (sessionArgs: string[]) => {
      const client = scope.spawn("openssl", [
        "s_client",
        "-tls1_3",
        "-connect",
        `127.0.0.1:${listener.port}`,
        "-servername",
        "localhost",
        "-CAfile",
        path("root.pem"),
        "-verify_return_error",
        ...sessionArgs,
      ]);
      const socket = await listener.next();
      const { engine, network } = createBioPair();
      const server = createServer(config, engine);
      // Read what comes early, then the handshake goes on over the socket.
      const tls = pumpSocket(server, network, socket);
      const info = await tls.handshake();
      const early: number[] = [];
      const buf = new Uint8Array(256);
      for (let n; (n = server.readEarlyData(buf)) > 0;) early.push(...buf.subarray(0, n));
      client.send("hello\n");
      assert.equal(await new LineReader(tls).next(), "hello");
      await tls.close();
      assert.equal((await client.exited).code, 0, client.output);
      return { info, early: new TextDecoder().decode(Uint8Array.from(early)), client };
    };
    const first = await run(["-sess_out", path("sess.pem")]);
    assert.equal(first.info.earlyData, undefined);
    const second = await run(["-sess_in", path("sess.pem"), "-early_data", path("early.txt")]);
    assert.equal(second.info.resumed, true);
    assert.equal(second.info.earlyData, "accepted");
    assert.equal(second.early, "early bird\n");
    assert.match(second.client.output, /Early data was accepted/, second.client.output);
  });
});

Deno.test("openssl s_server -early_data ↔ airlock client: 0-RTT accepted", async () => {
  requireProgram("openssl", ["version"], "Install OpenSSL 3 for the interop tests.");
  await scoped(async (scope) => {
    const chain = await generateChain({ dnsNames: ["localhost"] });
    const path = scope.writeFiles({ "cert.pem": chain.chainPem, "key.pem": chain.keyPem });
    // Plain mode (not -rev: OpenSSL refuses it with -early_data) prints what it receives.
    const server = scope.spawn("openssl", [
      "s_server",
      "-tls1_3",
      "-naccept",
      "2",
      "-accept",
      "127.0.0.1:0",
      "-early_data",
      "-cert",
      path("cert.pem"),
      "-key",
      path("key.pem"),
    ]);
    const [, port] = await server.waitFor(/^ACCEPT 127\.0\.0\.1:(\d+)$/m);
    const sessions: TlsSession[] = [];
    const connect = async (session?: TlsSession) => {
      const socket = await scope.connect(Number(port));
      const { engine, network } = createBioPair();
      const client = createClient({
        serverName: "localhost",
        trustAnchors: [chain.rootPem],
        ...(session ? { session, earlyData: true } : {}),
      }, engine);
      on(client, "session", (s) => sessions.push(s));
      if (session) assert.equal(await settled(client, () => client.writeEarlyData(utf8("sent early\n"))), 11);
      const tls = pumpSocket(client, network, socket);
      const info = await tls.handshake();
      await tls.write(utf8(session ? "after\n" : "first\n"));
      // Tickets come with the server's first flight after the handshake; wait for what we sent to show.
      await server.waitFor(session ? /after/ : /first/);
      await tls.close();
      return info;
    };
    await connect();
    assert.ok(sessions[0] && sessions[0].maxEarlyData > 0, "OpenSSL's ticket allows early data");
    const second = await connect(sessions[0]);
    assert.equal(second.earlyData, "accepted");
    assert.equal(second.resumed, true);
    assert.match(server.output, /Early data received:/, server.output);
    assert.match(server.output, /^sent early$/m, server.output);
    assert.match(server.output, /End of early data/, server.output);
  });
});
