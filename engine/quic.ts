/**
 * QUIC-TLS helpers (RFC 9001): encryption levels, the Initial secrets derived from the client's first
 * Destination Connection ID (§5.2), and packet protection keys from a traffic secret (§5.1). The engine's
 * QUIC mode (the `quic` option) hands secrets over through the `secrets` event; these functions turn them
 * into what a QUIC stack needs.
 * @module
 */

import { hkdfExpandLabel } from "./key_schedule.ts";
import type { Tls13Suite } from "../suites/tls13.ts";
import { SHA256 } from "../suites/hash.ts";

/** QUIC encryption levels (RFC 9001 §4.1.4): Initial, 0-RTT, Handshake, 1-RTT. */
export type QuicLevel = "initial" | "early" | "handshake" | "application";

/** The QUIC version 1 Initial salt (RFC 9001 §5.2). */
const INITIAL_SALT_V1 = Uint8Array.from([
  0x38,
  0x76,
  0x2c,
  0xf7,
  0xf5,
  0x59,
  0x34,
  0xb3,
  0x4d,
  0x17,
  0x9a,
  0xe6,
  0xa4,
  0xc8,
  0x0c,
  0xad,
  0xcc,
  0xbb,
  0x7f,
  0x0a,
]);

/**
 * The client and server Initial secrets for a Destination Connection ID (RFC 9001 §5.2, QUIC v1).
 *
 * @example RFC 9001 Appendix A
 * ```ts
 * import assert from "node:assert/strict";
 * import { quicInitialSecrets } from "./quic.ts";
 * const { client } = quicInitialSecrets(Uint8Array.from([0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08]));
 * assert.equal(client.length, 32);
 * ```
 */
export function quicInitialSecrets(dcid: Uint8Array): { client: Uint8Array; server: Uint8Array } {
  const initial = SHA256.hkdfExtract(INITIAL_SALT_V1, dcid);
  const empty = new Uint8Array(0);
  return {
    client: hkdfExpandLabel(SHA256, initial, "client in", empty, 32),
    server: hkdfExpandLabel(SHA256, initial, "server in", empty, 32),
  };
}

/**
 * QUIC packet protection keys from a traffic secret (RFC 9001 §5.1): AEAD key, IV and header protection
 * key, with the suite's hash. Initial secrets use TLS_AES_128_GCM_SHA256.
 */
export function quicPacketKeys(
  suite: Tls13Suite,
  secret: Uint8Array,
): { key: Uint8Array; iv: Uint8Array; hp: Uint8Array } {
  const empty = new Uint8Array(0);
  return {
    key: hkdfExpandLabel(suite.hash, secret, "quic key", empty, suite.aead.keyLen),
    iv: hkdfExpandLabel(suite.hash, secret, "quic iv", empty, 12),
    hp: hkdfExpandLabel(suite.hash, secret, "quic hp", empty, suite.aead.keyLen),
  };
}

/** The QUIC CRYPTO_ERROR code for a TLS alert (RFC 9001 §4.8): 0x0100 + alert. */
export function quicCryptoError(alertDescription: number): number {
  return 0x100 + alertDescription;
}
