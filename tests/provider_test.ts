/**
 * The WebCrypto provider in whole handshakes: TLS 1.3 and 1.2, every certificate type, both roles verifying
 * (mTLS); the verdicts arrive through WANT_ASYNC; a bad signature is still decrypt_error.
 */
import assert from "node:assert/strict";
import {
  type CryptoProvider,
  customSigningKey,
  loadPrivateKey,
  nobleProvider,
  SslError,
  type TlsEngine,
  webCryptoProvider,
} from "../mod.ts";
import { webCryptoAeadKey } from "../suites/aead.ts";
import { type Hash, SHA256, SHA384 } from "../suites/hash.ts";
import { drain, handshake, handshakeExpectingFailure, makePair, settled, transfer } from "../testing/pair.ts";
import { generateChain, generateTestCertificate, type TestKeyType } from "../testing/pki.ts";
import { assertFailed, assertReceived, rejects } from "../testing/reject.ts";
import { cat, onProtected } from "../testing/tamper.ts";
import { ContentType as CT, HandshakeType as H } from "../engine/msgs/enums.ts";
import { normalizeCommon } from "../engine/config.ts";

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
      // A TLS 1.3 client's key share is made natively: its ClientHello waits for it, and for its GREASE ECH
      // enc, another X25519 key from the provider (one wait or two, as the promises settle). (1.2 sends none.)
      let first = p.client.getError(p.client.doHandshake());
      if (version === "TLSv1.3") {
        assert.equal(first, SslError.WANT_ASYNC);
        assert.equal(p.c.network.pending(), 0);
        for (let i = 0; i < 5 && first === SslError.WANT_ASYNC; i++) {
          await p.client.asyncWait();
          first = p.client.getError(p.client.doHandshake());
        }
      }
      assert.equal(first, SslError.WANT_READ);
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

/** webCryptoProvider, counting the records its native AEAD keys seal and open. */
function countingProvider() {
  const counts = { seal: 0, open: 0 };
  const provider: CryptoProvider = {
    ...webCryptoProvider,
    aeadKey(aead, key) {
      const native = webCryptoAeadKey(aead, key);
      if (!native) return undefined;
      return {
        minLength: native.minLength,
        seal: (n, a, p) => (counts.seal++, native.seal(n, a, p)),
        open: (n, a, c) => (counts.open++, native.open(n, a, c)),
      };
    },
  };
  return { provider, counts };
}

for (const version of ["TLSv1.3", "TLSv1.2"] as const) {
  Deno.test(`webCryptoProvider: ${version} bulk records are sealed and opened natively, in order, small ones by noble`, async () => {
    const { provider, counts } = countingProvider();
    const p = await makePair({
      client: {
        provider,
        maxVersion: version,
        cipherSuites: ["TLS_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"],
      },
      server: { provider },
    });
    await handshake(p);
    assert.match(p.client.handshakeInfo!.cipherSuite, /AES_128_GCM/);
    const before = { ...counts };
    // Small records stay synchronous: no WANT_ASYNC, no native call.
    assert.equal(p.client.write(Uint8Array.of(1, 2, 3)), 3);
    transfer(p);
    assert.deepEqual(await drain(p.server), Uint8Array.of(1, 2, 3));
    assert.deepEqual(counts, before);
    // 200 kB each way in one write(): records go out sealed several at a time, and arrive in order.
    const a = new Uint8Array(200_000).map((_, i) => i * 7), b = new Uint8Array(200_000).map((_, i) => i * 11);
    const got = { client: [] as Uint8Array[], server: [] as Uint8Array[] };
    let sentA = 0, sentB = 0, waits = 0;
    const buf = new Uint8Array(65536);
    for (
      let i = 0;
      i < 10_000 &&
      (got.server.length === 0 || cat(...got.server).length < a.length ||
        cat(...got.client).length < b.length);
      i++
    ) {
      for (
        const [e, data, sent, add] of [
          [p.client, a, sentA, (n: number) => (sentA += n)],
          [p.server, b, sentB, (n: number) => (sentB += n)],
        ] as const
      ) {
        if (sent < data.length) {
          const w = e.write(data.subarray(sent));
          if (w > 0) add(w);
          else if (e.getError(w) === SslError.WANT_ASYNC) waits++, await e.asyncWait();
        }
      }
      transfer(p);
      for (const [e, into] of [[p.server, got.server], [p.client, got.client]] as const) {
        const r = e.read(buf);
        if (r > 0) into.push(buf.slice(0, r));
        else if (e.getError(r) === SslError.WANT_ASYNC) waits++, await e.asyncWait();
      }
    }
    assert.deepEqual(cat(...got.server), a);
    assert.deepEqual(cat(...got.client), b);
    assert.ok(waits > 0, "WANT_ASYNC happened");
    // Each side sealed its 13 full records natively, and opened the other's.
    assert.ok(counts.seal - before.seal >= 24 && counts.open - before.open >= 24, JSON.stringify(counts));
  });
}

