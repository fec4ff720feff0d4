/**
 * Raw public keys (RFC 7250) in TLS 1.3, in memory: the server's key, client authentication with a raw key,
 * both, the fall-back to X.509, and every refusal with its alert and code: pins that do not match, types that
 * do not meet, extensions out of place or malformed at each length field's limits, and Certificates that
 * are not one readable SubjectPublicKeyInfo.
 */
import assert from "node:assert/strict";
import {
  type ClientConfig,
  createBioPair,
  createClient,
  createServer,
  loadPrivateKey,
  on,
  type ServerConfig,
  type SigningKey,
  TicketKeys,
  type TlsSession,
} from "../mod.ts";
import { drain, handshake, type Pair, seededRandom, writeAll } from "../testing/pair.ts";
import { generateTestCertificate, type TestKeyType } from "../testing/pki.ts";
import { type Message, onProtectedMessages } from "../testing/tamper.ts";
import { editClientHello, rejects, replace, withExt, without } from "../testing/reject.ts";
import { ExtensionType as E, HandshakeType as H } from "../engine/msgs/enums.ts";
import {
  decodeEncryptedExtensions,
  encodeCertificate,
  encodeEncryptedExtensions,
} from "../engine/msgs/handshake.ts";
import type { Extension } from "../engine/msgs/extensions.ts";
import { decodeCertificateTypeList, encodeCertificateTypeList } from "../engine/raw_keys.ts";

const RPK = 2;
const X509 = 0;

async function keyOf(type: TestKeyType, name = "localhost"): Promise<SigningKey> {
  return await loadPrivateKey((await generateTestCertificate(type, name)).keyPkcs8);
}

const serverKey = () => keyOf("ed25519", "server.rpk");
const clientKey = () => keyOf("ecdsa-p256", "client.rpk");

/** Options where `undefined` removes a default. */
type Loose<T> = { [K in keyof T]?: T[K] | undefined };

/** A TLS 1.3 pair where the server presents its ed25519 key raw, and the client pins it (unless told otherwise). */
async function rawPair(
  opts: { client?: Loose<ClientConfig>; server?: Loose<ServerConfig> } = {},
): Promise<Pair> {
  const key = await serverKey();
  const c = createBioPair();
  const s = createBioPair();
  const client = createClient({
    serverName: "localhost",
    minVersion: "TLSv1.3",
    random: seededRandom(1),
    rawPublicKeys: { pinnedKeys: [key.publicKey.spki] },
    ...opts.client as Partial<ClientConfig>,
  }, c.engine);
  const server = createServer({
    certificates: [],
    minVersion: "TLSv1.3",
    rawPublicKey: { key },
    random: seededRandom(2),
    ...opts.server as Partial<ServerConfig>,
  }, s.engine);
  return { client, server, c, s };
}

async function assertData(p: Pair): Promise<void> {
  await writeAll(p.client, new TextEncoder().encode("ping"));
  p.s.network.write(p.c.network.read(p.c.network.pending()));
  assert.equal(new TextDecoder().decode(await drain(p.server)), "ping");
}

/** Rewrite the server's EncryptedExtensions list. */
function editEE(p: Pair, fn: (exts: Extension[]) => Extension[]) {
  return onProtectedMessages(p.server, (m: Message) => {
    if (m.type !== H.encryptedExtensions) return m;
    const exts = decodeEncryptedExtensions(m.body);
    return { ...m, body: encodeEncryptedExtensions(fn(exts)).subarray(4) };
  });
}

/** Replace the server's Certificate entries. */
function certificateEntries(p: Pair, entries: readonly Uint8Array[]) {
  const body = encodeCertificate({
    context: new Uint8Array(0),
    entries: entries.map((certData) => ({ certData, extensions: [] })),
  }).subarray(4);
  return onProtectedMessages(p.server, (m: Message) => (m.type === H.certificate ? { ...m, body } : m));
}

// ---- Round trips -------------------------------------------------------------------------------------

