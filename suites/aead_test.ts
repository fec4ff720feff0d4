import assert from "node:assert/strict";
import { type Aead, AES_128_GCM, AES_256_GCM, CHACHA20_POLY1305, webCryptoAeadKey } from "./aead.ts";
import { concat, fromHex, toHex, utf8 } from "./bytes.ts";

// McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", test cases 3, 4, 15 and 16.
const GCM_K = "feffe9928665731c6d6a8f9467308308";
const GCM_IV = "cafebabefacedbaddecaf888";
const GCM_P = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" +
  "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
const GCM_A = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
const GCM_VECTORS = [
  {
    name: "test case 3",
    aead: AES_128_GCM,
    key: GCM_K,
    aad: "",
    pt: GCM_P,
    ct: "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e" +
      "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
    tag: "4d5c2af327cd64a62cf35abd2ba6fab4",
  },
  {
    name: "test case 4",
    aead: AES_128_GCM,
    key: GCM_K,
    aad: GCM_A,
    pt: GCM_P.slice(0, 120),
    ct: "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e" +
      "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
    tag: "5bc94fbc3221a5db94fae95ae7121a47",
  },
  {
    name: "test case 15",
    aead: AES_256_GCM,
    key: GCM_K + GCM_K,
    aad: "",
    pt: GCM_P,
    ct: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa" +
      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
    tag: "b094dac5d93471bdec1a502270e3cc6c",
  },
  {
    name: "test case 16",
    aead: AES_256_GCM,
    key: GCM_K + GCM_K,
    aad: GCM_A,
    pt: GCM_P.slice(0, 120),
    ct: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa" +
      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
    tag: "76fc6ece0f4e1768cddf8853bb2d551b",
  },
];

for (const v of GCM_VECTORS) {
  Deno.test(`${v.aead.name} seal() and open() match GCM ${v.name}`, () => {
    const key = v.aead.importKey(fromHex(v.key));
    const sealed = key.seal(fromHex(GCM_IV), fromHex(v.aad), fromHex(v.pt));
    assert.equal(toHex(sealed), v.ct + v.tag);
    assert.equal(toHex(key.open(fromHex(GCM_IV), fromHex(v.aad), sealed)!), v.pt);
  });
}

Deno.test("CHACHA20_POLY1305 seal() and open() match RFC 8439 §2.8.2", () => {
  const key = CHACHA20_POLY1305.importKey(
    fromHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"),
  );
  const nonce = fromHex("070000004041424344454647");
  const aad = fromHex("50515253c0c1c2c3c4c5c6c7");
  const pt = utf8(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
  );
  const expected = "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6" +
    "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36" +
    "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc" +
    "3ff4def08e4b7a9de576d26586cec64b6116" +
    "1ae10b594f09e26a7e902ecbd0600691";
  const sealed = key.seal(nonce, aad, pt);
  assert.equal(toHex(sealed), expected);
  assert.deepEqual(key.open(nonce, aad, sealed), pt);
});

const ALL: Aead[] = [AES_128_GCM, AES_256_GCM, CHACHA20_POLY1305];

Deno.test("Aead constants describe themselves", () => {
  assert.deepEqual(
    ALL.map((a) => [a.name, a.keyLen, a.nonceLen, a.tagLen]),
    [["AES-128-GCM", 16, 12, 16], ["AES-256-GCM", 32, 12, 16], ["CHACHA20-POLY1305", 32, 12, 16]],
  );
});

for (const aead of ALL) {
  Deno.test(`${aead.name} open() returns null for any flipped bit`, () => {
    const key = aead.importKey(new Uint8Array(aead.keyLen).fill(7));
    const nonce = new Uint8Array(12).fill(1);
    const aad = utf8("header");
    const sealed = key.seal(nonce, aad, utf8("hello, world"));
    assert.equal(sealed.length, 12 + 16);
    for (const i of [0, 11, 12, sealed.length - 1]) {
      const bad = sealed.slice();
      bad[i]! ^= 0x01;
      assert.equal(key.open(nonce, aad, bad), null);
    }
    const badAad = aad.slice();
    badAad[0]! ^= 0x80;
    assert.equal(key.open(nonce, badAad, sealed), null);
    const badNonce = nonce.slice();
    badNonce[11]! ^= 0x01;
    assert.equal(key.open(badNonce, aad, sealed), null);
    assert.deepEqual(key.open(nonce, aad, sealed), utf8("hello, world"));
  });

  Deno.test(`${aead.name} open() returns null for input shorter than a tag`, () => {
    const key = aead.importKey(new Uint8Array(aead.keyLen));
    assert.equal(key.open(new Uint8Array(12), new Uint8Array(0), new Uint8Array(15)), null);
    assert.equal(key.open(new Uint8Array(12), new Uint8Array(0), new Uint8Array(0)), null);
  });

  Deno.test(`${aead.name} seal() handles empty plaintext`, () => {
    const key = aead.importKey(new Uint8Array(aead.keyLen));
    const sealed = key.seal(new Uint8Array(12), new Uint8Array(0), new Uint8Array(0));
    assert.equal(sealed.length, 16);
    assert.deepEqual(key.open(new Uint8Array(12), new Uint8Array(0), sealed), new Uint8Array(0));
  });

  Deno.test(`${aead.name} importKey() and seal() check lengths`, () => {
    assert.throws(() => aead.importKey(new Uint8Array(aead.keyLen - 1)), RangeError);
    assert.throws(() => aead.importKey(new Uint8Array(aead.keyLen + 1)), RangeError);
    const key = aead.importKey(new Uint8Array(aead.keyLen));
    assert.throws(() => key.seal(new Uint8Array(8), new Uint8Array(0), new Uint8Array(1)), RangeError);
    assert.throws(() => key.open(new Uint8Array(16), new Uint8Array(0), new Uint8Array(32)), RangeError);
  });

  Deno.test(`${aead.name} importKey() copies the key`, () => {
    const raw = new Uint8Array(aead.keyLen).fill(3);
    const key = aead.importKey(raw);
    const before = key.seal(new Uint8Array(12), new Uint8Array(0), utf8("x"));
    raw.fill(0);
    assert.deepEqual(key.seal(new Uint8Array(12), new Uint8Array(0), utf8("x")), before);
  });

  Deno.test(`${aead.name} seal() works on subarray views and many records`, () => {
    const key = aead.importKey(new Uint8Array(aead.keyLen).fill(9));
    const backing = concat(new Uint8Array(3), utf8("payload"), new Uint8Array(5));
    const pt = backing.subarray(3, 10);
    for (let seq = 0; seq < 50; seq++) {
      const nonce = new Uint8Array(12);
      nonce[11] = seq;
      assert.deepEqual(key.open(nonce, new Uint8Array(5), key.seal(nonce, new Uint8Array(5), pt)), pt);
    }
  });
}

