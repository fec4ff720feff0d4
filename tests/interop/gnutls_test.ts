// Copyright 2026 the airlock authors. MIT license.

/**
 * Interop with GnuTLS on 127.0.0.1: the airlock client against `gnutls-serv --echo`, and `gnutls-cli`
 * against the airlock server (which echoes), over every cipher suite and group, a forced HelloRetryRequest,
 * ECDSA, RSA and Ed25519 certificates, mTLS, ALPN, SNI, KeyUpdate, close_notify, and 16 MiB echoed and
 * compared by SHA-256. Certificates are CA-issued (root → intermediate → leaf) and verified by name on both
 * sides. Each case is bounded by {@linkcode CASE_TIMEOUT_MS} and kills its peer in the end. Without
 * `gnutls-serv` and `gnutls-cli` on PATH (Debian: gnutls-bin) every case fails with a message saying so.
 *
 * GnuTLS-specific habits these cases rely on:
 * - gnutls-serv cannot pick its own port and keeps running when the bind fails, so it gets a free port
 *   and a retry;
 * - both programs write their session report to stdout, which a pipe keeps buffered: gnutls-serv is stopped
 *   with SIGTERM (it flushes and exits) before its report is read, and gnutls-cli gets `--logfile`, which
 *   moves the report off stdout and leaves only the application data there;
 * - `--echo` answers once what it gathered holds a newline, treating it as a C string; the bulk data is
 *   printable text with a newline every KiB;
 * - gnutls-serv answers close_notify with its own, gnutls-cli exits on ours without answering.
 *
 * @module
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  type AlertInfo,
  type ClientConfig,
  createBioPair,
  createClient,
  createServer,
  type HandshakeInfo,
  loadPrivateKey,
  on,
  type SecretsInfo,
  type ServerConfig,
  type SigSchemeName,
  type TlsEngine,
  TlsError,
  type TlsSession,
} from "../../mod.ts";
import { toHex } from "../../suites/bytes.ts";
import { generateChain, type TestChain, type TestKeyType } from "../../testing/pki.ts";
import {
  freePort,
  LineReader,
  type Peer,
  pumpSocket,
  requireGnutls,
  type Scope,
  scoped,
  type TlsSocket,
} from "../../testing/peers.ts";
import { settings, tls13Matrix } from "../../testing/interop.ts";

/** TLS 1.3 only; a case appends its own restrictions. */
const TLS13 = "NORMAL:-VERS-ALL:+VERS-TLS1.3";

/** Our suite names and GnuTLS's cipher names. */
const SUITES = [
  { name: "TLS_AES_128_GCM_SHA256", gnutls: "AES-128-GCM" },
  { name: "TLS_AES_256_GCM_SHA384", gnutls: "AES-256-GCM" },
  { name: "TLS_CHACHA20_POLY1305_SHA256", gnutls: "CHACHA20-POLY1305" },
] as const;

/** Our group names and GnuTLS's. */
const GROUPS = [
  { name: "x25519", gnutls: "X25519" },
  { name: "secp256r1", gnutls: "SECP256R1" },
  { name: "secp384r1", gnutls: "SECP384R1" },
] as const;

/** Certificate types, the scheme each one signs CertificateVerify with, and GnuTLS's name for it. */
const CERTIFICATES: readonly {
  readonly type: TestKeyType;
  readonly scheme: SigSchemeName;
  readonly gnutls: string;
}[] = [
  { type: "ecdsa-p256", scheme: "ecdsa_secp256r1_sha256", gnutls: "ECDSA-SECP256R1-SHA256" },
  { type: "rsa-2048", scheme: "rsa_pss_rsae_sha256", gnutls: "RSA-PSS-RSAE-SHA256" },
  { type: "ed25519", scheme: "ed25519", gnutls: "EdDSA-Ed25519" },
];

