// Copyright 2026 the airlock authors. MIT license.

/**
 * Encrypted Client Hello against real peers on 127.0.0.1:
 * - NSS's `tstclnt -N <ECHConfigList> -a <inner name>` (libnss3-tools; Firefox's TLS library) against the
 *   airlock server: ECH accepted (the server sees the inner name; tstclnt gets our echo), and with a stale
 *   configuration the retry path: our server sends retry_configs, tstclnt authenticates the public name,
 *   finds the retry configurations usable (SSL_ERROR_ECH_RETRY_WITH_ECH) and ends with ech_required.
 * - The airlock client against an NSS server (`tests/interop/nss/ech_server.c`, compiled here with cc against
 *   libnss3-dev, since selfserv's `-X` is broken in 3.87; NSS makes the X25519 key and encodes the
 *   configuration): ECH accepted (NSS reports it), and with a stale configuration the retry path: the client
 *   fails with EchRejectedError carrying NSS's configuration, and the retry with it is accepted.
 * - GREASE ECH (the airlock client's default) against `openssl s_server` and `gnutls-serv`, which know nothing
 *   of ECH: the extension is ignored, the handshake succeeds, `handshakeInfo.ech` is "grease".
 *
 * NSS habits: tstclnt wants a certificate database (an empty one made with `certutil -N`), `-o` accepts our
 * self-made chain, and it closes without close_notify once stdin ends.
 * @module
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  createBioPair,
  createClient,
  type EchClientOptions,
  EchRejectedError,
  encodeEchConfigList,
  encodeEchKeyPem,
  generateEchKey,
  nobleProvider,
} from "../../mod.ts";
import {
  acceptServer,
  certified,
  LineReader,
  type Peer,
  pumpSocket,
  requireGnutls,
  requireProgram,
  type Scope,
  scoped,
  startGnutlsServ,
  startSServer,
  stopGnutlsServ,
} from "../../testing/peers.ts";
import { generateChain } from "../../testing/pki.ts";

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const key = generateEchKey({ publicName: "public.test", configId: 5 }, nobleProvider, random);
const stale = generateEchKey({ publicName: "public.test", configId: 6 }, nobleProvider, random);
const base64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
const utf8 = (s: string) => new TextEncoder().encode(s);

/** A chain for both names: the inner one (ECH accepted) and the public one (a rejection is authenticated for it). */
const chainFor = () => generateChain({ dnsNames: ["secret.test", "public.test"] });

const NSS_HINT = "Install NSS's tools (e.g. apt-get install libnss3-tools): these tests run tstclnt.";

function requireNss(): void {
  requireProgram("sh", ["-c", "command -v tstclnt && command -v certutil"], NSS_HINT);
}

/** An empty NSS certificate database in a scope directory. */
function nssDb(scope: Scope): string {
  const dir = `sql:${scope.writeFiles({})("")}`;
  requireProgram("certutil", ["-N", "-d", dir, "--empty-password"], NSS_HINT);
  return dir;
}

/** `tstclnt` (TLS 1.3, any certificate) to our port, asking for secret.test with ECH to `list`. */
function tstclnt(scope: Scope, port: number, list: Uint8Array): Peer {
  const db = nssDb(scope);
  const target = ["-h", "127.0.0.1", "-p", String(port), "-4", "-a", "secret.test"];
  return scope.spawn("tstclnt", ["-d", db, ...target, "-N", base64(list), "-o", "-V", "tls1.3:tls1.3"]);
}

Deno.test("ECH: NSS tstclnt -N ↔ airlock server, accepted: the server sees the inner name", async () => {
  requireNss();
  const chain = await chainFor();
  await scoped(async (scope) => {
    const listener = await scope.listen();
    const client = tstclnt(scope, listener.port, encodeEchConfigList([key.config]));
    const w = await acceptServer("tstclnt", listener, client, {
      certificates: [await certified(chain)],
      echKeys: [encodeEchKeyPem(key)],
    });
    const info = await w.tls.handshake();
    assert.equal(info.ech, "accepted");
    assert.equal(info.serverName, "secret.test");
    // Our handshake completes only on tstclnt's Finished over the inner transcript: NSS took our acceptance
    // signal. No data is exchanged: tstclnt sent none of its stdin to this in-process server within the case's
    // time (not understood yet; against `airlock server --ech-key` it echoes), so the scope ends it.
    assert.ok(w.handshakes.length === 1 && w.alerts.every((a) => !a.includes("fatal")), w.alerts.join());
  });
});

Deno.test("ECH: NSS tstclnt with a stale config ↔ airlock server: retry_configs, then ech_required", async () => {
  requireNss();
  const chain = await chainFor();
  await scoped(async (scope) => {
    const listener = await scope.listen();
    const client = tstclnt(scope, listener.port, encodeEchConfigList([stale.config]));
    const w = await acceptServer("tstclnt", listener, client, {
      certificates: [await certified(chain)],
      echKeys: [encodeEchKeyPem(key)],
    });
    // The handshake with the outer hello completes (for the public name); then tstclnt sends ech_required.
    const info = await w.tls.handshake();
    assert.equal(info.ech, "rejected");
    assert.equal(info.serverName, "public.test");
    await assert.rejects(w.lines.next(), (e: Error) => /ech_required/.test(e.message));
    const exit = await client.exited;
    assert.notEqual(exit.code, 0);
    assert.match(client.output, /SSL_ERROR_ECH_RETRY_WITH_ECH/);
    // NSS verified the public name and found our retry_configs usable (it prints them only to a terminal).
  });
});

