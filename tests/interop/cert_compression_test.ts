// Copyright 2026 the airlock authors. MIT license.

/**
 * Certificate compression (RFC 8879) against real peers on 127.0.0.1:
 *
 * - **Chromium** (/usr/bin/chromium, headless; it offers brotli, as every Chrome does) loads a page from
 *   `airlock server --www --compress-cert brotli`, trusting only our leaf's key
 *   (`--ignore-certificate-errors-spki-list`), and the server's `--trace` shows the brotli
 *   CompressedCertificate it sent; with `--compress-cert none` or `zlib` (which Chromium does not offer) the
 *   Certificate goes uncompressed.
 * - **GnuTLS 3.7.9** (gnutls-cli and gnutls-serv `--compress-cert=METHOD`), both roles. Debian 12 builds it
 *   without zlib, brotli and zstd: both tools print "Unknown compression method" and offer nothing, so the
 *   handshake must complete with an uncompressed Certificate. A GnuTLS that knows the method must instead
 *   exchange a CompressedCertificate with us, and the same cases assert that.
 * - **tlslite-ng** (tlsfuzzer's TLS library, run from the shared tree by tests/interop/tlslite_server.py), a
 *   server with RFC 8879 both ways: our client takes its zlib, brotli and zstd CompressedCertificate (zstd
 *   where our runtime has it), and under mTLS compresses its own, which tlslite-ng decompresses and accepts.
 * - OpenSSL 3.0 (Debian 12) has no RFC 8879 (it came in 3.2); Node 26's bundled OpenSSL 3.5 is built without
 *   the compression libraries and never compresses either. Neither is a peer here. tlsfuzzer's scripts
 *   (tlslite-ng's RFC 8879 as the client) run against `airlock server` in tests/tlsfuzzer/cert-compression.txt
 *   and client-cert-compression.txt.
 *
 * Each case is bounded by the scope's timeout and kills what it started.
 * @module
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  certCompressors,
  type ClientConfig,
  createBioPair,
  createClient,
  createServer,
  type HandshakeInfo,
  loadPrivateKey,
  type MessageInfo,
  on,
  type TlsEngine,
} from "../../mod.ts";
import { publicKeyFromCertificate } from "../../verify/mod.ts";
import {
  LineReader,
  type Peer,
  pumpSocket,
  requireGnutls,
  runtimeCommand,
  type Scope,
  scoped,
  serverChain,
  startGnutlsCli,
  startGnutlsServ,
  stopGnutlsServ,
} from "../../testing/peers.ts";
import { generateChain, type TestChain } from "../../testing/pki.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const TLS13 = "NORMAL:-VERS-ALL:+VERS-TLS1.3";
const utf8 = (s: string) => new TextEncoder().encode(s);

function pemFiles(scope: Scope, chain: TestChain): (name: string) => string {
  return scope.writeFiles({
    "chain.pem": chain.chainPem,
    "key.pem": chain.keyPem,
    "root.pem": chain.rootPem,
  });
}

/** Start `airlock server` with `args` on a free port; resolves once it listens. */
async function airlockServer(scope: Scope, args: readonly string[]): Promise<{ server: Peer; port: number }> {
  const [program, pre] = runtimeCommand(join(ROOT, "cli", "airlock.ts"));
  const server = scope.spawn(program, [...pre, "server", "--accept", "0", ...args]);
  const [, port] = await server.waitFor(/^ACCEPT \S+:(\d+)$/m);
  return { server, port: Number(port) };
}

/** The `--trace` lines of the Certificate or CompressedCertificate the server sent. */
function sentCertificates(server: Peer): string[] {
  return server.stderr.split("\n").filter((l) => /^\[\d+\] >>> Handshake (Compressed)?Certificate /.test(l));
}

// ---- Chromium ↔ airlock server ----------------------------------------------------------------------

/**
 * Load https://localhost:PORT/ in headless Chromium from `airlock server --www` with `compress`, trusting only
 * the leaf's key; returns the page and the certificate messages the server sent.
 */
