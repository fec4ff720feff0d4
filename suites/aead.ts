// This module is browser compatible.
/**
 * The AEAD ciphers of TLS 1.3 (RFC 8446 §5.2): AES-GCM (NIST SP 800-38D) and
 * ChaCha20-Poly1305 (RFC 8439), backed by `@noble/ciphers`.
 *
 * @module
 */

import { unsafe } from "@noble/ciphers/aes.js";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { concat, ctEqual } from "./bytes.ts";

/** A key ready to protect records. */
export interface AeadKey {
  /**
   * Encrypt and authenticate.
   *
   * @param nonce The 12-byte per-record nonce.
   * @param aad Additional authenticated data (the record header in TLS 1.3).
   * @param plaintext The data to encrypt.
   * @param headroom Bytes to leave free before the ciphertext, for the caller to fill (a record's header), so
   *   that the record is one array without a copy (default 0).
   * @param suffix Bytes sealed after `plaintext`, as if joined to it (TLS 1.3's content type and padding), so
   *   that the caller need not copy the plaintext to append them.
   * @returns `headroom` bytes, then `ciphertext || tag`.
   * @throws {RangeError} If `nonce` is not 12 bytes.
   */
  seal(
    nonce: Uint8Array,
    aad: Uint8Array,
    plaintext: Uint8Array,
    headroom?: number,
    suffix?: Uint8Array,
  ): Uint8Array;
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

const KEY_LENGTHS: Readonly<Record<Aead["name"], number>> = Object.freeze({
  "AES-128-GCM": 16,
  "AES-256-GCM": 32,
  "CHACHA20-POLY1305": 32,
});

/**
 * An {@linkcode Aead} from a key preparer, for a provider's own implementation (see
 * `CryptoProvider.aead`): `importKey` checks the key's length and hands `prepare` a copy of it; every call
 * checks the nonce's length, and `open` answers `null` for input shorter than a tag before `prepare`'s key
 * sees it. noble's ChaCha20-Poly1305 has no per-key state worth keeping (its Poly1305 key is per nonce), so
 * it calls `chacha20poly1305()` per record; AES-GCM keeps its round keys and GHASH table
 * ({@link aesGcmKey}).
 *
 * @param name The algorithm.
 * @param prepare Makes the key's state; its `open` returns `null` for a bad tag and never throws for one.
 * @returns The algorithm.
 *
 * @example An AEAD that delegates to noble's (a real one would call a native library)
 * ```ts
 * import assert from "node:assert/strict";
 * import { AES_128_GCM, customAead } from "./aead.ts";
 * const mine = customAead("AES-128-GCM", (key) => AES_128_GCM.importKey(key));
 * const sealed = mine.importKey(new Uint8Array(16)).seal(new Uint8Array(12), new Uint8Array(0), Uint8Array.of(1));
 * assert.equal(sealed.length, 17);
 * ```
 */
export function customAead(name: Aead["name"], prepare: (key: Uint8Array) => AeadKey): Aead {
  const keyLen = KEY_LENGTHS[name];
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
      const k = prepare(new Uint8Array(key)); // a copy, even of a Node Buffer (whose slice() is a view)
      return Object.freeze({
        seal(
          nonce: Uint8Array,
          aad: Uint8Array,
          plaintext: Uint8Array,
          headroom = 0,
          suffix?: Uint8Array,
        ): Uint8Array {
          checkNonce(nonce);
          if (!Number.isSafeInteger(headroom) || headroom < 0) {
            throw new RangeError(`Cannot seal with ${name}: headroom ${headroom} is not a byte count`);
          }
          return k.seal(nonce, aad, plaintext, headroom, suffix?.length ? suffix : undefined);
        },
        open(nonce: Uint8Array, aad: Uint8Array, ciphertextAndTag: Uint8Array): Uint8Array | null {
          checkNonce(nonce);
          if (ciphertextAndTag.length < 16) return null;
          return k.open(nonce, aad, ciphertextAndTag);
        },
      });
    },
  });
}

