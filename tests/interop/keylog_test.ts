// Copyright 2026 the airlock authors. MIT license.

/**
 * The key log airlock writes (the `keylog` event, NSS SSLKEYLOGFILE format) against the one the peer writes
 * for the same session: `openssl s_server`/`s_client -keylogfile`, and `gnutls-serv`/`gnutls-cli` with
 * `SSLKEYLOGFILE` in their environment (honoured since GnuTLS 3.6.13). Both must hold the same five lines,
 * CLIENT_HANDSHAKE_TRAFFIC_SECRET, SERVER_HANDSHAKE_TRAFFIC_SECRET, CLIENT_TRAFFIC_SECRET_0,
 * SERVER_TRAFFIC_SECRET_0 and EXPORTER_SECRET, under one client random, in whatever order. Matching the
 * peer line for line is what lets Wireshark decrypt a capture with our log, without needing tshark here.
 *
 * The OpenSSL sessions of the last two cases also carry 16 MiB each way, checked by SHA-256: with `-quiet`,
 * s_server and s_client copy stdin to the connection and the connection to stdout, byte for byte, and take
 * no commands from stdin. Each case is bounded by {@linkcode CASE_TIMEOUT_MS} and kills its peer in the end.
 * Without `openssl`, `gnutls-serv` or `gnutls-cli` on PATH the cases that need it fail with a message saying
 * so.
 *
 * @module
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  type ClientConfig,
  createBioPair,
  createClient,
  createServer,
  type HandshakeInfo,
  loadPrivateKey,
  on,
  type ServerConfig,
  type TlsEngine,
} from "../../mod.ts";
import { toHex } from "../../suites/bytes.ts";
import { generateChain, type TestChain } from "../../testing/pki.ts";
import {
  freePort,
  LineReader,
  type Peer,
  pumpSocket,
  requireGnutls,
  requireOpenssl,
  type Scope,
  scoped,
  type TlsSocket,
} from "../../testing/peers.ts";

/** The TLS 1.3 labels of the key log format, as both peers write them. */
const LABELS = [
  "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
  "CLIENT_TRAFFIC_SECRET_0",
  "EXPORTER_SECRET",
  "SERVER_HANDSHAKE_TRAFFIC_SECRET",
  "SERVER_TRAFFIC_SECRET_0",
];

const utf8 = (text: string) => new TextEncoder().encode(text);

let pki: Promise<TestChain> | undefined;

/** One CA-issued server chain (root → leaf, for "localhost") for every case. */
function serverChain(): Promise<TestChain> {
  return pki ??= generateChain({ dnsNames: ["localhost"] });
}

function pemFiles(scope: Scope, chain: TestChain): (name: string) => string {
  return scope.writeFiles({ "cert.pem": chain.chainPem, "key.pem": chain.keyPem, "root.pem": chain.rootPem });
}

/** Collect the key log lines an engine writes. */
function keyLog(engine: TlsEngine): string[] {
  const lines: string[] = [];
  on(engine, "keylog", (line) => lines.push(line));
  return lines;
}

/** A peer's key log file: its lines, without comments and blank lines. */
function readKeyLog(path: string): string[] {
  return readFileSync(path, "utf8").split("\n").map((l) => l.trim()).filter((l) =>
    l !== "" && !l.startsWith("#")
  );
}

/** Ours and theirs hold the same lines, one per label, under one client random; secrets fit the suite. */
function assertSameKeyLog(ours: readonly string[], theirs: readonly string[], info: HandshakeInfo): void {
  assert.deepEqual([...ours].sort(), [...theirs].sort(), "our key log and the peer's");
  const fields = ours.map((line) => line.split(" "));
  assert.deepEqual(fields.map(([label]) => label).sort(), LABELS);
  const randoms = new Set(fields.map(([, random]) => random));
  assert.equal(randoms.size, 1, "one client random");
  assert.match([...randoms][0]!, /^[0-9a-f]{64}$/);
  const secretHex = info.cipherSuite === "TLS_AES_256_GCM_SHA384" ? 96 : 64;
  for (const [label, , secret, ...rest] of fields) {
    assert.equal(rest.length, 0, `${label}: three fields`);
    assert.match(secret ?? "", new RegExp(`^[0-9a-f]{${secretHex}}$`), `${label}: the secret's length`);
  }
}

