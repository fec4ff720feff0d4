// Copyright 2026 the airlock authors. MIT license.

/**
 * Interop with OpenSSL on 127.0.0.1: the airlock client against `openssl s_server -rev`, and
 * `openssl s_client` against the airlock server, over every cipher suite, group and certificate type, with
 * HelloRetryRequest, ALPN and KeyUpdate. Each case is bounded by {@linkcode CASE_TIMEOUT_MS} and kills its
 * peer process in the end. Without `openssl` on PATH every case fails with a message saying so.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type ClientConfig,
  createBioPair,
  createClient,
  createServer,
  type HandshakeInfo,
  loadPrivateKey,
  on,
  type SecretsInfo,
  type ServerConfig,
  TlsError,
} from "../../mod.ts";
import { ctEqual } from "../../suites/bytes.ts";
import { generateTestCertificate, type TestKeyType } from "../../testing/pki.ts";
import {
  LineReader,
  type Peer,
  pumpSocket,
  requireOpenssl,
  type Scope,
  scoped,
  type TlsSocket,
} from "../../testing/peers.ts";
import { settings, tls13Matrix } from "../../testing/interop.ts";

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Write the certificate and key of `type` where openssl can read them. */
async function pemFiles(scope: Scope, type: TestKeyType): Promise<(name: string) => string> {
  const pki = await generateTestCertificate(type);
  return scope.writeFiles({ "cert.pem": pki.certPem, "key.pem": pki.keyPem });
}

// ---- airlock client ↔ openssl s_server ---------------------------------------------------------------

interface ClientCase {
  readonly keyType?: TestKeyType;
  /** Extra s_server arguments; a function gets the paths of the certificate and key files. */
  readonly serverArgs?: readonly string[] | ((path: (name: string) => string) => readonly string[]);
  readonly client?: Partial<ClientConfig>;
  /** Send KeyUpdate(update_requested) after the handshake, before the data. */
  readonly keyUpdate?: boolean;
  /** Replaces the default exchange of two short lines. */
  readonly exchange?: (tls: TlsSocket, lines: LineReader) => Promise<void>;
}

interface ClientResult {
  readonly info: HandshakeInfo;
  readonly secrets: readonly SecretsInfo[];
  readonly server: Peer;
}

/**
 * Run `openssl s_server -rev` (it answers each line reversed) for one connection, connect the airlock client,
 * pin the server's certificate, send a line, check the reversed answer and close with close_notify.
 */
function clientAgainstSServer(c: ClientCase): Promise<ClientResult> {
  requireOpenssl();
  return scoped(async (scope) => {
    const keyType = c.keyType ?? "ecdsa-p256";
    const pki = await generateTestCertificate(keyType);
    const path = await pemFiles(scope, keyType);
    const server = scope.spawn("openssl", [
      "s_server",
      "-tls1_3",
      "-naccept",
      "1",
      "-accept",
      "127.0.0.1:0",
      "-cert",
      path("cert.pem"),
      "-key",
      path("key.pem"),
      "-rev",
      ...(typeof c.serverArgs === "function" ? c.serverArgs(path) : c.serverArgs ?? []),
    ]);
    const [, port] = await server.waitFor(/^ACCEPT 127\.0\.0\.1:(\d+)$/m);
    const socket = await scope.connect(Number(port));

    const { engine, network } = createBioPair();
    let pinned = false;
    const client = createClient({
      serverName: "localhost",
      verifyPeer: ({ chain }) => (pinned = chain[0] !== undefined && ctEqual(chain[0], pki.chain[0]!)),
      ...c.client,
    }, engine);
    const secrets: SecretsInfo[] = [];
    on(client, "secrets", (s) => secrets.push(s));
    const tls = pumpSocket(client, network, socket);
    const lines = new LineReader(tls);

    const info = await tls.handshake();
    assert.equal(pinned, true, "verifyPeer saw the pinned certificate");
    if (c.keyUpdate) await tls.keyUpdate(true);
    if (c.exchange) {
      await c.exchange(tls, lines);
    } else {
      await tls.write(utf8("hello from airlock\n"));
      assert.equal(await lines.next(), "kcolria morf olleh", server.output);
      await tls.write(utf8("second line\n"));
      assert.equal(await lines.next(), "enil dnoces", server.output);
    }
    await tls.close();

    const exit = await server.exited;
    assert.equal(exit.code, 0, server.output);
    // s_server prints this once SSL_read returned 0: it got our close_notify (an EOF alone is an error).
    assert.match(server.stderr, /CONNECTION CLOSED/, server.output);
    assert.match(server.stderr, /Protocol version: TLSv1\.3/, server.output);
    assert.match(server.stderr, new RegExp(`Ciphersuite: ${info.cipherSuite}\\b`), server.output);
    return { info, secrets, server };
  });
}

