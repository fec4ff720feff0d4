/**
 * The primitive floor: the crypto one handshake (or one record) needs, timed on its own in the same run,
 * with noble (what airlock uses) and with WebCrypto (the runtime's native code). A handshake can go no
 * faster than its primitives, so `1 / Σ(count × time)` is the most handshakes per second an implementation
 * built on them could reach; the bench compares airlock to it.
 *
 * The counts (`handshakeRecipe`) model both ends of one handshake as airlock runs it: key shares and
 * shared secrets, one CertificateVerify (1.3) or ServerKeyExchange (1.2) signature and its verification,
 * the CA's signature on the leaf verified by the client (unless the case's client checks no chain; the CA has
 * the leaf's key type, and an RSA CA signs with PKCS#1 v1.5, timed here as the PSS verify it costs the same
 * as), the HKDF / PRF HMACs, transcript hashing, and one AEAD key setup and small record per traffic key. They are counted
 * by hand from RFC 8446 §7.1 and RFC 5246 §5/§6.3 (see the comments below), so they are a model, not a trace.
 * @module
 */

import { x25519 } from "@noble/curves/ed25519.js";
import { ed25519 } from "@noble/curves/ed25519.js";
import { p256, p384 } from "@noble/curves/nist.js";
import { gcm } from "@noble/ciphers/aes.js";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { sha256, sha384 } from "@noble/hashes/sha2.js";
import { hmac } from "@noble/hashes/hmac.js";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import { AES_128_GCM, AES_256_GCM, CHACHA20_POLY1305 } from "../suites/aead.ts";
import { generateTestCertificate } from "../testing/pki.ts";
import { type Case, errorText, median, ratePerSecond } from "./_common.ts";

/** Microseconds per operation of one primitive, per implementation (undefined: not available). */
export interface PrimitiveTiming {
  readonly name: string;
  noble?: number | undefined;
  webcrypto?: number | undefined;
  /** airlock's own AEAD wrapper (suites/aead.ts: key schedule kept per key), for the record rows. */
  airlock?: number | undefined;
  /** Why WebCrypto has no figure. */
  note?: string | undefined;
}

type Op = () => unknown;

interface Primitive {
  readonly name: string;
  readonly noble?: Op;
  readonly webcrypto?: Op;
  readonly airlock?: Op;
}

const subtle = crypto.subtle;
const rnd = (n: number) => crypto.getRandomValues(new Uint8Array(n));
// WebCrypto's typings want ArrayBuffer-backed views.
type Bytes = ReturnType<Uint8Array["slice"]>;
const b = (x: Uint8Array): Bytes => x.slice();

/** The 130 bytes a TLS 1.3 CertificateVerify signs: 64 spaces, the context string, 0, a 32-byte hash. */
const CV_INPUT = b(rnd(130));
const AAD = b(rnd(13));

/** A key exchange group's two primitives, noble and WebCrypto. */
function dhPrimitives(label: string, noble: typeof p256 | typeof x25519, webName: string): Primitive[] {
  const sk = noble.utils.randomSecretKey();
  const peer = noble.getPublicKey(noble.utils.randomSecretKey(), false);
  const alg = webName === "X25519" ? { name: "X25519" } : { name: "ECDH", namedCurve: webName };
  const bits = webName === "P-384" ? 384 : 256;
  let ours: Promise<CryptoKeyPair> | undefined;
  return [
    {
      name: `${label} key share`,
      noble: () => noble.getPublicKey(noble.utils.randomSecretKey(), false),
      webcrypto: async () => {
        const kp = (await subtle.generateKey(alg, true, ["deriveBits"])) as CryptoKeyPair;
        return subtle.exportKey("raw", kp.publicKey);
      },
    },
    {
      name: `${label} shared secret`,
      noble: () => noble.getSharedSecret(sk, peer),
      webcrypto: async () => {
        ours ??= subtle.generateKey(alg, false, ["deriveBits"]) as Promise<CryptoKeyPair>;
        const pub = await subtle.importKey("raw", b(peer), alg, false, []);
        return subtle.deriveBits(
          { ...alg, public: pub } as EcdhKeyDeriveParams,
          (await ours).privateKey,
          bits,
        );
      },
    },
  ];
}

