/**
 * Every limit on what a peer controls (engine/limits.ts), tested at its boundary: N passes, N + 1 fails with
 * the typed error and its alert, and the peer receives that alert.
 */
import assert from "node:assert/strict";
import {
  type AlertName,
  createBioPair,
  createClient,
  createServer,
  loadPrivateKey,
  nobleProvider,
  on,
  SslError,
} from "../mod.ts";
import { generateTestCertificate } from "../testing/pki.ts";
import { LIMITS } from "../engine/limits.ts";
import { ContentType as CT, HandshakeType as H } from "../engine/msgs/enums.ts";
import { decodeOfferedPsks, encodeOfferedPsks, type Extension } from "../engine/msgs/extensions.ts";
import {
  decodeClientHello,
  decodeServerHello,
  encodeClientHello,
  type ServerHello,
} from "../engine/msgs/handshake.ts";
import { scenarioConfig } from "../fuzz/transcript.ts";
import {
  bytesCopied,
  drain,
  handshake,
  handshakeRecords,
  makePair,
  paddedClientHello,
  type Pair,
  type PairOptions,
  seededRandom,
  settled,
  transfer,
  writeAll,
} from "../testing/pair.ts";
import {
  chain,
  editPlain,
  type InnerRecord,
  onPlainMessages,
  onProtected,
  onProtectedMessages,
  onRecords,
} from "../testing/tamper.ts";
import { assertFailed, assertReceived } from "../testing/reject.ts";

/** A pair with seeded randoms and a clock the test moves. */
function pair(clock: { now: number } = { now: Date.UTC(2026, 0, 1) }, opts: PairOptions = {}): Promise<Pair> {
  return makePair({
    ...opts,
    client: { random: seededRandom(1), now: () => clock.now, ...opts.client },
    server: { random: seededRandom(2), now: () => clock.now, ...opts.server },
  });
}

/** Pump until quiet, letting both sides read. */
async function settle(p: Pair): Promise<Uint8Array[]> {
  const got: Uint8Array[] = [new Uint8Array(0), new Uint8Array(0)];
  for (let i = 0; i < 50; i++) {
    const moved = transfer(p);
    const c = await drain(p.client);
    const s = await drain(p.server);
    if (c.length) got[0] = c;
    if (s.length) got[1] = s;
    if (moved === 0 && c.length === 0 && s.length === 0) break;
  }
  return got;
}

/** After `who` failed: the other side reads the fatal alert. */
function assertPeerReceived(p: Pair, who: "client" | "server", alert: AlertName): void {
  transfer(p);
  assertReceived(who === "client" ? p.server : p.client, alert);
}

/** A filter that puts `extra(n)` inner records before the `n`th application_data record the server sends. */
function beforeServerData(p: Pair, extra: (n: number) => InnerRecord[]) {
  let n = 0;
  return onProtected(p.server, (inner) => inner.type === CT.applicationData ? [...extra(n++), inner] : inner);
}

const userCanceled: InnerRecord = { type: CT.alert, content: Uint8Array.of(1, 90) };
const empty: InnerRecord = { type: CT.applicationData, content: new Uint8Array(0) };

Deno.test("limits: the table is the one docs/limits.md documents", () => {
  assert.equal(LIMITS.maxClientHello, 131396);
  assert.equal(LIMITS.maxEmptyRecords, 32);
  assert.equal(LIMITS.maxChangeCipherSpecs, 8);
  assert.equal(LIMITS.maxWarningAlertsInRow, 4);
  assert.equal(LIMITS.maxKeyUpdatesPerSecond, 32);
  assert.equal(LIMITS.maxTicketsPerConnection, 32);
  assert.equal(LIMITS.maxPskIdentitiesTried, 5);
  assert.equal(LIMITS.defaultMaxHandshakeMessage, 65536);
  assert.equal(LIMITS.defaultMaxPeerChainLength, 10);
  assert.equal(LIMITS.defaultMaxSignatureChecks, 100);
});

// ---- extensions in one message ------------------------------------------------------------------------------

/** Pad the ClientHello's extension list to exactly `total` entries with unknown (ignored) types. */
function extensionCount(total: number) {
  return (exts: Extension[]) => {
    const out = [...exts];
    for (let t = 0x1000; out.length < total; t++) out.push({ type: t, data: new Uint8Array(0) });
    return out;
  };
}