Deno.test("openssl s_server ↔ airlock client: ALPN", async () => {
  const { info } = await clientAgainstSServer({
    serverArgs: ["-alpn", "http/1.1,h2"],
    client: { alpnProtocols: ["h2", "http/1.1"] },
  });
  // s_server picks by its own preference order.
  assert.equal(info.alpn, "http/1.1");
});

Deno.test("security: openssl s_server ↔ airlock client: SNI bücher.example arrives as its A-label", async () => {
  // s_server switches to its -cert2 context when the name matches -servername, and with -servername_fatal
  // ends the handshake with a fatal unrecognized_name otherwise (raw UTF-8 did not match).
  const { server } = await clientAgainstSServer({
    serverArgs: (path) => [
      ...["-servername", "xn--bcher-kva.example", "-servername_fatal"],
      ...["-cert2", path("cert.pem"), "-key2", path("key.pem")],
    ],
    client: { serverName: "bücher.example" },
  });
  assert.match(server.output, /Hostname in TLS extension: "xn--bcher-kva\.example"/);
  assert.match(server.output, /Switching server context/);
});

Deno.test("security: openssl s_server ↔ airlock client: no SNI for an IP address, none with a trailing dot", async () => {
  for (const [serverName, sent] of [["127.0.0.1", undefined], ["LocalHost.", "localhost"]] as const) {
    const { server } = await clientAgainstSServer({
      serverArgs: (
        path,
      ) => ["-servername", "localhost", "-cert2", path("cert.pem"), "-key2", path("key.pem")],
      client: { serverName },
    });
    if (sent === undefined) assert.doesNotMatch(server.output, /Hostname in TLS extension/);
    else assert.match(server.output, new RegExp(`Hostname in TLS extension: "${sent}"`));
  }
});

Deno.test("openssl s_server ↔ airlock client: KeyUpdate with update_requested", async () => {
  // About 1 s: s_server -rev sleeps a second whenever a read yields no data ("read R BLOCK"), as it
  // does after handling our KeyUpdate.
  const { secrets } = await clientAgainstSServer({ keyUpdate: true });
  const application = (direction: "read" | "write") =>
    secrets.filter((s) => s.level === "application" && s.direction === direction).length;
  // Handshake-time traffic secrets, then our update, then the server's answering update.
  assert.equal(application("write"), 2);
  assert.equal(application("read"), 2);
});

Deno.test("openssl s_server ↔ airlock client: 1 MiB in both directions, through back-pressure", async () => {
  const line = (i: number) => `${String(i).padStart(6, "0")}:${"abcdefghij".repeat(409)}`; // 4097 chars
  await clientAgainstSServer({
    exchange: async (tls, lines) => {
      // Batches of 32 lines (128 KiB): more than the BIO holds, less than would stall both peers' writes.
      for (let batch = 0; batch < 8; batch++) {
        const numbers = Array.from({ length: 32 }, (_, i) => batch * 32 + i);
        await tls.write(utf8(numbers.map((i) => `${line(i)}\n`).join("")));
        for (const i of numbers) {
          assert.equal(await lines.next(), [...line(i)].reverse().join(""), `line ${i}`);
        }
      }
    },
  });
});

Deno.test("openssl s_server ↔ airlock client: a certificate that misses the pin fails with bad_certificate", async () => {
  requireOpenssl();
  await scoped(async (scope) => {
    const path = await pemFiles(scope, "ecdsa-p256");
    const other = await generateTestCertificate("ecdsa-p384");
    const server = scope.spawn("openssl", [
      "s_server",
      "-tls1_3",
      "-naccept",
      "1",
      "-accept",
      "127.0.0.1:0",
      "-cert",
      path("cert.pem"),
      "-key",
      path("key.pem"),
      "-rev",
    ]);
    const [, port] = await server.waitFor(/^ACCEPT 127\.0\.0\.1:(\d+)$/m);
    const socket = await scope.connect(Number(port));
    const { engine, network } = createBioPair();
    const client = createClient({
      serverName: "localhost",
      verifyPeer: ({ chain }) => chain[0] !== undefined && ctEqual(chain[0], other.chain[0]!),
    }, engine);
    const tls = pumpSocket(client, network, socket);
    await assert.rejects(tls.handshake(), (e: unknown) => {
      assert.ok(e instanceof TlsError, String(e));
      assert.equal(e.code, "certificate.rejected");
      assert.equal(e.alert, "bad_certificate");
      return true;
    });
    // The alert reached s_server, which gives up on the connection.
    await server.exited;
    assert.match(server.stderr, /alert bad certificate/, server.output);
  });
});

// ---- openssl s_client ↔ airlock server ---------------------------------------------------------------

interface ServerCase {
  readonly keyType?: TestKeyType;
  readonly server?: Partial<ServerConfig>;
  /** Extra s_client arguments. */
  readonly clientArgs?: readonly string[];
}

