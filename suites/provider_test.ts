/**
 * Every built-in provider (noble, WebCrypto, and node:crypto) gives the same verdict on the same
 * signatures: valid ones from every key type airlock loads, and tampered, truncated, mismatched and malformed
 * ones; TLS 1.2's curve-free ECDSA schemes too. Key exchange agrees across them in every direction, and all
 * refuse the same bad shares with KxError. Their AEADs seal to the same bytes and refuse the same forgeries.
 * The default is the runtime's fastest, and the public loadPrivateKey loads for it.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync, KeyObject, sign as nodeSign } from "node:crypto";
import process from "node:process";
import { nodeCryptoProvider } from "./node_crypto.ts";
import type { Aead } from "./aead.ts";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import { KxError, SECP256R1, SECP384R1, X25519, X25519MLKEM768 } from "./kx.ts";
import { type CryptoProvider, nobleProvider, webCryptoProvider } from "./provider.ts";
import { loadPrivateKey, SIG_SCHEMES as S, type SigningKey } from "./sign.ts";
import {
  defaultProvider,
  fastestProvider,
  installDefaultProvider,
  loadPrivateKey as loadDefaultKey,
} from "./default_provider.ts";

const PROVIDERS: readonly CryptoProvider[] = [nobleProvider, webCryptoProvider, nodeCryptoProvider];

const MESSAGE = new TextEncoder().encode("provider test message");

function pkcs8(type: "ec" | "ed25519" | "rsa", opts: Record<string, unknown> = {}): string {
  // deno-lint-ignore no-explicit-any
  const { privateKey } = generateKeyPairSync(type as any, opts as any) as unknown as {
    privateKey: { export(o: { type: "pkcs8"; format: "pem" }): string };
  };
  return privateKey.export({ type: "pkcs8", format: "pem" });
}

/** The PEM each test key was loaded from. */
const PEMS = new WeakMap<SigningKey, string>();

async function load(pem: string): Promise<SigningKey> {
  const key = await loadPrivateKey(pem);
  PEMS.set(key, pem);
  return key;
}

const KEYS: [string, () => Promise<SigningKey>][] = [
  ["P-256", () => load(pkcs8("ec", { namedCurve: "P-256" }))],
  ["P-384", () => load(pkcs8("ec", { namedCurve: "P-384" }))],
  ["Ed25519", () => load(pkcs8("ed25519"))],
  ["RSA-2048", () => load(pkcs8("rsa", { modulusLength: 2048 }))],
];

for (const [name, make] of KEYS) {
  Deno.test(`providers: ${name} signatures verify alike with every provider, and failures fail alike`, async () => {
    const key = await make();
    for (const scheme of key.schemes) {
      const sig = await key.sign(scheme, MESSAGE);
      const bad = sig.slice();
      bad[bad.length - 1]! ^= 1;
      const other = scheme === S.ed25519 ? S.ecdsa_secp256r1_sha256 : S.ed25519;
      const cases: [Uint8Array, Uint8Array, number, boolean][] = [
        [MESSAGE, sig, scheme, true],
        [MESSAGE.subarray(1), sig, scheme, false],
        [MESSAGE, bad, scheme, false],
        [MESSAGE, sig.subarray(0, sig.length - 3), scheme, false],
        [MESSAGE, new Uint8Array(0), scheme, false],
        [MESSAGE, sig, other, false],
        [MESSAGE, sig, 0x0999, false],
      ];
      for (const [m, s, sc, expected] of cases) {
        for (const p of PROVIDERS) {
          assert.equal(
            await p.verify(sc, key.publicKey, m, s, false),
            expected,
            `${p.name} ${name} 0x${sc.toString(16)}`,
          );
        }
      }
    }
  });
}

Deno.test("providers: TLS 1.2's ecdsa_secp256r1_sha256 from a P-384 key verifies only under TLS 1.2 rules", async () => {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-384" });
  const key = await loadPrivateKey(privateKey.export({ type: "pkcs8", format: "pem" }) as string);
  const sig = new Uint8Array(nodeSign("sha256", MESSAGE, privateKey));
  for (const p of PROVIDERS) {
    assert.equal(await p.verify(S.ecdsa_secp256r1_sha256, key.publicKey, MESSAGE, sig, true), true, p.name);
    assert.equal(await p.verify(S.ecdsa_secp256r1_sha256, key.publicKey, MESSAGE, sig, false), false, p.name);
  }
});

