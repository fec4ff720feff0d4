// This module is browser compatible.
/**
 * The crypto provider behind airlock: TLS 1.3 cipher suites, AEADs, hashes with
 * HMAC/HKDF, key-exchange groups, signature schemes, key loading and PEM.
 * Everything is backed by `@noble/*`, except RSA, which uses WebCrypto.
 *
 * @example Derive a shared secret with X25519
 * ```ts
 * import assert from "node:assert/strict";
 * import { kxGroupById } from "./mod.ts";
 * const group = kxGroupById(0x001d)!;
 * const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
 * const a = group.generate(random);
 * const b = group.generate(random);
 * assert.deepEqual(group.sharedSecret(a.privateKey, b.publicKey), group.sharedSecret(b.privateKey, a.publicKey));
 * ```
 *
 * @module
 */

export * from "./aead.ts";
export * from "./bytes.ts";
export * from "./hash.ts";
export * from "./kx.ts";
export * from "./pem.ts";
export * from "./sign.ts";
export * from "./tls13.ts";
