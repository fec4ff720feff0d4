// This module is browser compatible.
/**
 * The AEAD ciphers of TLS 1.3 (RFC 8446 §5.2): AES-GCM (NIST SP 800-38D) and
 * ChaCha20-Poly1305 (RFC 8439), backed by `@noble/ciphers`.
 *
 * @module
 */

import { gcm } from "@noble/ciphers/aes.js";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";

/** A key ready to protect records. */
export interface AeadKey {
  /**
   * Encrypt and authenticate.
   *
   * @param nonce The 12-byte per-record nonce.
   * @param aad Additional authenticated data (the record header in TLS 1.3).
   * @param plaintext The data to encrypt.
   * @returns `ciphertext || tag`.
   * @throws {RangeError} If `nonce` is not 12 bytes.
   */
  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /**
   * Authenticate and decrypt.
   *
   * @param nonce The 12-byte per-record nonce.
   * @param aad Additional authenticated data.
   * @param ciphertextAndTag `ciphertext || tag`.
   * @returns The plaintext, or `null` if the input is shorter than a tag or fails
   * authentication. Bad tags never throw.
   * @throws {RangeError} If `nonce` is not 12 bytes.
   */
  open(nonce: Uint8Array, aad: Uint8Array, ciphertextAndTag: Uint8Array): Uint8Array | null;
}

/** An AEAD algorithm. */
export interface Aead {
  /** The algorithm's name. */
  readonly name: "AES-128-GCM" | "AES-256-GCM" | "CHACHA20-POLY1305";
  /** Key size in bytes. */
  readonly keyLen: number;
  /** Nonce size in bytes. */
  readonly nonceLen: 12;
  /** Tag size in bytes. */
  readonly tagLen: 16;
  /**
   * Prepare a key.
   *
   * @param key `keyLen` bytes; copied, so the caller may wipe its own buffer.
   * @returns A key that seals and opens records.
   * @throws {RangeError} If `key` is not `keyLen` bytes.
   */
  importKey(key: Uint8Array): AeadKey;
}

interface NobleAead {
  encrypt(plaintext: Uint8Array): Uint8Array;
  decrypt(ciphertext: Uint8Array): Uint8Array;
}

// noble's gcm() and chacha20poly1305() take key, nonce and AAD together and
// derive their per-key state (AES round keys, GHASH key) on every call; 2.4
// exposes no supported way to keep that state across records (only the
// `unsafe` internals, which "may change at any time"). So importKey only checks
// and copies the key, and each record builds a fresh cipher.
function makeAead(
  name: Aead["name"],
  keyLen: number,
  cipher: (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array) => NobleAead,
): Aead {
  function checkNonce(nonce: Uint8Array): void {
    if (nonce.length !== 12) {
      throw new RangeError(`Cannot use ${name} nonce: expected 12 bytes, got ${nonce.length}`);
    }
  }
  return Object.freeze({
    name,
    keyLen,
    nonceLen: 12 as const,
    tagLen: 16 as const,
    importKey(key: Uint8Array): AeadKey {
      if (key.length !== keyLen) {
        throw new RangeError(`Cannot import ${name} key: expected ${keyLen} bytes, got ${key.length}`);
      }
      const k = key.slice();
      return Object.freeze({
        seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
          checkNonce(nonce);
          return cipher(k, nonce, aad).encrypt(plaintext);
        },
        open(nonce: Uint8Array, aad: Uint8Array, ciphertextAndTag: Uint8Array): Uint8Array | null {
          checkNonce(nonce);
          if (ciphertextAndTag.length < 16) return null;
          try {
            return cipher(k, nonce, aad).decrypt(ciphertextAndTag);
          } catch {
            return null; // inputs are validated above, so only a bad tag remains
          }
        },
      });
    },
  });
}

/**
 * AES-128-GCM (16-byte key), for TLS_AES_128_GCM_SHA256.
 *
 * @example Seal and open a record
 * ```ts
 * import assert from "node:assert/strict";
 * import { AES_128_GCM } from "./aead.ts";
 * const key = AES_128_GCM.importKey(new Uint8Array(16));
 * const nonce = new Uint8Array(12);
 * const sealed = key.seal(nonce, new Uint8Array(0), new Uint8Array([1, 2, 3]));
 * assert.deepEqual(key.open(nonce, new Uint8Array(0), sealed), new Uint8Array([1, 2, 3]));
 * ```
 */
export const AES_128_GCM: Aead = makeAead("AES-128-GCM", 16, gcm);

/** AES-256-GCM (32-byte key), for TLS_AES_256_GCM_SHA384. */
export const AES_256_GCM: Aead = makeAead("AES-256-GCM", 32, gcm);

/** ChaCha20-Poly1305 (RFC 8439, 32-byte key), for TLS_CHACHA20_POLY1305_SHA256. */
export const CHACHA20_POLY1305: Aead = makeAead("CHACHA20-POLY1305", 32, chacha20poly1305);
