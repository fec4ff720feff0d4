/**
 * External PSKs in TLS 1.3 (RFC 8446 §2.2, §4.2.9, §4.2.11): in-memory round trips in both key exchange
 * modes, across HelloRetryRequest, with a lookup that answers later (WANT_ASYNC), beside a resumption ticket,
 * with and without certificates; every refusal with its exact alert; tampered binders and selections; the
 * configuration's limits; and the binder checked against an independent computation.
 */
import assert from "node:assert/strict";
import { handshake, makePair, type Pair, settled, transfer, writeAll } from "../testing/pair.ts";
import { assertFailed, editClientHello, editServerHello, rejects, replace } from "../testing/reject.ts";
import { editPlain } from "../testing/tamper.ts";
import { generateTestCertificate } from "../testing/pki.ts";
import { ExtensionType as E, HandshakeType as H } from "../engine/msgs/enums.ts";
import { decodeClientHello } from "../engine/msgs/handshake.ts";
import {
  decodeOfferedPsks,
  encodeOfferedPsks,
  type Extension,
  findExtension,
} from "../engine/msgs/extensions.ts";
import { LIMITS } from "../engine/limits.ts";
import {
  type ClientConfig,
  createBioPair,
  createClient,
  createServer,
  type ExternalPsk,
  loadPrivateKey,
  on,
  type ServerConfig,
  SslError,
  type TlsSession,
} from "../mod.ts";
import { SHA256 } from "../suites/hash.ts";
import { hkdfExpandLabel } from "../engine/key_schedule.ts";

const key = new Uint8Array(32).map((_, i) => i + 1);
const psk: ExternalPsk = { identity: "client1", key };
const enc = new TextEncoder();

/** A pair with no certificates on either side: the PSK alone authenticates. */
function pskPair(client: Partial<ClientConfig> = {}, server: Partial<ServerConfig> = {}): Pair {
  const c = createBioPair(), s = createBioPair();
  return {
    client: createClient({ psks: [psk], ...client }, c.engine),
    server: createServer({ psks: [psk], ...server }, s.engine),
    c,
    s,
  };
}

async function exchange(p: Pair): Promise<void> {
  assert.equal(await writeAll(p.client, enc.encode("ping")), 4);
  transfer(p);
  const buf = new Uint8Array(16);
  let n = p.server.read(buf);
  while (n < 0 && p.server.getError(n) === SslError.WANT_ASYNC) {
    await p.server.asyncWait();
    n = p.server.read(buf);
  }
  assert.equal(new TextDecoder().decode(buf.subarray(0, n)), "ping");
}

Deno.test("external PSK: psk_dhe_ke by default, no certificates, identity in handshakeInfo", async () => {
  const p = pskPair();
  await handshake(p);
  for (const e of [p.client, p.server]) {
    const info = e.handshakeInfo!;
    assert.deepEqual(info.externalPsk, { identity: enc.encode("client1"), mode: "psk_dhe_ke" });
    assert.equal(info.resumed, false);
    assert.equal(info.signatureScheme, undefined);
    assert.deepEqual(info.peerCertificates, []);
    assert.notEqual(info.group, "none");
    assert.equal(info.cipherSuite.endsWith("SHA256"), true);
  }
  await exchange(p);
});

Deno.test("external PSK: psk_ke when both ask for it, with no key exchange", async () => {
  const p = pskPair({ pskModes: ["psk_ke"] }, { pskModes: ["psk_ke"] });
  await handshake(p);
  assert.deepEqual(p.server.handshakeInfo?.externalPsk?.mode, "psk_ke");
  assert.equal(p.client.handshakeInfo?.externalPsk?.mode, "psk_ke");
  assert.equal(p.client.handshakeInfo?.group, "none");
  await exchange(p);
});

Deno.test("external PSK: the server's preference picks the mode both offer", async () => {
  const p = pskPair({ pskModes: ["psk_dhe_ke", "psk_ke"] }, { pskModes: ["psk_ke", "psk_dhe_ke"] });
  await handshake(p);
  assert.equal(p.client.handshakeInfo?.externalPsk?.mode, "psk_ke");
});

Deno.test("external PSK: SHA-384 keys use a SHA-384 suite", async () => {
  const k384: ExternalPsk = { identity: "k384", key, hash: "SHA-384" };
  const p = pskPair({ psks: [k384] }, { psks: [k384] });
  await handshake(p);
  assert.equal(p.client.handshakeInfo?.cipherSuite, "TLS_AES_256_GCM_SHA384");
});