/** A signature scheme's sign and verify, noble and WebCrypto (verify imports the peer's key each time). */
function sigPrimitives(
  label: string,
  noble: { sign: Op; verify: Op } | undefined,
  web: { gen: EcKeyGenParams | RsaHashedKeyGenParams | Algorithm; sign: Algorithm; imp: Algorithm },
): Primitive[] {
  let keys: Promise<{ kp: CryptoKeyPair; spki: ArrayBuffer; sig: ArrayBuffer }> | undefined;
  const ready = () =>
    keys ??= (async () => {
      const kp = (await subtle.generateKey(web.gen, true, ["sign", "verify"])) as CryptoKeyPair;
      const spki = await subtle.exportKey("spki", kp.publicKey);
      return { kp, spki, sig: await subtle.sign(web.sign, kp.privateKey, CV_INPUT) };
    })();
  return [
    {
      name: `${label} sign`,
      ...(noble ? { noble: noble.sign } : {}),
      webcrypto: async () => subtle.sign(web.sign, (await ready()).kp.privateKey, CV_INPUT),
    },
    {
      name: `${label} verify`,
      ...(noble ? { noble: noble.verify } : {}),
      webcrypto: async () => {
        const k = await ready();
        const pub = await subtle.importKey("spki", k.spki, web.imp, false, ["verify"]);
        return subtle.verify(web.sign, pub, k.sig, CV_INPUT);
      },
    },
  ];
}

function ecdsa(label: string, curve: typeof p256, named: string, hash: string): Primitive[] {
  const sk = curve.utils.randomSecretKey();
  const pk = curve.getPublicKey(sk, false);
  const sig = curve.sign(CV_INPUT, sk, { prehash: true, format: "der" });
  const alg = { name: "ECDSA", namedCurve: named };
  return sigPrimitives(label, {
    sign: () => curve.sign(CV_INPUT, sk, { prehash: true, format: "der" }),
    verify: () => curve.verify(sig, CV_INPUT, pk, { prehash: true, lowS: false, format: "der" }),
  }, { gen: alg, sign: { name: "ECDSA", hash } as EcdsaParams, imp: alg });
}

/** An AEAD on one record of `size` bytes: seal and open with a key set up once (bulk). */
function recordPrimitives(
  label: string,
  size: number,
  noble: (
    key: Uint8Array,
    nonce: Uint8Array,
    aad: Uint8Array,
  ) => { encrypt(p: Uint8Array): Uint8Array; decrypt(c: Uint8Array): Uint8Array },
  keyLen: number,
  ours: typeof AES_128_GCM,
  webAes: boolean,
): Primitive[] {
  const key = rnd(keyLen), nonce = rnd(12), plain = rnd(size);
  const sealed = noble(key, nonce, AAD).encrypt(plain);
  const ourKey = ours.importKey(key);
  const ourSealed = ourKey.seal(nonce, AAD, plain);
  const webKey = webAes
    ? subtle.importKey("raw", b(key), "AES-GCM", false, ["encrypt", "decrypt"])
    : undefined;
  const params = { name: "AES-GCM", iv: b(nonce), additionalData: AAD };
  const kib = size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
  return [
    {
      name: `${label} seal ${kib}`,
      noble: () => noble(key, nonce, AAD).encrypt(plain),
      ...(webKey ? { webcrypto: async () => subtle.encrypt(params, await webKey, b(plain)) } : {}),
      airlock: () => ourKey.seal(nonce, AAD, plain),
    },
    {
      name: `${label} open ${kib}`,
      noble: () => noble(key, nonce, AAD).decrypt(sealed),
      ...(webKey ? { webcrypto: async () => subtle.decrypt(params, await webKey, b(sealed)) } : {}),
      airlock: () => ourKey.open(nonce, AAD, ourSealed),
    },
  ];
}

/** A handshake-sized record with a fresh key: the key setup dominates (one per traffic key). */
function smallRecord(label: string, keyLen: number, noble: typeof gcm, webAes: boolean): Primitive {
  const nonce = rnd(12), plain = rnd(256);
  return {
    name: `${label} key + 256 B record`,
    noble: () => noble(rnd(keyLen), nonce).encrypt(plain),
    ...(webAes
      ? {
        webcrypto: async () => {
          const k = await subtle.importKey("raw", b(rnd(keyLen)), "AES-GCM", false, ["encrypt"]);
          return subtle.encrypt({ name: "AES-GCM", iv: b(nonce) }, k, b(plain));
        },
      }
      : {}),
  };
}

function hmacPrimitive(label: string, hash: typeof sha256, webHash: string): Primitive {
  const msg = rnd(64);
  return {
    name: `HMAC-${label} (64 B)`,
    noble: () => hmac(hash, rnd(32), msg),
    webcrypto: async () => {
      const k = await subtle.importKey("raw", b(rnd(32)), { name: "HMAC", hash: webHash }, false, ["sign"]);
      return subtle.sign("HMAC", k, b(msg));
    },
  };
}

