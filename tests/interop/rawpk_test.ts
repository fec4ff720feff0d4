// Copyright 2026 the airlock authors. MIT license.

/**
 * Raw public keys (RFC 7250) against GnuTLS on 127.0.0.1, both roles: the airlock client against
 * `gnutls-serv --rawpkfile … --rawpkkeyfile …` (pinning its key, authenticating with its own raw key, falling
 * back to X.509, refusing a key it does not pin), and `gnutls-cli --rawpkfile … --rawpkkeyfile …` against
 * the airlock server (which pins the client's key, or refuses it, or a client without raw keys). GnuTLS takes
 * raw keys only when the priority string allows them (`+CTYPE-CLI-RAWPK`, `+CTYPE-SRV-RAWPK`), and offers its
 * types in the order they appear there, X.509 first by default: the cases that want a raw client key remove
 * the X.509 client type (`-CTYPE-CLI-ALL`). OpenSSL 3.0 has no RFC 7250 (3.2 added it), so no OpenSSL case.
 *
 * @module
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  type ClientConfig,
  createBioPair,
  createClient,
  loadPrivateKey,
  pemEncode,
  type ServerConfig,
  type SigningKey,
  type TlsSession,
} from "../../mod.ts";
import { generateTestCertificate } from "../../testing/pki.ts";
import {
  acceptServer,
  expectTlsError,
  type Peer,
  requireGnutls,
  type Scope,
  scoped,
  serverChain,
  startGnutlsServ,
  stopGnutlsServ,
  watchTls,
} from "../../testing/peers.ts";

const TLS13 = "NORMAL:-VERS-ALL:+VERS-TLS1.3";
/** Raw keys allowed both ways, after X.509 (GnuTLS's default order). */
const RAWPK = `${TLS13}:+CTYPE-CLI-RAWPK:+CTYPE-SRV-RAWPK`;
/** Raw keys only, both ways. */
const RAWPK_ONLY = `${TLS13}:-CTYPE-ALL:+CTYPE-CLI-RAWPK:+CTYPE-SRV-RAWPK`;

const utf8 = (text: string) => new TextEncoder().encode(text);

interface RawKey {
  readonly key: SigningKey;
  /** The private key, PKCS#8 PEM (what --rawpkkeyfile reads). */
  readonly keyPem: string;
  /** The SubjectPublicKeyInfo, PEM (what --rawpkfile reads). */
  readonly publicPem: string;
}

async function rawKey(name: string, type: "ed25519" | "ecdsa-p256"): Promise<RawKey> {
  const cert = await generateTestCertificate(type, name);
  const key = await loadPrivateKey(cert.keyPkcs8);
  return { key, keyPem: cert.keyPem, publicPem: pemEncode(key.publicKey.spki, "PUBLIC KEY") };
}

const serverKey = () => rawKey("server.rawpk.test", "ed25519");
const clientKey = () => rawKey("client.rawpk.test", "ecdsa-p256");

/** Write a raw key pair's files; returns their paths. */
function keyFiles(scope: Scope, k: RawKey, who: string): { pub: string; key: string } {
  const path = scope.writeFiles({ [`${who}.pub`]: k.publicPem, [`${who}.key`]: k.keyPem });
  return { pub: path(`${who}.pub`), key: path(`${who}.key`) };
}

function excerpt(peer: Peer): string {
  const text = peer.output;
  return text.length <= 8000 ? text : `${text.slice(0, 4000)}\n[…]\n${text.slice(-4000)}`;
}

// ---- airlock client ↔ gnutls-serv --------------------------------------------------------------------

interface ServCase {
  /** gnutls-serv's priority string (default {@link RAWPK}). */
  readonly priority?: string;
  /** gnutls-serv presents a raw key (default) or only an X.509 chain. */
  readonly x509Only?: boolean;
  /** Extra gnutls-serv arguments (default: no CertificateRequest). */
  readonly args?: readonly string[];
  readonly client: (k: { server: RawKey; root: string }) => Partial<ClientConfig>;
}

/** Start `gnutls-serv --echo` with a raw key (or a chain) and connect the airlock client to it. */
async function connectToServ(scope: Scope, c: ServCase) {
  const server = await serverKey();
  const chain = await serverChain("ecdsa-p256");
  const s = keyFiles(scope, server, "server");
  const path = scope.writeFiles({ "chain.pem": chain.chainPem, "chain.key": chain.keyPem });
  const credentials = c.x509Only
    ? ["--x509certfile", path("chain.pem"), "--x509keyfile", path("chain.key")]
    : ["--rawpkfile", s.pub, "--rawpkkeyfile", s.key];
  const { server: serv, port } = await startGnutlsServ(scope, [
    "--echo",
    ...credentials,
    "--priority",
    c.priority ?? RAWPK,
    ...(c.args ?? ["--disable-client-cert"]),
  ]);
  const socket = await scope.connect(port);
  const { engine, network } = createBioPair();
  const client = createClient({
    serverName: "localhost",
    minVersion: "TLSv1.3",
    ...c.client({ server, root: chain.rootPem }),
  }, engine);
  return { serv, connection: watchTls(client, network, socket), server };
}

