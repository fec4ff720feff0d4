// Copyright 2026 the airlock authors. MIT license.

/**
 * Record size limits against real peers on 127.0.0.1: `openssl s_client -maxfraglen` (max_fragment_length,
 * RFC 6066; OpenSSL 3.0 has no record_size_limit) and GnuTLS, which implements record_size_limit (RFC 8449),
 * as `gnutls-cli --recordsize` and `gnutls-serv --recordsize`. The bytes crossing the transport are split
 * into records as they pass the BIO pair's network half, so each case asserts the size of every protected
 * record on the wire, both ways; the peers check the limits they asked for themselves (a record too large is
 * a record_overflow alert there).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type Bio,
  type ClientConfig,
  createBioPair,
  createClient,
  createServer,
  loadPrivateKey,
  type ServerConfig,
  type TlsEngine,
} from "../../mod.ts";
import { generateChain, type TestChain } from "../../testing/pki.ts";
import {
  freePort,
  LineReader,
  pumpSocket,
  requireGnutls,
  requireOpenssl,
  type Scope,
  scoped,
  type TlsSocket,
} from "../../testing/peers.ts";

const TAG = 16;

/** The protected (application_data) records one direction carried: how many, and the largest body. */
class RecordWatch {
  count = 0;
  largest = 0;
  #held = new Uint8Array(0);

