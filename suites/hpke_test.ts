// Copyright 2026 the airlock authors. MIT license.

import assert from "node:assert/strict";
import vectors from "../tests/vectors/rfc9180/base_x25519.json" with { type: "json" };
import { fromHex, toHex } from "./bytes.ts";
import {
  HPKE_X25519_SHA256,
  hpkeDeriveKeyPair,
  HpkeError,
  hpkeKeyPair,
  hpkeOpen,
  hpkeSeal,
  hpkeSetupRecipient,
  hpkeSetupSender,
  hpkeSupports,
} from "./hpke.ts";
import { nodeCryptoProvider } from "./node_crypto.ts";
import { type CryptoProvider, nobleProvider, webCryptoProvider } from "./provider.ts";

const PROVIDERS: readonly CryptoProvider[] = [nobleProvider, webCryptoProvider, nodeCryptoProvider];
const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));

for (const v of vectors.suites) {
  const suite = { kem: v.kem_id, kdf: v.kdf_id, aead: v.aead_id };
  for (const provider of PROVIDERS) {
    Deno.test(`hpke: RFC 9180 ${v.section} (aead ${v.aead_id}) on ${provider.name}: keys, schedule, every encryption`, async () => {
      const eph = hpkeDeriveKeyPair(provider, fromHex(v.ikmE));
      assert.equal(toHex(eph.privateKey), v.skEm);
      assert.equal(toHex(eph.publicKey), v.pkEm);
      const recipient = hpkeDeriveKeyPair(provider, fromHex(v.ikmR));
      assert.equal(toHex(recipient.privateKey), v.skRm);
      assert.equal(toHex(recipient.publicKey), v.pkRm);

      const info = fromHex(v.info);
      const { enc, context: sender } = await hpkeSetupSender(provider, suite, recipient.publicKey, info, {
        ikm: fromHex(v.ikmE),
      });
      assert.equal(toHex(enc), v.enc);
      assert.equal(toHex(sender.schedule.key), v.key);
      assert.equal(toHex(sender.schedule.baseNonce), v.base_nonce);
      assert.equal(toHex(sender.schedule.exporterSecret), v.exporter_secret);
      const receiver = await hpkeSetupRecipient(provider, suite, recipient, enc, info);
      assert.equal(toHex(receiver.schedule.key), v.key);

      // The vectors skip sequence numbers (0, 1, 2, 4, 255, 256): seal and open the gaps too.
      let seq = 0;
      for (const e of v.encryptions) {
        for (; seq < e.seq; seq++) {
          const filler = sender.seal(new Uint8Array(0), new Uint8Array(1));
          assert.deepEqual(receiver.open(new Uint8Array(0), filler), new Uint8Array(1));
        }
        const ct = sender.seal(fromHex(e.aad), fromHex(e.pt));
        assert.equal(toHex(ct), e.ct, `sequence number ${e.seq}`);
        assert.equal(toHex(receiver.open(fromHex(e.aad), ct)!), e.pt);
        seq++;
      }
    });
  }
}

Deno.test("hpke: a tampered ciphertext, aad, enc or info does not open, and a failed open keeps the sequence", async () => {
  const suite = { ...HPKE_X25519_SHA256, aead: 0x0001 };
  const recipient = hpkeKeyPair(nobleProvider, random);
  const info = new TextEncoder().encode("tls ech");
  const aad = Uint8Array.of(1, 2, 3);
  const { enc, ciphertext } = await hpkeSeal(
    nobleProvider,
    suite,
    recipient.publicKey,
    info,
    aad,
    Uint8Array.of(9),
    random,
  );
  assert.deepEqual(
    hpkeOpen(nobleProvider, suite, recipient.privateKey, enc, info, aad, ciphertext),
    Uint8Array.of(9),
  );

  const flipped = ciphertext.slice();
  flipped[0]! ^= 1;
  assert.equal(await hpkeOpen(nobleProvider, suite, recipient.privateKey, enc, info, aad, flipped), null);
  assert.equal(
    hpkeOpen(nobleProvider, suite, recipient.privateKey, enc, info, Uint8Array.of(1, 2), ciphertext),
    null,
  );
  assert.equal(
    hpkeOpen(nobleProvider, suite, recipient.privateKey, enc, new Uint8Array(0), aad, ciphertext),
    null,
  );
  const otherEnc = hpkeKeyPair(nobleProvider, random).publicKey;
  assert.equal(
    await hpkeOpen(nobleProvider, suite, recipient.privateKey, otherEnc, info, aad, ciphertext),
    null,
  );

  const context = await hpkeSetupRecipient(nobleProvider, suite, recipient, enc, info);
  assert.equal(context.open(aad, flipped), null);
  assert.deepEqual(context.open(aad, ciphertext), Uint8Array.of(9)); // still at sequence number 0
});

Deno.test("hpke: unsupported suites and malformed keys are HpkeErrors that name the problem", async () => {
  const recipient = hpkeKeyPair(nobleProvider, random);
  const info = new Uint8Array(0);
  assert.equal(hpkeSupports({ kem: 0x0020, kdf: 1, aead: 3 }), true);
  assert.equal(hpkeSupports({ kem: 0x0010, kdf: 1, aead: 1 }), false);
  assert.equal(hpkeSupports({ kem: 0x0020, kdf: 1, aead: 0xffff }), false); // export-only
  assert.throws(
    () => hpkeSetupSender(nobleProvider, { kem: 0x0010, kdf: 1, aead: 1 }, recipient.publicKey, info, random),
    (e: unknown) => e instanceof HpkeError && /kem 0x0010/.test(e.message),
  );
  assert.throws(
    () => hpkeSetupSender(nobleProvider, { kem: 0x0020, kdf: 2, aead: 1 }, recipient.publicKey, info, random),
    HpkeError,
  );
  assert.throws(
    () =>
      hpkeSetupSender(nobleProvider, { ...HPKE_X25519_SHA256, aead: 1 }, new Uint8Array(31), info, random),
    (e: unknown) => e instanceof HpkeError && /32 bytes/.test(e.message),
  );
  assert.throws(
    () =>
      hpkeSetupRecipient(
        nobleProvider,
        { ...HPKE_X25519_SHA256, aead: 1 },
        recipient,
        new Uint8Array(33),
        info,
      ),
    HpkeError,
  );
  // A low-order point gives an all-zero X25519 output: RFC 9180 §7.1.4 says abort.
  for (const provider of PROVIDERS) {
    await assert.rejects(
      async () =>
        await hpkeSetupRecipient(
          provider,
          { ...HPKE_X25519_SHA256, aead: 1 },
          recipient,
          new Uint8Array(32),
          info,
        ),
      HpkeError,
      provider.name,
    );
  }
});

Deno.test("hpke: every provider seals what every other opens (random keys, each AEAD)", async () => {
  for (const aead of [1, 2, 3]) {
    const suite = { ...HPKE_X25519_SHA256, aead };
    for (const from of PROVIDERS) {
      for (const to of PROVIDERS) {
        const recipient = hpkeKeyPair(to, random);
        const info = random(20), aad = random(7), message = random(100);
        const { enc, ciphertext } = await hpkeSeal(
          from,
          suite,
          recipient.publicKey,
          info,
          aad,
          message,
          random,
        );
        assert.deepEqual(
          await hpkeOpen(to, suite, recipient.privateKey, enc, info, aad, ciphertext),
          message,
        );
      }
    }
  }
});