for (const [name, make] of KEYS.slice(0, 3)) {
  Deno.test(`providers: a ${name} key from webCryptoProvider.loadPrivateKey signs natively; both verify it`, async () => {
    const noble = await make();
    const native = await webCryptoProvider.loadPrivateKey(PEMS.get(noble)!);
    assert.deepEqual(native.publicKey.spki, noble.publicKey.spki);
    assert.deepEqual(native.schemes, noble.schemes);
    for (const scheme of native.schemes) {
      // The signature comes from WebCrypto: count its sign() calls.
      const subtle = crypto.subtle as { sign: SubtleCrypto["sign"] };
      const original = subtle.sign;
      let calls = 0;
      subtle.sign = (
        ...args: Parameters<SubtleCrypto["sign"]>
      ) => (calls++, original.apply(crypto.subtle, args));
      let a: Uint8Array, b: Uint8Array;
      try {
        a = await native.sign(scheme, MESSAGE);
        b = await native.sign(scheme, MESSAGE);
      } finally {
        subtle.sign = original;
      }
      assert.equal(calls, 2, "signed by WebCrypto");
      for (const p of PROVIDERS) {
        assert.equal(await p.verify(scheme, noble.publicKey, MESSAGE, a, false), true, `${p.name} ${name}`);
        assert.equal(await p.verify(scheme, noble.publicKey, MESSAGE.subarray(1), a, false), false);
      }
      // Ed25519 is deterministic everywhere; native ECDSA may draw random nonces (Node, Bun) or not (Deno).
      if (scheme === S.ed25519) assert.deepEqual(a, b, "Ed25519 is deterministic");
      assert.equal(await nobleProvider.verify(scheme, noble.publicKey, MESSAGE, b, false), true);
      // noble's own signature is deterministic (RFC 6979)
      assert.deepEqual(await noble.sign(scheme, MESSAGE), await noble.sign(scheme, MESSAGE));
    }
  });
}

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));

for (const group of [X25519, SECP256R1, SECP384R1]) {
  Deno.test(`providers: ${group.name} key exchange agrees across every provider, every direction`, async () => {
    for (const a of PROVIDERS) {
      for (const b of PROVIDERS) {
        // TLS 1.3 shape: a makes the share, b answers with respond(), a derives.
        const mine = await a.keyShare(group, random);
        const answer = await b.respond(group, mine.publicKey, random);
        assert.deepEqual(await a.sharedSecret(group, mine, answer.publicKey), answer.sharedSecret);
        assert.equal(answer.sharedSecret.length, group.id === 0x0018 ? 48 : 32);
      }
    }
    for (const p of [webCryptoProvider, nodeCryptoProvider]) {
      const native = await p.keyShare(group, random);
      assert.equal(native.publicKey.length, group.id === 0x001d ? 32 : group.id === 0x0017 ? 65 : 97);
      // The private key stays inside the runtime and out of logs.
      assert.equal(native.privateKey.length, 0, p.name);
      assert.ok(!JSON.stringify(native).includes("privateKey"));
    }
  });

  Deno.test(`providers: a bad ${group.name} peer share is KxError with every provider`, async () => {
    const good = group.generate(random).publicKey;
    const offCurve = good.slice();
    offCurve[offCurve.length - 1]! ^= 1;
    const bad: [string, Uint8Array][] = [
      ["empty", new Uint8Array(0)],
      ["one byte short", good.subarray(0, good.length - 1)],
      ["one byte long", Uint8Array.of(...good, 0)],
    ];
    if (group === X25519) {
      bad.push(["the all-zero (low-order) point", new Uint8Array(32)]);
      bad.push(["the order-2 point 1", Uint8Array.of(1, ...new Uint8Array(31))]);
    } else {
      bad.push(["a point off the curve", offCurve]);
      bad.push(["the compressed form", Uint8Array.of(2, ...good.subarray(1, (good.length + 1) / 2))]);
    }
    for (const provider of PROVIDERS) {
      const mine = await provider.keyShare(group, random);
      for (const [what, share] of bad) {
        await assert.rejects(
          async () => await provider.sharedSecret(group, mine, share),
          KxError,
          `${provider.name}: sharedSecret with ${what}`,
        );
        await assert.rejects(
          async () => await provider.respond(group, share, random),
          KxError,
          `${provider.name}: respond to ${what}`,
        );
      }
    }
  });
}