/** A line there and back, then close_notify both ways; gnutls-serv is stopped and its report returned. */
async function echo(connection: ReturnType<typeof watchTls>, serv: Peer): Promise<string> {
  await connection.tls.write(utf8("hello over a raw key\n"));
  assert.equal(await connection.lines.next(), "hello over a raw key", excerpt(serv));
  await connection.tls.close();
  await stopGnutlsServ(serv);
  assert.doesNotMatch(serv.stderr, /^Error[ :]|non-properly terminated/m, excerpt(serv));
  return serv.stdout;
}

Deno.test("gnutls-serv ↔ airlock client: the server's raw key, pinned", async () => {
  requireGnutls();
  await scoped(async (scope) => {
    const { serv, connection, server } = await connectToServ(scope, {
      client: ({ server }) => ({ rawPublicKeys: { pinnedKeys: [server.publicPem] } }),
    });
    const info = await connection.tls.handshake();
    assert.equal(info.version, "TLSv1.3");
    assert.equal(info.peerCertificateType, "RawPublicKey");
    assert.deepEqual(info.peerRawPublicKey, server.key.publicKey.spki);
    assert.deepEqual(info.peerCertificates, []);
    assert.equal(info.signatureScheme, "ed25519");
    const report = await echo(connection, serv);
    // GnuTLS describes the session as (version-client type-server type).
    assert.match(report, /^- Description: \(TLS1\.3-X\.509-Raw Public Key\)-/m, report);
  });
});

Deno.test("gnutls-serv ↔ airlock client: a session made with a raw key resumes", async () => {
  requireGnutls();
  await scoped(async (scope) => {
    const server = await serverKey();
    const s = keyFiles(scope, server, "server");
    const { server: serv, port } = await startGnutlsServ(scope, [
      "--echo",
      "--rawpkfile",
      s.pub,
      "--rawpkkeyfile",
      s.key,
      "--priority",
      RAWPK,
      "--disable-client-cert",
    ]);
    const config = { minVersion: "TLSv1.3" as const, rawPublicKeys: { pinnedKeys: [server.publicPem] } };
    const connect = async (session?: TlsSession) => {
      const { engine, network } = createBioPair();
      const c = watchTls(
        createClient({ ...config, ...(session ? { session } : {}) }, engine),
        network,
        await scope.connect(port),
      );
      const info = await c.tls.handshake();
      await c.tls.write(utf8("line\n"));
      assert.equal(await c.lines.next(), "line", excerpt(serv));
      await c.tls.close();
      return { info, sessions: c.sessions };
    };
    const first = await connect();
    assert.equal(first.info.peerCertificateType, "RawPublicKey");
    assert.ok(first.sessions.length > 0, "gnutls-serv sends tickets");
    const second = await connect(first.sessions[0]!);
    assert.equal(second.info.resumed, true);
    await stopGnutlsServ(serv);
    assert.doesNotMatch(serv.stderr, /^Error[ :]/m, excerpt(serv));
    assert.match(serv.stdout, /^\*\*\* This is a resumed session/m, excerpt(serv));
  });
});

Deno.test("gnutls-serv ↔ airlock client: client authentication with a raw key", async () => {
  requireGnutls();
  await scoped(async (scope) => {
    const mine = await clientKey();
    const { serv, connection } = await connectToServ(scope, {
      priority: RAWPK_ONLY,
      args: ["--require-client-cert"],
      client: ({ server }) => ({
        rawPublicKeys: { pinnedKeys: [server.key.publicKey.spki], clientKey: mine.key },
      }),
    });
    const info = await connection.tls.handshake();
    assert.equal(info.peerCertificateType, "RawPublicKey");
    const report = await echo(connection, serv);
    // Both sides' types are raw keys: GnuTLS names the type once.
    assert.match(report, /^- Description: \(TLS1\.3-Raw Public Key\)-/m, report);
  });
});

Deno.test("gnutls-serv ↔ airlock client: falls back to X.509 when the server has only a chain", async () => {
  requireGnutls();
  await scoped(async (scope) => {
    const { serv, connection } = await connectToServ(scope, {
      x509Only: true,
      client: ({ server, root }) => ({
        trustAnchors: [root],
        rawPublicKeys: { serverTypes: ["RawPublicKey", "X509"], pinnedKeys: [server.publicPem] },
      }),
    });
    const info = await connection.tls.handshake();
    assert.equal(info.peerCertificateType, undefined);
    assert.equal(info.peerCertificates.length, 2, "the leaf and the intermediate");
    const report = await echo(connection, serv);
    assert.match(report, /^- Description: \(TLS1\.3-X\.509\)-/m, report);
  });
});

Deno.test("gnutls-serv ↔ airlock client: a server key that is not pinned is refused with bad_certificate", async () => {
  requireGnutls();
  await scoped(async (scope) => {
    const other = await clientKey();
    const { serv, connection } = await connectToServ(scope, {
      client: () => ({ rawPublicKeys: { pinnedKeys: [other.publicPem] } }),
    });
    await expectTlsError(connection.tls.handshake(), "certificate.raw_key_not_trusted", "bad_certificate");
    assert.deepEqual(connection.alerts, ["sent fatal bad_certificate"]);
    await stopGnutlsServ(serv);
    // gnutls-serv does not name the alert it received.
    assert.match(serv.stderr, /^Error in handshake: A TLS fatal alert has been received\.$/m, excerpt(serv));
  });
});