function chromiumAgainstServer(compress: string): Promise<{ page: string; sent: string[] }> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Cannot run: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
  }
  return scoped(async (scope) => {
    const chain = await serverChain("ecdsa-p256");
    const path = pemFiles(scope, chain);
    const { server, port } = await airlockServer(scope, [
      "--www",
      "--cert",
      path("chain.pem"),
      "--key",
      path("key.pem"),
      "--compress-cert",
      compress,
      "--trace",
    ]);
    const spki = btoa(String.fromCharCode(...sha256(publicKeyFromCertificate(chain.chain[0]!).spki)));
    // A fresh profile in a directory of the scope's, removed with it.
    const profile = scope.writeFiles({})("chromium-profile");
    const browser = scope.spawn(CHROMIUM, [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
      `--ignore-certificate-errors-spki-list=${spki}`,
      "--dump-dom",
      `https://localhost:${port}/`,
    ]);
    const exit = await browser.exited;
    assert.equal(exit.code, 0, browser.stderr.slice(-2000));
    // The trace line went out during the handshake, before the page; a connection Chromium opened and left
    // idle ends only when Chromium does, so nothing waits for the connections' summaries.
    await server.waitFor(/^\[\d+\] >>> Handshake (Compressed)?Certificate /m);
    return { page: browser.stdout, sent: sentCertificates(server) };
  }, 60_000);
}

Deno.test("Chromium ↔ airlock server --compress-cert brotli: the server sends a brotli CompressedCertificate", async () => {
  const { page, sent } = await chromiumAgainstServer("brotli");
  assert.match(page, /Protocol: +TLSv1\.3/, page);
  assert.ok(sent.length > 0, "no certificate message in the trace");
  for (const line of sent) assert.match(line, /Handshake CompressedCertificate \(brotli, \d+ bytes\)$/);
});

Deno.test("Chromium ↔ airlock server --compress-cert none or zlib: the Certificate goes uncompressed", async () => {
  for (const compress of ["none", "zlib"]) {
    const { page, sent } = await chromiumAgainstServer(compress);
    assert.match(page, /Protocol: +TLSv1\.3/, page);
    assert.ok(sent.length > 0);
    for (const line of sent) assert.match(line, /Handshake Certificate \(\d+ bytes\)$/, compress);
  }
});

// ---- GnuTLS --------------------------------------------------------------------------------------------

/** Whether this GnuTLS knows `method` (Debian 12's 3.7.9 is built without any: "Unknown compression method"). */
function gnutlsKnows(peer: Peer, method: string): boolean {
  return !new RegExp(`Unknown compression method: ${method}`).test(peer.output);
}

function watch(engine: TlsEngine): MessageInfo[] {
  const out: MessageInfo[] = [];
  on(engine, "message", (m) => out.push(m));
  return out;
}

/**
 * Connect an airlock client made from `config` to 127.0.0.1:`port`, send a line and read one back, close;
 * returns the handshake messages it saw, the handshake and the line.
 */
async function clientExchange(
  scope: Scope,
  port: number,
  config: ClientConfig,
): Promise<{ messages: MessageInfo[]; info: HandshakeInfo; reply: string | null }> {
  const socket = await scope.connect(port);
  const { engine, network } = createBioPair();
  const client = createClient(config, engine);
  const messages = watch(client);
  const tls = pumpSocket(client, network, socket);
  const info = await tls.handshake();
  await tls.write(utf8("ping\n"));
  const reply = await new LineReader(tls).next();
  await tls.close().catch(() => {}); // tlslite-ng may close first
  return { messages, info, reply };
}

for (const method of ["zlib", "brotli"] as const) {
  Deno.test(`gnutls-cli --compress-cert=${method} ↔ airlock server compressing with ${method}`, async () => {
    requireGnutls();
    await scoped(async (scope) => {
      const chain = await serverChain("ecdsa-p256");
      const path = pemFiles(scope, chain);
      const listener = await scope.listen();
      const client = startGnutlsCli(scope, listener.port, path("root.pem"), [`--compress-cert=${method}`]);
      const socket = await listener.accepted;
      const { engine, network } = createBioPair();
      const server = createServer({
        certificates: [{ chain: chain.chain, key: await loadPrivateKey(chain.keyPkcs8) }],
        certificateCompression: certCompressors([method]),
      }, engine);
      const messages = watch(server);
      const tls = pumpSocket(server, network, socket);
      const info = await tls.handshake();
      assert.equal(info.version, "TLSv1.3");
      client.send("ping\n");
      assert.equal(await new LineReader(tls).next(), "ping");
      await tls.close();
      await client.exited;
      const sent = messages.filter((m) => m.direction === "sent" && (m.type === 11 || m.type === 25));
      if (gnutlsKnows(client, method)) {
        assert.deepEqual(sent.map((m) => [m.name, m.compression]), [["CompressedCertificate", method]]);
      } else {
        // This GnuTLS offers nothing: the Certificate goes as it is, and the handshake completes.
        assert.deepEqual(sent.map((m) => m.name), ["Certificate"]);
        console.log(`${requireGnutls()}: built without ${method} ("Unknown compression method")`);
      }
      assert.match(client.output, /The certificate is trusted/);
    });
  });

  Deno.test(`gnutls-serv --compress-cert=${method} ↔ airlock client offering ${method}`, async () => {
    requireGnutls();
    await scoped(async (scope) => {
      const chain = await serverChain("ecdsa-p256");
      const path = pemFiles(scope, chain);
      const { server, port } = await startGnutlsServ(scope, [
        "--echo",
        "--x509certfile",
        path("chain.pem"),
        "--x509keyfile",
        path("key.pem"),
        "--priority",
        TLS13,
        "--disable-client-cert",
        `--compress-cert=${method}`,
      ]);
      const { messages, info, reply } = await clientExchange(scope, port, {
        serverName: "localhost",
        trustAnchors: [chain.rootPem],
        certificateCompression: certCompressors([method]),
      });
      assert.equal(info.peerCertificates.length, 2);
      assert.equal(reply, "ping");
      await stopGnutlsServ(server);
      const got = messages.filter((m) => m.direction === "received" && (m.type === 11 || m.type === 25));
      if (gnutlsKnows(server, method)) {
        assert.deepEqual(got.map((m) => [m.name, m.compression]), [["CompressedCertificate", method]]);
      } else {
        assert.deepEqual(got.map((m) => m.name), ["Certificate"]);
      }
    });
  });
}

