/**
 * The WebCrypto provider in whole handshakes: TLS 1.3 and 1.2, every certificate type, both roles verifying
 * (mTLS); the verdicts arrive through WANT_ASYNC; a bad signature is still decrypt_error.
 */
import assert from "node:assert/strict";
import { customSigningKey, loadPrivateKey, SslError, webCryptoProvider } from "../mod.ts";
import { handshake, makePair, transfer } from "./_helpers.ts";
import { generateChain, generateTestCertificate, type TestKeyType } from "./_pki.ts";
import { rejects } from "./_reject.ts";
import { cat } from "./_tamper.ts";

const TYPES: TestKeyType[] = ["ecdsa-p256", "ecdsa-p384", "ed25519", "rsa-2048"];

for (const version of ["TLSv1.3", "TLSv1.2"] as const) {
  for (const keyType of TYPES) {
    Deno.test(`webCryptoProvider: ${version}, ${keyType} server and client certificates, through WANT_ASYNC`, async () => {
      const client = await generateChain({ keyType, dnsNames: ["client.test"], eku: ["clientAuth"] });
      const p = await makePair({
        keyType,
        client: {
          provider: webCryptoProvider,
          maxVersion: version,
          minVersion: version,
          clientCertificate: { chain: client.chainPem, key: await loadPrivateKey(client.keyPem) },
        },
        server: {
          provider: webCryptoProvider,
          clientAuth: { required: true, trustAnchors: [client.rootPem] },
        },
      });
      let waits = 0;
      // A TLS 1.3 client's key share is made natively: its ClientHello waits for it. (1.2 sends none.)
      if (version === "TLSv1.3") {
        assert.equal(p.client.getError(p.client.doHandshake()), SslError.WANT_ASYNC);
        assert.equal(p.c.network.pending(), 0);
        await p.client.asyncWait();
      }
      assert.equal(p.client.getError(p.client.doHandshake()), SslError.WANT_READ);
      assert.ok(p.c.network.pending() > 0, "the ClientHello went out");
      for (let i = 0; i < 200 && !(p.client.isHandshakeDone && p.server.isHandshakeDone); i++) {
        for (const e of [p.client, p.server]) {
          const ret = e.doHandshake();
          if (ret < 0 && e.getError(ret) === SslError.WANT_ASYNC) {
            waits++;
            await e.asyncWait();
          }
        }
        transfer(p);
      }
      assert.ok(
        p.client.isHandshakeDone && p.server.isHandshakeDone,
        p.client.error?.message ?? p.server.error?.message,
      );
      assert.equal(p.client.handshakeInfo?.version, version);
      assert.ok(waits >= 2, `both verifications went through WANT_ASYNC (${waits})`);
      assert.deepEqual(p.server.peerCertificates, client.chain);
    });
  }
}

Deno.test("webCryptoProvider: a signature over other bytes is decrypt_error (TLS 1.3 and 1.2)", async () => {
  const chain = await generateChain({ keyType: "ecdsa-p256", dnsNames: ["localhost"] });
  const key = await loadPrivateKey(chain.keyPem);
  const liar = customSigningKey(key.publicKey, key.schemes, (s, m) => key.sign(s, cat(m, Uint8Array.of(0))));
  for (const version of ["TLSv1.3", "TLSv1.2"] as const) {
    const p = await makePair({
      client: { provider: webCryptoProvider, maxVersion: version },
      server: { certificates: [{ chain: chain.chainPem, key: liar }] },
    });
    await rejects(p, "client", "decrypt_error", "certificate.bad_signature");
  }
});

for (const keyType of ["ecdsa-p256", "ecdsa-p384", "ed25519"] as const) {
  Deno.test(`webCryptoProvider: a natively signing ${keyType} server key, TLS 1.3 and 1.2, verified by noble`, async () => {
    const cert = await generateTestCertificate(keyType);
    const key = await webCryptoProvider.loadPrivateKey(cert.keyPkcs8);
    for (const version of ["TLSv1.3", "TLSv1.2"] as const) {
      const p = await makePair({
        keyType,
        client: { maxVersion: version, groups: ["x25519", "secp256r1", "secp384r1"] },
        server: { certificates: [{ chain: cert.chain, key }] },
      });
      await handshake(p);
      assert.equal(p.client.handshakeInfo?.version, version);
      assert.deepEqual(p.client.peerCertificates, cert.chain);
    }
  });
}
