// Copyright 2026 the airlock authors. MIT license.

/**
 * TLS 1.2 interop with OpenSSL on 127.0.0.1: the airlock client against `openssl s_server -rev`, and
 * `openssl s_client` against the airlock server, in TLS 1.2.
 *
 * - Every TLS 1.2 suite (ECDSA suites with an ECDSA certificate, RSA suites with an RSA one) each way,
 *   twice: once with both sides held to TLS 1.2, and once with the airlock side speaking TLS 1.2 only but
 *   its peer offering 1.2 and 1.3 (and the reverse), so that each suite meets two of the three groups
 *   x25519, secp256r1 and secp384r1. Certificates are CA-issued (root → intermediate → leaf) and verified
 *   for "localhost" on both sides. Lines travel both ways (s_server -rev answers each one reversed;
 *   our server echoes what s_client reads from its stdin), and each connection ends with close_notify.
 * - An Ed25519 certificate each way (RFC 8422: Ed25519 signs for the ECDSA suites); ALPN each way (in the
 *   ServerHello, in TLS 1.2); a PKCS#1 v1.5 ServerKeyExchange signature each way (`-sigalgs RSA+SHA256`);
 *   1 MiB each way through s_server -rev, with AES-GCM and with ChaCha20-Poly1305.
 * - Resumption: by ticket (RFC 5077) and by session id, each way; and a ticket or session id the server
 *   cannot use (other keys, an empty cache) falls back to a full handshake, each way.
 * - mTLS each way: `s_server -Verify 1`, and `s_client -cert -key` against `clientAuth` (without a
 *   certificate, s_client gets handshake_failure: TLS 1.2 has no certificate_required).
 * - The key log: our `CLIENT_RANDOM` line equals the one `-keylogfile` writes, for a full handshake each way
 *   and for a resumed one.
 * - Renegotiation is refused: s_client's `R` (a renegotiation ClientHello) and s_server's `r` (a
 *   HelloRequest) each get a no_renegotiation warning, and no second handshake happens.
 * - Downgrade protection: TLS_FALLBACK_SCSV (RFC 7507) each way, and the RFC 8446 §4.1.3 sentinel: an
 *   OpenSSL server that speaks TLS 1.3 marks its TLS 1.2 ServerHello, which a 1.2-only client ignores and a
 *   1.3 client whose supported_versions was stripped on the wire refuses.
 *
 * Each case is bounded by {@linkcode CASE_TIMEOUT_MS} and kills its peer in the end. Without `openssl` on
 * PATH every case fails with a message saying so.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type ClientConfig,
  createBioPair,
  createClient,
  type Extension,
  type HandshakeInfo,
  pemEncode,
  type ServerConfig,
  TlsSession,
} from "../../mod.ts";
import { generateChain, type TestChain, type TestKeyType } from "../../testing/pki.ts";
import {
  acceptServer,
  assertTls12,
  certified,
  clientChain,
  expectTlsError,
  type Listener,
  type Peer,
  readKeyLogFile,
  requireOpenssl,
  type Scope,
  scoped,
  serverChain,
  type WatchedTls,
  watchTls,
} from "../../testing/peers.ts";
import { settings, tls12Matrix } from "../../testing/interop.ts";

/** Our group names, OpenSSL's, and how s_client reports the server's key share. */
const GROUPS = [
  { name: "x25519", openssl: "X25519", tempKey: "X25519, 253 bits" },
  { name: "secp256r1", openssl: "P-256", tempKey: "ECDH, prime256v1, 256 bits" },
  { name: "secp384r1", openssl: "P-384", tempKey: "ECDH, secp384r1, 384 bits" },
] as const;

type Group = (typeof GROUPS)[number];

/** The TLS 1.2 suites: our name, OpenSSL's, and the certificate type that authenticates it. */
const SUITES = [
  {
    name: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    openssl: "ECDHE-ECDSA-AES128-GCM-SHA256",
    keyType: "ecdsa-p256",
  },
  {
    name: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    openssl: "ECDHE-RSA-AES128-GCM-SHA256",
    keyType: "rsa-2048",
  },
  {
    name: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    openssl: "ECDHE-ECDSA-AES256-GCM-SHA384",
    keyType: "ecdsa-p256",
  },
  {
    name: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    openssl: "ECDHE-RSA-AES256-GCM-SHA384",
    keyType: "rsa-2048",
  },
  {
    name: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    openssl: "ECDHE-ECDSA-CHACHA20-POLY1305",
    keyType: "ecdsa-p256",
  },
  {
    name: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    openssl: "ECDHE-RSA-CHACHA20-POLY1305",
    keyType: "rsa-2048",
  },
] as const;

type Suite = (typeof SUITES)[number];

/** The signature scheme each certificate type signs ServerKeyExchange with, and OpenSSL's name for it. */
const SCHEMES: Record<TestKeyType, { readonly scheme: string; readonly openssl: string }> = {
  "ecdsa-p256": { scheme: "ecdsa_secp256r1_sha256", openssl: "ECDSA" },
  "ecdsa-p384": { scheme: "ecdsa_secp384r1_sha384", openssl: "ECDSA" },
  "ed25519": { scheme: "ed25519", openssl: "ed25519" },
  "rsa-2048": { scheme: "rsa_pss_rsae_sha256", openssl: "RSA-PSS" },
};

