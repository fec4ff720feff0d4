/**
 * Encrypted Client Hello (draft-ietf-tls-esni, RFC 9849) in memory, both roles: accepted (the server sees the
 * inner name), rejected with retry configurations (and the retry that then succeeds), GREASE against servers
 * with and without keys, HelloRetryRequest with ECH, each HPKE AEAD; tampering (payload, inner hello,
 * confirmations) with the exact alerts; the limits of the new length fields; handshakeInfo and key log lines.
 */
import assert from "node:assert/strict";
import {
  type Filter,
  handshake,
  handshakeExpectingFailure,
  makePair,
  type Pair,
  settled,
} from "../testing/pair.ts";
import {
  assertFailed,
  assertReceived,
  editClientHello,
  editServerHello,
  rejects,
  replace,
  withExt,
  without,
} from "../testing/reject.ts";

import { ExtensionType as E } from "../engine/msgs/enums.ts";
import { decodeServerNameList, type Extension, findExtension } from "../engine/msgs/extensions.ts";
import { type ClientHello, decodeClientHello, encodeClientHello } from "../engine/msgs/handshake.ts";
import { decodeEchClientHello, echInfo, type EchOuter, encodeEchOuter } from "../engine/ech/wire.ts";
import { type HpkeContext, hpkeSetupRecipient, hpkeSetupSender } from "../suites/hpke.ts";
import { Writer } from "../engine/msgs/codec.ts";
import { cat } from "../testing/tamper.ts";
import { toHex } from "../suites/bytes.ts";
import {
  type ClientConfig,
  createBioPair,
  createClient,
  createServer,
  EchRejectedError,
  encodeEchConfigList,
  encodeEchKeyPem,
  generateEchKey,
  type HandshakeInfo,
  nobleProvider,
  on,
  parseEchConfigList,
  type ServerConfig,
} from "../mod.ts";

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const key1 = generateEchKey({ publicName: "public.example", configId: 1 }, nobleProvider, random);
const key2 = generateEchKey({ publicName: "public.example", configId: 2 }, nobleProvider, random);
const list1 = encodeEchConfigList([key1.config]);

function infoOf(p: Pair, who: "client" | "server"): HandshakeInfo {
  const info = (who === "client" ? p.client : p.server).handshakeInfo;
  assert.ok(info, `${who} has no handshakeInfo`);
  return info;
}

function serverNameSeen(p: Pair): string | undefined {
  return infoOf(p, "server").serverName;
}

Deno.test("ECH accepted: the server sees the inner name, the wire only the public one", async () => {
  const p = await makePair({
    client: { serverName: "secret.example", ech: { configList: list1 } },
    server: { echKeys: [encodeEchKeyPem(key1)] },
  });
  await handshake(p);
  assert.equal(infoOf(p, "client").ech, "accepted");
  assert.equal(infoOf(p, "server").ech, "accepted");
  assert.equal(serverNameSeen(p), "secret.example");
});

/** Run the handshake until it fails; return the client's error. */
async function failing(p: Pair, filter?: Filter): Promise<void> {
  await handshakeExpectingFailure(p, filter);
}

Deno.test("ECH rejected (a stale configuration): authenticated for the public name, then ech_required with retry configurations that work", async () => {
  const names: (string | undefined)[] = [];
  const stale = encodeEchConfigList([key2.config]);
  const p = await makePair({
    client: {
      serverName: "secret.example",
      ech: { configList: stale },
      dangerouslyDisableCertificateVerification: false,
      verifyPeer: ({ serverName }) => (names.push(serverName), true),
    },
    server: { echKeys: [encodeEchKeyPem(key1)] },
  });
  await failing(p);
  const err = p.client.error;
  assert.ok(err instanceof EchRejectedError, String(err));
  assert.equal(err.code, "peer_incompatible.ech_rejected");
  assert.equal(err.alert, "ech_required");
  assert.deepEqual(err.retryConfigs, list1);
  assert.equal(err.retryConfigList[0]!.configId, 1);
  assert.equal(err.publicName, "public.example");
  assert.deepEqual(names, ["public.example"]); // the certificate was checked for the public name
  assertFailed(p.client, "ech_required", "peer_incompatible.ech_rejected");
  assertReceived(p.server, "ech_required");
  assert.equal(p.client.handshakeInfo, undefined); // never reported as a success
  // The server saw the outer hello: the public name.
  // The retry, with the server's configurations, is accepted.
  const q = await makePair({
    client: { serverName: "secret.example", ech: { configList: err.retryConfigs! } },
    server: { echKeys: [encodeEchKeyPem(key1)] },
  });
  await handshake(q);
  assert.equal(infoOf(q, "client").ech, "accepted");
  assert.equal(serverNameSeen(q), "secret.example");
});

