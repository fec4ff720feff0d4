// Copyright 2026 the airlock authors. MIT license.
// This module is browser compatible.

/**
 * Encrypted Client Hello configurations (draft-ietf-tls-esni §4, RFC 9849): the `ECHConfigList` a server
 * publishes (in a DNS HTTPS record, or handed out by its operator) and a client takes, and the key files a
 * server keeps them in.
 *
 * - {@linkcode parseEchConfigList} reads a list as a client must: configurations of another version, of a KEM
 *   or HPKE suites this side cannot run, with an unsupported mandatory extension, or with a public name that
 *   is no valid host name (or looks like an IPv4 address) are skipped, not errors; a list that is malformed
 *   is an error.
 * - {@linkcode generateEchKey} makes a key pair and its configuration; {@linkcode encodeEchKeyPem} and
 *   {@linkcode parseEchKeyPem} keep them in the PEM file format OpenSSL's ECH support reads and writes: the
 *   X25519 private key as PKCS#8 (`PRIVATE KEY`), then the configuration list (`ECHCONFIG`).
 *
 * @example A server's key and the list it publishes, read back as a client reads it
 * ```ts
 * import assert from "node:assert/strict";
 * import { nobleProvider } from "../../mod.ts";
 * import { encodeEchConfigList, generateEchKey, parseEchConfigList } from "./config.ts";
 *
 * const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
 * const key = generateEchKey({ publicName: "public.example", configId: 7 }, nobleProvider, random);
 * const [config] = parseEchConfigList(encodeEchConfigList([key.config]));
 * assert.equal(config!.publicName, "public.example");
 * assert.equal(config!.configId, 7);
 * ```
 *
 * @module
 */

import { Reader, Writer } from "../msgs/codec.ts";
import { invalidMessage, type TlsError } from "../errors.ts";
import { hpkeKeyPair, hpkeSupports, KDF_HKDF_SHA256, KEM_X25519_SHA256 } from "../../suites/hpke.ts";
import type { CryptoProvider } from "../../suites/provider.ts";
import { pemDecode, pemEncode } from "../../suites/pem.ts";
import { x25519 } from "@noble/curves/ed25519.js";

/** The ECH version this module speaks: the code point of the `encrypted_client_hello` extension. */
export const ECH_VERSION = 0xfe0d;

/** An HPKE KDF and AEAD pair a configuration offers. */
export interface EchCipherSuite {
  /** The HPKE KDF (0x0001: HKDF-SHA256). */
  readonly kdf: number;
  /** The HPKE AEAD (0x0001 AES-128-GCM, 0x0002 AES-256-GCM, 0x0003 ChaCha20-Poly1305). */
  readonly aead: number;
}

/** One ECHConfig of version 0xfe0d, decoded. */
export interface EchConfig {
  /** The configuration's identifier, sent in the clear in the outer ClientHello. */
  readonly configId: number;
  /** The HPKE KEM of `publicKey`. */
  readonly kemId: number;
  /** The HPKE public key the inner ClientHello is encrypted to. */
  readonly publicKey: Uint8Array;
  /** KDF and AEAD pairs in the server's order of preference. */
  readonly cipherSuites: readonly EchCipherSuite[];
  /** The longest backend name, for padding (0 when unknown). */
  readonly maximumNameLength: number;
  /** The client-facing server's name: the outer SNI, and the name a rejection is authenticated for. */
  readonly publicName: string;
  /** The configuration's extensions, in order. */
  readonly extensions: readonly { readonly type: number; readonly data: Uint8Array }[];
  /** The whole ECHConfig as sent (version, length, contents): HPKE's `info` includes it. */
  readonly encoded: Uint8Array;
}

/** What a configuration is made of, before it is encoded. */
export interface EchConfigContents {
  readonly configId: number;
  readonly kemId?: number;
  readonly publicKey: Uint8Array;
  readonly cipherSuites?: readonly EchCipherSuite[];
  readonly maximumNameLength?: number;
  readonly publicName: string;
  readonly extensions?: readonly { readonly type: number; readonly data: Uint8Array }[];
}

