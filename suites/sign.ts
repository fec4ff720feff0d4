// This module is browser compatible.
/**
 * Signature schemes for CertificateVerify (RFC 8446 §4.2.3, §4.4.3), public keys
 * read from certificates, and private-key loading.
 *
 * ECDSA and Ed25519 run on `@noble/curves` (synchronous); RSA runs on WebCrypto
 * (asynchronous, hence the `| Promise` results). ASN.1 is parsed with
 * `@peculiar/asn1-schema`.
 *
 * @module
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { p256, p384 } from "@noble/curves/nist.js";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import { AlgorithmIdentifier, SubjectPublicKeyInfo } from "@peculiar/asn1-x509";
import { ECParameters, ECPrivateKey, id_ecPublicKey, id_secp256r1, id_secp384r1 } from "@peculiar/asn1-ecc";
import { DerReader, readBitString, readOid, readOnly, Tag } from "./der.ts";
import { PrivateKey, PrivateKeyInfo } from "@peculiar/asn1-pkcs8";
import {
  id_rsaEncryption,
  id_RSASSA_PSS,
  id_sha256,
  id_sha384,
  id_sha512,
  RSAPrivateKey,
  RSAPublicKey,
  RsaSaPssParams,
} from "@peculiar/asn1-rsa";
import { toBase64Url } from "./bytes.ts";
import { pemDecode } from "./pem.ts";
import { ByteKeyedCache } from "./cache.ts";
import { decryptPkcs8 } from "./pkcs8_encrypted.ts";

/** Names of the signature schemes airlock knows (RFC 8446 §4.2.3). */
export type SigSchemeName =
  | "ecdsa_secp256r1_sha256"
  | "ecdsa_secp384r1_sha384"
  | "ed25519"
  | "rsa_pss_rsae_sha256"
  | "rsa_pss_rsae_sha384"
  | "rsa_pss_rsae_sha512"
  | "rsa_pss_pss_sha256"
  | "rsa_pss_pss_sha384"
  | "rsa_pss_pss_sha512"
  | "rsa_pkcs1_sha256"
  | "rsa_pkcs1_sha384"
  | "rsa_pkcs1_sha512";

/**
 * SignatureScheme code points by name. `rsa_pkcs1_*` are only valid in
 * certificates, never in CertificateVerify (RFC 8446 §4.2.3).
 */
export const SIG_SCHEMES: Readonly<Record<SigSchemeName, number>> = Object.freeze({
  ecdsa_secp256r1_sha256: 0x0403,
  ecdsa_secp384r1_sha384: 0x0503,
  ed25519: 0x0807,
  rsa_pss_rsae_sha256: 0x0804,
  rsa_pss_rsae_sha384: 0x0805,
  rsa_pss_rsae_sha512: 0x0806,
  rsa_pss_pss_sha256: 0x0809,
  rsa_pss_pss_sha384: 0x080a,
  rsa_pss_pss_sha512: 0x080b,
  rsa_pkcs1_sha256: 0x0401,
  rsa_pkcs1_sha384: 0x0501,
  rsa_pkcs1_sha512: 0x0601,
});

/** Kinds of key: `rsa` has the rsaEncryption OID, `rsa-pss` the id-RSASSA-PSS OID. */
export type KeyType = "ec-p256" | "ec-p384" | "ed25519" | "rsa" | "rsa-pss";

/** A public key, e.g. the one in the peer's end-entity certificate. */
export interface PublicKey {
  /** The kind of key. */
  readonly type: KeyType;
  /** The DER SubjectPublicKeyInfo. */
  readonly spki: Uint8Array;
  /** The raw key: the uncompressed SEC1 point for EC, 32 bytes for Ed25519; undefined for RSA. */
  readonly raw?: Uint8Array;
  /** The RSA modulus size in bits; undefined for other keys. */
  readonly bits?: number;
}