Deno.test("ECH rejected by a server without keys: ech_required without retry configurations", async () => {
  const p = await makePair({ client: { serverName: "secret.example", ech: { configList: list1 } } });
  await failing(p);
  const err = p.client.error;
  assert.ok(err instanceof EchRejectedError, String(err));
  assert.equal(err.retryConfigs, undefined);
  assertReceived(p.server, "ech_required");
});

/** The client's ClientHellos as sent (bodies), through a filter that records them. */
function recordHellos(): { filter: Filter; hellos: ClientHello[] } {
  const hellos: ClientHello[] = [];
  const filter = editClientHello((ch) => (hellos.push(ch), ch));
  return { filter, hellos };
}

function echOf(ch: ClientHello): Uint8Array | undefined {
  return findExtension(ch.extensions, E.encryptedClientHello);
}

Deno.test("ECH accepted: the outer hello names the public name, carries the outer extension, and no PSK", async () => {
  const { filter, hellos } = recordHellos();
  const p = await makePair({
    client: { serverName: "secret.example", ech: { configList: list1 } },
    server: { echKeys: [encodeEchKeyPem(key1)] },
  });
  await handshake(p, filter);
  assert.equal(hellos.length, 1);
  const outer = hellos[0]!;
  assert.equal(decodeServerNameList(findExtension(outer.extensions, E.serverName)!, "sni"), "public.example");
  const ech = decodeEchClientHello(echOf(outer)!, "test");
  assert.ok(ech !== "inner");
  assert.equal(ech.configId, 1);
  assert.equal(ech.enc.length, 32);
  // Padded (§6.1.3): the plaintext is a multiple of 32 bytes, then the 16-byte tag.
  assert.equal((ech.payload.length - 16) % 32, 0);
  assert.equal(findExtension(outer.extensions, E.preSharedKey), undefined);
});

Deno.test("ECH GREASE (the default): a plausible outer extension, ignored by a server without keys", async () => {
  const { filter, hellos } = recordHellos();
  const p = await makePair({ client: { serverName: "secret.example" } });
  await handshake(p, filter);
  const ech = decodeEchClientHello(echOf(hellos[0]!)!, "test");
  assert.ok(ech !== "inner");
  assert.equal(ech.kdf, 1);
  assert.equal(ech.aead, 1);
  assert.equal(ech.enc.length, 32);
  assert.ok(
    ech.payload.length >= 128 && (ech.payload.length - 16) % 32 === 0,
    `payload ${ech.payload.length}`,
  );
  assert.equal(infoOf(p, "client").ech, "grease");
  assert.equal(infoOf(p, "server").ech, undefined);
  // The real name goes in the clear with GREASE: it is no protection, only camouflage.
  assert.equal(serverNameSeen(p), "secret.example");
});

Deno.test("ECH GREASE against a server with keys: retry_configs are checked and ignored, the handshake succeeds", async () => {
  const ee: Extension[][] = [];
  const p = await makePair({
    client: { serverName: "secret.example" },
    server: { echKeys: [encodeEchKeyPem(key1)], encryptedExtensions: (exts) => (ee.push(exts), exts) },
  });
  await handshake(p);
  assert.deepEqual(findExtension(ee[0]!, E.encryptedClientHello), list1);
  assert.equal(infoOf(p, "client").ech, "grease");
  assert.equal(infoOf(p, "server").ech, "rejected");
});

Deno.test("ECH GREASE off: no encrypted_client_hello at all", async () => {
  const { filter, hellos } = recordHellos();
  const p = await makePair({ client: { ech: { grease: false } } });
  await handshake(p, filter);
  assert.equal(echOf(hellos[0]!), undefined);
  assert.equal(infoOf(p, "client").ech, undefined);
});

