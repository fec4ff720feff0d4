// This module is browser compatible.
/**
 * The provider a configuration without its own `provider` uses: the fastest the runtime has, unless
 * {@link installDefaultProvider} chose one.
 *
 * - Node, Bun and Deno: `nodeCryptoProvider` (their native crypto, synchronous: no WANT_ASYNC for ECDHE and
 *   ECDSA/EdDSA handshakes; records sealed natively, on Deno through its WebCrypto).
 * - Browsers: `webCryptoProvider`.
 * - Anywhere else (no WebCrypto): `nobleProvider`.
 *
 * `nobleProvider` stays the explicit choice for byte-for-byte reproducible runs: fuzzers and known-answer
 * tests name it (or install it), since the native providers take key shares and ECDSA nonces from the
 * runtime, not from the configured `random`.
 *
 * @module
 */

import { hasNodeCrypto, nodeCryptoProvider } from "./node_crypto.ts";
import { type CryptoProvider, nobleProvider, webCryptoProvider } from "./provider.ts";
import type { SigningKey } from "./sign.ts";

let installed: CryptoProvider | undefined;

/**
 * The provider this runtime runs fastest: `nodeCryptoProvider` where there is `node:crypto` (Node, Bun and
 * Deno), `webCryptoProvider` where WebCrypto is the best there is (browsers), `nobleProvider` without either.
 *
 * @returns The provider {@link defaultProvider} gives when none was installed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fastestProvider } from "./default_provider.ts";
 * assert.equal(fastestProvider().name, "node"); // in a browser: "webcrypto"
 * ```
 */
export function fastestProvider(): CryptoProvider {
  if (hasNodeCrypto()) return nodeCryptoProvider;
  if (typeof globalThis.crypto?.subtle?.importKey === "function") return webCryptoProvider;
  return nobleProvider;
}

/**
 * Make `provider` the one every configuration without its own `provider` uses from now on, as rustls'
 * `CryptoProvider::install_default` does. Engines already created keep theirs. Fuzzers and tests that need
 * byte-for-byte reproducible runs install (or name) `nobleProvider`.
 *
 * @param provider The new default.
 *
 * @example Reproducible runs everywhere
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultProvider, installDefaultProvider } from "./default_provider.ts";
 * import { nobleProvider } from "./provider.ts";
 * const before = defaultProvider();
 * installDefaultProvider(nobleProvider);
 * assert.equal(defaultProvider().name, "noble");
 * installDefaultProvider(before);
 * ```
 */
export function installDefaultProvider(provider: CryptoProvider): void {
  installed = provider;
}

/**
 * The provider configurations without their own `provider` use: the one {@link installDefaultProvider}
 * installed, else {@link fastestProvider}.
 *
 * @returns The default provider.
 */
export function defaultProvider(): CryptoProvider {
  return installed ??= fastestProvider();
}

/**
 * Load a PKCS#8 (also encrypted, with `passphrase`), SEC1 or PKCS#1 private key so that it signs on the
 * default provider's path (native on Node, Bun, Deno and browsers): what `certificates[].key` and
 * `clientCertificate.key` take. A provider's own `loadPrivateKey` loads for that provider.
 *
 * @param pemOrDer PEM text, or the DER of a PKCS#8 PrivateKeyInfo.
 * @param options The passphrase of an encrypted key.
 * @returns The signing key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadPrivateKey } from "./default_provider.ts";
 * const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]) as CryptoKeyPair;
 * const key = await loadPrivateKey(new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey)));
 * assert.equal(key.type, "ed25519");
 * ```
 */
export function loadPrivateKey(
  pemOrDer: string | Uint8Array,
  options?: { readonly passphrase?: string },
): Promise<SigningKey> {
  return defaultProvider().loadPrivateKey(pemOrDer, options);
}