/** A private key that signs CertificateVerify messages. */
export interface SigningKey {
  /** The kind of key. */
  readonly type: KeyType;
  /** The schemes this key can sign with, in preference order. */
  readonly schemes: readonly number[];
  /**
   * The schemes it signs with in TLS 1.2, where an ECDSA scheme names a hash and not a curve (RFC 5246
   * §7.4.1.4.1): an EC key also signs ecdsa_secp384r1_sha384 with its P-256 curve, say. Undefined: `schemes`.
   */
  readonly tls12Schemes?: readonly number[];
  /** The matching public key. */
  readonly publicKey: PublicKey;
  /**
   * Sign a message.
   *
   * @param scheme One of `schemes` (or of `tls12Schemes`, in TLS 1.2).
   * @param message The bytes to sign (hashed by the scheme).
   * @returns The signature: DER for ECDSA; a promise for RSA (WebCrypto).
   * @throws {RangeError} If this key does not sign with `scheme`.
   */
  sign(scheme: number, message: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

/** The hashes signature schemes use. */
export type SignatureHash = "SHA-256" | "SHA-384" | "SHA-512";
type HashName = SignatureHash;
type Uint8Array_ = ReturnType<Uint8Array["slice"]>;

/** See {@linkcode signatureScheme}. */
export interface SchemeInfo {
  /** The key the scheme needs. */
  readonly key: KeyType;
  /** The signature algorithm. */
  readonly kind: "ecdsa" | "eddsa" | "pss" | "pkcs1";
  /** Its hash (SHA-512 for Ed25519, which hashes internally). */
  readonly hash: HashName;
}

const SCHEMES = new Map<number, SchemeInfo>([
  [0x0403, { key: "ec-p256", kind: "ecdsa", hash: "SHA-256" }],
  [0x0503, { key: "ec-p384", kind: "ecdsa", hash: "SHA-384" }],
  [0x0807, { key: "ed25519", kind: "eddsa", hash: "SHA-512" }],
  [0x0804, { key: "rsa", kind: "pss", hash: "SHA-256" }],
  [0x0805, { key: "rsa", kind: "pss", hash: "SHA-384" }],
  [0x0806, { key: "rsa", kind: "pss", hash: "SHA-512" }],
  [0x0809, { key: "rsa-pss", kind: "pss", hash: "SHA-256" }],
  [0x080a, { key: "rsa-pss", kind: "pss", hash: "SHA-384" }],
  [0x080b, { key: "rsa-pss", kind: "pss", hash: "SHA-512" }],
  [0x0401, { key: "rsa", kind: "pkcs1", hash: "SHA-256" }],
  [0x0501, { key: "rsa", kind: "pkcs1", hash: "SHA-384" }],
  [0x0601, { key: "rsa", kind: "pkcs1", hash: "SHA-512" }],
]);

/**
 * What a SignatureScheme code point means: the key it needs (`rsa` for rsa_pss_rsae_* and rsa_pkcs1_*,
 * `rsa-pss` for rsa_pss_pss_*), the kind of signature and its hash; undefined for a scheme airlock does not
 * know. For a provider's own verify and sign (see `CryptoProvider`).
 *
 * @param scheme The SignatureScheme code point.
 * @returns Its key type, kind and hash.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { signatureScheme } from "./sign.ts";
 * assert.deepEqual(signatureScheme(0x0403), { key: "ec-p256", kind: "ecdsa", hash: "SHA-256" });
 * ```
 */
export function signatureScheme(scheme: number): Readonly<SchemeInfo> | undefined {
  return SCHEMES.get(scheme);
}

const HASH_LEN: Record<HashName, number> = { "SHA-256": 32, "SHA-384": 48, "SHA-512": 64 };
/** The hash function a scheme's hash names. */
const DIGEST = { "SHA-256": sha256, "SHA-384": sha384, "SHA-512": sha512 } as const satisfies Record<
  HashName,
  unknown
>;
const HASH_OID = new Map<string, HashName>([[id_sha256, "SHA-256"], [id_sha384, "SHA-384"], [
  id_sha512,
  "SHA-512",
]]);
const ID_ED25519 = "1.3.101.112";
const CURVES = {
  "ec-p256": { curve: p256, oid: id_secp256r1, scheme: 0x0403 },
  "ec-p384": { curve: p384, oid: id_secp384r1, scheme: 0x0503 },
} as const;
type EcType = keyof typeof CURVES;

function hex16(n: number): string {
  return "0x" + n.toString(16).padStart(4, "0");
}

/** Copy into a fresh ArrayBuffer-backed array, as WebCrypto's typings want. */
function buf(bytes: Uint8Array): Uint8Array_ {
  return bytes.slice();
}

function der(value: unknown): Uint8Array {
  return new Uint8Array(AsnConvert.serialize(value));
}

function parse<T>(bytes: Uint8Array | ArrayBuffer, type: new () => T, what: string): T {
  try {
    return AsnConvert.parse(bytes, type);
  } catch (cause) {
    throw new TypeError(`Cannot parse ${what}: invalid DER`, { cause });
  }
}

/**
 * The common SubjectPublicKeyInfo shapes read with airlock's DER reader (every handshake reads one): an EC key
 * on a named curve we support, or Ed25519. Anything else is undefined, for the full decoder.
 */
function ecOrEdSpki(
  spki: Uint8Array,
): { algorithm: string; curve: EcType | undefined; key: Uint8Array } | undefined {
  try {
    const top = new DerReader(readOnly(spki, Tag.sequence, "SubjectPublicKeyInfo"));
    const alg = new DerReader(top.expect(Tag.sequence, "algorithm").value);
    const bits = readBitString(top.expect(Tag.bitString, "subjectPublicKey").value, "subjectPublicKey");
    top.end("SubjectPublicKeyInfo");
    const algorithm = readOid(alg.expect(Tag.oid, "algorithm").value);
    if (bits.unused !== 0) return undefined;
    if (algorithm === ID_ED25519 && alg.atEnd()) {
      return { algorithm, curve: undefined, key: bits.bytes.slice() };
    }
    if (algorithm !== id_ecPublicKey || alg.peekTag() !== Tag.oid) return undefined;
    const oid = readOid(alg.read().value);
    alg.end("algorithm");
    const curve = oid === id_secp256r1 ? "ec-p256" : oid === id_secp384r1 ? "ec-p384" : undefined;
    return curve ? { algorithm, curve, key: bits.bytes.slice() } : undefined;
  } catch {
    return undefined; // the full decoder gives the error
  }
}

function ecTypeOf(parameters: ArrayBuffer | null | undefined): EcType {
  const oid = parameters ? parse(parameters, ECParameters, "EC parameters").namedCurve : undefined;
  if (oid === id_secp256r1) return "ec-p256";
  if (oid === id_secp384r1) return "ec-p384";
  throw new TypeError(`Cannot use EC key: unsupported curve ${oid ?? "(none)"}`);
}

function bitLength(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  if (i === bytes.length) return 0;
  return (bytes.length - i - 1) * 8 + (32 - Math.clz32(bytes[i]!));
}

/** The hash an id-RSASSA-PSS key is restricted to (RFC 4055 §3.1), if its parameters name one. */
function pssHash(parameters: ArrayBuffer | null | undefined): HashName | undefined {
  if (!parameters) return undefined;
  const oid = parse(parameters, RsaSaPssParams, "RSASSA-PSS parameters").hashAlgorithm.algorithm;
  const hash = HASH_OID.get(oid);
  if (!hash) throw new TypeError(`Cannot use RSASSA-PSS key: unsupported hash ${oid}`);
  return hash;
}

function rsaEncryptionSpki(rsaPublicKey: ArrayBuffer): Uint8Array_ {
  const algorithm = new AlgorithmIdentifier({ algorithm: id_rsaEncryption, parameters: null });
  return buf(der(new SubjectPublicKeyInfo({ algorithm, subjectPublicKey: rsaPublicKey })));
}

/**
 * Keys read from SubjectPublicKeyInfos (frozen, their arrays copies of their own): 256 at most, none over
 * 2 KiB (an RSA-8192 key's SPKI is about 1 KiB).
 */
const publicKeys = new ByteKeyedCache<PublicKey>(256, 2048);

/**
 * Read a DER SubjectPublicKeyInfo. EC points are checked to lie on the curve.
 *
 * @param spki The DER SubjectPublicKeyInfo.
 * @returns The public key.
 * @throws {TypeError} If the DER is malformed or the key type, curve or point is unsupported or invalid.
 */
export function publicKeyFromSpki(spki: Uint8Array): PublicKey {
  // The same leaf and CA keys come on every handshake: their point checks (bigint arithmetic) were 2.4% of
  // a TLS 1.3 handshake on Node. A key that fails throws, and is not cached.
  return publicKeys.get("spki", spki, () => readSpki(spki));
}

function readSpki(spki: Uint8Array): PublicKey {
  const fast = ecOrEdSpki(spki);
  const info = fast ? undefined : parse(spki, SubjectPublicKeyInfo, "SubjectPublicKeyInfo");
  const algorithm = fast?.algorithm ?? info!.algorithm.algorithm;
  const parameters = info?.algorithm.parameters;
  const key = fast?.key ?? new Uint8Array(info!.subjectPublicKey);
  switch (algorithm) {
    case id_ecPublicKey: {
      const type = fast?.curve ?? ecTypeOf(parameters);
      let raw: Uint8Array;
      try {
        raw = CURVES[type].curve.Point.fromBytes(key).toBytes(false); // compressed points get expanded
      } catch (cause) {
        throw new TypeError(`Cannot use ${type} key: point is not on the curve`, { cause });
      }
      return Object.freeze({ type, spki: spki.slice(), raw });
    }
    case ID_ED25519:
      try {
        ed25519.Point.fromBytes(key, false);
      } catch (cause) {
        throw new TypeError("Cannot use Ed25519 key: expected a valid 32-byte point", { cause });
      }
      return Object.freeze({ type: "ed25519", spki: spki.slice(), raw: key.slice() });
    case id_rsaEncryption:
    case id_RSASSA_PSS: {
      if (algorithm === id_RSASSA_PSS) pssHash(parameters); // reject unusable parameters early
      const rsa = parse(key, RSAPublicKey, "RSAPublicKey");
      const type = algorithm === id_rsaEncryption ? "rsa" : "rsa-pss";
      return Object.freeze({ type, spki: spki.slice(), bits: bitLength(new Uint8Array(rsa.modulus)) });
    }
    default:
      throw new TypeError(`Cannot use public key: unsupported algorithm ${algorithm}`);
  }
}

async function verifyRsa(
  info: SchemeInfo,
  key: PublicKey,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  try {
    const spki = parse(key.spki, SubjectPublicKeyInfo, "SubjectPublicKeyInfo");
    if (key.type === "rsa-pss") {
      const only = pssHash(spki.algorithm.parameters);
      if (only !== undefined && only !== info.hash) return false;
    }
    const name = info.kind === "pss" ? "RSA-PSS" : "RSASSA-PKCS1-v1_5";
    const cryptoKey = await crypto.subtle.importKey(
      "spki",
      rsaEncryptionSpki(spki.subjectPublicKey),
      { name, hash: info.hash },
      false,
      ["verify"],
    );
    return await crypto.subtle.verify(
      { name, saltLength: HASH_LEN[info.hash] },
      cryptoKey,
      buf(signature),
      buf(message),
    );
  } catch {
    return false;
  }
}

/**
 * Verify a signature. Never throws: a bad signature, malformed DER, an unknown
 * scheme, or a scheme that does not fit the key (e.g. `ecdsa_secp384r1_sha384`
 * with a P-256 key, `rsa_pss_rsae_*` with an id-RSASSA-PSS key, `rsa_pss_pss_*`
 * with an rsaEncryption key) all give `false`.
 *
 * ECDSA signatures are DER, over the message hashed with the scheme's hash;
 * high-S values are accepted, since other stacks produce them. Ed25519 follows
 * RFC 8032 strictly (no ZIP-215 leniency). RSA-PSS uses a salt as long as the hash.
 *
 * @param scheme The SignatureScheme code point.
 * @param key The signer's public key.
 * @param message The signed bytes.
 * @param signature The signature.
 * @param tls12 TLS 1.2 rules: an ECDSA scheme fixes the hash only, and the key's own curve is used.
 * @returns Whether the signature is valid; a promise for RSA keys.
 */
export function verifySignature(
  scheme: number,
  key: PublicKey,
  message: Uint8Array,
  signature: Uint8Array,
  tls12 = false,
): boolean | Promise<boolean> {
  const info = SCHEMES.get(scheme);
  if (info === undefined) return false;
  if (tls12 && info.kind === "ecdsa" && (key.type === "ec-p256" || key.type === "ec-p384") && key.raw) {
    // TLS 1.2 (RFC 5246 §7.4.1.4.1, RFC 8422): the code point names ECDSA and a hash, not a curve; OpenSSL signs
    // with a P-384 key under ecdsa_secp256r1_sha256. So the key's curve, the scheme's hash.
    const digest = DIGEST[info.hash](message);
    try {
      return CURVES[key.type].curve.verify(signature, digest, key.raw, {
        prehash: false,
        lowS: false,
        format: "der",
      });
    } catch {
      return false;
    }
  }
  if (info.key !== key.type) return false;
  if (info.kind === "pss" || info.kind === "pkcs1") return verifyRsa(info, key, message, signature);
  if (key.raw === undefined) return false;
  try {
    if (info.kind === "eddsa") return ed25519.verify(signature, message, key.raw, { zip215: false });
    const { curve } = CURVES[key.type as EcType];
    return curve.verify(signature, message, key.raw, { prehash: true, lowS: false, format: "der" });
  } catch {
    return false;
  }
}

/**
 * {@link verifySignature} on the platform's WebCrypto where it has the primitive: ECDSA P-256/P-384 (the DER
 * signature converted to WebCrypto's r ‖ s form) and Ed25519; RSA goes to WebCrypto either way. Where the
 * runtime lacks a primitive (Ed25519 on an older Node, say) it falls back to noble. Same results, never throws;
 * always a promise.
 *
 * @param scheme The SignatureScheme code point.
 * @param key The signer's public key.
 * @param message The signed bytes.
 * @param signature The signature.
 * @param tls12 TLS 1.2 rules: an ECDSA scheme fixes the hash only, and the key's own curve is used.
 * @returns Whether the signature is valid.
 */
export async function verifySignatureWebCrypto(
  scheme: number,
  key: PublicKey,
  message: Uint8Array,
  signature: Uint8Array,
  tls12 = false,
): Promise<boolean> {
  const info = SCHEMES.get(scheme);
  if (info === undefined) return false;
  const ec = key.type === "ec-p256" || key.type === "ec-p384";
  if (info.kind === "ecdsa" && ec && key.raw && (tls12 || info.key === key.type)) {
    return await webEcdsa(key.type as EcType, key.raw, info.hash, message, signature) ??
      verifySignature(scheme, key, message, signature, tls12);
  }
  if (info.kind === "eddsa" && key.type === "ed25519" && key.raw) {
    return await webEd25519(key.raw, message, signature) ??
      verifySignature(scheme, key, message, signature, tls12);
  }
  return verifySignature(scheme, key, message, signature, tls12);
}

/** ECDSA verification (DER signature) on WebCrypto; undefined where the runtime lacks the curve. */
async function webEcdsa(
  type: EcType,
  raw: Uint8Array,
  hash: HashName,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean | undefined> {
  let rs: Uint8Array;
  try {
    rs = CURVES[type].curve.Signature.fromBytes(signature, "der").toBytes("compact");
  } catch {
    return false;
  }
  const namedCurve = type === "ec-p256" ? "P-256" : "P-384";
  const imported = await importOrUndefined("raw", raw, { name: "ECDSA", namedCurve });
  if (!imported) return undefined;
  return crypto.subtle.verify({ name: "ECDSA", hash }, imported, buf(rs), buf(message));
}

/** Ed25519 verification on WebCrypto; undefined where the runtime lacks it. */
async function webEd25519(raw: Uint8Array, message: Uint8Array, signature: Uint8Array) {
  const imported = await importOrUndefined("raw", raw, { name: "Ed25519" });
  if (!imported) return undefined;
  try {
    return await crypto.subtle.verify({ name: "Ed25519" }, imported, buf(signature), buf(message));
  } catch {
    return false;
  }
}

/** Import a public key for verification, or undefined where the runtime lacks the algorithm. */
async function importOrUndefined(
  format: "raw",
  data: Uint8Array,
  algorithm: EcKeyImportParams | { name: "Ed25519" },
): Promise<CryptoKey | undefined> {
  try {
    return await crypto.subtle.importKey(format, buf(data), algorithm, false, ["verify"]);
  } catch {
    return undefined;
  }
}

/**
 * Wrap a public key and a sign function as a SigningKey, e.g. for tests that need a
 * fixed or broken signature, or to sign with a key held elsewhere (an HSM).
 *
 * @param publicKey The public key the signatures should verify under.
 * @param schemes The schemes `sign` accepts, in preference order.
 * @param sign The signing function.
 * @returns The signing key.
 */
export function customSigningKey(
  publicKey: PublicKey,
  schemes: readonly number[],
  sign: SigningKey["sign"],
  tls12Schemes?: readonly number[],
): SigningKey {
  return Object.freeze({
    type: publicKey.type,
    schemes: Object.freeze([...schemes]),
    ...(tls12Schemes ? { tls12Schemes: Object.freeze([...tls12Schemes]) } : {}),
    publicKey,
    sign,
  });
}

/** A key whose `sign(scheme)` gets the scheme's index in `tls12Schemes ?? schemes`, and refuses any other. */
function builtinKey(
  publicKey: PublicKey,
  schemes: readonly number[],
  sign: (index: number, message: Uint8Array) => Uint8Array | Promise<Uint8Array>,
  tls12Schemes?: readonly number[],
): SigningKey {
  const all = tls12Schemes ?? schemes;
  return customSigningKey(publicKey, schemes, (scheme, message) => {
    const index = all.indexOf(scheme);
    if (index < 0) {
      throw new RangeError(
        `Cannot sign with scheme ${hex16(scheme)}: ${publicKey.type} key signs with ${
          all.map(hex16).join(", ")
        }`,
      );
    }
    return sign(index, message);
  }, tls12Schemes);
}

/** The ECDSA schemes an EC key of `type` signs with in TLS 1.2: its own first, then the other hash. */
function ecTls12Schemes(type: EcType): readonly number[] {
  return type === "ec-p256" ? [0x0403, 0x0503] : [0x0503, 0x0403];
}

function ecKey(type: EcType, scalar: Uint8Array): SigningKey {
  const { curve, oid, scheme } = CURVES[type];
  const fieldLen = curve.lengths.secretKey!;
  if (scalar.length > fieldLen) throw new TypeError(`Cannot use ${type} private key: scalar is too long`);
  const secret = new Uint8Array(fieldLen);
  secret.set(scalar, fieldLen - scalar.length); // some encoders drop leading zeros
  if (!curve.utils.isValidSecretKey(secret)) {
    throw new TypeError(`Cannot use ${type} private key: scalar is out of range`);
  }
  const raw = curve.getPublicKey(secret, false);
  const parameters = AsnConvert.serialize(new ECParameters({ namedCurve: oid }));
  const algorithm = new AlgorithmIdentifier({ algorithm: id_ecPublicKey, parameters });
  const spki = der(new SubjectPublicKeyInfo({ algorithm, subjectPublicKey: buf(raw).buffer }));
  // RFC 6979 deterministic nonces, DER output. In TLS 1.2 also with the other scheme's hash (tls12Schemes).
  const tls12 = ecTls12Schemes(type);
  const key = builtinKey(
    Object.freeze({ type, spki, raw }),
    [scheme],
    (index, message) =>
      curve.sign(DIGEST[SCHEMES.get(tls12[index]!)!.hash](message), secret, {
        prehash: false,
        format: "der",
      }),
    tls12,
  );
  JWKS.set(key, () => ({
    kty: "EC",
    crv: type === "ec-p256" ? "P-256" : "P-384",
    d: toBase64Url(secret),
    x: toBase64Url(raw.subarray(1, 1 + fieldLen)),
    y: toBase64Url(raw.subarray(1 + fieldLen)),
  }));
  return key;
}

/**
 * How to make the private JWK of each noble EC and Ed25519 key, for {@link nativeSigningKey}: made only when
 * asked, so a key that stays on noble never has its secret copied into base64 strings.
 */
const JWKS = new WeakMap<SigningKey, () => JsonWebKey>();

/**
 * The same key signing on the runtime's WebCrypto (ECDSA P-256/P-384, Ed25519), or `key` itself where the
 * runtime lacks the algorithm or the key is not one of those. Native ECDSA is several times faster than
 * noble's, but may draw a random nonce (noble's is deterministic, RFC 6979), so signatures may differ run to run.
 */
async function nativeSigningKey(key: SigningKey): Promise<SigningKey> {
  const jwk = JWKS.get(key)?.();
  if (!jwk) return key;
  const ec = jwk.kty === "EC";
  const algorithm = ec ? { name: "ECDSA", namedCurve: jwk.crv! } : { name: "Ed25519" };
  let native: CryptoKey;
  try {
    native = await crypto.subtle.importKey("jwk", jwk, algorithm, false, ["sign"]);
  } catch {
    return key;
  }
  const curve = ec ? CURVES[key.type as EcType].curve : undefined;
  const all = key.tls12Schemes ?? key.schemes;
  return builtinKey(key.publicKey, key.schemes, async (index, message) => {
    if (!curve) return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, native, buf(message)));
    const hash = SCHEMES.get(all[index]!)!.hash;
    const rs = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash }, native, buf(message)));
    return curve.Signature.fromBytes(rs, "compact").toBytes("der");
  }, key.tls12Schemes);
}