Deno.test("webCryptoProvider: a KeyUpdate among records read ahead: those after it are opened again with the new key", async () => {
  const { provider, counts } = countingProvider();
  const p = await makePair({ client: { provider }, server: { provider }, capacity: 1 << 20 });
  // The KeyUpdate padded to 3000 bytes (RFC 8446 §5.4), large enough to be opened natively and read ahead.
  const pad = onProtected(
    p.client,
    (inner) =>
      inner.type === CT.handshake && inner.content[0] === H.keyUpdate ? { ...inner, padding: 3000 } : inner,
  );
  await handshake(p, pad);
  // Everything lands in the server's BIO at once: 2 records, the KeyUpdate, 2 records under the next key.
  const first = new Uint8Array(30_000).fill(1), second = new Uint8Array(30_000).fill(2);
  await sendNow(p.client, first);
  assert.equal(p.client.keyUpdate(false), 1);
  await sendNow(p.client, second);
  transfer(p, pad);
  const opensBefore = counts.open;
  const got = await drain(p.server);
  assert.deepEqual(got, cat(first, second));
  // Read ahead, the two records after the KeyUpdate failed under the old key and were opened again.
  assert.ok(counts.open - opensBefore >= 6, `${counts.open - opensBefore} native opens`);
  assert.equal(p.server.error, undefined);
});

Deno.test("webCryptoProvider: a flipped bit in a natively opened record is bad_record_mac; close_notify waits for sealing", async () => {
  const p = await makePair({
    client: { provider: webCryptoProvider },
    server: { provider: webCryptoProvider },
    capacity: 1 << 20,
  });
  await handshake(p);
  // close_notify sealed while a large record is still being sealed goes out after it.
  const data = new Uint8Array(20_000).fill(9);
  assert.equal(p.client.getError(p.client.write(data)), SslError.WANT_ASYNC);
  assert.equal(p.client.getError(p.client.shutdown()), SslError.WANT_ASYNC);
  for (let i = 0; i < 20 && p.client.flush() !== 1; i++) await p.client.asyncWait();
  transfer(p);
  assert.deepEqual(await drain(p.server), data);
  assert.equal(p.server.getError(p.server.read(new Uint8Array(1))), SslError.ZERO_RETURN);

  const q = await makePair({
    client: { provider: webCryptoProvider },
    server: { provider: webCryptoProvider },
    capacity: 1 << 20,
  });
  await handshake(q);
  await sendNow(q.client, new Uint8Array(5000));
  const wire = q.c.network.read();
  wire[wire.length - 100]! ^= 0x40;
  q.s.network.write(wire);
  assert.equal(await settled(q.server, () => q.server.read(new Uint8Array(8192))), -1);
  assertFailed(q.server, "bad_record_mac", "decrypt");
  transfer(q);
  assertReceived(q.client, "bad_record_mac");
});

Deno.test("webCryptoProvider: a write's asyncWait() waits for its seal, not for an opened record waiting to be read", async () => {
  // The server's native seals wait at a gate the test opens; its opens run as usual.
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const provider: CryptoProvider = {
    ...webCryptoProvider,
    aeadKey(aead, key) {
      const native = webCryptoAeadKey(aead, key);
      if (!native) return undefined;
      return { ...native, seal: (n, a, p) => gate.then(() => native.seal(n, a, p)) };
    },
  };
  const p = await makePair({ client: { provider: webCryptoProvider }, server: { provider } });
  await handshake(p);
  const fromClient = new Uint8Array(5000).fill(7), fromServer = new Uint8Array(5000).fill(9);
  await sendNow(p.client, fromClient);
  transfer(p);
  // The server starts opening the client's record natively and it finishes; nobody reads it yet.
  const buf = new Uint8Array(8192);
  const r = p.server.read(buf);
  assert.equal(p.server.getError(r), SslError.WANT_ASYNC);
  await p.server.asyncWait();
  // A write now waits for its seal (held at the gate): asyncWait() must not settle at once, else a pump
  // that awaits it and calls write() again spins on microtasks and starves the seal it waits for.
  const w = p.server.write(fromServer);
  assert.equal(p.server.getError(w), SslError.WANT_ASYNC);
  let settledEarly = false;
  const wait = p.server.asyncWait().then(() => (settledEarly = true));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(settledEarly, false, "asyncWait() settled while the seal was held");
  open();
  await wait;
  assert.equal(await settled(p.server, () => p.server.write(fromServer)), fromServer.length);
  assert.deepEqual(await drain(p.server), fromClient);
  transfer(p);
  assert.deepEqual(await drain(p.client), fromServer);
});

