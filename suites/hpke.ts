// Copyright 2026 the airlock authors. MIT license.
// This module is browser compatible.

/**
 * Hybrid Public Key Encryption (RFC 9180), base mode, with the one KEM Encrypted Client Hello needs:
 * DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, and AES-128-GCM, AES-256-GCM or ChaCha20-Poly1305. Built on a
 * {@linkcode CryptoProvider}'s X25519, HKDF and AEAD, so it runs on the same native paths as the handshake, and
 * reproducibly when the randomness is injected.
 *
 * @example A message sealed to a recipient's key, opened with its private key
 * ```ts
 * import assert from "node:assert/strict";
 * import { nobleProvider } from "../mod.ts";
 * import { HPKE_X25519_SHA256, hpkeKeyPair, hpkeOpen, hpkeSeal } from "./hpke.ts";
 *
 * const suite = { ...HPKE_X25519_SHA256, aead: 0x0001 } as const; // AES-128-GCM
 * const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
 * const recipient = hpkeKeyPair(nobleProvider, random);
 * const info = new TextEncoder().encode("example"), aad = new Uint8Array(0);
 * const { enc, ciphertext } = await hpkeSeal(nobleProvider, suite, recipient.publicKey, info, aad, new Uint8Array([1, 2, 3]), random);
 * assert.deepEqual(await hpkeOpen(nobleProvider, suite, recipient.privateKey, enc, info, aad, ciphertext), new Uint8Array([1, 2, 3]));
 * ```
 *
 * @module
 */

import { x25519 } from "@noble/curves/ed25519.js";
import type { Aead, AeadKey } from "./aead.ts";
import { concat, utf8 } from "./bytes.ts";
import type { Hash } from "./hash.ts";
import { type KeyShare, X25519 } from "./kx.ts";
import type { CryptoProvider } from "./provider.ts";

/** HPKE's KEM code point for DHKEM(X25519, HKDF-SHA256) (RFC 9180 §7.1). */
export const KEM_X25519_SHA256 = 0x0020;
/** HPKE's KDF code point for HKDF-SHA256 (RFC 9180 §7.2). */
export const KDF_HKDF_SHA256 = 0x0001;
/** HPKE's AEAD code points (RFC 9180 §7.3). */
export const AEAD_AES_128_GCM = 0x0001;
export const AEAD_AES_256_GCM = 0x0002;
export const AEAD_CHACHA20_POLY1305 = 0x0003;

/** The KEM and KDF this module speaks; an {@linkcode HpkeSuite} adds the AEAD. */
export const HPKE_X25519_SHA256 = Object.freeze({ kem: KEM_X25519_SHA256, kdf: KDF_HKDF_SHA256 });

/** An HPKE cipher suite: KEM, KDF and AEAD code points. */
export interface HpkeSuite {
  readonly kem: number;
  readonly kdf: number;
  readonly aead: number;
}

/** A recipient's X25519 key pair, raw (32 bytes each). */
export interface HpkeKeyPair {
  readonly publicKey: Uint8Array;
  /** Never log it. */
  readonly privateKey: Uint8Array;
}

/** Why an HPKE operation could not be done: the suite is not supported, or a key or `enc` is invalid. */
export class HpkeError extends Error {
  override readonly name = "HpkeError";
}

const AEADS: ReadonlyMap<number, Aead["name"]> = new Map([
  [AEAD_AES_128_GCM, "AES-128-GCM"],
  [AEAD_AES_256_GCM, "AES-256-GCM"],
  [AEAD_CHACHA20_POLY1305, "CHACHA20-POLY1305"],
]);

/** Whether this module can run `suite`. */
export function hpkeSupports(suite: HpkeSuite): boolean {
  return suite.kem === KEM_X25519_SHA256 && suite.kdf === KDF_HKDF_SHA256 && AEADS.has(suite.aead);
}

const MODE_BASE = 0x00;
const N_SECRET = 32; // DHKEM(X25519, HKDF-SHA256)'s Nsecret, and HKDF-SHA256's Nh
const VERSION_LABEL = utf8("HPKE-v1");

const u16 = (n: number): Uint8Array => Uint8Array.of(n >>> 8, n & 0xff);