async function allPrimitives(): Promise<Primitive[]> {
  const edSk = ed25519.utils.randomSecretKey();
  const edPk = ed25519.getPublicKey(edSk);
  const edSig = ed25519.sign(CV_INPUT, edSk);
  const mlkem = ml_kem768.keygen();
  const enc = ml_kem768.encapsulate(mlkem.publicKey);
  const kib = rnd(1024);
  await generateTestCertificate("rsa-2048"); // warm the PKI module (not timed)
  return [
    ...dhPrimitives("x25519", x25519, "X25519"),
    ...dhPrimitives("P-256", p256, "P-256"),
    ...dhPrimitives("P-384", p384 as unknown as typeof p256, "P-384"),
    { name: "ML-KEM-768 keygen", noble: () => ml_kem768.keygen() },
    { name: "ML-KEM-768 encapsulate", noble: () => ml_kem768.encapsulate(mlkem.publicKey) },
    { name: "ML-KEM-768 decapsulate", noble: () => ml_kem768.decapsulate(enc.cipherText, mlkem.secretKey) },
    ...ecdsa("ECDSA P-256", p256, "P-256", "SHA-256"),
    ...ecdsa("ECDSA P-384", p384 as unknown as typeof p256, "P-384", "SHA-384"),
    ...sigPrimitives("Ed25519", {
      sign: () => ed25519.sign(CV_INPUT, edSk),
      verify: () => ed25519.verify(edSig, CV_INPUT, edPk, { zip215: false }),
    }, { gen: { name: "Ed25519" }, sign: { name: "Ed25519" }, imp: { name: "Ed25519" } }),
    // noble has no RSA: airlock signs and verifies RSA through WebCrypto, so both floors use it.
    ...sigPrimitives("RSA-2048 PSS", undefined, {
      gen: {
        name: "RSA-PSS",
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-256",
      },
      sign: { name: "RSA-PSS", saltLength: 32 } as RsaPssParams,
      imp: { name: "RSA-PSS", hash: "SHA-256" } as RsaHashedImportParams,
    }),
    hmacPrimitive("SHA256", sha256, "SHA-256"),
    hmacPrimitive("SHA384", sha384 as unknown as typeof sha256, "SHA-384"),
    { name: "SHA-256 (1 KiB)", noble: () => sha256(kib), webcrypto: () => subtle.digest("SHA-256", b(kib)) },
    { name: "SHA-384 (1 KiB)", noble: () => sha384(kib), webcrypto: () => subtle.digest("SHA-384", b(kib)) },
    smallRecord("AES-128-GCM", 16, gcm, true),
    smallRecord("AES-256-GCM", 32, gcm, true),
    smallRecord("ChaCha20-Poly1305", 32, chacha20poly1305 as unknown as typeof gcm, false),
    ...[1024, 16384].flatMap((size) => [
      ...recordPrimitives("AES-128-GCM", size, gcm, 16, AES_128_GCM, true),
      ...recordPrimitives("AES-256-GCM", size, gcm, 32, AES_256_GCM, true),
      ...recordPrimitives("ChaCha20-Poly1305", size, chacha20poly1305, 32, CHACHA20_POLY1305, false),
    ]),
  ];
}

/** The primitives `measurePrimitives` made, by name, for `recipeRunner`. */
const primitives = new Map<string, Primitive>();

/**
 * Time every primitive with each implementation that has it: µs per operation, the median of `rounds`
 * rounds of `ms` each after a warm-up round. Rounds are interleaved across primitives (round 1 of all, then
 * round 2, …), so a burst of load from elsewhere does not land on one primitive's every round.
 */
export async function measurePrimitives(ms: number, rounds: number): Promise<Map<string, PrimitiveTiming>> {
  const out = new Map<string, PrimitiveTiming>();
  const jobs: { t: PrimitiveTiming; impl: "noble" | "webcrypto" | "airlock"; op: Op; rates: number[] }[] = [];
  for (const p of await allPrimitives()) {
    primitives.set(p.name, p);
    const t: PrimitiveTiming = { name: p.name };
    out.set(p.name, t);
    for (const impl of ["noble", "webcrypto", "airlock"] as const) {
      const op = p[impl];
      if (!op) continue;
      try {
        await op(); // not every runtime's WebCrypto has every algorithm
      } catch (e) {
        t.note = `${impl}: ${errorText(e)}`;
        continue;
      }
      jobs.push({ t, impl, op, rates: [] });
    }
  }
  for (let r = -1; r < rounds; r++) {
    for (const job of jobs) {
      const rate = await ratePerSecond(ms, async () => {
        const x = job.op();
        if (x instanceof Promise) await x;
      });
      if (r >= 0) job.rates.push(rate);
    }
  }
  for (const job of jobs) job.t[job.impl] = 1e6 / median(job.rates);
  return out;
}

// ---- recipes -------------------------------------------------------------------------------------