for (
  const [what, data] of [["malformed", Uint8Array.of(0, 3, 1, 2, 3)], ["empty", new Uint8Array(0)]] as const
) {
  Deno.test(`ECH: a ${what} retry_configs is decode_error, GREASE or rejected`, async () => {
    for (const ech of [undefined, { configList: encodeEchConfigList([key2.config]) }]) {
      const p = await makePair({
        client: { serverName: "secret.example", ...(ech ? { ech } : {}) },
        server: {
          echKeys: [encodeEchKeyPem(key1)],
          encryptedExtensions: replace(E.encryptedClientHello, data),
        },
      });
      await rejects(p, "client", "decode_error", "invalid_message.bad_ech_extension");
    }
  });
}

Deno.test("ECH accepted: retry_configs in EncryptedExtensions anyway is unsupported_extension", async () => {
  const p = await makePair({
    client: { serverName: "secret.example", ech: { configList: list1 } },
    server: { echKeys: [encodeEchKeyPem(key1)], encryptedExtensions: withExt(E.encryptedClientHello, list1) },
  });
  await rejects(p, "client", "unsupported_extension", "peer_misbehaved.ech_retry_configs_after_accept");
});

/** A pair whose server makes the client retry: it only takes secp256r1, the client's second group. */
function hrrPair(client: Partial<ClientConfig>, server: Partial<ServerConfig> = {}): Promise<Pair> {
  return makePair({
    client: { serverName: "secret.example", groups: ["x25519", "secp256r1"], ...client },
    server: { groups: ["secp256r1"], echKeys: [encodeEchKeyPem(key1)], ...server },
  });
}

Deno.test("ECH across a HelloRetryRequest: confirmed in the HRR, the second inner hello sealed with an empty enc", async () => {
  const { filter, hellos } = recordHellos();
  const p = await hrrPair({ ech: { configList: list1 } });
  await handshake(p, filter);
  assert.equal(hellos.length, 2);
  const second = decodeEchClientHello(echOf(hellos[1]!)!, "test");
  assert.ok(second !== "inner");
  assert.equal(second.enc.length, 0);
  assert.equal(second.configId, 1);
  for (const who of ["client", "server"] as const) {
    assert.equal(infoOf(p, who).ech, "accepted");
    assert.equal(infoOf(p, who).helloRetry, true);
  }
  assert.equal(serverNameSeen(p), "secret.example");
});

Deno.test("ECH rejected at a HelloRetryRequest: the retry goes on for the public name and ends in ech_required", async () => {
  const p = await hrrPair({ ech: { configList: encodeEchConfigList([key2.config]) } });
  await handshakeExpectingFailure(p);
  const err = p.client.error;
  assert.ok(err instanceof EchRejectedError, String(err));
  assert.deepEqual(err.retryConfigs, list1);
  assertReceived(p.server, "ech_required");
});

Deno.test("ECH GREASE across a HelloRetryRequest: the same extension again", async () => {
  const { filter, hellos } = recordHellos();
  const p = await hrrPair({});
  await handshake(p, filter);
  assert.deepEqual(echOf(hellos[1]!), echOf(hellos[0]!));
  assert.equal(infoOf(p, "client").ech, "grease");
});

for (const [name, aead] of [["AES-128-GCM", 1], ["AES-256-GCM", 2], ["ChaCha20-Poly1305", 3]] as const) {
  Deno.test(`ECH with HPKE ${name}`, async () => {
    const key = generateEchKey(
      { publicName: "public.example", configId: 9, cipherSuites: [{ kdf: 1, aead }] },
      nobleProvider,
      random,
    );
    const { filter, hellos } = recordHellos();
    const p = await makePair({
      client: { serverName: "secret.example", ech: { configList: encodeEchConfigList([key.config]) } },
      server: { echKeys: [{ privateKey: key.privateKey, config: key.config }] },
    });
    await handshake(p, filter);
    const ech = decodeEchClientHello(echOf(hellos[0]!)!, "test");
    assert.ok(ech !== "inner");
    assert.equal(ech.aead, aead);
    assert.equal(infoOf(p, "client").ech, "accepted");
  });
}