Deno.test("external PSK: a HelloRetryRequest recomputes the binders over the new transcript", async () => {
  for (const helloRetryCookie of [false, true]) {
    const p = pskPair({ groups: ["x25519", "secp256r1"] }, { groups: ["secp256r1"], helloRetryCookie });
    await handshake(p);
    assert.equal(p.server.handshakeInfo?.helloRetry, true);
    assert.equal(p.server.handshakeInfo?.group, "secp256r1");
    assert.ok(p.server.handshakeInfo?.externalPsk);
    await exchange(p);
  }
});

Deno.test("external PSK: the server takes the first identity it knows", async () => {
  const other: ExternalPsk = { identity: "other", key: new Uint8Array(32).fill(9) };
  const p = pskPair({ psks: [{ identity: "nobody", key: new Uint8Array(32) }, other, psk] }, {
    psks: [psk, other],
  });
  await handshake(p);
  assert.deepEqual(p.server.handshakeInfo?.externalPsk?.identity, enc.encode("other"));
  assert.deepEqual(p.client.handshakeInfo?.externalPsk?.identity, enc.encode("other"));
});

Deno.test("external PSK: an asynchronous lookup makes the server wait (WANT_ASYNC)", async () => {
  const asked: string[] = [];
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const p = pskPair({}, {
    psks: [],
    pskLookup: async (id) => {
      asked.push(new TextDecoder().decode(id));
      await gate;
      return id.length === 7 ? { key } : undefined;
    },
  });
  await settled(p.client, () => p.client.doHandshake());
  transfer(p);
  // The server reads the ClientHello and asks; while the answer is pending it says WANT_ASYNC, and stays there.
  const r = p.server.doHandshake();
  assert.equal(p.server.getError(r), SslError.WANT_ASYNC);
  assert.deepEqual(asked, ["client1"]);
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(p.server.getError(p.server.doHandshake()), SslError.WANT_ASYNC);
  release();
  await handshake(p);
  assert.deepEqual(asked, ["client1"]);
  assert.ok(p.server.handshakeInfo?.externalPsk);
});

Deno.test("external PSK: a lookup that fails counts as unknown and says so", async () => {
  const errors: string[] = [];
  const p = pskPair({}, {
    psks: [],
    pskLookup: () => {
      throw new Error("key service down");
    },
  });
  on(p.server, "storeerror", (e) => errors.push(e.operation));
  await rejects(p, "server", "unknown_psk_identity", "peer_incompatible.unknown_psk_identity");
  assert.deepEqual(errors, ["psk"]);
});

Deno.test("external PSK: the wrong key fails the binder: decrypt_error", async () => {
  const p = pskPair({ psks: [{ identity: "client1", key: new Uint8Array(32) }] });
  await rejects(p, "server", "decrypt_error", "peer_misbehaved.bad_psk_binder");
});

Deno.test("external PSK: an unknown identity without a certificate: unknown_psk_identity", async () => {
  const p = pskPair({ psks: [{ identity: "stranger", key }] });
  await rejects(p, "server", "unknown_psk_identity", "peer_incompatible.unknown_psk_identity");
});

Deno.test("external PSK: an unknown identity with a certificate falls back to a full handshake", async () => {
  const p = await makePair({
    client: { psks: [{ identity: "stranger", key }] },
    server: { psks: [psk] },
  });
  await handshake(p);
  assert.equal(p.client.handshakeInfo?.externalPsk, undefined);
  assert.notEqual(p.client.handshakeInfo?.signatureScheme, undefined);
  assert.equal(p.client.handshakeInfo?.peerCertificates.length, 1);
});

Deno.test("external PSK: a PSK-only client refuses a certificate handshake (handshake_failure)", async () => {
  const cert = await generateTestCertificate("ecdsa-p256");
  const c = createBioPair(), s = createBioPair();
  const p: Pair = {
    client: createClient({ psks: [{ identity: "stranger", key }] }, c.engine),
    server: createServer({
      certificates: [{ chain: cert.chain, key: await loadPrivateKey(cert.keyPkcs8) }],
      psks: [psk],
    }, s.engine),
    c,
    s,
  };
  await rejects(p, "client", "handshake_failure", "peer_incompatible.psk_required");
});

Deno.test("external PSK: a server without certificates refuses a client without PSKs", async () => {
  const p = await makePair({ server: { psks: [psk] } });
  const s = createBioPair();
  const pp: Pair = { ...p, server: createServer({ psks: [psk] }, s.engine), s };
  await rejects(pp, "server", "handshake_failure", "peer_incompatible.psk_required");
});

