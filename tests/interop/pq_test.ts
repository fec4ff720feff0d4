// Copyright 2026 the airlock authors. MIT license.

/**
 * Interop for X25519MLKEM768 (draft-ietf-tls-ecdhe-mlkem) with `node:tls` from Node 26, whose OpenSSL (3.5)
 * has the group; Debian's OpenSSL 3.0 and GnuTLS 3.7 do not. Both ways on 127.0.0.1, each side checked by
 * the group it reports: ours through `handshakeInfo`, a Node client through `getEphemeralKeyInfo()`, and a
 * Node server (which has no such call) through its OpenSSL trace of the ServerHello it sent. Also
 * HelloRetryRequest to the hybrid both ways, every cipher suite, and Node's default groups against ours.
 *
 * The Node 26 binary comes from the npm package `node-<platform>-<arch>`, fetched into ~/.cache/airlock-node26 by
 * `npm test` (tests/_runner/node26.mjs): `AIRLOCK_NODE26` names the binary, else that cache's. Without it every
 * case fails with a message saying how to get it.
 *
 * @module
 */

import assert from "node:assert/strict";
import process from "node:process";
import {
  type ClientConfig,
  createBioPair,
  createClient,
  createServer,
  type HandshakeInfo,
  loadPrivateKey,
  type ServerConfig,
} from "../../mod.ts";
import { ctEqual } from "../../suites/bytes.ts";
import { node26Path } from "../_runner/node26.mjs";
import { generateTestCertificate } from "../../testing/pki.ts";
import { LineReader, type Peer, pumpSocket, requireProgram, scoped } from "../../testing/peers.ts";

const SUITES = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"] as const;

/** Where the Node 26 binary is. */
export const NODE26 = process.env.AIRLOCK_NODE26 ?? node26Path();

let node26: string | undefined;

/** Node 26's OpenSSL version; throws a clear error when the binary is missing or its OpenSSL is too old. */
function requireNode26(): string {
  node26 ??= requireProgram(
    NODE26,
    ["-p", "process.versions.openssl"],
    "Fetch Node 26 from npm with `node tests/_runner/node26.mjs` (npm test does it) " +
      "(or set AIRLOCK_NODE26 to a node binary built with OpenSSL >= 3.5): " +
      "these tests run node:tls with X25519MLKEM768.",
  );
  const [major = 0, minor = 0] = node26.split(".").map(Number);
  if (major < 3 || (major === 3 && minor < 5)) {
    throw new Error(
      `Cannot run the X25519MLKEM768 interop tests: ${NODE26} has OpenSSL ${node26}, not >= 3.5`,
    );
  }
  return node26;
}

const utf8 = (text: string) => new TextEncoder().encode(text);

// A node:tls server for one connection: it prints its port, echoes one line and closes. `enableTrace` makes
// OpenSSL print every handshake message to stderr, the ServerHello's key_share group among them.
const SERVER_JS = `
const tls = require("node:tls"), fs = require("node:fs");
const [cert, key, groups] = process.argv.slice(2);
const options = { cert: fs.readFileSync(cert), key: fs.readFileSync(key), minVersion: "TLSv1.3", enableTrace: true };
if (groups !== "default") options.ecdhCurve = groups;
const server = tls.createServer(options, (socket) => {
  let buffered = "";
  socket.setEncoding("utf8");
  socket.on("data", (text) => {
    buffered += text;
    if (buffered.includes("\\n")) socket.end("echo: " + buffered);
  });
  socket.on("close", () => server.close());
});
server.on("tlsClientError", (e) => { console.log("TLS ERROR " + e.message); server.close(); });
server.listen(0, "127.0.0.1", () => console.log("LISTENING " + server.address().port));
`;

// A node:tls client: it prints the group it negotiated, sends one line and prints the answer.
const CLIENT_JS = `
const tls = require("node:tls"), fs = require("node:fs");
const [port, ca, groups] = process.argv.slice(2);
const options = { host: "127.0.0.1", port: Number(port), servername: "localhost", ca: fs.readFileSync(ca) };
if (groups !== "default") options.ecdhCurve = groups;
const socket = tls.connect(options, () => {
  const k = socket.getEphemeralKeyInfo();
  console.log("GROUP " + k.name + " " + socket.getProtocol() + " " + socket.getCipher().standardName);
  socket.write("hello from node\\n");
});
let buffered = "";
socket.setEncoding("utf8");
socket.on("data", (text) => {
  buffered += text;
  if (buffered.includes("\\n")) console.log("GOT " + buffered.trim());
});
socket.on("end", () => console.log("END"));
socket.on("error", (e) => { console.log("ERROR " + e.message); process.exitCode = 1; });
`;