/** Count the calls of a method (which keeps working) until `restore()`. */
function counting(
  object: Record<string, unknown>,
  name: string,
): { readonly calls: number; restore(): void } {
  const original = object[name] as (...a: unknown[]) => unknown;
  const spy = {
    calls: 0,
    restore: () => void (object[name] = original),
  };
  object[name] = function (this: unknown, ...a: unknown[]) {
    spy.calls++;
    return original.apply(this, a);
  };
  return spy;
}

Deno.test("providers: nodeCryptoProvider never exports a key it generated (Node 20 can deadlock on that)", async () => {
  // Node 20's KeyObject export holds the key's mutex while it allocates; a garbage collection then may run
  // the generation job's destructor, which takes the same mutex: the process hangs. The public key must
  // come out of generateKeyPairSync encoded, never from export().
  const exports = counting(KeyObject.prototype as unknown as Record<string, unknown>, "export");
  try {
    for (const group of [X25519, X25519MLKEM768]) {
      const mine = await nodeCryptoProvider.keyShare(group, random);
      const answer = await nodeCryptoProvider.respond(group, mine.publicKey, random);
      assert.deepEqual(
        await nodeCryptoProvider.sharedSecret(group, mine, answer.publicKey),
        answer.sharedSecret,
      );
    }
  } finally {
    exports.restore();
  }
  assert.equal(exports.calls, 0);
});

Deno.test("providers: X25519MLKEM768 agrees across every provider, every direction", async () => {
  for (const a of PROVIDERS) {
    for (const b of PROVIDERS) {
      const mine = await a.keyShare(X25519MLKEM768, random);
      assert.equal(mine.publicKey.length, 1216);
      const answer = await b.respond(X25519MLKEM768, mine.publicKey, random);
      assert.equal(answer.publicKey.length, 1120);
      const secret = await a.sharedSecret(X25519MLKEM768, mine, answer.publicKey);
      assert.deepEqual(secret, answer.sharedSecret, `${a.name} → ${b.name}`);
      assert.equal(secret.length, 64);
      if (a === nobleProvider) {
        // noble's share has its keys: the halves are ML-KEM-768 (FIPS 203) then plain X25519 (RFC 7748).
        const xHalf = X25519.sharedSecret(mine.privateKey.subarray(2400), answer.publicKey.subarray(1088));
        assert.deepEqual(secret.subarray(32), xHalf, `X25519 half, ${b.name} answering`);
        const dk = mine.privateKey.subarray(0, 2400);
        assert.deepEqual(
          secret.subarray(0, 32),
          ml_kem768.decapsulate(answer.publicKey.subarray(0, 1088), dk),
        );
      }
    }
  }
  for (const p of [webCryptoProvider, nodeCryptoProvider]) {
    // The native providers keep their private keys (ML-KEM and X25519) inside the runtime and out of logs.
    const native = await p.keyShare(X25519MLKEM768, random);
    assert.equal(native.privateKey.length, 0, p.name);
    assert.ok(!JSON.stringify(native).includes("privateKey"));
  }
});

Deno.test("providers: X25519MLKEM768's ML-KEM runs natively where the runtime has ML-KEM-768", async () => {
  // WebCrypto's (Deno, Bun, Node 24.7+) for webCryptoProvider; node:crypto's synchronous one (Node 24.7+) for
  // nodeCryptoProvider, else the same WebCrypto. Node 20 has neither: noble does it (tests above).
  const subtle = crypto.subtle as unknown as Record<string, unknown>;
  const nodeCrypto = process.getBuiltinModule?.("node:crypto") as unknown as
    | Record<string, unknown>
    | undefined;
  const web = typeof subtle.encapsulateBits === "function";
  const cases: [CryptoProvider, Record<string, unknown>, string][] = [];
  if (web) cases.push([webCryptoProvider, subtle, "encapsulateBits"]);
  if (typeof nodeCrypto?.encapsulate === "function") {
    cases.push([nodeCryptoProvider, nodeCrypto, "encapsulate"]);
  } else if (web) cases.push([nodeCryptoProvider, subtle, "encapsulateBits"]);
  for (const [p, object, name] of cases) {
    const encapsulations = counting(object, name);
    try {
      const share = X25519MLKEM768.generate(random);
      const answer = await p.respond(X25519MLKEM768, share.publicKey, random);
      assert.deepEqual(X25519MLKEM768.sharedSecret(share.privateKey, answer.publicKey), answer.sharedSecret);
    } finally {
      encapsulations.restore();
    }
    assert.equal(encapsulations.calls, 1, `${p.name}: encapsulated by ${name}`);
  }
});