Deno.test("external PSK: psk_ke-only server against a psk_dhe_ke-only client: handshake_failure", async () => {
  const p = pskPair({}, { pskModes: ["psk_ke"] });
  await rejects(p, "server", "handshake_failure", "peer_incompatible.psk_required");
});

Deno.test("external PSK: a hash no suite shares is not used (SHA-384 key, SHA-256 suites only)", async () => {
  const k384: ExternalPsk = { identity: "client1", key, hash: "SHA-384" };
  const p = pskPair({ cipherSuites: ["TLS_AES_128_GCM_SHA256"], psks: [psk] }, { psks: [k384] });
  await rejects(p, "server", "unknown_psk_identity", "peer_incompatible.unknown_psk_identity");
});

Deno.test("external PSK: a ticket and an external PSK offered together; the ticket first", async () => {
  const cert = await generateTestCertificate("ecdsa-p256");
  const serverConfig: ServerConfig = {
    certificates: [{ chain: cert.chain, key: await loadPrivateKey(cert.keyPkcs8) }],
    psks: [psk],
  };
  const clientConfig: ClientConfig = { serverName: "localhost", verifyPeer: () => true };
  const connect = async (client: ClientConfig) => {
    const c = createBioPair(), s = createBioPair();
    const sessions: TlsSession[] = [];
    const p: Pair = {
      client: createClient(client, c.engine),
      server: createServer(serverConfig, s.engine),
      c,
      s,
    };
    on(p.client, "session", (x) => sessions.push(x));
    await handshake(p);
    p.client.read(new Uint8Array(16));
    return { p, sessions };
  };
  const first = await connect(clientConfig);
  assert.ok(first.sessions.length > 0);
  let identities = 0;
  const both = await connect({ ...clientConfig, session: first.sessions[0]!, psks: [psk] });
  assert.equal(both.p.server.handshakeInfo?.resumed, true);
  assert.equal(both.p.server.handshakeInfo?.externalPsk, undefined);
  // A ticket the server no longer knows: the external PSK at index 1 is used.
  const c = createBioPair(), s = createBioPair();
  const p: Pair = {
    client: createClient({ ...clientConfig, session: first.sessions[0]!, psks: [psk] }, c.engine),
    server: createServer({ ...serverConfig }, s.engine),
    c,
    s,
  };
  await handshake(p, (bytes, from) => {
    if (from === "client" && bytes[0] === 22 && bytes[5] === H.clientHello) {
      const ch = decodeClientHello(bytes.subarray(9, 5 + ((bytes[3]! << 8) | bytes[4]!)));
      identities = decodeOfferedPsks(findExtension(ch.extensions, E.preSharedKey)!, "t").identities.length;
    }
    return bytes;
  });
  assert.equal(identities, 2);
  assert.ok(p.server.handshakeInfo?.externalPsk);
  assert.equal(p.server.handshakeInfo?.resumed, false);
  // No ticket is issued after an external PSK handshake.
  let tickets = 0;
  on(p.client, "ticket", () => tickets++);
  transfer(p);
  p.client.read(new Uint8Array(16));
  assert.equal(tickets, 0);
});

Deno.test("external PSK: no early data is offered with an external PSK", async () => {
  const p = pskPair({ earlyData: true });
  await handshake(p);
  assert.equal(p.client.handshakeInfo?.earlyData, undefined);
});

Deno.test("external PSK: a selected_identity out of range: illegal_parameter", async () => {
  const p = pskPair();
  await rejects(
    p,
    "client",
    "illegal_parameter",
    "peer_misbehaved.bad_psk_selection",
    editServerHello((sh) => ({
      ...sh,
      extensions: replace(E.preSharedKey, Uint8Array.of(0, 1))([...sh.extensions]),
    })),
  );
});

Deno.test("external PSK: psk_ke selected by a server when the client offered psk_dhe_ke only", async () => {
  const p = pskPair();
  await rejects(
    p,
    "client",
    "illegal_parameter",
    "peer_misbehaved.bad_psk_mode",
    editServerHello((sh) => ({ ...sh, extensions: sh.extensions.filter((e) => e.type !== E.keyShare) })),
  );
});

