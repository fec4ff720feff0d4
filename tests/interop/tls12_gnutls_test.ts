// Copyright 2026 the airlock authors. MIT license.

/**
 * TLS 1.2 interop with GnuTLS on 127.0.0.1: the airlock client against `gnutls-serv --echo`, and
 * `gnutls-cli` against the airlock server (which echoes), with priority strings that allow TLS 1.2 only
 * (`NORMAL:-VERS-ALL:+VERS-TLS1.2`) and pin the cipher, key exchange and group.
 *
 * - Every TLS 1.2 suite (ECDSA suites with an ECDSA certificate, RSA suites with an RSA one) each way,
 *   twice: once with both sides held to TLS 1.2, and once with the airlock side speaking TLS 1.2 only and
 *   GnuTLS offering 1.3 as well (or the reverse), so that each suite meets two of the groups x25519,
 *   secp256r1 and secp384r1. Certificates are CA-issued (root → intermediate → leaf) and verified for
 *   "localhost" on both sides; lines are echoed and compared; every connection ends with close_notify.
 * - An Ed25519 certificate each way; 1 MiB echoed back by gnutls-serv.
 * - Resumption: by ticket (RFC 5077) and by session id (`--noticket`), each way (`gnutls-cli --resume`).
 * - mTLS each way, and the extended master secret (RFC 7627): a peer without it (`%NO_SESSION_HASH`) is
 *   accepted by default and refused with `requireExtendedMasterSecret: true`.
 * - The key log: our `CLIENT_RANDOM` line equals the one GnuTLS writes to `SSLKEYLOGFILE`.
 * - Renegotiation is refused: gnutls-cli's `^renegotiate^` and gnutls-serv's `**REHANDSHAKE**`.
 * - Downgrade protection: `%FALLBACK_SCSV` (RFC 7507) each way, and the RFC 8446 §4.1.3 sentinel in a TLS
 *   1.2 answer from a gnutls-serv that speaks TLS 1.3.
 *
 * GnuTLS habits these cases rely on (see gnutls_test.ts): gnutls-serv gets a free port and a retry, and is
 * stopped with SIGTERM before its report is read; gnutls-cli gets `--logfile`, which leaves only the
 * application data on its stdout. gnutls-serv cannot bind one address: it listens on every interface, and
 * the tests connect to 127.0.0.1. Each case is bounded by {@linkcode CASE_TIMEOUT_MS} and kills its peer in
 * the end. Without `gnutls-serv` and `gnutls-cli` on PATH (Debian: gnutls-bin) every case fails with a
 * message saying so.
 *
 * @module
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  type ClientConfig,
  createBioPair,
  createClient,
  type Extension,
  type HandshakeInfo,
  type ServerConfig,
  TlsSession,
} from "../../mod.ts";
import type { TestChain, TestKeyType } from "../../testing/pki.ts";
import {
  acceptServer,
  assertTls12,
  certified,
  clientChain,
  expectTlsError,
  type Listener,
  type Peer,
  readKeyLogFile,
  requireGnutls,
  type Scope,
  scoped,
  serverChain,
  startGnutlsServ,
  stopGnutlsServ,
  type WatchedTls,
  watchTls,
} from "../../testing/peers.ts";
import { settings, tls12Matrix } from "../../testing/interop.ts";

/** TLS 1.2 only; a case appends its own restrictions. */
const TLS12 = "NORMAL:-VERS-ALL:+VERS-TLS1.2";

/** Our group names and GnuTLS's. */
const GROUPS = [
  { name: "x25519", gnutls: "X25519" },
  { name: "secp256r1", gnutls: "SECP256R1" },
  { name: "secp384r1", gnutls: "SECP384R1" },
] as const;

type Group = (typeof GROUPS)[number];

/** The TLS 1.2 suites: our name, GnuTLS's cipher and key exchange, and the certificate type to use. */
const SUITES = [
  {
    name: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    cipher: "AES-128-GCM",
    kx: "ECDHE-ECDSA",
    keyType: "ecdsa-p256",
  },
  {
    name: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    cipher: "AES-128-GCM",
    kx: "ECDHE-RSA",
    keyType: "rsa-2048",
  },
  {
    name: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    cipher: "AES-256-GCM",
    kx: "ECDHE-ECDSA",
    keyType: "ecdsa-p256",
  },
  {
    name: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    cipher: "AES-256-GCM",
    kx: "ECDHE-RSA",
    keyType: "rsa-2048",
  },
  {
    name: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    cipher: "CHACHA20-POLY1305",
    kx: "ECDHE-ECDSA",
    keyType: "ecdsa-p256",
  },
  {
    name: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    cipher: "CHACHA20-POLY1305",
    kx: "ECDHE-RSA",
    keyType: "rsa-2048",
  },
] as const;