Deno.test("AES-GCM with per-key state matches noble's gcm() on random keys, nonces, AAD and lengths", async () => {
  const { gcm } = await import("@noble/ciphers/aes.js");
  let x = 12345;
  const rand = (n: number) =>
    Uint8Array.from({ length: n }, () => (x = (x * 1103515245 + 12345) >>> 0) >>> 24);
  for (const aead of [AES_128_GCM, AES_256_GCM]) {
    for (let i = 0; i < 60; i++) {
      const key = rand(aead.keyLen), nonce = rand(12), aad = rand(i % 3 === 0 ? 0 : 1 + (i * 7) % 40);
      const len = [0, 1, 15, 16, 17, 100, 1000, 16384][i % 8]!;
      // Views at odd offsets, as records are sliced out of larger buffers.
      const buf = rand(len + 3);
      const plaintext = buf.subarray(3);
      const k = aead.importKey(key);
      const sealed = k.seal(nonce, aad, plaintext);
      assert.deepEqual(sealed, gcm(key, nonce, aad).encrypt(plaintext.slice()), `${aead.name} len ${len}`);
      const shifted = new Uint8Array(sealed.length + 1);
      shifted.set(sealed, 1);
      assert.deepEqual(k.open(nonce, aad, shifted.subarray(1)), plaintext);
      // The same key again: the shared GHASH table must not carry state between records.
      assert.deepEqual(k.seal(nonce, aad, plaintext), sealed);
    }
  }
});

Deno.test("AES-GCM seal() and open() take Node Buffer views at odd offsets (Buffer#slice is a view)", async () => {
  const { Buffer } = await import("node:buffer");
  const key = Buffer.alloc(17, 5).subarray(1);
  const k = AES_128_GCM.importKey(key);
  key.fill(0); // importKey copied it
  const plain = Buffer.from("0123456789abcdefXYZ").subarray(3);
  const sealed = k.seal(new Uint8Array(12), Buffer.alloc(14).subarray(1), plain);
  const ct = Buffer.concat([Buffer.alloc(1), sealed]).subarray(1);
  assert.deepEqual(k.open(new Uint8Array(12), new Uint8Array(13), ct), new Uint8Array(plain));
  assert.deepEqual(
    AES_128_GCM.importKey(new Uint8Array(16).fill(5)).seal(new Uint8Array(12), new Uint8Array(13), plain),
    sealed,
  );
});

for (const aead of [AES_128_GCM, AES_256_GCM]) {
  Deno.test(`${aead.name} on WebCrypto seals and opens exactly as noble does; bad tags are null`, async () => {
    const key = crypto.getRandomValues(new Uint8Array(aead.keyLen));
    const noble = aead.importKey(key);
    const native = webCryptoAeadKey(aead, key)!;
    assert.ok(native.minLength > 0);
    for (const length of [0, 1, 15, 16, 17, 2047, 2048, 16385]) {
      const nonce = crypto.getRandomValues(new Uint8Array(12));
      const aad = crypto.getRandomValues(new Uint8Array(13));
      const plaintext = crypto.getRandomValues(new Uint8Array(length + 3)).subarray(3); // an offset view
      const sealed = await native.seal(nonce, aad, plaintext);
      assert.equal(toHex(sealed), toHex(noble.seal(nonce, aad, plaintext)), `length ${length}`);
      assert.equal(toHex((await native.open(nonce, aad, sealed))!), toHex(plaintext));
      const flipped = sealed.slice();
      flipped[Math.floor(flipped.length / 2)]! ^= 1;
      assert.equal(await native.open(nonce, aad, flipped), null);
      assert.equal(await native.open(nonce, concat(aad, Uint8Array.of(0)), sealed), null);
    }
    assert.equal(await native.open(new Uint8Array(12), new Uint8Array(0), new Uint8Array(15)), null);
  });
}

Deno.test("ChaCha20-Poly1305 has no WebCrypto key: noble keeps it", () => {
  assert.equal(webCryptoAeadKey(CHACHA20_POLY1305, new Uint8Array(32)), undefined);
});
