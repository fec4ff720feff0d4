// This module is browser compatible.
/**
 * Key-exchange groups for the TLS 1.3 `key_share` extension (RFC 8446 §4.2.8):
 * X25519 (RFC 7748) and the NIST curves P-256 and P-384 (RFC 8446 §4.2.8.2),
 * backed by `@noble/curves`. Private keys come only from the injected `random`
 * function, so tests and fuzzers get deterministic shares.
 *
 * @module
 */

import { x25519 } from "@noble/curves/ed25519.js";
import { p256, p384 } from "@noble/curves/nist.js";

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

/** A named group that can make key shares and derive shared secrets. */
export interface KxGroup {
  /** The NamedGroup code point (RFC 8446 §4.2.7). */
  readonly id: number;
  /** The group's name as in the RFC. */
  readonly name: "x25519" | "secp256r1" | "secp384r1";
  /**
   * Make a fresh key share.
   *
   * @param random Returns `n` random bytes; the only source of the private key.
   * @returns The new share.
   * @throws {RangeError} If `random` returns the wrong number of bytes.
   */
  generate(random: (n: number) => Uint8Array): KeyShare;
  /**
   * Derive the shared secret after validating the peer's share: its length, the
   * uncompressed `0x04` form and curve membership for NIST curves, and a non-zero
   * result for X25519 (RFC 8446 §7.4).
   *
   * @param privateKey Our private key.
   * @param peerPublic The peer's `key_exchange` bytes.
   * @returns The shared secret: the x-coordinate for NIST curves (RFC 8446 §7.4.2).
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

function keyShare(group: number, publicKey: Uint8Array, privateKey: Uint8Array): KeyShare {
  const share = { group, publicKey };
  Object.defineProperty(share, "privateKey", { value: privateKey, enumerable: false });
  return Object.freeze(share) as KeyShare;
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
  return Object.freeze({
    id,
    name: "x25519" as const,
    generate: (random: (n: number) => Uint8Array) => fromPrivateKey(draw(random, 32)),
    fromPrivateKey,
    sharedSecret(privateKey: Uint8Array, peerPublic: Uint8Array): Uint8Array {
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
    },
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
  return Object.freeze({
    id,
    name,
    // 1.5 × the field size of random bytes, reduced into [1, n) by noble's
    // mapHashToField: the modulo bias is negligible (FIPS 186-5 A.2.1).
    generate: (random: (n: number) => Uint8Array) =>
      fromPrivateKey(curve.utils.randomSecretKey(draw(random, fieldLen + fieldLen / 2))),
    fromPrivateKey,
    sharedSecret(privateKey: Uint8Array, peerPublic: Uint8Array): Uint8Array {
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
    },
  });
}

/** X25519 (NamedGroup 0x001d). */
export const X25519: KxGroup = makeX25519();

/** secp256r1, i.e. NIST P-256 (NamedGroup 0x0017). */
export const SECP256R1: KxGroup = makeNist(0x0017, "secp256r1", p256);

/** secp384r1, i.e. NIST P-384 (NamedGroup 0x0018). */
export const SECP384R1: KxGroup = makeNist(0x0018, "secp384r1", p384);
