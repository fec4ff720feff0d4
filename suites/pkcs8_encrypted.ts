/**
 * Encrypted PKCS#8 private keys (RFC 5958 EncryptedPrivateKeyInfo) with PBES2 (RFC 8018 §6.2): PBKDF2 with
 * HMAC-SHA-1/256/384/512 and AES-128/192/256-CBC, what `openssl genpkey -aes256` and `openssl pkcs8 -topk8 -v2`
 * write. Decrypted with the runtime's WebCrypto (PBKDF2 and AES-CBC are in every runtime airlock runs on).
 * @module
 */

import { DerError, DerReader, readOid, readOnly, smallUint, Tag } from "./der.ts";

const PBES2 = "1.2.840.113549.1.5.13";
const PBKDF2 = "1.2.840.113549.1.5.12";
const PRFS: Record<string, string> = {
  "1.2.840.113549.2.7": "SHA-1", // hmacWithSHA1, the default
  "1.2.840.113549.2.9": "SHA-256",
  "1.2.840.113549.2.10": "SHA-384",
  "1.2.840.113549.2.11": "SHA-512",
};
const CIPHERS: Record<string, number> = {
  "2.16.840.1.101.3.4.1.2": 16, // aes128-CBC
  "2.16.840.1.101.3.4.1.22": 24, // aes192-CBC
  "2.16.840.1.101.3.4.1.42": 32, // aes256-CBC
};
/**
 * The most PBKDF2 iterations we run: far above what tools write (OpenSSL 2,048; 600,000 for OWASP's
 * PBKDF2-HMAC-SHA256), and a bound on what a hostile key file can make us compute.
 */
const MAX_ITERATIONS = 10_000_000;

/** The parameters of an EncryptedPrivateKeyInfo, read. */
interface Pbes2 {
  readonly salt: Uint8Array;
  readonly iterations: number;
  readonly hash: string;
  readonly keyLength: number;
  readonly iv: Uint8Array;
  readonly data: Uint8Array;
}

function parse(der: Uint8Array): Pbes2 {
  const top = new DerReader(readOnly(der, Tag.sequence, "EncryptedPrivateKeyInfo"));
  const alg = new DerReader(top.expect(Tag.sequence, "encryptionAlgorithm").value);
  const data = top.expect(Tag.octetString, "encryptedData").value;
  top.end("EncryptedPrivateKeyInfo");
  const scheme = readOid(alg.expect(Tag.oid, "encryptionAlgorithm").value);
  if (scheme !== PBES2) {
    throw new DerError(
      `encryption scheme ${scheme} is not PBES2 (PKCS#5 v1.5 and PKCS#12 are not supported)`,
    );
  }
  const params = new DerReader(alg.expect(Tag.sequence, "PBES2-params").value);
  alg.end("encryptionAlgorithm");
  const kdf = new DerReader(params.expect(Tag.sequence, "keyDerivationFunc").value);
  const cipher = new DerReader(params.expect(Tag.sequence, "encryptionScheme").value);
  params.end("PBES2-params");
  const kdfOid = readOid(kdf.expect(Tag.oid, "keyDerivationFunc").value);
  if (kdfOid !== PBKDF2) {
    throw new DerError(`key derivation ${kdfOid} is not PBKDF2 (scrypt is not supported)`);
  }
  const p = new DerReader(kdf.expect(Tag.sequence, "PBKDF2-params").value);
  kdf.end("keyDerivationFunc");
  const salt = p.expect(Tag.octetString, "salt").value;
  const iterations = smallUint(p.expect(Tag.integer, "iterationCount").value, "iterationCount");
  const keyLengthTlv = p.optional(Tag.integer);
  let hash = "SHA-1";
  const prf = p.optional(Tag.sequence);
  if (prf) {
    const r = new DerReader(prf.value);
    const oid = readOid(r.expect(Tag.oid, "prf").value);
    r.optional(Tag.null);
    r.end("prf");
    const name = PRFS[oid];
    if (!name) throw new DerError(`PBKDF2 pseudo-random function ${oid} is not supported`);
    hash = name;
  }
  p.end("PBKDF2-params");
  const cipherOid = readOid(cipher.expect(Tag.oid, "encryptionScheme").value);
  const keyLength = CIPHERS[cipherOid];
  if (!keyLength) throw new DerError(`cipher ${cipherOid} is not supported (AES-128/192/256-CBC are)`);
  const iv = cipher.expect(Tag.octetString, "iv").value;
  cipher.end("encryptionScheme");
  if (iv.length !== 16) throw new DerError(`the AES-CBC IV is ${iv.length} bytes, not 16`);
  if (keyLengthTlv && smallUint(keyLengthTlv.value, "keyLength") !== keyLength) {
    throw new DerError("PBKDF2 keyLength does not match the cipher's");
  }
  if (iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new DerError(`iterationCount ${iterations} is outside 1..${MAX_ITERATIONS}`);
  }
  return { salt, iterations, hash, keyLength, iv, data };
}

/**
 * Decrypt a PKCS#8 EncryptedPrivateKeyInfo (DER) with `passphrase` (UTF-8, as OpenSSL takes it).
 *
 * @param der The EncryptedPrivateKeyInfo.
 * @param passphrase The passphrase.
 * @returns The PrivateKeyInfo (plain PKCS#8 DER).
 * @throws {TypeError} If the structure or its algorithms are not supported, or the passphrase is wrong (the
 *   padding does not check out, or what decrypts is not a PKCS#8 structure).
 */
export async function decryptPkcs8(der: Uint8Array, passphrase: string): Promise<Uint8Array> {
  let p: Pbes2;
  try {
    p = parse(der);
  } catch (e) {
    throw new TypeError(`Cannot decrypt private key: ${(e as Error).message}`);
  }
  const subtle = globalThis.crypto.subtle;
  const password = await subtle.importKey("raw", new TextEncoder().encode(passphrase), "PBKDF2", false, [
    "deriveKey",
  ]);
  const key = await subtle.deriveKey(
    { name: "PBKDF2", salt: p.salt.slice(), iterations: p.iterations, hash: p.hash },
    password,
    { name: "AES-CBC", length: p.keyLength * 8 },
    false,
    ["decrypt"],
  );
  let plain: Uint8Array;
  try {
    plain = new Uint8Array(await subtle.decrypt({ name: "AES-CBC", iv: p.iv.slice() }, key, p.data.slice()));
  } catch {
    throw new TypeError("Cannot decrypt private key: wrong passphrase (or a corrupt file)");
  }
  // A wrong passphrase passes the padding check about once in 256: what decrypts must still be a SEQUENCE.
  try {
    readOnly(plain, Tag.sequence, "PrivateKeyInfo");
  } catch {
    throw new TypeError("Cannot decrypt private key: wrong passphrase (or a corrupt file)");
  }
  return plain;
}