Deno.test("ECH key rotation: an old key still opens, only the new one is advertised", async () => {
  const p = await makePair({
    client: { serverName: "secret.example", ech: { configList: encodeEchConfigList([key2.config]) } },
    server: { echKeys: [encodeEchKeyPem(key1), { pem: encodeEchKeyPem(key2), retry: false }] },
  });
  await handshake(p);
  assert.equal(infoOf(p, "client").ech, "accepted");
  // A stale config id: the retry configurations are the new key's alone.
  const key3 = generateEchKey({ publicName: "public.example", configId: 3 }, nobleProvider, random);
  const q = await makePair({
    client: { serverName: "secret.example", ech: { configList: encodeEchConfigList([key3.config]) } },
    server: { echKeys: [encodeEchKeyPem(key1), { pem: encodeEchKeyPem(key2), retry: false }] },
  });
  await handshakeExpectingFailure(q);
  assert.deepEqual((q.client.error as EchRejectedError).retryConfigs, list1);
});

Deno.test("ECH key log: ECH_SECRET and ECH_CONFIG keyed by the outer random, the traffic secrets by the inner", async () => {
  const p = await makePair({
    client: { serverName: "secret.example", ech: { configList: list1 } },
    server: { echKeys: [encodeEchKeyPem(key1)] },
  });
  const lines: string[] = [];
  on(p.client, "keylog", (l) => lines.push(l));
  const serverLines: string[] = [];
  on(p.server, "keylog", (l) => serverLines.push(l));
  // The outer ClientHello as sent: record header (5), handshake header (4), legacy_version (2), then random.
  await settled(p.client, () => p.client.doHandshake());
  const outerRandom = toHex(p.c.network.peek().subarray(11, 43));
  await handshake(p);
  const byLabel = new Map(lines.map((l) => [l.split(" ")[0]!, l.split(" ")]));
  const secret = byLabel.get("ECH_SECRET")!, config = byLabel.get("ECH_CONFIG")!;
  assert.equal(secret[2]!.length, 64);
  assert.equal(config[2], toHex(key1.config));
  // draft-ietf-tls-ech-keylogfile: ECH lines by the outer random; with ECH accepted, the rest by the inner.
  assert.equal(secret[1], outerRandom);
  assert.equal(config[1], outerRandom);
  const random = byLabel.get("CLIENT_HANDSHAKE_TRAFFIC_SECRET")![1];
  assert.notEqual(random, outerRandom);
  assert.equal(p.client.handshakeInfo?.ech, "accepted");
  // The server's lines use the inner random too: it is the ClientHello it answered.
  assert.ok(serverLines.some((l) => l.startsWith(`CLIENT_HANDSHAKE_TRAFFIC_SECRET ${random} `)));
});

Deno.test("ECH configuration: a list with nothing usable, or ECH above TLS 1.2 only, is refused by createClient", () => {
  const other = Uint8Array.of(0, 6, 0xfe, 0x0c, 0, 2, 1, 2); // another version only
  const refused: Partial<ClientConfig>[] = [
    { ech: { configList: other } },
    { ech: { configList: Uint8Array.of(0, 1) } },
    { maxVersion: "TLSv1.2", ech: { configList: list1 } },
  ];
  for (const c of refused) {
    const config = { serverName: "a.example", verifyPeer: () => true, ...c };
    assert.throws(() => createClient(config, createBioPair().engine), TypeError);
  }
  const mismatched = { privateKey: key2.privateKey, config: key1.config };
  const psks = [{ identity: "a", key: new Uint8Array(32) }];
  assert.throws(() => createServer({ psks, echKeys: [mismatched] }, createBioPair().engine), TypeError);
});

// ---- tampering ----------------------------------------------------------------------------------------------

const noble = { provider: nobleProvider };

/**
 * A filter that opens the client's first ClientHelloOuter with key1's private key, lets `edit` change the
 * EncodedClientHelloInner, and seals it again (a fresh enc) under the rebuilt outer AAD: a client that sends
 * exactly what the test wants, validly encrypted.
 */