function ed25519Key(seed: Uint8Array): SigningKey {
  if (seed.length !== 32) {
    throw new TypeError(`Cannot use Ed25519 private key: expected 32 bytes, got ${seed.length}`);
  }
  const secret = seed.slice();
  const raw = ed25519.getPublicKey(secret);
  const algorithm = new AlgorithmIdentifier({ algorithm: ID_ED25519 });
  const spki = der(new SubjectPublicKeyInfo({ algorithm, subjectPublicKey: buf(raw).buffer }));
  const key = builtinKey(
    Object.freeze({ type: "ed25519", spki, raw }),
    [0x0807],
    (_, m) => ed25519.sign(m, secret),
  );
  JWKS.set(key, () => ({ kty: "OKP", crv: "Ed25519", d: toBase64Url(secret), x: toBase64Url(raw) }));
  return key;
}

/**
 * Import an RSA key into WebCrypto, once per hash since WebCrypto binds RSA-PSS
 * keys to a hash. `pkcs1` is the RSAPrivateKey; `pss` is set for id-RSASSA-PSS keys.
 */
async function rsaKey(
  pkcs1: Uint8Array,
  pss?: { parameters: ArrayBuffer | undefined },
): Promise<SigningKey> {
  const rsa = parse(pkcs1, RSAPrivateKey, "RSAPrivateKey");
  const rsaPublicKey = der(new RSAPublicKey({ modulus: rsa.modulus, publicExponent: rsa.publicExponent }));
  const algorithm = pss
    ? new AlgorithmIdentifier({
      algorithm: id_RSASSA_PSS,
      ...(pss.parameters ? { parameters: pss.parameters } : {}),
    })
    : new AlgorithmIdentifier({ algorithm: id_rsaEncryption, parameters: null });
  const spki = der(new SubjectPublicKeyInfo({ algorithm, subjectPublicKey: buf(rsaPublicKey).buffer }));
  const only = pss ? pssHash(pss.parameters) : undefined;
  const hashes = (["SHA-256", "SHA-384", "SHA-512"] as const).filter((h) => only === undefined || h === only);
  const base = pss ? 0x0809 : 0x0804;
  // PSS first (the only RSA signatures TLS 1.3 allows); an rsaEncryption key also signs PKCS#1 v1.5, which
  // only TLS 1.2 uses (RFC 8446 §4.2.3), and last in preference.
  const entries = [
    ...hashes.map((hash) => ({
      scheme: base + ["SHA-256", "SHA-384", "SHA-512"].indexOf(hash),
      name: "RSA-PSS",
      hash,
    })),
    ...(pss ? [] : hashes.map((hash) => ({
      scheme: 0x0401 + 0x100 * ["SHA-256", "SHA-384", "SHA-512"].indexOf(hash),
      name: "RSASSA-PKCS1-v1_5",
      hash,
    }))),
  ];
  const schemes = entries.map((e) => e.scheme);
  // WebCrypto only takes rsaEncryption PKCS#8, so id-RSASSA-PSS keys are re-wrapped.
  const pkcs8 = buf(der(
    new PrivateKeyInfo({
      privateKeyAlgorithm: new AlgorithmIdentifier({ algorithm: id_rsaEncryption, parameters: null }),
      privateKey: new PrivateKey(pkcs1),
    }),
  ));
  const keys = await Promise.all(
    entries.map((e) =>
      crypto.subtle.importKey("pkcs8", pkcs8, { name: e.name, hash: e.hash }, false, ["sign"])
    ),
  );
  const publicKey: PublicKey = Object.freeze({
    type: pss ? "rsa-pss" : "rsa",
    spki,
    bits: bitLength(new Uint8Array(rsa.modulus)),
  });
  return builtinKey(publicKey, schemes, async (index, message) => {
    const e = entries[index]!;
    const params = e.name === "RSA-PSS" ? { name: e.name, saltLength: HASH_LEN[e.hash] } : { name: e.name };
    return new Uint8Array(await crypto.subtle.sign(params, keys[index]!, buf(message)));
  });
}

