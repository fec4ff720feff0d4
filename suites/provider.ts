// This module is browser compatible.
/**
 * Crypto providers: which implementation the engine uses for a primitive (the design rustls uses). A provider
 * decides how key shares are made and shared secrets derived (X25519, P-256, P-384, X25519MLKEM768), how peer
 * signatures are verified (CertificateVerify, ServerKeyExchange), how private keys sign
 * (`provider.loadPrivateKey`), how records are sealed and opened, and which hash (with its HMAC and HKDF) the
 * transcript, key schedule and PRF use. The asymmetric operations are most of a handshake's time, and
 * WebCrypto's are several times faster than noble's on every runtime measured. Hashes stay synchronous: on
 * noble in these two providers, since one awaited WebCrypto HMAC costs ten times noble's. A provider of your
 * own (a spread of one of these with some methods replaced; `customAead` and `customHash` build the
 * synchronous parts) can bring a runtime's native primitives.
 *
 * - {@link nobleProvider}: synchronous, the same on every runtime, what fuzzing and known-answer tests name.
 * - {@link webCryptoProvider}: the runtime's native WebCrypto where it has the primitive (X25519, ECDH and
 *   ECDSA on P-256/P-384, Ed25519, RSA), noble where it does not; results arrive through WANT_ASYNC. Its key
 *   shares and ECDSA nonces come from the runtime, so its handshakes are not reproducible byte for byte.
 * - `nodeCryptoProvider` (suites/node_crypto.ts; it needs `node:crypto`): the same work, and the records and
 *   hashes too, on Node's and Bun's native crypto, synchronously.
 *
 * Which one a configuration without `provider` gets is `defaultProvider()` (suites/default_provider.ts): the
 * fastest the runtime has.
 *
 * @module
 */

import {
  type Aead,
  AES_128_GCM,
  AES_256_GCM,
  CHACHA20_POLY1305,
  type NativeAeadKey,
  webCryptoAeadKey,
} from "./aead.ts";
import { type Hash, type HashName, SHA256, SHA384 } from "./hash.ts";
import { type KeyShare, type KxGroup, type KxOperations, webCryptoKx } from "./kx.ts";
import {
  loadPrivateKey,
  type PublicKey,
  type SigningKey,
  verifySignature,
  verifySignatureWebCrypto,
  verifyX509Signature,
  type X509SignatureResult,
} from "./sign.ts";

/** The primitives the engine takes from a provider. */
export interface CryptoProvider extends KxOperations {
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
   * Check a certificate's signature while a chain is validated (see `verifyX509Signature`).
   *
   * @param algorithm The DER AlgorithmIdentifier.
   * @param key The issuer's public key.
   * @param message The DER tbsCertificate.
   * @param signature The signature bytes.
   * @returns "valid", "invalid" or "unsupported" (a promise when the implementation is asynchronous).
   */
  verifyX509(
    algorithm: Uint8Array,
    key: PublicKey,
    message: Uint8Array,
    signature: Uint8Array,
  ): X509SignatureResult | Promise<X509SignatureResult>;
  /**
   * Load a private key that signs with this provider's primitives (see `loadPrivateKey`).
   *
   * @param pemOrDer PEM text, or PKCS#8 DER bytes.
   * @param options `passphrase`: an encrypted PKCS#8 key's.
   * @returns The signing key.
   */
  loadPrivateKey(
    pemOrDer: string | Uint8Array,
    options?: { readonly passphrase?: string },
  ): Promise<SigningKey>;
  /**
   * The provider's own copy of a traffic key, for application data records (the engine keeps noble's for the
   * handshake and other small records); undefined to use noble's for everything.
   *
   * @param aead The suite's AEAD.
   * @param key The traffic key.
   * @returns The native key, or undefined.
   */
  aeadKey(aead: Aead, key: Uint8Array): NativeAeadKey | undefined;
  /**
   * The synchronous AEAD for `name`: every record that `aeadKey` does not take, and all of them when it
   * gives no key. Return the same object for the same name every time.
   *
   * @param name "AES-128-GCM", "AES-256-GCM" or "CHACHA20-POLY1305".
   * @returns The implementation (build your own with `customAead`).
   */
  aead(name: Aead["name"]): Aead;
  /**
   * The hash, with its HMAC and HKDF, for the transcript, the key schedule and the TLS 1.2 PRF. Synchronous:
   * they run dozens of times per handshake on small inputs, where an awaited call costs far more than it
   * saves. Return the same object for the same name every time.
   *
   * @param name "SHA-256" or "SHA-384".
   * @returns The implementation.
   */
  hash(name: HashName): Hash;
}

function nobleHash(name: HashName): Hash {
  return name === "SHA-256" ? SHA256 : SHA384;
}

const NOBLE_AEADS: Readonly<Record<Aead["name"], Aead>> = Object.freeze({
  "AES-128-GCM": AES_128_GCM,
  "AES-256-GCM": AES_256_GCM,
  "CHACHA20-POLY1305": CHACHA20_POLY1305,
});

function nobleAead(name: Aead["name"]): Aead {
  return NOBLE_AEADS[name];
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
  verifyX509: verifyX509Signature,
  loadPrivateKey: (pemOrDer: string | Uint8Array, options?: { readonly passphrase?: string }) =>
    loadPrivateKey(pemOrDer, options),
  keyShare: (group: KxGroup, random: (n: number) => Uint8Array) => group.generate(random),
  respond: (group: KxGroup, peerShare: Uint8Array, random: (n: number) => Uint8Array) =>
    group.respond(peerShare, random),
  sharedSecret: (group: KxGroup, mine: KeyShare, peerPublic: Uint8Array) =>
    group.sharedSecret(mine.privateKey, peerPublic),
  aeadKey: () => undefined,
  aead: nobleAead,
  hash: nobleHash,
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
  verifyX509: (algorithm: Uint8Array, key: PublicKey, message: Uint8Array, signature: Uint8Array) =>
    verifyX509Signature(algorithm, key, message, signature, { webCrypto: true }),
  loadPrivateKey: (pemOrDer: string | Uint8Array, options?: { readonly passphrase?: string }) =>
    loadPrivateKey(pemOrDer, { ...options, webCrypto: true }),
  keyShare: webCryptoKx.keyShare,
  respond: webCryptoKx.respond,
  sharedSecret: webCryptoKx.sharedSecret,
  aeadKey: webCryptoAeadKey,
  aead: nobleAead,
  // WebCrypto's digest and HMAC are asynchronous: noble's are faster here (see `hash`).
  hash: nobleHash,
});