interface ServerResult {
  readonly info: HandshakeInfo;
  readonly client: Peer;
}

/**
 * Start the airlock server on an ephemeral port, connect `openssl s_client` to it (verifying our certificate
 * as its only trust anchor), send a line through s_client's stdin, echo it, close with close_notify and
 * check what s_client printed.
 */
function sClientAgainstServer(c: ServerCase): Promise<ServerResult> {
  requireOpenssl();
  return scoped(async (scope) => {
    const keyType = c.keyType ?? "ecdsa-p256";
    const pki = await generateTestCertificate(keyType);
    const key = await loadPrivateKey(pki.keyPkcs8);
    const path = await pemFiles(scope, keyType);
    const listener = await scope.listen();
    const client = scope.spawn("openssl", [
      "s_client",
      "-tls1_3",
      "-connect",
      `127.0.0.1:${listener.port}`,
      "-servername",
      "localhost",
      "-CAfile",
      path("cert.pem"),
      "-verify_hostname",
      "localhost",
      "-verify_return_error",
      ...(c.clientArgs ?? []),
    ]);
    const socket = await Promise.race([
      listener.accepted,
      client.exited.then(() =>
        Promise.reject(new Error(`s_client exited before connecting\n${client.output}`))
      ),
    ]);

    const { engine, network } = createBioPair();
    const server = createServer({ certificates: [{ chain: pki.chain, key }], ...c.server }, engine);
    const tls = pumpSocket(server, network, socket);
    const lines = new LineReader(tls);
    const info = await tls.handshake();
    assert.equal(info.serverName, "localhost");

    const token = `airlock-interop-${Math.random().toString(36).slice(2)}`;
    client.send(`${token}\n`);
    assert.equal(await lines.next(), token, client.output);
    await tls.write(utf8(`echo: ${token}\n`));
    // Our close_notify makes s_client answer with its own and exit.
    await tls.close();

    const exit = await client.exited;
    assert.equal(exit.code, 0, client.output);
    assert.match(client.stdout, new RegExp(`^echo: ${token}$`, "m"), client.output);
    assert.match(
      client.stdout,
      new RegExp(`^New, TLSv1\\.3, Cipher is ${info.cipherSuite}$`, "m"),
      client.output,
    );
    assert.match(client.stdout, /^Verify return code: 0 \(ok\)$/m, client.output);
    return { info, client };
  });
}

Deno.test("openssl s_client ↔ airlock server: ALPN", async () => {
  const { info, client } = await sClientAgainstServer({
    server: { alpnProtocols: ["http/1.1"] },
    clientArgs: ["-alpn", "h2,http/1.1"],
  });
  assert.equal(info.alpn, "http/1.1");
  assert.match(client.stdout, /^ALPN protocol: http\/1\.1$/m, client.output);
});

// ---- the matrix: suites, groups, HelloRetryRequest and certificate types, both ways -------------------

tls13Matrix<readonly string[]>({
  serverName: "openssl s_server",
  clientName: "openssl s_client",
  withServer: async (c) => {
    const { info, server } = await clientAgainstSServer({
      serverArgs: c.args.flat(),
      ...settings(c),
    });
    assert.equal(info.peerCertificates.length, 1);
    return { info, report: server.output };
  },
  withClient: async (c) => {
    const { info, client } = await sClientAgainstServer({
      clientArgs: c.args.flat(),
      ...settings(c),
    });
    return { info, report: client.stdout };
  },
  suites: (["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"] as const).map(
    (name) => ({ name, args: ["-ciphersuites", name] }),
  ),
  // s_client reports the server's key share as its "Server Temp Key".
  groups: [
    { name: "x25519", args: ["-groups", "X25519"], clientSays: /^Server Temp Key: X25519, 253 bits$/m },
    {
      name: "secp256r1",
      args: ["-groups", "P-256"],
      clientSays: /^Server Temp Key: ECDH, prime256v1, 256 bits$/m,
    },
    {
      name: "secp384r1",
      args: ["-groups", "P-384"],
      clientSays: /^Server Temp Key: ECDH, secp384r1, 384 bits$/m,
    },
  ],
  // s_client sends a key share for its first group only (X25519).
  hrr: { serverArgs: [["-groups", "P-256"]], clientArgs: [["-groups", "X25519:P-384"]] },
  certificates: [
    { type: "ecdsa-p256", scheme: "ecdsa_secp256r1_sha256", clientSays: /^Peer signature type: ECDSA$/m },
    { type: "ecdsa-p384", scheme: "ecdsa_secp384r1_sha384", clientSays: /^Peer signature type: ECDSA$/m },
    { type: "ed25519", scheme: "ed25519", clientSays: /^Peer signature type: ed25519$/m },
    { type: "rsa-2048", scheme: "rsa_pss_rsae_sha256", clientSays: /^Peer signature type: RSA-PSS$/m },
  ],
});
