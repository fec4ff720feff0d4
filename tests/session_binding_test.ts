/**
 * What a session is bound to (engine/binding.ts, docs/security.md): on the server, the authentication
 * context a ticket or session id was issued under and how long that authentication lasts through
 * resumption; on the client, the identity the server was verified for and the way it was verified.
 * Each `security:` test is a finding of the review in issue #15 and failed before its fix.
 */
import assert from "node:assert/strict";
import { handshake, handshakeExpectingFailure, type Pair } from "../testing/pair.ts";
import { assertFailed } from "../testing/reject.ts";
import { generateChain, type TestChain } from "../testing/pki.ts";
import {
  type ClientConfig,
  createBioPair,
  createClient,
  createServer,
  loadPrivateKey,
  on,
  type ServerConfig,
  SessionCache,
  TicketKeys,
  TlsSession,
} from "../mod.ts";

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 0, 1);

/** The alert for a missing client certificate: TLS 1.2 has no certificate_required. */
const required = (mode: (typeof MODES)[number]) =>
  "maxVersion" in mode.client ? "handshake_failure" as const : "certificate_required" as const;

/** The three ways a session resumes: TLS 1.3 tickets, TLS 1.2 tickets, TLS 1.2 session ids. */
const MODES = [
  { name: "TLS 1.3 ticket", client: {} },
  { name: "TLS 1.2 ticket", client: { maxVersion: "TLSv1.2" } },
  { name: "TLS 1.2 session id", client: { maxVersion: "TLSv1.2", offerTickets: false } },
] as const satisfies readonly { name: string; client: Partial<ClientConfig> }[];

interface World {
  readonly server: TestChain;
  readonly client: TestChain;
  /** A client config part that sends the client chain when asked. */
  readonly withCert: Partial<ClientConfig>;
  /** Connect one client to one server config; the sessions it was given. */
  connect(client: Partial<ClientConfig>, server: ServerConfig): Promise<{ p: Pair; sessions: TlsSession[] }>;
  /** The same, for a handshake that must fail. */
  refuse(client: Partial<ClientConfig>, server: ServerConfig): Promise<Pair>;
  serverConfig(extra?: Partial<ServerConfig>): ServerConfig;
  /** A server that requires a client certificate from the test client root, with its own ticket store and cache. */
  mtlsConfig(now: () => number, tickets: ServerConfig["tickets"] & object): ServerConfig;
}

async function world(opts: { clientNotAfter?: Date; serverIps?: string[] } = {}): Promise<World> {
  const server = await generateChain({
    dnsNames: ["server.test"],
    ...(opts.serverIps ? { ipAddresses: opts.serverIps } : {}),
  });
  const client = await generateChain({
    dnsNames: ["client.test"],
    eku: ["clientAuth"],
    ...(opts.clientNotAfter ? { notAfter: opts.clientNotAfter } : {}),
  });
  const serverKey = await loadPrivateKey(server.keyPkcs8);
  const clientKey = await loadPrivateKey(client.keyPkcs8);
  const pair = (c: Partial<ClientConfig>, s: ServerConfig) => {
    const cb = createBioPair(), sb = createBioPair();
    const sessions: TlsSession[] = [];
    const clientEngine = createClient(
      { serverName: "server.test", trustAnchors: [server.rootPem], ...c },
      cb.engine,
    );
    on(clientEngine, "session", (x) => sessions.push(x));
    const p: Pair = { client: clientEngine, server: createServer(s, sb.engine), c: cb, s: sb };
    return { p, sessions };
  };
  return {
    server,
    client,
    withCert: { clientCertificate: { chain: client.chain, key: clientKey } },
    serverConfig: (extra = {}) => ({ certificates: [{ chain: server.chain, key: serverKey }], ...extra }),
    mtlsConfig: (now, tickets) => ({
      certificates: [{ chain: server.chain, key: serverKey }],
      now,
      tickets: { store: new TicketKeys(), ...tickets },
      sessionIdCache: new SessionCache(),
      clientAuth: { required: true, trustAnchors: [client.rootPem] },
    }),
    async connect(c, s) {
      const r = pair(c, s);
      await handshake(r.p);
      r.p.client.read(new Uint8Array(16)); // TLS 1.3 tickets come after the handshake
      return r;
    },
    async refuse(c, s) {
      const { p } = pair(c, s);
      await handshakeExpectingFailure(p);
      return p;
    },
  };
}