/** The group OpenSSL's trace shows in the last ServerHello the traced side sent or received. */
function tracedServerHelloGroup(trace: string): string | undefined {
  const hellos = [...trace.matchAll(/ServerHello, Length=\d+[\s\S]*?(?=\n(?:Sent|Received) TLS Record|$)/g)];
  const last = hellos.at(-1)?.[0];
  return last?.match(/extension_type=key_share\(51\)[^\n]*\n\s*NamedGroup: (\S+) \(\d+\)/)?.[1];
}

interface NodeServerCase {
  /** node:tls ecdhCurve, or "default" for Node's own list. */
  readonly groups: string;
  readonly client?: Partial<ClientConfig>;
}

/** The airlock client against a node:tls server; returns what each side reports. */
function clientAgainstNode(
  c: NodeServerCase,
): Promise<{ info: HandshakeInfo; nodeGroup: string | undefined; server: Peer }> {
  requireNode26();
  return scoped(async (scope) => {
    const pki = await generateTestCertificate("ecdsa-p256");
    const path = scope.writeFiles({
      "cert.pem": pki.certPem,
      "key.pem": pki.keyPem,
      "server.cjs": SERVER_JS,
    });
    const server = scope.spawn(NODE26, [path("server.cjs"), path("cert.pem"), path("key.pem"), c.groups]);
    const [, port] = await server.waitFor(/^LISTENING (\d+)$/m);
    const socket = await scope.connect(Number(port));
    const { engine, network } = createBioPair();
    const client = createClient({
      serverName: "localhost",
      verifyPeer: ({ chain }) => chain[0] !== undefined && ctEqual(chain[0], pki.chain[0]!),
      ...c.client,
    }, engine);
    const tls = pumpSocket(client, network, socket);
    const info = await tls.handshake();
    await tls.write(utf8("hello from airlock\n"));
    assert.equal(await new LineReader(tls).next(), "echo: hello from airlock", server.output);
    await tls.close();
    const exit = await server.exited;
    assert.equal(exit.code, 0, server.output);
    assert.doesNotMatch(server.stdout, /TLS ERROR/, server.output);
    return { info, nodeGroup: tracedServerHelloGroup(server.stderr), server };
  });
}

interface NodeClientCase {
  readonly groups: string;
  readonly server?: Partial<ServerConfig>;
}

/** A node:tls client against the airlock server; returns what each side reports. */
function nodeAgainstServer(
  c: NodeClientCase,
): Promise<{ info: HandshakeInfo; nodeGroup: string; client: Peer }> {
  requireNode26();
  return scoped(async (scope) => {
    const pki = await generateTestCertificate("ecdsa-p256");
    const key = await loadPrivateKey(pki.keyPkcs8);
    const path = scope.writeFiles({ "cert.pem": pki.certPem, "client.cjs": CLIENT_JS });
    const listener = await scope.listen();
    const client = scope.spawn(NODE26, [
      path("client.cjs"),
      String(listener.port),
      path("cert.pem"),
      c.groups,
    ]);
    const socket = await Promise.race([
      listener.accepted,
      client.exited.then(() => Promise.reject(new Error(`node exited before connecting\n${client.output}`))),
    ]);
    const { engine, network } = createBioPair();
    const server = createServer({ certificates: [{ chain: pki.chain, key }], ...c.server }, engine);
    const tls = pumpSocket(server, network, socket);
    const info = await tls.handshake();
    assert.equal(await new LineReader(tls).next(), "hello from node", client.output);
    await tls.write(utf8("echo: hello from node\n"));
    await tls.close();
    const exit = await client.exited;
    assert.equal(exit.code, 0, client.output);
    assert.match(client.stdout, /^GOT echo: hello from node$/m, client.output);
    assert.match(client.stdout, /^END$/m, client.output); // our close_notify, then the end of the stream
    const [, nodeGroup, protocol, suite] = client.stdout.match(/^GROUP (\S+) (\S+) (\S+)$/m) ?? [];
    assert.equal(protocol, "TLSv1.3", client.output);
    assert.equal(suite, info.cipherSuite, client.output);
    return { info, nodeGroup: nodeGroup!, client };
  });
}