function fromSec1(sec1: Uint8Array, parameters?: ArrayBuffer | null): SigningKey {
  const ec = parse(sec1, ECPrivateKey, "ECPrivateKey");
  const type = ecTypeOf(parameters ?? (ec.parameters ? der(ec.parameters).slice().buffer : undefined));
  return ecKey(type, new Uint8Array(ec.privateKey.buffer));
}

function fromPkcs8(pkcs8: Uint8Array): SigningKey | Promise<SigningKey> {
  const info = parse(pkcs8, PrivateKeyInfo, "PKCS#8 PrivateKeyInfo");
  const { algorithm, parameters } = info.privateKeyAlgorithm;
  const inner = new Uint8Array(info.privateKey.buffer);
  switch (algorithm) {
    case id_ecPublicKey:
      return fromSec1(inner, parameters);
    case ID_ED25519:
      return ed25519Key(new Uint8Array(parse(inner, OctetString, "Ed25519 private key").buffer));
    case id_rsaEncryption:
      return rsaKey(inner);
    case id_RSASSA_PSS:
      return rsaKey(inner, { parameters: parameters ?? undefined });
    default:
      throw new TypeError(`Cannot load private key: unsupported algorithm ${algorithm}`);
  }
}

/**
 * Load a private key: PKCS#8 (PEM `PRIVATE KEY` or DER), SEC1 PEM `EC PRIVATE KEY`,
 * or PKCS#1 PEM `RSA PRIVATE KEY`. P-256, P-384 and Ed25519 keys sign with noble
 * (synchronously; ECDSA is deterministic per RFC 6979 and DER-encoded). RSA keys
 * are imported into WebCrypto and sign RSA-PSS with a salt as long as the hash:
 * `rsa_pss_rsae_sha256/384/512`, or `rsa_pss_pss_*` for id-RSASSA-PSS keys; rsaEncryption keys also sign
 * PKCS#1 v1.5 (`rsa_pkcs1_*`, TLS 1.2 only). An encrypted PKCS#8 key (`ENCRYPTED PRIVATE KEY`: PBES2 with
 * PBKDF2 and AES-CBC, as `openssl genpkey -aes256` writes) needs `passphrase`; legacy encrypted PEM
 * (`Proc-Type: 4,ENCRYPTED`) is refused with how to convert it.
 *
 * With `webCrypto: true` (what `webCryptoProvider.loadPrivateKey` does), P-256, P-384 and Ed25519 keys sign
 * on the runtime's WebCrypto instead, asynchronously and several times faster; ECDSA nonces may then be
 * random rather than RFC 6979. A runtime without the algorithm keeps noble.
 *
 * @param pemOrDer PEM text, or PKCS#8 DER bytes.
 * @param options `webCrypto`: sign natively where the runtime can; `passphrase`: an encrypted key's.
 * @returns The signing key.
 * @throws {SyntaxError} If the text holds no supported PEM block.
 * @throws {TypeError} If the key is malformed or of an unsupported type.
 */
