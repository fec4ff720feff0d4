// This module is browser compatible.
/**
 * TLS 1.2 cipher suites (RFC 5289, RFC 7905) and the TLS 1.2 PRF (RFC 5246 §5). Only the modern subset:
 * ECDHE key exchange with an AEAD. RSA key exchange, CBC, RC4, static DH, export and anonymous suites are
 * not here and cannot be configured.
 *
 * @module
 */

import { type Aead, AES_128_GCM, AES_256_GCM, CHACHA20_POLY1305 } from "./aead.ts";
import { type Hash, SHA256, SHA384 } from "./hash.ts";
import { utf8 } from "./bytes.ts";

/** The name of a supported TLS 1.2 suite, as in the IANA registry. */
export type Tls12SuiteName =
  | "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
  | "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
  | "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"
  | "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
  | "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
  | "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256";

/** A TLS 1.2 ECDHE+AEAD cipher suite. */
export interface Tls12Suite {
  /** The CipherSuite code point. */
  readonly id: number;
  readonly name: Tls12SuiteName;
  /** Who signs the ServerKeyExchange: an ECDSA (or Ed25519, RFC 8422) key, or an RSA key. */
  readonly auth: "ecdsa" | "rsa";
  readonly aead: Aead;
  /** The PRF hash, also the transcript hash. */
  readonly hash: Hash;
  /** Bytes of the IV taken from the key block: 4 for AES-GCM (the salt, RFC 5288), 12 for ChaCha20 (RFC 7905). */
  readonly fixedIvLen: 4 | 12;
  /** Bytes of explicit nonce in each record: 8 for AES-GCM, 0 for ChaCha20-Poly1305. */
  readonly explicitNonceLen: 8 | 0;
}

function suite(
  id: number,
  name: Tls12SuiteName,
  auth: "ecdsa" | "rsa",
  aead: Aead,
  hash: Hash,
): Tls12Suite {
  const chacha = aead === CHACHA20_POLY1305;
  return Object.freeze(
    {
      id,
      name,
      auth,
      aead,
      hash,
      fixedIvLen: chacha ? 12 : 4,
      explicitNonceLen: chacha ? 0 : 8,
    } as const,
  );
}

/** The supported TLS 1.2 suites in default preference order (AES-128-GCM, AES-256-GCM, ChaCha20; ECDSA first). */
export const TLS12_SUITES: readonly Tls12Suite[] = Object.freeze([
  suite(0xc02b, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ecdsa", AES_128_GCM, SHA256),
  suite(0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "rsa", AES_128_GCM, SHA256),
  suite(0xc02c, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ecdsa", AES_256_GCM, SHA384),
  suite(0xc030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "rsa", AES_256_GCM, SHA384),
  suite(0xcca9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ecdsa", CHACHA20_POLY1305, SHA256),
  suite(0xcca8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "rsa", CHACHA20_POLY1305, SHA256),
]);

/**
 * Look up a TLS 1.2 suite by code point.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tls12SuiteById } from "./tls12.ts";
 * assert.equal(tls12SuiteById(0xc02f)?.name, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
 * assert.equal(tls12SuiteById(0x1301), undefined);
 * ```
 */
export function tls12SuiteById(id: number): Tls12Suite | undefined {
  return TLS12_SUITES.find((s) => s.id === id);
}

/**
 * The TLS 1.2 PRF (RFC 5246 §5): P_hash(secret, label ‖ seed) with the suite's hash, truncated to `length`.
 *
 * @param hash The suite's PRF hash.
 * @param secret The secret (a pre-master or master secret).
 * @param label An ASCII label such as "master secret".
 * @param seed The seed (randoms, or a session hash).
 * @param length Bytes of output.
 * @returns `length` bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prf12 } from "./tls12.ts";
 * import { SHA256 } from "./hash.ts";
 * assert.equal(prf12(SHA256, new Uint8Array(16), "test label", new Uint8Array(16), 100).length, 100);
 * ```
 */
export function prf12(
  hash: Hash,
  secret: Uint8Array,
  label: string,
  seed: Uint8Array,
  length: number,
): Uint8Array {
  const l = utf8(label);
  const labelSeed = new Uint8Array(l.length + seed.length);
  labelSeed.set(l);
  labelSeed.set(seed, l.length);
  const out = new Uint8Array(length);
  // A(0) = seed; A(i) = HMAC(secret, A(i-1)); output = HMAC(secret, A(1) ‖ seed) ‖ HMAC(secret, A(2) ‖ seed) ...
  let a: Uint8Array = labelSeed;
  const block = new Uint8Array(hash.outputLen + labelSeed.length);
  block.set(labelSeed, hash.outputLen);
  for (let at = 0; at < length; at += hash.outputLen) {
    a = hash.hmac(secret, a);
    block.set(a);
    const chunk = hash.hmac(secret, block);
    out.set(chunk.subarray(0, Math.min(chunk.length, length - at)), at);
  }
  return out;
}
