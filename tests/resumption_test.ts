/**
 * TLS 1.3 resumption (RFC 8446 §2.2, §4.6.1): tickets issued and kept, sessions offered and accepted in
 * every suite, across HelloRetryRequest, with mTLS identity carried over; ticket keys that rotate; a
 * single-use session cache; and every reason to fall back to a full handshake, or to fail (a bad binder).
 */
import assert from "node:assert/strict";
import {
  handshake,
  handshakeExpectingFailure,
  makePair,
  type Pair,
  transfer,
  writeAll,
} from "../testing/pair.ts";
import { generateChain } from "../testing/pki.ts";
import { ExtensionType as E } from "../engine/msgs/enums.ts";
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

/** A server config reused across connections (so its default ticket store is shared), and a client factory. */
async function setup(server: Partial<ServerConfig> = {}) {
  const chain = await generateChain({ dnsNames: ["server.test", "other.test"] });
  const key = await loadPrivateKey(chain.keyPkcs8);
  const serverConfig: ServerConfig = { certificates: [{ chain: chain.chain, key }], ...server };
  const connect = async (client: Partial<ClientConfig> = {}, serverOverride?: ServerConfig) => {
    const c = createBioPair(), s = createBioPair();
    const sessions: TlsSession[] = [];
    const clientEngine = createClient(
      { serverName: "server.test", trustAnchors: [chain.rootPem], ...client },
      c.engine,
    );
    on(clientEngine, "session", (x) => sessions.push(x));
    const p: Pair = {
      client: clientEngine,
      server: createServer(serverOverride ?? serverConfig, s.engine),
      c,
      s,
    };
    await handshake(p);
    // Tickets come after the handshake: let the client read them.
    p.client.read(new Uint8Array(16));
    return { p, sessions };
  };
  return { chain, serverConfig, connect };
}

Deno.test("resumption: a ticket from one connection resumes the next, in every suite", async (t) => {
  for (
    const suite of [
      "TLS_AES_128_GCM_SHA256",
      "TLS_AES_256_GCM_SHA384",
      "TLS_CHACHA20_POLY1305_SHA256",
    ] as const
  ) {
    await t.step(suite, async () => {
      const { connect, chain } = await setup();
      const first = await connect({ cipherSuites: [suite] });
      assert.equal(first.p.client.handshakeInfo?.resumed, false);
      assert.equal(first.sessions.length, 2, "two tickets by default");
      const second = await connect({ cipherSuites: [suite], session: first.sessions[0]! });
      for (const e of [second.p.client, second.p.server]) {
        assert.equal(e.handshakeInfo?.resumed, true);
        assert.equal(e.handshakeInfo?.cipherSuite, suite);
        assert.equal(e.handshakeInfo?.signatureScheme, undefined);
      }
      // The server's identity is the one from the first handshake.
      assert.deepEqual(second.p.client.handshakeInfo?.peerCertificates[0], chain.chain[0]);
      // A resumed session issues fresh tickets, and data flows.
      assert.equal(second.sessions.length, 2);
      assert.equal(await writeAll(second.p.client, new TextEncoder().encode("again")), 5);
      transfer(second.p);
      const buf = new Uint8Array(16);
      assert.equal(second.p.server.read(buf), 5);
    });
  }
});

Deno.test("resumption: sessions survive toBytes()/fromBytes(), and garbage is refused", async () => {
  const { connect } = await setup();
  const first = await connect();
  const bytes = first.sessions[0]!.toBytes();
  const again = await connect({ session: TlsSession.fromBytes(bytes) });
  assert.equal(again.p.client.handshakeInfo?.resumed, true);
  assert.throws(() => TlsSession.fromBytes(bytes.subarray(0, 20)), TypeError);
  assert.throws(() => TlsSession.fromBytes(new Uint8Array(64)), TypeError);
  // No secret in what a log would show.
  assert.doesNotMatch(String(first.sessions[0]), /[0-9a-f]{32}/);
});

Deno.test("resumption: works across a HelloRetryRequest", async () => {
  const { connect } = await setup({ groups: ["secp384r1"] });
  const first = await connect();
  const second = await connect({ session: first.sessions[0]!, groups: ["x25519", "secp384r1"] });
  assert.equal(second.p.client.handshakeInfo?.helloRetry, true);
  assert.equal(second.p.client.handshakeInfo?.resumed, true);
  assert.equal(second.p.server.handshakeInfo?.resumed, true);
});

Deno.test("resumption: ticket keys rotate; the previous key still works, the one before does not", async () => {
  const store = new TicketKeys();
  const { connect } = await setup({ tickets: { store } });
  const first = await connect();
  store.rotate();
  const second = await connect({ session: first.sessions[0]! });
  assert.equal(second.p.client.handshakeInfo?.resumed, true, "one rotation back is accepted");
  store.rotate();
  const third = await connect({ session: first.sessions[1]! });
  assert.equal(third.p.client.handshakeInfo?.resumed, false, "two rotations back: a full handshake");
  assert.equal(third.p.server.handshakeInfo?.resumed, false);
});

Deno.test("resumption: a SessionCache ticket is single-use", async () => {
  const store = new SessionCache(100);
  const { connect } = await setup({ tickets: { store, count: 1 } });
  const first = await connect();
  assert.equal(store.size, 1);
  const second = await connect({ session: first.sessions[0]! });
  assert.equal(second.p.client.handshakeInfo?.resumed, true);
  const replay = await connect({ session: first.sessions[0]! });
  assert.equal(replay.p.client.handshakeInfo?.resumed, false);
});