export async function loadPrivateKey(
  pemOrDer: string | Uint8Array,
  options: { readonly webCrypto?: boolean; readonly passphrase?: string } = {},
): Promise<SigningKey> {
  const key = await loadKey(pemOrDer, options.passphrase);
  return options.webCrypto ? await nativeSigningKey(key) : key;
}

async function loadKey(pemOrDer: string | Uint8Array, passphrase: string | undefined): Promise<SigningKey> {
  if (typeof pemOrDer !== "string") return await fromPkcs8(pemOrDer);
  // Encrypted keys, named as such rather than "not base64" or "no PEM block".
  if (/^Proc-Type:\s*4,\s*ENCRYPTED/m.test(pemOrDer)) {
    throw new SyntaxError(
      "Cannot load private key: legacy encrypted PEM (Proc-Type: 4,ENCRYPTED) is not supported; " +
        "decrypt it with `openssl pkey -in key.pem -out key-plain.pem`",
    );
  }
  const [encrypted] = pemDecode(pemOrDer, "ENCRYPTED PRIVATE KEY");
  if (encrypted) {
    if (passphrase === undefined) {
      throw new TypeError(
        "Cannot load private key: it is encrypted (PKCS#8 ENCRYPTED PRIVATE KEY); pass its passphrase",
      );
    }
    return await fromPkcs8(await decryptPkcs8(encrypted, passphrase));
  }
  const [pkcs8] = pemDecode(pemOrDer, "PRIVATE KEY");
  if (pkcs8) return await fromPkcs8(pkcs8);
  const [sec1] = pemDecode(pemOrDer, "EC PRIVATE KEY");
  if (sec1) return fromSec1(sec1);
  const [pkcs1] = pemDecode(pemOrDer, "RSA PRIVATE KEY");
  if (pkcs1) return await rsaKey(pkcs1);
  throw new SyntaxError(
    'Cannot load private key: no "PRIVATE KEY", "EC PRIVATE KEY" or "RSA PRIVATE KEY" PEM block found',
  );
}