Deno.test("limits: a ClientHello with as many unknown extensions as fit (16,000) is accepted, as OpenSSL does", async () => {
  // No ECH GREASE: 16,000 empty extensions fill the extension block to within a few hundred bytes.
  const p = await pair(undefined, {
    client: { ech: { grease: false }, helloExtensions: extensionCount(16_000) },
  });
  await handshake(p);
  assert.equal(p.server.handshakeInfo?.version, "TLSv1.3");
});

// ---- handshake message size ---------------------------------------------------------------------------------

/** A pair whose server's TLS 1.3 Certificate body is exactly `size` bytes: its leaf, then one filler entry. */
async function certificateOf(size: number, opts: PairOptions = {}): Promise<Pair> {
  const cert = await generateTestCertificate("ecdsa-p256");
  const key = await loadPrivateKey(cert.keyPkcs8);
  const leaf = cert.chain[0]!;
  // context<0..255> (1), certificate_list<..2^24-1> (3), each entry: cert_data<1..2^24-1> (3 + n), extensions (2).
  const filler = size - (1 + 3 + (3 + leaf.length + 2) + (3 + 2));
  return pair(undefined, {
    ...opts,
    server: { certificates: [{ chain: [leaf, new Uint8Array(filler).fill(0x30)], key }] },
  });
}

Deno.test("limits: a handshake message of exactly maxHandshakeMessageSize passes, one byte more fails", async () => {
  const max = 4096;
  let body = -1;
  const ok = await certificateOf(max, { client: { maxHandshakeMessageSize: max } });
  await handshake(
    ok,
    onProtectedMessages(ok.server, (m) => {
      if (m.type === H.certificate) body = m.body.length;
      return m;
    }),
  );
  assert.equal(body, max);
  const over = await certificateOf(max + 1, { client: { maxHandshakeMessageSize: max } });
  await assert.rejects(handshake(over));
  assertFailed(over.client, "illegal_parameter", "peer_misbehaved.handshake_message_too_large");
  assertPeerReceived(over, "client", "illegal_parameter");
});

Deno.test("limits: a ClientHello may be as long as its fields allow, whatever maxHandshakeMessageSize says", async () => {
  // 30,000 unknown cipher suites and 40,000 bytes of padding: some 100 KB, far over the server's 2,048, under
  // the ClientHello's own 131,396. Sent in records of 2^14 bytes. The server answers it (the client, whose
  // transcript has its own ClientHello, then fails to open the server's flight: it was answered).
  const big = await pair(undefined, { server: { maxHandshakeMessageSize: 2048 }, capacity: 256 * 1024 });
  let size = 0;
  const grow = onRecords("client", (rec) => {
    if (rec.type !== CT.handshake || rec.body[0] !== H.clientHello) return rec;
    const ch = decodeClientHello(rec.body.subarray(4));
    const suites = Array.from({ length: 30_000 }, (_, i) => 0x6000 + i);
    const body = encodeClientHello({
      ...ch,
      cipherSuites: [...suites, ...ch.cipherSuites],
      extensions: [...ch.extensions, { type: 21, data: new Uint8Array(40_000) }],
    });
    size = body.length;
    const out = [];
    for (let at = 0; at < body.length; at += 16384) {
      out.push({ ...rec, body: body.subarray(at, at + 16384) });
    }
    return out;
  });
  const failure = await handshake(big, grow).then(() => "completed", (e) => String(e));
  assert.ok(size > 100_000, `${size}`);
  assert.match(failure, /handshake failed/);
  assert.equal(big.server.error, undefined);
  assert.equal(big.client.error?.code, "decrypt", big.client.error?.message);
  // A header that claims one byte more than any ClientHello can hold fails as it arrives, before any body.
  const over = await pair();
  const header = Uint8Array.of(H.clientHello, 0x02, 0x01, 0x45); // 131,397
  over.s.network.write(Uint8Array.of(CT.handshake, 3, 1, 0, header.length, ...header));
  const r = await settled(over.server, () => over.server.doHandshake());
  assert.equal(over.server.getError(r), SslError.SSL);
  assertFailed(over.server, "illegal_parameter", "peer_misbehaved.handshake_message_too_large");
  assert.match(over.server.error!.message, /131397 exceeds the limit of 131396/);
});

// ---- certificates in one Certificate message ------------------------------------------------------------------