type Suite = (typeof SUITES)[number];

/** Priority restrictions that leave one suite and one group. */
const only = (suite: Suite, group: Group) =>
  `:-CIPHER-ALL:+${suite.cipher}:-KX-ALL:+${suite.kx}:-GROUP-ALL:+GROUP-${group.gnutls}`;

/**
 * For a client facing our server: our server takes an ECDSA certificate only on a curve the client lists
 * (RFC 8422 §5.3), so the client lists P-256 (our certificate's curve) beside `group`, and the server is held
 * to `group` alone, which decides the key exchange.
 */
const towardUs = (suite: Suite, group: Group) =>
  only(suite, group) +
  (suite.keyType === "ecdsa-p256" && group.gnutls !== "SECP256R1" ? ":+GROUP-SECP256R1" : "");

/** The scheme each certificate type signs ServerKeyExchange with, and GnuTLS's TLS 1.2 name for it. */
const SCHEMES: Record<TestKeyType, { readonly scheme: string; readonly gnutls: string }> = {
  "ecdsa-p256": { scheme: "ecdsa_secp256r1_sha256", gnutls: "ECDSA-SHA256" },
  "ecdsa-p384": { scheme: "ecdsa_secp384r1_sha384", gnutls: "ECDSA-SHA384" },
  "ed25519": { scheme: "ed25519", gnutls: "EdDSA-Ed25519" },
  "rsa-2048": { scheme: "rsa_pss_rsae_sha256", gnutls: "RSA-PSS-RSAE-SHA256" },
};

const utf8 = (text: string) => new TextEncoder().encode(text);
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * The line both programs print for a TLS 1.2 session, e.g.
 * `(TLS1.2-X.509)-(ECDHE-X25519)-(ECDSA-SHA256)-(AES-128-GCM)`. A resumed one has no signature, and
 * names the group of the handshake that made the session (`groupName`): a resumption has no key exchange.
 */
function description(info: HandshakeInfo, keyType: TestKeyType, groupName = info.group): RegExp {
  const suite = SUITES.find((s) => s.name === info.cipherSuite);
  assert.ok(suite, `a TLS 1.2 suite: ${info.cipherSuite}`);
  const group = GROUPS.find((g) => g.name === groupName)?.gnutls;
  assert.ok(group, `a group: ${groupName}`);
  const signature = info.resumed ? "" : `-\\(${escape(SCHEMES[keyType].gnutls)}\\)`;
  return new RegExp(
    `^- Description: \\(TLS1\\.2-X\\.509\\)-\\(ECDHE-${group}\\)${signature}-\\(${suite.cipher}\\)$`,
    "m",
  );
}

/** Both programs list the extensions that shape a TLS 1.2 session. */
const OPTIONS = /^- Options: extended master secret, safe renegotiation,$/m;