Deno.test("rawPublicKeys: the server presents a raw key, the client accepts its pinned SPKI", async () => {
  const key = await serverKey();
  const p = await rawPair();
  await handshake(p);
  const info = p.client.handshakeInfo!;
  assert.equal(info.version, "TLSv1.3");
  assert.equal(info.peerCertificateType, "RawPublicKey");
  assert.deepEqual(info.peerRawPublicKey, key.publicKey.spki);
  assert.deepEqual(info.peerCertificates, []);
  assert.deepEqual(p.client.peerCertificates, []);
  assert.equal(info.signatureScheme, "ed25519");
  assert.equal(p.server.handshakeInfo!.peerCertificateType, undefined);
  await assertData(p);
});

Deno.test("rawPublicKeys: a pinned PEM key and a verifyKey callback that sees the SPKI and serverName", async () => {
  const key = await serverKey();
  const pem = `-----BEGIN PUBLIC KEY-----\n${
    btoa(String.fromCharCode(...key.publicKey.spki))
  }\n-----END PUBLIC KEY-----\n`;
  await handshake(await rawPair({ client: { rawPublicKeys: { pinnedKeys: [pem] } } }));
  const seen: { spki: Uint8Array; serverName: string | undefined }[] = [];
  const verifyKey = (
    i: { spki: Uint8Array; serverName: string | undefined },
  ) => (seen.push(i), Promise.resolve(true));
  await handshake(await rawPair({ client: { rawPublicKeys: { verifyKey } } }));
  assert.equal(seen.length, 1);
  assert.deepEqual(seen[0]!.spki, key.publicKey.spki);
  assert.equal(seen[0]!.serverName, "localhost");
});

Deno.test("rawPublicKeys: client authentication with a raw key, the server pinning it", async () => {
  const ck = await clientKey();
  const p = await rawPair({
    client: { rawPublicKeys: { pinnedKeys: [(await serverKey()).publicKey.spki], clientKey: ck } },
    server: { clientAuth: { required: true, rawPublicKeys: { pinnedKeys: [ck.publicKey.spki] } } },
  });
  await handshake(p);
  const info = p.server.handshakeInfo!;
  assert.equal(info.peerCertificateType, "RawPublicKey");
  assert.deepEqual(info.peerRawPublicKey, ck.publicKey.spki);
  assert.equal(p.client.handshakeInfo!.peerCertificateType, "RawPublicKey");
  await assertData(p);
});

Deno.test("rawPublicKeys: an X.509 server and a raw-key client: the client's raw key, the server's chain", async () => {
  const ck = await clientKey();
  const cert = await generateTestCertificate("ecdsa-p256");
  const p = await rawPair({
    client: {
      dangerouslyDisableCertificateVerification: true,
      rawPublicKeys: { serverTypes: ["X509"], verifyKey: () => false, clientKey: ck },
    },
    server: {
      rawPublicKey: undefined,
      certificates: [{ chain: cert.chain, key: await loadPrivateKey(cert.keyPkcs8) }],
      clientAuth: { rawPublicKeys: { pinnedKeys: [ck.publicKey.spki] } },
    },
  });
  await handshake(p);
  assert.equal(p.client.handshakeInfo!.peerCertificates.length, 1);
  assert.equal(p.client.handshakeInfo!.peerCertificateType, undefined);
  assert.deepEqual(p.server.handshakeInfo!.peerRawPublicKey, ck.publicKey.spki);
});

Deno.test("rawPublicKeys: falls back to X.509 when the server has no raw key and X509 is offered second", async () => {
  const cert = await generateTestCertificate("ecdsa-p256");
  const p = await rawPair({
    client: {
      trustAnchors: [cert.certPem],
      rawPublicKeys: {
        serverTypes: ["RawPublicKey", "X509"],
        pinnedKeys: [(await serverKey()).publicKey.spki],
      },
    },
    server: {
      rawPublicKey: undefined,
      certificates: [{ chain: cert.chain, key: await loadPrivateKey(cert.keyPkcs8) }],
    },
  });
  await handshake(p);
  assert.deepEqual(p.client.handshakeInfo!.peerCertificates, cert.chain);
  assert.equal(p.client.handshakeInfo!.peerCertificateType, undefined);
  await assertData(p);
});