// ---------------------------------------------------------------------------------------------------------
// X.509 signatures: a certificate's signatureAlgorithm is an AlgorithmIdentifier, not a TLS SignatureScheme.

/** The outcome of {@linkcode verifyX509Signature}. */
export type X509SignatureResult =
  /** The signature is valid for the key. */
  | "valid"
  /** The signature does not verify, or the algorithm does not fit the key (e.g. ECDSA with an RSA key). */
  | "invalid"
  /** The algorithm or its parameters are not supported (e.g. SHA-1, DSA, PSS with a non-default salt). */
  | "unsupported";

const ID_ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2";
const ID_ECDSA_WITH_SHA384 = "1.2.840.10045.4.3.3";
const ID_MGF1 = "1.2.840.113549.1.1.8";
const RSA_PKCS1_OIDS = new Map<string, HashName>([
  ["1.2.840.113549.1.1.11", "SHA-256"],
  ["1.2.840.113549.1.1.12", "SHA-384"],
  ["1.2.840.113549.1.1.13", "SHA-512"],
]);
const ECDSA_HASHES = new Map<string, { noble: (message: Uint8Array) => Uint8Array; name: HashName }>([
  [ID_ECDSA_WITH_SHA256, { noble: sha256, name: "SHA-256" }],
  [ID_ECDSA_WITH_SHA384, { noble: sha384, name: "SHA-384" }],
]);

