// This module is browser compatible.
/**
 * Key-exchange groups for the TLS 1.3 `key_share` extension (RFC 8446 §4.2.8):
 * X25519 (RFC 7748) and the NIST curves P-256 and P-384 (RFC 8446 §4.2.8.2),
 * backed by `@noble/curves`, and the post-quantum hybrid X25519MLKEM768
 * (draft-ietf-tls-ecdhe-mlkem: ML-KEM-768 from `@noble/post-quantum` plus X25519).
 * Private keys and KEM randomness come only from the injected `random`
 * function, so tests and fuzzers get deterministic shares.
 *
 * A Diffie-Hellman group is symmetric: both sides `generate()` a share and call
 * `sharedSecret()`. A KEM is not: the client generates, the server answers the
 * client's share with `respond()` (its share is a ciphertext), and the client
 * finishes with `sharedSecret()`. `respond()` works for every group, so a server
 * never needs to know which kind it has.
 *
 * @module
 */

import { x25519 } from "@noble/curves/ed25519.js";
import { p256, p384 } from "@noble/curves/nist.js";
import { sha3_256 } from "@noble/hashes/sha3.js";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";

/**
 * An ephemeral key pair. `privateKey` is a non-enumerable property, so it is left
 * out of `console.log`, `JSON.stringify` and object spreads.
 */
export interface KeyShare {
  /** The NamedGroup code point. */
  readonly group: number;
  /** The `key_exchange` bytes sent to the peer. */
  readonly publicKey: Uint8Array;
  /** The private key; never log it. */
  readonly privateKey: Uint8Array;
}

/**
 * The server's answer to a client's key share: the share to send back and the
 * shared secret. `sharedSecret` is a non-enumerable property, like
 * {@linkcode KeyShare.privateKey}.
 */
export interface KxResponse {
  /** The server's `key_exchange` bytes (for a KEM: the ciphertext, and for a hybrid, the ECDH share too). */
  readonly publicKey: Uint8Array;
  /** The shared secret; never log it. */
  readonly sharedSecret: Uint8Array;
}

/** A named group that can make key shares and derive shared secrets. */
export interface KxGroup {
  /** The NamedGroup code point (RFC 8446 §4.2.7, draft-ietf-tls-ecdhe-mlkem §6). */
  readonly id: number;
  /** The group's name as in the RFC or draft (the IANA registry's spelling). */
  readonly name: "X25519MLKEM768" | "x25519" | "secp256r1" | "secp384r1";
  /**
   * Make a fresh key share: the client's, or for a Diffie-Hellman group either side's.
   *
   * @param random Returns `n` random bytes; the only source of the private key.
   * @returns The new share.
   * @throws {RangeError} If `random` returns the wrong number of bytes.
   */
  generate(random: (n: number) => Uint8Array): KeyShare;
  /**
   * The server's side: validate the client's share, make our share and derive the
   * shared secret. For a Diffie-Hellman group this is `generate()` then
   * `sharedSecret()`, drawing the same random bytes; for X25519MLKEM768 it
   * encapsulates to the client's ML-KEM-768 key and runs X25519.
   *
   * @param peerShare The client's `key_exchange` bytes.
   * @param random Returns `n` random bytes; the only source of our key and KEM randomness.
   * @returns Our share and the shared secret.
   * @throws {KxError} If the client's share is invalid.
   * @throws {RangeError} If `random` returns the wrong number of bytes.
   */
  respond(peerShare: Uint8Array, random: (n: number) => Uint8Array): KxResponse;
  /**
   * Derive the shared secret from our key share and the peer's answer, after
   * validating it: its length, the uncompressed `0x04` form and curve membership
   * for NIST curves, a non-zero result for X25519 (RFC 8446 §7.4), and for
   * X25519MLKEM768 the ciphertext length (then ML-KEM decapsulation and X25519).
   *
   * @param privateKey Our private key (from `generate` or `fromPrivateKey`).
   * @param peerPublic The peer's `key_exchange` bytes.
   * @returns The shared secret: the x-coordinate for NIST curves (RFC 8446 §7.4.2);
   *   the ML-KEM secret then the X25519 secret for X25519MLKEM768.
   * @throws {KxError} If the peer's share is invalid.
   * @throws {RangeError} If `privateKey` is not a valid private key.
   */
  sharedSecret(privateKey: Uint8Array, peerPublic: Uint8Array): Uint8Array;
  /**
   * Rebuild a key share from a known private key, e.g. one taken from RFC 8448.
   *
   * @param privateKey The private key.
   * @returns The share with its public key.
   * @throws {RangeError} If `privateKey` is not a valid private key.
   */
  fromPrivateKey(privateKey: Uint8Array): KeyShare;
}

