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
import { generateChain } from "../_pki.ts";
import { LineReader, pumpSocket, requireProgram, scoped } from "./_peers.ts";

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

Deno.test("openssl s_client -sess_out/-sess_in ↔ airlock server: the second connection is reused", async () => {
  requireProgram("openssl", ["version"], "Install OpenSSL 3 for the interop tests.");
  await scoped(async (scope) => {
    const chain = await generateChain({ dnsNames: ["localhost"] });
    const key = await loadPrivateKey(chain.keyPkcs8);
    const path = scope.writeFiles({ "root.pem": chain.rootPem });
    const config: ServerConfig = { certificates: [{ chain: chain.chain, key }] };
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
      const tls = pumpSocket(createServer(config, engine), network, socket);
      const info = await tls.handshake();
      client.send("hello\n");
      assert.equal(await new LineReader(tls).next(), "hello");
      await tls.close();
      const exit = await client.exited;
      assert.equal(exit.code, 0, client.output);
      return { info, client };
    };
    const first = await run(["-sess_out", path("sess.pem")]);
    assert.equal(first.info.resumed, false);
    assert.match(first.client.stdout, /^New, TLSv1\.3/m, first.client.output);
    const second = await run(["-sess_in", path("sess.pem")]);
    assert.equal(second.info.resumed, true);
    assert.match(second.client.stdout, /^Reused, TLSv1\.3/m, second.client.output);
  });
});