function isNullOrAbsent(parameters: ArrayBuffer | Uint8Array | null | undefined): boolean {
  if (parameters === null || parameters === undefined) return true;
  const p = parameters instanceof Uint8Array ? parameters : new Uint8Array(parameters);
  return p.length === 2 && p[0] === 0x05 && p[1] === 0x00;
}

/**
 * An AlgorithmIdentifier (RFC 5280 §4.1.1.2): its OID, and its parameters as one whole DER element, or
 * undefined when absent. Read with the strict DER reader, as the certificate around it was: this runs for
 * every certificate signature checked, and asn1js took several times as long as the check's hashing.
 */
function readAlgorithmIdentifier(der: Uint8Array): { oid: string; parameters: Uint8Array | undefined } {
  const r = new DerReader(readOnly(der, Tag.sequence, "AlgorithmIdentifier"));
  const oid = readOid(r.expect(Tag.oid, "algorithm").value);
  const parameters = r.atEnd() ? undefined : r.read().raw;
  r.end("AlgorithmIdentifier");
  return { oid, parameters };
}

/** RSASSA-PSS parameters (RFC 4055 §3.1) reduced to a hash, or undefined if airlock does not verify them. */
function pssSignatureHash(parameters: Uint8Array | undefined): HashName | undefined {
  if (!parameters) return undefined; // all defaults: SHA-1
  let params: RsaSaPssParams;
  try {
    params = AsnConvert.parse(parameters, RsaSaPssParams);
  } catch {
    return undefined;
  }
  const hash = HASH_OID.get(params.hashAlgorithm.algorithm);
  if (hash === undefined || !isNullOrAbsent(params.hashAlgorithm.parameters)) return undefined;
  if (params.maskGenAlgorithm.algorithm !== ID_MGF1 || !params.maskGenAlgorithm.parameters) return undefined;
  let mgfHash: AlgorithmIdentifier;
  try {
    mgfHash = AsnConvert.parse(params.maskGenAlgorithm.parameters, AlgorithmIdentifier);
  } catch {
    return undefined;
  }
  if (HASH_OID.get(mgfHash.algorithm) !== hash || !isNullOrAbsent(mgfHash.parameters)) return undefined;
  if (params.saltLength !== HASH_LEN[hash] || params.trailerField !== 1) return undefined;
  return hash;
}

/** The certificate signature kinds a {@link NativeX509Verify} may be asked to check. */
export type NativeX509Kind = "ecdsa" | "ed25519" | "rsa-pkcs1";

/**
 * A synchronous native check of a certificate signature for {@link verifyX509Signature} (node:crypto's
 * `verify`, say): whether `signature` (DER for ECDSA) over `message` verifies under `key` with `hash`
 * (undefined for Ed25519), or undefined to leave the check to the built-in path.
 */