/** Write a server chain and, optionally, a client chain where GnuTLS can read them. */
function pemFiles(scope: Scope, server: TestChain, client?: TestChain): (name: string) => string {
  return scope.writeFiles({
    "server-chain.pem": server.chainPem,
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

/** A peer's output for an assertion message. */
function excerpt(peer: Peer): string {
  const text = peer.output;
  return text.length <= 8000 ? text : `${text.slice(0, 4000)}\n[…]\n${text.slice(-4000)}`;
}

// ---- airlock client ↔ gnutls-serv --------------------------------------------------------------------

interface ServOptions {
  /** The whole priority string (default: TLS 1.2 only). */
  readonly priority?: string;
  /** Extra gnutls-serv arguments. */
  readonly args?: readonly string[];
  /** Extra environment variables. */
  readonly env?: Readonly<Record<string, string>>;
  /** Let gnutls-serv send its default (optional) CertificateRequest; otherwise it sends none. */
  readonly certificateRequest?: boolean;
}

/** Start `gnutls-serv --echo` with the server chain of `path`. */
function gnutlsServ(scope: Scope, path: (name: string) => string, o: ServOptions = {}) {
  requireGnutls();
  return startGnutlsServ(scope, [
    "--echo",
    "--crlf",
    "--x509certfile",
    path("server-chain.pem"),
    "--x509keyfile",
    path("server-key.pem"),
    "--priority",
    o.priority ?? TLS12,
    ...(o.certificateRequest ? [] : ["--disable-client-cert"]),
    ...(o.args ?? []),
  ], o.env);
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

/** Two lines to gnutls-serv --echo, each echoed back. */
async function exchangeEcho(c: WatchedTls, server: Peer): Promise<void> {
  for (const line of ["hello from airlock", "a second line, in TLS 1.2"]) {
    await c.tls.write(utf8(`${line}\n`));
    assert.equal(await c.lines.next(), line, excerpt(server));
  }
}

interface ClientCase {
  readonly keyType?: TestKeyType;
  readonly serv?: ServOptions;
  readonly client?: Partial<ClientConfig>;
  /** Replaces the default exchange of two short lines. */
  readonly exchange?: (c: WatchedTls, server: Peer) => Promise<void>;
}

interface ClientResult {
  readonly info: HandshakeInfo;
  /** gnutls-serv, stopped, with all its output. */
  readonly server: Peer;
}

/**
 * Start `gnutls-serv --echo`, connect the airlock client (verifying the chain by name), exchange lines,
 * close with close_notify both ways, stop gnutls-serv and check its report.
 */
function clientAgainstServ(c: ClientCase): Promise<ClientResult> {
  return scoped(async (scope) => {
    const keyType = c.keyType ?? "ecdsa-p256";
    const chain = await serverChain(keyType);
    const path = pemFiles(scope, chain);
    const { server, port } = await gnutlsServ(scope, path, c.serv);
    const connection = await connectClient(scope, port, chain, c.client);
    const info = await connection.tls.handshake();
    assertTls12(info);
    assert.equal(info.peerCertificates.length, 2, "the leaf and the intermediate");
    assert.equal(info.signatureScheme, SCHEMES[keyType].scheme);
    await (c.exchange ?? exchangeEcho)(connection, server);
    await connection.tls.close();
    assert.deepEqual(connection.alerts, ["sent warning close_notify", "received warning close_notify"]);

    await stopGnutlsServ(server);
    assert.match(server.stdout, description(info, keyType), excerpt(server));
    assert.match(server.stdout, /^- Version: TLS1\.2$/m, excerpt(server));
    assert.match(server.stdout, OPTIONS, excerpt(server));
    // A session that ends without close_notify makes it print "Error while receiving data"; a failed
    // handshake "Error in handshake: …".
    assert.doesNotMatch(server.stderr, /^Error[ :]|non-properly terminated/m, excerpt(server));
    return { info, server };
  });
}

Deno.test("gnutls-serv (TLS 1.2) ↔ airlock client: Ed25519 certificate", async () => {
  const { info } = await clientAgainstServ({ keyType: "ed25519" });
  assert.equal(info.signatureScheme, "ed25519");
  assert.match(info.cipherSuite, /^TLS_ECDHE_ECDSA_/);
});

Deno.test("gnutls-serv (TLS 1.2 and 1.3) ↔ airlock client with maxVersion TLSv1.2: the sentinel is ignored", async () => {
  // gnutls-serv speaks TLS 1.3 too, so its TLS 1.2 ServerHello carries the RFC 8446 §4.1.3 sentinel; a client
  // that offered TLS 1.2 only goes on.
  const { info } = await clientAgainstServ({
    serv: { priority: "NORMAL" },
    client: { maxVersion: "TLSv1.2" },
  });
  assertTls12(info);
});

Deno.test("gnutls-serv (TLS 1.2) ↔ airlock client: 1 MiB echoed back, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", async () => {
  // Some 130 records each way, each AES-GCM record with its explicit nonce. --echo answers once what it
  // gathered holds a newline.
  const line = (i: number) => `${String(i).padStart(6, "0")}:${"ABCDEFGHIJKLMNOP".repeat(63)}`; // 1015 chars
  const { info } = await clientAgainstServ({
    serv: { priority: `${TLS12}${only(SUITES[0], GROUPS[1])}` },
    exchange: async (c, server) => {
      for (let batch = 0; batch < 8; batch++) {
        const numbers = Array.from({ length: 128 }, (_, i) => batch * 128 + i);
        await c.tls.write(utf8(numbers.map((i) => `${line(i)}\n`).join("")));
        for (const i of numbers) assert.equal(await c.lines.next(), line(i), `line ${i}\n${excerpt(server)}`);
      }
    },
  });
  assertTls12(info, SUITES[0], GROUPS[1]);
});

// ---- gnutls-cli ↔ airlock server ---------------------------------------------------------------------

interface CliOptions {
  /** The whole priority string (default: TLS 1.2 only). */
  readonly priority?: string;
  /** Extra gnutls-cli arguments. */
  readonly args?: readonly string[];
  /** Extra environment variables. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Start `gnutls-cli` against `listener`, verifying our chain to its root for "localhost", with its report
 * in `gnutls-cli.log` (so its stdout carries the application data alone).
 */
function gnutlsCli(
  scope: Scope,
  listener: Listener,
  path: (name: string) => string,
  o: CliOptions = {},
): Peer {
  requireGnutls();
  const command = [
    "gnutls-cli",
    "127.0.0.1",
    "-p",
    String(listener.port),
    "--x509cafile",
    path("server-root.pem"),
    "--sni-hostname",
    "localhost",
    "--verify-hostname",
    "localhost",
    "--priority",
    o.priority ?? TLS12,
    "--logfile",
    path("gnutls-cli.log"),
    ...(o.args ?? []),
  ];
  const vars = Object.entries(o.env ?? {}).map(([name, value]) => `${name}=${value}`);
  return vars.length > 0
    ? scope.spawn("env", [...vars, ...command])
    : scope.spawn(command[0]!, command.slice(1));
}

/** gnutls-cli's session report (`--logfile`) and its stderr. */
function report(path: (name: string) => string, client: Peer): string {
  return `${readFileSync(path("gnutls-cli.log"), "utf8")}\n${client.stderr}`;
}

/** A line from gnutls-cli's stdin, echoed back; then our close_notify, on which gnutls-cli exits. */
async function echoLine(c: WatchedTls, client: Peer): Promise<void> {
  const token = `airlock-tls12-${Math.random().toString(36).slice(2)}`;
  client.send(`${token}\n`);
  assert.equal(await c.lines.next(), token, excerpt(client));
  await c.tls.write(utf8(`echo: ${token}\n`));
  // gnutls-cli does not answer our close_notify with its own.
  await c.tls.close();
  assert.deepEqual(c.alerts, ["sent warning close_notify"]);
  assert.equal((await client.exited).code, 0, excerpt(client));
  assert.equal(client.stdout, `echo: ${token}\n`, excerpt(client));
}

interface ServerCase {
  readonly keyType?: TestKeyType;
  readonly server?: Partial<ServerConfig>;
  readonly cli?: CliOptions;
}

interface ServerResult {
  readonly info: HandshakeInfo;
  readonly report: string;
}

/**
 * Start the airlock server on an ephemeral port, connect `gnutls-cli` to it, echo a line, close with
 * close_notify and check gnutls-cli's report.
 */
function cliAgainstServer(c: ServerCase): Promise<ServerResult> {
  return scoped(async (scope) => {
    const keyType = c.keyType ?? "ecdsa-p256";
    const chain = await serverChain(keyType);
    const path = pemFiles(scope, chain);
    const listener = await scope.listen();
    const client = gnutlsCli(scope, listener, path, c.cli);
    const connection = await acceptServer("gnutls-cli", listener, client, {
      certificates: [await certified(chain)],
      ...c.server,
    });
    const info = await connection.tls.handshake();
    assertTls12(info);
    assert.equal(info.serverName, "localhost");
    assert.equal(info.signatureScheme, SCHEMES[keyType].scheme);
    await echoLine(connection, client);
    const text = report(path, client);
    assert.match(text, description(info, keyType), text);
    assert.match(text, OPTIONS, text);
    assert.match(text, /^- Status: The certificate is trusted\. *$/m, text);
    // Printed when a close_notify arrived; a bare EOF is "The TLS connection was non-properly terminated".
    assert.match(text, /^- Peer has closed the GnuTLS connection$/m, text);
    return { info, report: text };
  });
}

Deno.test("gnutls-cli (TLS 1.2) ↔ airlock server: Ed25519 certificate", async () => {
  const { info } = await cliAgainstServer({ keyType: "ed25519" });
  assert.equal(info.signatureScheme, "ed25519");
  assert.match(info.cipherSuite, /^TLS_ECDHE_ECDSA_/);
});

// ---- resumption ----------------------------------------------------------------------------------------

/**
 * Two connections of the airlock client to one `gnutls-serv` (TLS 1.2, plus `args`): the second resumes
 * the session the first one gave.
 */
function resumeAgainstServ(args: readonly string[]): Promise<{ session: TlsSession; server: Peer }> {
  return scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const path = pemFiles(scope, chain);
    const { server, port } = await gnutlsServ(scope, path, { args });
    const run = async (session?: TlsSession) => {
      const c = await connectClient(scope, port, chain, session ? { session } : {});
      const info = await c.tls.handshake();
      assertTls12(info);
      await exchangeEcho(c, server);
      await c.tls.close();
      return c;
    };
    const first = await run();
    assert.equal(first.handshakes[0]!.resumed, false);
    assert.equal(first.sessions.length, 1, "one session from a TLS 1.2 handshake");
    const session = first.sessions[0]!;
    assert.equal(session.version, "TLSv1.2");
    const second = await run(TlsSession.fromBytes(session.toBytes()));
    assert.equal(second.handshakes[0]!.resumed, true);
    assert.equal(second.handshakes[0]!.cipherSuite, first.handshakes[0]!.cipherSuite);
    await stopGnutlsServ(server);
    assert.match(server.stdout, /^\*\*\* This is a resumed session$/m, excerpt(server));
    return { session, server };
  });
}

Deno.test("gnutls-serv (TLS 1.2) ↔ airlock client: the second connection resumes with a ticket", async () => {
  const { session } = await resumeAgainstServ([]);
  assert.ok(session.data.ticket.length > 0, "gnutls-serv sent a ticket");
});

Deno.test("gnutls-serv --noticket (TLS 1.2) ↔ airlock client: the second connection resumes by session id", async () => {
  const { session } = await resumeAgainstServ(["--noticket"]);
  assert.equal(session.data.ticket.length, 0);
  assert.equal(session.data.sessionId.length, 32);
});

/**
 * `gnutls-cli --resume` (TLS 1.2, plus `args`) against the airlock server: it connects, disconnects after
 * the handshake, and connects again with the session; the second connection echoes a line.
 */
function cliResumes(args: readonly string[]): Promise<{ infos: HandshakeInfo[]; report: string }> {
  return scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const path = pemFiles(scope, chain);
    const listener = await scope.listen();
    const config: ServerConfig = { certificates: [await certified(chain)] };
    const client = gnutlsCli(scope, listener, path, { args: ["--resume", ...args] });
    const infos: HandshakeInfo[] = [];
    for (let i = 0; i < 2; i++) {
      const c = await acceptServer("gnutls-cli", listener, client, config);
      const info = await c.tls.handshake();
      assertTls12(info);
      infos.push(info);
      if (i === 0) {
        // gnutls-cli closes the first connection itself (with close_notify), then reconnects.
        assert.equal(await c.tls.read(), null);
      } else {
        await echoLine(c, client);
      }
    }
    const text = report(path, client);
    assert.equal(infos[0]!.resumed, false);
    assert.equal(infos[1]!.resumed, true);
    assert.match(text, /^\*\*\* This is a resumed session$/m, text);
    assert.match(text, /^- Resume Handshake was completed$/m, text);
    assert.match(text, description(infos[1]!, "ecdsa-p256", infos[0]!.group), text);
    return { infos, report: text };
  });
}

Deno.test("gnutls-cli --resume (TLS 1.2) ↔ airlock server: resumed with a ticket", async () => {
  await cliResumes([]);
});

Deno.test("gnutls-cli --resume --noticket (TLS 1.2) ↔ airlock server: resumed by session id", async () => {
  const { report } = await cliResumes(["--noticket"]);
  // Both sessions carry the one id our server gave.
  const ids = [...report.matchAll(/^- Session ID: ([0-9A-F:]+)$/gm)].map((m) => m[1]);
  assert.equal(ids.length, 2, report);
  assert.equal(ids[0]!.length, 32 * 3 - 1, report);
  assert.equal(ids[1], ids[0], report);
});

// ---- mTLS ------------------------------------------------------------------------------------------------

Deno.test("gnutls-serv --require-client-cert (TLS 1.2) ↔ airlock client with a certificate (mTLS)", async () => {
  await scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const clientPki = await clientChain();
    const path = pemFiles(scope, chain, clientPki);
    const { server, port } = await gnutlsServ(scope, path, {
      certificateRequest: true,
      args: ["--require-client-cert", "--verify-client-cert", "--x509cafile", path("client-root.pem")],
    });
    const c = await connectClient(scope, port, chain, { clientCertificate: await certified(clientPki) });
    assertTls12(await c.tls.handshake());
    await exchangeEcho(c, server);
    await c.tls.close();
    await stopGnutlsServ(server);
    assert.match(server.stdout, /^- Status: The certificate is trusted\. *$/m, excerpt(server));
    assert.match(server.stdout, /^\s*DNSname: client\.test$/m, excerpt(server));
    assert.match(server.stdout, /^- Client Signature: ECDSA-SHA256$/m, excerpt(server));
  });
});

