/**
 * QUIC mode (RFC 9001 §4): RFC 9001 Appendix A's Initial keys byte for byte, and a QUIC-style handshake
 * in memory with handshake bytes delivered per encryption level, in small pieces, with arrivals across
 * levels shuffled; transport parameters both ways; no ChangeCipherSpec, no KeyUpdate; resumption.
 */
import assert from "node:assert/strict";
import { seededRandom, settled } from "../testing/pair.ts";
import { generateChain } from "../testing/pki.ts";
import {
  type ClientConfig,
  createClient,
  createServer,
  loadPrivateKey,
  on,
  quicCryptoError,
  quicInitialSecrets,
  type QuicLevel,
  quicPacketKeys,
  type ServerConfig,
  SslError,
  type TlsEngine,
  type TlsSession,
  webCryptoProvider,
} from "../mod.ts";
import { toHex } from "../suites/bytes.ts";
import { tls13SuiteById } from "../suites/tls13.ts";

Deno.test("quicInitialSecrets() and quicPacketKeys() match RFC 9001 Appendix A.1", () => {
  const dcid = Uint8Array.from([0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08]);
  const { client, server } = quicInitialSecrets(dcid);
  assert.equal(toHex(client), "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea");
  assert.equal(toHex(server), "3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b");
  const aes128 = tls13SuiteById(0x1301)!;
  const c = quicPacketKeys(aes128, client), s = quicPacketKeys(aes128, server);
  assert.equal(toHex(c.key), "1f369613dd76d5467730efcbe3b1a22d");
  assert.equal(toHex(c.iv), "fa044b2f42a3fd3b46fb255c");
  assert.equal(toHex(c.hp), "9f50449e04a0e810283a1e9933adedd2");
  assert.equal(toHex(s.key), "cf3a5331653c364c88f0f379b6067e37");
  assert.equal(toHex(s.iv), "0ac1493ca1905853b0bba03e");
  assert.equal(toHex(s.hp), "c206b8d9b9f0f37644430b490eeaa314");
  assert.equal(quicCryptoError(109), 0x16d);
});

const CLIENT_TP = Uint8Array.from([0x01, 0x04, 0x80, 0x00, 0x75, 0x30]); // max_idle_timeout
const SERVER_TP = Uint8Array.from([0x03, 0x02, 0x45, 0xc0]); // max_udp_payload_size

interface Side {
  engine: TlsEngine;
  /** Levels this side can read now (as a QUIC stack would have keys for). */
  readLevels: Set<QuicLevel>;
  secrets: Map<string, string>;
}

async function quicPair(client: Partial<ClientConfig> = {}, server: Partial<ServerConfig> = {}) {
  const chain = await generateChain({ dnsNames: ["quic.test"] });
  const key = await loadPrivateKey(chain.keyPkcs8);
  const serverConfig: ServerConfig = {
    certificates: [{ chain: chain.chain, key }],
    alpnProtocols: ["h3"],
    quic: { transportParameters: SERVER_TP },
    ...server,
  };
  const make = (engine: TlsEngine): Side => {
    const side: Side = { engine, readLevels: new Set(["initial"]), secrets: new Map() };
    on(engine, "secrets", (s) => {
      if (s.direction === "read") side.readLevels.add(s.level);
      side.secrets.set(`${s.direction}/${s.level}`, toHex(s.secret));
    });
    return side;
  };
  const connect = (extra: Partial<ClientConfig> = {}) => ({
    c: make(createClient({
      serverName: "quic.test",
      trustAnchors: [chain.rootPem],
      alpnProtocols: ["h3"],
      quic: { transportParameters: CLIENT_TP },
      ...client,
      ...extra,
    })),
    s: make(createServer(serverConfig)),
  });
  return { connect };
}

/**
 * A QUIC-ish transport: what each side emits is queued per level; delivery picks, at random, a level the
 * receiver has keys for, and hands over 1..60 bytes of it. Levels thus interleave arbitrarily, while
 * within one level the bytes stay in order (as CRYPTO frames reassembled by offset).
 */