Deno.test("rawPublicKeys: a server with both sends its chain to a client that does not offer raw keys", async () => {
  const cert = await generateTestCertificate("ecdsa-p256");
  const p = await rawPair({
    client: { rawPublicKeys: undefined, minVersion: "TLSv1.2", trustAnchors: [cert.certPem] },
    server: {
      minVersion: "TLSv1.2",
      certificates: [{ chain: cert.chain, key: await loadPrivateKey(cert.keyPkcs8) }],
    },
  });
  await handshake(p);
  assert.equal(p.client.handshakeInfo!.version, "TLSv1.3");
  assert.deepEqual(p.client.handshakeInfo!.peerCertificates, cert.chain);
});

Deno.test("rawPublicKeys: an optional raw-key client auth is not requested from a client without raw keys", async () => {
  const p = await rawPair({
    server: { clientAuth: { rawPublicKeys: { pinnedKeys: [(await clientKey()).publicKey.spki] } } },
  });
  await handshake(p);
  assert.equal(p.server.handshakeInfo!.peerRawPublicKey, undefined);
  assert.deepEqual(p.server.handshakeInfo!.peerCertificates, []);
});

Deno.test("rawPublicKeys: a session resumes under the same pins, and is not offered under others", async () => {
  const spki = (await serverKey()).publicKey.spki;
  const other = (await keyOf("ed25519", "other.rpk")).publicKey.spki;
  const store = new TicketKeys(seededRandom(9));
  const connect = async (client: Loose<ClientConfig>) => {
    const p = await rawPair({ client, server: { tickets: { store } } });
    const sessions: TlsSession[] = [];
    on(p.client, "session", (s) => sessions.push(s));
    await handshake(p);
    p.client.read(new Uint8Array(16)); // the tickets come after the handshake
    return { p, sessions };
  };
  const first = await connect({});
  assert.equal(first.sessions.length, 2);
  const again = await connect({ session: first.sessions[0]! });
  assert.equal(again.p.client.handshakeInfo!.resumed, true);
  assert.equal(again.p.server.handshakeInfo!.resumed, true);
  // Other pins (the server's key among them): the session is not offered, the handshake is a full one.
  const elsewhere = await connect({
    session: first.sessions[1]!,
    rawPublicKeys: { pinnedKeys: [other, spki] },
  });
  assert.equal(elsewhere.p.client.handshakeInfo!.resumed, false);
  assert.equal(elsewhere.p.client.handshakeInfo!.peerCertificateType, "RawPublicKey");
});

Deno.test("rawPublicKeys: a server declines a ticket issued under other client key pins", async () => {
  const store = new TicketKeys(seededRandom(9));
  const pins = async (name: string) => ({
    tickets: { store },
    clientAuth: { rawPublicKeys: { pinnedKeys: [(await keyOf("ecdsa-p256", name)).publicKey.spki] } },
  });
  const connect = async (server: Loose<ServerConfig>, session?: TlsSession) => {
    const p = await rawPair({ client: session ? { session } : {}, server });
    const sessions: TlsSession[] = [];
    on(p.client, "session", (s) => sessions.push(s));
    await handshake(p);
    p.client.read(new Uint8Array(16));
    return { p, sessions };
  };
  const a = await pins("a.rpk");
  const first = await connect(a);
  assert.equal(first.sessions.length, 2);
  assert.equal((await connect(a, first.sessions[0]!)).p.server.handshakeInfo!.resumed, true);
  const other = await connect(await pins("b.rpk"), first.sessions[1]!);
  assert.equal(other.p.server.handshakeInfo!.resumed, false);
});

Deno.test("rawPublicKeys: no tickets after a client authenticated with a raw key", async () => {
  const ck = await clientKey();
  const p = await rawPair({
    client: { rawPublicKeys: { pinnedKeys: [(await serverKey()).publicKey.spki], clientKey: ck } },
    server: { clientAuth: { rawPublicKeys: { pinnedKeys: [ck.publicKey.spki] } } },
  });
  const sessions: TlsSession[] = [];
  on(p.client, "session", (s) => sessions.push(s));
  await handshake(p);
  p.client.read(new Uint8Array(16));
  assert.equal(p.server.handshakeInfo!.peerCertificateType, "RawPublicKey");
  assert.equal(sessions.length, 0);
});