/** Hashes what a peer writes to stdout (text, as these peers only ever print ASCII here). */
class StdoutHash {
  readonly hash = sha256.create();
  bytes = 0;
  readonly #peer: Peer;
  #wake: (() => void) | undefined;

  constructor(peer: Peer) {
    this.#peer = peer;
    peer.child.stdout!.on("data", (text: string) => {
      this.hash.update(utf8(text));
      this.bytes += text.length;
      this.#wake?.();
    });
  }

  /** Wait until `n` bytes have come; throws if the peer exits first. */
  async until(n: number): Promise<void> {
    let exited = false;
    void this.#peer.exited.then(() => {
      exited = true;
      this.#wake?.();
    });
    while (this.bytes < n) {
      if (exited) {
        throw new Error(`The peer exited after printing ${this.bytes} of ${n} bytes\n${this.#peer.stderr}`);
      }
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }
}

const BULK_BYTES = 16 * 1024 * 1024;
const BULK_CHUNK = 1024 * 1024;

/** Random printable ASCII (plus newlines), so a peer's stdout read as UTF-8 text is the same bytes. */
function bulkChunk(): Uint8Array {
  const out = new Uint8Array(BULK_CHUNK);
  for (let off = 0; off < out.length; off += 65536) crypto.getRandomValues(out.subarray(off, off + 65536));
  for (let i = 0; i < out.length; i++) out[i] = i % 100 === 99 ? 0x0a : 0x21 + (out[i]! % 94);
  return out;
}

/** Read `n` bytes from `tls` into a hash. */
async function readHash(tls: TlsSocket, n: number): Promise<string> {
  const hash = sha256.create();
  for (let got = 0; got < n;) {
    const data = await tls.read();
    assert.ok(data, `the peer closed ${n - got} bytes short`);
    hash.update(data);
    got += data.length;
  }
  return toHex(hash.digest());
}

/** Send 16 MiB through `write`, returning their digest. */
async function sendBulk(write: (chunk: Uint8Array) => Promise<void> | void): Promise<string> {
  const hash = sha256.create();
  for (let off = 0; off < BULK_BYTES; off += BULK_CHUNK) {
    const chunk = bulkChunk();
    hash.update(chunk);
    await write(chunk);
  }
  return toHex(hash.digest());
}

// ---- OpenSSL -----------------------------------------------------------------------------------------

interface OpensslCase {
  readonly client?: Partial<ClientConfig>;
  readonly server?: Partial<ServerConfig>;
  /** Extra s_server or s_client arguments. */
  readonly args?: readonly string[];
}

/** The airlock client against `openssl s_server -rev -keylogfile`: one line, then close_notify. */
function clientAgainstSServer(c: OpensslCase): Promise<HandshakeInfo> {
  requireOpenssl();
  return scoped(async (scope) => {
    const chain = await serverChain();
    const path = pemFiles(scope, chain);
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
      "-keylogfile",
      path("server.keys"),
      ...(c.args ?? []),
    ]);
    const [, port] = await server.waitFor(/^ACCEPT 127\.0\.0\.1:(\d+)$/m);
    const { engine, network } = createBioPair();
    const client = createClient(
      { serverName: "localhost", trustAnchors: [chain.rootPem], ...c.client },
      engine,
    );
    const ours = keyLog(client);
    const tls = pumpSocket(client, network, await scope.connect(Number(port)));
    const info = await tls.handshake();
    await tls.write(utf8("key log\n"));
    assert.equal(await new LineReader(tls).next(), "gol yek", server.output);
    await tls.close();
    assert.equal((await server.exited).code, 0, server.output);
    assertSameKeyLog(ours, readKeyLog(path("server.keys")), info);
    return info;
  });
}