function chachaKey(key: Uint8Array): AeadKey {
  return {
    seal(nonce, aad, plaintext, headroom = 0, suffix) {
      const text = joined(plaintext, suffix);
      const out = new Uint8Array(headroom + text.length + 16);
      chacha20poly1305(key, nonce, aad).encrypt(text, out.subarray(headroom));
      return out;
    },
    open(nonce, aad, ciphertextAndTag) {
      try {
        return chacha20poly1305(key, nonce, aad).decrypt(ciphertextAndTag);
      } catch {
        return null; // inputs are validated by customAead, so only a bad tag remains
      }
    },
  };
}

/** `plaintext ‖ suffix`, for implementations that need the whole message in one array. */
function joined(plaintext: Uint8Array, suffix: Uint8Array | undefined): Uint8Array {
  return suffix ? concat(plaintext, suffix) : plaintext;
}

const ZERO_BLOCK = new Uint8Array(16);

/**
 * `bytes`, or a copy of it when its offset is not 4-byte aligned (noble's CTR reads 32-bit words). The copy is
 * made with the Uint8Array constructor: a Node Buffer's own `slice()` is a view at the same offset.
 */
function aligned(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset % 4 === 0 ? bytes : new Uint8Array(bytes);
}

/**
 * GHASH's multiplication table for H, flat: noble's 4-bit windowed table (32 windows × 16 multiples of H,
 * each 128 bits as four little-endian words), copied out of its GHASH object into one 8 KiB Uint32Array. As
 * objects it took about 25 KB per key; flat it is 8 KiB and reads faster.
 */
function ghashTable(h: Uint8Array): Uint32Array {
  // noble's 4-bit-window GHASH table (the layout of its GHASH class, which ghashAbsorb walks), built straight
  // into one typed array: first H·x^i for i < 128, then each window's 16 entries as XORs of four of them.
  // Every key builds one on first use, so this runs several times per handshake.
  const v = new DataView(h.buffer, h.byteOffset, 16);
  let k0 = v.getUint32(0), k1 = v.getUint32(4), k2 = v.getUint32(8), k3 = v.getUint32(12);
  const doubles = new Uint32Array(128 * 4);
  for (let i = 0; i < 128; i++) {
    doubles[i * 4] = byteSwap(k0);
    doubles[i * 4 + 1] = byteSwap(k1);
    doubles[i * 4 + 2] = byteSwap(k2);
    doubles[i * 4 + 3] = byteSwap(k3);
    // Multiply by x (NIST SP 800-38D §6.3): shift right by one bit, reduce by R = 0xe1 || 0^120 on carry.
    const carry = k3 & 1;
    k3 = (k2 << 31) | (k3 >>> 1);
    k2 = (k1 << 31) | (k2 >>> 1);
    k1 = (k0 << 31) | (k1 >>> 1);
    k0 = (k0 >>> 1) ^ ((0xe1 << 24) & -carry);
  }
  const t = new Uint32Array(32 * 16 * 4);
  for (let w = 0; w < 32; w++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let j = 0; j < 4; j++) {
        if (((nibble >>> (3 - j)) & 1) === 0) continue;
        const d = (4 * w + j) * 4;
        s0 ^= doubles[d]!, s1 ^= doubles[d + 1]!, s2 ^= doubles[d + 2]!, s3 ^= doubles[d + 3]!;
      }
      const o = (w * 16 + nibble) * 4;
      t[o] = s0, t[o + 1] = s1, t[o + 2] = s2, t[o + 3] = s3;
    }
  }
  return t;
}

function byteSwap(n: number): number {
  return ((n & 0xff) << 24) | (((n >>> 8) & 0xff) << 16) | (((n >>> 16) & 0xff) << 8) | (n >>> 24);
}