const utf8 = (text: string) => new TextEncoder().encode(text);
const reverse = (text: string) => [...text].reverse().join("");

/**
 * Write a server chain and, optionally, a client chain where openssl can read them. s_server's `-cert`
 * takes the leaf alone, so the intermediate gets its own file for `-cert_chain`.
 */
function pemFiles(scope: Scope, server: TestChain, client?: TestChain): (name: string) => string {
  return scope.writeFiles({
    "server-leaf.pem": pemEncode(server.chain[0]!, "CERTIFICATE"),
    "server-inter.pem": pemEncode(server.chain[1]!, "CERTIFICATE"),
    "server-key.pem": server.keyPem,
    "server-root.pem": server.rootPem,
    ...(client
      ? {
        "client-chain.pem": client.chainPem,
        "client-key.pem": client.keyPem,
        "client-root.pem": client.rootPem,
      }
      : {}),
  });
}

/** OpenSSL's name for one of our suites. */
function opensslName(suite: string): string {
  const found = SUITES.find((s) => s.name === suite);
  assert.ok(found, `a TLS 1.2 suite: ${suite}`);
  return found.openssl;
}

// ---- airlock client ↔ openssl s_server ---------------------------------------------------------------

/**
 * Start `openssl s_server` with the server chain of `path` and `args` (the version, mode and count of
 * connections are the caller's), and wait until it listens.
 */
async function sServer(
  scope: Scope,
  path: (name: string) => string,
  args: readonly string[],
): Promise<{ server: Peer; port: number }> {
  requireOpenssl();
  const server = scope.spawn("openssl", [
    "s_server",
    "-accept",
    "127.0.0.1:0",
    "-cert",
    path("server-leaf.pem"),
    "-cert_chain",
    path("server-inter.pem"),
    "-key",
    path("server-key.pem"),
    ...args,
  ]);
  const [, port] = await server.waitFor(/^ACCEPT 127\.0\.0\.1:(\d+)$/m);
  return { server, port: Number(port) };
}

/** Connect an airlock client to 127.0.0.1:`port`, verifying the server's chain to `chain`'s root. */
async function connectClient(
  scope: Scope,
  port: number,
  chain: TestChain,
  config?: Partial<ClientConfig>,
): Promise<WatchedTls> {
  const { engine, network } = createBioPair();
  const client = createClient({ serverName: "localhost", trustAnchors: [chain.rootPem], ...config }, engine);
  return watchTls(client, network, await scope.connect(port));
}

/** Two lines to s_server -rev, each answered reversed. */
async function exchangeReversed(c: WatchedTls, server: Peer): Promise<void> {
  for (const line of ["hello from airlock", "a second line, in TLS 1.2"]) {
    await c.tls.write(utf8(`${line}\n`));
    assert.equal(await c.lines.next(), reverse(line), server.output);
  }
}

interface ClientCase {
  readonly keyType?: TestKeyType;
  /** s_server arguments beyond the certificate: the version, restrictions, options. */
  readonly serverArgs: readonly string[];
  readonly client?: Partial<ClientConfig>;
  /** The scheme s_server signs ServerKeyExchange with, when not the certificate type's usual one. */
  readonly scheme?: string;
  /** Replaces the default exchange of two short lines. */
  readonly exchange?: (c: WatchedTls, server: Peer) => Promise<void>;
}

interface ClientResult {
  readonly info: HandshakeInfo;
  readonly connection: WatchedTls;
  readonly server: Peer;
  readonly path: (name: string) => string;
}

/**
 * Run `openssl s_server -rev` for one connection, connect the airlock client (verifying the chain by name),
 * exchange two lines, close with close_notify both ways and check what s_server printed.
 */
function clientAgainstSServer(c: ClientCase): Promise<ClientResult> {
  return scoped(async (scope) => {
    const keyType = c.keyType ?? "ecdsa-p256";
    const chain = await serverChain(keyType);
    const path = pemFiles(scope, chain);
    const { server, port } = await sServer(scope, path, ["-naccept", "1", "-rev", ...c.serverArgs]);
    const connection = await connectClient(scope, port, chain, c.client);
    const info = await connection.tls.handshake();
    assertTls12(info);
    assert.equal(info.peerCertificates.length, 2, "the leaf and the intermediate");
    assert.equal(info.signatureScheme, c.scheme ?? SCHEMES[keyType].scheme);
    await (c.exchange ?? exchangeReversed)(connection, server);
    await connection.tls.close();
    assert.deepEqual(connection.alerts, ["sent warning close_notify", "received warning close_notify"]);

    const exit = await server.exited;
    assert.equal(exit.code, 0, server.output);
    // s_server prints this once SSL_read returned 0: it got our close_notify (an EOF alone is an error).
    assert.match(server.stderr, /CONNECTION CLOSED/, server.output);
    assert.match(server.stderr, /^Protocol version: TLSv1\.2$/m, server.output);
    assert.match(
      server.stderr,
      new RegExp(`^Ciphersuite: ${opensslName(info.cipherSuite)}$`, "m"),
      server.output,
    );
    return { info, connection, server, path };
  });
}

