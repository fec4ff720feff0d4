import assert from "node:assert/strict";
import { fromHex, toHex, utf8 } from "./bytes.ts";
import { SHA256, SHA384 } from "./hash.ts";

Deno.test("SHA256 and SHA384 describe themselves", () => {
  assert.equal(SHA256.name, "SHA-256");
  assert.equal(SHA256.outputLen, 32);
  assert.equal(SHA384.name, "SHA-384");
  assert.equal(SHA384.outputLen, 48);
});

Deno.test('digest() matches FIPS 180-2 "abc" vectors', () => {
  assert.equal(
    toHex(SHA256.digest(utf8("abc"))),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    toHex(SHA384.digest(utf8("abc"))),
    "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
  );
  assert.equal(
    toHex(SHA256.digest(new Uint8Array(0))),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
});

Deno.test("create() digest() does not consume the state", () => {
  for (const hash of [SHA256, SHA384]) {
    const state = hash.create();
    assert.deepEqual(state.digest(), hash.digest(new Uint8Array(0)));
    state.update(utf8("a"));
    assert.deepEqual(state.digest(), hash.digest(utf8("a")));
    assert.deepEqual(state.digest(), hash.digest(utf8("a")));
    state.update(utf8("bc"));
    assert.deepEqual(state.digest(), hash.digest(utf8("abc")));
  }
});

Deno.test("create() clone() forks an independent state", () => {
  const state = SHA256.create();
  state.update(utf8("ab"));
  const fork = state.clone();
  fork.update(utf8("X"));
  state.update(utf8("c"));
  assert.deepEqual(state.digest(), SHA256.digest(utf8("abc")));
  assert.deepEqual(fork.digest(), SHA256.digest(utf8("abX")));
});

Deno.test("hmac() matches RFC 4231 test case 2", () => {
  const key = utf8("Jefe");
  const data = utf8("what do ya want for nothing?");
  assert.equal(
    toHex(SHA256.hmac(key, data)),
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  );
  assert.equal(
    toHex(SHA384.hmac(key, data)),
    "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
  );
});

const RFC5869 = [
  {
    name: "case 1",
    ikm: "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
    salt: "000102030405060708090a0b0c",
    info: "f0f1f2f3f4f5f6f7f8f9",
    length: 42,
    prk: "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
    okm: "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
  },
  {
    name: "case 2",
    ikm: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" +
      "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f",
    salt: "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f" +
      "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
    info: "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf" +
      "d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
    length: 82,
    prk: "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
    okm: "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c" +
      "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71" +
      "cc30c58179ec3e87c14c01d5c1f3434f1d87",
  },
  {
    name: "case 3",
    ikm: "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
    salt: "",
    info: "",
    length: 42,
    prk: "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
    okm: "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
  },
];

for (const v of RFC5869) {
  Deno.test(`hkdfExtract() matches RFC 5869 ${v.name}`, () => {
    assert.equal(toHex(SHA256.hkdfExtract(fromHex(v.salt), fromHex(v.ikm))), v.prk);
  });
  Deno.test(`hkdfExpand() matches RFC 5869 ${v.name}`, () => {
    assert.equal(toHex(SHA256.hkdfExpand(fromHex(v.prk), fromHex(v.info), v.length)), v.okm);
  });
}

Deno.test("hkdfExtract() treats an empty salt as HashLen zero bytes", () => {
  const ikm = utf8("input");
  assert.deepEqual(SHA384.hkdfExtract(new Uint8Array(0), ikm), SHA384.hkdfExtract(new Uint8Array(48), ikm));
});

Deno.test("hkdfExpand() accepts lengths 0..255*HashLen and rejects the rest", () => {
  const prk = new Uint8Array(32).fill(1);
  assert.equal(SHA256.hkdfExpand(prk, new Uint8Array(0), 0).length, 0);
  assert.equal(SHA256.hkdfExpand(prk, new Uint8Array(0), 255 * 32).length, 255 * 32);
  assert.equal(SHA384.hkdfExpand(new Uint8Array(48), new Uint8Array(0), 255 * 48).length, 255 * 48);
  assert.throws(() => SHA256.hkdfExpand(prk, new Uint8Array(0), 255 * 32 + 1), RangeError);
  assert.throws(() => SHA384.hkdfExpand(prk, new Uint8Array(0), 255 * 48 + 1), RangeError);
  assert.throws(() => SHA256.hkdfExpand(prk, new Uint8Array(0), -1), RangeError);
  assert.throws(() => SHA256.hkdfExpand(prk, new Uint8Array(0), 1.5), RangeError);
});

Deno.test("hkdfExpand() output is a prefix of a longer expansion", () => {
  const prk = SHA256.hkdfExtract(new Uint8Array(0), utf8("secret"));
  const long = SHA256.hkdfExpand(prk, utf8("info"), 100);
  assert.deepEqual(SHA256.hkdfExpand(prk, utf8("info"), 40), long.subarray(0, 40));
});