const utf8 = (text: string) => new TextEncoder().encode(text);
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The line both programs print for a session, e.g. `(TLS1.3-X.509)-(ECDHE-X25519)-(…)-(AES-128-GCM)`. */
function description(info: HandshakeInfo): RegExp {
  const suite = SUITES.find((s) => s.name === info.cipherSuite)!.gnutls;
  const group = GROUPS.find((g) => g.name === info.group)!.gnutls;
  return new RegExp(
    `^- Description: \\(TLS1\\.3-X\\.509\\)-\\(ECDHE-${group}\\)-\\(.+\\)-\\(${suite}\\)$`,
    "m",
  );
}

const chains = new Map<string, Promise<TestChain>>();

/** A CA-issued chain (root → intermediate → leaf) for a server of `type`, made once per type. */
function serverChain(type: TestKeyType): Promise<TestChain> {
  let chain = chains.get(type);
  if (!chain) {
    chain = generateChain({ keyType: type, intermediate: true, dnsNames: ["localhost", "airlock.test"] });
    chains.set(type, chain);
  }
  return chain;
}

/** A client chain (root → leaf) with the clientAuth key purpose, made once. */
function clientChain(): Promise<TestChain> {
  let chain = chains.get("client");
  if (!chain) {
    chain = generateChain({ dnsNames: ["client.test"], eku: ["clientAuth"] });
    chains.set("client", chain);
  }
  return chain;
}

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

/** A peer's output for an assertion message, cut in the middle when long (a bulk echo logs 16 MiB). */
function excerpt(peer: Peer): string {
  const text = peer.output;
  if (text.length <= 8000) return text;
  return `${text.slice(0, 4000)}\n[… ${text.length - 8000} characters …]\n${text.slice(-4000)}`;
}

/** Record the alerts an engine sends and receives, as `sent close_notify`, `received certificate_required`. */
function recordAlerts(engine: TlsEngine): string[] {
  const alerts: string[] = [];
  on(engine, "alert", (a: AlertInfo) => alerts.push(`${a.direction} ${a.name}`));
  return alerts;
}

const BULK_BYTES = 16 * 1024 * 1024;
/** Each batch goes out, then comes back, before the next: both peers' buffers hold one, so none blocks. */
const BULK_BATCH = 256 * 1024;
const BULK_ALPHABET = utf8("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

/**
 * Random printable bytes for the bulk transfer: no NUL (gnutls-serv's echo treats what it read as a C
 * string), no CR, no `*` (a line opening with `**` is a command), and a newline every KiB (the echo answers
 * once what it gathered holds one).
 */
function bulkBatch(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let off = 0; off < size; off += 65536) crypto.getRandomValues(out.subarray(off, off + 65536));
  for (let i = 0; i < size; i++) out[i] = i % 1024 === 1023 ? 0x0a : BULK_ALPHABET[out[i]! & 63]!;
  return out;
}

/** Read exactly `n` bytes into `hash`. */
async function readInto(tls: TlsSocket, n: number, hash: ReturnType<typeof sha256.create>): Promise<void> {
  for (let got = 0; got < n;) {
    const data = await tls.read();
    assert.ok(data, `the peer closed ${n - got} bytes short of a batch`);
    hash.update(data);
    got += data.length;
  }
}

// ---- airlock client ↔ gnutls-serv --------------------------------------------------------------------

interface ServOptions {
  /** Restrictions appended to the TLS 1.3-only priority string. */
  readonly priority?: string;
  /** Extra gnutls-serv arguments. */
  readonly args?: readonly string[];
  /** Let gnutls-serv send its default (optional) CertificateRequest; otherwise it sends none (`-a`). */
  readonly certificateRequest?: boolean;
}

/**
 * Start `gnutls-serv --echo` on a free port. It cannot pick its own and does not exit when the bind fails,
 * so a port taken in the meantime means killing it and trying another.
 */
async function gnutlsServ(
  scope: Scope,
  path: (name: string) => string,
  o: ServOptions,
): Promise<{ server: Peer; port: number }> {
  for (let attempt = 1;; attempt++) {
    const port = await freePort();
    const server = scope.spawn("gnutls-serv", [
      "--echo",
      "--crlf",
      "-p",
      String(port),
      "--x509certfile",
      path("server-chain.pem"),
      "--x509keyfile",
      path("server-key.pem"),
      "--priority",
      `${TLS13}${o.priority ?? ""}`,
      ...(o.certificateRequest ? [] : ["--disable-client-cert"]),
      ...(o.args ?? []),
    ]);
    const [, outcome] = await server.waitFor(/listening on IPv4 \S+ port \d+\.\.\.(done|.*failed.*)$/m);
    if (outcome === "done") return { server, port };
    await server.kill();
    if (attempt === 3) throw new Error(`gnutls-serv cannot listen on a free port\n${server.output}`);
  }
}

