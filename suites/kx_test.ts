import assert from "node:assert/strict";
import { createECDH } from "node:crypto";
import { sha256 } from "@noble/hashes/sha2.js";
import { fromHex, toHex } from "./bytes.ts";
import { KxError, type KxGroup, SECP256R1, SECP384R1, X25519, X25519MLKEM768 } from "./kx.ts";

/** A deterministic byte source that records every request. */
function counter(seed = 1): { random: (n: number) => Uint8Array; calls: number[] } {
  const calls: number[] = [];
  let next = seed;
  return {
    calls,
    random(n: number): Uint8Array {
      calls.push(n);
      return Uint8Array.from({ length: n }, () => (next = (next * 181 + 7) & 0xff));
    },
  };
}

Deno.test("KxGroup ids and names follow RFC 8446 §4.2.7 and draft-ietf-tls-ecdhe-mlkem", () => {
  assert.deepEqual(
    [X25519, SECP256R1, SECP384R1, X25519MLKEM768].map((g) => [g.id, g.name]),
    [[0x001d, "x25519"], [0x0017, "secp256r1"], [0x0018, "secp384r1"], [0x11ec, "X25519MLKEM768"]],
  );
});

Deno.test("X25519.sharedSecret() matches RFC 7748 §5.2 vectors", () => {
  const vectors = [
    [
      "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
      "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
      "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
    ],
    [
      "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
      "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
      "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
    ],
  ];
  for (const [scalar, u, out] of vectors) {
    assert.equal(toHex(X25519.sharedSecret(fromHex(scalar!), fromHex(u!))), out);
  }
});