Deno.test("providers: a bad X25519MLKEM768 share is KxError with every provider, both ways", async () => {
  const client = X25519MLKEM768.generate(random).publicKey;
  const server = X25519MLKEM768.respond(client, random).publicKey;
  const resized = (b: Uint8Array, n: number) => {
    const out = new Uint8Array(n);
    out.set(b.subarray(0, Math.min(n, b.length)));
    return out;
  };
  // FIPS 203 §7.2: a coefficient of t̂ at q = 3329 (the first one, then the last one) is refused.
  const firstAtQ = client.slice();
  firstAtQ[0] = 3329 & 0xff;
  firstAtQ[1] = (firstAtQ[1]! & 0xf0) | (3329 >> 8);
  const lastAtQ = client.slice();
  lastAtQ[1150] = (lastAtQ[1150]! & 0x0f) | ((3329 & 0x0f) << 4);
  lastAtQ[1151] = 3329 >> 4;
  const lowOrderClient = client.slice();
  lowOrderClient.fill(0, 1184);
  const badClient: [string, Uint8Array][] = [
    ["empty", new Uint8Array(0)],
    ["a classical share", client.subarray(1184)],
    ["one byte short", client.subarray(0, 1215)],
    ["one byte long", resized(client, 1217)],
    ["t̂'s first coefficient at q", firstAtQ],
    ["t̂'s last coefficient at q", lastAtQ],
    ["a low-order X25519 half", lowOrderClient],
  ];
  const lowOrderServer = server.slice();
  lowOrderServer.fill(0, 1088);
  const badServer: [string, Uint8Array][] = [
    ["empty", new Uint8Array(0)],
    ["one byte short", server.subarray(0, 1119)],
    ["one byte long", resized(server, 1121)],
    ["a client share", client],
    ["a low-order X25519 half", lowOrderServer],
  ];
  for (const p of PROVIDERS) {
    for (const [what, share] of badClient) {
      await assert.rejects(
        async () => await p.respond(X25519MLKEM768, share, random),
        KxError,
        `${p.name}: respond to ${what}`,
      );
    }
    const mine = await p.keyShare(X25519MLKEM768, random);
    for (const [what, share] of badServer) {
      await assert.rejects(
        async () => await p.sharedSecret(X25519MLKEM768, mine, share),
        KxError,
        `${p.name}: sharedSecret with ${what}`,
      );
    }
  }
  // Coefficients just below q are fine.
  const below = client.slice();
  below[0] = 3328 & 0xff;
  below[1] = (below[1]! & 0xf0) | (3328 >> 8);
  for (const p of PROVIDERS) {
    assert.equal((await p.respond(X25519MLKEM768, below, random)).publicKey.length, 1120);
  }
});

const AEAD_NAMES: readonly Aead["name"][] = ["AES-128-GCM", "AES-256-GCM", "CHACHA20-POLY1305"];

