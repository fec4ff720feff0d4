/**
 * 0-RTT early data (RFC 8446 §2.3, §4.2.10): sent with a resumed ClientHello, accepted into its own read
 * path, rejected (and skipped) when the server does not take it, refused on replay, bounded by the ticket.
 */
import assert from "node:assert/strict";
import { drain, handshake, type Pair, seededRandom, settled, transfer, writeAll } from "../testing/pair.ts";
import { generateChain } from "../testing/pki.ts";
import { onRecords } from "../testing/tamper.ts";
import { ContentType as CT } from "../engine/msgs/enums.ts";
import {
  type ClientConfig,
  createBioPair,
  createClient,
  createServer,
  loadPrivateKey,
  nobleProvider,
  on,
  type ServerConfig,
  SessionCache,
  SslError,
  StrikeRegister,
  TicketKeys,
  type TlsSession,
} from "../mod.ts";

const enc = new TextEncoder(), dec = new TextDecoder();

async function setup(server: Partial<ServerConfig> = { earlyData: { maxSize: 1024 } }) {
  const chain = await generateChain({ dnsNames: ["server.test"] });
  const key = await loadPrivateKey(chain.keyPkcs8);
  const store = new TicketKeys();
  const base: ServerConfig = { certificates: [{ chain: chain.chain, key }], tickets: { store } };
  const serverConfig: ServerConfig = { ...base, ...server };
  const pair = (client: Partial<ClientConfig>, config = serverConfig) => {
    const c = createBioPair(), s = createBioPair();
    const p: Pair = {
      client: createClient({ serverName: "server.test", trustAnchors: [chain.rootPem], ...client }, c.engine),
      server: createServer(config, s.engine),
      c,
      s,
    };
    return p;
  };
  const firstSession = async (
    config = serverConfig,
    client: Partial<ClientConfig> = {},
  ): Promise<TlsSession> => {
    const p = pair(client, config);
    const sessions: TlsSession[] = [];
    on(p.client, "session", (x) => sessions.push(x));
    await handshake(p);
    p.client.read(new Uint8Array(8));
    assert.ok(sessions.length > 0);
    return sessions[0]!;
  };
  return { base, serverConfig, pair, firstSession };
}

async function readEarly(p: Pair): Promise<string> {
  const buf = new Uint8Array(4096);
  let out = "";
  for (let i = 0; i < 100; i++) {
    const n = await settled(p.server, () => p.server.readEarlyData(buf));
    if (n > 0) out += dec.decode(buf.subarray(0, n));
    else break;
  }
  return out;
}

Deno.test("0-RTT: early data is accepted and read apart from 1-RTT data", async () => {
  const { pair, firstSession } = await setup();
  const session = await firstSession();
  assert.equal(session.maxEarlyData, 1024);
  const p = pair({ session, earlyData: true });
  assert.equal(await settled(p.client, () => p.client.writeEarlyData(enc.encode("GET /early"))), 10);
  transfer(p);
  // The server reads the early data while its handshake is still in flight.
  let early = "";
  for (let i = 0; i < 20 && early === ""; i++) {
    early += await readEarly(p);
    p.client.doHandshake();
    transfer(p);
  }
  assert.equal(early, "GET /early");
  await handshake(p);
  assert.equal(p.client.handshakeInfo?.earlyData, "accepted");
  assert.equal(p.server.handshakeInfo?.earlyData, "accepted");
  assert.equal(p.client.handshakeInfo?.resumed, true);
  // 1-RTT data goes through read(), and never mixes with what came early.
  assert.equal(await writeAll(p.client, enc.encode("later")), 5);
  transfer(p);
  assert.equal(dec.decode(await drain(p.server)), "later");
  assert.equal(p.server.readEarlyData(new Uint8Array(16)), 0);
});

Deno.test("0-RTT: a server that does not take early data skips it, and the client learns it was rejected", async () => {
  const { pair, firstSession, base } = await setup();
  const session = await firstSession();
  const noEarly: ServerConfig = { ...base }; // same ticket keys, no earlyData
  const p = pair({ session, earlyData: true }, noEarly);
  assert.equal(await settled(p.client, () => p.client.writeEarlyData(enc.encode("x".repeat(900)))), 900);
  await handshake(p);
  assert.equal(p.client.handshakeInfo?.earlyData, "rejected");
  assert.equal(p.server.handshakeInfo?.earlyData, "rejected");
  assert.equal(p.server.handshakeInfo?.resumed, true);
  assert.equal(p.server.readEarlyData(new Uint8Array(16)), 0);
  // Resent as 1-RTT data, it arrives once.
  assert.equal(await writeAll(p.client, enc.encode("again")), 5);
  transfer(p);
  assert.equal(dec.decode(await drain(p.server)), "again");
});

