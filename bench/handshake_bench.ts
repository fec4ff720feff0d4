/**
 * Handshakes per second and bulk throughput, airlock beside node:tls, in one process and one run.
 *
 *   deno task bench          (also: npx bun bench/handshake_bench.ts, node --import tsx bench/handshake_bench.ts)
 *
 * Both peers run in memory: airlock over two BIO pairs, node:tls over an in-memory Duplex pair. Before
 * timing, each pair is checked to carry the same bytes intact. Figures are medians of several rounds and
 * printed with their ratio to node:tls. The full suite (suite × group × certificate, latency, heap per
 * connection, the primitive floor) is issue #8.
 * @module
 */

import { Duplex } from "node:stream";
import * as tls from "node:tls";
import {
  createBioPair,
  createClient,
  createServer,
  type GroupName,
  loadPrivateKey,
  on,
  type ServerConfig,
  type SigningKey,
  SslError,
  type TlsEngine,
  type TlsSession,
} from "../mod.ts";
import { generateTestCertificate, type TestCertificate } from "../tests/_pki.ts";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

// ---- airlock -------------------------------------------------------------------------------------

interface AirPair {
  client: TlsEngine;
  server: TlsEngine;
  pump(): number;
}

/** One server config for all connections, so that its ticket keys are shared and sessions resume. */
const serverConfigs = new WeakMap<SigningKey, ServerConfig>();

function airPair(
  cert: TestCertificate,
  key: SigningKey,
  session?: TlsSession,
  group: GroupName = "x25519",
): AirPair {
  const c = createBioPair(), s = createBioPair();
  // x25519, as the headline says (the default would be X25519MLKEM768, which Node 20's node:tls lacks).
  const client = createClient(
    { serverName: "localhost", verifyPeer: () => true, groups: [group], ...(session ? { session } : {}) },
    c.engine,
  );
  let config = serverConfigs.get(key);
  if (!config) {
    serverConfigs.set(key, config = { certificates: [{ chain: cert.chain, key }], tickets: { count: 1 } });
  }
  const server = createServer(config, s.engine);
  const pump = () => {
    let n = 0;
    const a = c.network.read(s.network.writeGuarantee());
    n += a.length;
    s.network.write(a);
    const b = s.network.read(c.network.writeGuarantee());
    n += b.length;
    c.network.write(b);
    return n;
  };
  return { client, server, pump };
}

async function airHandshake(
  cert: TestCertificate,
  key: SigningKey,
  session?: TlsSession,
  group?: GroupName,
): Promise<AirPair> {
  const p = airPair(cert, key, session, group);
  for (let i = 0; i < 100; i++) {
    const rc = p.client.doHandshake(), rs = p.server.doHandshake();
    if (rc < 0 && p.client.getError(rc) === SslError.WANT_ASYNC) await p.client.asyncWait();
    if (rs < 0 && p.server.getError(rs) === SslError.WANT_ASYNC) await p.server.asyncWait();
    const moved = p.pump();
    if (rc === 1 && rs === 1 && moved === 0) return p;
    if (p.client.error || p.server.error) throw p.client.error ?? p.server.error;
  }
  throw new Error("airlock handshake did not finish");
}

function airBulk(p: AirPair, total: number, chunk: number): void {
  const data = new Uint8Array(chunk).fill(7);
  const buf = new Uint8Array(65536);
  let sent = 0, got = 0;
  while (got < total) {
    while (sent < total) {
      const w = p.client.write(data);
      if (w <= 0) break;
      sent += w;
    }
    p.pump();
    for (;;) {
      const n = p.server.read(buf);
      if (n <= 0) break;
      got += n;
    }
  }
}

// ---- node:tls ------------------------------------------------------------------------------------

function duplexPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const mk = (peer: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk, _enc, cb) {
        peer().push(chunk);
        cb();
      },
      final(cb) {
        peer().push(null);
        cb();
      },
    });
  ends.push(mk(() => ends[1]!), mk(() => ends[0]!));
  return [ends[0]!, ends[1]!];
}

let nodeContext: tls.SecureContext | undefined;

/** The last session a node:tls client received (the 'session' event comes with the tickets). */
let nodeSession: Buffer | undefined;

function nodeHandshake(cert: TestCertificate, session?: Buffer): Promise<[tls.TLSSocket, tls.TLSSocket]> {
  const [x, y] = duplexPair();
  // One context for all connections: its ticket keys let sessions resume.
  nodeContext ??= tls.createSecureContext({ cert: cert.certPem, key: cert.keyPem });
  const server = new tls.TLSSocket(x, { isServer: true, secureContext: nodeContext });
  return new Promise((resolve, reject) => {
    const client = tls.connect(
      { socket: y, servername: "localhost", rejectUnauthorized: false, ...(session ? { session } : {}) },
      () => resolve([client, server]),
    );
    client.on("session", (s: Buffer) => (nodeSession = s));
    client.on("error", reject);
    server.on("error", reject);
  });
}

function nodeBulk(client: tls.TLSSocket, server: tls.TLSSocket, total: number, chunk: number): Promise<void> {
  const data = new Uint8Array(chunk).fill(7);
  return new Promise((resolve) => {
    let got = 0;
    server.on("data", (d: Uint8Array) => {
      got += d.length;
      if (got >= total) resolve();
    });
    let sent = 0;
    const send = () => {
      while (sent < total) {
        sent += chunk;
        if (!client.write(data)) return void client.once("drain", send);
      }
    };
    send();
  });
}

// ---- run -----------------------------------------------------------------------------------------

