// This module is browser compatible.
/**
 * Crypto providers: which implementation the engine uses for a primitive. Today a provider decides how peer
 * signatures are verified (CertificateVerify, ServerKeyExchange: the hot path of a client's handshake, where
 * noble's ECDSA verify is the slowest operation and WebCrypto's is several times faster) and how private keys
 * sign (`provider.loadPrivateKey`). Key exchange, AEADs and hashes stay on noble for now (issue #8 moves them
 * behind the provider in later steps).
 *
 * - {@link nobleProvider} (the default): synchronous, the same on every runtime, what fuzzing uses.
 * - {@link webCryptoProvider}: the runtime's native WebCrypto where it has the primitive (ECDSA P-256/P-384,
 *   Ed25519, RSA), noble where it does not; results arrive through WANT_ASYNC. Verification has no
 *   randomness, so a client that only verifies stays reproducible byte for byte; native ECDSA signing may draw
 *   random nonces.
 *
 * @module
 */

import {
  loadPrivateKey,
  type PublicKey,
  type SigningKey,
  verifySignature,
  verifySignatureWebCrypto,
} from "./sign.ts";

/** The primitives the engine takes from a provider. */
export interface CryptoProvider {
  /** "noble" or "webcrypto", for logs and the bench. */
  readonly name: string;
  /**
   * Verify a peer's signature; never throws.
   *
   * @param scheme The SignatureScheme code point.
   * @param key The signer's public key.
   * @param message The signed bytes.
   * @param signature The signature.
   * @param tls12 TLS 1.2 rules: an ECDSA scheme fixes the hash only, not the curve.
   * @returns Whether it verifies (a promise when the implementation is asynchronous).
   */
  verify(
    scheme: number,
    key: PublicKey,
    message: Uint8Array,
    signature: Uint8Array,
    tls12: boolean,
  ): boolean | Promise<boolean>;
  /**
   * Load a private key that signs with this provider's primitives (see `loadPrivateKey`).
   *
   * @param pemOrDer PEM text, or PKCS#8 DER bytes.
   * @returns The signing key.
   */
  loadPrivateKey(pemOrDer: string | Uint8Array): Promise<SigningKey>;
}

/**
 * noble for everything (RSA, which noble lacks, through WebCrypto): the default.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nobleProvider } from "./provider.ts";
 * assert.equal(nobleProvider.name, "noble");
 * ```
 */
export const nobleProvider: CryptoProvider = Object.freeze({
  name: "noble",
  verify: verifySignature,
  loadPrivateKey: (pemOrDer: string | Uint8Array) => loadPrivateKey(pemOrDer),
});

/**
 * WebCrypto where the runtime has the primitive, noble where it does not.
 *
 * @example Verify peers with WebCrypto
 * ```ts ignore
 * import { createClient, webCryptoProvider } from "@airlock/tls";
 * const tls = createClient({ serverName: "example.com", trustAnchors, provider: webCryptoProvider }, bio);
 * ```
 */
export const webCryptoProvider: CryptoProvider = Object.freeze({
  name: "webcrypto",
  verify: verifySignatureWebCrypto,
  loadPrivateKey: (pemOrDer: string | Uint8Array) => loadPrivateKey(pemOrDer, { webCrypto: true }),
});