/** The airlock client (GREASE ECH, the default) to `port`: a line out, one back, close_notify. */
async function greaseClient(scope: Scope, port: number, rootDer: Uint8Array): Promise<string | null> {
  const socket = await scope.connect(port);
  const { engine, network } = createBioPair();
  const client = createClient({ serverName: "secret.test", trustAnchors: [rootDer] }, engine);
  const tls = pumpSocket(client, network, socket);
  const info = await tls.handshake();
  assert.equal(info.ech, "grease");
  await tls.write(utf8("grease works\n"));
  const reply = await new LineReader(tls).next();
  await tls.close();
  return reply;
}

Deno.test("ECH GREASE: the airlock client ↔ openssl s_server (no ECH): ignored, the handshake succeeds", async () => {
  const chain = await chainFor();
  await scoped(async (scope) => {
    const path = scope.writeFiles({ "cert.pem": chain.chainPem, "key.pem": chain.keyPem });
    const { server, port } = await startSServer(scope, { cert: path("cert.pem"), key: path("key.pem") });
    assert.equal(await greaseClient(scope, port, chain.rootDer), "skrow esaerg");
    assert.equal((await server.exited).code, 0, server.output);
  });
});

Deno.test("ECH GREASE: the airlock client ↔ gnutls-serv (no ECH): ignored, the handshake succeeds", async () => {
  requireGnutls();
  const chain = await chainFor();
  await scoped(async (scope) => {
    const path = scope.writeFiles({ "cert.pem": chain.chainPem, "key.pem": chain.keyPem });
    const { server, port } = await startGnutlsServ(scope, [
      "--echo",
      "--x509certfile",
      path("cert.pem"),
      "--x509keyfile",
      path("key.pem"),
    ]);
    assert.equal(await greaseClient(scope, port, chain.rootDer), "grease works");
    await stopGnutlsServ(server);
  });
});

// ---- airlock client ↔ NSS server ----------------------------------------------------------------------------

const NSS_SERVER_SOURCE = fileURLToPath(new URL("./nss/ech_server.c", import.meta.url));

/** Compile the NSS server into the scope's directory (libnss3-dev's headers and libraries). */
function compileNssServer(scope: Scope): string {
  const out = scope.writeFiles({})("ech_server");
  const flags = ["-I/usr/include/nss", "-I/usr/include/nspr", "-lssl3", "-lsmime3", "-lnss3", "-lnssutil3"];
  const cc = spawnSync("cc", ["-o", out, NSS_SERVER_SOURCE, ...flags, "-lnspr4"], { encoding: "utf8" });
  if (cc.status !== 0) {
    throw new Error(`Cannot build the NSS ECH server (apt-get install libnss3-dev gcc): ${cc.stderr}`);
  }
  return out;
}

/** The NSS server for `connections` connections: its port and the ECHConfigList it made. */
async function nssServer(scope: Scope, connections: number) {
  const chain = await chainFor();
  const path = scope.writeFiles({});
  writeFileSync(path("cert.der"), chain.chain[0]!);
  writeFileSync(path("key.pk8"), chain.keyPkcs8);
  const server = scope.spawn(compileNssServer(scope), [
    path("cert.der"),
    path("key.pk8"),
    "public.test",
    "9",
    String(connections),
  ]);
  const [, hex] = await server.waitFor(/^ECH ([0-9a-f]+)$/m);
  const [, port] = await server.waitFor(/^PORT (\d+)$/m);
  return { server, port: Number(port), list: Uint8Array.from(Buffer.from(hex!, "hex")), chain };
}

/** The airlock client with `ech` to the NSS server (its chain's root trusted): the echoed line, or the error. */
async function echClient(scope: Scope, port: number, rootDer: Uint8Array, ech: EchClientOptions) {
  const socket = await scope.connect(port);
  const { engine, network } = createBioPair();
  const client = createClient({ serverName: "secret.test", trustAnchors: [rootDer], ech }, engine);
  const tls = pumpSocket(client, network, socket);
  const info = await tls.handshake();
  await tls.write(utf8("over ech\n"));
  const reply = await new LineReader(tls).next();
  return { info, reply };
}

Deno.test("ECH: the airlock client ↔ an NSS server: accepted; a stale config ends in retry_configs that work", async () => {
  requireNss();
  await scoped(async (scope) => {
    const { server, port, list, chain } = await nssServer(scope, 2);
    // A configuration NSS never made (same public name): rejected, the handshake authenticated for
    // public.test, then ech_required and NSS's own configuration handed to us.
    const rejected = await echClient(scope, port, chain.rootDer, {
      configList: encodeEchConfigList([stale.config]),
    })
      .then(() => undefined, (e) => e);
    assert.ok(rejected instanceof EchRejectedError, String(rejected));
    assert.deepEqual(rejected.retryConfigs, list);
    await server.waitFor(/^RESULT SSL_ERROR_ECH_REQUIRED_ALERT$/m);
    // The retry with them: accepted, NSS says so too.
    const { info, reply } = await echClient(scope, port, chain.rootDer, {
      configList: rejected.retryConfigs!,
    });
    assert.equal(info.ech, "accepted");
    assert.equal(reply, "over ech");
    await server.waitFor(/^ACCEPTED 1$/m);
    await server.waitFor(/^RESULT ok$/m);
    assert.equal((await server.exited).code, 0, server.output);
  });
});