Deno.test("0-RTT: a replayed ClientHello's early data is refused (stateless tickets)", async () => {
  const { pair, firstSession } = await setup();
  const session = await firstSession();
  const first = pair({ session, earlyData: true });
  await settled(first.client, () => first.client.writeEarlyData(enc.encode("once")));
  await handshake(first);
  assert.equal(first.server.handshakeInfo?.earlyData, "accepted");
  // The same session again: a new ClientHello, but its binder was seen; replaying the exact bytes is
  // what an attacker does, and the strike register refuses those too (same binder).
  const same = () => ({
    session,
    earlyData: true,
    random: seededRandom(5),
    now: () => session.expiresAt - 7_200_000 + 1000,
    provider: nobleProvider, // byte-identical ClientHellos need seeded key shares
  });
  const replay = pair(same());
  const replay2 = pair(same());
  for (const p of [replay, replay2]) {
    await settled(p.client, () => p.client.writeEarlyData(enc.encode("twice")));
  }
  await handshake(replay);
  await handshake(replay2);
  assert.equal(replay.server.handshakeInfo?.earlyData, "accepted", "a new ClientHello is not a replay");
  assert.equal(replay2.server.handshakeInfo?.earlyData, "rejected");
  assert.equal(replay2.server.handshakeInfo?.resumed, true);
});

Deno.test("0-RTT: writeEarlyData() is bounded by the ticket and needs a session that allows it", async () => {
  const { pair, firstSession } = await setup({ earlyData: { maxSize: 100 } });
  const session = await firstSession();
  const p = pair({ session, earlyData: true });
  assert.equal(await settled(p.client, () => p.client.writeEarlyData(new Uint8Array(150))), 100);
  assert.equal(await settled(p.client, () => p.client.writeEarlyData(new Uint8Array(10))), 0);
  await handshake(p);
  assert.equal(p.server.handshakeInfo?.earlyData, "accepted");
  let total = 0;
  const buf = new Uint8Array(64);
  for (let n; (n = p.server.readEarlyData(buf)) > 0;) total += n;
  assert.equal(total, 100);
  // Without a session, no early data.
  const none = pair({ earlyData: true });
  assert.equal(await settled(none.client, () => none.client.writeEarlyData(new Uint8Array(5))), 0);
  assert.equal(none.client.getError(0), SslError.NONE);
});

/** A resuming client that wrote early data, and a server whose group choice forces a HelloRetryRequest. */
async function earlyDataThenRetry(): Promise<Pair> {
  const { pair, firstSession, serverConfig } = await setup();
  const session = await firstSession();
  const p = pair({ session, earlyData: true, groups: ["x25519", "secp384r1"] }, {
    ...serverConfig,
    groups: ["secp384r1"],
  });
  await settled(p.client, () => p.client.writeEarlyData(enc.encode("too early")));
  return p;
}

Deno.test("0-RTT: a HelloRetryRequest ends early data; the handshake still resumes", async () => {
  const p = await earlyDataThenRetry();
  await handshake(p);
  assert.equal(p.client.handshakeInfo?.helloRetry, true);
  assert.equal(p.client.handshakeInfo?.earlyData, "rejected");
  assert.equal(p.client.handshakeInfo?.resumed, true);
});

Deno.test("0-RTT: after a HelloRetryRequest, a record after the second ClientHello that does not open is bad_record_mac", async () => {
  const p = await earlyDataThenRetry();
  let hellos = 0;
  const garbage = { type: CT.applicationData, version: 0x0303, body: new Uint8Array(64).fill(7) };
  const f = onRecords(
    "client",
    (r) => (r.type === CT.handshake && r.body[0] === 1 && ++hellos === 2 ? [r, garbage] : r),
  );
  await assert.rejects(handshake(p, f));
  assert.equal(hellos, 2);
  assert.equal(p.server.error?.code, "decrypt", p.server.error?.message);
  assert.equal(p.server.error?.alert, "bad_record_mac");
});

Deno.test("0-RTT: with single-use tickets (SessionCache) early data is accepted once", async () => {
  const store = new SessionCache();
  const { pair, firstSession, base } = await setup();
  const config: ServerConfig = { ...base, tickets: { store }, earlyData: { maxSize: 512 } };
  const session = await firstSession(config);
  const p = pair({ session, earlyData: true }, config);
  await settled(p.client, () => p.client.writeEarlyData(enc.encode("one")));
  await handshake(p);
  assert.equal(p.server.handshakeInfo?.earlyData, "accepted");
  const again = pair({ session, earlyData: true }, config);
  await settled(again.client, () => again.client.writeEarlyData(enc.encode("two")));
  await handshake(again);
  assert.equal(again.server.handshakeInfo?.resumed, false);
  assert.equal(again.client.handshakeInfo?.earlyData, "rejected");
});

/**
 * Issue #15, finding 9: a ticket issued at T0; the client's clock runs 10 s ahead, so its ClientHello at
 * server time T0 + 5 s claims the ticket is 10 s older than the server sees (the most skew allowed). The
 * same bytes at T0 + 25 s claim it is 10 s younger: still within the skew, so only the strike register
 * stands between them and a second acceptance, 20.000 s after the first.
 */