const GROUP_PRIMS: Record<string, string> = { x25519: "x25519", secp256r1: "P-256", secp384r1: "P-384" };
const SIG_PRIMS: Record<string, string> = {
  "ecdsa-p256": "ECDSA P-256",
  "ecdsa-p384": "ECDSA P-384",
  "ed25519": "Ed25519",
  "rsa-2048": "RSA-2048 PSS",
};

function aeadLabel(suite: string): string {
  return suite.includes("CHACHA")
    ? "ChaCha20-Poly1305"
    : suite.includes("AES_256")
    ? "AES-256-GCM"
    : "AES-128-GCM";
}

/** How many of each primitive both ends of one handshake of case `c` run (see the module comment). */
export function handshakeRecipe(c: Case, resumed: boolean): Record<string, number> {
  const r: Record<string, number> = {};
  const add = (name: string, n: number) => (r[name] = (r[name] ?? 0) + n);
  const tls13 = c.version === "TLSv1.3";
  // Key exchange: a key share and a shared secret on each end (a TLS 1.2 resumption has none).
  if (tls13 || !resumed) {
    if (c.group === "X25519MLKEM768") {
      add("ML-KEM-768 keygen", 1);
      add("ML-KEM-768 encapsulate", 1);
      add("ML-KEM-768 decapsulate", 1);
      add("x25519 key share", 2);
      add("x25519 shared secret", 2);
    } else {
      add(`${GROUP_PRIMS[c.group]} key share`, 2);
      add(`${GROUP_PRIMS[c.group]} shared secret`, 2);
    }
  }
  // One signature by the server, verified by the client, and the CA's signature on the leaf unless the
  // client checks no chain.
  if (!resumed) {
    add(`${SIG_PRIMS[c.cert]} sign`, 1);
    add(`${SIG_PRIMS[c.cert]} verify`, c.trust === "none" ? 1 : 2);
  }
  const h = c.suite.endsWith("SHA384") ? "SHA384" : "SHA256";
  // TLS 1.3, each end: 3 extracts, 8 derive-secrets (derived ×2, c/s hs, c/s ap, exporter, resumption),
  // 4 × key+iv, 2 finished keys and 2 Finished MACs, 1 ticket PSK = 24; a resumption adds the binder key,
  // its finished key and the binder MAC. TLS 1.2, each end: the extended master secret (48 bytes, 4 HMACs),
  // the key block (4) and two verify_data (2 each) = 12; a resumption skips the master secret.
  const hmacs = tls13 ? (resumed ? 27 : 24) : (resumed ? 8 : 12);
  add(`HMAC-${h} (64 B)`, 2 * hmacs);
  // Transcript: about 1.5 KiB of handshake messages hashed on each end (2.5 KiB with an RSA certificate).
  add(`SHA-${h.slice(3)} (1 KiB)`, resumed ? 2 : c.cert === "rsa-2048" ? 5 : 3);
  // One key setup and a small record per traffic key: 4 per end in 1.3, 2 in 1.2; the ticket is sealed
  // (and opened again when resuming) with AES-256-GCM.
  add(`${aeadLabel(c.suite)} key + 256 B record`, tls13 ? 8 : 4);
  add("AES-256-GCM key + 256 B record", resumed ? 2 : 1);
  return r;
}

/** The bulk recipe: one seal and one open per record of `size` bytes. */
export function recordRecipe(c: Case, size: number): Record<string, number> {
  const kib = size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
  const a = aeadLabel(c.suite);
  return { [`${a} seal ${kib}`]: 1, [`${a} open ${kib}`]: 1 };
}

/** Which implementation of each primitive a floor uses. */
export type FloorKind = "noble" | "best" | "airlock";

/**
 * One run of a recipe, as a function to time beside the implementations: every primitive its count of times,
 * with noble ("noble"; WebCrypto where noble has none: RSA), with whichever of noble and WebCrypto the
 * primitive table found faster ("best"), or with airlock's own AEAD wrapper where it has one ("airlock").
 * Needs `measurePrimitives` first.
 */
export function recipeRunner(
  recipe: Record<string, number>,
  timings: Map<string, PrimitiveTiming>,
  kind: FloorKind,
): () => Promise<void> {
  const ops: Op[] = [];
  for (const [name, n] of Object.entries(recipe)) {
    const p = primitives.get(name), t = timings.get(name);
    if (!p || !t) throw new Error(`no primitive named ${name}`);
    const webFaster = t.webcrypto !== undefined && (t.noble === undefined || t.webcrypto < t.noble);
    const op = kind === "airlock"
      ? p.airlock ?? p.noble ?? p.webcrypto
      : kind === "best" && webFaster
      ? p.webcrypto
      : p.noble ?? p.webcrypto;
    for (let i = 0; i < n; i++) ops.push(op!);
  }
  return async () => {
    for (const op of ops) {
      const x = op();
      if (x instanceof Promise) await x;
    }
  };
}