for (const name of AEAD_NAMES) {
  Deno.test(`providers: ${name} seals to the same bytes with every provider and refuses the same forgeries`, () => {
    const reference = nobleProvider.aead(name);
    const key = random(reference.keyLen), nonce = random(12), aad = Uint8Array.of(23, 3, 3, 0x40, 0x11);
    for (const p of PROVIDERS) {
      const aead = p.aead(name);
      assert.equal(aead, p.aead(name), `${p.name}: the same object every time`);
      assert.equal(aead.name, name);
      assert.throws(() => aead.importKey(new Uint8Array(reference.keyLen - 1)), RangeError);
      const k = aead.importKey(key), ref = reference.importKey(key);
      assert.throws(() => k.seal(new Uint8Array(11), aad, new Uint8Array(1)), RangeError, `${p.name}: nonce`);
      for (const size of [0, 1, 255, 2048, 16385]) {
        const text = random(size);
        const sealed = k.seal(nonce, aad, text);
        assert.deepEqual(sealed, ref.seal(nonce, aad, text), `${p.name} ${name} seal of ${size} bytes`);
        assert.deepEqual(k.open(nonce, aad, sealed), text, `${p.name} open of ${size} bytes`);
        for (const headroom of [5, 13]) {
          const record = k.seal(nonce, aad, text, headroom);
          assert.equal(record.length, headroom + sealed.length);
          assert.deepEqual(record.subarray(headroom), sealed, `${p.name}: ${headroom} bytes of headroom`);
        }
        // A suffix is sealed as if joined to the plaintext (TLS 1.3's content type and padding).
        for (const cut of [0, size >> 1, size]) {
          const split = k.seal(nonce, aad, text.subarray(0, cut), 5, text.subarray(cut));
          assert.deepEqual(split.subarray(5), sealed, `${p.name}: ${size} bytes as ${cut} + a suffix`);
        }
        const forged = sealed.slice();
        forged[forged.length - 1 - (size % 17)]! ^= 0x80;
        assert.equal(k.open(nonce, aad, forged), null, `${p.name}: a flipped bit`);
        assert.equal(k.open(nonce, aad.subarray(1), sealed), null, `${p.name}: other AAD`);
        assert.equal(k.open(random(12), aad, sealed), null, `${p.name}: other nonce`);
      }
      assert.equal(k.open(nonce, aad, new Uint8Array(15)), null, `${p.name}: shorter than a tag`);
      assert.throws(() => k.seal(nonce, aad, new Uint8Array(1), -1), RangeError);
    }
  });
}

Deno.test("providers: nodeCryptoProvider signs ECDSA and Ed25519 with node:crypto, synchronously; others verify", async () => {
  for (const [name, make] of KEYS.slice(0, 3)) {
    const noble = await make();
    const native = await nodeCryptoProvider.loadPrivateKey(PEMS.get(noble)!);
    assert.deepEqual(native.publicKey.spki, noble.publicKey.spki);
    assert.deepEqual(native.schemes, noble.schemes);
    for (const scheme of native.schemes) {
      const a = native.sign(scheme, MESSAGE), b = native.sign(scheme, MESSAGE);
      assert.ok(a instanceof Uint8Array && b instanceof Uint8Array, `${name}: no promise`);
      // OpenSSL and BoringSSL draw ECDSA nonces at random, so two signatures differ (noble's are RFC 6979);
      // Deno's node:crypto signs deterministically. Ed25519 is deterministic everywhere.
      if (scheme === S.ed25519) assert.deepEqual(a, await noble.sign(scheme, MESSAGE));
      else if (process.versions.deno) assert.deepEqual(a, b);
      else assert.notDeepEqual(a, b, `${name}: random nonces, so not noble's signature`);
      for (const p of PROVIDERS) {
        assert.equal(await p.verify(scheme, noble.publicKey, MESSAGE, a, false), true, `${p.name} ${name}`);
        assert.equal(await p.verify(scheme, noble.publicKey, MESSAGE.subarray(1), b, false), false);
      }
    }
    assert.throws(() => native.sign(S.rsa_pss_rsae_sha256, MESSAGE), RangeError);
  }
  // RSA keys stay on WebCrypto: the same key as webCryptoProvider's, signing asynchronously.
  const rsa = await nodeCryptoProvider.loadPrivateKey(PEMS.get(await KEYS[3]![1]())!);
  const sig = rsa.sign(S.rsa_pss_rsae_sha256, MESSAGE);
  assert.ok(sig instanceof Promise);
  assert.equal(
    await nobleProvider.verify(S.rsa_pss_rsae_sha256, rsa.publicKey, MESSAGE, await sig, false),
    true,
  );
});

Deno.test("providers: nodeCryptoProvider keeps certificate keys imported, and tells them apart", async () => {
  for (const [name, make] of KEYS.slice(0, 3)) {
    const a = await make(), b = await make(); // two keys of one type: the same length, other bytes
    const scheme = a.schemes[0]!;
    const sigA = await a.sign(scheme, MESSAGE), sigB = await b.sign(scheme, MESSAGE);
    // Twice each way: the second round meets the keys imported by the first.
    for (let round = 0; round < 2; round++) {
      assert.equal(nodeCryptoProvider.verify(scheme, a.publicKey, MESSAGE, sigA, false), true, `${name} a`);
      assert.equal(
        nodeCryptoProvider.verify(scheme, b.publicKey, MESSAGE, sigA, false),
        false,
        `${name} b/a`,
      );
      assert.equal(nodeCryptoProvider.verify(scheme, b.publicKey, MESSAGE, sigB, false), true, `${name} b`);
      assert.equal(
        nodeCryptoProvider.verify(scheme, a.publicKey, MESSAGE, sigB, false),
        false,
        `${name} a/b`,
      );
    }
  }
});