/** The HPKE suites a new configuration offers: AES-128-GCM first, then ChaCha20-Poly1305 (as browsers). */
export const DEFAULT_ECH_SUITES: readonly EchCipherSuite[] = Object.freeze([
  { kdf: KDF_HKDF_SHA256, aead: 0x0001 },
  { kdf: KDF_HKDF_SHA256, aead: 0x0003 },
]);

/** The most configurations a list may hold before it is refused (a list is at most 64 KiB anyway). */
export const MAX_ECH_CONFIGS = 64;

function malformed(what: string, where: string): TlsError {
  return invalidMessage("bad_ech_config", `Cannot decode ECHConfigList: ${what}`, where);
}

/**
 * Encode one ECHConfig (version 0xfe0d).
 *
 * @param c The contents.
 * @returns The ECHConfig's bytes.
 * @throws {RangeError} If a field is out of the wire format's range or the public name is not a valid host name.
 */
export function encodeEchConfig(c: EchConfigContents): Uint8Array {
  const suites = c.cipherSuites ?? DEFAULT_ECH_SUITES;
  const nameProblem = publicNameProblem(c.publicName);
  if (nameProblem) {
    throw new RangeError(`Cannot encode ECHConfig: public name "${c.publicName}" ${nameProblem}`);
  }
  if (!Number.isInteger(c.configId) || c.configId < 0 || c.configId > 255) {
    throw new RangeError(`Cannot encode ECHConfig: config id ${c.configId} is outside 0..255`);
  }
  const maxName = c.maximumNameLength ?? 0;
  if (!Number.isInteger(maxName) || maxName < 0 || maxName > 255) {
    throw new RangeError(`Cannot encode ECHConfig: maximum name length ${maxName} is outside 0..255`);
  }
  if (c.publicKey.length < 1 || c.publicKey.length > 0xffff) {
    throw new RangeError("Cannot encode ECHConfig: the public key must be 1..65535 bytes");
  }
  if (suites.length < 1 || suites.length > 0x3fff) {
    throw new RangeError("Cannot encode ECHConfig: name 1..16383 cipher suites");
  }
  const contents = new Writer(128)
    .u8(c.configId)
    .u16(c.kemId ?? KEM_X25519_SHA256)
    .vec(2, c.publicKey)
    .prefixed(2, (w) => {
      for (const s of suites) w.u16(s.kdf).u16(s.aead);
    })
    .u8(maxName)
    .vec(1, new TextEncoder().encode(c.publicName))
    .prefixed(2, (w) => {
      for (const e of c.extensions ?? []) w.u16(e.type).vec(2, e.data);
    })
    .finish();
  return new Writer(contents.length + 4).u16(ECH_VERSION).vec(2, contents).finish();
}

/**
 * Encode an ECHConfigList.
 *
 * @param configs ECHConfigs, each as {@linkcode encodeEchConfig} gives it, in order of preference.
 * @returns The list's bytes.
 */
export function encodeEchConfigList(configs: readonly Uint8Array[]): Uint8Array {
  const total = configs.reduce((n, c) => n + c.length, 0);
  if (configs.length === 0 || total > 0xffff) {
    throw new RangeError(
      "Cannot encode ECHConfigList: it holds 1 or more configurations, 65535 bytes at most",
    );
  }
  return new Writer(total + 2).prefixed(2, (w) => {
    for (const c of configs) w.bytes(c);
  }).finish();
}

/**
 * Why `name` cannot be a public name (draft-ietf-tls-esni §6.1.7): not a dot-separated sequence of LDH
 * labels of 1..63 octets, or its last label is all digits or hexadecimal with 0x (an IPv4 literal).
 */
function publicNameProblem(name: string): string | undefined {
  if (name.length < 1 || name.length > 255) return "must be 1..255 characters";
  const labels = name.split(".");
  for (const label of labels) {
    if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label)) {
      return "is not a host name of LDH labels (letters, digits, hyphens; 1..63 characters each)";
    }
  }
  const last = labels[labels.length - 1]!;
  if (/^[0-9]+$/.test(last) || /^0x[0-9a-f]*$/i.test(last)) return "would be read as an IPv4 address";
  return undefined;
}