// ---- Refusals ---------------------------------------------------------------------------------------

Deno.test("rawPublicKeys: a server key that is not pinned is bad_certificate", async () => {
  const other = await keyOf("ed25519", "other.rpk");
  const p = await rawPair({ client: { rawPublicKeys: { pinnedKeys: [other.publicKey.spki] } } });
  await rejects(p, "client", "bad_certificate", "certificate.raw_key_not_trusted");
});

Deno.test("rawPublicKeys: a key the (async) callback refuses is bad_certificate", async () => {
  const p = await rawPair({ client: { rawPublicKeys: { verifyKey: () => Promise.resolve(false) } } });
  await rejects(p, "client", "bad_certificate", "certificate.raw_key_not_trusted");
});

Deno.test("rawPublicKeys: a client key the server does not pin is bad_certificate", async () => {
  const ck = await clientKey();
  const p = await rawPair({
    client: { rawPublicKeys: { pinnedKeys: [(await serverKey()).publicKey.spki], clientKey: ck } },
    server: { clientAuth: { rawPublicKeys: { pinnedKeys: [(await serverKey()).publicKey.spki] } } },
  });
  await rejects(p, "server", "bad_certificate", "certificate.raw_key_not_trusted");
});

Deno.test("rawPublicKeys: a raw-key-only server refuses a client that does not take raw keys", async () => {
  const p = await rawPair({
    client: { rawPublicKeys: undefined, dangerouslyDisableCertificateVerification: true },
  });
  await rejects(p, "server", "unsupported_certificate", "peer_incompatible.no_common_certificate_type");
});

Deno.test("rawPublicKeys: an X.509-only server refuses a client that takes only raw keys (RFC 7250 §4.2)", async () => {
  const cert = await generateTestCertificate("ecdsa-p256");
  const p = await rawPair({
    server: {
      rawPublicKey: undefined,
      certificates: [{ chain: cert.chain, key: await loadPrivateKey(cert.keyPkcs8) }],
    },
  });
  await rejects(p, "server", "unsupported_certificate", "peer_incompatible.no_common_certificate_type");
});

Deno.test("rawPublicKeys: a required raw-key client auth refuses a client that offers no raw key", async () => {
  const p = await rawPair({
    server: {
      clientAuth: { required: true, rawPublicKeys: { pinnedKeys: [(await clientKey()).publicKey.spki] } },
    },
  });
  await rejects(p, "server", "unsupported_certificate", "peer_incompatible.no_common_certificate_type");
});

Deno.test("rawPublicKeys: EncryptedExtensions without server_certificate_type, to a raw-key-only client", async () => {
  const p = await rawPair();
  await rejects(
    p,
    "client",
    "unsupported_certificate",
    "peer_incompatible.no_common_certificate_type",
    editEE(p, without(E.serverCertificateType)),
  );
});

Deno.test("rawPublicKeys: a type the client did not offer in EncryptedExtensions is illegal_parameter", async () => {
  for (const t of [X509, 1, 3, 255]) {
    const p = await rawPair();
    await rejects(
      p,
      "client",
      "illegal_parameter",
      "peer_misbehaved.unoffered_certificate_type",
      editEE(p, replace(E.serverCertificateType, Uint8Array.of(t))),
    );
  }
  // The client offers only RawPublicKey for itself; the server answers X509.
  const ck = await clientKey();
  const p = await rawPair({
    client: { rawPublicKeys: { pinnedKeys: [(await serverKey()).publicKey.spki], clientKey: ck } },
    server: { clientAuth: { rawPublicKeys: { pinnedKeys: [ck.publicKey.spki] } } },
  });
  await rejects(
    p,
    "client",
    "illegal_parameter",
    "peer_misbehaved.unoffered_certificate_type",
    editEE(p, replace(E.clientCertificateType, Uint8Array.of(X509))),
  );
});

Deno.test("rawPublicKeys: server_certificate_type in EncryptedExtensions must be exactly one byte", async () => {
  for (
    const [body, code] of [
      [new Uint8Array(0), "invalid_message.too_short"],
      [Uint8Array.of(RPK, RPK), "invalid_message.trailing_data"],
      [Uint8Array.of(1, RPK), "invalid_message.trailing_data"],
    ] as const
  ) {
    const p = await rawPair();
    await rejects(p, "client", "decode_error", code, editEE(p, replace(E.serverCertificateType, body)));
  }
});