async function skewedClock() {
  const antiReplay = new StrikeRegister();
  const { base, pair, firstSession } = await setup();
  const t0 = Date.now();
  const server = (at: number, register = antiReplay): ServerConfig => ({
    ...base,
    earlyData: { maxSize: 1024, antiReplay: register },
    now: () => t0 + at,
  });
  const session = await firstSession(server(0), { now: () => t0 });
  // Identical ClientHellos: the client's clock reads T0 + 15 s, so it says the ticket is 15 s old.
  const hello = (at: number, register?: StrikeRegister) => {
    const p = pair({
      session,
      earlyData: true,
      random: seededRandom(9),
      now: () => t0 + 15_000,
      provider: nobleProvider,
    }, server(at, register));
    return (async () => {
      await settled(p.client, () => p.client.writeEarlyData(enc.encode("once")));
      await handshake(p);
      return p.server.handshakeInfo!;
    })();
  };
  return { hello };
}

Deno.test("security: a 0-RTT replay at exactly +20.000 s is refused", async () => {
  const { hello } = await skewedClock();
  const first = await hello(5_000);
  assert.equal(first.earlyData, "accepted");
  const replay = await hello(25_000);
  assert.equal(replay.resumed, true, "the ticket age is still within the skew");
  assert.equal(replay.earlyData, "rejected", "the strike register still remembers the binder");
});

Deno.test("security: the ticket age check takes a skew of 10.000 s either way, and not a millisecond more", async () => {
  const { hello } = await skewedClock();
  // Each with a register of its own: this is about the age check alone.
  for (const [at, accepted] of [[5_000, true], [4_999, false], [25_000, true], [25_001, false]] as const) {
    const info = await hello(at, new StrikeRegister());
    assert.equal(info.resumed, accepted, `server clock at T0 + ${at} ms`);
    assert.equal(info.earlyData, accepted ? "accepted" : "rejected", `server clock at T0 + ${at} ms`);
  }
});

Deno.test("security: a strike register with a shorter window narrows the ticket age skew 0-RTT is taken with", async () => {
  const { hello } = await skewedClock();
  const short = new StrikeRegister(100, 5_000);
  // A skew of 2.501 s: the handshake resumes, but a replay could come 5.002 s later, after the register forgot.
  const wide = await hello(12_499, short);
  assert.equal(wide.resumed, true);
  assert.equal(wide.earlyData, "rejected");
  assert.equal((await hello(12_500, short)).earlyData, "accepted");
  // Its replay 5.000 s later, at a skew of -2.5 s, is still remembered.
  assert.equal((await hello(17_500, short)).earlyData, "rejected");
});

Deno.test("security: 0-RTT cut short by a plaintext close_notify is refused, not read as a complete request", async () => {
  // Issue #15, finding 3: the server reads with the early key; a plaintext alert there is unexpected_message.
  const { pair, firstSession } = await setup();
  const p = pair({ session: await firstSession(), earlyData: true });
  assert.equal(await settled(p.client, () => p.client.writeEarlyData(enc.encode("GET /pay?to=bob"))), 15);
  assert.equal(await settled(p.client, () => p.client.writeEarlyData(enc.encode("&amount=10"))), 10);
  let data = 0;
  const closeNotify = { type: CT.alert, version: 0x0303, body: Uint8Array.of(1, 0) };
  // Drop the second early record and put a plaintext close_notify in its place.
  transfer(p, onRecords("client", (r) => (r.type !== CT.applicationData || ++data === 1 ? r : closeNotify)));
  await readEarly(p); // the first part, at most
  assert.equal(p.server.error?.code, "peer_misbehaved.unprotected_record");
  assert.equal(p.server.error?.alert, "unexpected_message");
  // Not "no more early data" (0), nor a clean close: the request must not pass as complete.
  for (const r of [p.server.readEarlyData(new Uint8Array(64)), p.server.doHandshake()]) {
    assert.equal(r, -1);
    assert.equal(p.server.getError(r), SslError.SSL);
  }
});

Deno.test("security: a plaintext alert while rejected 0-RTT is skipped is unexpected_message", async () => {
  // Issue #15, finding 3: the server reads with its handshake key after the ServerHello; the client, which
  // wrote its early data with the early key, sends nothing plaintext there.
  const { pair, firstSession, base } = await setup();
  const p = pair({ session: await firstSession(), earlyData: true }, { ...base });
  await settled(p.client, () => p.client.writeEarlyData(enc.encode("x".repeat(100))));
  const alert = { type: CT.alert, version: 0x0303, body: Uint8Array.of(2, 40) };
  transfer(p, onRecords("client", (r) => (r.type === CT.applicationData ? [r, alert] : r)));
  const r = await settled(p.server, () => p.server.doHandshake()); // a native key share may come first
  assert.equal(r, -1);
  assert.equal(p.server.getError(r), SslError.SSL);
  assert.equal(p.server.error?.code, "peer_misbehaved.unprotected_record");
});