async function timeRounds(rounds: number, fn: () => Promise<number>): Promise<number> {
  const rates: number[] = [];
  for (let i = 0; i < rounds; i++) rates.push(await fn());
  return median(rates);
}

const cert = await generateTestCertificate("ecdsa-p256");
const key = await loadPrivateKey(cert.keyPkcs8);

// Cross-check first: both pairs carry data intact.
{
  const p = await airHandshake(cert, key);
  p.client.write(new TextEncoder().encode("check"));
  p.pump();
  const buf = new Uint8Array(16);
  if (new TextDecoder().decode(buf.subarray(0, p.server.read(buf))) !== "check") {
    throw new Error("airlock check failed");
  }
}
let nodeOk = true;
try {
  const [c, s] = await nodeHandshake(cert);
  await nodeBulk(c, s, 16384, 16384);
  c.destroy();
  s.destroy();
} catch (e) {
  nodeOk = false;
  console.log(`node:tls in memory is not available here: ${(e as Error).message}`);
}

const HS = 50;
const air = await timeRounds(5, async () => {
  const t = performance.now();
  for (let i = 0; i < HS; i++) await airHandshake(cert, key);
  return HS / ((performance.now() - t) / 1000);
});
const node = nodeOk
  ? await timeRounds(5, async () => {
    const t = performance.now();
    for (let i = 0; i < HS; i++) {
      const [c, s] = await nodeHandshake(cert);
      c.destroy();
      s.destroy();
    }
    return HS / ((performance.now() - t) / 1000);
  })
  : NaN;

// Resumed handshakes: a session from one full handshake, offered on every connection.
const session = (() => {
  const sessions: TlsSession[] = [];
  const p = airPair(cert, key);
  on(p.client, "session", (x) => sessions.push(x));
  for (let i = 0; i < 100 && sessions.length === 0; i++) {
    p.client.doHandshake();
    p.server.doHandshake();
    p.client.read(new Uint8Array(16));
    p.pump();
  }
  return sessions[0]!;
})();
const airResumed = await timeRounds(5, async () => {
  const t = performance.now();
  for (let i = 0; i < HS; i++) {
    const p = await airHandshake(cert, key, session);
    if (!p.client.handshakeInfo?.resumed) throw new Error("airlock did not resume");
  }
  return HS / ((performance.now() - t) / 1000);
});
let nodeResumed = NaN;
if (nodeOk) {
  const [c0, s0] = await nodeHandshake(cert);
  for (let i = 0; i < 100 && !nodeSession; i++) await new Promise((r) => setTimeout(r, 5));
  const ticket = nodeSession!;
  c0.destroy();
  s0.destroy();
  // A bare server-side TLSSocket (no tls.Server) may not resume on every runtime: then there is no figure.
  const [probe, probeServer] = await nodeHandshake(cert, ticket);
  const reused = probe.isSessionReused();
  probe.destroy();
  probeServer.destroy();
  if (reused) {
    nodeResumed = await timeRounds(5, async () => {
      const t = performance.now();
      for (let i = 0; i < HS; i++) {
        const [c, s] = await nodeHandshake(cert, ticket);
        c.destroy();
        s.destroy();
      }
      return HS / ((performance.now() - t) / 1000);
    });
  } else {
    console.log("node:tls did not resume over the in-memory pair here: no resumed figure for it");
  }
}

const MB = 32 * 1024 * 1024;
const bulkRows: [string, number, number][] = [];
for (const chunk of [1024, 16384]) {
  const a = await timeRounds(3, async () => {
    const p = await airHandshake(cert, key);
    const t = performance.now();
    airBulk(p, MB, chunk);
    return MB / 1e6 / ((performance.now() - t) / 1000);
  });
  const n = nodeOk
    ? await timeRounds(3, async () => {
      const [c, s] = await nodeHandshake(cert);
      const t = performance.now();
      await nodeBulk(c, s, MB, chunk);
      const r = MB / 1e6 / ((performance.now() - t) / 1000);
      c.destroy();
      s.destroy();
      return r;
    })
    : NaN;
  bulkRows.push([`bulk MB/s, ${chunk / 1024} KiB writes`, a, n]);
}

const runtime = typeof Deno !== "undefined"
  ? `Deno ${Deno.version.deno}`
  : "Bun" in globalThis
  ? "Bun"
  : `Node ${process.version}`;
console.log(`airlock vs node:tls, TLS 1.3 AES-128-GCM x25519 ECDSA P-256, in memory, ${runtime}`);
console.log("figure".padEnd(34), "airlock".padStart(10), "node:tls".padStart(10), "ratio".padStart(8));
// The post-quantum hybrid beside x25519 (node:tls on Node 20 has no X25519MLKEM768: no peer figure).
const airPq = await timeRounds(5, async () => {
  const t = performance.now();
  for (let i = 0; i < HS; i++) {
    const p = await airHandshake(cert, key, undefined, "X25519MLKEM768");
    if (p.client.handshakeInfo?.group !== "X25519MLKEM768") throw new Error("not the hybrid group");
  }
  return HS / ((performance.now() - t) / 1000);
});

const rows: [string, number, number][] = [
  ["full handshakes/s", air, node],
  ["full handshakes/s, X25519MLKEM768", airPq, NaN],
  ["resumed handshakes/s", airResumed, nodeResumed],
  ...bulkRows,
];
for (const [name, a, n] of rows) {
  console.log(
    name.padEnd(34),
    a.toFixed(0).padStart(10),
    n.toFixed(0).padStart(10),
    (a / n).toFixed(2).padStart(8),
  );
}