/** The peer's key share is malformed or unsafe; the engine answers with `illegal_parameter`. */
export class KxError extends Error {
  /** Always `"KxError"`. */
  override readonly name = "KxError";
}

/**
 * A key share made by WebCrypto keeps its private key inside the runtime: `privateKey` is empty and this
 * non-enumerable property holds the non-extractable CryptoKey.
 */
const NATIVE_KEY = Symbol("airlock.nativeKey");

function keyShare(
  group: number,
  publicKey: Uint8Array,
  privateKey: Uint8Array,
  nativeKey?: unknown,
): KeyShare {
  const share = { group, publicKey };
  Object.defineProperty(share, "privateKey", { value: privateKey, enumerable: false });
  if (nativeKey) Object.defineProperty(share, NATIVE_KEY, { value: nativeKey, enumerable: false });
  return Object.freeze(share) as KeyShare;
}

/**
 * A key share whose private key a native library holds (a WebCrypto `CryptoKey`, a `node:crypto` key): its
 * `privateKey` is empty, and {@linkcode nativeKeyOf} gives the native key back to the provider that made it.
 *
 * @param group The NamedGroup code point.
 * @param publicKey The `key_exchange` bytes.
 * @param nativeKey The provider's private key object.
 * @returns The share.
 */
export function nativeKeyShare(group: number, publicKey: Uint8Array, nativeKey: unknown): KeyShare {
  return keyShare(group, publicKey, new Uint8Array(0), nativeKey);
}

/**
 * The native private key of a share made by {@linkcode nativeKeyShare}, or undefined (a noble share).
 *
 * @param share The share.
 * @returns The provider's private key object.
 */
export function nativeKeyOf(share: KeyShare): unknown {
  return (share as KeyShare & { readonly [NATIVE_KEY]?: unknown })[NATIVE_KEY];
}

/**
 * Check a peer's share for a native Diffie-Hellman exactly as noble checks it, so that every provider gives
 * the same errors: 32 bytes for X25519; for P-256 and P-384 an uncompressed point of the right length that is
 * on the curve (some runtimes' native code, Deno 2.9's WebCrypto for one, accept points that are not).
 *
 * @param group x25519, secp256r1 or secp384r1.
 * @param peer The peer's `key_exchange` bytes.
 * @throws {KxError} If the share is invalid.
 */
export function checkPeerShare(group: KxGroup, peer: Uint8Array): void {
  if (group.id === 0x001d) {
    if (peer.length !== 32) {
      throw new KxError(`Cannot use x25519 key share: expected 32 bytes, got ${peer.length}`);
    }
    return;
  }
  const curve = group.id === 0x0017 ? p256 : p384;
  const pointLen = 1 + 2 * curve.lengths.secretKey!;
  if (peer.length !== pointLen || peer[0] !== 0x04) {
    throw new KxError(
      `Cannot use ${group.name} key share: expected an uncompressed point of ${pointLen} bytes, got ${peer.length} bytes`,
    );
  }
  try {
    curve.Point.fromBytes(peer).assertValidity();
  } catch {
    throw new KxError(`Cannot use ${group.name} key share: point is not on the curve`);
  }
}

/**
 * A native Diffie-Hellman's result, refused as noble refuses it: an all-zero secret means a low-order X25519
 * point (RFC 7748 §6.1, RFC 8446 §7.4.2).
 *
 * @param group The group, for the message.
 * @param secret The shared secret.
 * @returns `secret`.
 * @throws {KxError} If it is all zero.
 */
export function checkedSecret(group: KxGroup, secret: Uint8Array): Uint8Array {
  let acc = 0;
  for (const byte of secret) acc |= byte;
  if (acc === 0) throw new KxError(`Cannot use ${group.name} key share: shared secret is all zero`);
  return secret;
}

/**
 * The server's answer: our share and the secret, the secret non-enumerable (see {@linkcode KxResponse}).
 *
 * @param publicKey Our `key_exchange` bytes.
 * @param sharedSecret The shared secret.
 * @returns The response.
 */