Deno.test("resumption: a client whose clock says the ticket expired does not offer it", async () => {
  const { connect } = await setup({ tickets: { lifetime: 60 } });
  const first = await connect();
  const second = await connect({ session: first.sessions[0]!, now: () => Date.now() + 61_000 });
  assert.equal(second.p.client.handshakeInfo?.resumed, false);
  assert.equal(second.p.server.handshakeInfo?.resumed, false);
});

Deno.test("resumption: the server refuses a ticket it considers expired, even if the client offers it", async () => {
  const store = new TicketKeys();
  const { connect, serverConfig } = await setup({ tickets: { store, lifetime: 60 } });
  const first = await connect();
  const lateServer: ServerConfig = { ...serverConfig, now: () => Date.now() + 61_000 };
  const second = await connect({ session: first.sessions[0]! }, lateServer);
  assert.equal(second.p.server.handshakeInfo?.resumed, false);
  assert.equal(second.p.client.handshakeInfo?.resumed, false);
});

Deno.test("resumption: a session for another server name is not offered", async () => {
  const { connect } = await setup();
  const first = await connect();
  const other = await connect({ session: first.sessions[0]!, serverName: "other.test" });
  assert.equal(other.p.client.handshakeInfo?.resumed, false);
});

Deno.test("resumption: a tampered binder is decrypt_error", async () => {
  const { connect, chain, serverConfig } = await setup();
  const first = await connect();
  const c = createBioPair(), s = createBioPair();
  const client = createClient({
    serverName: "server.test",
    trustAnchors: [chain.rootPem],
    session: first.sessions[0]!,
  }, c.engine);
  const p: Pair = { client, server: createServer(serverConfig, s.engine), c, s };
  let flipped = false;
  await handshakeExpectingFailure(p, (bytes, from) => {
    if (from === "client" && !flipped && bytes[0] === 22) {
      // The ClientHello ends with the binder: flip its last byte.
      const len = 5 + ((bytes[3]! << 8) | bytes[4]!);
      bytes[len - 1]! ^= 1;
      flipped = true;
    }
    return bytes;
  });
  assert.equal(p.server.error?.alert, "decrypt_error");
  assert.equal(p.server.error?.code, "peer_misbehaved.bad_psk_binder");
  assert.equal(p.client.error?.code, "alert_received.decrypt_error");
});

Deno.test("resumption: the client's mTLS identity is carried into resumed sessions", async () => {
  const clientChain = await generateChain({ dnsNames: ["client.test"], eku: ["clientAuth"] });
  const clientKey = await loadPrivateKey(clientChain.keyPkcs8);
  const { connect } = await setup({ clientAuth: { required: true, trustAnchors: [clientChain.rootPem] } });
  const first = await connect({ clientCertificate: { chain: clientChain.chain, key: clientKey } });
  assert.deepEqual(first.p.server.handshakeInfo?.peerCertificates[0], clientChain.chain[0]);
  const second = await connect({ session: first.sessions[0]! });
  assert.equal(second.p.server.handshakeInfo?.resumed, true);
  assert.deepEqual(second.p.server.handshakeInfo?.peerCertificates[0], clientChain.chain[0]);
});

Deno.test("resumption: tickets: false issues none", async () => {
  const { connect } = await setup({ tickets: false });
  const first = await connect();
  assert.equal(first.sessions.length, 0);
});

Deno.test("resumption: tickets go to clients that send no psk modes (as OpenSSL), not to those without psk_dhe_ke", async (t) => {
  const cases = [
    { name: "no psk_key_exchange_modes", modes: undefined, tickets: 2 },
    { name: "psk_ke only", modes: Uint8Array.of(1, 0), tickets: 0 },
    { name: "psk_dhe_ke", modes: Uint8Array.of(1, 1), tickets: 2 },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const p = await makePair({
        client: {
          helloExtensions: (exts) => [
            ...exts.filter((e) => e.type !== E.pskKeyExchangeModes),
            ...(c.modes ? [{ type: E.pskKeyExchangeModes, data: c.modes }] : []),
          ],
        },
      });
      let tickets = 0;
      on(p.client, "ticket", () => tickets++);
      await handshake(p);
      p.client.read(new Uint8Array(8));
      assert.equal(tickets, c.tickets);
    });
  }
});

Deno.test("security: resumption through a HelloRetryRequest when the ticket's suite is not the server's first choice", async (t) => {
  // Issue #15, finding 10. RFC 8446 §4.1.4: the HelloRetryRequest names the suite the ServerHello will use,
  // so the server must settle on the ticket's suite before it asks for another key share.
  for (
    const [label, tickets] of [["stateless tickets", {}], ["single-use tickets", {
      store: new SessionCache(),
    }]] as const
  ) {
    await t.step(label, async () => {
      const { connect } = await setup({ groups: ["secp384r1"], tickets });
      const first = await connect({ cipherSuites: ["TLS_AES_256_GCM_SHA384"] });
      assert.equal(first.p.server.handshakeInfo?.cipherSuite, "TLS_AES_256_GCM_SHA384");
      // The client offers every suite (the server prefers AES-128) and an x25519 share the server won't take.
      const second = await connect({ session: first.sessions[0]!, groups: ["x25519", "secp384r1"] });
      for (const e of [second.p.client, second.p.server]) {
        assert.equal(e.handshakeInfo?.helloRetry, true);
        assert.equal(e.handshakeInfo?.resumed, true);
        assert.equal(e.handshakeInfo?.cipherSuite, "TLS_AES_256_GCM_SHA384");
      }
    });
  }
});