Deno.test("security: a ticket from a server without client auth does not resume on one that requires it (finding 1)", async (t) => {
  const w = await world();
  for (const mode of MODES) {
    await t.step(mode.name, async () => {
      // Two servers share one ticket store and one session id cache, as a cluster or a rebuilt config does.
      const shared = { tickets: { store: new TicketKeys() }, sessionIdCache: new SessionCache() };
      const open = w.serverConfig(shared);
      const mtls = w.serverConfig({
        ...shared,
        clientAuth: { required: true, trustAnchors: [w.client.rootPem] },
      });
      const first = await w.connect(mode.client, open);
      assert.ok(first.sessions.length > 0, "the open server gave a session");
      // Offered to the mTLS server without a certificate: a full handshake, which needs one.
      const p = await w.refuse({ ...mode.client, session: first.sessions[0]! }, mtls);
      assertFailed(p.server, required(mode), "certificate.required");
      assert.equal(p.server.handshakeInfo, undefined);

      // Under its own context a session resumes, and keeps the client's identity.
      const own = await w.connect({ ...mode.client, ...w.withCert }, mtls);
      const again = await w.connect({ ...mode.client, session: own.sessions[0]! }, mtls);
      assert.equal(again.p.server.handshakeInfo?.resumed, true);
      assert.deepEqual(again.p.server.handshakeInfo?.peerCertificates[0], w.client.chain[0]);
    });
  }
});

Deno.test("security: sessionContext keeps servers that share a ticket store apart (finding 1)", async (t) => {
  const w = await world();
  for (const mode of MODES) {
    await t.step(mode.name, async () => {
      const shared = { tickets: { store: new TicketKeys() }, sessionIdCache: new SessionCache() };
      const a = w.serverConfig({ ...shared, sessionContext: "service a" });
      const b = w.serverConfig({ ...shared, sessionContext: "service b" });
      const a2 = w.serverConfig({ ...shared, sessionContext: new TextEncoder().encode("service a") });
      const first = await w.connect(mode.client, a);
      const onB = await w.connect({ ...mode.client, session: first.sessions[0]! }, b);
      assert.equal(onB.p.server.handshakeInfo?.resumed, false, "another context: a full handshake");
      // A config rebuilt with the same context (a string or its bytes) resumes.
      const onA = await w.connect({ ...mode.client, session: first.sessions.at(-1)! }, a2);
      assert.equal(onA.p.server.handshakeInfo?.resumed, true);
    });
  }
});

Deno.test("security: a client-auth change on a shared store declines old tickets (finding 1)", async () => {
  const w = await world();
  const other = await generateChain({ dnsNames: ["client.test"], eku: ["clientAuth"] });
  const store = new TicketKeys();
  const before = w.serverConfig({
    tickets: { store },
    clientAuth: { required: true, trustAnchors: [w.client.rootPem] },
  });
  // The client CA rotates: the new config trusts another root only.
  const after = w.serverConfig({
    tickets: { store },
    clientAuth: { required: true, trustAnchors: [other.rootPem] },
  });
  const first = await w.connect(w.withCert, before);
  const p = await w.refuse({ ...w.withCert, session: first.sessions[0]! }, after);
  assertFailed(p.server, "unknown_ca", "certificate.unknown_issuer");
});

Deno.test("security: resumption does not renew client authentication past authenticationLifetime (finding 4)", async (t) => {
  const w = await world();
  for (const mode of MODES) {
    await t.step(mode.name, async () => {
      let now = T0;
      const clock = { now: () => now };
      // Single-use tickets: every resumption renews the ticket, in TLS 1.2 too (TicketKeys renews only tickets
      // under a retired key).
      const mtls = w.mtlsConfig(clock.now, {
        lifetime: 2 * 3600,
        authenticationLifetime: 3 * 3600,
        store: new SessionCache(),
      });
      const client = { ...mode.client, ...clock };
      let session = (await w.connect({ ...client, ...w.withCert }, mtls)).sessions[0]!;
      assert.equal(session.expiresAt, T0 + 2 * HOUR);
      // Each hour the client resumes with the newest session, without its certificate at hand.
      for (const hour of [1, 2]) {
        now = T0 + hour * HOUR;
        const r = await w.connect({ ...client, session }, mtls);
        assert.equal(r.p.server.handshakeInfo?.resumed, true, `resumed at hour ${hour}`);
        session = r.sessions[0]!;
        // Never past the original authentication plus three hours (a session id's lifetime is the
        // server's to keep: the client does not learn it).
        if (mode.name !== "TLS 1.2 session id") {
          assert.ok(session.expiresAt <= T0 + 3 * HOUR, `expiresAt at hour ${hour}`);
        }
      }
      // Past it, the session is spent: a full handshake, which needs the certificate.
      now = T0 + 3 * HOUR + 1000;
      const p = await w.refuse({ ...client, session }, mtls);
      assertFailed(p.server, required(mode), "certificate.required");
    });
  }
});