Deno.test("openssl s_server -tls1_2 ↔ airlock client: Ed25519 certificate", async () => {
  const { info, server } = await clientAgainstSServer({ keyType: "ed25519", serverArgs: ["-tls1_2"] });
  assert.equal(info.signatureScheme, "ed25519");
  assert.match(info.cipherSuite, /^TLS_ECDHE_ECDSA_/);
  assert.match(server.stderr, /^Protocol version: TLSv1\.2$/m, server.output);
});

Deno.test("openssl s_server (TLS 1.2 and 1.3) ↔ airlock client with maxVersion TLSv1.2: the sentinel is ignored", async () => {
  // s_server speaks TLS 1.3 too, so its TLS 1.2 ServerHello ends with the RFC 8446 §4.1.3 sentinel; a client
  // that offered TLS 1.2 only must go on.
  const { info } = await clientAgainstSServer({ serverArgs: [], client: { maxVersion: "TLSv1.2" } });
  assertTls12(info);
});

Deno.test("openssl s_server -tls1_2 -sigalgs RSA+SHA256 ↔ airlock client: a PKCS#1 v1.5 ServerKeyExchange", async () => {
  // TLS 1.2 signs ServerKeyExchange with rsa_pkcs1_* when the peers agree on nothing better (TLS 1.3 never does).
  const { info } = await clientAgainstSServer({
    keyType: "rsa-2048",
    serverArgs: ["-tls1_2", "-sigalgs", "RSA+SHA256"],
    scheme: "rsa_pkcs1_sha256",
  });
  assert.match(info.cipherSuite, /^TLS_ECDHE_RSA_/);
});

Deno.test("openssl s_server -tls1_2 ↔ airlock client: ALPN in the ServerHello", async () => {
  const { info } = await clientAgainstSServer({
    serverArgs: ["-tls1_2", "-alpn", "http/1.1,h2"],
    client: { alpnProtocols: ["h2", "http/1.1"] },
  });
  // s_server picks by its own preference order.
  assert.equal(info.alpn, "http/1.1");
});

for (const suite of [SUITES[3], SUITES[4]]) {
  Deno.test(`openssl s_server -tls1_2 ↔ airlock client: 1 MiB both ways, ${suite.name}`, async () => {
    // Some 260 records each way: AES-GCM's explicit nonces and ChaCha20-Poly1305's sequence-derived ones.
    const line = (i: number) => `${String(i).padStart(6, "0")}:${"abcdefghij".repeat(409)}`; // 4097 chars
    const { info } = await clientAgainstSServer({
      keyType: suite.keyType,
      serverArgs: ["-tls1_2", "-cipher", suite.openssl],
      exchange: async (c) => {
        // Batches of 32 lines (128 KiB): more than the BIO holds, less than would stall both peers' writes.
        for (let batch = 0; batch < 8; batch++) {
          const numbers = Array.from({ length: 32 }, (_, i) => batch * 32 + i);
          await c.tls.write(utf8(numbers.map((i) => `${line(i)}\n`).join("")));
          for (const i of numbers) assert.equal(await c.lines.next(), reverse(line(i)), `line ${i}`);
        }
      },
    });
    assertTls12(info, suite);
  });
}

// ---- openssl s_client ↔ airlock server ---------------------------------------------------------------
//
// Here our server picks the group: s_client offers its default list. In TLS 1.2 the client's groups bind the
// ECDSA certificate's curve too (RFC 8422 §5.3; OpenSSL refuses others with "wrong curve"), so our server
// uses an ECDSA certificate only on a curve s_client lists (tests/tls12_test.ts checks that choice).

/**
 * Start `openssl s_client` against `listener`, verifying our chain to its root for `name` (sent as SNI), with
 * `args` (the version and restrictions are the caller's).
 */
function sClient(
  scope: Scope,
  listener: Listener,
  path: (name: string) => string,
  args: readonly string[],
  name = "localhost",
): Peer {
  requireOpenssl();
  return scope.spawn("openssl", [
    "s_client",
    "-connect",
    `127.0.0.1:${listener.port}`,
    "-servername",
    name,
    "-CAfile",
    path("server-root.pem"),
    "-verify_hostname",
    name,
    "-verify_return_error",
    ...args,
  ]);
}

/**
 * A line from s_client's stdin, echoed back; then our close_notify, which s_client answers with its own
 * before it exits.
 */
