/**
 * TLS 1.2 in memory: every suite × group, version negotiation between any two ranges, the downgrade sentinel
 * and TLS_FALLBACK_SCSV, resumption by ticket and by session id, the extended master secret, renegotiation
 * refused both ways, mTLS, and bad input (each malformed or out-of-order 1.2 message ends in its alert).
 */
import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
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
  TicketKeys,
  type TlsSession,
} from "../mod.ts";
import {
  drain,
  type Filter,
  handshake,
  handshakeExpectingFailure,
  type Pair,
  seededRandom,
  settled,
  step,
  transfer,
  writeAll,
} from "../testing/pair.ts";
import { generateChain, generateTestCertificate, type TestKeyType } from "../testing/pki.ts";
import { editClientHello, editServerHello, rejects, replace, without } from "../testing/reject.ts";
import { cat, chain, editPlain, joinMessages, onRecords, splitMessages } from "../testing/tamper.ts";
import { ContentType as CT, ExtensionType as E, HandshakeType as H } from "../engine/msgs/enums.ts";
import {
  decodeServerHello,
  decodeServerKeyExchange12,
  encodeEcdheParams,
  encodeHelloRequest,
  frame,
} from "../engine/msgs/handshake.ts";
import { Writer } from "../engine/msgs/codec.ts";
import { DOWNGRADE_TLS12, keyBlock } from "../engine/tls12.ts";
import { TLS12_SUITES, type Tls12Suite } from "../suites/tls12.ts";
import { fromHex, toHex } from "../suites/bytes.ts";

// ---- pairs ----------------------------------------------------------------------------------------

const certs = new Map<
  TestKeyType,
  Promise<{ chain: Uint8Array[]; key: Awaited<ReturnType<typeof loadPrivateKey>> }>
>();

/** One certificate per key type and process (RSA key generation is slow). */
function certFor(type: TestKeyType) {
  let c = certs.get(type);
  if (!c) {
    c = generateTestCertificate(type).then(async (t) => ({
      chain: t.chain,
      key: await loadPrivateKey(t.keyPkcs8),
    }));
    certs.set(type, c);
  }
  return c;
}

interface Opts {
  readonly keyType?: TestKeyType;
  readonly client?: Partial<ClientConfig>;
  readonly server?: Partial<ServerConfig>;
  /** Reuse this server configuration object (tickets and session ids live per configuration). */
  readonly serverConfig?: ServerConfig;
  readonly capacity?: number;
}

async function serverConfig(opts: Opts = {}): Promise<ServerConfig> {
  const cert = await certFor(opts.keyType ?? "ecdsa-p256");
  return { certificates: [{ chain: cert.chain, key: cert.key }], random: seededRandom(2), ...opts.server };
}

/** A TLS 1.2-only client (unless `client` says otherwise) and a default (1.2..1.3) server. */
async function pair12(opts: Opts = {}): Promise<Pair> {
  const c = createBioPair(opts.capacity ? { capacity: opts.capacity } : {});
  const s = createBioPair(opts.capacity ? { capacity: opts.capacity } : {});
  const client = createClient({
    serverName: "localhost",
    dangerouslyDisableCertificateVerification: true,
    maxVersion: "TLSv1.2",
    random: seededRandom(1),
    ...opts.client,
  }, c.engine);
  const server = createServer(opts.serverConfig ?? await serverConfig(opts), s.engine);
  return { client, server, c, s };
}

async function sendBoth(p: Pair, n = 5000): Promise<void> {
  const a = new Uint8Array(n).map((_, i) => i * 7), b = new Uint8Array(n).map((_, i) => i * 13);
  let at = 0;
  for (let i = 0; i < 10_000 && at < n; i++) {
    const w = await step(p.client, () => p.client.write(a.subarray(at)));
    if (w > 0) at += w;
    transfer(p);
  }
  assert.equal(await writeAll(p.server, b), n);
  transfer(p);
  assert.deepEqual(await drain(p.server), a);
  assert.deepEqual(await drain(p.client), b);
}

// ---- every suite × group -------------------------------------------------------------------------------

const GROUPS = ["x25519", "secp256r1", "secp384r1"] as const;

/** Who speaks what: a 1.2-only client with a 1.2–1.3 server, and a 1.2–1.3 client with a 1.2-only server. */
const MIXES = [
  { label: "1.2 client × 1.2-1.3 server", client: { maxVersion: "TLSv1.2" }, server: {} },
  {
    label: "1.2-1.3 client × 1.2 server",
    client: { maxVersion: "TLSv1.3" },
    server: { maxVersion: "TLSv1.2" },
  },
] as const;

for (const suite of TLS12_SUITES) {
  for (const [g, group] of GROUPS.entries()) {
    const mix = MIXES[g % 2]!;
    Deno.test(`tls12: ${suite.name} over ${group}, ${mix.label}: handshake, data both ways, one view`, async () => {
      const p = await pair12({
        keyType: suite.auth === "rsa" ? "rsa-2048" : "ecdsa-p256",
        // The client also lists P-256, the ECDSA certificate's curve (RFC 8422 §5.3); the server's one group
        // decides the key exchange.
        client: {
          ...mix.client,
          cipherSuites: [suite.name, "TLS_AES_128_GCM_SHA256"],
          groups: [...new Set([group, "secp256r1" as const])],
        },
        server: { ...mix.server, groups: [group] },
      });
      await handshake(p);
      for (const e of [p.client, p.server]) {
        const info = e.handshakeInfo!;
        assert.equal(info.version, "TLSv1.2");
        assert.equal(info.cipherSuite, suite.name);
        assert.equal(info.group, group);
        assert.equal(info.resumed, false);
        assert.equal(info.extendedMasterSecret, true);
        assert.equal(
          info.signatureScheme,
          suite.auth === "rsa" ? "rsa_pss_rsae_sha256" : "ecdsa_secp256r1_sha256",
        );
      }
      await sendBoth(p);
    });
  }
}