// ---- tlslite-ng (RFC 8879 in both directions) ↔ airlock client -------------------------------------------

const TLSLITE = join(ROOT, "..", "shared", "tools", "tlsfuzzer", "upstream", "tlslite-ng");

/** tlslite-ng's compressors: zlib always, brotli and zstd with Debian's python3-brotli and python3-zstandard. */
function tlsliteHas(name: string): boolean {
  const module = { zlib: "zlib", brotli: "brotli", zstd: "zstandard" }[name]!;
  return spawnSync("/usr/bin/python3", ["-c", `import ${module}`]).status === 0;
}

/**
 * Start tests/interop/tlslite_server.py (one connection, TLS 1.3, echoing a line): it compresses its Certificate
 * with `send` and takes a client's compressed with `receive`; `clientAuth` makes it require one.
 */
async function tlsliteServer(
  scope: Scope,
  chain: TestChain,
  send: string,
  receive: string,
  clientAuth: boolean,
): Promise<{ server: Peer; port: number }> {
  if (!existsSync(join(TLSLITE, "tlslite"))) {
    throw new Error(`Cannot run: no tlslite-ng at ${TLSLITE} (the shared tlsfuzzer tree)`);
  }
  const path = pemFiles(scope, chain);
  const server = scope.spawn("/usr/bin/python3", [
    join(ROOT, "tests", "interop", "tlslite_server.py"),
    TLSLITE,
    path("chain.pem"),
    path("key.pem"),
    send,
    receive,
    clientAuth ? "require" : "none",
  ]);
  const [, port] = await server.waitFor(/^LISTENING (\d+)$/m);
  return { server, port: Number(port) };
}

for (const c of certCompressors()) {
  Deno.test(`tlslite-ng server --compress ${c.name} ↔ airlock client: its CompressedCertificate, and ours under mTLS`, async () => {
    if (!tlsliteHas(c.name)) {
      throw new Error(
        `Cannot run: /usr/bin/python3 lacks ${c.name} (apt-get install python3-brotli python3-zstandard)`,
      );
    }
    for (const clientAuth of [false, true]) {
      await scoped(async (scope) => {
        const chain = await serverChain("rsa-2048");
        const mine = clientAuth
          ? await generateChain({ keyType: "rsa-2048", eku: ["clientAuth"] })
          : undefined;
        const { server, port } = await tlsliteServer(scope, chain, c.name, c.name, clientAuth);
        const { messages, info, reply } = await clientExchange(scope, port, {
          serverName: "localhost",
          trustAnchors: [chain.rootPem],
          maxVersion: "TLSv1.3",
          minVersion: "TLSv1.3",
          certificateCompression: [c],
          ...(mine
            ? { clientCertificate: { chain: mine.chain, key: await loadPrivateKey(mine.keyPkcs8) } }
            : {}),
        });
        assert.equal(info.peerCertificates.length, 2);
        assert.equal(reply, "echo: ping");
        const exit = await server.exited;
        assert.equal(exit.code, 0, server.output);
        const certs = messages.filter((m) => m.type === 11 || m.type === 25);
        const expected = [["received", "CompressedCertificate", c.name]];
        if (clientAuth) {
          expected.push(["sent", "CompressedCertificate", c.name]);
          assert.match(server.stdout, /^CLIENT_CERT 1$/m, server.output);
        }
        assert.deepEqual(certs.map((m) => [m.direction, m.name, m.compression]), expected);
      });
    }
  });
}