/** LabeledExtract and LabeledExpand (RFC 9180 §4) under one suite_id. */
class Labeled {
  readonly #hash: Hash;
  readonly #suiteId: Uint8Array;

  constructor(hash: Hash, suiteId: Uint8Array) {
    this.#hash = hash;
    this.#suiteId = suiteId;
  }

  extract(salt: Uint8Array, label: string, ikm: Uint8Array): Uint8Array {
    return this.#hash.hkdfExtract(salt, concat(VERSION_LABEL, this.#suiteId, utf8(label), ikm));
  }

  expand(prk: Uint8Array, label: string, info: Uint8Array, length: number): Uint8Array {
    const labeledInfo = concat(u16(length), VERSION_LABEL, this.#suiteId, utf8(label), info);
    return this.#hash.hkdfExpand(prk, labeledInfo, length);
  }
}

function kemLabels(provider: CryptoProvider): Labeled {
  return new Labeled(provider.hash("SHA-256"), concat(utf8("KEM"), u16(KEM_X25519_SHA256)));
}

function check(suite: HpkeSuite): Aead["name"] {
  const aead = AEADS.get(suite.aead);
  if (suite.kem !== KEM_X25519_SHA256 || suite.kdf !== KDF_HKDF_SHA256 || aead === undefined) {
    throw new HpkeError(
      `Cannot use HPKE suite kem 0x${hex4(suite.kem)}, kdf 0x${hex4(suite.kdf)}, aead 0x${
        hex4(suite.aead)
      }: ` +
        "only DHKEM(X25519, HKDF-SHA256) with HKDF-SHA256 and AES-128-GCM, AES-256-GCM or ChaCha20-Poly1305",
    );
  }
  return aead;
}

const hex4 = (n: number): string => n.toString(16).padStart(4, "0");

function checkKey(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== 32) {
    throw new HpkeError(`Cannot use HPKE ${what}: an X25519 key is 32 bytes`);
  }
}

/** A value now, or a promise of it where the provider is asynchronous (WebCrypto's X25519). */
export type MaybePromise<T> = T | Promise<T>;

function then<T, U>(value: MaybePromise<T>, next: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}

function dhFailed(e: unknown): HpkeError {
  return new HpkeError(`Cannot run HPKE's DHKEM: ${e instanceof Error ? e.message : String(e)}`);
}

/**
 * DH through the provider (its native X25519 where it has one), which refuses an all-zero result (RFC 9180
 * §7.1.4, RFC 7748 §6.1).
 */
function dh(provider: CryptoProvider, mine: KeyShare, peer: Uint8Array): MaybePromise<Uint8Array> {
  let secret: Uint8Array | Promise<Uint8Array>;
  try {
    secret = provider.sharedSecret(X25519, mine, peer);
  } catch (e) {
    throw dhFailed(e);
  }
  return secret instanceof Promise ? secret.catch((e) => Promise.reject(dhFailed(e))) : secret;
}

/**
 * A recipient's key pair as a key share, the same object for the same pair: a provider that imports a raw
 * private key into its native form (node:crypto) keeps the import with the share, so a server's static ECH key
 * is imported once, not on every ClientHello.
 */
const staticShares = new WeakMap<HpkeKeyPair, KeyShare>();

function staticShare(pair: HpkeKeyPair): KeyShare {
  let share = staticShares.get(pair);
  if (!share) {
    share = Object.freeze({ group: X25519.id, publicKey: pair.publicKey, privateKey: pair.privateKey });
    staticShares.set(pair, share);
  }
  return share;
}

/** The X25519 public key of a private key. */
function publicOf(privateKey: Uint8Array): Uint8Array {
  return x25519.getPublicKey(privateKey);
}

/**
 * DeriveKeyPair (RFC 9180 §7.1.3) for X25519: the key pair that `ikm` determines.
 *
 * @param provider Whose HKDF to use.
 * @param ikm Input keying material, at least 32 bytes of entropy.
 * @returns The key pair.
 */
export function hpkeDeriveKeyPair(provider: CryptoProvider, ikm: Uint8Array): HpkeKeyPair {
  const kem = kemLabels(provider);
  const prk = kem.extract(new Uint8Array(0), "dkp_prk", ikm);
  const privateKey = kem.expand(prk, "sk", new Uint8Array(0), 32);
  return { publicKey: publicOf(privateKey), privateKey };
}