Deno.test("external PSK: a binder altered in flight: decrypt_error", async () => {
  const p = pskPair();
  await rejects(
    p,
    "server",
    "decrypt_error",
    "peer_misbehaved.bad_psk_binder",
    editPlain("client", H.clientHello, (b) => {
      const out = b.slice();
      out[out.length - 1]! ^= 1;
      return out;
    }),
  );
});

Deno.test("external PSK: a binder of the wrong length: decrypt_error", async () => {
  const p = pskPair();
  await rejects(
    p,
    "server",
    "decrypt_error",
    "peer_misbehaved.bad_psk_binder",
    editClientHello((ch) => {
      const offered = decodeOfferedPsks(findExtension(ch.extensions, E.preSharedKey)!, "t");
      const data = encodeOfferedPsks(offered.identities, [new Uint8Array(48)]);
      return { ...ch, extensions: replace(E.preSharedKey, data)([...ch.extensions]) };
    }),
  );
});

Deno.test("external PSK: the binder is HMAC under the 'ext binder' key (RFC 8446 §7.1)", async () => {
  let binder: Uint8Array | undefined, truncatedHash: Uint8Array | undefined;
  const p = pskPair();
  await handshake(p, (bytes, from) => {
    if (from === "client" && bytes[0] === 22 && bytes[5] === H.clientHello && !binder) {
      const msg = bytes.subarray(5, 5 + ((bytes[3]! << 8) | bytes[4]!));
      const ch = decodeClientHello(msg.subarray(4));
      const offered = decodeOfferedPsks(findExtension(ch.extensions, E.preSharedKey)!, "t");
      binder = offered.binders[0]!;
      truncatedHash = SHA256.digest(msg.subarray(0, msg.length - offered.bindersLength));
    }
    return bytes;
  });
  // Early Secret = HKDF-Extract(0, PSK); binder_key = Derive-Secret(., "ext binder", "").
  const early = SHA256.hkdfExtract(new Uint8Array(32), key);
  const binderKey = hkdfExpandLabel(SHA256, early, "ext binder", SHA256.digest(new Uint8Array(0)), 32);
  const finishedKey = hkdfExpandLabel(SHA256, binderKey, "finished", new Uint8Array(0), 32);
  assert.deepEqual(binder, SHA256.hmac(finishedKey, truncatedHash!));
});

Deno.test("external PSK: configuration limits and bad combinations are refused", () => {
  const bio = () => createBioPair().engine;
  const long = new Uint8Array(LIMITS.maxPskIdentityLength + 1).fill(65);
  assert.doesNotThrow(() => createClient({ psks: [{ identity: long.subarray(1), key }] }, bio()));
  assert.throws(() => createClient({ psks: [{ identity: long, key }] }, bio()), RangeError);
  assert.throws(() => createClient({ psks: [{ identity: "", key }] }, bio()), RangeError);
  assert.throws(
    () => createClient({ psks: [{ identity: "a", key: new Uint8Array(15) }] }, bio()),
    RangeError,
  );
  assert.doesNotThrow(() => createClient({ psks: [{ identity: "a", key: new Uint8Array(512) }] }, bio()));
  assert.throws(
    () => createClient({ psks: [{ identity: "a", key: new Uint8Array(513) }] }, bio()),
    RangeError,
  );
  const many = Array.from({ length: LIMITS.maxExternalPsks + 1 }, (_, i) => ({ identity: `id${i}`, key }));
  assert.doesNotThrow(() => createClient({ psks: many.slice(1) }, bio()));
  assert.throws(() => createClient({ psks: many }, bio()), RangeError);
  assert.throws(() => createClient({ psks: [psk, psk] }, bio()), RangeError);
  assert.throws(() => createClient({ psks: [psk], maxVersion: "TLSv1.2" }, bio()), RangeError);
  assert.throws(() => createServer({ psks: [psk], maxVersion: "TLSv1.2" }, bio()), RangeError);
  assert.throws(
    () => createClient({ psks: [psk], pskModes: ["psk_ke", "psk_ke"] }, bio()),
    RangeError,
  );
  assert.throws(() => createClient({ psks: [psk], pskModes: [] }, bio()), RangeError);
  assert.throws(
    () => createClient({ verifyPeer: () => true, pskModes: ["psk_ke"] }, bio()),
    TypeError,
  );
  assert.throws(() => createServer({ pskModes: ["psk_ke"] }, bio()), TypeError);
  assert.throws(() => createServer({}, bio()), TypeError);
  assert.throws(
    () =>
      createClient({ psks: [{ ...psk, hash: "SHA-384" }], cipherSuites: ["TLS_AES_128_GCM_SHA256"] }, bio()),
    RangeError,
  );
  // A PSK-only client or certificate-less server speaks TLS 1.3 only, whatever minVersion says.
  const c = createClient({ psks: [psk], minVersion: "TLSv1.2" }, bio());
  assert.ok(c);
});

