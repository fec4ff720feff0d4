import assert from "node:assert/strict";
import { AES_128_GCM, AES_256_GCM, CHACHA20_POLY1305 } from "./aead.ts";
import { SHA256, SHA384 } from "./hash.ts";
import { SECP256R1, SECP384R1, X25519, X25519MLKEM768 } from "./kx.ts";
import { KX_GROUPS, kxGroupById, TLS13_SUITES, tls13SuiteById } from "./tls13.ts";

Deno.test("TLS13_SUITES lists RFC 8446 §B.4 suites in preference order", () => {
  assert.deepEqual(
    TLS13_SUITES.map((s) => [s.id, s.name, s.aead, s.hash]),
    [
      [0x1301, "TLS_AES_128_GCM_SHA256", AES_128_GCM, SHA256],
      [0x1302, "TLS_AES_256_GCM_SHA384", AES_256_GCM, SHA384],
      [0x1303, "TLS_CHACHA20_POLY1305_SHA256", CHACHA20_POLY1305, SHA256],
    ],
  );
  assert.ok(Object.isFrozen(TLS13_SUITES));
});

Deno.test("tls13SuiteById() finds supported suites only", () => {
  for (const suite of TLS13_SUITES) assert.equal(tls13SuiteById(suite.id), suite);
  assert.equal(tls13SuiteById(0x1304), undefined); // TLS_AES_128_CCM_SHA256
  assert.equal(tls13SuiteById(0xc02f), undefined);
});

Deno.test("KX_GROUPS lists X25519MLKEM768, x25519, secp256r1, secp384r1 in preference order", () => {
  assert.deepEqual(KX_GROUPS, [X25519MLKEM768, X25519, SECP256R1, SECP384R1]);
  assert.ok(Object.isFrozen(KX_GROUPS));
});

Deno.test("kxGroupById() finds supported groups only", () => {
  assert.equal(kxGroupById(0x001d), X25519);
  assert.equal(kxGroupById(0x0017), SECP256R1);
  assert.equal(kxGroupById(0x0018), SECP384R1);
  assert.equal(kxGroupById(0x0019), undefined); // secp521r1
  assert.equal(kxGroupById(0x11ec), X25519MLKEM768);
  assert.equal(kxGroupById(0x11eb), undefined); // SecP256r1MLKEM768
});