async function exchangeEcho(c: WatchedTls, client: Peer): Promise<void> {
  // Not "R…", "K…", "Q…": s_client takes those as commands.
  const token = `airlock-tls12-${Math.random().toString(36).slice(2)}`;
  client.send(`${token}\n`);
  assert.equal(await c.lines.next(), token, client.output);
  await c.tls.write(utf8(`echo: ${token}\n`));
  await c.tls.close();
  assert.deepEqual(c.alerts, ["sent warning close_notify", "received warning close_notify"]);
  const exit = await client.exited;
  assert.equal(exit.code, 0, client.output);
  assert.match(client.stdout, new RegExp(`^echo: ${token}$`, "m"), client.output);
}

/** What s_client prints for a good TLS 1.2 session with our server. */
function assertSClientTls12(client: Peer, info: HandshakeInfo, how: "New" | "Reused" = "New"): void {
  const text = client.stdout;
  assert.match(
    text,
    new RegExp(`^${how}, TLSv1\\.2, Cipher is ${opensslName(info.cipherSuite)}$`, "m"),
    client.output,
  );
  assert.match(text, /^\s*Verify return code: 0 \(ok\)$/m, client.output);
  assert.match(text, /^\s*Extended master secret: yes$/m, client.output);
  assert.match(text, /^Secure Renegotiation IS supported$/m, client.output);
}

interface ServerCase {
  readonly keyType?: TestKeyType;
  readonly server?: Partial<ServerConfig>;
  /** s_client arguments beyond the connection and verification: the version, restrictions, options. */
  readonly clientArgs: readonly string[];
  /** The scheme our server signs ServerKeyExchange with, when not the certificate type's usual one. */
  readonly scheme?: { readonly scheme: string; readonly openssl: string };
}

interface ServerResult {
  readonly info: HandshakeInfo;
  readonly connection: WatchedTls;
  readonly client: Peer;
}

/**
 * Start the airlock server on an ephemeral port, connect `openssl s_client` to it, echo a line, close with
 * close_notify and check what s_client printed.
 */
function sClientAgainstServer(c: ServerCase): Promise<ServerResult> {
  return scoped(async (scope) => {
    const keyType = c.keyType ?? "ecdsa-p256";
    const chain = await serverChain(keyType);
    const path = pemFiles(scope, chain);
    const listener = await scope.listen();
    const client = sClient(scope, listener, path, c.clientArgs);
    const connection = await acceptServer("s_client", listener, client, {
      certificates: [await certified(chain)],
      ...c.server,
    });
    const info = await connection.tls.handshake();
    assertTls12(info);
    assert.equal(info.serverName, "localhost");
    const scheme = c.scheme ?? SCHEMES[keyType];
    assert.equal(info.signatureScheme, scheme.scheme);
    await exchangeEcho(connection, client);
    assertSClientTls12(client, info);
    assert.match(
      client.stdout,
      new RegExp(`^Peer signature type: ${scheme.openssl}$`, "m"),
      client.output,
    );
    return { info, connection, client };
  });
}

Deno.test("openssl s_client -tls1_2 ↔ airlock server: Ed25519 certificate", async () => {
  const { info } = await sClientAgainstServer({ keyType: "ed25519", clientArgs: ["-tls1_2"] });
  assert.equal(info.signatureScheme, "ed25519");
  assert.match(info.cipherSuite, /^TLS_ECDHE_ECDSA_/);
});

Deno.test("openssl s_client -tls1_2 -sigalgs RSA+SHA256 ↔ airlock server: a PKCS#1 v1.5 ServerKeyExchange", async () => {
  const { info } = await sClientAgainstServer({
    keyType: "rsa-2048",
    clientArgs: ["-tls1_2", "-sigalgs", "RSA+SHA256"],
    scheme: { scheme: "rsa_pkcs1_sha256", openssl: "RSA" },
  });
  assert.match(info.cipherSuite, /^TLS_ECDHE_RSA_/);
});

Deno.test("openssl s_client -tls1_2 ↔ airlock server: ALPN in the ServerHello", async () => {
  const { info, client } = await sClientAgainstServer({
    server: { alpnProtocols: ["http/1.1"] },
    clientArgs: ["-tls1_2", "-alpn", "h2,http/1.1"],
  });
  assert.equal(info.alpn, "http/1.1");
  assert.match(client.stdout, /^ALPN protocol: http\/1\.1$/m, client.output);
});