/** A pair whose server sends its leaf followed by `extra` copies of it (the client checks nothing else). */
async function chainOf(length: number, opts: PairOptions = {}): Promise<Pair> {
  const cert = await generateTestCertificate("ecdsa-p256");
  const key = await loadPrivateKey(cert.keyPkcs8);
  const chain = Array.from({ length }, () => cert.chain[0]!);
  return pair(undefined, { ...opts, server: { certificates: [{ chain, key }] } });
}

Deno.test("limits: a Certificate of maxPeerChainLength certificates passes, one more is bad_certificate", async () => {
  await handshake(await chainOf(LIMITS.defaultMaxPeerChainLength));
  const over = await chainOf(LIMITS.defaultMaxPeerChainLength + 1);
  await assert.rejects(handshake(over));
  assertFailed(over.client, "bad_certificate", "certificate.too_many_certificates");
  assertPeerReceived(over, "client", "bad_certificate");
  // The limit is the client's to raise (or lower).
  await handshake(await chainOf(11, { client: { maxPeerChainLength: 11 } }));
  const low = await chainOf(2, { client: { maxPeerChainLength: 1 } });
  await assert.rejects(handshake(low));
  assertFailed(low.client, "bad_certificate", "certificate.too_many_certificates");
});

// ---- empty records, warning alerts ----------------------------------------------------------------------------

Deno.test("security: a ClientHello in 1-byte records costs the server linear copying, not quadratic", async () => {
  // Issue #15, finding 2: reassembly copied all that was buffered on every fragment, n^2/2 bytes for n records.
  const hello = await paddedClientHello(16384);
  const copied = async (recordSize: number) => {
    const p = await makePair({ capacity: 8 * hello.length, server: { provider: nobleProvider } });
    p.s.network.write(handshakeRecords(hello, recordSize));
    let r = 0;
    const n = bytesCopied(() => (r = p.server.doHandshake()));
    assert.equal(p.server.getError(r), SslError.WANT_READ, p.server.error?.message); // its flight is out
    return n;
  };
  const whole = await copied(16384), bytewise = await copied(1);
  // Per 1-byte record: its 5-byte header and its byte, read off the BIO and framed, a few times over.
  assert.ok(
    bytewise - whole <= 64 * hello.length,
    `${bytewise} bytes copied, against ${whole} in one record`,
  );
});

Deno.test("limits: records read ahead are framed one at a time: the same flight, fed whole or 7 bytes a time", async () => {
  // Records come off the BIO a chunk at a time, some cut off at a chunk's end; none may change what is sent.
  const wire = handshakeRecords(await paddedClientHello(2048), 1);
  const flight = async (chunk: number) => {
    const p = await pair(undefined, { capacity: 8 * wire.length, server: { provider: nobleProvider } });
    for (let at = 0; at < wire.length; at += chunk) {
      p.s.network.write(wire.subarray(at, at + chunk));
      const r = p.server.doHandshake();
      assert.equal(p.server.getError(r), SslError.WANT_READ, p.server.error?.message);
    }
    return p.s.network.read();
  };
  const whole = await flight(wire.length);
  assert.ok(whole.length > 0);
  assert.deepEqual(await flight(7), whole);
});

Deno.test("limits: a bad record header read ahead behind a ClientHello is refused only after the ClientHello", async () => {
  const hello = await paddedClientHello(2048);
  const p = await pair(undefined, { capacity: 8 * hello.length, server: { provider: nobleProvider } });
  // All in one BIO write: the ClientHello in 1-byte records, then a record of content type 99.
  const wire = handshakeRecords(hello, 1);
  p.s.network.write(new Uint8Array([...wire, 99, 3, 3, 0, 1, 0]));
  assert.equal(p.server.getError(p.server.doHandshake()), SslError.SSL);
  assertFailed(p.server, "unexpected_message", "peer_misbehaved.bad_content_type");
  const out = p.s.network.read();
  assert.deepEqual([out[0], out[5]], [CT.handshake, H.serverHello], "the ServerHello went out first");
});

Deno.test("limits: EOF with part of a record read ahead behind whole ones is a truncation", async () => {
  const hello = await paddedClientHello(2048);
  // Cut inside the header, and inside the body.
  for (const part of [Uint8Array.of(CT.handshake, 3), Uint8Array.of(CT.handshake, 3, 3, 0, 100, 1, 2)]) {
    const p = await pair(undefined, { capacity: 8 * hello.length, server: { provider: nobleProvider } });
    p.s.network.write(new Uint8Array([...handshakeRecords(hello, 1), ...part]));
    p.s.network.shutdownWrite();
    const r = p.server.doHandshake();
    assert.equal(r, -1);
    assert.equal(p.server.getError(r), SslError.SSL);
    assert.equal(p.server.error?.code, "truncated");
    assert.ok(p.s.network.pending() > 0, "the ClientHello was answered");
  }
});