/** `openssl s_client -keylogfile` against the airlock server: one line echoed, then close_notify. */
function sClientAgainstServer(c: OpensslCase): Promise<HandshakeInfo> {
  requireOpenssl();
  return scoped(async (scope) => {
    const chain = await serverChain();
    const path = pemFiles(scope, chain);
    const listener = await scope.listen();
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
      "-keylogfile",
      path("client.keys"),
      ...(c.args ?? []),
    ]);
    const { engine, network } = createBioPair();
    const server = createServer({
      certificates: [{ chain: chain.chain, key: await loadPrivateKey(chain.keyPkcs8) }],
      ...c.server,
    }, engine);
    const ours = keyLog(server);
    const tls = pumpSocket(server, network, await listener.accepted);
    const info = await tls.handshake();
    // Not "k…": s_client takes a line opening with K or k as a command to send a KeyUpdate.
    client.send("hello, key log\n");
    assert.equal(await new LineReader(tls).next(), "hello, key log", client.output);
    await tls.close();
    assert.equal((await client.exited).code, 0, client.output);
    assertSameKeyLog(ours, readKeyLog(path("client.keys")), info);
    return info;
  });
}

for (
  const suite of ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"] as const
) {
  Deno.test(`key log: airlock client and openssl s_server agree, ${suite}`, async () => {
    const info = await clientAgainstSServer({ args: ["-ciphersuites", suite] });
    assert.equal(info.cipherSuite, suite);
  });

  Deno.test(`key log: airlock server and openssl s_client agree, ${suite}`, async () => {
    const info = await sClientAgainstServer({ args: ["-ciphersuites", suite] });
    assert.equal(info.cipherSuite, suite);
  });
}

Deno.test("key log: airlock client and openssl s_server agree after a HelloRetryRequest", async () => {
  const info = await clientAgainstSServer({
    args: ["-groups", "P-256"],
    client: { groups: ["x25519", "secp256r1"], keyShareCount: 1 },
  });
  assert.equal(info.helloRetry, true);
});

Deno.test("key log: airlock server and openssl s_client agree after a HelloRetryRequest", async () => {
  const info = await sClientAgainstServer({
    args: ["-groups", "X25519:P-384"],
    server: { groups: ["secp384r1"] },
  });
  assert.equal(info.helloRetry, true);
});

Deno.test("openssl s_server -quiet ↔ airlock client: 16 MiB each way, checked by SHA-256; key logs agree", async () => {
  requireOpenssl();
  await scoped(async (scope) => {
    const chain = await serverChain();
    const path = pemFiles(scope, chain);
    // -quiet prints nothing, not even the port: pick a free one and retry the connection until it listens.
    const port = await freePort();
    const server = scope.spawn("openssl", [
      "s_server",
      "-tls1_3",
      "-naccept",
      "1",
      "-accept",
      `127.0.0.1:${port}`,
      "-cert",
      path("cert.pem"),
      "-key",
      path("key.pem"),
      "-quiet",
      "-keylogfile",
      path("server.keys"),
    ]);
    const printed = new StdoutHash(server);
    const socket = await connectWhenListening(scope, server, port);
    const { engine, network } = createBioPair();
    const client = createClient({ serverName: "localhost", trustAnchors: [chain.rootPem] }, engine);
    const ours = keyLog(client);
    const tls = pumpSocket(client, network, socket);
    const info = await tls.handshake();

    // Ours → s_server's stdout.
    const up = await sendBulk((chunk) => tls.write(chunk));
    await printed.until(BULK_BYTES);
    assert.equal(printed.bytes, BULK_BYTES);
    assert.equal(toHex(printed.hash.digest()), up, "what s_server printed");
    // s_server's stdin → ours.
    const reading = readHash(tls, BULK_BYTES);
    const down = await sendBulk((chunk) => void server.child.stdin!.write(chunk));
    assert.equal(await reading, down, "what our client read");

    await tls.close();
    assert.equal((await server.exited).code, 0, server.stderr);
    assertSameKeyLog(ours, readKeyLog(path("server.keys")), info);
  });
});