Deno.test("node:tls server (X25519MLKEM768 only) ↔ airlock client with default groups", async () => {
  const { info, nodeGroup, server } = await clientAgainstNode({ groups: "X25519MLKEM768" });
  assert.equal(info.group, "X25519MLKEM768");
  assert.equal(info.helloRetry, false);
  assert.equal(nodeGroup, "X25519MLKEM768", server.output);
});

Deno.test("node:tls server with Node's default groups ↔ airlock client with default groups", async () => {
  const { info, nodeGroup, server } = await clientAgainstNode({ groups: "default" });
  assert.equal(info.group, "X25519MLKEM768");
  assert.equal(info.helloRetry, false);
  assert.equal(nodeGroup, "X25519MLKEM768", server.output);
});

for (const suite of SUITES) {
  Deno.test(`node:tls server ↔ airlock client: X25519MLKEM768 with ${suite}`, async () => {
    const { info, nodeGroup } = await clientAgainstNode({
      groups: "X25519MLKEM768",
      client: { groups: ["X25519MLKEM768"], cipherSuites: [suite] },
    });
    assert.equal(info.cipherSuite, suite);
    assert.equal(info.group, "X25519MLKEM768");
    assert.equal(nodeGroup, "X25519MLKEM768");
  });
}

Deno.test("node:tls server ↔ airlock client: HelloRetryRequest from x25519 to X25519MLKEM768", async () => {
  const { info, nodeGroup, server } = await clientAgainstNode({
    groups: "X25519MLKEM768",
    client: { groups: ["x25519", "X25519MLKEM768"] }, // one share: x25519
  });
  assert.equal(info.helloRetry, true);
  assert.equal(info.group, "X25519MLKEM768");
  assert.equal(nodeGroup, "X25519MLKEM768", server.output);
  assert.equal((server.stderr.match(/ServerHello, Length=/g) ?? []).length, 2, server.output);
});

Deno.test("node:tls server (x25519 only) ↔ airlock client: HelloRetryRequest from X25519MLKEM768 to x25519", async () => {
  const { info, nodeGroup } = await clientAgainstNode({
    groups: "X25519",
    client: { groups: ["X25519MLKEM768", "x25519"], keyShareCount: 1 },
  });
  assert.equal(info.helloRetry, true);
  assert.equal(info.group, "x25519");
  assert.equal(nodeGroup, "ecdh_x25519"); // OpenSSL's trace name for x25519
});

Deno.test("node:tls client (X25519MLKEM768 only) ↔ airlock server with default groups", async () => {
  const { info, nodeGroup, client } = await nodeAgainstServer({ groups: "X25519MLKEM768" });
  assert.equal(info.group, "X25519MLKEM768");
  assert.equal(info.helloRetry, false);
  assert.equal(nodeGroup, "X25519MLKEM768", client.output);
});

Deno.test("node:tls client with Node's default groups ↔ airlock server with default groups", async () => {
  const { info, nodeGroup, client } = await nodeAgainstServer({ groups: "default" });
  assert.equal(info.group, "X25519MLKEM768");
  assert.equal(nodeGroup, "X25519MLKEM768", client.output);
});

for (const suite of SUITES) {
  Deno.test(`node:tls client ↔ airlock server: X25519MLKEM768 with ${suite}`, async () => {
    const { info, nodeGroup } = await nodeAgainstServer({
      groups: "X25519MLKEM768",
      server: { cipherSuites: [suite] },
    });
    assert.equal(info.cipherSuite, suite);
    assert.equal(nodeGroup, "X25519MLKEM768");
  });
}

Deno.test("node:tls client (x25519 share first) ↔ airlock server (X25519MLKEM768 only): HelloRetryRequest", async () => {
  // OpenSSL sends a key share for the first group only: X25519; our server takes nothing but the hybrid.
  const { info, nodeGroup, client } = await nodeAgainstServer({
    groups: "X25519:X25519MLKEM768",
    server: { groups: ["X25519MLKEM768"] },
  });
  assert.equal(info.helloRetry, true);
  assert.equal(info.group, "X25519MLKEM768");
  assert.equal(nodeGroup, "X25519MLKEM768", client.output);
});

Deno.test("node:tls client (X25519MLKEM768 share) ↔ airlock server (x25519 only): HelloRetryRequest", async () => {
  const { info, nodeGroup, client } = await nodeAgainstServer({
    groups: "X25519MLKEM768:X25519",
    server: { groups: ["x25519"] },
  });
  assert.equal(info.helloRetry, true);
  assert.equal(info.group, "x25519");
  assert.equal(nodeGroup, "X25519", client.output);
});
