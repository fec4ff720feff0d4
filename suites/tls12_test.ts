/**
 * The TLS 1.2 PRF against known answers: the P_SHA256 and P_SHA384 vectors circulated on the IETF TLS list
 * (the "test label" vectors), which `openssl kdf TLS1-PRF` (OpenSSL 3.0) reproduces byte for byte.
 */
import assert from "node:assert/strict";
import { prf12, TLS12_SUITES, tls12SuiteById } from "./tls12.ts";
import { SHA256, SHA384 } from "./hash.ts";
import { fromHex, toHex } from "./bytes.ts";

Deno.test("prf12: P_SHA256 known answer (100 bytes)", () => {
  const out = prf12(
    SHA256,
    fromHex("9bbe436ba940f017b17652849a71db35"),
    "test label",
    fromHex("a0ba9f936cda311827a6f796ffd5198c"),
    100,
  );
  assert.equal(
    toHex(out),
    "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7" +
      "077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66",
  );
});

Deno.test("prf12: P_SHA384 known answer (148 bytes)", () => {
  const out = prf12(
    SHA384,
    fromHex("b80b733d6ceefcdc71566ea48e5567df"),
    "test label",
    fromHex("cd665cf6a8447dd6ff8b27555edb7465"),
    148,
  );
  assert.equal(
    toHex(out),
    "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cde9ca0faa60be9fe34f82b1233c9146a0e534cb40" +
      "0fed2700884f9dc236f80edd8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d9184259b5bf8cd4d90fa0d" +
      "31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee691c8f3a26854308d5eaa3be85e0990703d73e56f",
  );
});

Deno.test("prf12: a prefix of a longer output is the shorter output", () => {
  const long = prf12(SHA256, new Uint8Array(48).fill(7), "key expansion", new Uint8Array(64).fill(1), 136);
  const short = prf12(SHA256, new Uint8Array(48).fill(7), "key expansion", new Uint8Array(64).fill(1), 40);
  assert.deepEqual(long.subarray(0, 40), short);
});

Deno.test("tls12 suites: six ECDHE AEAD suites, with the right nonce shapes", () => {
  assert.deepEqual(TLS12_SUITES.map((s) => s.id), [0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8]);
  for (const s of TLS12_SUITES) {
    const chacha = s.aead.name === "CHACHA20-POLY1305";
    assert.equal(s.fixedIvLen, chacha ? 12 : 4);
    assert.equal(s.explicitNonceLen, chacha ? 0 : 8);
    assert.equal(s.hash.name, s.name.endsWith("SHA384") ? "SHA-384" : "SHA-256");
    assert.equal(s.auth, s.name.includes("_ECDSA_") ? "ecdsa" : "rsa");
  }
  assert.equal(
    tls12SuiteById(0x009c),
    undefined,
    "TLS_RSA_WITH_AES_128_GCM_SHA256 (RSA key exchange) is not supported",
  );
});