/**
 * Read an ECHConfigList as a client must (draft-ietf-tls-esni §4, §6.1): the configurations it can use, in the
 * list's order, skipping those of another version, with a KEM or only HPKE suites it cannot run, with an
 * unsupported mandatory extension (type with the high bit set), or with an unusable public name.
 *
 * @param bytes The ECHConfigList.
 * @returns The usable configurations (possibly none).
 * @throws {TlsError} decode_error if the list is malformed: lengths that do not add up, or fields out of range.
 */
export function parseEchConfigList(bytes: Uint8Array): EchConfig[] {
  const list = new Reader(bytes, "ECHConfigList");
  const body = list.sub(2, 4, 0xffff, "ECHConfigList");
  list.end();
  const out: EchConfig[] = [];
  let count = 0;
  while (body.left > 0) {
    if (++count > MAX_ECH_CONFIGS) throw malformed(`more than ${MAX_ECH_CONFIGS} configurations`, body.where);
    const start = body.offset;
    const version = body.u16();
    const contents = body.vec16(0, 0xffff, "ECHConfig contents");
    if (version !== ECH_VERSION) continue; // another version: skip it whole (its length says how far)
    const encoded = bytes.subarray(start, body.offset);
    const config = parseContents(contents, encoded, start + 4);
    if (config) out.push(config);
  }
  return out;
}

/** One ECHConfigContents; undefined when it is well-formed but unusable here. */
function parseContents(contents: Uint8Array, encoded: Uint8Array, base: number): EchConfig | undefined {
  const r = new Reader(contents, "ECHConfig", base);
  const configId = r.u8();
  const kemId = r.u16();
  const publicKey = new Uint8Array(r.vec16(1, 0xffff, "public_key"));
  const suitesReader = r.sub(2, 4, 0xfffc, "cipher_suites");
  const all: EchCipherSuite[] = [];
  if (suitesReader.left % 4 !== 0) {
    throw malformed("cipher_suites is not a list of KDF and AEAD pairs", r.where);
  }
  while (suitesReader.left > 0) all.push({ kdf: suitesReader.u16(), aead: suitesReader.u16() });
  const maximumNameLength = r.u8();
  const nameBytes = r.vec8(1, 255, "public_name");
  const extReader = r.sub(2, 0, 0xffff, "extensions");
  const extensions: { type: number; data: Uint8Array }[] = [];
  const seen = new Set<number>();
  while (extReader.left > 0) {
    const type = extReader.u16();
    const data = new Uint8Array(extReader.vec16(0, 0xffff, "extension data"));
    if (seen.has(type)) throw malformed(`extension 0x${type.toString(16)} appears twice`, extReader.where);
    seen.add(type);
    extensions.push({ type, data });
  }
  r.end();
  // Usable here? Each check only skips this configuration (a client ignores what it cannot use).
  if (kemId !== KEM_X25519_SHA256 || publicKey.length !== 32) return undefined;
  const cipherSuites = all.filter((s) => hpkeSupports({ kem: kemId, ...s }));
  if (cipherSuites.length === 0) return undefined;
  if (extensions.some((e) => (e.type & 0x8000) !== 0)) return undefined; // we know no mandatory extension
  let publicName: string;
  try {
    publicName = new TextDecoder("ascii", { fatal: true }).decode(nameBytes);
  } catch {
    return undefined;
  }
  if (/[^\x21-\x7e]/.test(publicName) || publicNameProblem(publicName)) return undefined;
  return Object.freeze({
    configId,
    kemId,
    publicKey,
    cipherSuites: Object.freeze(cipherSuites),
    maximumNameLength,
    publicName: publicName.toLowerCase(),
    extensions: Object.freeze(extensions),
    encoded: new Uint8Array(encoded), // copies, also of a Node Buffer (whose slice() is a view)
  });
}

/** A server's ECH key: the private key and the configuration it belongs to. */
export interface EchKey {
  /** The X25519 private key (32 bytes). Never log it. */
  readonly privateKey: Uint8Array;
  /** Its ECHConfig, encoded. */
  readonly config: Uint8Array;
}

