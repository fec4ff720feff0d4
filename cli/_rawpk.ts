/**
 * Raw public keys (RFC 7250) on the command line, for both commands: `--rawpk` and `--pin-key FILE` (PEM
 * `PUBLIC KEY` blocks, as `openssl pkey -pubout` writes them), and describing the peer's key in one line.
 * Raw keys are TLS 1.3 only: `--rawpk` with `--tls1.2` is a usage error.
 * @module
 */

import { type HandshakeInfo, loadPrivateKey, pemDecode, type SigningKey } from "../mod.ts";
import { SHA256 } from "../suites/hash.ts";
import { toHex } from "../suites/bytes.ts";
import { publicKeyFromSpki } from "../suites/sign.ts";
import { type FlagSpec, type Parsed, UsageError } from "./_args.ts";
import { describeCertificate, readText } from "./_common.ts";

/** The raw key flags; `help` says what each does for its command. */
export function rawpkFlags(rawpk: string, pinKey: string): Record<string, FlagSpec> {
  return {
    rawpk: { kind: "boolean", help: rawpk },
    "pin-key": { kind: "list", help: pinKey },
  };
}

/** The keys in the `--pin-key` files (each may hold several PUBLIC KEY blocks). */
export function readPinnedKeys(paths: readonly string[]): Uint8Array[] {
  return paths.flatMap((path) => {
    let keys: Uint8Array[];
    try {
      keys = pemDecode(readText(path, "--pin-key file"), "PUBLIC KEY");
      for (const k of keys) publicKeyFromSpki(k);
    } catch (e) {
      throw new UsageError(`cannot read --pin-key ${path}: ${(e as Error).message}`);
    }
    if (keys.length === 0) throw new UsageError(`no PUBLIC KEY block in --pin-key ${path}`);
    return keys;
  });
}

/** Load the private key of `--key` alone (a raw key needs no certificate). */
export async function readRawKey(path: string, passphrase: string | undefined): Promise<SigningKey> {
  try {
    return await loadPrivateKey(readText(path, "key file"), passphrase === undefined ? {} : { passphrase });
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`cannot load key ${path}: ${(e as Error).message}`);
  }
}

/** `--rawpk` speaks TLS 1.3 only: refuse `--tls1.2`, and pin TLS 1.3. */
export function rawpkVersions(f: Parsed): { minVersion: "TLSv1.3" } {
  if (f.booleans.has("tls1.2")) throw new UsageError("--rawpk is TLS 1.3 only: drop --tls1.2");
  return { minVersion: "TLSv1.3" };
}

/** The peer's certificate subject, or its raw key's type and SHA-256 fingerprint. */
export function describePeer(info: HandshakeInfo): string {
  const spki = info.peerRawPublicKey;
  if (!spki) return describeCertificate(info.peerCertificates[0]);
  return `raw public key ${publicKeyFromSpki(spki).type} sha256:${toHex(SHA256.digest(spki))}`;
}