/** Stop gnutls-serv with SIGTERM and wait: it then flushes its stdout (its session report) and exits. */
async function stop(server: Peer): Promise<void> {
  // It serves on after a session; give it a moment to finish logging this one.
  await new Promise((resolve) => setTimeout(resolve, 50));
  server.child.kill("SIGTERM");
  await server.exited;
}

interface ClientCase {
  readonly keyType?: TestKeyType;
  readonly serv?: ServOptions;
  readonly client?: Partial<ClientConfig>;
  /** Give gnutls-serv the client root (`--x509cafile`) and our client a certificate. */
  readonly mtls?: boolean;
  /** Send KeyUpdate(update_requested) after the handshake, before the data. */
  readonly keyUpdate?: boolean;
  /** Replaces the default exchange of two short lines. */
  readonly exchange?: (tls: TlsSocket, lines: LineReader) => Promise<void>;
}

interface ClientResult {
  readonly info: HandshakeInfo;
  readonly secrets: readonly SecretsInfo[];
  /** gnutls-serv, stopped, with all its output. */
  readonly server: Peer;
}

/**
 * Start `gnutls-serv --echo`, connect the airlock client (verifying the server's chain to its root, for
 * "localhost"), exchange lines, close with close_notify both ways, stop gnutls-serv and check its report.
 */
function clientAgainstServ(c: ClientCase): Promise<ClientResult> {
  requireGnutls();
  return scoped(async (scope) => {
    const chain = await serverChain(c.keyType ?? "ecdsa-p256");
    const clientPki = c.mtls ? await clientChain() : undefined;
    const path = pemFiles(scope, chain, clientPki);
    const { server, port } = await gnutlsServ(scope, path, {
      ...c.serv,
      args: [...(c.serv?.args ?? []), ...(c.mtls ? ["--x509cafile", path("client-root.pem")] : [])],
    });
    const socket = await scope.connect(port);

    const { engine, network } = createBioPair();
    const client = createClient({
      serverName: "localhost",
      trustAnchors: [chain.rootPem],
      ...(clientPki
        ? { clientCertificate: { chain: clientPki.chain, key: await loadPrivateKey(clientPki.keyPkcs8) } }
        : {}),
      ...c.client,
    }, engine);
    const secrets: SecretsInfo[] = [];
    on(client, "secrets", (s) => secrets.push(s));
    const alerts = recordAlerts(client);
    const tls = pumpSocket(client, network, socket);
    const lines = new LineReader(tls);

    const info = await tls.handshake();
    assert.equal(info.version, "TLSv1.3");
    assert.equal(info.peerCertificates.length, 2, "the leaf and the intermediate");
    if (c.keyUpdate) await tls.keyUpdate(true);
    if (c.exchange) {
      await c.exchange(tls, lines);
    } else {
      await tls.write(utf8("hello from airlock\n"));
      assert.equal(await lines.next(), "hello from airlock", excerpt(server));
      await tls.write(utf8("second line\n"));
      assert.equal(await lines.next(), "second line", excerpt(server));
    }
    await tls.close();
    assert.deepEqual(alerts, ["sent close_notify", "received close_notify"]);

    await stop(server);
    assert.match(server.stdout, description(info), excerpt(server));
    // A session that ends without close_notify makes it print "Error while receiving data" and "Error: The
    // TLS connection was non-properly terminated"; a failed handshake "Error in handshake: …".
    assert.doesNotMatch(server.stderr, /^Error[ :]|non-properly terminated/m, excerpt(server));
    return { info, secrets, server };
  });
}