Deno.test("gnutls-serv ↔ airlock client: a raw-key-only client and a chain-only server end in unsupported_certificate", async () => {
  requireGnutls();
  await scoped(async (scope) => {
    const { serv, connection } = await connectToServ(scope, {
      x509Only: true,
      client: ({ server }) => ({ rawPublicKeys: { pinnedKeys: [server.publicPem] } }),
    });
    // GnuTLS answers as we do (RFC 7250 §4.2): no server certificate type in common.
    await expectTlsError(connection.tls.handshake(), "alert_received.unsupported_certificate");
    await stopGnutlsServ(serv);
    assert.match(
      serv.stderr,
      /^Error in handshake: The certificate type is not supported\.$/m,
      excerpt(serv),
    );
    assert.match(serv.stderr, /Error in handshake: /, excerpt(serv));
  });
});

// ---- gnutls-cli ↔ airlock server ---------------------------------------------------------------------

interface CliCase {
  /** gnutls-cli's priority string (default {@link RAWPK_ONLY}). */
  readonly priority?: string;
  /** gnutls-cli authenticates with this raw key. */
  readonly clientKey?: RawKey;
  readonly server: (k: { server: RawKey }) => Partial<ServerConfig>;
}

/** Start the airlock server, connect `gnutls-cli` (which does not verify raw keys: `--insecure`). */
async function cliToServer(scope: Scope, c: CliCase) {
  const server = await serverKey();
  const listener = await scope.listen();
  const path = scope.writeFiles({
    "client.pub": c.clientKey?.publicPem ?? "",
    "client.key": c.clientKey?.keyPem ?? "",
  });
  const client = scope.spawn("gnutls-cli", [
    "127.0.0.1",
    "-p",
    String(listener.port),
    "--insecure",
    "--priority",
    c.priority ?? RAWPK_ONLY,
    "--logfile",
    path("gnutls-cli.log"),
    ...(c.clientKey ? ["--rawpkfile", path("client.pub"), "--rawpkkeyfile", path("client.key")] : []),
  ]);
  const connection = await acceptServer("gnutls-cli", listener, client, {
    certificates: [],
    minVersion: "TLSv1.3",
    rawPublicKey: { key: server.key },
    ...c.server({ server }),
  });
  const report = () => `${readFileSync(path("gnutls-cli.log"), "utf8")}\n${client.stderr}`;
  return { client, connection, report, server };
}

Deno.test("gnutls-cli ↔ airlock server: the server's raw key and the client's, pinned", async () => {
  requireGnutls();
  await scoped(async (scope) => {
    const mine = await clientKey();
    const { client, connection, report } = await cliToServer(scope, {
      clientKey: mine,
      server: () => ({ clientAuth: { required: true, rawPublicKeys: { pinnedKeys: [mine.publicPem] } } }),
    });
    const info = await connection.tls.handshake();
    assert.equal(info.peerCertificateType, "RawPublicKey");
    assert.deepEqual(info.peerRawPublicKey, mine.key.publicKey.spki);
    const token = `airlock-rawpk-${Math.random().toString(36).slice(2)}`;
    client.send(`${token}\n`);
    assert.equal(await connection.lines.next(), token, excerpt(client));
    await connection.tls.write(utf8(`echo: ${token}\n`));
    await connection.tls.close();
    assert.equal((await client.exited).code, 0, excerpt(client));
    assert.equal(client.stdout, `echo: ${token}\n`, excerpt(client));
    const text = report();
    assert.match(text, /^- Certificate type: Raw Public Key$/m, text);
    assert.match(text, /^- Description: \(TLS1\.3-Raw Public Key\)-/m, text);
  });
});

Deno.test("gnutls-cli ↔ airlock server: a client key the server does not pin gets bad_certificate", async () => {
  requireGnutls();
  await scoped(async (scope) => {
    const mine = await clientKey();
    const { client, connection, report } = await cliToServer(scope, {
      clientKey: mine,
      server: ({ server }) => ({ clientAuth: { rawPublicKeys: { pinnedKeys: [server.publicPem] } } }),
    });
    await expectTlsError(connection.tls.handshake(), "certificate.raw_key_not_trusted", "bad_certificate");
    await client.exited;
    assert.match(report(), /Received alert \[42\]/, excerpt(client));
  });
});

Deno.test("gnutls-cli ↔ airlock server: a client that takes no raw key gets unsupported_certificate", async () => {
  requireGnutls();
  await scoped(async (scope) => {
    const { client, connection, report } = await cliToServer(scope, { priority: TLS13, server: () => ({}) });
    await expectTlsError(
      connection.tls.handshake(),
      "peer_incompatible.no_common_certificate_type",
      "unsupported_certificate",
    );
    await client.exited;
    assert.match(report(), /Received alert \[43\]/, excerpt(client));
  });
});