Deno.test("X25519.sharedSecret() matches RFC 7748 §5.2 iterated vector (1 and 1000 rounds)", () => {
  let k = fromHex("0900000000000000000000000000000000000000000000000000000000000000");
  let u = k;
  for (let i = 1; i <= 1000; i++) {
    [k, u] = [X25519.sharedSecret(k, u), k];
    if (i === 1) assert.equal(toHex(k), "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
  }
  assert.equal(toHex(k), "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
});

Deno.test("X25519 matches RFC 7748 §6.1 Diffie-Hellman", () => {
  const alice = X25519.fromPrivateKey(
    fromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"),
  );
  const bob = X25519.fromPrivateKey(
    fromHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"),
  );
  assert.equal(toHex(alice.publicKey), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  assert.equal(toHex(bob.publicKey), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const k = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  assert.equal(toHex(X25519.sharedSecret(alice.privateKey, bob.publicKey)), k);
  assert.equal(toHex(X25519.sharedSecret(bob.privateKey, alice.publicKey)), k);
  assert.equal(alice.group, 0x001d);
});

Deno.test("X25519.sharedSecret() rejects wrong-length shares with KxError", () => {
  const { privateKey } = X25519.generate(counter().random);
  assert.throws(() => X25519.sharedSecret(privateKey, new Uint8Array(31).fill(9)), KxError);
  assert.throws(() => X25519.sharedSecret(privateKey, new Uint8Array(33).fill(9)), KxError);
  assert.throws(() => X25519.sharedSecret(privateKey, new Uint8Array(0)), KxError);
});

Deno.test("X25519.sharedSecret() rejects low-order points (all-zero output) with KxError", () => {
  const { privateKey } = X25519.generate(counter().random);
  const lowOrder = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p - 1
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p (= 0)
    "0000000000000000000000000000000000000000000000000000000000000080", // 0 with the top bit set
  ];
  for (const point of lowOrder) {
    assert.throws(() => X25519.sharedSecret(privateKey, fromHex(point)), KxError, point);
  }
});

Deno.test("X25519.sharedSecret() rejects a bad private key with RangeError", () => {
  assert.throws(() => X25519.sharedSecret(new Uint8Array(31), new Uint8Array(32).fill(9)), RangeError);
  assert.throws(() => X25519.fromPrivateKey(new Uint8Array(33)), RangeError);
});

const NIST: [KxGroup, string, number][] = [[SECP256R1, "prime256v1", 32], [SECP384R1, "secp384r1", 48]];

Deno.test("generate() draws its private key only from the injected random", () => {
  for (const [group, seedLen] of [[X25519, 32], [SECP256R1, 48], [SECP384R1, 72]] as const) {
    const a = counter(5);
    const b = counter(5);
    const shareA = group.generate(a.random);
    const shareB = group.generate(b.random);
    assert.deepEqual(a.calls, [seedLen], group.name);
    assert.deepEqual(shareA.privateKey, shareB.privateKey);
    assert.deepEqual(shareA.publicKey, shareB.publicKey);
    assert.notDeepEqual(group.generate(counter(6).random).privateKey, shareA.privateKey);
    assert.equal(shareA.group, group.id);
  }
});

Deno.test("generate() keeps privateKey out of enumeration and JSON", () => {
  const share = SECP256R1.generate(counter().random);
  assert.deepEqual(Object.keys(share).sort(), ["group", "publicKey"]);
  assert.equal(JSON.stringify(share).includes("privateKey"), false);
  assert.equal(share.privateKey.length, 32);
  assert.ok(Object.isFrozen(share));
});

Deno.test("generate() rejects a random function that returns the wrong length", () => {
  assert.throws(() => X25519.generate((n) => new Uint8Array(n - 1)), RangeError);
  assert.throws(() => SECP384R1.generate(() => new Uint8Array(48)), RangeError);
});

for (const [group, nodeCurve, len] of NIST) {
  Deno.test(`${group.name} shares are uncompressed points and agree both ways`, () => {
    const a = group.generate(counter(1).random);
    const b = group.generate(counter(2).random);
    assert.equal(a.publicKey.length, 1 + 2 * len);
    assert.equal(a.publicKey[0], 0x04);
    const s = group.sharedSecret(a.privateKey, b.publicKey);
    assert.equal(s.length, len);
    assert.deepEqual(group.sharedSecret(b.privateKey, a.publicKey), s);
  });

  Deno.test(`${group.name} sharedSecret() agrees with node:crypto ECDH`, () => {
    const ours = group.generate(counter(3).random);
    const theirs = createECDH(nodeCurve);
    const theirPublic = new Uint8Array(theirs.generateKeys());
    const nodeSecret = new Uint8Array(theirs.computeSecret(ours.publicKey));
    assert.deepEqual(group.sharedSecret(ours.privateKey, theirPublic), nodeSecret);
    const mirror = createECDH(nodeCurve);
    mirror.setPrivateKey(ours.privateKey);
    assert.deepEqual(new Uint8Array(mirror.getPublicKey()), ours.publicKey);
  });

  Deno.test(`${group.name} fromPrivateKey() rebuilds the same share`, () => {
    const share = group.generate(counter(4).random);
    const again = group.fromPrivateKey(share.privateKey);
    assert.deepEqual(again.publicKey, share.publicKey);
    assert.throws(() => group.fromPrivateKey(new Uint8Array(len)), RangeError); // zero scalar
    assert.throws(() => group.fromPrivateKey(new Uint8Array(len).fill(0xff)), RangeError); // >= n
    assert.throws(() => group.fromPrivateKey(new Uint8Array(len - 1).fill(1)), RangeError);
  });

  Deno.test(`${group.name} sharedSecret() rejects invalid points with KxError`, () => {
    const { privateKey } = group.generate(counter(1).random);
    const good = group.generate(counter(2).random).publicKey;
    const offCurve = good.slice();
    offCurve[offCurve.length - 1]! ^= 0x01;
    const compressed = new Uint8Array([0x02 | (good[good.length - 1]! & 1), ...good.subarray(1, 1 + len)]);
    const hybrid = good.slice();
    hybrid[0] = 0x06;
    const bad = [
      offCurve,
      compressed,
      hybrid,
      new Uint8Array(1 + 2 * len), // all zero
      new Uint8Array([0x04, ...new Uint8Array(2 * len)]), // (0, 0)
      new Uint8Array([0x00]), // SEC1 point at infinity
      good.subarray(0, good.length - 1),
      new Uint8Array([...good, 0]),
      new Uint8Array(0),
    ];
    for (const point of bad) assert.throws(() => group.sharedSecret(privateKey, point), KxError);
    assert.throws(() => group.sharedSecret(new Uint8Array(len), good), RangeError);
  });
}

Deno.test("respond() of a Diffie-Hellman group is generate() then sharedSecret(), from the same random", () => {
  for (const group of [X25519, SECP256R1, SECP384R1]) {
    const client = group.generate(counter(11).random);
    const viaRespond = counter(12);
    const answer = group.respond(client.publicKey, viaRespond.random);
    const direct = group.generate(counter(12).random);
    assert.deepEqual(answer.publicKey, direct.publicKey, group.name);
    assert.deepEqual(answer.sharedSecret, group.sharedSecret(direct.privateKey, client.publicKey));
    assert.deepEqual(group.sharedSecret(client.privateKey, answer.publicKey), answer.sharedSecret);
    assert.deepEqual(Object.keys(answer), ["publicKey"]); // the secret is not enumerable
    assert.throws(() => group.respond(client.publicKey.subarray(1), counter().random), KxError);
  }
});

/** Random bytes handed out in a fixed script: each draw must ask for exactly the next entry's length. */
function scripted(...draws: Uint8Array[]): (n: number) => Uint8Array {
  return (n) => {
    const next = draws.shift();
    assert.ok(next, `unexpected random draw of ${n} bytes`);
    assert.equal(n, next.length, "random draw of the wrong size");
    return next;
  };
}

const seq = (n: number, start: number, step: number) =>
  Uint8Array.from({ length: n }, (_, i) => (start + i * step) & 0xff);

// A known-answer test for X25519MLKEM768 with fixed seeds. The expected values were computed independently
// with OpenSSL 3.5.8 (Node 26's node:crypto): the ML-KEM-768 key made from the seed d || z (PKCS#8 seed
// form), its encapsulation key from the SPKI, X25519 through OpenSSL, and the ML-KEM shared secret by
// OpenSSL decapsulating the ciphertext (which only the deterministic encapsulation here can make: OpenSSL
// would return the implicit-rejection value for a wrong one).
const KAT = {
  mlkemSeed: seq(64, 0x00, 1), // d || z (FIPS 203 ML-KEM.KeyGen_internal)
  clientX25519: seq(32, 0x40, 3),
  encapsRandom: seq(32, 0x80, 5), // m (FIPS 203 ML-KEM.Encaps_internal)
  serverX25519: seq(32, 0xc0, 7),
  encapsulationKeySha256: "0b7934c83125c788995e2ba6bd761e33046b3e40571be53e023309a29f398cc9",
  clientShareSha256: "60a6acc638c6d1d5fe3e1a9d38b283b09297af3662d1caed957f3406e3ad14ec",
  clientX25519Public: "c3ceea6dc28f891d8ab39f80e16a8029179a86b21ce1e569e5392baf8b352049",
  serverShareSha256: "2f9d11655101dc0fb25f345b956a3e02d0149ecc06ffed726ccd961576f92ff1",
  serverX25519Public: "4add4730285e269cd7ef3099bd6be5bac72a8547e68413bb86cccd81e4912478",
  mlkemSecret: "c4a883a9fd8f1b13109303e393e7b77215ba23de95bb238f70d950e09ccc8edd",
  x25519Secret: "2992cd2d4ce26c98683754eb4e9aa9f0fc2a82a62b21f786b40f1b5c9912d431",
};

function katShares(): { client: ReturnType<KxGroup["generate"]>; server: ReturnType<KxGroup["respond"]> } {
  const client = X25519MLKEM768.generate(scripted(KAT.mlkemSeed, KAT.clientX25519));
  const server = X25519MLKEM768.respond(client.publicKey, scripted(KAT.encapsRandom, KAT.serverX25519));
  return { client, server };
}

Deno.test("X25519MLKEM768 matches the known answers: ML-KEM first in shares and secret", () => {
  const { client, server } = katShares();
  // draft-ietf-tls-ecdhe-mlkem §3: client share = ML-KEM-768 encapsulation key (1184) || X25519 share (32).
  assert.equal(client.group, 0x11ec);
  assert.equal(client.publicKey.length, 1216);
  assert.equal(toHex(sha256(client.publicKey.subarray(0, 1184))), KAT.encapsulationKeySha256);
  assert.equal(toHex(client.publicKey.subarray(1184)), KAT.clientX25519Public);
  assert.equal(toHex(sha256(client.publicKey)), KAT.clientShareSha256);
  // Server share = ML-KEM ciphertext (1088) || X25519 share (32).
  assert.equal(server.publicKey.length, 1120);
  assert.equal(toHex(server.publicKey.subarray(1088)), KAT.serverX25519Public);
  assert.equal(toHex(sha256(server.publicKey)), KAT.serverShareSha256);
  // Shared secret = ML-KEM shared secret (32) || X25519 shared secret (32), on both sides.
  const expected = KAT.mlkemSecret + KAT.x25519Secret;
  assert.equal(toHex(server.sharedSecret), expected);
  assert.equal(toHex(X25519MLKEM768.sharedSecret(client.privateKey, server.publicKey)), expected);
  // The X25519 half is plain X25519 between the two halves of the shares.
  assert.equal(
    toHex(X25519.sharedSecret(KAT.clientX25519, server.publicKey.subarray(1088))),
    KAT.x25519Secret,
  );
});

Deno.test("X25519MLKEM768 draws 64 + 32 bytes to generate and 32 + 32 to respond, nothing else", () => {
  const gen = counter(3);
  const client = X25519MLKEM768.generate(gen.random);
  assert.deepEqual(gen.calls, [64, 32]);
  const resp = counter(4);
  X25519MLKEM768.respond(client.publicKey, resp.random);
  assert.deepEqual(resp.calls, [32, 32]);
  assert.deepEqual(Object.keys(client).sort(), ["group", "publicKey"]);
  assert.equal(client.privateKey.length, 2400 + 32);
});

Deno.test("X25519MLKEM768 fromPrivateKey() rebuilds the share and rejects a damaged key", () => {
  const { client } = katShares();
  assert.deepEqual(X25519MLKEM768.fromPrivateKey(client.privateKey).publicKey, client.publicKey);
  const damaged = client.privateKey.slice();
  damaged[1152]! ^= 1; // inside the embedded encapsulation key: H(ek) no longer matches
  assert.throws(() => X25519MLKEM768.fromPrivateKey(damaged), RangeError);
  assert.throws(() => X25519MLKEM768.fromPrivateKey(client.privateKey.subarray(1)), RangeError);
});

Deno.test("X25519MLKEM768 respond() rejects bad client shares with KxError", () => {
  const { client } = katShares();
  const share = client.publicKey;
  const rnd = () => counter(9).random;
  // Lengths: the client share is exactly 1184 + 32 bytes.
  for (const len of [0, 32, 1184, 1215, 1217, 1249]) {
    const bad = new Uint8Array(len);
    bad.set(share.subarray(0, Math.min(len, share.length)));
    assert.throws(() => X25519MLKEM768.respond(bad, rnd()), KxError, `length ${len}`);
  }
  // FIPS 203 §7.2 modulus check: a 12-bit coefficient of 4095 ≥ q = 3329.
  const modulus = share.slice();
  modulus[0] = 0xff;
  modulus[1]! |= 0x0f;
  assert.throws(() => X25519MLKEM768.respond(modulus, rnd()), KxError);
  // X25519 part: a low-order point (all-zero shared secret).
  const lowOrder = share.slice();
  lowOrder.fill(0, 1184);
  assert.throws(() => X25519MLKEM768.respond(lowOrder, rnd()), KxError);
  // A classical share is not a hybrid one.
  assert.throws(() => X25519MLKEM768.respond(X25519.generate(rnd()).publicKey, rnd()), KxError);
});

Deno.test("X25519MLKEM768 sharedSecret() rejects bad server shares with KxError", () => {
  const { client, server } = katShares();
  for (const len of [0, 32, 1088, 1119, 1121, 1216]) {
    const bad = new Uint8Array(len);
    bad.set(server.publicKey.subarray(0, Math.min(len, server.publicKey.length)));
    assert.throws(() => X25519MLKEM768.sharedSecret(client.privateKey, bad), KxError, `length ${len}`);
  }
  const lowOrder = server.publicKey.slice();
  lowOrder.fill(0, 1088);
  assert.throws(() => X25519MLKEM768.sharedSecret(client.privateKey, lowOrder), KxError);
  // A changed ciphertext is not an error: ML-KEM rejects implicitly, and the secrets differ.
  const flipped = server.publicKey.slice();
  flipped[0]! ^= 1;
  const other = X25519MLKEM768.sharedSecret(client.privateKey, flipped);
  assert.notDeepEqual(other.subarray(0, 32), server.sharedSecret.subarray(0, 32));
  assert.deepEqual(other.subarray(32), server.sharedSecret.subarray(32));
  assert.throws(
    () => X25519MLKEM768.sharedSecret(client.privateKey.subarray(2), server.publicKey),
    RangeError,
  );
});

Deno.test("KxError is an Error with its own name", () => {
  const err = new KxError("x");
  assert.ok(err instanceof Error);
  assert.equal(err.name, "KxError");
});