/** Connect to a peer that prints nothing once it listens: retry while the port refuses. */
async function connectWhenListening(scope: Scope, peer: Peer, port: number) {
  for (let attempt = 0;; attempt++) {
    try {
      return await scope.connect(port);
    } catch (e) {
      if (attempt === 100) throw e;
      const exited = await Promise.race([peer.exited, new Promise((resolve) => setTimeout(resolve, 50))]);
      if (exited) throw new Error(`The peer exited before listening on ${port}\n${peer.output}`);
    }
  }
}

Deno.test("openssl s_client -quiet ↔ airlock server: 16 MiB each way, checked by SHA-256; key logs agree", async () => {
  requireOpenssl();
  await scoped(async (scope) => {
    const chain = await serverChain();
    const path = pemFiles(scope, chain);
    const listener = await scope.listen();
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
      "-quiet",
      "-keylogfile",
      path("client.keys"),
    ]);
    const printed = new StdoutHash(client);
    const { engine, network } = createBioPair();
    const server = createServer({
      certificates: [{ chain: chain.chain, key: await loadPrivateKey(chain.keyPkcs8) }],
    }, engine);
    const ours = keyLog(server);
    const tls = pumpSocket(server, network, await listener.accepted);
    const info = await tls.handshake();

    // s_client's stdin → ours.
    const reading = readHash(tls, BULK_BYTES);
    const up = await sendBulk((chunk) => void client.child.stdin!.write(chunk));
    assert.equal(await reading, up, "what our server read");
    // Ours → s_client's stdout.
    const down = await sendBulk((chunk) => tls.write(chunk));
    await printed.until(BULK_BYTES);
    assert.equal(printed.bytes, BULK_BYTES);
    assert.equal(toHex(printed.hash.digest()), down, "what s_client printed");

    // Our close_notify makes s_client exit.
    await tls.close();
    assert.equal((await client.exited).code, 0, client.stderr);
    assertSameKeyLog(ours, readKeyLog(path("client.keys")), info);
  });
});

// ---- GnuTLS ------------------------------------------------------------------------------------------

/** The airlock client against `gnutls-serv --echo` with SSLKEYLOGFILE: one line, then close_notify. */
function clientAgainstServ(priority: string, client?: Partial<ClientConfig>): Promise<HandshakeInfo> {
  requireGnutls();
  return scoped(async (scope) => {
    const chain = await serverChain();
    const path = pemFiles(scope, chain);
    let server: Peer | undefined;
    let port = 0;
    // gnutls-serv cannot pick its own port and keeps running when the bind fails: retry on another.
    for (let attempt = 1; !server; attempt++) {
      port = await freePort();
      // env(1) execs gnutls-serv in the same process, with SSLKEYLOGFILE set.
      const peer = scope.spawn("env", [
        `SSLKEYLOGFILE=${path("server.keys")}`,
        "gnutls-serv",
        "--echo",
        "-p",
        String(port),
        "--x509certfile",
        path("cert.pem"),
        "--x509keyfile",
        path("key.pem"),
        "--disable-client-cert",
        "--priority",
        `NORMAL:-VERS-ALL:+VERS-TLS1.3${priority}`,
      ]);
      const [, outcome] = await peer.waitFor(/listening on IPv4 \S+ port \d+\.\.\.(done|.*failed.*)$/m);
      if (outcome === "done") server = peer;
      else if (attempt === 3) throw new Error(`gnutls-serv cannot listen on a free port\n${peer.output}`);
      else await peer.kill();
    }
    const { engine, network } = createBioPair();
    const tlsClient = createClient(
      { serverName: "localhost", trustAnchors: [chain.rootPem], ...client },
      engine,
    );
    const ours = keyLog(tlsClient);
    const tls = pumpSocket(tlsClient, network, await scope.connect(port));
    const info = await tls.handshake();
    await tls.write(utf8("key log\n"));
    assert.equal(await new LineReader(tls).next(), "key log", server.output);
    await tls.close();
    assertSameKeyLog(ours, readKeyLog(path("server.keys")), info);
    return info;
  });
}