Deno.test("security: openssl s_client -tls1_2 -servername gets the RSA certificate for its name beside an ECDSA one", async () => {
  // Issue #15, finding 11: the server prefers ECDHE_ECDSA, but only the RSA certificate is for a.example.
  await scoped(async (scope) => {
    const rsa = await generateChain({ keyType: "rsa-2048", intermediate: true, dnsNames: ["a.example"] });
    const path = pemFiles(scope, rsa);
    const listener = await scope.listen();
    const client = sClient(scope, listener, path, ["-tls1_2"], "a.example");
    const connection = await acceptServer("s_client", listener, client, {
      certificates: [await certified(await serverChain("ecdsa-p256")), await certified(rsa)],
    });
    const info = await connection.tls.handshake();
    // The suite is s_client's first choice (cipherSuitePreference "client"), an ECDHE_RSA one: the RSA certificate.
    assertTls12(info, { name: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" });
    assert.equal(info.serverName, "a.example");
    await exchangeEcho(connection, client);
    assertSClientTls12(client, info);
  });
});

// ---- resumption ----------------------------------------------------------------------------------------

/**
 * Two connections of the airlock client to `openssl s_server -tls1_2 -rev` (plus `serverArgs`): the second
 * offers the session the first one gave, and resumes it; or, when `forgotten`, offers it to a second
 * s_server that never knew it (its own ticket key and cache, as after a restart), which makes a full
 * handshake. Returns both connections.
 */
function resumeAgainstSServer(
  serverArgs: readonly string[],
  forgotten = false,
): Promise<readonly [WatchedTls, WatchedTls]> {
  return scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const path = pemFiles(scope, chain);
    const args = ["-tls1_2", "-naccept", forgotten ? "1" : "2", "-rev", ...serverArgs];
    const servers = [await sServer(scope, path, args)];
    if (forgotten) servers.push(await sServer(scope, path, args));
    const run = async (index: number, session?: TlsSession) => {
      const { server, port } = servers[Math.min(index, servers.length - 1)]!;
      const c = await connectClient(scope, port, chain, session ? { session } : {});
      const info = await c.tls.handshake();
      assertTls12(info);
      await exchangeReversed(c, server);
      await c.tls.close();
      return c;
    };
    const first = await run(0);
    assert.equal(first.handshakes[0]!.resumed, false);
    assert.equal(first.sessions.length, 1, "one session from a TLS 1.2 handshake");
    assert.equal(first.sessions[0]!.version, "TLSv1.2");
    assert.equal(first.sessions[0]!.data.extendedMasterSecret, true);
    // Through bytes, as an application would store it.
    const second = await run(1, TlsSession.fromBytes(first.sessions[0]!.toBytes()));
    const info = second.handshakes[0]!;
    assert.equal(info.resumed, !forgotten);
    assert.equal(info.cipherSuite, first.handshakes[0]!.cipherSuite);
    if (forgotten) {
      assert.equal(info.signatureScheme, "ecdsa_secp256r1_sha256", "a full handshake");
      assert.equal(second.sessions.length, 1, "a new session");
    } else {
      assert.equal(info.signatureScheme, undefined, "no certificate in an abbreviated handshake");
    }
    assert.deepEqual(info.peerCertificates, first.handshakes[0]!.peerCertificates);
    for (const { server } of servers) assert.equal((await server.exited).code, 0, server.output);
    const hits = forgotten ? 0 : 1;
    const last = servers.at(-1)!.server;
    assert.match(last.stdout, new RegExp(`^\\s*${hits} session cache hits$`, "m"), last.output);
    return [first, second] as const;
  });
}

Deno.test("openssl s_server -tls1_2 ↔ airlock client: the second connection resumes with a ticket", async () => {
  const [first] = await resumeAgainstSServer([]);
  assert.ok(first.sessions[0]!.data.ticket.length > 0, "OpenSSL sent a ticket");
});

Deno.test("openssl s_server -tls1_2 -no_ticket ↔ airlock client: the second connection resumes by session id", async () => {
  const [first] = await resumeAgainstSServer(["-no_ticket"]);
  // No ticket: the session is the 32-byte id OpenSSL gave it.
  assert.equal(first.sessions[0]!.data.ticket.length, 0);
  assert.equal(first.sessions[0]!.data.sessionId.length, 32);
});

Deno.test("openssl s_server -tls1_2 ↔ airlock client: a ticket the server cannot open gets a full handshake", async () => {
  await resumeAgainstSServer([], true);
});

Deno.test("openssl s_server -tls1_2 -no_ticket ↔ airlock client: an unknown session id gets a full handshake", async () => {
  const [first, second] = await resumeAgainstSServer(["-no_ticket"], true);
  assert.notDeepEqual(second.sessions[0]!.data.sessionId, first.sessions[0]!.data.sessionId);
});

/**
 * Two runs of `openssl s_client -tls1_2 -sess_out`, then `-sess_in` (plus `clientArgs`) against the airlock
 * server: one configuration for both, so the second is reused; or, when `forgotten`, a second configuration
 * with its own ticket keys and session cache (as after a restart), which makes a full handshake. Both runs
 * write their key log, which must equal ours line for line.
 */
