// Copyright 2026 the airlock authors. MIT license.

/**
 * What every fuzz run and property test needs to be exactly reproducible: a fixed clock, seeded randomness, and
 * one Ed25519 certificate that is the same in every process (its key is derived from a public seed, so nothing
 * secret is committed, and Ed25519 signatures are deterministic). With these, a client and a server exchange the
 * same bytes on every run, and a recorded flight from one run is a valid flight in the next.
 * @module
 */

import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { type ClientConfig, nobleProvider, type ServerConfig, type SigningKey } from "../mod.ts";

x509.cryptoProvider.set(crypto);

/** The injected clock: 2026-01-01T00:00:00Z, inside the fixture certificate's validity. */
export const FIXED_NOW = Date.UTC(2026, 0, 1);

/** Deterministic random bytes (xorshift32); testing/pair.ts re-exports it for the tests. */
export function seededRandom(seed = 1): (n: number) => Uint8Array {
  let x = seed >>> 0 || 1;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  };
}

/** The fixture: a self-signed Ed25519 certificate for "localhost" and its key. */
export interface Fixture {
  readonly certDer: Uint8Array;
  readonly key: SigningKey;
}

let cached: Promise<Fixture> | undefined;

/** The fixture certificate (made once per process, byte-identical in every process). */
export function fixture(): Promise<Fixture> {
  return cached ??= make();
}

async function make(): Promise<Fixture> {
  const seed = sha256(new TextEncoder().encode("airlock fuzz fixture key"));
  // RFC 8410 §7: PKCS#8 for Ed25519 is a fixed prefix and the 32-byte seed.
  const pkcs8 = new Uint8Array([
    ...[0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20],
    ...seed,
  ]);
  const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, true, ["sign"]);
  const publicKey = await crypto.subtle.importKey(
    "raw",
    ed25519.getPublicKey(seed),
    { name: "Ed25519" },
    true,
    [
      "verify",
    ],
  );
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=localhost",
    notBefore: new Date("2025-01-01T00:00:00Z"),
    notAfter: new Date("2035-01-01T00:00:00Z"),
    signingAlgorithm: { name: "Ed25519" },
    keys: { privateKey, publicKey },
    extensions: [
      new x509.SubjectAlternativeNameExtension([{ type: "dns", value: "localhost" }]),
      new x509.BasicConstraintsExtension(false, undefined, true),
    ],
  });
  return { certDer: new Uint8Array(cert.rawData), key: await nobleProvider.loadPrivateKey(pkcs8) };
}

/** The client the fuzz targets drive: seeded, fixed clock, and it verifies the fixture certificate. */
export function clientConfig(f: Fixture, extra: Partial<ClientConfig> = {}): ClientConfig {
  return {
    serverName: "localhost",
    trustAnchors: [f.certDer],
    random: seededRandom(1),
    now: () => FIXED_NOW,
    // Reproducible byte for byte: noble, whatever default the process installed.
    provider: nobleProvider,
    ...extra,
  };
}

/** The server the fuzz targets drive: seeded, fixed clock, the fixture certificate. */
export function serverConfig(f: Fixture, extra: Partial<ServerConfig> = {}): ServerConfig {
  return {
    certificates: [{ chain: [f.certDer], key: f.key }],
    random: seededRandom(2),
    now: () => FIXED_NOW,
    provider: nobleProvider,
    ...extra,
  };
}