function ghashAbsorb(t: Uint32Array, s: Uint32Array, bytes: Uint8Array): void {
  const n = bytes.length;
  const block = new Uint8Array(16);
  for (let at = 0; at < n; at += 16) {
    let b = bytes;
    let o = at;
    if (n - at < 16) {
      block.fill(0);
      block.set(bytes.subarray(at));
      b = block;
      o = 0;
    }
    let o0 = 0, o1 = 0, o2 = 0, o3 = 0, w = 0;
    for (let k = 0; k < 4; k++) {
      const i = o + 4 * k;
      const num = (s[k]! ^ (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24))) >>> 0;
      for (let bytePos = 0; bytePos < 4; bytePos++) {
        const byte = (num >>> (8 * bytePos)) & 0xff;
        let e = (w * 16 + (byte >>> 4)) * 4;
        o0 ^= t[e]!, o1 ^= t[e + 1]!, o2 ^= t[e + 2]!, o3 ^= t[e + 3]!;
        e = ((w + 1) * 16 + (byte & 15)) * 4;
        o0 ^= t[e]!, o1 ^= t[e + 1]!, o2 ^= t[e + 2]!, o3 ^= t[e + 3]!;
        w += 2;
      }
    }
    s[0] = o0, s[1] = o1, s[2] = o2, s[3] = o3;
  }
}

/**
 * AES-GCM (NIST SP 800-38D) with its per-key state computed once, at import: the AES round keys and the
 * GHASH multiplication table for H = E_K(0^128). noble's public `gcm()` derives both on every call (about
 * 11 µs), which costs most at small records; here each record only runs CTR and GHASH. Built from noble's
 * `unsafe.expandKeyLE`/`unsafe.ctr32` and its GHASH class; the known-answer tests (NIST GCM vectors) and
 * a comparison with `gcm()` on random inputs guard it.
 */