Deno.test("gnutls-cli with a certificate (TLS 1.2) ↔ airlock server requiring one (mTLS)", async () => {
  await scoped(async (scope) => {
    const chain = await serverChain("rsa-2048");
    const clientPki = await clientChain();
    const path = pemFiles(scope, chain, clientPki);
    const listener = await scope.listen();
    const client = gnutlsCli(scope, listener, path, {
      args: ["--x509certfile", path("client-chain.pem"), "--x509keyfile", path("client-key.pem")],
    });
    const c = await acceptServer("gnutls-cli", listener, client, {
      certificates: [await certified(chain)],
      clientAuth: { required: true, trustAnchors: [clientPki.rootPem] },
    });
    const info = await c.tls.handshake();
    assertTls12(info);
    assert.match(info.cipherSuite, /^TLS_ECDHE_RSA_/);
    assert.deepEqual(info.peerCertificates, clientPki.chain);
    await echoLine(c, client);
    const text = report(path, client);
    assert.match(text, description(info, "rsa-2048"), text);
  });
});

// ---- the extended master secret ------------------------------------------------------------------------

Deno.test("gnutls-serv %NO_SESSION_HASH ↔ airlock client: no extended master secret, refused with requireExtendedMasterSecret", async () => {
  await scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const path = pemFiles(scope, chain);
    const { server, port } = await gnutlsServ(scope, path, { priority: `${TLS12}:%NO_SESSION_HASH` });
    const c = await connectClient(scope, port, chain, { requireExtendedMasterSecret: true });
    await expectTlsError(
      c.tls.handshake(),
      "peer_incompatible.extended_master_secret_required",
      "handshake_failure",
    );
    assert.deepEqual(c.alerts, ["sent fatal handshake_failure"]);
    await stopGnutlsServ(server);
    assert.match(server.stderr, /Error in handshake: A TLS fatal alert has been received/, excerpt(server));
  });
});