function sClientResumes(clientArgs: readonly string[], forgotten = false): Promise<readonly [Peer, Peer]> {
  return scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const path = pemFiles(scope, chain);
    const certificates = [await certified(chain)];
    const configs: ServerConfig[] = [{ certificates }];
    configs.push(forgotten ? { certificates } : configs[0]!);
    const listener = await scope.listen();
    const run = async (index: number, args: readonly string[], keys: string) => {
      const client = sClient(scope, listener, path, [
        "-tls1_2",
        "-keylogfile",
        path(keys),
        ...args,
        ...clientArgs,
      ]);
      const c = await acceptServer("s_client", listener, client, configs[index]!);
      const info = await c.tls.handshake();
      assertTls12(info);
      await exchangeEcho(c, client);
      assertSClientTls12(client, info, info.resumed ? "Reused" : "New");
      assert.deepEqual(c.keylog, readKeyLogFile(path(keys)), "our key log and s_client's");
      return { info, client };
    };
    const first = await run(0, ["-sess_out", path("session.pem")], "first.keys");
    assert.equal(first.info.resumed, false);
    const second = await run(1, ["-sess_in", path("session.pem")], "second.keys");
    assert.equal(second.info.resumed, !forgotten);
    assert.equal(
      second.info.signatureScheme,
      forgotten ? "ecdsa_secp256r1_sha256" : undefined,
      "a certificate in a full handshake only",
    );
    return [first.client, second.client] as const;
  });
}

Deno.test("openssl s_client -tls1_2 -sess_out/-sess_in ↔ airlock server: reused with a ticket", async () => {
  const [first, second] = await sClientResumes([]);
  assert.match(first.stdout, /^\s*TLS session ticket:$/m, first.output);
  assert.match(second.stdout, /^Reused, TLSv1\.2, /m, second.output);
});

Deno.test("openssl s_client -tls1_2 -no_ticket -sess_out/-sess_in ↔ airlock server: reused by session id", async () => {
  const [first, second] = await sClientResumes(["-no_ticket"]);
  assert.doesNotMatch(first.stdout, /TLS session ticket:/, first.output);
  const id = first.stdout.match(/^\s*Session-ID: ([0-9A-F]*)$/m)?.[1];
  assert.equal(id?.length, 64, `a 32-byte session id\n${first.output}`);
  assert.equal(second.stdout.match(/^\s*Session-ID: ([0-9A-F]*)$/m)?.[1], id, second.output);
  assert.match(second.stdout, /^Reused, TLSv1\.2, /m, second.output);
});

Deno.test("openssl s_client -tls1_2 -sess_in ↔ airlock server: a ticket from other keys gets a full handshake", async () => {
  const [, second] = await sClientResumes([], true);
  assert.match(second.stdout, /^New, TLSv1\.2, /m, second.output);
});

Deno.test("openssl s_client -tls1_2 -no_ticket -sess_in ↔ airlock server: an unknown session id gets a full handshake", async () => {
  const [first, second] = await sClientResumes(["-no_ticket"], true);
  const id = (peer: Peer) => peer.stdout.match(/^\s*Session-ID: ([0-9A-F]*)$/m)?.[1];
  assert.equal(id(second)?.length, 64, second.output);
  assert.notEqual(id(second), id(first), second.output);
  assert.match(second.stdout, /^New, TLSv1\.2, /m, second.output);
});

// ---- mTLS ------------------------------------------------------------------------------------------------

Deno.test("openssl s_server -tls1_2 -Verify 1 ↔ airlock client with a certificate (mTLS)", async () => {
  await scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const clientPki = await clientChain();
    const path = pemFiles(scope, chain, clientPki);
    const { server, port } = await sServer(scope, path, [
      "-tls1_2",
      "-naccept",
      "1",
      "-rev",
      "-Verify",
      "1",
      "-verify_return_error",
      "-CAfile",
      path("client-root.pem"),
    ]);
    const c = await connectClient(scope, port, chain, { clientCertificate: await certified(clientPki) });
    assertTls12(await c.tls.handshake());
    await exchangeReversed(c, server);
    await c.tls.close();
    assert.equal((await server.exited).code, 0, server.output);
    // s_server verified our chain (depth 1: the root, 0: the leaf) and the signature of our CertificateVerify.
    assert.match(server.stderr, /^depth=0 CN = airlock test client\nverify return:1$/m, server.output);
    assert.match(server.stderr, /^Peer certificate: CN = airlock test client$/m, server.output);
    assert.match(server.stderr, /^Signature type: ECDSA\nVerification: OK$/m, server.output);
  });
});

Deno.test("openssl s_client -tls1_2 -cert/-key ↔ airlock server requiring a certificate (mTLS)", async () => {
  await scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const clientPki = await clientChain();
    const path = pemFiles(scope, chain, clientPki);
    const listener = await scope.listen();
    const client = sClient(scope, listener, path, [
      "-tls1_2",
      "-cert",
      path("client-chain.pem"),
      "-key",
      path("client-key.pem"),
    ]);
    const c = await acceptServer("s_client", listener, client, {
      certificates: [await certified(chain)],
      clientAuth: { required: true, trustAnchors: [clientPki.rootPem] },
    });
    const info = await c.tls.handshake();
    assertTls12(info);
    assert.equal(info.peerCertificates.length, 1);
    assert.deepEqual(info.peerCertificates[0], clientPki.chain[0]);
    await exchangeEcho(c, client);
    assertSClientTls12(client, info);
    // Our CertificateRequest named the client root.
    assert.match(
      client.stdout,
      /^Acceptable client certificate CA names\nCN = airlock test root \d+$/m,
      client.output,
    );
  });
});