function aesGcmKey(key: Uint8Array): AeadKey {
  const xk = unsafe.expandKeyLE(key);
  const h = unsafe.ctr32(xk, false, new Uint8Array(16), ZERO_BLOCK); // E_K(0^128)
  // The GHASH table is built on first use: a key that never protects a record (an idle connection's) costs
  // nothing.
  let table: Uint32Array | undefined;
  /** J0 = nonce ‖ 0^31 ‖ 1; returns E_K(J0) and leaves `counter` at inc32(J0) for the payload. */
  function start(nonce: Uint8Array): { counter: Uint8Array; mask: Uint8Array } {
    const counter = new Uint8Array(16);
    counter.set(nonce);
    counter[15] = 1;
    const mask = unsafe.ctr32(xk, false, counter, ZERO_BLOCK);
    return { counter, mask };
  }
  function tag(mask: Uint8Array, aad: Uint8Array, data: Uint8Array): Uint8Array {
    table ??= ghashTable(h);
    const lengths = new Uint8Array(16);
    const v = new DataView(lengths.buffer);
    v.setUint32(0, Math.floor((aad.length * 8) / 2 ** 32));
    v.setUint32(4, (aad.length * 8) >>> 0);
    v.setUint32(8, Math.floor((data.length * 8) / 2 ** 32));
    v.setUint32(12, (data.length * 8) >>> 0);
    const s = new Uint32Array(4);
    ghashAbsorb(table, s, aad);
    ghashAbsorb(table, s, data);
    ghashAbsorb(table, s, lengths);
    const out = new Uint8Array(16);
    for (let i = 0; i < 16; i++) out[i] = ((s[i >> 2]! >>> (8 * (i & 3))) & 0xff) ^ mask[i]!;
    return out;
  }
  return {
    seal(
      nonce: Uint8Array,
      aad: Uint8Array,
      whole: Uint8Array,
      headroom = 0,
      suffix?: Uint8Array,
    ): Uint8Array {
      const plaintext = joined(whole, suffix);
      const { counter, mask } = start(nonce);
      // noble's CTR writes 32-bit words: the body starts at a multiple of 4 in its own buffer.
      const at = (headroom + 3) & ~3;
      const buf = new Uint8Array(at + plaintext.length + 16);
      const body = buf.subarray(at, at + plaintext.length);
      if (plaintext.length > 0) unsafe.ctr32(xk, false, counter, aligned(plaintext), body);
      buf.set(tag(mask, aad, body), at + plaintext.length);
      return buf.subarray(at - headroom);
    },
    open(nonce: Uint8Array, aad: Uint8Array, ciphertextAndTag: Uint8Array): Uint8Array | null {
      const { counter, mask } = start(nonce);
      const data = aligned(ciphertextAndTag.subarray(0, ciphertextAndTag.length - 16));
      // Authenticate first: no plaintext is produced from a record that fails.
      if (!ctEqual(tag(mask, aad, data), ciphertextAndTag.subarray(ciphertextAndTag.length - 16))) {
        return null;
      }
      return data.length > 0 ? unsafe.ctr32(xk, false, counter, data) : new Uint8Array(0);
    },
  };
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
export const AES_128_GCM: Aead = customAead("AES-128-GCM", aesGcmKey);

/** AES-256-GCM (32-byte key), for TLS_AES_256_GCM_SHA384. */
export const AES_256_GCM: Aead = customAead("AES-256-GCM", aesGcmKey);

/** ChaCha20-Poly1305 (RFC 8439, 32-byte key), for TLS_CHACHA20_POLY1305_SHA256. */
export const CHACHA20_POLY1305: Aead = customAead("CHACHA20-POLY1305", chachaKey);

/** WebCrypto copies its input itself; our arrays are never over a SharedArrayBuffer, so no copy here. */
function bytes(view: Uint8Array): Uint8Array<ArrayBuffer> {
  return view as Uint8Array<ArrayBuffer>;
}

/**
 * An AEAD key held by the runtime's WebCrypto: the same operations as {@linkcode AeadKey}, asynchronous. Only
 * AES-GCM exists there (WebCrypto has no ChaCha20-Poly1305).
 */
export interface NativeAeadKey {
  /**
   * Records with less plaintext than this go to noble instead: below it the native call's fixed cost (a
   * promise and a trip to the runtime's crypto thread) exceeds what it saves. Measured in bench/: noble wins
   * below about 2 KiB on Node and Deno.
   */
  readonly minLength: number;
  /**
   * Encrypt and authenticate.
   *
   * @param nonce The 12-byte per-record nonce.
   * @param aad Additional authenticated data.
   * @param plaintext The data to encrypt.
   * @returns `ciphertext || tag`.
   */
  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  /**
   * Authenticate and decrypt.
   *
   * @param nonce The 12-byte per-record nonce.
   * @param aad Additional authenticated data.
   * @param ciphertextAndTag `ciphertext || tag`.
   * @returns The plaintext, or `null` when authentication fails (never a rejection for a bad tag).
   */
  open(nonce: Uint8Array, aad: Uint8Array, ciphertextAndTag: Uint8Array): Promise<Uint8Array | null>;
}

/**
 * `aead`'s key on the runtime's WebCrypto, or undefined for ChaCha20-Poly1305, which WebCrypto lacks. The key
 * is imported once (non-extractable); if the runtime refuses AES-GCM, every call falls back to noble.
 *
 * @param aead The algorithm.
 * @param key `aead.keyLen` bytes.
 * @returns The native key, or undefined.
 */
export function webCryptoAeadKey(aead: Aead, key: Uint8Array): NativeAeadKey | undefined {
  if (aead.name === "CHACHA20-POLY1305") return undefined;
  const copy = key.slice();
  let noble: AeadKey | undefined;
  const fallback = () => (noble ??= aead.importKey(copy));
  const imported: Promise<CryptoKey | undefined> = crypto.subtle
    .importKey("raw", key.slice(), { name: "AES-GCM" }, false, ["encrypt", "decrypt"])
    .catch(() => undefined);
  const params = (nonce: Uint8Array, aad: Uint8Array): AesGcmParams => ({
    name: "AES-GCM",
    iv: bytes(nonce),
    additionalData: bytes(aad),
    tagLength: 128,
  });
  return Object.freeze({
    minLength: 2048,
    async seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
      const k = await imported;
      if (!k) return fallback().seal(nonce, aad, plaintext);
      return new Uint8Array(await crypto.subtle.encrypt(params(nonce, aad), k, bytes(plaintext)));
    },
    async open(nonce: Uint8Array, aad: Uint8Array, ciphertextAndTag: Uint8Array): Promise<Uint8Array | null> {
      const k = await imported;
      if (!k) return fallback().open(nonce, aad, ciphertextAndTag);
      if (ciphertextAndTag.length < 16) return null;
      try {
        return new Uint8Array(await crypto.subtle.decrypt(params(nonce, aad), k, bytes(ciphertextAndTag)));
      } catch {
        return null; // OperationError: the tag does not match
      }
    },
  });
}