async function run(c: Side, s: Side, seed = 1, budget = 100_000): Promise<void> {
  const rnd = seededRandom(seed);
  const queues = new Map<Side, Map<QuicLevel, Uint8Array[]>>([[c, new Map()], [s, new Map()]]);
  const collect = (from: Side, to: Side) => {
    for (const { level, data } of from.engine.takeQuicData()) {
      const q = queues.get(to)!;
      q.set(level, [...(q.get(level) ?? []), data]);
    }
  };
  await settled(c.engine, () => c.engine.doHandshake());
  for (let i = 0; i < budget; i++) {
    collect(c, s);
    collect(s, c);
    const ready = [c, s].flatMap((side) =>
      [...queues.get(side)!.entries()].filter(([lvl, q]) => q.length > 0 && side.readLevels.has(lvl)).map((
        [lvl, q],
      ) => ({ side, lvl, q }))
    );
    if (ready.length === 0) {
      if (c.engine.isHandshakeDone && s.engine.isHandshakeDone) return;
      throw new Error(`stuck: client ${c.engine.error?.message} server ${s.engine.error?.message}`);
    }
    const pick = ready[rnd(1)[0]! % ready.length]!;
    const head = pick.q[0]!;
    const n = Math.min(head.length, 1 + (rnd(1)[0]! % 60));
    pick.q[0] = head.subarray(n);
    if (pick.q[0].length === 0) pick.q.shift();
    const r = pick.side.engine.provideQuicData(pick.lvl, head.subarray(0, n));
    if (r < 0 && pick.side.engine.getError(r) === SslError.WANT_ASYNC) {
      // The bytes were taken; once the provider is done, doHandshake() goes on with them.
      await pick.side.engine.asyncWait();
      await settled(pick.side.engine, () => pick.side.engine.doHandshake());
    }
    if (pick.side.engine.error) throw pick.side.engine.error;
  }
  throw new Error("QUIC handshake did not finish");
}

Deno.test("QUIC mode: a handshake by levels, in small pieces, levels shuffled, for several seeds", async () => {
  const { connect } = await quicPair();
  for (const seed of [1, 2, 3, 4, 5]) {
    const { c, s } = connect();
    await run(c, s, seed);
    assert.equal(c.engine.handshakeInfo?.alpn, "h3");
    assert.deepEqual(c.engine.peerTransportParameters, SERVER_TP);
    assert.deepEqual(s.engine.peerTransportParameters, CLIENT_TP);
    // Each side's write secrets are the other's read secrets, per level.
    for (const level of ["handshake", "application"]) {
      assert.equal(c.secrets.get(`write/${level}`), s.secrets.get(`read/${level}`));
      assert.equal(s.secrets.get(`write/${level}`), c.secrets.get(`read/${level}`));
    }
  }
});

Deno.test("QUIC mode: no ChangeCipherSpec, an empty legacy_session_id, and no KeyUpdate", async () => {
  const { connect } = await quicPair();
  const { c, s } = connect();
  await settled(c.engine, () => c.engine.doHandshake());
  const first = c.engine.takeQuicData();
  assert.equal(first.length, 1);
  assert.equal(first[0]!.level, "initial");
  assert.equal(first[0]!.data[0], 1); // ClientHello
  assert.equal(first[0]!.data[38], 0); // legacy_session_id length
  if (s.engine.getError(s.engine.provideQuicData("initial", first[0]!.data)) === SslError.WANT_ASYNC) {
    await s.engine.asyncWait();
    await settled(s.engine, () => s.engine.doHandshake());
  }
  const levels = s.engine.takeQuicData().map((x) => x.level);
  assert.deepEqual([...new Set(levels)], ["initial", "handshake"]);
  const { c: c2, s: s2 } = connect();
  await run(c2, s2);
  assert.equal(c2.engine.keyUpdate(), -1);
  assert.equal(c2.engine.error?.code, "local.quic_key_update");
});

Deno.test("QUIC mode: handshake data at the wrong level is a protocol error", async () => {
  const { connect } = await quicPair();
  const { c, s } = connect();
  await settled(c.engine, () => c.engine.doHandshake());
  const [ch] = c.engine.takeQuicData();
  assert.equal(s.engine.provideQuicData("handshake", ch!.data), -1);
  assert.equal(s.engine.error?.code, "peer_misbehaved.quic_wrong_level");
  assert.equal(quicCryptoError(s.engine.error!.alertDescription!), 0x10a);
});

Deno.test("QUIC mode: missing transport parameters or ALPN end the handshake with the right alert", async () => {
  const { connect } = await quicPair();
  const noParams = connect({
    helloExtensions: (exts) => exts.filter((e) => e.type !== 0x39),
  });
  await assert.rejects(run(noParams.c, noParams.s));
  assert.equal(noParams.s.engine.error?.alert, "missing_extension");
  const { connect: connect2 } = await quicPair({}, { alpnProtocols: ["other"] });
  const noAlpn = connect2();
  await assert.rejects(run(noAlpn.c, noAlpn.s));
  assert.equal(noAlpn.s.engine.error?.alert, "no_application_protocol");
  assert.throws(() =>
    createClient({ serverName: "x", verifyPeer: () => true, quic: { transportParameters: CLIENT_TP } })
  );
});