Deno.test("limits: 32 empty records in a row pass, the 33rd is unexpected_message", async () => {
  for (
    const [count, fails] of [[LIMITS.maxEmptyRecords, false], [LIMITS.maxEmptyRecords + 1, true]] as [
      number,
      boolean,
    ][]
  ) {
    const p = await pair();
    const f = beforeServerData(p, (n) => (n === 0 ? new Array<InnerRecord>(count).fill(empty) : []));
    await handshake(p, f);
    await writeAll(p.server, Uint8Array.of(7));
    transfer(p, f);
    const got = await drain(p.client);
    if (!fails) {
      assert.deepEqual(got, Uint8Array.of(7));
      assert.equal(p.client.error, undefined);
    } else {
      assertFailed(p.client, "unexpected_message", "peer_misbehaved.too_many_empty_records");
      assertPeerReceived(p, "client", "unexpected_message");
    }
  }
});

Deno.test("limits: 4 user_canceled alerts in a row pass, the 5th is unexpected_message", async () => {
  for (const [count, fails] of [[4, false], [5, true]] as [number, boolean][]) {
    const p = await pair();
    const f = beforeServerData(p, (n) => (n === 0 ? new Array<InnerRecord>(count).fill(userCanceled) : []));
    await handshake(p, f);
    await writeAll(p.server, Uint8Array.of(7));
    transfer(p, f);
    const got = await drain(p.client);
    if (!fails) {
      assert.deepEqual(got, Uint8Array.of(7));
    } else {
      assertFailed(p.client, "unexpected_message", "peer_misbehaved.too_many_warning_alerts");
      assertPeerReceived(p, "client", "unexpected_message");
    }
  }
});

Deno.test("limits: application data between user_canceled alerts starts the count again", async () => {
  const p = await pair();
  const f = beforeServerData(
    p,
    () => new Array<InnerRecord>(LIMITS.maxWarningAlertsInRow).fill(userCanceled),
  );
  await handshake(p, f);
  for (let i = 0; i < 3; i++) {
    await writeAll(p.server, Uint8Array.of(i));
    transfer(p, f);
    assert.deepEqual(await drain(p.client), Uint8Array.of(i));
  }
  assert.equal(p.client.error, undefined);
});

// ---- ChangeCipherSpec ---------------------------------------------------------------------------------------

Deno.test("limits: 8 ChangeCipherSpecs in a handshake pass, the 9th is unexpected_message", async () => {
  for (
    const [count, fails] of [[LIMITS.maxChangeCipherSpecs, false], [
      LIMITS.maxChangeCipherSpecs + 1,
      true,
    ]] as [number, boolean][]
  ) {
    const p = await pair();
    // The client sends one after its ClientHello; add the rest beside it.
    const f = onRecords(
      "client",
      (r) => r.type === CT.changeCipherSpec ? new Array<typeof r>(count).fill(r) : r,
    );
    if (!fails) {
      await handshake(p, f);
    } else {
      await assert.rejects(handshake(p, f));
      assert.equal(p.server.error?.code, "peer_misbehaved.unexpected_ccs");
      assertPeerReceived(p, "server", "unexpected_message");
    }
  }
});

// ---- KeyUpdate ----------------------------------------------------------------------------------------------

Deno.test("limits: 32 KeyUpdates in one second pass, the 33rd is unexpected_message", async () => {
  for (
    const [count, fails] of [[LIMITS.maxKeyUpdatesPerSecond, false], [
      LIMITS.maxKeyUpdatesPerSecond + 1,
      true,
    ]] as [number, boolean][]
  ) {
    const p = await pair();
    await handshake(p);
    await settle(p);
    for (let i = 0; i < count; i++) assert.equal(p.server.keyUpdate(false), 1);
    await writeAll(p.server, Uint8Array.of(9));
    transfer(p);
    const got = await drain(p.client);
    if (!fails) {
      assert.deepEqual(got, Uint8Array.of(9));
    } else {
      assertFailed(p.client, "unexpected_message", "peer_misbehaved.too_many_key_updates");
      assertPeerReceived(p, "client", "unexpected_message");
    }
  }
});