for (const name of ["SHA-256", "SHA-384"] as const) {
  Deno.test(`providers: ${name}, its HMAC and HKDF give the same bytes with every provider`, () => {
    const reference = nobleProvider.hash(name);
    const data = random(1000), key = random(40), info = random(30);
    for (const p of PROVIDERS) {
      const h = p.hash(name);
      assert.equal(h, p.hash(name), `${p.name}: the same object every time`);
      assert.equal(h.outputLen, reference.outputLen);
      assert.deepEqual(h.digest(data), reference.digest(data), `${p.name} digest`);
      const state = h.create();
      state.update(data.subarray(0, 10));
      const fork = state.clone();
      assert.deepEqual(
        state.digest(),
        reference.digest(data.subarray(0, 10)),
        `${p.name}: digest keeps state`,
      );
      state.update(data.subarray(10));
      assert.deepEqual(state.digest(), reference.digest(data), `${p.name} incremental`);
      assert.deepEqual(fork.digest(), reference.digest(data.subarray(0, 10)), `${p.name}: a clone is apart`);
      assert.deepEqual(h.hmac(key, data), reference.hmac(key, data), `${p.name} hmac`);
      for (const salt of [new Uint8Array(0), key]) {
        assert.deepEqual(h.hkdfExtract(salt, data), reference.hkdfExtract(salt, data), `${p.name} extract`);
      }
      const prk = reference.hkdfExtract(key, data);
      for (const length of [0, 1, h.outputLen, h.outputLen + 1, 255 * h.outputLen]) {
        assert.deepEqual(
          h.hkdfExpand(prk, info, length),
          reference.hkdfExpand(prk, info, length),
          `${p.name} expand to ${length}`,
        );
      }
      assert.throws(() => h.hkdfExpand(prk, info, 255 * h.outputLen + 1), RangeError);
      assert.throws(() => h.hkdfExpand(prk, info, -1), RangeError);
    }
  });
}

// ---- the default provider --------------------------------------------------------------------------------

Deno.test("the default provider is the runtime's fastest: node:crypto on Node, Bun and Deno", () => {
  assert.equal(fastestProvider().name, "node");
  const before = defaultProvider();
  try {
    installDefaultProvider(nobleProvider);
    assert.equal(defaultProvider(), nobleProvider);
  } finally {
    installDefaultProvider(before);
  }
});

Deno.test("loadPrivateKey() loads for the default provider: noble's keys sign at once and as RFC 6979 says", async () => {
  const pem = pkcs8("ec", { namedCurve: "P-256" });
  const before = defaultProvider();
  try {
    installDefaultProvider(nobleProvider);
    const noble = await loadDefaultKey(pem);
    const a = noble.sign(S.ecdsa_secp256r1_sha256, MESSAGE);
    assert.ok(a instanceof Uint8Array, "noble signs synchronously");
    assert.deepEqual(noble.sign(S.ecdsa_secp256r1_sha256, MESSAGE), a, "noble's ECDSA is deterministic");

    installDefaultProvider(fastestProvider());
    const native = await loadDefaultKey(pem);
    const b = native.sign(S.ecdsa_secp256r1_sha256, MESSAGE);
    if (fastestProvider() === webCryptoProvider) {
      assert.ok(b instanceof Promise, "WebCrypto signs through a promise");
    } else {
      // node:crypto signs synchronously, with a nonce of its own: two signatures differ (Deno's signs
      // deterministically).
      assert.ok(b instanceof Uint8Array);
      if (!process.versions.deno) assert.notDeepEqual(native.sign(S.ecdsa_secp256r1_sha256, MESSAGE), b);
    }
    assert.ok(
      await nobleProvider.verify(S.ecdsa_secp256r1_sha256, native.publicKey, MESSAGE, await b, false),
    );
  } finally {
    installDefaultProvider(before);
  }
});