Deno.test("gnutls-serv ↔ airlock client: ALPN", async () => {
  // --alpn-fatal: gnutls-serv refuses a handshake without a protocol in common.
  const { info, server } = await clientAgainstServ({
    serv: { args: ["--alpn", "http/1.1", "--alpn", "h2", "--alpn-fatal"] },
    client: { alpnProtocols: ["h2", "http/1.1"] },
  });
  assert.equal(info.alpn, "h2");
  assert.match(server.stdout, /^- Application protocol: h2$/m, excerpt(server));
});

Deno.test("gnutls-serv ↔ airlock client: SNI", async () => {
  // --sni-hostname-fatal: gnutls-serv refuses a handshake naming another host.
  const { info, server } = await clientAgainstServ({
    serv: { args: ["--sni-hostname", "airlock.test", "--sni-hostname-fatal"] },
    client: { serverName: "airlock.test" },
  });
  assert.equal(info.serverName, "airlock.test");
  assert.match(server.stdout, /^- Given server name\[1\]: airlock\.test$/m, excerpt(server));
});

Deno.test("gnutls-serv ↔ airlock client: SNI naming another host gets unrecognized_name", async () => {
  requireGnutls();
  await scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const { port } = await gnutlsServ(scope, pemFiles(scope, chain), {
      args: ["--sni-hostname", "airlock.test", "--sni-hostname-fatal"],
    });
    const { engine, network } = createBioPair();
    const client = createClient({ serverName: "localhost", trustAnchors: [chain.rootPem] }, engine);
    const tls = pumpSocket(client, network, await scope.connect(port));
    await assert.rejects(tls.handshake(), (e: unknown) => {
      assert.ok(e instanceof TlsError, String(e));
      assert.equal(e.code, "alert_received.unrecognized_name");
      return true;
    });
  });
});

Deno.test("gnutls-serv ↔ airlock client: KeyUpdate with update_requested", async () => {
  const { secrets } = await clientAgainstServ({ keyUpdate: true });
  const application = (direction: "read" | "write") =>
    secrets.filter((s) => s.level === "application" && s.direction === direction).length;
  // Handshake-time traffic secrets, then our update, then the server's answering update.
  assert.equal(application("write"), 2);
  assert.equal(application("read"), 2);
});

Deno.test("gnutls-serv --require-client-cert ↔ airlock client with a certificate (mTLS)", async () => {
  const { server } = await clientAgainstServ({
    mtls: true,
    serv: { certificateRequest: true, args: ["--require-client-cert", "--verify-client-cert"] },
  });
  assert.match(server.stdout, /^- Status: The certificate is trusted\. *$/m, excerpt(server));
  assert.match(server.stdout, /^\s*DNSname: client\.test$/m, excerpt(server));
  assert.match(server.stdout, /^- Client Signature: ECDSA-SECP256R1-SHA256$/m, excerpt(server));
});

Deno.test("gnutls-serv --require-client-cert ↔ airlock client without one: certificate_required", async () => {
  requireGnutls();
  await scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const path = pemFiles(scope, chain, await clientChain());
    const { server, port } = await gnutlsServ(scope, path, {
      certificateRequest: true,
      args: ["--require-client-cert", "--verify-client-cert", "--x509cafile", path("client-root.pem")],
    });
    const { engine, network } = createBioPair();
    const client = createClient({ serverName: "localhost", trustAnchors: [chain.rootPem] }, engine);
    const tls = pumpSocket(client, network, await scope.connect(port));
    // Our side of the handshake completes; the refusal arrives after our Finished.
    const outcome = await tls.handshake().then(() => tls.read()).catch((e: unknown) => e);
    assert.equal(client.error?.code, "alert_received.certificate_required", String(outcome));
    await stop(server);
    assert.match(server.stderr, /Certificate is required/, excerpt(server));
  });
});

Deno.test("gnutls-serv ↔ airlock client: an optional CertificateRequest gets an empty Certificate", async () => {
  // gnutls-serv asks for a client certificate by default and goes on without one.
  await clientAgainstServ({ serv: { certificateRequest: true } });
});

