// This module is browser compatible.
/**
 * TLS 1.3 cipher suites (RFC 8446 §B.4) and key-exchange groups, in default
 * preference order.
 *
 * @module
 */

import { type Aead, AES_128_GCM, AES_256_GCM, CHACHA20_POLY1305 } from "./aead.ts";
import { type Hash, SHA256, SHA384 } from "./hash.ts";
import { type KxGroup, SECP256R1, SECP384R1, X25519, X25519MLKEM768 } from "./kx.ts";

/** A TLS 1.3 cipher suite: an AEAD plus the hash for HKDF and the transcript. */
export interface Tls13Suite {
  /** The CipherSuite code point. */
  readonly id: number;
  /** The suite's name as in the RFC. */
  readonly name: "TLS_AES_128_GCM_SHA256" | "TLS_AES_256_GCM_SHA384" | "TLS_CHACHA20_POLY1305_SHA256";
  /** The record protection algorithm. */
  readonly aead: Aead;
  /** The hash for the key schedule and transcript. */
  readonly hash: Hash;
}

/** The supported TLS 1.3 suites in default preference order: AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305. */
export const TLS13_SUITES: readonly Tls13Suite[] = Object.freeze([
  Object.freeze({ id: 0x1301, name: "TLS_AES_128_GCM_SHA256", aead: AES_128_GCM, hash: SHA256 } as const),
  Object.freeze({ id: 0x1302, name: "TLS_AES_256_GCM_SHA384", aead: AES_256_GCM, hash: SHA384 } as const),
  Object.freeze(
    { id: 0x1303, name: "TLS_CHACHA20_POLY1305_SHA256", aead: CHACHA20_POLY1305, hash: SHA256 } as const,
  ),
]);

/**
 * Look up a TLS 1.3 suite by code point.
 *
 * @param id The CipherSuite code point, e.g. `0x1301`.
 * @returns The suite, or `undefined` if it is not supported.
 *
 * @example Find TLS_AES_128_GCM_SHA256
 * ```ts
 * import assert from "node:assert/strict";
 * import { tls13SuiteById } from "./tls13.ts";
 * assert.equal(tls13SuiteById(0x1301)?.name, "TLS_AES_128_GCM_SHA256");
 * assert.equal(tls13SuiteById(0xc02f), undefined);
 * ```
 */
export function tls13SuiteById(id: number): Tls13Suite | undefined {
  return TLS13_SUITES.find((suite) => suite.id === id);
}

/**
 * The supported key-exchange groups in default preference order: the post-quantum hybrid X25519MLKEM768
 * first (as Chrome, Go and OpenSSL 3.5 do), then x25519, secp256r1, secp384r1.
 */
export const KX_GROUPS: readonly KxGroup[] = Object.freeze([X25519MLKEM768, X25519, SECP256R1, SECP384R1]);

/**
 * Look up a key-exchange group by code point.
 *
 * @param id The NamedGroup code point, e.g. `0x001d`.
 * @returns The group, or `undefined` if it is not supported.
 *
 * @example Find x25519 and X25519MLKEM768
 * ```ts
 * import assert from "node:assert/strict";
 * import { kxGroupById } from "./tls13.ts";
 * assert.equal(kxGroupById(0x001d)?.name, "x25519");
 * assert.equal(kxGroupById(0x11ec)?.name, "X25519MLKEM768");
 * ```
 */
export function kxGroupById(id: number): KxGroup | undefined {
  return KX_GROUPS.find((group) => group.id === id);
}