/** write() all of `data` (waiting out WANT_ASYNC) into a BIO large enough; the records stay in the BIO. */
async function sendNow(e: TlsEngine, data: Uint8Array): Promise<void> {
  assert.equal(await settled(e, () => e.write(data)), data.length);
}

/** noble's hashes, each call counted; with `breakHmac`, every HMAC comes out wrong. */
function hashProvider(breakHmac = false) {
  const calls = { hmac: 0, digest: 0, create: 0, expand: 0 };
  const wrap = (h: Hash): Hash =>
    Object.freeze({
      ...h,
      digest: (d: Uint8Array) => (calls.digest++, h.digest(d)),
      create: () => (calls.create++, h.create()),
      hkdfExpand: (
        prk: Uint8Array,
        info: Uint8Array,
        n: number,
      ) => (calls.expand++, h.hkdfExpand(prk, info, n)),
      hmac: (k: Uint8Array, d: Uint8Array) => {
        calls.hmac++;
        const mac = h.hmac(k, d);
        if (breakHmac) mac[0]! ^= 1;
        return mac;
      },
    });
  const hashes = { "SHA-256": wrap(SHA256), "SHA-384": wrap(SHA384) };
  const provider: CryptoProvider = { ...nobleProvider, hash: (name) => hashes[name] };
  return { provider, calls };
}

for (const version of ["TLSv1.3", "TLSv1.2"] as const) {
  Deno.test(`providers: ${version} hashes, HMACs and HKDF come from the provider's hash()`, async () => {
    const { provider, calls } = hashProvider();
    const p = await makePair({ client: { provider, maxVersion: version }, server: { provider } });
    await handshake(p);
    assert.equal(p.client.handshakeInfo?.version, version);
    // Finished on both sides; the transcripts; TLS 1.3's key schedule (HKDF) or TLS 1.2's PRF (HMAC).
    assert.ok(calls.create > 0, JSON.stringify(calls));
    assert.ok(version === "TLSv1.3" ? calls.expand > 10 : calls.hmac > 10, JSON.stringify(calls));
    // A provider whose HMAC is wrong on one side only: the Finished check catches it.
    const broken = hashProvider(true);
    const q = await makePair({ client: { provider: broken.provider, maxVersion: version } });
    await handshakeExpectingFailure(q);
    assert.ok(broken.calls.hmac > 0);
    assert.ok(q.client.error || q.server.error, "the handshake failed");
  });
}

Deno.test("providers: a configuration's suites are made once per provider and list, in the list's order, on that provider", () => {
  const { provider } = hashProvider();
  const config = {
    provider,
    cipherSuites: ["TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256"],
  } as const;
  const a = normalizeCommon(config), b = normalizeCommon({ ...config });
  assert.equal(a.suites, b.suites, "the same list on the same provider shares one array");
  assert.ok(Object.isFrozen(a.suites), "a shared array is frozen");
  assert.deepEqual(a.suites.map((s) => s.name), config.cipherSuites);
  assert.deepEqual(a.suites12, []);
  assert.equal(a.suites[0]!.hash, provider.hash("SHA-256"), "the suites hash with their provider's hash");
  const noble = normalizeCommon({ provider: nobleProvider, cipherSuites: config.cipherSuites });
  assert.notEqual(noble.suites, a.suites);
  assert.equal(noble.suites[0]!.hash, nobleProvider.hash("SHA-256"));
  const reversed = normalizeCommon({ provider, cipherSuites: [...config.cipherSuites].reverse() });
  assert.deepEqual(reversed.suites.map((s) => s.name), [...config.cipherSuites].reverse());
  // More lists than are kept: each still gets its own suites.
  const names = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"] as const;
  for (let i = 0; i < 70; i++) {
    const list = [names[i % 3]!, names[(i + 1) % 3]!, ...(i % 2 ? [] : [names[(i + 2) % 3]!])];
    const cipherSuites = [...list, ...(i >= 3 ? ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" as const] : [])];
    const n = normalizeCommon({ provider, cipherSuites: i % 7 ? cipherSuites : [...cipherSuites].reverse() });
    assert.deepEqual(
      [...n.suites, ...n.suites12].map((s) => s.name).sort(),
      [...cipherSuites].sort(),
    );
  }
  assert.equal(normalizeCommon(config).suites.length, 2);
});