Deno.test("gnutls-serv ↔ airlock client: 16 MiB echoed back, checked by SHA-256", async () => {
  const sent = sha256.create(), received = sha256.create();
  await clientAgainstServ({
    exchange: async (tls) => {
      for (let off = 0; off < BULK_BYTES; off += BULK_BATCH) {
        const batch = bulkBatch(BULK_BATCH);
        sent.update(batch);
        await tls.write(batch);
        await readInto(tls, batch.length, received);
      }
    },
  });
  assert.equal(toHex(received.digest()), toHex(sent.digest()));
});

// ---- gnutls-cli ↔ airlock server ---------------------------------------------------------------------

interface ServerCase {
  readonly keyType?: TestKeyType;
  readonly server?: Partial<ServerConfig>;
  /** Restrictions appended to the TLS 1.3-only priority string. */
  readonly priority?: string;
  /** Extra gnutls-cli arguments. */
  readonly clientArgs?: readonly string[];
  /** Give gnutls-cli a client certificate, and our server `clientAuth` with its root. */
  readonly mtls?: boolean;
  /** Replaces the default exchange (a line from gnutls-cli's stdin, echoed back) and the close. */
  readonly exchange?: (tls: TlsSocket, client: Peer) => Promise<void>;
}

interface ServerResult {
  readonly info: HandshakeInfo;
  readonly secrets: readonly SecretsInfo[];
  readonly alerts: readonly string[];
  /** gnutls-cli, exited. */
  readonly client: Peer;
  /** Its session report (`--logfile`), with its stderr. */
  readonly report: string;
}

/**
 * Start the airlock server on an ephemeral port, connect `gnutls-cli` to it (verifying our chain to its
 * root, for "localhost"), echo a line from gnutls-cli's stdin, close with close_notify (gnutls-cli then
 * exits), and check gnutls-cli's report.
 */
function cliAgainstServer(c: ServerCase): Promise<ServerResult> {
  requireGnutls();
  return scoped(async (scope) => {
    const chain = await serverChain(c.keyType ?? "ecdsa-p256");
    const clientPki = c.mtls ? await clientChain() : undefined;
    const path = pemFiles(scope, chain, clientPki);
    const listener = await scope.listen();
    const client = scope.spawn("gnutls-cli", [
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
      `${TLS13}${c.priority ?? ""}`,
      "--logfile",
      path("gnutls-cli.log"),
      ...(c.mtls
        ? ["--x509certfile", path("client-chain.pem"), "--x509keyfile", path("client-key.pem")]
        : []),
      ...(c.clientArgs ?? []),
    ]);
    const socket = await Promise.race([
      listener.accepted,
      client.exited.then(() =>
        Promise.reject(new Error(`gnutls-cli exited before connecting\n${client.output}`))
      ),
    ]);

    const { engine, network } = createBioPair();
    const server = createServer({
      certificates: [{ chain: chain.chain, key: await loadPrivateKey(chain.keyPkcs8) }],
      ...(clientPki ? { clientAuth: { required: true, trustAnchors: [clientPki.rootPem] } } : {}),
      ...c.server,
    }, engine);
    const secrets: SecretsInfo[] = [];
    on(server, "secrets", (s) => secrets.push(s));
    const alerts = recordAlerts(server);
    const tls = pumpSocket(server, network, socket);
    const info = await tls.handshake();
    assert.equal(info.serverName, "localhost");

    if (c.exchange) {
      await c.exchange(tls, client);
    } else {
      const token = `airlock-interop-${Math.random().toString(36).slice(2)}`;
      client.send(`${token}\n`);
      assert.equal(await new LineReader(tls).next(), token, excerpt(client));
      await tls.write(utf8(`echo: ${token}\n`));
      // Our close_notify makes gnutls-cli exit (it does not answer with its own).
      await tls.close();
      assert.deepEqual(alerts, ["sent close_notify"]);
      await client.exited;
      // With --logfile, stdout carries the application data alone.
      assert.equal(client.stdout, `echo: ${token}\n`, excerpt(client));
    }

    const exit = await client.exited;
    const report = `${readFileSync(path("gnutls-cli.log"), "utf8")}\n${client.stderr}`;
    assert.equal(exit.code, 0, excerpt(client));
    assert.match(report, description(info), report);
    assert.match(report, /^- Status: The certificate is trusted\. *$/m, report);
    // Printed when a close_notify arrived; a bare EOF is "The TLS connection was non-properly terminated".
    assert.match(report, /^- Peer has closed the GnuTLS connection$/m, report);
    return { info, secrets, alerts, client, report };
  });
}