  push(bytes: Uint8Array): void {
    const buf = new Uint8Array(this.#held.length + bytes.length);
    buf.set(this.#held);
    buf.set(bytes, this.#held.length);
    let at = 0;
    while (buf.length - at >= 5) {
      const len = (buf[at + 3]! << 8) | buf[at + 4]!;
      if (buf.length - at < 5 + len) break;
      if (buf[at] === 23) {
        this.count++;
        this.largest = Math.max(this.largest, len);
      }
      at += 5 + len;
    }
    this.#held = buf.slice(at);
  }
}

/** Watch what goes through the network half of a BIO pair: `sent` to the transport, `received` from it. */
function watch(network: Bio): { sent: RecordWatch; received: RecordWatch } {
  const sent = new RecordWatch();
  const received = new RecordWatch();
  const read = network.read.bind(network);
  const write = network.write.bind(network);
  network.read = (max?: number) => {
    const bytes = read(max);
    sent.push(bytes);
    return bytes;
  };
  network.write = (bytes: Uint8Array) => {
    const n = write(bytes);
    received.push(bytes.subarray(0, n));
    return n;
  };
  // connectTls hands whole transport chunks over with give() (the BIO keeps them): watch those too.
  const give = network.give?.bind(network);
  if (give) {
    network.give = (bytes: Uint8Array) => {
      const n = give(bytes);
      received.push(bytes.subarray(0, n));
      return n;
    };
  }
  return { sent, received };
}

const utf8 = (text: string) => new TextEncoder().encode(text);

/** `count` distinct lines of `length` characters (plus the newline). */
function lines(count: number, length: number): string[] {
  return Array.from(
    { length: count },
    (_, i) => `${String(i).padStart(5, "0")}:`.padEnd(length, "abcdefghij"[i % 10]),
  );
}

let chain: Promise<TestChain> | undefined;
const serverChain = () => chain ??= generateChain({ dnsNames: ["localhost"] });

async function pemFiles(scope: Scope): Promise<(name: string) => string> {
  const c = await serverChain();
  return scope.writeFiles({ "root.pem": c.rootPem, "chain.pem": c.chainPem, "key.pem": c.keyPem });
}

/** Start the airlock server on `socket`, watching its records. */
async function airlockServer(
  socket: Parameters<typeof pumpSocket>[2],
  config: Partial<ServerConfig> = {},
): Promise<{ tls: TlsSocket; engine: TlsEngine; records: ReturnType<typeof watch> }> {
  const c = await serverChain();
  const { engine, network } = createBioPair();
  const records = watch(network);
  const server = createServer({
    certificates: [{ chain: c.chain, key: await loadPrivateKey(c.keyPkcs8) }],
    ...config,
  }, engine);
  return { tls: pumpSocket(server, network, socket), engine: server, records };
}

// ---- openssl s_client -maxfraglen ↔ airlock server ---------------------------------------------------

for (const maxfraglen of [512, 4096]) {
  Deno.test(`openssl s_client -maxfraglen ${maxfraglen} ↔ airlock server: our records stay within it`, async () => {
    requireOpenssl();
    await scoped(async (scope) => {
      const path = await pemFiles(scope);
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
        "-maxfraglen",
        String(maxfraglen),
      ]);
      const socket = await Promise.race([
        listener.accepted,
        client.exited.then(() =>
          Promise.reject(new Error(`s_client exited before connecting\n${client.output}`))
        ),
      ]);
      const { tls, records } = await airlockServer(socket);
      await tls.handshake();
      client.send("ready\n");
      assert.equal(await new LineReader(tls).next(), "ready", client.output);
      // 40 KB in lines longer than the limit: each goes out in several records.
      const text = lines(40, 999);
      await tls.write(utf8(text.map((l) => `${l}\n`).join("")));
      await client.waitFor(new RegExp(`^${text.at(-1)}$`, "m"));
      await tls.close();
      const exit = await client.exited;
      assert.equal(exit.code, 0, client.output);
      for (const l of text) assert.ok(client.stdout.includes(`${l}\n`), `line ${l.slice(0, 6)} is missing`);
      // RFC 6066 bounds the fragment (our content); the content type byte and the tag come on top.
      assert.equal(records.sent.largest, maxfraglen + 1 + TAG, `largest record ${records.sent.largest}`);
      assert.ok(records.sent.count > 40_000 / maxfraglen);
    });
  });
}

// ---- GnuTLS: record_size_limit both ways ---------------------------------------------------------------

const TLS13 = "NORMAL:-VERS-ALL:+VERS-TLS1.3";

Deno.test("gnutls-cli --recordsize=512 ↔ airlock server: our records stay within GnuTLS's record_size_limit", async () => {
  requireGnutls();
  await scoped(async (scope) => {
    const path = await pemFiles(scope);
    const listener = await scope.listen();
    const client = scope.spawn("gnutls-cli", [
      "127.0.0.1",
      "-p",
      String(listener.port),
      "--x509cafile",
      path("root.pem"),
      "--sni-hostname",
      "localhost",
      "--verify-hostname",
      "localhost",
      "--priority",
      TLS13,
      // 512..4096 only. GnuTLS sends record_size_limit (and max_fragment_length beside it: we take the first).
      "--recordsize=512",
      "--logfile",
      path("gnutls-cli.log"),
    ]);
    const socket = await Promise.race([
      listener.accepted,
      client.exited.then(() =>
        Promise.reject(new Error(`gnutls-cli exited before connecting\n${client.output}`))
      ),
    ]);
    const { tls, records } = await airlockServer(socket, { recordSizeLimit: 4096 });
    await tls.handshake();
    const reader = new LineReader(tls);
    // gnutls-cli sends what one read of stdin gives in one gnutls_record_send, which takes no more than a
    // record: a line longer than the limit would be cut. So a short line, and the other way 20 KB.
    client.send("ready\n");
    assert.equal(await reader.next(), "ready", client.output);
    const text = lines(20, 999);
    await tls.write(utf8(text.map((l) => `${l}\n`).join("")));
    await client.waitFor(new RegExp(`^${text.at(-1)}$`, "m"));
    await tls.close();
    const exit = await client.exited;
    assert.equal(exit.code, 0, client.output);
    assert.equal(client.stdout, text.map((l) => `${l}\n`).join(""));
    // GnuTLS advertises 512 (+1 for the content type in TLS 1.3): our records carry at most that.
    assert.ok(
      records.sent.largest >= 512 + TAG && records.sent.largest <= 512 + 1 + TAG,
      `we sent ${records.sent.largest}`,
    );
    assert.ok(records.sent.count > 20_000 / 512, `we sent ${records.sent.count} records`);
  });
});

/** The airlock client against `gnutls-serv --echo` with the given extra arguments. */
async function clientAgainstGnutlsServ(
  args: readonly string[],
  config: Partial<ClientConfig>,
  exchange: (tls: TlsSocket) => Promise<void>,
): Promise<ReturnType<typeof watch>> {
  requireGnutls();
  const c = await serverChain();
  for (let attempt = 0;; attempt++) {
    const port = await freePort();
    const result = await scoped(async (scope) => {
      const path = await pemFiles(scope);
      const server = scope.spawn("gnutls-serv", [
        "--echo",
        "-p",
        String(port),
        "--x509certfile",
        path("chain.pem"),
        "--x509keyfile",
        path("key.pem"),
        ...(args.includes("--priority") ? [] : ["--priority", TLS13]),
        ...args,
      ]);
      const ready = await server.waitFor(/IPv4.*done|bind\(\) failed|Address already in use/);
      if (!/done/.test(ready[0])) return undefined; // the port was taken meanwhile: try another
      const socket = await scope.connect(port);
      const { engine, network } = createBioPair();
      const records = watch(network);
      const client = createClient({ serverName: "localhost", trustAnchors: [c.rootPem], ...config }, engine);
      const tls = pumpSocket(client, network, socket);
      await tls.handshake();
      await exchange(tls);
      return records;
    });
    if (result) return result;
    if (attempt >= 3) throw new Error("Cannot start gnutls-serv: no free port after 4 attempts");
  }
}

/** Send lines of 4000 bytes to gnutls-serv --echo and read them back. */
async function echoLines(tls: TlsSocket): Promise<void> {
  const reader = new LineReader(tls);
  for (const line of lines(5, 4000)) {
    await tls.write(utf8(`${line}\n`));
    assert.equal(await reader.next(), line);
  }
  await tls.close();
}

Deno.test("airlock client with recordSizeLimit 256 ↔ gnutls-serv --recordsize=1024: both limits hold", async () => {
  // GnuTLS takes a limit below 512 only with %ALLOW_SMALL_RECORDS.
  const records = await clientAgainstGnutlsServ(
    ["--recordsize=1024", "--priority", `${TLS13}:%ALLOW_SMALL_RECORDS`],
    { recordSizeLimit: 256 },
    echoLines,
  );
  // Ours covers the TLSInnerPlaintext: at most 256 + the tag from GnuTLS.
  assert.ok(records.received.largest <= 256 + TAG, `GnuTLS sent ${records.received.largest}`);
  assert.ok(records.received.largest > 200, `GnuTLS sent ${records.received.largest}`);
  assert.ok(
    records.sent.largest >= 1024 + TAG && records.sent.largest <= 1024 + 1 + TAG,
    `we sent ${records.sent.largest}`,
  );
});

Deno.test("airlock client with recordSizeLimit 256 ↔ gnutls-serv ignoring it: not negotiated, not enforced", async () => {
  // Without %ALLOW_SMALL_RECORDS a GnuTLS server leaves a limit below 512 out of its answer (RFC 8449 lets
  // it): our limit is then not in force, and full-size records are fine.
  const records = await clientAgainstGnutlsServ(["--recordsize=4096"], { recordSizeLimit: 256 }, echoLines);
  // Each 4001-byte line goes out in one record and comes back in one.
  assert.equal(records.received.largest, 4001 + 1 + TAG, `GnuTLS sent ${records.received.largest}`);
  assert.equal(records.sent.largest, 4001 + 1 + TAG, `we sent ${records.sent.largest}`);
});

// ---- OpenSSL 3.0 ignores record_size_limit: our limit is then not in force -------------------------------

Deno.test("openssl s_server (no record_size_limit) ↔ airlock client with recordSizeLimit 64: full-size records", async () => {
  requireOpenssl();
  await scoped(async (scope) => {
    const path = await pemFiles(scope);
    const server = scope.spawn("openssl", [
      "s_server",
      "-tls1_3",
      "-naccept",
      "1",
      "-accept",
      "127.0.0.1:0",
      "-cert",
      path("chain.pem"),
      "-key",
      path("key.pem"),
      "-rev",
    ]);
    const [, port] = await server.waitFor(/^ACCEPT 127\.0\.0\.1:(\d+)$/m);
    const socket = await scope.connect(Number(port));
    const c = await serverChain();
    const { engine, network } = createBioPair();
    const records = watch(network);
    const client = createClient(
      { serverName: "localhost", trustAnchors: [c.rootPem], recordSizeLimit: 64 },
      engine,
    );
    const tls = pumpSocket(client, network, socket);
    await tls.handshake();
    // s_server -rev answers each line reversed, in one record: 10,000 bytes, far above the 64 we offered.
    const line = lines(1, 10_000)[0]!;
    await tls.write(utf8(`${line}\n`));
    assert.equal(await new LineReader(tls).next(), [...line].reverse().join(""), server.output);
    await tls.close();
    assert.ok(records.received.largest > 10_000, `s_server sent ${records.received.largest}`);
    assert.ok(records.sent.largest > 10_000, `we sent ${records.sent.largest}`);
  });
});