/** `gnutls-cli` with SSLKEYLOGFILE against the airlock server: one line echoed, then close_notify. */
function cliAgainstServer(priority: string, server?: Partial<ServerConfig>): Promise<HandshakeInfo> {
  requireGnutls();
  return scoped(async (scope) => {
    const chain = await serverChain();
    const path = pemFiles(scope, chain);
    const listener = await scope.listen();
    const client = scope.spawn("env", [
      `SSLKEYLOGFILE=${path("client.keys")}`,
      "gnutls-cli",
      "127.0.0.1",
      "-p",
      String(listener.port),
      "--x509cafile",
      path("root.pem"),
      "--verify-hostname",
      "localhost",
      "--priority",
      `NORMAL:-VERS-ALL:+VERS-TLS1.3${priority}`,
    ]);
    const { engine, network } = createBioPair();
    const tlsServer = createServer({
      certificates: [{ chain: chain.chain, key: await loadPrivateKey(chain.keyPkcs8) }],
      ...server,
    }, engine);
    const ours = keyLog(tlsServer);
    const tls = pumpSocket(tlsServer, network, await listener.accepted);
    const info = await tls.handshake();
    // Not "k…": s_client takes a line opening with K or k as a command to send a KeyUpdate.
    client.send("hello, key log\n");
    assert.equal(await new LineReader(tls).next(), "hello, key log", client.output);
    await tls.close();
    assert.equal((await client.exited).code, 0, client.output);
    assertSameKeyLog(ours, readKeyLog(path("client.keys")), info);
    return info;
  });
}

Deno.test("key log: airlock client and gnutls-serv agree, TLS_AES_128_GCM_SHA256", async () => {
  const info = await clientAgainstServ(":-CIPHER-ALL:+AES-128-GCM");
  assert.equal(info.cipherSuite, "TLS_AES_128_GCM_SHA256");
});

Deno.test("key log: airlock client and gnutls-serv agree, TLS_AES_256_GCM_SHA384", async () => {
  const info = await clientAgainstServ(":-CIPHER-ALL:+AES-256-GCM");
  assert.equal(info.cipherSuite, "TLS_AES_256_GCM_SHA384");
});

Deno.test("key log: airlock client and gnutls-serv agree after a HelloRetryRequest", async () => {
  const info = await clientAgainstServ(":-GROUP-ALL:+GROUP-SECP256R1", {
    groups: ["x25519", "secp256r1"],
    keyShareCount: 1,
  });
  assert.equal(info.helloRetry, true);
});

Deno.test("key log: airlock server and gnutls-cli agree, TLS_CHACHA20_POLY1305_SHA256", async () => {
  const info = await cliAgainstServer(":-CIPHER-ALL:+CHACHA20-POLY1305");
  assert.equal(info.cipherSuite, "TLS_CHACHA20_POLY1305_SHA256");
});

Deno.test("key log: airlock server and gnutls-cli agree, TLS_AES_256_GCM_SHA384", async () => {
  const info = await cliAgainstServer(":-CIPHER-ALL:+AES-256-GCM");
  assert.equal(info.cipherSuite, "TLS_AES_256_GCM_SHA384");
});

Deno.test("key log: airlock server and gnutls-cli agree after a HelloRetryRequest", async () => {
  // gnutls-cli sends key shares for secp256r1 and x25519 by default.
  const info = await cliAgainstServer("", { groups: ["secp384r1"] });
  assert.equal(info.helloRetry, true);
});