Deno.test("openssl s_client -tls1_2 without a certificate ↔ airlock server requiring one: handshake_failure", async () => {
  await scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const clientPki = await clientChain();
    const path = pemFiles(scope, chain);
    const listener = await scope.listen();
    const client = sClient(scope, listener, path, ["-tls1_2"]);
    const c = await acceptServer("s_client", listener, client, {
      certificates: [await certified(chain)],
      clientAuth: { required: true, trustAnchors: [clientPki.rootPem] },
    });
    // RFC 5246 §7.4.6: TLS 1.2 has no certificate_required alert.
    await expectTlsError(c.tls.handshake(), "certificate.required", "handshake_failure");
    assert.notEqual((await client.exited).code, 0, client.output);
    assert.match(client.stderr, /alert handshake failure/, client.output);
  });
});

// ---- key log -------------------------------------------------------------------------------------------

/** One `CLIENT_RANDOM <client random> <master secret>` line, as NSS writes it. */
function assertClientRandomLine(lines: readonly string[]): void {
  assert.equal(lines.length, 1, `one line: ${lines.join("\n")}`);
  assert.match(lines[0]!, /^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$/);
}

Deno.test("key log: airlock client and openssl s_server -tls1_2 -keylogfile write the same CLIENT_RANDOM line", async () => {
  await scoped(async (scope) => {
    const chain = await serverChain("rsa-2048");
    const path = pemFiles(scope, chain);
    const { server, port } = await sServer(scope, path, [
      "-tls1_2",
      "-naccept",
      "1",
      "-rev",
      "-keylogfile",
      path("server.keys"),
    ]);
    const c = await connectClient(scope, port, chain, { maxVersion: "TLSv1.2" });
    assertTls12(await c.tls.handshake());
    await exchangeReversed(c, server);
    await c.tls.close();
    assert.equal((await server.exited).code, 0, server.output);
    assertClientRandomLine(c.keylog);
    assert.deepEqual(c.keylog, readKeyLogFile(path("server.keys")));
  });
});

Deno.test("key log: airlock server and openssl s_client -tls1_2 -keylogfile write the same CLIENT_RANDOM line", async () => {
  await scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const path = pemFiles(scope, chain);
    const listener = await scope.listen();
    const client = sClient(scope, listener, path, [
      "-tls1_2",
      "-cipher",
      "ECDHE-ECDSA-AES256-GCM-SHA384",
      "-keylogfile",
      path("client.keys"),
    ]);
    const c = await acceptServer("s_client", listener, client, { certificates: [await certified(chain)] });
    assertTls12(await c.tls.handshake());
    await exchangeEcho(c, client);
    assertClientRandomLine(c.keylog);
    assert.deepEqual(c.keylog, readKeyLogFile(path("client.keys")));
  });
});

// ---- renegotiation ---------------------------------------------------------------------------------------

Deno.test("openssl s_client -tls1_2 ↔ airlock server: a renegotiation ClientHello gets no_renegotiation", async () => {
  await scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const path = pemFiles(scope, chain);
    const listener = await scope.listen();
    const client = sClient(scope, listener, path, ["-tls1_2"]);
    const c = await acceptServer("s_client", listener, client, { certificates: [await certified(chain)] });
    assertTls12(await c.tls.handshake());
    client.send("before\n");
    assert.equal(await c.lines.next(), "before", client.output);
    // "R" makes s_client call SSL_renegotiate; the ClientHello goes out with its next write.
    client.send("R\n");
    await client.waitFor(/^RENEGOTIATING$/m);
    client.send("after\n");
    // OpenSSL answers a refused renegotiation with a fatal handshake_failure (it wanted one).
    await expectTlsError(c.lines.next(), "alert_received.handshake_failure");
    assert.deepEqual(c.alerts, ["sent warning no_renegotiation", "received fatal handshake_failure"]);
    assert.equal(c.handshakes.length, 1, "no second handshake");
    assert.notEqual((await client.exited).code, 0, client.output);
    assert.match(client.stderr, /:no renegotiation:/, client.output);
    assert.match(client.stdout, /^Secure Renegotiation IS supported$/m, client.output);
  });
});

Deno.test("openssl s_server -tls1_2 ↔ airlock client: a HelloRequest gets no_renegotiation", async () => {
  await scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const path = pemFiles(scope, chain);
    // Without -rev, s_server prints what it reads and takes commands from its stdin: "r" renegotiates.
    const { server, port } = await sServer(scope, path, ["-tls1_2", "-naccept", "1"]);
    const c = await connectClient(scope, port, chain);
    assertTls12(await c.tls.handshake());
    await c.tls.write(utf8("before\n"));
    // s_server writes what it reads straight to its stdout (its own messages sit in a stdio buffer).
    await server.waitFor(/^before$/m);
    // Reading, we take in the HelloRequest and answer it; OpenSSL then gives up with a fatal
    // handshake_failure (it wanted a renegotiation).
    const reading = c.lines.next();
    server.send("r\n");
    await expectTlsError(reading, "alert_received.handshake_failure");
    assert.deepEqual(c.alerts, ["sent warning no_renegotiation", "received fatal handshake_failure"]);
    assert.equal(c.handshakes.length, 1, "no second handshake");
    await server.exited;
    assert.match(server.stderr, /:no renegotiation:/, server.output);
  });
});