function resealInner(edit: (encoded: Uint8Array) => Uint8Array): Filter {
  let done = false;
  return editClientHello((ch) => {
    if (done) return ch;
    done = true;
    const outer = decodeEchClientHello(echOf(ch)!, "test");
    assert.ok(outer !== "inner");
    const info = echInfo(key1.config);
    const aad = (o: typeof outer) =>
      encodeClientHello({
        ...ch,
        extensions: replace(
          E.encryptedClientHello,
          encodeEchOuter({ ...o, payload: new Uint8Array(o.payload.length) }),
        )([...ch.extensions]),
      }).subarray(4);
    const suite = { kem: 0x20, kdf: outer.kdf, aead: outer.aead };
    const recipient = { privateKey: key1.privateKey, publicKey: parseEchConfigList(list1)[0]!.publicKey };
    const opened = (hpkeSetupRecipient(nobleProvider, suite, recipient, outer.enc, info) as HpkeContext)
      .open(aad(outer), outer.payload)!;
    const plain = edit(opened);
    const sender = hpkeSetupSender(nobleProvider, suite, recipient.publicKey, info, random) as {
      enc: Uint8Array;
      context: HpkeContext;
    };
    const sized = { ...outer, enc: sender.enc, payload: new Uint8Array(plain.length + 16) };
    const payload = sender.context.seal(aad(sized), plain);
    return {
      ...ch,
      extensions: replace(E.encryptedClientHello, encodeEchOuter({ ...sized, payload }))([...ch.extensions]),
    };
  });
}

/** Rewrite the extensions of an EncodedClientHelloInner (its padding dropped). */
function innerExtensions(fn: (exts: Extension[]) => Extension[]): (encoded: Uint8Array) => Uint8Array {
  return (encoded) => {
    // The padding is zeros after the hello: decode the hello alone by its own lengths.
    const ch = decodeEncodedInner(encoded);
    return encodeClientHello({ ...ch, extensions: fn([...ch.extensions]) }).subarray(4);
  };
}

function decodeEncodedInner(encoded: Uint8Array): ClientHello {
  for (let end = encoded.length; end > 0; end--) {
    try {
      return decodeClientHello(encoded.subarray(0, end));
    } catch {
      // shorter: padding is still attached
    }
  }
  throw new Error("no ClientHello in EncodedClientHelloInner");
}

function echPair(client: Partial<ClientConfig> = {}): Promise<Pair> {
  return makePair({
    client: { serverName: "secret.example", ech: { configList: list1 }, ...noble, ...client },
    server: { echKeys: [encodeEchKeyPem(key1)], ...noble },
  });
}

Deno.test("ECH tamper: the resealing helper itself changes nothing when it edits nothing", async () => {
  const p = await echPair();
  await handshake(p, resealInner((x) => x));
  assert.equal(infoOf(p, "server").ech, "accepted");
});

Deno.test("ECH tamper: an altered payload in the first hello cannot be opened: the server goes on with the outer hello", async () => {
  const names: (string | undefined)[] = [];
  const p = await makePair({
    client: { serverName: "secret.example", ech: { configList: list1 }, ...noble },
    server: {
      echKeys: [encodeEchKeyPem(key1)],
      ...noble,
      onClientHello: (info) => void names.push(info.serverName),
    },
  });
  const f = editClientHello((ch) => {
    const data = echOf(ch)!.slice();
    data[data.length - 1]! ^= 1;
    return { ...ch, extensions: replace(E.encryptedClientHello, data)([...ch.extensions]) };
  });
  await handshakeExpectingFailure(p, f);
  assert.deepEqual(names, ["public.example"]);
  // The client's outer transcript holds what it sent, not what arrived: the handshake fails, never accepted.
  assert.equal(p.client.handshakeInfo, undefined);
});

Deno.test("ECH tamper: an altered outer hello (AAD) cannot be opened either", async () => {
  const p = await echPair();
  const f = editClientHello((ch) => ({ ...ch, cipherSuites: [...ch.cipherSuites].reverse() }));
  await handshakeExpectingFailure(p, f);
  // The server used the outer hello; the client's transcript is its own: the handshake fails, never accepted.
  assert.equal(p.client.handshakeInfo, undefined);
  assert.notEqual(p.server.handshakeInfo?.ech, "accepted");
});

const inner = (fn: (exts: Extension[]) => Extension[]) => resealInner(innerExtensions(fn));