Deno.test("gnutls-serv %NO_SESSION_HASH ↔ airlock client by default (the extended master secret is not required)", async () => {
  await scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const path = pemFiles(scope, chain);
    const { server, port } = await gnutlsServ(scope, path, { priority: `${TLS12}:%NO_SESSION_HASH` });
    const c = await connectClient(scope, port, chain, {});
    const info = await c.tls.handshake();
    assert.equal(info.version, "TLSv1.2");
    assert.equal(info.extendedMasterSecret, false);
    await exchangeEcho(c, server);
    await c.tls.close();
    await stopGnutlsServ(server);
    assert.match(server.stdout, /^- Options: safe renegotiation,$/m, excerpt(server));
  });
});

Deno.test("gnutls-cli %NO_SESSION_HASH ↔ airlock server: no extended master secret, refused with requireExtendedMasterSecret", async () => {
  await scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const path = pemFiles(scope, chain);
    const listener = await scope.listen();
    const client = gnutlsCli(scope, listener, path, { priority: `${TLS12}:%NO_SESSION_HASH` });
    const c = await acceptServer("gnutls-cli", listener, client, {
      certificates: [await certified(chain)],
      requireExtendedMasterSecret: true,
    });
    await expectTlsError(
      c.tls.handshake(),
      "peer_incompatible.extended_master_secret_required",
      "handshake_failure",
    );
    assert.deepEqual(c.alerts, ["sent fatal handshake_failure"]);
    assert.notEqual((await client.exited).code, 0, excerpt(client));
    assert.match(report(path, client), /Handshake failed/, excerpt(client));
  });
});