Deno.test("gnutls-cli ↔ airlock server: ALPN", async () => {
  const { info, report } = await cliAgainstServer({
    server: { alpnProtocols: ["http/1.1"] },
    clientArgs: ["--alpn", "h2", "--alpn", "http/1.1"],
  });
  assert.equal(info.alpn, "http/1.1");
  assert.match(report, /^- Application protocol: http\/1\.1$/m, report);
});

Deno.test("gnutls-cli ↔ airlock server: KeyUpdate with update_requested", async () => {
  const { secrets } = await cliAgainstServer({
    exchange: async (tls, client) => {
      await tls.keyUpdate(true);
      // Once this line is printed, gnutls-cli has read our KeyUpdate: its answer goes out before its next data.
      await tls.write(utf8("after the key update\n"));
      await client.waitFor(/^after the key update$/m);
      client.send("ping\n");
      assert.equal(await new LineReader(tls).next(), "ping", excerpt(client));
      await tls.close();
    },
  });
  // Handshake-time traffic secrets, then our update, then gnutls-cli's answering update.
  const application = (direction: "read" | "write") =>
    secrets.filter((s) => s.level === "application" && s.direction === direction).length;
  assert.equal(application("write"), 2);
  assert.equal(application("read"), 2);
});

Deno.test("gnutls-cli with a certificate ↔ airlock server requiring one (mTLS)", async () => {
  const clientPki = await clientChain();
  const { info } = await cliAgainstServer({ mtls: true });
  assert.equal(info.peerCertificates.length, 1);
  assert.deepEqual(info.peerCertificates[0], clientPki.chain[0]);
});

Deno.test("gnutls-cli without a certificate ↔ airlock server requiring one: certificate_required", async () => {
  requireGnutls();
  await scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const path = pemFiles(scope, chain);
    const listener = await scope.listen();
    const client = scope.spawn("gnutls-cli", [
      "127.0.0.1",
      "-p",
      String(listener.port),
      "--x509cafile",
      path("server-root.pem"),
      "--verify-hostname",
      "localhost",
    ]);
    const { engine, network } = createBioPair();
    const server = createServer({
      certificates: [{ chain: chain.chain, key: await loadPrivateKey(chain.keyPkcs8) }],
      clientAuth: { required: true, trustAnchors: [(await clientChain()).rootPem] },
    }, engine);
    const tls = pumpSocket(server, network, await listener.accepted);
    await assert.rejects(tls.handshake(), (e: unknown) => {
      assert.ok(e instanceof TlsError, String(e));
      assert.equal(e.code, "certificate.required");
      assert.equal(e.alert, "certificate_required");
      return true;
    });
    const exit = await client.exited;
    assert.notEqual(exit.code, 0, excerpt(client));
    assert.match(client.output, /Certificate is required/i, excerpt(client));
  });
});

Deno.test("gnutls-cli ↔ airlock server: 16 MiB checked by SHA-256, answered after gnutls-cli's close_notify", async () => {
  // gnutls-cli prints what it receives one byte per write(2), some 400 KiB/s: so 16 MiB go one way only, from
  // its stdin to our server, which answers with their digest after gnutls-cli's close_notify (a TLS 1.3
  // half-close); the 16 MiB from our server are checked against openssl s_client (keylog_test.ts).
  const sent = sha256.create();
  const { alerts, client } = await cliAgainstServer({
    exchange: async (tls, client) => {
      for (let off = 0; off < BULK_BYTES; off += BULK_BATCH) {
        const batch = bulkBatch(BULK_BATCH);
        sent.update(batch);
        client.send(new TextDecoder().decode(batch));
      }
      // EOF on its stdin makes gnutls-cli send close_notify; it reads on until ours.
      client.child.stdin!.end();
      const received = sha256.create();
      let total = 0;
      for (let data; (data = await tls.read()) !== null;) {
        received.update(data);
        total += data.length;
      }
      assert.equal(total, BULK_BYTES);
      await tls.write(utf8(`sha256 ${toHex(received.digest())}\n`));
      await tls.close();
    },
  });
  assert.deepEqual(alerts, ["received close_notify", "sent close_notify"]);
  assert.equal(client.stdout, `sha256 ${toHex(sent.digest())}\n`, excerpt(client));
});