Deno.test("rawPublicKeys: certificate type extensions the client never offered are unsupported_extension", async () => {
  const cert = await generateTestCertificate("ecdsa-p256");
  for (const type of [E.serverCertificateType, E.clientCertificateType]) {
    const p = await rawPair({
      client: { rawPublicKeys: undefined, dangerouslyDisableCertificateVerification: true },
      server: {
        rawPublicKey: undefined,
        certificates: [{ chain: cert.chain, key: await loadPrivateKey(cert.keyPkcs8) }],
        encryptedExtensions: withExt(type, Uint8Array.of(X509)),
      },
    });
    await rejects(p, "client", "unsupported_extension", "peer_misbehaved.unsolicited_extension");
  }
});

Deno.test("rawPublicKeys: a Certificate with two entries under RawPublicKey is decode_error", async () => {
  const spki = (await serverKey()).publicKey.spki;
  const p = await rawPair();
  await rejects(
    p,
    "client",
    "decode_error",
    "invalid_message.raw_key_entries",
    certificateEntries(p, [spki, spki]),
  );
});

Deno.test("rawPublicKeys: a Certificate entry that is not a SubjectPublicKeyInfo is bad_certificate", async () => {
  const cert = await generateTestCertificate("ed25519");
  for (const entry of [Uint8Array.of(0x30, 3, 1, 2, 3), Uint8Array.of(0), cert.chain[0]!]) {
    const p = await rawPair();
    await rejects(p, "client", "bad_certificate", "certificate.bad_encoding", certificateEntries(p, [entry]));
  }
});

Deno.test("rawPublicKeys: an empty Certificate entry is decode_error (cert_data<1..2^24-1>)", async () => {
  const p = await rawPair();
  await rejects(
    p,
    "client",
    "decode_error",
    "invalid_message.bad_length",
    certificateEntries(p, [new Uint8Array(0)]),
  );
});

Deno.test("rawPublicKeys: the server reads the client's raw key as strictly: two entries, then garbage", async () => {
  const ck = await clientKey();
  const clientAuth = { required: true, rawPublicKeys: { pinnedKeys: [ck.publicKey.spki] } };
  for (
    const [entries, alert, code] of [
      [[ck.publicKey.spki, ck.publicKey.spki], "decode_error", "invalid_message.raw_key_entries"],
      [[Uint8Array.of(0x30, 0)], "bad_certificate", "certificate.bad_encoding"],
    ] as const
  ) {
    const p = await rawPair({
      client: { rawPublicKeys: { pinnedKeys: [(await serverKey()).publicKey.spki], clientKey: ck } },
      server: { clientAuth },
    });
    const body = encodeCertificate({
      context: new Uint8Array(0),
      entries: entries.map((certData) => ({ certData, extensions: [] })),
    }).subarray(4);
    const f = onProtectedMessages(p.client, (m: Message) => (m.type === H.certificate ? { ...m, body } : m));
    await rejects(p, "server", alert, code, f);
  }
});

Deno.test("rawPublicKeys: a raw key where a chain was negotiated is bad_certificate", async () => {
  // The server answers X509 (the client offered it second) but sends its SPKI as the "chain".
  const p = await rawPair({
    client: {
      dangerouslyDisableCertificateVerification: true,
      rawPublicKeys: {
        serverTypes: ["RawPublicKey", "X509"],
        pinnedKeys: [(await serverKey()).publicKey.spki],
      },
    },
  });
  await rejects(
    p,
    "client",
    "bad_certificate",
    "certificate.bad_encoding",
    editEE(p, replace(E.serverCertificateType, Uint8Array.of(X509))),
  );
});