for (
  const [what, filter, code] of [
    ["without the inner extension", inner(without(E.encryptedClientHello)), "peer_misbehaved.bad_ech_inner"],
    [
      "with an outer extension inside",
      inner(
        replace(
          E.encryptedClientHello,
          encodeEchOuter({ kdf: 1, aead: 1, configId: 1, enc: new Uint8Array(0), payload: Uint8Array.of(1) }),
        ),
      ),
      "peer_misbehaved.bad_ech_inner",
    ],
    [
      "offering TLS 1.2",
      inner(replace(E.supportedVersions, Uint8Array.of(4, 3, 4, 3, 3))),
      "peer_misbehaved.bad_ech_inner",
    ],
    [
      "with a non-zero padding byte",
      resealInner((e) => cat(e, Uint8Array.of(0, 0, 7))),
      "peer_misbehaved.bad_ech_inner",
    ],
    [
      "naming encrypted_client_hello in ech_outer_extensions",
      inner(replace(E.echOuterExtensions, Uint8Array.of(2, 0xfe, 0x0d))),
      "peer_misbehaved.bad_ech_inner",
    ],
    [
      "naming an extension the outer hello lacks",
      inner(replace(E.echOuterExtensions, Uint8Array.of(2, 0x12, 0x34))),
      "peer_misbehaved.bad_ech_outer_extensions",
    ],
    [
      "naming key_share twice",
      inner(replace(E.echOuterExtensions, Uint8Array.of(4, 0, 0x33, 0, 0x33))),
      "peer_misbehaved.bad_ech_outer_extensions",
    ],
    [
      "naming outer extensions out of order",
      inner(replace(E.echOuterExtensions, Uint8Array.of(4, 0, 0x33, 0, 0x0a))),
      "peer_misbehaved.bad_ech_outer_extensions",
    ],
    [
      "with key_share both inline and referenced",
      inner((exts) => [...exts, { type: E.keyShare, data: new Uint8Array([0, 0]) }]),
      "peer_misbehaved.bad_ech_inner",
    ],
  ] as const
) {
  Deno.test(`ECH tamper: an inner hello ${what} is illegal_parameter`, async () => {
    await rejects(await echPair(), "server", "illegal_parameter", code, filter);
  });
}

for (
  const [what, list] of [
    ["empty", Uint8Array.of(0)],
    ["odd", Uint8Array.of(3, 0, 0x33, 0)],
    ["over 254 bytes (128 types)", cat(Uint8Array.of(0), new Uint8Array(256))],
  ] as const
) {
  Deno.test(`ECH limits: an ${what} ech_outer_extensions is decode_error`, async () => {
    const body = list.length > 200 ? cat(Uint8Array.of(0), new Uint8Array(256)) : list;
    await rejects(
      await echPair(),
      "server",
      "decode_error",
      "invalid_message.bad_length",
      inner(replace(E.echOuterExtensions, body)),
    );
  });
}

Deno.test("ECH limits: ech_outer_extensions of 127 types passes its length check (then fails as unreferenced)", async () => {
  const types = new Uint8Array(254);
  for (let i = 0; i < 127; i++) types.set([0x7f, i], 2 * i);
  await rejects(
    await echPair(),
    "server",
    "illegal_parameter",
    "peer_misbehaved.bad_ech_outer_extensions",
    inner(replace(E.echOuterExtensions, cat(Uint8Array.of(254), types))),
  );
});

Deno.test("ECH limits: an empty payload is decode_error; a bad enc or unknown config id is a rejection", async () => {
  const editOuter = (fn: (o: EchOuter) => Uint8Array) =>
    editClientHello((ch) => {
      const o = decodeEchClientHello(echOf(ch)!, "test") as EchOuter;
      return { ...ch, extensions: replace(E.encryptedClientHello, fn(o))([...ch.extensions]) };
    });
  const emptyPayload = (o: EchOuter) =>
    new Writer().u8(0).u16(o.kdf).u16(o.aead).u8(o.configId).vec(2, o.enc).vec(2, new Uint8Array(0)).finish();
  await rejects(
    await echPair(),
    "server",
    "decode_error",
    "invalid_message.bad_length",
    editOuter(emptyPayload),
  );
  for (
    const fn of [
      (o: EchOuter) => encodeEchOuter({ ...o, enc: o.enc.subarray(1) }),
      (o: EchOuter) => encodeEchOuter({ ...o, configId: 77 }),
    ]
  ) {
    const p = await echPair();
    await handshakeExpectingFailure(p, editOuter(fn));
    assert.ok(
      p.client.error instanceof EchRejectedError || p.client.error?.code === "decrypt",
      String(p.client.error),
    );
    assert.notEqual(p.server.handshakeInfo?.ech, "accepted");
  }
  await rejects(
    await echPair(),
    "server",
    "illegal_parameter",
    "peer_misbehaved.bad_ech_inner",
    editClientHello((ch) => ({
      ...ch,
      extensions: replace(E.encryptedClientHello, Uint8Array.of(7))([...ch.extensions]),
    })),
  );
});