// ---- resumption ----------------------------------------------------------------------------------------

Deno.test("gnutls-serv ↔ airlock client: the second connection resumes with a ticket", async () => {
  requireGnutls();
  await scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const path = pemFiles(scope, chain);
    const { server, port } = await gnutlsServ(scope, path, {});
    const sessions: TlsSession[] = [];
    const connect = async (session?: TlsSession) => {
      const { engine, network } = createBioPair();
      const client = createClient({
        serverName: "localhost",
        trustAnchors: [chain.rootPem],
        ...(session ? { session } : {}),
      }, engine);
      on(client, "session", (s) => sessions.push(s));
      const tls = pumpSocket(client, network, await scope.connect(port));
      const info = await tls.handshake();
      await tls.write(utf8("resume\n"));
      assert.equal(await new LineReader(tls).next(), "resume", excerpt(server));
      await tls.close();
      return info;
    };
    assert.equal((await connect()).resumed, false);
    assert.ok(sessions.length > 0, "gnutls-serv sent a ticket");
    const second = await connect(sessions[0]);
    assert.equal(second.resumed, true);
    await stop(server);
  });
});

Deno.test("gnutls-cli --resume ↔ airlock server: the second connection is resumed", async () => {
  requireGnutls();
  await scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const path = pemFiles(scope, chain);
    const listener = await scope.listen();
    const config: ServerConfig = {
      certificates: [{ chain: chain.chain, key: await loadPrivateKey(chain.keyPkcs8) }],
    };
    const client = scope.spawn("gnutls-cli", [
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
      TLS13,
      "--resume",
    ]);
    const infos: HandshakeInfo[] = [];
    for (let i = 0; i < 2; i++) {
      const socket = await Promise.race([
        listener.next(),
        client.exited.then(() => Promise.reject(new Error(`gnutls-cli exited\n${client.output}`))),
      ]);
      const { engine, network } = createBioPair();
      const tls = pumpSocket(createServer(config, engine), network, socket);
      infos.push(await tls.handshake());
      if (i === 0) {
        // gnutls-cli disconnects after the first handshake and reconnects with the session.
        await tls.read().catch(() => null);
      } else {
        await tls.close();
      }
    }
    await client.exited;
    assert.equal(infos[0]!.resumed, false);
    assert.equal(infos[1]!.resumed, true);
    assert.match(client.output, /This is a resumed session/, excerpt(client));
  });
});

// ---- the matrix: suites, groups, HelloRetryRequest and certificate types, both ways -------------------

tls13Matrix<string>({
  serverName: "gnutls-serv",
  clientName: "gnutls-cli",
  withServer: async (c) => {
    const { info, server } = await clientAgainstServ({
      serv: { priority: c.args.join("") },
      ...settings(c),
    });
    return { info, report: server.stdout };
  },
  withClient: async (c) => {
    const { info, report } = await cliAgainstServer({
      priority: c.args.join(""),
      ...settings(c),
    });
    return { info, report };
  },
  suites: SUITES.map((s) => ({ name: s.name, args: `:-CIPHER-ALL:+${s.gnutls}` })),
  groups: GROUPS.map((g) => ({ name: g.name, args: `:-GROUP-ALL:+GROUP-${g.gnutls}` })),
  // gnutls-cli sends key shares for secp256r1 and x25519 by default.
  hrr: { serverArgs: [":-GROUP-ALL:+GROUP-SECP256R1"], clientArgs: [] },
  certificates: CERTIFICATES.map((c) => ({
    type: c.type,
    scheme: c.scheme,
    serverSays: new RegExp(`^- Server Signature: ${escape(c.gnutls)}$`, "m"),
    clientSays: new RegExp(`^- Description: .*\\(${escape(c.gnutls)}\\)`, "m"),
  })),
});