Deno.test("limits: KeyUpdates are counted per second of the injected clock", async () => {
  const clock = { now: Date.UTC(2026, 0, 1) };
  const p = await pair(clock);
  await handshake(p);
  await settle(p);
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < LIMITS.maxKeyUpdatesPerSecond; i++) p.server.keyUpdate(false);
    await writeAll(p.server, Uint8Array.of(round));
    transfer(p);
    assert.deepEqual(await drain(p.client), Uint8Array.of(round));
    clock.now += 1000;
  }
  assert.equal(p.client.error, undefined);
});

// ---- NewSessionTicket ---------------------------------------------------------------------------------------

Deno.test("limits: 32 NewSessionTickets on a connection pass, the 33rd is unexpected_message", async () => {
  for (
    const [count, fails] of [[LIMITS.maxTicketsPerConnection, false], [
      LIMITS.maxTicketsPerConnection + 1,
      true,
    ]] as [number, boolean][]
  ) {
    const p = await pair(undefined, { server: { tickets: { count: 1 } } });
    const f = onProtectedMessages(
      p.server,
      (m) => (m.type === H.newSessionTicket ? new Array<typeof m>(count).fill(m) : m),
    );
    let tickets = 0;
    on(p.client, "ticket", () => tickets++);
    await handshake(p, f);
    await writeAll(p.server, Uint8Array.of(5));
    transfer(p, f);
    const got = await drain(p.client);
    if (!fails) {
      assert.deepEqual(got, Uint8Array.of(5));
      assert.equal(tickets, count);
    } else {
      assertFailed(p.client, "unexpected_message", "peer_misbehaved.too_many_tickets");
      assert.equal(tickets, LIMITS.maxTicketsPerConnection);
      assertPeerReceived(p, "client", "unexpected_message");
    }
  }
});

// ---- PSK identities -------------------------------------------------------------------------------------------

/** Put `n` unknown identities (and binders) before the client's real one. */
function bogusIdentitiesFirst(n: number) {
  return editPlain("client", H.clientHello, (body) => {
    const ch = decodeClientHello(body);
    const psk = ch.extensions[ch.extensions.length - 1]!;
    const offered = decodeOfferedPsks(psk.data, "pre_shared_key");
    const bogus = Array.from(
      { length: n },
      (_, i) => ({ identity: new Uint8Array(60).fill(i + 1), obfuscatedTicketAge: 0 }),
    );
    const data = encodeOfferedPsks(
      [...bogus, ...offered.identities],
      [...bogus.map(() => new Uint8Array(32)), ...offered.binders],
    );
    const extensions = [...ch.extensions.slice(0, -1), { type: psk.type, data }];
    return encodeClientHello({ ...ch, extensions }).subarray(4);
  });
}

async function resumePair(): Promise<Pair> {
  const cfg = await scenarioConfig("resume");
  const c = createBioPair(), s = createBioPair();
  return { client: createClient(cfg.client, c.engine), server: createServer(cfg.server, s.engine), c, s };
}

Deno.test("limits: the server tries 5 PSK identities, and ignores a 6th (a full handshake, not an error)", async () => {
  const plain = await resumePair();
  await handshake(plain);
  assert.equal(plain.server.handshakeInfo?.resumed, true);
  // The 5th identity is tried: it is the real ticket, and the binder no longer matches the edited ClientHello.
  const fifth = await resumePair();
  await assert.rejects(handshake(fifth, bogusIdentitiesFirst(LIMITS.maxPskIdentitiesTried - 1)));
  assert.equal(fifth.server.error?.code, "peer_misbehaved.bad_psk_binder");
  // The 6th is not looked at: the server answers with a full handshake (no pre_shared_key in its ServerHello).
  // The edited ClientHello still splits the transcripts, so the client fails later, on the server's flight.
  const sixth = await resumePair();
  let serverHello: ServerHello | undefined;
  const seen = onPlainMessages("server", (m) => {
    if (m.type === H.serverHello) serverHello = decodeServerHello(m.body);
    return m;
  });
  await assert.rejects(handshake(sixth, chain(bogusIdentitiesFirst(LIMITS.maxPskIdentitiesTried), seen)));
  assert.ok(serverHello, "the server answered");
  assert.equal(serverHello.extensions.some((e) => e.type === 41), false, "no pre_shared_key: not resumed");
  assert.notEqual(sixth.server.error?.code, "peer_misbehaved.bad_psk_binder");
});