Deno.test("security: a client certificate that expired is not kept alive by resumption (finding 4)", async (t) => {
  const w = await world({ clientNotAfter: new Date(T0 + DAY) });
  for (const mode of MODES) {
    await t.step(mode.name, async () => {
      let now = T0;
      const clock = { now: () => now };
      const mtls = w.mtlsConfig(clock.now, { lifetime: 604800, store: new SessionCache() });
      const client = { ...mode.client, ...clock };
      const first = (await w.connect({ ...client, ...w.withCert }, mtls)).sessions[0]!;
      if (mode.name !== "TLS 1.2 session id") {
        assert.ok(first.expiresAt <= T0 + DAY, "a ticket ends with the client certificate");
      }
      now = T0 + HOUR;
      const resumed = await w.connect({ ...client, session: first }, mtls);
      assert.equal(resumed.p.server.handshakeInfo?.resumed, true);
      const renewed = resumed.sessions[0]!;
      if (mode.name !== "TLS 1.2 session id") {
        assert.ok(renewed.expiresAt <= T0 + DAY, "a renewed ticket ends with it too");
      }
      // Day 3: the certificate expired on day 1; nothing resumes, and a full handshake refuses it.
      now = T0 + 3 * DAY;
      const p = await w.refuse({ ...client, ...w.withCert, session: renewed }, mtls);
      assertFailed(p.server, "certificate_expired", "certificate.expired");
    });
  }
});

Deno.test("security: the server cuts tickets to the authentication left even when the client keeps them longer (finding 4)", async () => {
  // The server's own check, not the client's: a TLS 1.2 session id kept by a client whose clock lags.
  const w = await world();
  let serverNow = T0;
  const mtls = w.mtlsConfig(() => serverNow, { authenticationLifetime: 3600 });
  const client = { maxVersion: "TLSv1.2", offerTickets: false, now: () => T0 } as const;
  const first = (await w.connect({ ...client, ...w.withCert }, mtls)).sessions[0]!;
  serverNow = T0 + 3600_000 + 1;
  const p = await w.refuse({ ...client, session: first }, mtls);
  assertFailed(p.server, "handshake_failure", "certificate.required");
});

Deno.test("security: a session made with one IP address is not offered to another (finding 5)", async (t) => {
  const w = await world({ serverIps: ["10.0.0.1"] });
  for (const mode of MODES) {
    await t.step(mode.name, async () => {
      const server = w.serverConfig({
        tickets: { store: new TicketKeys() },
        sessionIdCache: new SessionCache(),
      });
      const first = await w.connect({ ...mode.client, serverName: "10.0.0.1" }, server);
      const session = first.sessions[0]!;
      assert.equal(session.peerName, "10.0.0.1");
      assert.equal(session.serverName, undefined, "no SNI for an IP address");
      // 10.0.0.2 is not named by the certificate: a full handshake, which fails name verification.
      const p = await w.refuse({ ...mode.client, serverName: "10.0.0.2", session }, server);
      assertFailed(p.client, "bad_certificate", "certificate.name_mismatch");
      // The same address resumes.
      const again = await w.connect({ ...mode.client, serverName: "10.0.0.1", session }, server);
      assert.equal(again.p.client.handshakeInfo?.resumed, true);
    });
  }
});

Deno.test("security: a session from a client that did not verify is not offered by one that does (finding 5)", async () => {
  const w = await world();
  const server = w.serverConfig();
  const insecure = await w.connect({ dangerouslyDisableCertificateVerification: true }, server);
  const session = insecure.sessions[0]!;
  const verified = await w.connect({ session }, server);
  assert.equal(verified.p.client.handshakeInfo?.resumed, false, "a full handshake verifies the server");
  // Another root: a session verified against it is not offered where only the test root is trusted.
  const other = await generateChain({ dnsNames: ["server.test"] });
  const both = await w.connect({ trustAnchors: [w.server.rootPem, other.rootPem] }, server);
  const narrow = await w.connect({ session: both.sessions[0]! }, server);
  assert.equal(narrow.p.client.handshakeInfo?.resumed, false);
  // Sessions survive toBytes()/fromBytes() with their binding.
  const loaded = TlsSession.fromBytes(verified.sessions[0]!.toBytes());
  assert.equal(loaded.peerName, "server.test");
  const again = await w.connect({ session: loaded }, server);
  assert.equal(again.p.client.handshakeInfo?.resumed, true);
});

Deno.test("security: dangerouslyDisableCertificateVerification with verifyPeer is refused, not a skipped callback", () => {
  const { engine } = createBioPair();
  assert.throws(
    () =>
      createClient({
        serverName: "server.test",
        dangerouslyDisableCertificateVerification: true,
        verifyPeer: () => false,
      }, engine),
    (e: unknown) => e instanceof TypeError && /verifyPeer would never run/.test(e.message),
  );
});
Deno.test("security: a session resumes for the same host name however it is spelt (finding 5)", async () => {
  const w = await world();
  const server = w.serverConfig();
  const first = await w.connect({ serverName: "Server.Test." }, server);
  assert.equal(first.sessions[0]!.peerName, "server.test");
  const again = await w.connect({ serverName: "server.test", session: first.sessions[0]! }, server);
  assert.equal(again.p.client.handshakeInfo?.resumed, true);
});