Deno.test("rawPublicKeys: the ClientHello type lists are <1..2^8-1>: empty, short and trailing bytes are decode_error", async () => {
  for (const type of [E.serverCertificateType, E.clientCertificateType]) {
    for (
      const [body, code] of [
        [Uint8Array.of(0), "invalid_message.bad_length"],
        [new Uint8Array(0), "invalid_message.too_short"],
        [Uint8Array.of(3, RPK), "invalid_message.too_short"],
        [Uint8Array.of(1, RPK, 0), "invalid_message.trailing_data"],
      ] as const
    ) {
      const p = await rawPair({ server: { clientAuth: { rawPublicKeys: { verifyKey: () => true } } } });
      const f = editClientHello((ch) => ({
        ...ch,
        extensions: [...without(type)([...ch.extensions]), { type, data: body }],
      }));
      await rejects(p, "server", "decode_error", code, f);
    }
  }
});

Deno.test("rawPublicKeys: a ClientHello type list of 255 entries (the most) is read in full", async () => {
  const list = new Uint8Array(255).fill(7);
  list[254] = RPK;
  const body = encodeCertificateTypeList([...list]);
  assert.equal(body[0], 255);
  const p = await rawPair({ client: { helloExtensions: replace(E.serverCertificateType, body) } });
  await handshake(p);
  assert.equal(p.client.handshakeInfo!.peerCertificateType, "RawPublicKey");
  assert.equal(decodeCertificateTypeList(body, "x").length, 255);
});

// ---- Configuration --------------------------------------------------------------------------------

Deno.test("rawPublicKeys: configurations that would accept any key, or speak TLS 1.2, are refused", async () => {
  const { engine } = createBioPair();
  const key = await serverKey();
  assert.throws(() => createClient({ minVersion: "TLSv1.3", rawPublicKeys: {} }, engine), TypeError);
  assert.throws(
    () =>
      createClient({ minVersion: "TLSv1.3", rawPublicKeys: { pinnedKeys: [Uint8Array.of(1, 2)] } }, engine),
    TypeError,
  );
  assert.throws(() => createClient({ rawPublicKeys: { verifyKey: () => true } }, engine), RangeError);
  assert.throws(
    () =>
      createClient(
        { minVersion: "TLSv1.3", rawPublicKeys: { serverTypes: ["X509"], verifyKey: () => true } },
        engine,
      ),
    TypeError, // X.509 offered without any way to verify a chain
  );
  assert.throws(
    () =>
      createClient({
        minVersion: "TLSv1.3",
        rawPublicKeys: { serverTypes: ["OpenPGP" as "X509"], verifyKey: () => true },
      }, engine),
    RangeError,
  );
  assert.throws(() => createServer({ certificates: [], rawPublicKey: { key } }, engine), RangeError);
  assert.throws(() => createServer({ certificates: [], minVersion: "TLSv1.3" }, engine), TypeError);
  const other = await clientKey();
  assert.throws(
    () =>
      createServer({
        certificates: [],
        minVersion: "TLSv1.3",
        rawPublicKey: { key, spki: other.publicKey.spki },
      }, engine),
    TypeError,
  );
  createServer(
    { certificates: [], minVersion: "TLSv1.3", rawPublicKey: { key, spki: key.publicKey.spki } },
    engine,
  );
});

// ---- Beside external PSKs ----------------------------------------------------------------------------

Deno.test("rawPublicKeys beside external PSKs: a known PSK needs no certificate type; an unknown one fails on the type", async () => {
  const psk = { identity: "node-1", key: new Uint8Array(32).fill(5) };
  // The server has a raw key and a PSK; the client has the PSK and takes X.509 only (no raw keys).
  const known = await rawPair({
    client: { rawPublicKeys: undefined, psks: [psk], trustAnchors: undefined },
    server: { psks: [psk] },
  });
  await handshake(known);
  assert.equal(new TextDecoder().decode(known.client.handshakeInfo!.externalPsk!.identity), "node-1");
  assert.equal(known.client.handshakeInfo!.peerCertificateType, undefined);
  // The same client with an identity the server does not know: no PSK is selected, and no certificate type is in common.
  const unknown = await rawPair({
    client: {
      rawPublicKeys: undefined,
      psks: [{ ...psk, identity: "node-2" }],
      trustAnchors: undefined,
    },
    server: { psks: [psk] },
  });
  await rejects(unknown, "server", "unsupported_certificate", "peer_incompatible.no_common_certificate_type");
});