Deno.test("QUIC mode: tickets arrive at the application level and resume", async () => {
  const { connect } = await quicPair();
  const first = connect();
  const sessions: TlsSession[] = [];
  on(first.c.engine, "session", (x) => sessions.push(x));
  await run(first.c, first.s);
  // The server's NewSessionTicket comes after the handshake: deliver it.
  for (const { level, data } of first.s.engine.takeQuicData()) first.c.engine.provideQuicData(level, data);
  assert.ok(sessions.length > 0);
  const second = connect({ session: sessions[0]! });
  await run(second.c, second.s);
  assert.equal(second.c.engine.handshakeInfo?.resumed, true);
});

Deno.test("QUIC mode: 0-RTT hands the early secret to both sides, without EndOfEarlyData", async () => {
  const { connect } = await quicPair({}, { earlyData: { maxSize: 16384 } });
  const first = connect();
  const sessions: TlsSession[] = [];
  on(first.c.engine, "session", (x) => sessions.push(x));
  await run(first.c, first.s);
  for (const { level, data } of first.s.engine.takeQuicData()) first.c.engine.provideQuicData(level, data);
  // RFC 9001 §4.6.1: the ticket says 0xffffffff.
  assert.equal(sessions[0]!.maxEarlyData, 0xffffffff);
  const second = connect({ session: sessions[0]!, earlyData: true });
  await run(second.c, second.s);
  assert.equal(second.c.engine.handshakeInfo?.earlyData, "accepted");
  assert.equal(second.s.engine.handshakeInfo?.earlyData, "accepted");
  const early = second.c.secrets.get("write/early");
  assert.ok(early);
  assert.equal(early, second.s.secrets.get("read/early"));
  // The client's own handshake bytes never went out at the 0-RTT level.
  assert.equal(second.c.secrets.get("write/handshake"), second.s.secrets.get("read/handshake"));
});

Deno.test("QUIC mode: bytes handed over while the provider works are kept, in order, and fed after", async () => {
  const { connect } = await quicPair({ provider: webCryptoProvider }, { provider: webCryptoProvider });
  const { c, s } = connect();
  await settled(c.engine, () => c.engine.doHandshake());
  for (const { level, data } of c.engine.takeQuicData()) {
    const r = s.engine.provideQuicData(level, data);
    if (s.engine.getError(r) === SslError.WANT_ASYNC) await s.engine.asyncWait();
  }
  await settled(s.engine, () => s.engine.doHandshake());
  const flight = s.engine.takeQuicData();
  assert.deepEqual([...new Set(flight.map((x) => x.level))], ["initial", "handshake"]);
  // The ServerHello starts a native key agreement; the handshake-level bytes arrive before it ends.
  const results = flight.map(({ level, data }) => c.engine.getError(c.engine.provideQuicData(level, data)));
  assert.equal(results[0], SslError.WANT_ASYNC);
  assert.ok(results.every((r) => r === SslError.WANT_ASYNC), "every piece was taken while waiting");
  await c.engine.asyncWait();
  assert.equal(await settled(c.engine, () => c.engine.doHandshake()), 1);
  for (const { level, data } of c.engine.takeQuicData()) s.engine.provideQuicData(level, data);
  assert.equal(await settled(s.engine, () => s.engine.doHandshake()), 1);
  assert.equal(c.engine.handshakeInfo?.alpn, "h3");

  // Bounded: no more than twice maxHandshakeMessageSize may wait.
  const { connect: connect2 } = await quicPair({
    provider: webCryptoProvider,
    maxHandshakeMessageSize: 4096,
  });
  const late = connect2();
  await settled(late.c.engine, () => late.c.engine.doHandshake());
  for (const { level, data } of late.c.engine.takeQuicData()) late.s.engine.provideQuicData(level, data);
  await settled(late.s.engine, () => late.s.engine.doHandshake());
  const [hello] = late.s.engine.takeQuicData();
  assert.equal(
    late.c.engine.getError(late.c.engine.provideQuicData("initial", hello!.data)),
    SslError.WANT_ASYNC,
  );
  assert.equal(late.c.engine.provideQuicData("handshake", new Uint8Array(8193)), -1);
  assert.equal(late.c.engine.error?.code, "peer_misbehaved.quic_backlog");
});

Deno.test("QUIC mode: an external PSK authenticates, with no Certificate at any level", async () => {
  const psk = { identity: "quic-psk", key: new Uint8Array(32).fill(7) };
  const { connect } = await quicPair({ psks: [psk] }, { psks: [psk] });
  const { c, s } = connect();
  await run(c, s);
  assert.deepEqual(c.engine.handshakeInfo?.externalPsk?.identity, new TextEncoder().encode("quic-psk"));
  assert.equal(s.engine.handshakeInfo?.externalPsk?.mode, "psk_dhe_ke");
  assert.deepEqual(c.engine.handshakeInfo?.peerCertificates, []);
});
