// This module is browser compatible.
/**
 * SHA-256 and SHA-384 with HMAC and HKDF (RFC 2104, RFC 5869), as used by the
 * TLS 1.3 key schedule and transcript hash. Backed by `@noble/hashes`.
 *
 * @module
 */

import { sha256, sha384 } from "@noble/hashes/sha2.js";
import { hmac } from "@noble/hashes/hmac.js";
import { expand, extract } from "@noble/hashes/hkdf.js";
import type { CHash, Hash as NobleHash } from "@noble/hashes/utils.js";

/** Names of the hash functions TLS 1.3 cipher suites use. */
export type HashName = "SHA-256" | "SHA-384";

/** A running hash, e.g. the handshake transcript. */
export interface HashState {
  /**
   * Absorb more input.
   *
   * @param data The next bytes of the message.
   */
  update(data: Uint8Array): void;
  /**
   * Hash everything absorbed so far. The state is left untouched, so updates
   * may continue afterwards.
   *
   * @returns The digest of all input so far.
   */
  digest(): Uint8Array;
  /**
   * Copy the state, e.g. to fork a transcript.
   *
   * @returns An independent state with the same input absorbed.
   */
  clone(): HashState;
}

/** A hash function together with its HMAC and HKDF. */
export interface Hash {
  /** The hash function's name. */
  readonly name: HashName;
  /** Digest size in bytes (32 or 48). */
  readonly outputLen: number;
  /**
   * Hash a whole message at once.
   *
   * @param data The message.
   * @returns Its digest.
   */
  digest(data: Uint8Array): Uint8Array;
  /**
   * Start an incremental hash.
   *
   * @returns An empty running hash.
   */
  create(): HashState;
  /**
   * Compute HMAC (RFC 2104).
   *
   * @param key The MAC key.
   * @param data The message.
   * @returns The `outputLen`-byte tag.
   */
  hmac(key: Uint8Array, data: Uint8Array): Uint8Array;
  /**
   * HKDF-Extract (RFC 5869 §2.2). An empty salt acts as `outputLen` zero bytes.
   *
   * @param salt The salt.
   * @param ikm The input keying material.
   * @returns The `outputLen`-byte pseudorandom key.
   */
  hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array;
  /**
   * HKDF-Expand (RFC 5869 §2.3).
   *
   * @param prk A pseudorandom key, normally from `hkdfExtract`.
   * @param info Context bytes (the HkdfLabel in TLS 1.3).
   * @param length Output size, from 0 to `255 * outputLen`.
   * @returns `length` bytes of output keying material.
   * @throws {RangeError} If `length` is out of range.
   */
  hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array;
}

class NobleHashState implements HashState {
  readonly #inner: NobleHash<unknown>;

  constructor(inner: NobleHash<unknown>) {
    this.#inner = inner;
  }

  update(data: Uint8Array): void {
    this.#inner.update(data);
  }

  digest(): Uint8Array {
    return (this.#inner.clone() as NobleHash<unknown>).digest();
  }

  clone(): HashState {
    return new NobleHashState(this.#inner.clone() as NobleHash<unknown>);
  }
}

function checkExpandLength(name: HashName, outputLen: number, length: number): void {
  if (!Number.isSafeInteger(length) || length < 0 || length > 255 * outputLen) {
    throw new RangeError(
      `Cannot expand HKDF-${name} to ${length} bytes: length must be 0..${255 * outputLen}`,
    );
  }
}

function makeHash(name: HashName, fn: CHash): Hash {
  const outputLen = fn.outputLen;
  return Object.freeze({
    name,
    outputLen,
    digest: (data: Uint8Array) => fn(data),
    create: () => new NobleHashState(fn.create()),
    hmac: (key: Uint8Array, data: Uint8Array) => hmac(fn, key, data),
    hkdfExtract: (salt: Uint8Array, ikm: Uint8Array) => extract(fn, ikm, salt),
    hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
      checkExpandLength(name, outputLen, length);
      return expand(fn, prk, info, length);
    },
  });
}

/**
 * A {@linkcode Hash} from another implementation's hash and HMAC (a runtime's native ones, say), for a
 * provider's `hash()`: HKDF-Extract and HKDF-Expand (RFC 5869) are built on `hmac`.
 *
 * @param name "SHA-256" or "SHA-384".
 * @param parts The one-shot digest, an incremental state, and HMAC.
 * @returns The hash.
 *
 * @example noble's SHA-256 again, through customHash
 * ```ts
 * import assert from "node:assert/strict";
 * import { customHash, SHA256 } from "./hash.ts";
 * const mine = customHash("SHA-256", { digest: SHA256.digest, create: SHA256.create, hmac: SHA256.hmac });
 * const [salt, ikm] = [new Uint8Array(0), new Uint8Array(32).fill(1)];
 * assert.deepEqual(mine.hkdfExtract(salt, ikm), SHA256.hkdfExtract(salt, ikm));
 * ```
 */
export function customHash(
  name: HashName,
  parts: Pick<Hash, "digest" | "create" | "hmac">,
): Hash {
  const outputLen = name === "SHA-256" ? 32 : 48;
  const { digest, create, hmac } = parts;
  return Object.freeze({
    name,
    outputLen,
    digest,
    create,
    hmac,
    // RFC 5869 §2.2: an absent salt is a string of HashLen zeros.
    hkdfExtract: (salt: Uint8Array, ikm: Uint8Array) =>
      hmac(salt.length > 0 ? salt : new Uint8Array(outputLen), ikm),
    hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
      checkExpandLength(name, outputLen, length);
      // RFC 5869 §2.3: T(i) = HMAC(PRK, T(i-1) | info | i), the first `length` bytes of T(1) | T(2) | …
      if (length <= outputLen) {
        // One block, as every TLS 1.3 expansion: T(1) = HMAC(PRK, info | 1).
        const input = new Uint8Array(info.length + 1);
        input.set(info);
        input[info.length] = 1;
        const t = hmac(prk, input);
        return length === outputLen ? t : t.slice(0, length);
      }
      const out = new Uint8Array(length);
      const input = new Uint8Array(outputLen + info.length + 1);
      let previous = 0;
      for (let i = 1, at = 0; at < length; i++) {
        input.set(info, previous);
        input[previous + info.length] = i;
        const t = hmac(prk, input.subarray(0, previous + info.length + 1));
        out.set(t.subarray(0, Math.min(outputLen, length - at)), at);
        input.set(t, 0);
        previous = outputLen;
        at += outputLen;
      }
      return out;
    },
  });
}

/**
 * SHA-256 (FIPS 180-4), used by TLS_AES_128_GCM_SHA256 and TLS_CHACHA20_POLY1305_SHA256.
 *
 * @example Hash "abc"
 * ```ts
 * import assert from "node:assert/strict";
 * import { toHex, utf8 } from "./bytes.ts";
 * import { SHA256 } from "./hash.ts";
 * assert.equal(
 *   toHex(SHA256.digest(utf8("abc"))),
 *   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
 * );
 * ```
 */
export const SHA256: Hash = makeHash("SHA-256", sha256);

/** SHA-384 (FIPS 180-4), used by TLS_AES_256_GCM_SHA384. */
export const SHA384: Hash = makeHash("SHA-384", sha384);