/** What {@linkcode generateEchKey} is told. */
export interface EchKeyOptions {
  /** The client-facing server's name (the outer SNI): a host name, never an IP address. */
  readonly publicName: string;
  /** The configuration id (default: a random byte, as the draft recommends). */
  readonly configId?: number;
  /** The longest backend name, for clients' padding (default 0: unknown). */
  readonly maximumNameLength?: number;
  /** HPKE KDF and AEAD pairs (default {@linkcode DEFAULT_ECH_SUITES}). */
  readonly cipherSuites?: readonly EchCipherSuite[];
}

/**
 * A fresh X25519 ECH key and its configuration.
 *
 * @param options The public name and the configuration's other fields.
 * @param provider Whose HKDF derives the key.
 * @param random The randomness.
 * @returns The private key and the encoded ECHConfig.
 */
export function generateEchKey(
  options: EchKeyOptions,
  provider: CryptoProvider,
  random: (n: number) => Uint8Array,
): EchKey {
  const pair = hpkeKeyPair(provider, random);
  const config = encodeEchConfig({
    configId: options.configId ?? random(1)[0]!,
    publicKey: pair.publicKey,
    publicName: options.publicName,
    ...(options.maximumNameLength !== undefined ? { maximumNameLength: options.maximumNameLength } : {}),
    ...(options.cipherSuites ? { cipherSuites: options.cipherSuites } : {}),
  });
  return { privateKey: pair.privateKey, config };
}

// PKCS#8 for X25519 (RFC 8410): SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.110 }, OCTET STRING { OCTET STRING key } }
const X25519_PKCS8_PREFIX = Uint8Array.of(
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x6e,
  0x04,
  0x22,
  0x04,
  0x20,
);

/**
 * An ECH key as a PEM file: the X25519 private key (PKCS#8, `PRIVATE KEY`) and the ECHConfigList holding its
 * configuration (`ECHCONFIG`), the layout OpenSSL's ECH support uses.
 *
 * @param key The key.
 * @returns The PEM text.
 */
export function encodeEchKeyPem(key: EchKey): string {
  const pkcs8 = new Uint8Array(X25519_PKCS8_PREFIX.length + 32);
  pkcs8.set(X25519_PKCS8_PREFIX);
  pkcs8.set(key.privateKey, X25519_PKCS8_PREFIX.length);
  return pemEncode(pkcs8, "PRIVATE KEY") + pemEncode(encodeEchConfigList([key.config]), "ECHCONFIG");
}

/**
 * Read an ECH key PEM file (see {@linkcode encodeEchKeyPem}); the configuration's public key must be the
 * private key's.
 *
 * @param text The PEM text.
 * @returns The key.
 * @throws {TypeError} If a block is missing, the key is not X25519 PKCS#8, or the configuration does not match it.
 */
export function parseEchKeyPem(text: string): EchKey {
  const [pkcs8] = pemDecode(text, "PRIVATE KEY");
  const [list] = pemDecode(text, "ECHCONFIG");
  if (!pkcs8 || !list) {
    throw new TypeError("Cannot read ECH key: expected a PRIVATE KEY block and an ECHCONFIG block");
  }
  const prefixOk = pkcs8.length === X25519_PKCS8_PREFIX.length + 32 &&
    X25519_PKCS8_PREFIX.every((b, i) => pkcs8[i] === b);
  if (!prefixOk) throw new TypeError("Cannot read ECH key: the private key is not an X25519 PKCS#8 key");
  const privateKey = pkcs8.slice(X25519_PKCS8_PREFIX.length);
  const configs = parseEchConfigList(list);
  if (configs.length !== 1) {
    throw new TypeError(
      "Cannot read ECH key: the ECHCONFIG block must hold exactly one usable configuration",
    );
  }
  const config = configs[0]!;
  const publicKey = x25519.getPublicKey(privateKey);
  if (!publicKey.every((b, i) => b === config.publicKey[i])) {
    throw new TypeError("Cannot read ECH key: the configuration's public key is not the private key's");
  }
  return { privateKey, config: config.encoded };
}