export type NativeX509Verify = (
  kind: NativeX509Kind,
  hash: SignatureHash | undefined,
  key: PublicKey,
  message: Uint8Array,
  signature: Uint8Array,
) => boolean | undefined;

/**
 * Verify a signature made under an X.509 AlgorithmIdentifier, e.g. the signature on a certificate
 * (RFC 5280 §4.1.1.2). Never throws.
 *
 * Supported: sha256/384/512WithRSAEncryption (PKCS#1 v1.5; NULL or absent parameters), RSASSA-PSS with
 * SHA-256/384/512, MGF1 with the same hash and a salt as long as the hash (RFC 4055 §3.1; other parameters,
 * including the SHA-1 defaults, are unsupported), ecdsa-with-SHA256/SHA384 with a P-256 or P-384 key (any
 * pairing, as rustls-webpki allows), and Ed25519 (RFC 8410). ECDSA and Ed25519 run on noble; RSA on
 * WebCrypto. Key sizes are not judged here: callers decide which RSA moduli are too small.
 *
 * @param algorithm The DER AlgorithmIdentifier (e.g. a certificate's `signatureAlgorithm`).
 * @param key The signer's public key.
 * @param message The signed bytes (e.g. the DER `tbsCertificate`).
 * @param signature The signature bytes (the BIT STRING contents).
 * @param options `webCrypto`: check ECDSA and Ed25519 on the runtime's WebCrypto (noble where it lacks them);
 *   `native`: a synchronous check tried first for ECDSA, Ed25519 and RSA PKCS#1 v1.5.
 * @returns The outcome; a promise for RSA keys, and for every WebCrypto check.
 *
 * @example Check an Ed25519 signature
 * ```ts
 * import assert from "node:assert/strict";
 * import { ed25519 } from "@noble/curves/ed25519.js";
 * import { publicKeyFromSpki, verifyX509Signature } from "./sign.ts";
 * const secret = new Uint8Array(32).fill(7);
 * const raw = ed25519.getPublicKey(secret);
 * const spki = new Uint8Array([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00, ...raw]);
 * const algorithm = new Uint8Array([0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70]);
 * const message = new Uint8Array([1, 2, 3]);
 * const signature = ed25519.sign(message, secret);
 * assert.equal(await verifyX509Signature(algorithm, publicKeyFromSpki(spki), message, signature), "valid");
 * ```
 */
export function verifyX509Signature(
  algorithm: Uint8Array,
  key: PublicKey,
  message: Uint8Array,
  signature: Uint8Array,
  options: { readonly webCrypto?: boolean; readonly native?: NativeX509Verify } = {},
): X509SignatureResult | Promise<X509SignatureResult> {
  let alg: { oid: string; parameters: Uint8Array | undefined };
  try {
    alg = readAlgorithmIdentifier(algorithm);
  } catch {
    return "unsupported";
  }
  const { oid, parameters } = alg;
  const native = (kind: NativeX509Kind, hash: HashName | undefined): X509SignatureResult | undefined => {
    const ok = options.native?.(kind, hash, key, message, signature);
    return ok === undefined ? undefined : ok ? "valid" : "invalid";
  };
  const pkcs1 = RSA_PKCS1_OIDS.get(oid);
  if (pkcs1 !== undefined) {
    if (!isNullOrAbsent(parameters)) return "unsupported";
    if (key.type !== "rsa") return "invalid";
    const checked = native("rsa-pkcs1", pkcs1);
    if (checked !== undefined) return checked;
    const info: SchemeInfo = { key: "rsa", kind: "pkcs1", hash: pkcs1 };
    return verifyRsa(info, key, message, signature).then((ok) => ok ? "valid" : "invalid");
  }
  if (oid === id_RSASSA_PSS) {
    const hash = pssSignatureHash(parameters);
    if (hash === undefined) return "unsupported";
    if (key.type !== "rsa" && key.type !== "rsa-pss") return "invalid";
    const info: SchemeInfo = { key: key.type, kind: "pss", hash };
    return verifyRsa(info, key, message, signature).then((ok) => ok ? "valid" : "invalid");
  }
  const ecdsa = ECDSA_HASHES.get(oid);
  if (ecdsa !== undefined) {
    if (!isNullOrAbsent(parameters)) return "unsupported";
    if ((key.type !== "ec-p256" && key.type !== "ec-p384") || key.raw === undefined) return "invalid";
    const checked = native("ecdsa", ecdsa.name);
    if (checked !== undefined) return checked;
    if (options.webCrypto) {
      return webEcdsa(key.type, key.raw, ecdsa.name, message, signature).then((ok) =>
        ok === undefined ? verifyX509Signature(algorithm, key, message, signature) : ok ? "valid" : "invalid"
      );
    }
    try {
      const { curve } = CURVES[key.type];
      const digest = ecdsa.noble(message);
      return curve.verify(signature, digest, key.raw, { prehash: false, lowS: false, format: "der" })
        ? "valid"
        : "invalid";
    } catch {
      return "invalid";
    }
  }
  if (oid === ID_ED25519) {
    if (!isNullOrAbsent(parameters)) return "unsupported";
    if (key.type !== "ed25519" || key.raw === undefined) return "invalid";
    const checked = native("ed25519", undefined);
    if (checked !== undefined) return checked;
    if (options.webCrypto) {
      return webEd25519(key.raw, message, signature).then((ok) =>
        ok === undefined ? verifyX509Signature(algorithm, key, message, signature) : ok ? "valid" : "invalid"
      );
    }
    try {
      return ed25519.verify(signature, message, key.raw, { zip215: false }) ? "valid" : "invalid";
    } catch {
      return "invalid";
    }
  }
  return "unsupported";
}