Deno.test("gnutls-cli %NO_SESSION_HASH ↔ airlock server by default (the extended master secret is not required)", async () => {
  await scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const path = pemFiles(scope, chain);
    const listener = await scope.listen();
    const client = gnutlsCli(scope, listener, path, { priority: `${TLS12}:%NO_SESSION_HASH` });
    const c = await acceptServer("gnutls-cli", listener, client, {
      certificates: [await certified(chain)],
    });
    const info = await c.tls.handshake();
    assert.equal(info.version, "TLSv1.2");
    assert.equal(info.extendedMasterSecret, false);
    await echoLine(c, client);
    assert.match(report(path, client), /^- Options: safe renegotiation,$/m, excerpt(client));
  });
});

// ---- key log -------------------------------------------------------------------------------------------

/** One `CLIENT_RANDOM <client random> <master secret>` line, as NSS writes it. */
function assertClientRandomLine(lines: readonly string[]): void {
  assert.equal(lines.length, 1, `one line: ${lines.join("\n")}`);
  assert.match(lines[0]!, /^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$/);
}

Deno.test("key log: airlock client and gnutls-serv (TLS 1.2) write the same CLIENT_RANDOM line", async () => {
  await scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const path = pemFiles(scope, chain);
    const { server, port } = await gnutlsServ(scope, path, { env: { SSLKEYLOGFILE: path("server.keys") } });
    const c = await connectClient(scope, port, chain);
    assertTls12(await c.tls.handshake());
    await exchangeEcho(c, server);
    await c.tls.close();
    await stopGnutlsServ(server);
    assertClientRandomLine(c.keylog);
    assert.deepEqual(c.keylog, readKeyLogFile(path("server.keys")));
  });
});