/**
 * A fresh recipient key pair (GenerateKeyPair, RFC 9180 §4).
 *
 * @param provider Whose HKDF to use.
 * @param random The randomness (32 bytes are drawn).
 * @returns The key pair.
 */
export function hpkeKeyPair(provider: CryptoProvider, random: (n: number) => Uint8Array): HpkeKeyPair {
  return hpkeDeriveKeyPair(provider, random(32));
}

/** ExtractAndExpand (RFC 9180 §4.1). */
function sharedSecret(provider: CryptoProvider, dhOut: Uint8Array, kemContext: Uint8Array): Uint8Array {
  const kem = kemLabels(provider);
  return kem.expand(kem.extract(new Uint8Array(0), "eae_prk", dhOut), "shared_secret", kemContext, N_SECRET);
}

/** A context's key material (RFC 9180 §5.1, base mode). */
export interface HpkeKeySchedule {
  readonly key: Uint8Array;
  readonly baseNonce: Uint8Array;
  readonly exporterSecret: Uint8Array;
}

function keySchedule(
  provider: CryptoProvider,
  suite: HpkeSuite,
  aead: Aead,
  shared: Uint8Array,
  info: Uint8Array,
): HpkeKeySchedule {
  const h = new Labeled(
    provider.hash("SHA-256"),
    concat(utf8("HPKE"), u16(suite.kem), u16(suite.kdf), u16(suite.aead)),
  );
  const empty = new Uint8Array(0);
  const context = concat(
    Uint8Array.of(MODE_BASE),
    h.extract(empty, "psk_id_hash", empty),
    h.extract(empty, "info_hash", info),
  );
  const secret = h.extract(shared, "secret", empty);
  return {
    key: h.expand(secret, "key", context, aead.keyLen),
    baseNonce: h.expand(secret, "base_nonce", context, aead.nonceLen),
    exporterSecret: h.expand(secret, "exp", context, N_SECRET),
  };
}

/**
 * An HPKE context, sender's or recipient's (RFC 9180 §5.2): AEAD under the schedule's key, with a nonce
 * from the base nonce and a sequence number that each seal or successful open advances.
 */
export class HpkeContext {
  /** The schedule's values, for tests; never log them. */
  readonly schedule: HpkeKeySchedule;
  readonly #key: AeadKey;
  #seq = 0;

  constructor(aead: Aead, schedule: HpkeKeySchedule) {
    this.schedule = schedule;
    this.#key = aead.importKey(schedule.key);
  }

  /** The nonce of the next message: base_nonce XOR the sequence number. */
  #nonce(): Uint8Array {
    const nonce = this.schedule.baseNonce.slice();
    // Sequence numbers stay below 2^53, far beyond any use here (one message per ClientHello).
    for (let i = nonce.length - 1, s = this.#seq; s > 0 && i >= 0; i--, s = Math.floor(s / 256)) {
      nonce[i]! ^= s % 256;
    }
    return nonce;
  }

  #advance(): void {
    if (this.#seq >= Number.MAX_SAFE_INTEGER) {
      throw new HpkeError("Cannot use HPKE context: sequence number overflow");
    }
    this.#seq++;
  }

  /**
   * Encrypt the next message.
   *
   * @param aad Associated data.
   * @param plaintext The message.
   * @returns Ciphertext and tag.
   */
  seal(aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    const out = this.#key.seal(this.#nonce(), aad, plaintext);
    this.#advance();
    return out;
  }

  /**
   * Decrypt the next message.
   *
   * @param aad Associated data.
   * @param ciphertext Ciphertext and tag.
   * @returns The plaintext, or null when it does not authenticate (the sequence number then stays).
   */
  open(aad: Uint8Array, ciphertext: Uint8Array): Uint8Array | null {
    const out = this.#key.open(this.#nonce(), aad, ciphertext);
    if (out !== null) this.#advance();
    return out;
  }
}