for (const keyType of ["ecdsa-p384", "ed25519"] as const) {
  Deno.test(`tls12: a ${keyType} certificate signs for the ECDSA suites`, async () => {
    const p = await pair12({ keyType });
    await handshake(p);
    assert.equal(p.client.handshakeInfo?.cipherSuite, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
    assert.equal(
      p.client.handshakeInfo?.signatureScheme,
      keyType === "ed25519" ? "ed25519" : "ecdsa_secp384r1_sha384",
    );
    await sendBoth(p, 100);
  });
}

Deno.test("tls12: PKCS#1 v1.5 signs a ServerKeyExchange when the client offers nothing else for RSA", async () => {
  const p = await pair12({
    keyType: "rsa-2048",
    client: { signatureSchemes: ["rsa_pkcs1_sha384", "ecdsa_secp256r1_sha256"] },
  });
  await handshake(p);
  assert.equal(p.client.handshakeInfo?.signatureScheme, "rsa_pkcs1_sha384");
});

Deno.test("tls12: one byte at a time through 1-byte BIOs, then 1 MiB checked by SHA-256", async () => {
  const p = await pair12({ capacity: 1 });
  await handshake(p);
  const big = new Uint8Array(1 << 20).map((_, i) => (i * 31) ^ (i >> 8));
  let sent = 0;
  const got: Uint8Array[] = [];
  const buf = new Uint8Array(4096);
  for (
    let i = 0;
    i < 50_000_000 && (sent < big.length || got.reduce((n, g) => n + g.length, 0) < big.length);
    i++
  ) {
    if (sent < big.length) {
      const w = await step(p.client, () => p.client.write(big.subarray(sent, sent + 4096)));
      if (w > 0) sent += w;
    }
    transfer(p);
    const r = await step(p.server, () => p.server.read(buf));
    if (r > 0) got.push(buf.slice(0, r));
  }
  assert.equal(toHex(sha256(cat(...got))), toHex(sha256(big)));
});

// ---- versions -----------------------------------------------------------------------------------------------

type Range = readonly ["TLSv1.2" | "TLSv1.3", "TLSv1.2" | "TLSv1.3"];
const RANGES: Record<string, Range> = {
  "1.2": ["TLSv1.2", "TLSv1.2"],
  "1.2-1.3": ["TLSv1.2", "TLSv1.3"],
  "1.3": ["TLSv1.3", "TLSv1.3"],
};

for (const [cName, c] of Object.entries(RANGES)) {
  for (const [sName, s] of Object.entries(RANGES)) {
    const expected = cName === "1.3" && sName === "1.2"
      ? undefined
      : cName === "1.2" && sName === "1.3"
      ? undefined
      : cName === "1.2" || sName === "1.2"
      ? "TLSv1.2"
      : "TLSv1.3";
    Deno.test(`versions: client ${cName} × server ${sName} → ${expected ?? "protocol_version"}`, async () => {
      const p = await pair12({
        client: { minVersion: c[0], maxVersion: c[1] },
        server: { minVersion: s[0], maxVersion: s[1] },
      });
      if (expected) {
        await handshake(p);
        assert.equal(p.client.handshakeInfo?.version, expected);
        assert.equal(p.server.handshakeInfo?.version, expected);
        await sendBoth(p, 10);
      } else {
        await handshakeExpectingFailure(p);
        const failed = cName === "1.3" ? p.client : p.server;
        assert.equal(failed.error?.alert, "protocol_version", failed.error?.message);
      }
    });
  }
}

/** Capture the server's random from its ServerHello. */
function serverRandom(into: { random?: Uint8Array }): Filter {
  return editPlain("server", H.serverHello, (b) => {
    into.random = decodeServerHello(b).random;
    return b;
  });
}

Deno.test("downgrade: a TLS 1.3 server marks a TLS 1.2 answer; a TLS 1.2-only one does not", async () => {
  const seen: { random?: Uint8Array } = {};
  const p = await pair12();
  await handshake(p, serverRandom(seen));
  assert.deepEqual(seen.random!.subarray(24), DOWNGRADE_TLS12);
  const q = await pair12({ server: { maxVersion: "TLSv1.2" } });
  const seen2: { random?: Uint8Array } = {};
  await handshake(q, serverRandom(seen2));
  assert.notDeepEqual(seen2.random!.subarray(24), DOWNGRADE_TLS12);
});

Deno.test("downgrade: supported_versions stripped in flight → the 1.3 client sees the sentinel: illegal_parameter", async () => {
  const p = await pair12({ client: { maxVersion: "TLSv1.3" } });
  const strip = editClientHello((ch) => ({
    ...ch,
    extensions: ch.extensions.filter((e) => e.type !== E.supportedVersions),
  }));
  await rejects(p, "client", "illegal_parameter", "peer_misbehaved.downgrade", strip);
});

Deno.test("fallback: TLS_FALLBACK_SCSV at 1.2 to a server that speaks 1.3 is inappropriate_fallback", async () => {
  const p = await pair12({ client: { fallbackScsv: true } });
  await rejects(p, "server", "inappropriate_fallback", "peer_incompatible.inappropriate_fallback");
  const q = await pair12({ client: { fallbackScsv: true }, server: { maxVersion: "TLSv1.2" } });
  await handshake(q);
  assert.equal(q.server.handshakeInfo?.version, "TLSv1.2");
});

Deno.test("versions: a ClientHello for TLS 1.1 is protocol_version", async () => {
  const p = await pair12();
  // TLS_RSA_WITH_AES_128_CBC_SHA exists in TLS 1.1: the client could speak 1.1, which we do not.
  const f = editClientHello((ch) => ({
    ...ch,
    legacyVersion: 0x0302,
    cipherSuites: [0x002f, ...ch.cipherSuites],
  }));
  await rejects(p, "server", "protocol_version", "peer_incompatible.no_common_version", f);
});

Deno.test("versions: a TLS 1.1 ClientHello with only suites that need TLS 1.2 is handshake_failure (as OpenSSL)", async () => {
  const p = await pair12();
  const f = editClientHello((ch) => ({ ...ch, legacyVersion: 0x0302 }));
  await rejects(p, "server", "handshake_failure", "peer_incompatible.no_common_cipher_suite", f);
});

Deno.test("versions: TLS_FALLBACK_SCSV in a TLS 1.1 ClientHello is inappropriate_fallback (RFC 7507 §3)", async () => {
  const p = await pair12();
  const f = editClientHello((ch) => ({
    ...ch,
    legacyVersion: 0x0302,
    cipherSuites: [0x002f, ...ch.cipherSuites, 0x5600],
  }));
  await rejects(p, "server", "inappropriate_fallback", "peer_incompatible.inappropriate_fallback", f);
});

Deno.test("versions: legacy_version SSL 3.0 or older is protocol_version, even with supported_versions (RFC 8446 §D.5)", async () => {
  for (const legacyVersion of [0x0300, 0x0200, 0x0000]) {
    const p = await pair12({ client: { maxVersion: "TLSv1.3" } });
    const f = editClientHello((ch) => ({ ...ch, legacyVersion }));
    await rejects(p, "server", "protocol_version", "peer_incompatible.no_common_version", f);
  }
});

Deno.test("versions: a ServerHello for TLS 1.1 is protocol_version", async () => {
  const p = await pair12();
  const f = editServerHello((sh) => ({ ...sh, legacyVersion: 0x0302 }));
  await rejects(p, "client", "protocol_version", "peer_incompatible.no_common_version", f);
});

Deno.test("versions: configuration refuses unknown versions, inverted ranges and empty suites", () => {
  const bio = createBioPair().engine;
  const base = { dangerouslyDisableCertificateVerification: true } as const;
  assert.throws(() => createClient({ ...base, minVersion: "TLSv1.1" as "TLSv1.2" }, bio), RangeError);
  assert.throws(
    () => createClient({ ...base, minVersion: "TLSv1.3", maxVersion: "TLSv1.2" }, bio),
    RangeError,
  );
  assert.throws(
    () => createClient({ ...base, maxVersion: "TLSv1.2", cipherSuites: ["TLS_AES_128_GCM_SHA256"] }, bio),
    RangeError,
  );
});

// ---- resumption ---------------------------------------------------------------------------------------------

/** A full handshake that yields a session, then a second connection offering it. */
async function resumeWith(
  opts: Opts,
  second: Opts = {},
): Promise<{ first: Pair; again: Pair; session: TlsSession }> {
  const config = opts.serverConfig ?? await serverConfig(opts);
  const first = await pair12({ ...opts, serverConfig: config });
  const sessions: TlsSession[] = [];
  on(first.client, "session", (s) => sessions.push(s));
  await handshake(first);
  assert.equal(sessions.length, 1, "one session after a TLS 1.2 handshake");
  const session = sessions[0]!;
  const again = await pair12({
    ...opts,
    ...second,
    client: { ...opts.client, random: seededRandom(3), session, ...second.client },
    serverConfig: second.serverConfig ?? config,
  });
  await handshake(again);
  return { first, again, session };
}

/** The client's TLS 1.2 sessions, from its `session` events, as `p`'s handshake runs. */
function sessionsOf(p: Pair): TlsSession[] {
  const out: TlsSession[] = [];
  on(p.client, "session", (s) => out.push(s));
  return out;
}

Deno.test("resumption: by ticket (RFC 5077); the ticket is kept while its key is current, as OpenSSL does", async () => {
  const store = new TicketKeys(seededRandom(9));
  const config = await serverConfig({ server: { tickets: { store } } });
  const { again, session } = await resumeWith({ serverConfig: config }, {
    client: { random: seededRandom(3) },
  });
  assert.equal(session.version, "TLSv1.2");
  assert.ok(session.data.ticket.length > 0);
  for (const e of [again.client, again.server]) {
    assert.equal(e.handshakeInfo?.resumed, true);
    assert.equal(e.handshakeInfo?.version, "TLSv1.2");
    assert.equal(e.handshakeInfo?.signatureScheme, undefined);
  }
  await sendBoth(again, 100);
  // No new ticket, so no new session: the offered one still resumes.
  const third = await pair12({ serverConfig: config, client: { session, random: seededRandom(4) } });
  const renewed = sessionsOf(third);
  await handshake(third);
  assert.equal(third.server.handshakeInfo?.resumed, true);
  assert.equal(renewed.length, 0);
  // RFC 5077 §3.4: with an empty session id too. The server answers with an empty id and goes straight to
  // ChangeCipherSpec; our client, which never sends an empty id with a ticket, takes that for a full
  // handshake and refuses the early ChangeCipherSpec, which shows that the server resumed.
  const empty = await pair12({ serverConfig: config, client: { session, random: seededRandom(7) } });
  let echoed: Uint8Array | undefined;
  await handshakeExpectingFailure(
    empty,
    chain(
      editClientHello((ch) => ({ ...ch, sessionId: new Uint8Array(0) })),
      editPlain("server", H.serverHello, (b) => {
        echoed = decodeServerHello(b).sessionId.slice();
        return b;
      }),
    ),
  );
  assert.deepEqual(echoed, new Uint8Array(0));
  assert.equal(empty.client.error?.code, "peer_misbehaved.unexpected_ccs", empty.client.error?.message);
  // After a key rotation the ticket is still accepted, and replaced by one under the current key.
  store.rotate();
  const fourth = await pair12({ serverConfig: config, client: { session, random: seededRandom(5) } });
  const fresh = sessionsOf(fourth);
  await handshake(fourth);
  assert.equal(fourth.client.handshakeInfo?.resumed, true);
  assert.equal(fresh.length, 1);
  assert.notDeepEqual(fresh[0]!.data.ticket, session.data.ticket);
});

Deno.test("resumption: a single-use SessionCache ticket is replaced on each TLS 1.2 resumption", async () => {
  const config = await serverConfig({ server: { tickets: { store: new SessionCache() } } });
  const { again, session } = await resumeWith({ serverConfig: config });
  assert.equal(again.client.handshakeInfo?.resumed, true);
  const next = await pair12({ serverConfig: config, client: { session, random: seededRandom(6) } });
  await handshake(next);
  assert.equal(next.client.handshakeInfo?.resumed, false, "the ticket was used up");
});

Deno.test("resumption: by session id when the client asks for no ticket", async () => {
  const { again, session } = await resumeWith({ client: { offerTickets: false } });
  assert.equal(session.data.ticket.length, 0);
  assert.equal(session.data.sessionId.length, 32);
  assert.equal(again.client.handshakeInfo?.resumed, true);
  assert.equal(again.server.handshakeInfo?.resumed, true);
  assert.deepEqual(again.client.peerCertificates, (await certFor("ecdsa-p256")).chain);
});

Deno.test("resumption: a session survives toBytes/fromBytes", async () => {
  const { session } = await resumeWith({});
  const { TlsSession } = await import("../mod.ts");
  const back = TlsSession.fromBytes(session.toBytes());
  assert.equal(back.version, "TLSv1.2");
  assert.deepEqual(back.data.ticket, session.data.ticket);
  assert.deepEqual(back.data.psk, session.data.psk);
});

Deno.test("resumption: a ticket sealed under a retired key, or an unknown session id, is a full handshake", async () => {
  const store = new TicketKeys(seededRandom(9));
  const config = await serverConfig({ server: { tickets: { store } } });
  const first = await pair12({ serverConfig: config });
  const sessions: TlsSession[] = [];
  on(first.client, "session", (s) => sessions.push(s));
  await handshake(first);
  store.rotate();
  store.rotate();
  const again = await pair12({
    serverConfig: config,
    client: { session: sessions[0]!, random: seededRandom(4) },
  });
  await handshake(again);
  assert.equal(again.client.handshakeInfo?.resumed, false);
  const cache = new SessionCache();
  const byId = await resumeWith({ client: { offerTickets: false }, server: { sessionIdCache: cache } });
  assert.equal(byId.again.client.handshakeInfo?.resumed, true);
  cache.remove(byId.session.data.sessionId);
  const gone = await pair12({
    server: { sessionIdCache: cache, random: seededRandom(7) },
    client: { session: byId.session, offerTickets: false, random: seededRandom(6) },
  });
  await handshake(gone);
  assert.equal(gone.client.handshakeInfo?.resumed, false);
});

Deno.test("resumption: a TLS 1.2 session is not offered for another server name, nor resumed at TLS 1.3", async () => {
  const other = await resumeWith({}, { client: { serverName: "other.test" } });
  assert.equal(other.again.client.handshakeInfo?.resumed, false);
  const up = await resumeWith({}, { client: { maxVersion: "TLSv1.3" } });
  assert.equal(up.again.client.handshakeInfo?.version, "TLSv1.3");
  assert.equal(up.again.client.handshakeInfo?.resumed, false);
});

Deno.test("resumption: tickets: false gives no session id and no ticket: no session", async () => {
  const p = await pair12({ server: { tickets: false } });
  const sessions: TlsSession[] = [];
  on(p.client, "session", (s) => sessions.push(s));
  await handshake(p);
  assert.equal(sessions.length, 0);
});

Deno.test("resumption: the server echoing a session id it was never offered is illegal_parameter", async () => {
  const p = await pair12({ client: { maxVersion: "TLSv1.3" }, server: { maxVersion: "TLSv1.2" } });
  let sent: Uint8Array | undefined;
  const f = chain(
    editPlain("client", H.clientHello, (b) => {
      sent = b.subarray(35, 35 + b[34]!);
      return b;
    }),
    editServerHello((sh) => ({ ...sh, sessionId: sent! })),
  );
  await rejects(p, "client", "illegal_parameter", "peer_misbehaved.session_id_echo", f);
});

// ---- extended master secret ---------------------------------------------------------------------------------

Deno.test("ems: not required by default: a peer without it completes, with no EMS and no client session", async () => {
  const p = await pair12({ client: { helloExtensions: without(E.extendedMasterSecret) } });
  const sessions: TlsSession[] = [];
  on(p.client, "session", (s) => sessions.push(s));
  await handshake(p);
  assert.equal(p.client.handshakeInfo?.extendedMasterSecret, false);
  assert.equal(p.server.handshakeInfo?.extendedMasterSecret, false);
  // RFC 7627 §5.3: a client should not offer to resume a session without it, so it keeps none.
  assert.equal(sessions.length, 0);
  await sendBoth(p, 10);
});

Deno.test("ems: requireExtendedMasterSecret: a ClientHello without it is handshake_failure", async () => {
  const p = await pair12({
    client: { helloExtensions: without(E.extendedMasterSecret) },
    server: { requireExtendedMasterSecret: true },
  });
  await rejects(p, "server", "handshake_failure", "peer_incompatible.extended_master_secret_required");
});

Deno.test("ems: requireExtendedMasterSecret: a ServerHello without it is handshake_failure", async () => {
  const p = await pair12({ client: { requireExtendedMasterSecret: true } });
  const f = editServerHello((sh) => ({
    ...sh,
    extensions: sh.extensions.filter((e) => e.type !== E.extendedMasterSecret),
  }));
  await rejects(p, "client", "handshake_failure", "peer_incompatible.extended_master_secret_required", f);
});

/** A first TLS 1.2 handshake (EMS as `firstEms` says) whose server keeps its session under the id it sends. */
async function firstSessionId(config: ServerConfig, firstEms: boolean): Promise<Uint8Array> {
  const first = await pair12({
    serverConfig: config,
    client: {
      offerTickets: false,
      ...(firstEms ? {} : { helloExtensions: without(E.extendedMasterSecret) }),
    },
  });
  let id: Uint8Array | undefined;
  await handshake(
    first,
    editPlain("server", H.serverHello, (b) => {
      id = decodeServerHello(b).sessionId.slice();
      return b;
    }),
  );
  assert.equal(first.server.handshakeInfo?.extendedMasterSecret, firstEms);
  assert.equal(id?.length, 32);
  return id!;
}

/** A second ClientHello offering `id`, with or without EMS; the server's answer, read off its ServerHello. */
function offerId(id: Uint8Array, ems: boolean): Filter {
  return editClientHello((ch) => ({
    ...ch,
    sessionId: id,
    extensions: ems ? ch.extensions : ch.extensions.filter((e) => e.type !== E.extendedMasterSecret),
  }));
}

Deno.test("ems: RFC 7627 §5.3: a session with EMS offered by a hello without it aborts: handshake_failure", async () => {
  const config = await serverConfig({ server: { sessionIdCache: new SessionCache() } });
  const id = await firstSessionId(config, true);
  const p = await pair12({ serverConfig: config, client: { offerTickets: false, random: seededRandom(8) } });
  await rejects(p, "server", "handshake_failure", "peer_misbehaved.resumed_ems_changed", offerId(id, false));
});

Deno.test("resumption: a hello that resumes a session without offering its suite is illegal_parameter (RFC 5246 §7.4.1.2)", async () => {
  const config = await serverConfig({ server: { sessionIdCache: new SessionCache() } });
  const id = await firstSessionId(config, true);
  const p = await pair12({ serverConfig: config, client: { offerTickets: false, random: seededRandom(8) } });
  // The first handshake used TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (0xc02b), the client's first choice.
  const f = editClientHello((ch) => ({
    ...ch,
    sessionId: id,
    cipherSuites: ch.cipherSuites.filter((c) => c !== 0xc02b),
  }));
  await rejects(p, "server", "illegal_parameter", "peer_misbehaved.resumed_suite_missing", f);
  // An unknown session id with the same suites is just a full handshake.
  const q = await pair12({ serverConfig: config, client: { offerTickets: false, random: seededRandom(9) } });
  const g = editClientHello((ch) => ({ ...ch, sessionId: new Uint8Array(32).fill(5) }));
  await handshakeExpectingFailure(q, g); // the edited hello breaks the transcript: Finished fails
  assert.equal(q.server.error?.code, "decrypt", q.server.error?.message);
});

Deno.test("ems: RFC 7627 §5.3: a session without EMS offered with it is a full handshake; without it, it resumes", async () => {
  const config = await serverConfig({ server: { sessionIdCache: new SessionCache() } });
  const id = await firstSessionId(config, false);
  // With EMS: not resumed: the server answers with a new session id (and EMS). The edited ClientHello breaks
  // the client's transcript, so the handshake itself fails later, at Finished.
  const full = await pair12({
    serverConfig: config,
    client: { offerTickets: false, random: seededRandom(8) },
  });
  let answer: Uint8Array | undefined;
  const capture = editPlain("server", H.serverHello, (b) => {
    answer = decodeServerHello(b).sessionId.slice();
    return b;
  });
  await handshakeExpectingFailure(full, chain(offerId(id, true), capture));
  assert.equal(answer?.length, 32);
  assert.notDeepEqual(answer, id);
  assert.equal(full.server.error?.code, "decrypt");
  // Without EMS on both sides: legacy resumption (as OpenSSL allows): the server echoes the id and goes
  // straight to ChangeCipherSpec. This client never offered the id, so it takes the reply for a full
  // handshake and refuses the early ChangeCipherSpec.
  const legacy = await pair12({
    serverConfig: config,
    client: { offerTickets: false, random: seededRandom(9) },
  });
  await handshakeExpectingFailure(legacy, chain(offerId(id, false), capture));
  assert.deepEqual(answer, id);
  assert.equal(legacy.client.error?.code, "peer_misbehaved.unexpected_ccs", legacy.client.error?.message);
});

// ---- renegotiation ------------------------------------------------------------------------------------------

/** The connection's 1.2 record keys, from the key log and the randoms, to play the peer's part. */
async function keysOf(p: Pair, suite: Tls12Suite, filter: { random?: Uint8Array }) {
  const lines: string[] = [];
  on(p.client, "keylog", (l) => lines.push(l));
  await handshake(p, serverRandom(filter));
  const [label, cr, master] = lines[0]!.split(" ");
  assert.equal(label, "CLIENT_RANDOM");
  return keyBlock(suite, fromHex(master!), fromHex(cr!), filter.random!, nobleProvider);
}

Deno.test("renegotiation: the server answers a ClientHello with no_renegotiation, data goes on, a second is fatal", async () => {
  const p = await pair12({ client: { cipherSuites: ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"] } });
  const keys = await keysOf(p, TLS12_SUITES[0]!, {});
  const warnings: string[] = [];
  on(p.client, "alert", (a) => a.direction === "received" && warnings.push(`${a.level} ${a.name}`));
  keys.client.seq = 1; // the client's Finished was record 0
  const hello = frame(H.clientHello, new Uint8Array(40));
  p.s.network.write(keys.client.seal(CT.handshake, hello));
  p.s.network.write(keys.client.seal(CT.applicationData, new TextEncoder().encode("still here")));
  assert.equal(new TextDecoder().decode(await drain(p.server)), "still here");
  transfer(p);
  assert.equal(p.client.read(new Uint8Array(8)), -1);
  assert.equal(p.client.getError(-1), SslError.WANT_READ);
  assert.deepEqual(warnings, ["warning no_renegotiation"]);
  p.s.network.write(keys.client.seal(CT.handshake, hello));
  assert.equal(p.server.read(new Uint8Array(8)), -1);
  assert.equal(p.server.error?.code, "peer_misbehaved.renegotiation_insisted");
  assert.equal(p.server.error?.alert, "unexpected_message");
});

Deno.test("renegotiation: the client answers a HelloRequest with no_renegotiation; a second is fatal", async () => {
  const p = await pair12({ client: { cipherSuites: ["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"] } });
  const keys = await keysOf(p, TLS12_SUITES[4]!, {});
  const warnings: string[] = [];
  on(p.server, "alert", (a) => a.direction === "received" && warnings.push(`${a.level} ${a.name}`));
  keys.server.seq = 1; // the server's Finished was record 0
  p.c.network.write(keys.server.seal(CT.handshake, encodeHelloRequest()));
  assert.equal(p.client.read(new Uint8Array(8)), -1);
  assert.equal(p.client.getError(-1), SslError.WANT_READ);
  transfer(p);
  assert.equal(p.server.read(new Uint8Array(8)), -1);
  assert.deepEqual(warnings, ["warning no_renegotiation"]);
  p.c.network.write(keys.server.seal(CT.handshake, encodeHelloRequest()));
  assert.equal(p.client.read(new Uint8Array(8)), -1);
  assert.equal(p.client.error?.code, "peer_misbehaved.renegotiation_insisted");
});

Deno.test("tls12: keyUpdate() is refused locally; the connection goes on", async () => {
  const p = await pair12();
  await handshake(p);
  assert.equal(p.client.keyUpdate(), -1);
  assert.equal(p.client.error?.code, "local.key_update_tls12");
  await sendBoth(p, 10);
});

Deno.test("tls12: close_notify is ZERO_RETURN; a transport that just ends is truncation (SSL)", async () => {
  const p = await pair12();
  await handshake(p);
  assert.equal(p.client.shutdown(), 0);
  transfer(p);
  assert.equal(p.server.read(new Uint8Array(8)), 0);
  assert.equal(p.server.getError(0), SslError.ZERO_RETURN);
  const q = await pair12();
  await handshake(q);
  q.s.network.shutdownWrite();
  q.c.network.shutdownWrite();
  const r = q.client.read(new Uint8Array(8));
  assert.equal(r, 0);
  assert.equal(q.client.getError(r), SslError.SSL);
  assert.equal(q.client.error?.code, "truncated");
});

Deno.test("keylog: one CLIENT_RANDOM line, the same on both sides", async () => {
  const p = await pair12();
  const lines: string[][] = [[], []];
  on(p.client, "keylog", (l) => lines[0]!.push(l));
  on(p.server, "keylog", (l) => lines[1]!.push(l));
  await handshake(p);
  assert.equal(lines[0]!.length, 1);
  assert.deepEqual(lines[0], lines[1]);
  assert.match(lines[0]![0]!, /^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$/);
});

// ---- mTLS ---------------------------------------------------------------------------------------------------

for (const keyType of ["ecdsa-p256", "rsa-2048", "ed25519"] as const) {
  Deno.test(`mTLS 1.2: a ${keyType} client certificate, verified against the client CA`, async () => {
    const client = await generateChain({ keyType, dnsNames: ["client.test"], eku: ["clientAuth"] });
    const p = await pair12({
      client: { clientCertificate: { chain: client.chainPem, key: await loadPrivateKey(client.keyPem) } },
      server: { clientAuth: { required: true, trustAnchors: [client.rootPem] } },
    });
    await handshake(p);
    assert.deepEqual(p.server.peerCertificates, client.chain);
    assert.deepEqual(p.server.handshakeInfo?.peerCertificates, client.chain);
    await sendBoth(p, 10);
  });
}

Deno.test("mTLS 1.2: no client certificate when one is required is handshake_failure", async () => {
  const p = await pair12({ server: { clientAuth: { required: true, verifyPeer: () => true } } });
  await rejects(p, "server", "handshake_failure", "certificate.required");
});

Deno.test("mTLS 1.2: a CertificateVerify over other bytes is decrypt_error", async () => {
  const client = await generateChain({ dnsNames: ["client.test"], eku: ["clientAuth"] });
  const key = await loadPrivateKey(client.keyPem);
  const { customSigningKey } = await import("../mod.ts");
  const liar = customSigningKey(key.publicKey, key.schemes, (s, m) => key.sign(s, cat(m, Uint8Array.of(0))));
  const p = await pair12({
    client: { clientCertificate: { chain: client.chainPem, key: liar } },
    server: { clientAuth: { required: true, trustAnchors: [client.rootPem] } },
  });
  await rejects(p, "server", "decrypt_error", "certificate.bad_signature");
});

// ---- bad input ----------------------------------------------------------------------------------------------

/** Rewrite one message in the server's first flight. */
function editSke(fn: (body: Uint8Array) => Uint8Array): Filter {
  return editPlain("server", H.serverKeyExchange, fn);
}

Deno.test("bad input: a ServerKeyExchange signature over other bytes is decrypt_error", async () => {
  const p = await pair12();
  const f = editSke((b) => {
    const out = b.slice();
    out[10]! ^= 1; // inside the point: the signature no longer covers these params
    return out;
  });
  await rejects(p, "client", "decrypt_error", "certificate.bad_signature", f);
});

Deno.test("bad input: a ServerKeyExchange for a group not offered is illegal_parameter", async () => {
  const p = await pair12({ client: { groups: ["x25519", "secp256r1"] } });
  const f = editSke((b) => {
    const ske = decodeServerKeyExchange12(b);
    const params = encodeEcdheParams(0x0018, ske.publicKey);
    return new Writer().bytes(params).u16(ske.scheme).vec(2, ske.signature).finish();
  });
  await rejects(p, "client", "illegal_parameter", "peer_misbehaved.unoffered_group", f);
});

Deno.test("bad input: a ServerKeyExchange with explicit curve parameters is illegal_parameter", async () => {
  const p = await pair12();
  const f = editSke((b) => Uint8Array.of(1, ...b.subarray(1)));
  await rejects(p, "client", "illegal_parameter", "peer_misbehaved.explicit_curve", f);
});

Deno.test("bad input: a truncated ServerKeyExchange is decode_error", async () => {
  const p = await pair12();
  await rejects(
    p,
    "client",
    "decode_error",
    "invalid_message.too_short",
    editSke((b) => b.subarray(0, b.length - 3)),
  );
});

Deno.test("bad input: a ClientKeyExchange with a point off the curve is illegal_parameter", async () => {
  const p = await pair12({ client: { groups: ["secp256r1"] } });
  const f = editPlain("client", H.clientKeyExchange, (b) => {
    const out = b.slice();
    out[out.length - 1]! ^= 1;
    return out;
  });
  await rejects(p, "server", "illegal_parameter", "peer_misbehaved.bad_key_share", f);
});

Deno.test("bad input: an empty ClientKeyExchange is decode_error", async () => {
  const p = await pair12();
  await rejects(
    p,
    "server",
    "decode_error",
    "invalid_message.too_short",
    editPlain("client", H.clientKeyExchange, () => new Uint8Array(0)),
  );
});

/** Put a ChangeCipherSpec record before the first message of `type` in `from`'s plaintext records. */
function ccsBefore(from: "client" | "server", type: number): Filter {
  return onRecords(from, (rec) => {
    if (rec.type !== CT.handshake) return rec;
    let msgs;
    try {
      msgs = splitMessages(rec.body);
    } catch {
      return rec; // an encrypted Finished
    }
    const at = msgs.findIndex((m) => m.type === type);
    if (at === -1) return rec;
    const out = [];
    if (at > 0) out.push({ ...rec, body: joinMessages(msgs.slice(0, at)) });
    out.push({ type: CT.changeCipherSpec, version: 0x0303, body: Uint8Array.of(1) });
    out.push({ ...rec, body: joinMessages(msgs.slice(at)) });
    return out;
  });
}

Deno.test("bad input: a ChangeCipherSpec before ServerHelloDone is unexpected_message", async () => {
  const p = await pair12();
  await rejects(
    p,
    "client",
    "unexpected_message",
    "peer_misbehaved.unexpected_ccs",
    ccsBefore("server", H.serverHelloDone),
  );
});

Deno.test("bad input: a ChangeCipherSpec before ClientKeyExchange is unexpected_message", async () => {
  const p = await pair12();
  await rejects(
    p,
    "server",
    "unexpected_message",
    "peer_misbehaved.unexpected_ccs",
    ccsBefore("client", H.clientKeyExchange),
  );
});

Deno.test("bad input: Finished without the ChangeCipherSpec before it is unexpected_message", async () => {
  const p = await pair12();
  const dropCcs = onRecords("client", (rec) => (rec.type === CT.changeCipherSpec ? undefined : rec));
  await rejects(p, "server", "unexpected_message", "peer_misbehaved.unexpected_message", dropCcs);
});

Deno.test("bad input: a ChangeCipherSpec body other than 0x01 is unexpected_message (as OpenSSL, and TLS 1.3)", async () => {
  for (const body of [Uint8Array.of(2), Uint8Array.of(1, 1), new Uint8Array(0)]) {
    const p = await pair12();
    const f = onRecords("client", (rec) => (rec.type === CT.changeCipherSpec ? { ...rec, body } : rec));
    await rejects(p, "server", "unexpected_message", "peer_misbehaved.bad_ccs", f);
  }
});

Deno.test("security: TLS 1.2, a plaintext close_notify after the peer's ChangeCipherSpec is refused", async () => {
  // Issue #15, finding 3: after ChangeCipherSpec the reading direction is protected; the two bytes do not open.
  const p = await pair12();
  const closeNotify = { type: CT.alert, version: 0x0303, body: Uint8Array.of(1, 0) };
  const f = onRecords("server", (rec) => (rec.type === CT.changeCipherSpec ? [rec, closeNotify] : rec));
  await rejects(p, "client", "bad_record_mac", "decrypt", f);
});

Deno.test("security: TLS 1.2, a ChangeCipherSpec inside a fragmented handshake message is unexpected_message", async () => {
  // Issue #15, finding 8: the client's ClientKeyExchange cut in two around a ChangeCipherSpec.
  const p = await pair12();
  const ccs = { type: CT.changeCipherSpec, version: 0x0303, body: Uint8Array.of(1) };
  const f = onRecords("client", (rec) => {
    if (rec.type !== CT.handshake || rec.body[0] !== H.clientKeyExchange) return rec;
    return [{ ...rec, body: rec.body.subarray(0, 2) }, ccs, { ...rec, body: rec.body.subarray(2) }];
  });
  await rejects(p, "server", "unexpected_message", "peer_misbehaved.unexpected_ccs", f);
});

Deno.test("security: TLS 1.2, a ChangeCipherSpec after a partial handshake message is unexpected_message", async () => {
  // The client waits for the server's ChangeCipherSpec; four bytes of a message come first.
  const p = await pair12({ server: { tickets: false } });
  const partial = { type: CT.handshake, version: 0x0303, body: Uint8Array.of(H.finished, 0, 0, 12) };
  const f = onRecords("server", (rec) => (rec.type === CT.changeCipherSpec ? [partial, rec] : rec));
  await rejects(p, "client", "unexpected_message", "peer_misbehaved.data_across_key_change", f);
});

Deno.test("bad input: a ClientHello changed in flight gives the server other keys (EMS): bad_record_mac", async () => {
  const p = await pair12();
  // An unknown extension is ignored by the server, but the client's session hash lacks it.
  const f = editClientHello((ch) => ({
    ...ch,
    extensions: [...ch.extensions, { type: 0x7777, data: new Uint8Array(1) }],
  }));
  await rejects(p, "server", "bad_record_mac", "decrypt", f);
});

Deno.test("bad input: without EMS, a ClientHello changed in flight fails the client's Finished: decrypt_error", async () => {
  const p = await pair12({
    client: { requireExtendedMasterSecret: false, helloExtensions: without(E.extendedMasterSecret) },
    server: { requireExtendedMasterSecret: false },
  });
  const f = editClientHello((ch) => ({
    ...ch,
    extensions: [...ch.extensions, { type: 0x7777, data: new Uint8Array(1) }],
  }));
  await rejects(p, "server", "decrypt_error", "peer_misbehaved.bad_finished", f);
});

Deno.test("bad input: a NewSessionTicket changed in flight fails the server's Finished (resumed): decrypt_error", async () => {
  // Single-use tickets are replaced on resumption, so the resumed handshake carries a NewSessionTicket.
  const config = await serverConfig({ server: { tickets: { store: new SessionCache() } } });
  const first = await pair12({ serverConfig: config });
  const sessions: TlsSession[] = [];
  on(first.client, "session", (s) => sessions.push(s));
  await handshake(first);
  const again = await pair12({
    serverConfig: config,
    client: { session: sessions[0]!, random: seededRandom(5) },
  });
  // The NewSessionTicket is plaintext and in the transcript: change its lifetime, and the Finished is wrong.
  const f = editPlain("server", H.newSessionTicket, (b) => Uint8Array.of(b[0]! ^ 1, ...b.subarray(1)));
  await rejects(again, "client", "decrypt_error", "peer_misbehaved.bad_finished", f);
});

Deno.test("bad input: a non-empty renegotiation_info in an initial ClientHello is handshake_failure", async () => {
  const p = await pair12({ client: { helloExtensions: replace(E.renegotiationInfo, Uint8Array.of(1, 0)) } });
  await rejects(p, "server", "handshake_failure", "peer_misbehaved.renegotiation_info");
});

Deno.test("bad input: ec_point_formats without uncompressed is illegal_parameter", async () => {
  const p = await pair12({ client: { helloExtensions: replace(E.ecPointFormats, Uint8Array.of(1, 1)) } });
  await rejects(p, "server", "illegal_parameter", "peer_misbehaved.point_formats");
});

Deno.test("bad input: a TLS 1.2 ServerHello with key_share is illegal_parameter", async () => {
  const p = await pair12({ client: { maxVersion: "TLSv1.3" }, server: { maxVersion: "TLSv1.2" } });
  const f = editServerHello((sh) => ({
    ...sh,
    extensions: [...sh.extensions, { type: E.keyShare, data: Uint8Array.of(0, 0x1d, 0, 0) }],
  }));
  await rejects(p, "client", "illegal_parameter", "peer_misbehaved.extension_not_allowed", f);
});

Deno.test("bad input: an ECDHE_RSA suite with an ECDSA certificate is unsupported_certificate", async () => {
  const p = await pair12();
  const f = editServerHello((sh) => ({ ...sh, cipherSuite: 0xc02f }));
  await rejects(p, "client", "unsupported_certificate", "peer_misbehaved.certificate_key_for_suite", f);
});

Deno.test("bad input: an empty server Certificate is decode_error", async () => {
  const p = await pair12();
  const f = editPlain("server", H.certificate, () => Uint8Array.of(0, 0, 0));
  await rejects(p, "client", "decode_error", "peer_misbehaved.empty_certificate", f);
});

Deno.test("bad input: a flipped bit in protected application data is bad_record_mac", async () => {
  const p = await pair12();
  await handshake(p);
  await writeAll(p.client, Uint8Array.of(1, 2, 3));
  const flip = onRecords("client", (rec) => {
    if (rec.type !== CT.applicationData) return rec;
    const body = rec.body.slice();
    body[body.length - 1]! ^= 1;
    return { ...rec, body };
  });
  transfer(p, flip);
  assert.equal(p.server.read(new Uint8Array(8)), -1);
  assert.equal(p.server.error?.alert, "bad_record_mac");
  transfer(p);
  p.client.read(new Uint8Array(8));
  assert.equal(p.client.error?.code, "alert_received.bad_record_mac");
});

Deno.test("bad input: a protected record over 2^14 bytes of plaintext is record_overflow", async () => {
  const p = await pair12({ client: { cipherSuites: ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"] } });
  const keys = await keysOf(p, TLS12_SUITES[0]!, {});
  keys.client.seq = 1;
  // Seal 2^14 + 1 bytes directly: the sender's own engine would never.
  const big = keys.client.seal(CT.applicationData, new Uint8Array(16385));
  p.s.network.write(big);
  assert.equal(p.server.read(new Uint8Array(8)), -1);
  assert.equal(p.server.error?.alert, "record_overflow");
});

Deno.test("bad input: a TLS 1.2 ServerHello after 0-RTT data was sent is illegal_parameter (RFC 8446 §D.3)", async () => {
  const cert = await certFor("ecdsa-p256");
  const config13: ServerConfig = {
    certificates: [{ chain: cert.chain, key: cert.key }],
    earlyData: { maxSize: 1024 },
  };
  const first = await pair12({ serverConfig: config13, client: { maxVersion: "TLSv1.3" } });
  const sessions: TlsSession[] = [];
  on(first.client, "session", (s) => sessions.push(s));
  await handshake(first);
  transfer(first);
  first.client.read(new Uint8Array(8));
  assert.ok(sessions.length > 0);
  const p = await pair12({
    client: { maxVersion: "TLSv1.3", session: sessions[0]!, earlyData: true },
    server: { maxVersion: "TLSv1.2" },
  });
  assert.ok(await settled(p.client, () => p.client.writeEarlyData(Uint8Array.of(1, 2, 3))) > 0);
  // The 1.2 server cannot read the early record; the client is the one to fail, at the ServerHello.
  // The middlebox-compat CCS and the early record, which a 1.2 server could not take, are dropped.
  const dropEarly = onRecords(
    "client",
    (rec) => (rec.type === CT.applicationData || rec.type === CT.changeCipherSpec ? undefined : rec),
  );
  // Its alert goes under the early key, which the 1.2 server cannot read: only the client's side is asserted.
  await handshakeExpectingFailure(p, dropEarly);
  assert.equal(p.client.error?.code, "peer_misbehaved.tls12_after_early_data");
  assert.equal(p.client.error?.alert, "illegal_parameter");
});

Deno.test("record_size_limit in TLS 1.2: each side's records stay within the other's plaintext limit", async () => {
  const p = await pair12({ client: { recordSizeLimit: 64 }, server: { recordSizeLimit: 100 } });
  await handshake(p);
  const sizes = { client: [] as number[], server: [] as number[] };
  const watch = (who: "client" | "server") =>
    onRecords(who, (rec) => {
      if (rec.type === CT.applicationData) sizes[who].push(rec.body.length - 8 - 16); // explicit nonce, tag
      return rec;
    });
  const data = new Uint8Array(1000).fill(7);
  assert.equal(await writeAll(p.client, data), 1000);
  assert.equal(await writeAll(p.server, data), 1000);
  transfer(p, chain(watch("client"), watch("server")));
  assert.deepEqual(await drain(p.server), data);
  assert.deepEqual(await drain(p.client), data);
  assert.ok(
    sizes.client.length >= 10 && sizes.client.every((n) => n <= 100),
    `client records ${sizes.client}`,
  );
  assert.ok(
    sizes.server.length >= 16 && sizes.server.every((n) => n <= 64),
    `server records ${sizes.server}`,
  );
});

Deno.test("certificates: an ECDSA certificate only on a curve the client lists (RFC 8422 §5.3), else another", async () => {
  const p384 = await certFor("ecdsa-p384"), rsa = await certFor("rsa-2048");
  const both = { certificates: [{ chain: p384.chain, key: p384.key }, { chain: rsa.chain, key: rsa.key }] };
  const p = await pair12({ client: { groups: ["x25519", "secp256r1"] }, server: both });
  await handshake(p);
  assert.equal(p.client.handshakeInfo?.cipherSuite, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
  const q = await pair12({ client: { groups: ["x25519", "secp384r1"] }, server: both });
  await handshake(q);
  assert.equal(q.client.handshakeInfo?.cipherSuite, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
  const only = await pair12({ client: { groups: ["x25519"] } }); // the default P-256 certificate alone
  await rejects(only, "server", "handshake_failure", "peer_incompatible.no_common_cipher_suite");
});

Deno.test("bad input: a ServerHelloDone with a body is decode_error", async () => {
  const p = await pair12();
  await rejects(
    p,
    "client",
    "decode_error",
    "invalid_message.trailing_data",
    editPlain("server", H.serverHelloDone, () => Uint8Array.of(0)),
  );
});

Deno.test("bad input: a truncated CertificateRequest is decode_error", async () => {
  const p = await pair12({ server: { clientAuth: { verifyPeer: () => true } } });
  const f = editPlain("server", H.certificateRequest, (b) => b.subarray(0, b.length - 1));
  await rejects(p, "client", "decode_error", "invalid_message.too_short", f);
});

Deno.test("bad input: a truncated NewSessionTicket is decode_error", async () => {
  const p = await pair12();
  const f = editPlain("server", H.newSessionTicket, (b) => b.subarray(0, b.length - 1));
  await rejects(p, "client", "decode_error", "invalid_message.too_short", f);
});

Deno.test("bad input: a client Certificate whose list length overruns is decode_error", async () => {
  const client = await generateChain({ dnsNames: ["client.test"], eku: ["clientAuth"] });
  const p = await pair12({
    client: { clientCertificate: { chain: client.chainPem, key: await loadPrivateKey(client.keyPem) } },
    server: { clientAuth: { required: true, trustAnchors: [client.rootPem] } },
  });
  const f = editPlain(
    "client",
    H.certificate,
    (b) => Uint8Array.of(b[0]!, b[1]!, b[2]! + 1, ...b.subarray(3)),
  );
  await rejects(p, "server", "decode_error", "invalid_message.too_short", f);
});

Deno.test("bad input: a NewSessionTicket the ServerHello did not promise is unexpected_message", async () => {
  const p = await pair12({ client: { offerTickets: false } });
  // The server sends none without the client's session_ticket; inject one where CCS is due.
  const f = onRecords("server", (rec) => {
    if (rec.type !== CT.changeCipherSpec) return rec;
    const nst = frame(H.newSessionTicket, Uint8Array.of(0, 0, 0, 0, 0, 1, 9));
    return [{ type: CT.handshake, version: 0x0303, body: nst }, rec];
  });
  await rejects(p, "client", "unexpected_message", "peer_misbehaved.unexpected_message", f);
});

Deno.test("certificates: a P-384 key signing ecdsa_secp256r1_sha256 (as OpenSSL does in TLS 1.2) verifies", async () => {
  const { createPrivateKey, sign } = await import("node:crypto");
  const { Buffer } = await import("node:buffer");
  const t = await generateTestCertificate("ecdsa-p384");
  const priv = createPrivateKey({ key: Buffer.from(t.keyPkcs8), format: "der", type: "pkcs8" });
  const key = await loadPrivateKey(t.keyPkcs8);
  const { customSigningKey } = await import("../mod.ts");
  // In TLS 1.2 the code point only says "ECDSA with SHA-256": the curve is the certificate's.
  const sha256Only = customSigningKey(
    key.publicKey,
    [0x0403],
    (_s, m) => new Uint8Array(sign("sha256", m, priv)),
  );
  const p = await pair12({ server: { certificates: [{ chain: t.chain, key: sha256Only }] } });
  await handshake(p);
  assert.equal(p.client.handshakeInfo?.signatureScheme, "ecdsa_secp256r1_sha256");
  // In TLS 1.3 the scheme binds the curve: a 1.3 client refuses it before any check (illegal_parameter, as
  // OpenSSL: the scheme does not fit the key).
  const q = await pair12({
    client: { maxVersion: "TLSv1.3", minVersion: "TLSv1.3" },
    server: { certificates: [{ chain: t.chain, key: sha256Only }] },
  });
  await rejects(q, "client", "illegal_parameter", "peer_misbehaved.wrong_signature_type");
});

Deno.test("certificates: in TLS 1.2 a P-256 key signs ecdsa_secp384r1_sha384 when that is all the client takes", async () => {
  // RFC 5246 §7.4.1.4.1: the scheme names ECDSA and SHA-384; the curve stays the key's (as OpenSSL signs).
  const p = await pair12({ client: { signatureSchemes: ["ecdsa_secp384r1_sha384"] } });
  await handshake(p);
  assert.equal(p.client.handshakeInfo?.signatureScheme, "ecdsa_secp384r1_sha384");
  await sendBoth(p, 10);
  // TLS 1.3 binds the curve: the same offer finds no scheme for the P-256 certificate.
  const q = await pair12({
    client: { signatureSchemes: ["ecdsa_secp384r1_sha384"], minVersion: "TLSv1.3", maxVersion: "TLSv1.3" },
  });
  await rejects(q, "server", "handshake_failure", "peer_incompatible.no_common_signature_scheme");
});

// ---- certificate choice ---------------------------------------------------------------------------

Deno.test("security: the TLS 1.2 certificate is chosen by SNI before the suite", async (t) => {
  // Issue #15, finding 11: with an RSA certificate for a.example and an ECDSA one for b.example, a client
  // asking for a.example must get the RSA one over ECDHE_RSA, though the server prefers ECDHE_ECDSA.
  const a = await generateChain({ keyType: "rsa-2048", dnsNames: ["a.example"] });
  const b = await generateChain({ keyType: "ecdsa-p256", dnsNames: ["b.example"] });
  const certificates = [
    { chain: b.chain, key: await loadPrivateKey(b.keyPkcs8) },
    { chain: a.chain, key: await loadPrivateKey(a.keyPkcs8) },
  ];
  const run = async (serverName: string, anchor: string, version: "TLSv1.2" | "TLSv1.3") => {
    const p = await pair12({
      client: {
        serverName,
        trustAnchors: [anchor],
        dangerouslyDisableCertificateVerification: false,
        maxVersion: version,
      },
      server: { certificates },
    });
    await handshake(p);
    return p.client.handshakeInfo!;
  };
  await t.step("a.example: the RSA certificate, verified", async () => {
    const info = await run("a.example", a.rootPem, "TLSv1.2");
    assert.equal(info.cipherSuite, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    assert.deepEqual(info.peerCertificates[0], a.chain[0]);
  });
  await t.step("b.example: the ECDSA certificate, verified", async () => {
    const info = await run("b.example", b.rootPem, "TLSv1.2");
    assert.equal(info.cipherSuite, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
    assert.deepEqual(info.peerCertificates[0], b.chain[0]);
  });
  await t.step("TLS 1.3 chooses the same way", async () => {
    assert.deepEqual((await run("a.example", a.rootPem, "TLSv1.3")).peerCertificates[0], a.chain[0]);
    assert.deepEqual((await run("b.example", b.rootPem, "TLSv1.3")).peerCertificates[0], b.chain[0]);
  });
  await t.step("a name neither has: the first certificate, in the suite it signs for", async () => {
    const p = await pair12({ server: { certificates } });
    await handshake(p);
    assert.deepEqual(p.client.handshakeInfo!.peerCertificates[0], b.chain[0]);
  });
  await t.step(
    "a client without ECDHE_RSA asking for a.example: the certificate that can serve it",
    async () => {
      const p = await pair12({
        client: {
          serverName: "a.example",
          cipherSuites: ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"],
        },
        server: { certificates },
      });
      await handshake(p);
      assert.deepEqual(p.client.handshakeInfo!.peerCertificates[0], b.chain[0]);
    },
  );
});