export function kxResponse(publicKey: Uint8Array, sharedSecret: Uint8Array): KxResponse {
  const out = { publicKey };
  Object.defineProperty(out, "sharedSecret", { value: sharedSecret, enumerable: false });
  return Object.freeze(out) as KxResponse;
}

/** `respond()` for a Diffie-Hellman group: a fresh share, then the same computation as the peer's. */
function dhRespond(
  generate: (random: (n: number) => Uint8Array) => KeyShare,
  sharedSecret: (privateKey: Uint8Array, peerPublic: Uint8Array) => Uint8Array,
): KxGroup["respond"] {
  return (peerShare, random) => {
    const mine = generate(random);
    return kxResponse(mine.publicKey, sharedSecret(mine.privateKey, peerShare));
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function draw(random: (n: number) => Uint8Array, n: number): Uint8Array {
  const bytes = random(n);
  if (bytes.length !== n) {
    throw new RangeError(`Cannot generate key share: random(${n}) returned ${bytes.length} bytes`);
  }
  return bytes;
}

function makeX25519(): KxGroup {
  const id = 0x001d;
  function fromPrivateKey(privateKey: Uint8Array): KeyShare {
    if (privateKey.length !== 32) {
      throw new RangeError(`Cannot use x25519 private key: expected 32 bytes, got ${privateKey.length}`);
    }
    const sk = privateKey.slice();
    return keyShare(id, x25519.getPublicKey(sk), sk);
  }
  const generate = (random: (n: number) => Uint8Array) => fromPrivateKey(draw(random, 32));
  function sharedSecret(privateKey: Uint8Array, peerPublic: Uint8Array): Uint8Array {
    if (privateKey.length !== 32) {
      throw new RangeError(`Cannot use x25519 private key: expected 32 bytes, got ${privateKey.length}`);
    }
    if (peerPublic.length !== 32) {
      throw new KxError(`Cannot use x25519 key share: expected 32 bytes, got ${peerPublic.length}`);
    }
    let secret: Uint8Array;
    try {
      // noble rejects the low-order points before running the ladder.
      secret = x25519.getSharedSecret(privateKey, peerPublic);
    } catch {
      throw new KxError("Cannot use x25519 key share: point has low order");
    }
    // RFC 7748 §6.1 / RFC 8446 §7.4.2: reject an all-zero result.
    let acc = 0;
    for (const byte of secret) acc |= byte;
    if (acc === 0) throw new KxError("Cannot use x25519 key share: shared secret is all zero");
    return secret;
  }
  return Object.freeze({
    id,
    name: "x25519" as const,
    generate,
    respond: dhRespond(generate, sharedSecret),
    fromPrivateKey,
    sharedSecret,
  });
}

function makeNist(id: number, name: "secp256r1" | "secp384r1", curve: typeof p256): KxGroup {
  const fieldLen = curve.lengths.secretKey!;
  const pointLen = 1 + 2 * fieldLen;
  function checkPrivate(privateKey: Uint8Array): void {
    if (privateKey.length !== fieldLen || !curve.utils.isValidSecretKey(privateKey)) {
      throw new RangeError(
        `Cannot use ${name} private key: expected a scalar of ${fieldLen} bytes in [1, n)`,
      );
    }
  }
  function fromPrivateKey(privateKey: Uint8Array): KeyShare {
    checkPrivate(privateKey);
    const sk = privateKey.slice();
    return keyShare(id, curve.getPublicKey(sk, false), sk);
  }
  // 1.5 × the field size of random bytes, reduced into [1, n) by noble's
  // mapHashToField: the modulo bias is negligible (FIPS 186-5 A.2.1).
  const generate = (random: (n: number) => Uint8Array) =>
    fromPrivateKey(curve.utils.randomSecretKey(draw(random, fieldLen + fieldLen / 2)));
  function sharedSecret(privateKey: Uint8Array, peerPublic: Uint8Array): Uint8Array {
    checkPrivate(privateKey);
    // RFC 8446 §4.2.8.2: only the uncompressed form is allowed.
    if (peerPublic.length !== pointLen || peerPublic[0] !== 0x04) {
      throw new KxError(
        `Cannot use ${name} key share: expected an uncompressed point of ${pointLen} bytes, got ${peerPublic.length} bytes`,
      );
    }
    let point: Uint8Array;
    try {
      point = curve.getSharedSecret(privateKey, peerPublic, true);
    } catch {
      throw new KxError(`Cannot use ${name} key share: point is not on the curve`);
    }
    return point.slice(1); // compressed encoding is 0x02/0x03 || x
  }
  return Object.freeze({
    id,
    name,
    generate,
    respond: dhRespond(generate, sharedSecret),
    fromPrivateKey,
    sharedSecret,
  });
}

// draft-ietf-tls-ecdhe-mlkem §3: for X25519MLKEM768 the ML-KEM part comes first, in both shares and in
// the shared secret (the reverse of the hybrid draft's convention, "for historical reasons").
const MLKEM768_EK = 1184;
const MLKEM768_CT = 1088;
const MLKEM768_DK = 2400;
const MLKEM768_SEED = 64;
const MLKEM768_MSG = 32;

const X25519MLKEM768_ID = 0x11ec;
const HYBRID_NAME = "X25519MLKEM768";
const HYBRID_CLIENT_SHARE = MLKEM768_EK + 32; // 1216
const HYBRID_SERVER_SHARE = MLKEM768_CT + 32; // 1120

/** The client's hybrid share checked for length and its ML-KEM key for FIPS 203 §7.2's modulus check. */
function checkedEncapsulationKey(peerShare: Uint8Array): Uint8Array {
  if (peerShare.length !== HYBRID_CLIENT_SHARE) {
    throw new KxError(
      `Cannot use ${HYBRID_NAME} key share: expected ${HYBRID_CLIENT_SHARE} bytes, got ${peerShare.length}`,
    );
  }
  const ek = peerShare.subarray(0, MLKEM768_EK);
  if (!mlKemModulusOk(ek)) {
    throw new KxError(
      `Cannot use ${HYBRID_NAME} key share: the ML-KEM-768 encapsulation key fails the FIPS 203 §7.2 check`,
    );
  }
  return ek;
}

/** The server's hybrid share checked for length. (A changed ciphertext is no error: ML-KEM rejects implicitly.) */
function checkCipherText(peerPublic: Uint8Array): void {
  if (peerPublic.length !== HYBRID_SERVER_SHARE) {
    throw new KxError(
      `Cannot use ${HYBRID_NAME} key share: expected ${HYBRID_SERVER_SHARE} bytes, got ${peerPublic.length}`,
    );
  }
}

/**
 * FIPS 203 §7.2's modulus check: every 12-bit coefficient of the encapsulation key's t̂ (its first 1152
 * bytes) below q = 3329. noble runs it in `encapsulate` too; not every runtime's WebCrypto does on import.
 */
function mlKemModulusOk(ek: Uint8Array): boolean {
  let bad = 0;
  for (let i = 0; i < 1152; i += 3) {
    const b1 = ek[i + 1]!;
    bad |= (3328 - (ek[i]! | ((b1 & 0x0f) << 8))) | (3328 - ((b1 >> 4) | (ek[i + 2]! << 4)));
  }
  return bad >= 0;
}

/**
 * ML-KEM-768 as {@linkcode withHybridKx} runs it: noble's, or the runtime's. The peer's bytes reach it checked
 * for length (and an encapsulation key for the FIPS 203 §7.2 modulus check). `secretKey` is whatever
 * `generate` made (bytes for noble, a native key object otherwise), given back to `decapsulate`.
 */
export interface MlKem768 {
  generate(random: (n: number) => Uint8Array): MaybePromise<{ publicKey: Uint8Array; secretKey: unknown }>;
  encapsulate(ek: Uint8Array, random: (n: number) => Uint8Array): MaybePromise<
    { cipherText: Uint8Array; sharedSecret: Uint8Array }
  >;
  decapsulate(cipherText: Uint8Array, secretKey: unknown): MaybePromise<Uint8Array>;
}

type MaybePromise<T> = T | Promise<T>;

/** noble's ML-KEM-768, drawing its seed and message from `random`. */
const nobleMlKem = {
  // FIPS 203 ML-KEM.KeyGen_internal(d, z) from a 64-byte seed d || z.
  generate: (random: (n: number) => Uint8Array) => ml_kem768.keygen(draw(random, MLKEM768_SEED)),
  encapsulate: (ek: Uint8Array, random: (n: number) => Uint8Array) => {
    const m = draw(random, MLKEM768_MSG);
    return ml_kem768.encapsulate(ek, m);
  },
  decapsulate: (cipherText: Uint8Array, secretKey: unknown) =>
    ml_kem768.decapsulate(cipherText, secretKey as Uint8Array),
} satisfies MlKem768;

function makeX25519MlKem768(): KxGroup {
  const id = X25519MLKEM768_ID;
  const name = HYBRID_NAME;
  // Our private key: the expanded ML-KEM-768 decapsulation key (FIPS 203 dk, 2400 bytes) then the X25519 key.
  const privateLen = MLKEM768_DK + 32;
  function split(privateKey: Uint8Array): { dk: Uint8Array; ek: Uint8Array; xsk: Uint8Array } {
    if (privateKey.length !== privateLen) {
      throw new RangeError(
        `Cannot use ${name} private key: expected ${privateLen} bytes, got ${privateKey.length}`,
      );
    }
    const dk = privateKey.subarray(0, MLKEM768_DK);
    // FIPS 203 §7.3 hash check: dk = dkPKE (1152) || ek (1184) || H(ek) (32) || z (32).
    const ek = dk.subarray(1152, 1152 + MLKEM768_EK);
    const h = dk.subarray(1152 + MLKEM768_EK, 1152 + MLKEM768_EK + 32);
    const hash = sha3_256(ek);
    let diff = 0;
    for (let i = 0; i < 32; i++) diff |= hash[i]! ^ h[i]!;
    if (diff !== 0) {
      throw new RangeError(`Cannot use ${name} private key: the ML-KEM key fails its hash check`);
    }
    return { dk, ek, xsk: privateKey.subarray(MLKEM768_DK) };
  }
  function fromPrivateKey(privateKey: Uint8Array): KeyShare {
    const sk = privateKey.slice();
    const { ek, xsk } = split(sk);
    return keyShare(id, concat(ek, X25519.fromPrivateKey(xsk).publicKey), sk);
  }
  return Object.freeze({
    id,
    name,
    generate(random: (n: number) => Uint8Array): KeyShare {
      const { secretKey, publicKey } = nobleMlKem.generate(random);
      const x = X25519.generate(random);
      return keyShare(id, concat(publicKey, x.publicKey), concat(secretKey, x.privateKey));
    },
    respond(peerShare: Uint8Array, random: (n: number) => Uint8Array): KxResponse {
      const kem = nobleMlKem.encapsulate(checkedEncapsulationKey(peerShare), random);
      const x = X25519.respond(peerShare.subarray(MLKEM768_EK), random);
      return kxResponse(concat(kem.cipherText, x.publicKey), concat(kem.sharedSecret, x.sharedSecret));
    },
    fromPrivateKey,
    sharedSecret(privateKey: Uint8Array, peerPublic: Uint8Array): Uint8Array {
      const { dk, xsk } = split(privateKey);
      checkCipherText(peerPublic);
      const kem = nobleMlKem.decapsulate(peerPublic.subarray(0, MLKEM768_CT), dk);
      return concat(kem, X25519.sharedSecret(xsk, peerPublic.subarray(MLKEM768_CT)));
    },
  });
}

/** X25519 (NamedGroup 0x001d). */
export const X25519: KxGroup = makeX25519();

/** secp256r1, i.e. NIST P-256 (NamedGroup 0x0017). */
export const SECP256R1: KxGroup = makeNist(0x0017, "secp256r1", p256);

/** secp384r1, i.e. NIST P-384 (NamedGroup 0x0018). */
export const SECP384R1: KxGroup = makeNist(0x0018, "secp384r1", p384);

/**
 * X25519MLKEM768 (NamedGroup 0x11ec, draft-ietf-tls-ecdhe-mlkem): ML-KEM-768 (FIPS 203) and X25519 together.
 * The client's share is its ML-KEM encapsulation key (1184 bytes) then its X25519 share (32); the server's is
 * the ML-KEM ciphertext (1088) then its X25519 share (32); the shared secret is the ML-KEM secret then the
 * X25519 secret (64 bytes). `generate` draws a 64-byte ML-KEM seed then the X25519 key; `respond` draws the
 * 32-byte encapsulation randomness then the X25519 key. The private key is the 2400-byte ML-KEM decapsulation
 * key followed by the X25519 key.
 */
export const X25519MLKEM768: KxGroup = makeX25519MlKem768();

// ---- the hybrid's X25519 half on a provider ----------------------------------------------------------------

/** The key exchange a provider does (three of `CryptoProvider`'s functions), synchronously or not. */
export interface KxOperations {
  /**
   * Make our key share for `group`: the client's, or a TLS 1.2 server's.
   *
   * @param group The group.
   * @param random The injected randomness (a native implementation may draw its own).
   * @returns The share (a promise when the implementation is asynchronous).
   */
  keyShare(group: KxGroup, random: (n: number) => Uint8Array): KeyShare | Promise<KeyShare>;
  /**
   * The TLS 1.3 server's side: validate the client's share, make ours, derive the shared secret.
   *
   * @param group The group.
   * @param peerShare The client's `key_exchange` bytes.
   * @param random The injected randomness.
   * @returns Our share and the secret; throws or rejects with `KxError` if the client's share is invalid.
   */
  respond(
    group: KxGroup,
    peerShare: Uint8Array,
    random: (n: number) => Uint8Array,
  ): KxResponse | Promise<KxResponse>;
  /**
   * Derive the shared secret from our share (made by this provider's `keyShare`) and the peer's answer.
   *
   * @param group The group.
   * @param mine Our share.
   * @param peerPublic The peer's `key_exchange` bytes.
   * @returns The secret; throws or rejects with `KxError` if the peer's share is invalid.
   */
  sharedSecret(group: KxGroup, mine: KeyShare, peerPublic: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

const ML_KEM = { name: "ML-KEM-768" } as const;
// The usages of draft WebCrypto ML-KEM (WICG "Modern Algorithms"), not yet in TypeScript's lib.
const KEM_USAGES = ["encapsulateBits", "decapsulateBits"] as unknown as KeyUsage[];
const ENCAPSULATE = ["encapsulateBits"] as unknown as KeyUsage[];
type KemSubtle = SubtleCrypto & {
  encapsulateBits(
    algorithm: typeof ML_KEM,
    key: CryptoKey,
  ): Promise<{ ciphertext: ArrayBuffer; sharedKey: ArrayBuffer }>;
  decapsulateBits(algorithm: typeof ML_KEM, key: CryptoKey, ciphertext: BufferSource): Promise<ArrayBuffer>;
};

/** The runtime's WebCrypto ML-KEM-768 (Deno, Bun, Node 24.7+), or undefined where it has none (Node 20, browsers today). */
function webCryptoMlKem(): MlKem768 | undefined {
  const subtle = globalThis.crypto?.subtle as KemSubtle | undefined;
  if (typeof subtle?.encapsulateBits !== "function" || typeof subtle.decapsulateBits !== "function") {
    return undefined;
  }
  let missing = false; // key generation failed once: the runtime lacks the algorithm after all
  return {
    async generate(random) {
      if (!missing) {
        try {
          const pair = await subtle.generateKey(ML_KEM, false, KEM_USAGES) as CryptoKeyPair;
          const publicKey = new Uint8Array(await subtle.exportKey("raw-public" as "raw", pair.publicKey));
          if (publicKey.length === MLKEM768_EK) return { publicKey, secretKey: pair.privateKey };
        } catch {
          // the runtime lacks the algorithm after all: noble from now on
        }
        missing = true;
      }
      return nobleMlKem.generate(random);
    },
    async encapsulate(ek, random) {
      if (missing) return nobleMlKem.encapsulate(ek, random);
      const key = await subtle.importKey("raw-public" as "raw", ek.slice(), ML_KEM, false, ENCAPSULATE);
      const { ciphertext, sharedKey } = await subtle.encapsulateBits(ML_KEM, key);
      return { cipherText: new Uint8Array(ciphertext), sharedSecret: new Uint8Array(sharedKey) };
    },
    async decapsulate(cipherText, secretKey) {
      if (secretKey instanceof Uint8Array) return nobleMlKem.decapsulate(cipherText, secretKey);
      return new Uint8Array(await subtle.decapsulateBits(ML_KEM, secretKey as CryptoKey, cipherText.slice()));
    },
  };
}

/** The best ML-KEM-768 this runtime has: its WebCrypto's where there is one, else noble's. */
const runtimeMlKem: MlKem768 = webCryptoMlKem() ?? nobleMlKem;

/** The private half of a hybrid share made by {@linkcode withHybridKx}: the ML-KEM key and the X25519 share. */
class HybridKey {
  constructor(readonly dk: unknown, readonly classical: KeyShare) {}
}

function both<A, B, U>(a: MaybePromise<A>, b: MaybePromise<B>, next: (a: A, b: B) => U): MaybePromise<U> {
  if (a instanceof Promise || b instanceof Promise) return Promise.all([a, b]).then(([x, y]) => next(x, y));
  return next(a, b);
}

/**
 * A provider's key exchange extended to X25519MLKEM768: its X25519 half done by the provider (natively where
 * it can: noble's X25519 costs more than ML-KEM-768 itself), ML-KEM-768 by the runtime's WebCrypto where it
 * has it (Deno, Bun) and by noble elsewhere. Shares drawn from `random` are drawn as
 * {@linkcode X25519MLKEM768}'s `generate` and `respond` draw them (the ML-KEM seed or message first), and
 * the peer's share gets the same checks and errors. Other groups go to `ops` unchanged.
 *
 * @param ops The provider's key exchange for the classical groups.
 * @param kem Where ML-KEM-768 runs: `"runtime"` (default: the runtime's WebCrypto if it has ML-KEM),
 *   `"noble"`, or a function giving another implementation, called at the first hybrid share (undefined:
 *   the runtime's); `nodeCryptoProvider` gives node:crypto's where Node has it.
 * @returns The same operations, with X25519MLKEM768 split between ML-KEM and `ops`.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type KeyShare, withHybridKx, X25519MLKEM768 } from "./kx.ts";
 * const ops = withHybridKx({
 *   keyShare: (g, random) => g.generate(random),
 *   respond: (g, peer, random) => g.respond(peer, random),
 *   sharedSecret: (g, mine, peer) => g.sharedSecret(mine.privateKey, peer),
 * }, "noble");
 * const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
 * const client = ops.keyShare(X25519MLKEM768, random) as KeyShare;
 * const server = X25519MLKEM768.respond(client.publicKey, random);
 * assert.deepEqual(ops.sharedSecret(X25519MLKEM768, client, server.publicKey), server.sharedSecret);
 * ```
 */
export function withHybridKx(
  ops: KxOperations,
  kem: "runtime" | "noble" | (() => MlKem768 | undefined) = "runtime",
): KxOperations {
  let chosen = kem === "noble" ? nobleMlKem : kem === "runtime" ? runtimeMlKem : undefined;
  const mlKem = (): MlKem768 => (chosen ??= (kem as () => MlKem768 | undefined)() ?? runtimeMlKem);
  return Object.freeze({
    keyShare(group: KxGroup, random: (n: number) => Uint8Array): MaybePromise<KeyShare> {
      if (group.id !== X25519MLKEM768_ID) return ops.keyShare(group, random);
      return both(
        mlKem().generate(random),
        ops.keyShare(X25519, random),
        (k, x) => nativeKeyShare(group.id, concat(k.publicKey, x.publicKey), new HybridKey(k.secretKey, x)),
      );
    },
    respond(
      group: KxGroup,
      peerShare: Uint8Array,
      random: (n: number) => Uint8Array,
    ): MaybePromise<KxResponse> {
      if (group.id !== X25519MLKEM768_ID) return ops.respond(group, peerShare, random);
      const ek = checkedEncapsulationKey(peerShare);
      return both(
        mlKem().encapsulate(ek, random),
        ops.respond(X25519, peerShare.subarray(MLKEM768_EK), random),
        (k, x) => kxResponse(concat(k.cipherText, x.publicKey), concat(k.sharedSecret, x.sharedSecret)),
      );
    },
    sharedSecret(group: KxGroup, mine: KeyShare, peerPublic: Uint8Array): MaybePromise<Uint8Array> {
      const key = nativeKeyOf(mine);
      if (group.id !== X25519MLKEM768_ID || !(key instanceof HybridKey)) {
        return ops.sharedSecret(group, mine, peerPublic);
      }
      checkCipherText(peerPublic);
      return both(
        mlKem().decapsulate(peerPublic.subarray(0, MLKEM768_CT), key.dk),
        ops.sharedSecret(X25519, key.classical, peerPublic.subarray(MLKEM768_CT)),
        (k, x) => concat(k, x),
      );
    },
  });
}

// ---- the same groups on the runtime's WebCrypto ----------------------------------------------------------

type Native = { readonly algorithm: EcKeyGenParams | { name: "X25519" }; readonly bits: number };

const NATIVE: ReadonlyMap<number, Native> = new Map<number, Native>([
  [0x001d, { algorithm: { name: "X25519" }, bits: 256 }],
  [0x0017, { algorithm: { name: "ECDH", namedCurve: "P-256" }, bits: 256 }],
  [0x0018, { algorithm: { name: "ECDH", namedCurve: "P-384" }, bits: 384 }],
]);

/** Groups whose WebCrypto key generation failed once (the runtime lacks them): noble from then on. */
const nativeMissing = new Set<number>();

async function nativeGenerate(
  group: KxGroup,
  native: Native,
): Promise<{ share: KeyShare; key: CryptoKey } | undefined> {
  let pair: CryptoKeyPair;
  try {
    pair = await crypto.subtle.generateKey(native.algorithm, false, ["deriveBits"]) as CryptoKeyPair;
  } catch {
    nativeMissing.add(group.id);
    return undefined;
  }
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return { share: nativeKeyShare(group.id, raw, pair.privateKey), key: pair.privateKey };
}

/** Validate the peer's share as noble would (length, form, curve membership), then import it. */
async function importPeer(group: KxGroup, native: Native, peer: Uint8Array): Promise<CryptoKey> {
  checkPeerShare(group, peer);
  try {
    return await crypto.subtle.importKey("raw", peer.slice(), native.algorithm, false, []);
  } catch {
    throw new KxError(`Cannot use ${group.name} key share: the runtime refuses the point`);
  }
}

async function nativeDerive(group: KxGroup, native: Native, mine: CryptoKey, peer: Uint8Array | CryptoKey) {
  const publicKey = peer instanceof Uint8Array ? await importPeer(group, native, peer) : peer;
  let secret: Uint8Array;
  try {
    const bits = await crypto.subtle.deriveBits(
      { name: native.algorithm.name, public: publicKey },
      mine,
      native.bits,
    );
    secret = new Uint8Array(bits);
  } catch {
    // WebCrypto refuses an all-zero X25519 result (RFC 7748 §6.1) by throwing.
    throw new KxError(`Cannot use ${group.name} key share: point has low order`);
  }
  return checkedSecret(group, secret);
}

/**
 * X25519, P-256 and P-384 on the runtime's WebCrypto: several times faster than noble on every runtime
 * measured (bench/). Where the runtime lacks a group noble does the work, and for X25519MLKEM768 it does the
 * ML-KEM-768 part (the X25519 half stays on WebCrypto). Shares are
 * drawn by the runtime, not from the injected `random`, so handshakes with this are not reproducible.
 * The peer's share is checked exactly as noble checks it, so both give the same errors.
 */
export const webCryptoKx: KxOperations = withHybridKx({
  /**
   * Make our key share.
   *
   * @param group The group.
   * @param random The fallback's randomness (noble).
   * @returns The share; its private key stays in the runtime.
   */
  async keyShare(group: KxGroup, random: (n: number) => Uint8Array): Promise<KeyShare> {
    const native = nativeMissing.has(group.id) ? undefined : NATIVE.get(group.id);
    return (native && (await nativeGenerate(group, native))?.share) ?? group.generate(random);
  },
  /**
   * The server's answer to a client's share (see {@linkcode KxGroup.respond}).
   *
   * @param group The group.
   * @param peerShare The client's `key_exchange` bytes.
   * @param random The fallback's randomness (noble).
   * @returns Our share and the shared secret.
   * @throws {KxError} If the client's share is invalid.
   */
  async respond(
    group: KxGroup,
    peerShare: Uint8Array,
    random: (n: number) => Uint8Array,
  ): Promise<KxResponse> {
    const native = nativeMissing.has(group.id) ? undefined : NATIVE.get(group.id);
    if (!native) return group.respond(peerShare, random);
    // Our key pair and the peer's key at once: each is a trip to the runtime's crypto thread.
    const peer = importPeer(group, native, peerShare);
    peer.catch(() => {}); // its rejection is seen below, once our share is there
    const mine = await nativeGenerate(group, native);
    if (!mine) return group.respond(peerShare, random);
    return kxResponse(mine.share.publicKey, await nativeDerive(group, native, mine.key, await peer));
  },
  /**
   * Derive the shared secret from our share and the peer's answer (see {@linkcode KxGroup.sharedSecret}).
   *
   * @param group The group.
   * @param mine Our share, from `keyShare`.
   * @param peerPublic The peer's `key_exchange` bytes.
   * @returns The shared secret.
   * @throws {KxError} If the peer's share is invalid.
   */
  async sharedSecret(group: KxGroup, mine: KeyShare, peerPublic: Uint8Array): Promise<Uint8Array> {
    const key = nativeKeyOf(mine) as CryptoKey | undefined;
    const native = NATIVE.get(group.id);
    if (!key || !native) return group.sharedSecret(mine.privateKey, peerPublic);
    return await nativeDerive(group, native, key, peerPublic);
  },
});