// ---- downgrade protection --------------------------------------------------------------------------------

Deno.test("openssl s_client -tls1_2 -fallback_scsv ↔ airlock server (TLS 1.2 and 1.3): inappropriate_fallback", async () => {
  await scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const path = pemFiles(scope, chain);
    const listener = await scope.listen();
    const client = sClient(scope, listener, path, ["-tls1_2", "-fallback_scsv"]);
    const c = await acceptServer("s_client", listener, client, { certificates: [await certified(chain)] });
    await expectTlsError(
      c.tls.handshake(),
      "peer_incompatible.inappropriate_fallback",
      "inappropriate_fallback",
    );
    assert.deepEqual(c.alerts, ["sent fatal inappropriate_fallback"]);
    assert.notEqual((await client.exited).code, 0, client.output);
    assert.match(client.stderr, /alert inappropriate fallback/, client.output);
  });
});

Deno.test("openssl s_client -tls1_2 -fallback_scsv ↔ airlock server (TLS 1.2 only): accepted", async () => {
  // A server with nothing above TLS 1.2 has no higher version to fall back from.
  const { info } = await sClientAgainstServer({
    server: { maxVersion: "TLSv1.2" },
    clientArgs: ["-tls1_2", "-fallback_scsv"],
  });
  assertTls12(info);
});

Deno.test("openssl s_server (TLS 1.2 and 1.3) ↔ airlock client with fallbackScsv: inappropriate_fallback", async () => {
  await scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const path = pemFiles(scope, chain);
    const { server, port } = await sServer(scope, path, ["-naccept", "1", "-rev"]);
    const c = await connectClient(scope, port, chain, { maxVersion: "TLSv1.2", fallbackScsv: true });
    await expectTlsError(
      c.tls.handshake(),
      "alert_received.inappropriate_fallback",
      "inappropriate_fallback",
    );
    await server.exited;
    assert.match(server.stderr, /inappropriate fallback/, server.output);
  });
});

Deno.test("openssl s_server -tls1_2 ↔ airlock client with fallbackScsv: accepted", async () => {
  const { info } = await clientAgainstSServer({
    serverArgs: ["-tls1_2"],
    client: { maxVersion: "TLSv1.2", fallbackScsv: true },
  });
  assertTls12(info);
});

/** Drop supported_versions from the ClientHello on the wire: the server sees a TLS 1.2 client. */
const hideTls13 = (extensions: Extension[]) => extensions.filter((e) => e.type !== 43);

Deno.test("openssl s_server (TLS 1.2 and 1.3) ↔ airlock client whose TLS 1.3 offer was stripped: the sentinel is caught", async () => {
  await scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const path = pemFiles(scope, chain);
    const { server, port } = await sServer(scope, path, ["-naccept", "1", "-rev"]);
    // We still believe we offered TLS 1.3; OpenSSL answers TLS 1.2 with DOWNGRD\x01 in its random.
    const c = await connectClient(scope, port, chain, { helloExtensions: hideTls13 });
    await expectTlsError(c.tls.handshake(), "peer_misbehaved.downgrade", "illegal_parameter");
    assert.deepEqual(c.alerts, ["sent fatal illegal_parameter"]);
    await server.exited;
    assert.match(server.stderr, /alert illegal parameter/, server.output);
  });
});

Deno.test("openssl s_server -tls1_2 ↔ airlock client whose TLS 1.3 offer was stripped: no sentinel, accepted", async () => {
  const { info } = await clientAgainstSServer({
    serverArgs: ["-tls1_2"],
    client: { helloExtensions: hideTls13 },
  });
  assertTls12(info);
});

// ---- the matrix: every suite with a group, both ways, with and without TLS 1.3 on the other side -------

tls12Matrix<string, Suite, Group>({
  serverName: "openssl s_server -tls1_2",
  clientName: "openssl s_client -tls1_2",
  clientBothName: "openssl s_client (TLS 1.2 and 1.3)",
  withServer: async (c) => {
    const { info, server } = await clientAgainstSServer({
      serverArgs: c.args,
      ...settings(c),
    });
    return { info, report: server.output };
  },
  withClient: async (c) => {
    const { info, client } = await sClientAgainstServer({
      clientArgs: c.args,
      ...settings(c),
    });
    return { info, report: client.stdout };
  },
  suites: SUITES,
  groups: GROUPS,
  serverArgs: (suite, group) => ["-tls1_2", "-cipher", suite.openssl, "-groups", group.openssl],
  clientArgs: (suite, _group, alsoTls13) => [...(alsoTls13 ? [] : ["-tls1_2"]), "-cipher", suite.openssl],
  clientSays: (group) => new RegExp(`^Server Temp Key: ${group.tempKey}$`, "m"),
});