Deno.test("external PSK: a server without certificates refuses a TLS 1.2-only client", async () => {
  const c = createBioPair(), s = createBioPair();
  const p: Pair = {
    client: createClient({ verifyPeer: () => true, maxVersion: "TLSv1.2" }, c.engine),
    server: createServer({ psks: [psk] }, s.engine),
    c,
    s,
  };
  await rejects(p, "server", "protocol_version", "peer_incompatible.no_common_version");
  assertFailed(p.server, "protocol_version", "peer_incompatible.no_common_version");
});

Deno.test("external PSK: the server looks up at most maxPskIdentitiesTried identities", async () => {
  const asked: number[] = [];
  const ids = Array.from({ length: LIMITS.maxPskIdentitiesTried + 1 }, (_, i) => ({
    identity: `id${i}`,
    key,
  }));
  const p = pskPair({ psks: ids }, {
    psks: [],
    pskLookup: (id) => {
      asked.push(id[2]! - 48);
      return id[2] === 48 + LIMITS.maxPskIdentitiesTried ? key : undefined;
    },
  });
  await rejects(p, "server", "unknown_psk_identity", "peer_incompatible.unknown_psk_identity");
  assert.deepEqual(asked, [...Array(LIMITS.maxPskIdentitiesTried).keys()]);
});

Deno.test("external PSK: an offered identity over the limit never reaches the lookup", async () => {
  const asked: number[] = [];
  const long = new Uint8Array(LIMITS.maxPskIdentityLength).fill(66);
  // The client's own limit is the same, so the long identity is put on the wire by hand.
  const p = pskPair({ psks: [{ identity: long, key }] }, {
    psks: [],
    pskLookup: (id) => {
      asked.push(id.length);
      return undefined;
    },
  });
  await rejects(
    p,
    "server",
    "unknown_psk_identity",
    "peer_incompatible.unknown_psk_identity",
    editClientHello((ch) => {
      // The identity one byte longer than the limit (the binder no longer matters: it is never checked).
      const offered = decodeOfferedPsks(findExtension(ch.extensions, E.preSharedKey)!, "t");
      const grown = [{ identity: new Uint8Array(long.length + 1).fill(66), obfuscatedTicketAge: 0 }];
      const data = encodeOfferedPsks(grown, offered.binders);
      return { ...ch, extensions: replace(E.preSharedKey, data)([...ch.extensions]) };
    }),
  );
  assert.deepEqual(asked, []);
});

Deno.test("external PSK: psk_ke from a client that sends no key_share or supported_groups", async () => {
  const bare = (exts: Extension[]) =>
    exts.filter((e) => e.type !== E.keyShare && e.type !== E.supportedGroups);
  const p = pskPair({ pskModes: ["psk_ke"], helloExtensions: bare }, { pskModes: ["psk_ke"] });
  await handshake(p);
  assert.equal(p.server.handshakeInfo?.externalPsk?.mode, "psk_ke");
  await exchange(p);
  // Without psk_ke on the server, nothing is left to agree on.
  const q = pskPair({ pskModes: ["psk_ke"], helloExtensions: bare });
  await rejects(q, "server", "handshake_failure", "peer_incompatible.psk_required");
  // One without the other is still refused (RFC 8446 §9.2).
  const r = pskPair({
    pskModes: ["psk_ke"],
    helloExtensions: (exts) => exts.filter((e) => e.type !== E.keyShare),
  }, { pskModes: ["psk_ke"] });
  await rejects(r, "server", "missing_extension", "peer_misbehaved.missing_key_share");
});

Deno.test("external PSK: a second ClientHello with a wrong binder after a HelloRetryRequest", async () => {
  const p = pskPair({ groups: ["x25519", "secp256r1"] }, { groups: ["secp256r1"] });
  let hellos = 0;
  await rejects(
    p,
    "server",
    "decrypt_error",
    "peer_misbehaved.bad_psk_binder",
    editPlain("client", H.clientHello, (b) => {
      if (++hellos < 2) return b;
      const out = b.slice();
      out[out.length - 1]! ^= 1;
      return out;
    }),
  );
  assert.equal(hellos, 2);
});