Deno.test("key log: airlock server and gnutls-cli (TLS 1.2) write the same CLIENT_RANDOM line", async () => {
  await scoped(async (scope) => {
    const chain = await serverChain("rsa-2048");
    const path = pemFiles(scope, chain);
    const listener = await scope.listen();
    const client = gnutlsCli(scope, listener, path, { env: { SSLKEYLOGFILE: path("client.keys") } });
    const c = await acceptServer("gnutls-cli", listener, client, { certificates: [await certified(chain)] });
    assertTls12(await c.tls.handshake());
    await echoLine(c, client);
    assertClientRandomLine(c.keylog);
    assert.deepEqual(c.keylog, readKeyLogFile(path("client.keys")));
  });
});

// ---- renegotiation ---------------------------------------------------------------------------------------

Deno.test("gnutls-cli ^renegotiate^ ↔ airlock server: no_renegotiation, then unexpected_message when it insists", async () => {
  await scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const path = pemFiles(scope, chain);
    const listener = await scope.listen();
    const client = gnutlsCli(scope, listener, path, { args: ["--inline-commands"] });
    const c = await acceptServer("gnutls-cli", listener, client, { certificates: [await certified(chain)] });
    assertTls12(await c.tls.handshake());
    client.send("before\n");
    assert.equal(await c.lines.next(), "before", excerpt(client));
    // gnutls-cli sends a renegotiation ClientHello; taking our warning for a non-fatal error, it sends
    // another, which ends the connection.
    const reading = c.lines.next();
    client.send("^renegotiate^\n");
    await expectTlsError(reading, "peer_misbehaved.renegotiation_insisted", "unexpected_message");
    assert.deepEqual(c.alerts, ["sent warning no_renegotiation", "sent fatal unexpected_message"]);
    assert.equal(c.handshakes.length, 1, "no second handshake");
    await client.exited;
    const text = report(path, client);
    assert.match(text, /^\*\*\* Received alert \[100\]: No renegotiation is allowed$/m, text);
    assert.match(text, /^\*\*\* ReHandshake has failed$/m, text);
  });
});

Deno.test("gnutls-serv **REHANDSHAKE** ↔ airlock client: a HelloRequest gets no_renegotiation", async () => {
  await scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const path = pemFiles(scope, chain);
    const { server, port } = await gnutlsServ(scope, path);
    const c = await connectClient(scope, port, chain);
    assertTls12(await c.tls.handshake());
    // The echo server's command sends a HelloRequest, then its answer.
    await c.tls.write(utf8("**REHANDSHAKE**\n"));
    assert.equal(await c.lines.next(), "Successfully executed command", excerpt(server));
    assert.deepEqual(c.alerts, ["sent warning no_renegotiation"]);
    // gnutls-serv takes our warning as the end of the session and drops the connection.
    await c.tls.write(utf8("after\n"));
    await expectTlsError(c.lines.next(), "truncated");
    assert.equal(c.handshakes.length, 1, "no second handshake");
    await stopGnutlsServ(server);
    assert.match(server.stderr, /^\*\*\* Sending rehandshake request$/m, excerpt(server));
    assert.match(server.stderr, /^Error: A TLS warning alert has been received\.$/m, excerpt(server));
  });
});