/**
 * SetupBaseS (RFC 9180 §5.1.1): encapsulate to `publicKey` and make the sender's context.
 *
 * @param provider Whose X25519, HKDF and AEAD to use.
 * @param suite The HPKE suite.
 * @param publicKey The recipient's X25519 public key (pkR).
 * @param info Application-supplied context.
 * @param random The randomness for the ephemeral key (32 bytes are drawn), or `{ ikm }` to derive it
 *   (DeriveKeyPair, as RFC 9180's test vectors do).
 * @returns `enc`, to send to the recipient, the context, and the KEM shared secret (for key logs: never log it
 *   elsewhere); a promise of them where the provider's X25519 is asynchronous.
 * @throws {HpkeError} If the suite is not supported or the public key is invalid (or rejects so).
 */
export function hpkeSetupSender(
  provider: CryptoProvider,
  suite: HpkeSuite,
  publicKey: Uint8Array,
  info: Uint8Array,
  random: ((n: number) => Uint8Array) | { readonly ikm: Uint8Array },
): MaybePromise<{ enc: Uint8Array; context: HpkeContext; sharedSecret: Uint8Array }> {
  const aead = provider.aead(check(suite));
  checkKey(publicKey, "public key");
  // A fresh ephemeral key from the provider (native where it can be: GenerateKeyPair, RFC 9180 §4), or the
  // one `ikm` derives (DeriveKeyPair, for known answers).
  let eph: MaybePromise<KeyShare>;
  if (typeof random === "function") {
    try {
      eph = provider.keyShare(X25519, random);
    } catch (e) {
      throw dhFailed(e);
    }
  } else {
    const pair = hpkeDeriveKeyPair(provider, random.ikm);
    eph = { group: X25519.id, publicKey: pair.publicKey, privateKey: pair.privateKey };
  }
  return then(eph, (share) =>
    then(dh(provider, share, publicKey), (dhOut) => {
      const enc = share.publicKey;
      const shared = sharedSecret(provider, dhOut, concat(enc, publicKey));
      return {
        enc,
        context: new HpkeContext(aead, keySchedule(provider, suite, aead, shared, info)),
        sharedSecret: shared,
      };
    }));
}

/**
 * SetupBaseR (RFC 9180 §5.1.1): decapsulate `enc` with the private key and make the recipient's context.
 *
 * @param provider Whose X25519, HKDF and AEAD to use.
 * @param suite The HPKE suite.
 * @param keyPair The recipient's key pair (skR, pkR).
 * @param enc The sender's encapsulated key.
 * @param info Application-supplied context, as the sender gave it.
 * @returns The context (a promise of it where the provider's X25519 is asynchronous).
 * @throws {HpkeError} If the suite is not supported, or `enc` is not a usable X25519 key (or rejects so).
 */
export function hpkeSetupRecipient(
  provider: CryptoProvider,
  suite: HpkeSuite,
  keyPair: HpkeKeyPair,
  enc: Uint8Array,
  info: Uint8Array,
): MaybePromise<HpkeContext> {
  const aead = provider.aead(check(suite));
  checkKey(enc, "enc");
  checkKey(keyPair.privateKey, "private key");
  return then(dh(provider, staticShare(keyPair), enc), (dhOut) => {
    const shared = sharedSecret(provider, dhOut, concat(enc, keyPair.publicKey));
    return new HpkeContext(aead, keySchedule(provider, suite, aead, shared, info));
  });
}

/**
 * Single-shot seal (RFC 9180 §6.1): one message to `publicKey`.
 *
 * @returns `enc` and the ciphertext.
 */
export function hpkeSeal(
  provider: CryptoProvider,
  suite: HpkeSuite,
  publicKey: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
  random: (n: number) => Uint8Array,
): MaybePromise<{ enc: Uint8Array; ciphertext: Uint8Array }> {
  return then(
    hpkeSetupSender(provider, suite, publicKey, info, random),
    ({ enc, context }) => ({ enc, ciphertext: context.seal(aad, plaintext) }),
  );
}

/**
 * Single-shot open (RFC 9180 §6.1).
 *
 * @returns The plaintext, or null when it does not authenticate.
 */
export function hpkeOpen(
  provider: CryptoProvider,
  suite: HpkeSuite,
  privateKey: Uint8Array,
  enc: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  ciphertext: Uint8Array,
): MaybePromise<Uint8Array | null> {
  checkKey(privateKey, "private key");
  const keyPair = { privateKey, publicKey: publicOf(privateKey) };
  return then(hpkeSetupRecipient(provider, suite, keyPair, enc, info), (c) => c.open(aad, ciphertext));
}