Deno.test("ECH tamper: a second hello whose payload is altered is decrypt_error; without ECH, missing_extension; with an enc, illegal_parameter", async () => {
  const second = (fn: (ch: ClientHello) => ClientHello) => {
    let n = 0;
    return editClientHello((ch) => (n++ === 1 ? fn(ch) : ch));
  };
  const flip = (ch: ClientHello) => {
    const data = echOf(ch)!.slice();
    data[data.length - 1]! ^= 1;
    return { ...ch, extensions: replace(E.encryptedClientHello, data)([...ch.extensions]) };
  };
  await rejects(
    await hrrPair({ ech: { configList: list1 } }),
    "server",
    "decrypt_error",
    "peer_misbehaved.ech_decrypt",
    second(flip),
  );
  await rejects(
    await hrrPair({ ech: { configList: list1 } }),
    "server",
    "missing_extension",
    "peer_misbehaved.ech_missing",
    second((ch) => ({ ...ch, extensions: without(E.encryptedClientHello)([...ch.extensions]) })),
  );
  const withEnc = (ch: ClientHello) => {
    const o = decodeEchClientHello(echOf(ch)!, "test") as EchOuter;
    return {
      ...ch,
      extensions: replace(E.encryptedClientHello, encodeEchOuter({ ...o, enc: new Uint8Array(32) }))([
        ...ch.extensions,
      ]),
    };
  };
  await rejects(
    await hrrPair({ ech: { configList: list1 } }),
    "server",
    "illegal_parameter",
    "peer_misbehaved.bad_ech_inner",
    second(withEnc),
  );
});

Deno.test("ECH tamper: forged confirmations are never taken for acceptance", async () => {
  // A HelloRetryRequest confirmation of the wrong length: decode_error.
  const hrrExt = (data: Uint8Array) =>
    editServerHello((sh) => ({
      ...sh,
      extensions: replace(E.encryptedClientHello, data)([...sh.extensions]),
    }));
  await rejects(
    await hrrPair({ ech: { configList: list1 } }),
    "client",
    "decode_error",
    "invalid_message.bad_ech_extension",
    hrrExt(new Uint8Array(7)),
  );
  // A wrong 8-byte confirmation: the client takes it for a rejection and sends the outer extension again, which
  // the server (that accepted) refuses.
  await rejects(
    await hrrPair({ ech: { configList: list1 } }),
    "server",
    "illegal_parameter",
    "peer_misbehaved.bad_ech_inner",
    hrrExt(new Uint8Array(8)),
  );
  // A ServerHello that does not confirm after a HelloRetryRequest that did: illegal_parameter.
  let n = 0;
  const sh2 = editServerHello((sh) => {
    if (n++ === 0) return sh;
    const random = sh.random.slice();
    random[31]! ^= 1;
    return { ...sh, random };
  });
  await rejects(
    await hrrPair({ ech: { configList: list1 } }),
    "client",
    "illegal_parameter",
    "peer_misbehaved.bad_ech_confirmation",
    sh2,
  );
  // Without a HelloRetryRequest, a ServerHello whose confirmation is altered is a rejection on a transcript the
  // server does not share: the handshake fails, never "accepted".
  const p = await echPair();
  const flipped = editServerHello((sh) => {
    const random = sh.random.slice();
    random[31]! ^= 1;
    return { ...sh, random };
  });
  await handshakeExpectingFailure(p, flipped);
  assert.equal(p.client.handshakeInfo, undefined);
});