// ---- downgrade protection --------------------------------------------------------------------------------

Deno.test("gnutls-cli (TLS 1.2) %FALLBACK_SCSV ↔ airlock server (TLS 1.2 and 1.3): inappropriate_fallback", async () => {
  await scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const path = pemFiles(scope, chain);
    const listener = await scope.listen();
    const client = gnutlsCli(scope, listener, path, { priority: `${TLS12}:%FALLBACK_SCSV` });
    const c = await acceptServer("gnutls-cli", listener, client, {
      certificates: [await certified(chain)],
      requireExtendedMasterSecret: true,
    });
    await expectTlsError(
      c.tls.handshake(),
      "peer_incompatible.inappropriate_fallback",
      "inappropriate_fallback",
    );
    assert.deepEqual(c.alerts, ["sent fatal inappropriate_fallback"]);
    assert.notEqual((await client.exited).code, 0, excerpt(client));
    assert.match(report(path, client), /Received alert \[86\]/, excerpt(client));
  });
});

Deno.test("gnutls-cli (TLS 1.2) %FALLBACK_SCSV ↔ airlock server (TLS 1.2 only): accepted", async () => {
  const { info } = await cliAgainstServer({
    server: { maxVersion: "TLSv1.2" },
    cli: { priority: `${TLS12}:%FALLBACK_SCSV` },
  });
  assertTls12(info);
});

Deno.test("gnutls-serv (TLS 1.2 and 1.3) ↔ airlock client with fallbackScsv: inappropriate_fallback", async () => {
  await scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const path = pemFiles(scope, chain);
    const { server, port } = await gnutlsServ(scope, path, { priority: "NORMAL" });
    const c = await connectClient(scope, port, chain, { maxVersion: "TLSv1.2", fallbackScsv: true });
    await expectTlsError(
      c.tls.handshake(),
      "alert_received.inappropriate_fallback",
      "inappropriate_fallback",
    );
    await stopGnutlsServ(server);
    assert.match(server.stderr, /Error in handshake/, excerpt(server));
  });
});

/** Drop supported_versions from the ClientHello on the wire: the server sees a TLS 1.2 client. */
const hideTls13 = (extensions: Extension[]) => extensions.filter((e) => e.type !== 43);

Deno.test("gnutls-serv (TLS 1.2 and 1.3) ↔ airlock client whose TLS 1.3 offer was stripped: the sentinel is caught", async () => {
  await scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const path = pemFiles(scope, chain);
    const { server, port } = await gnutlsServ(scope, path, { priority: "NORMAL" });
    // We still believe we offered TLS 1.3; gnutls-serv answers TLS 1.2 with DOWNGRD\x01 in its random.
    const c = await connectClient(scope, port, chain, { helloExtensions: hideTls13 });
    await expectTlsError(c.tls.handshake(), "peer_misbehaved.downgrade", "illegal_parameter");
    assert.deepEqual(c.alerts, ["sent fatal illegal_parameter"]);
    await stopGnutlsServ(server);
    assert.match(server.stderr, /Error in handshake/, excerpt(server));
  });
});

// ---- the matrix: every suite with a group, both ways, with and without TLS 1.3 on the other side -------

tls12Matrix<string, Suite, Group>({
  serverName: "gnutls-serv (TLS 1.2)",
  clientName: "gnutls-cli (TLS 1.2)",
  clientBothName: "gnutls-cli (TLS 1.2 and 1.3)",
  withServer: async (c) => {
    const { info, server } = await clientAgainstServ({
      serv: { priority: c.args.join("") },
      ...settings(c),
    });
    return { info, report: server.stdout };
  },
  withClient: async (c) => {
    const { info } = await cliAgainstServer({
      cli: { priority: c.args.join("") },
      ...settings(c),
    });
    return { info, report: "" };
  },
  suites: SUITES,
  groups: GROUPS,
  serverArgs: (suite, group) => [TLS12, only(suite, group)],
  clientArgs: (suite, group, alsoTls13) => [alsoTls13 ? "NORMAL" : TLS12, towardUs(suite, group)],
});
