// Copyright 2026 the airlock authors. MIT license.

/**
 * `nodeCryptoProvider`: the crypto of `node:crypto` (OpenSSL on Node, BoringSSL on Bun), synchronous and
 * native. WebCrypto's primitives are native too, but each call is a promise and a trip to another thread; the
 * engine then waits through WANT_ASYNC, and in-process bulk transfer spends most of its time in those trips.
 * `node:crypto` does the same work in the calling thread and returns: no WANT_ASYNC at all for ECDHE and
 * EdDSA/ECDSA handshakes, and records sealed and opened at native speed.
 *
 * - Records: AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305 (every record, handshake ones too).
 * - Key exchange: X25519, P-256 and P-384. The peer's share is checked as noble checks it
 *   (`checkPeerShare`), so every provider gives the same errors. X25519MLKEM768's X25519 half runs here, its
 *   ML-KEM-768 here too on Node 24.7 and later, else on WebCrypto (Deno, Bun) or noble (Node 20).
 * - Signatures: ECDSA P-256/P-384 and Ed25519 verify and sign here. RSA stays on WebCrypto, asynchronous:
 *   an RSA-2048 signature takes a millisecond or more, better off the calling thread. Certificate chains
 *   are checked as `webCryptoProvider` checks them.
 * - Hashes and HMAC (and HKDF on them) for the transcript, the key schedule and the TLS 1.2 PRF: a call to
 *   node:crypto costs a few microseconds, where an awaited WebCrypto one costs tens, so here they pay.
 *
 * Deno has `node:crypto` too. There its key exchange, signatures and hashes are synchronous and as fast as
 * Deno's WebCrypto or faster (X25519 184 µs against 262, SHA-384 of 4 KB 13 µs against 66 for WebCrypto and
 * 63 for noble; ECDSA P-256 alike), which took TLS 1.3 handshakes 20–40% past `webCryptoProvider`'s; but its
 * AES-GCM runs at a fifth of WebCrypto's, so on Deno this provider seals and opens records as
 * `webCryptoProvider` does (WebCrypto for large records, noble for the rest).
 *
 * Key shares and ECDSA nonces come from OpenSSL's random generator, not from the configured `random`, so
 * handshakes are not reproducible byte for byte (fuzzers and known-answer tests use `nobleProvider`).
 *
 * @module
 */

import type { Buffer } from "node:buffer";
import type * as NodeCrypto from "node:crypto";
import type { ECDH, Hash as NodeHash, KeyObject } from "node:crypto";
import { type Aead, type AeadKey, customAead } from "./aead.ts";
import {
  checkedSecret,
  checkPeerShare,
  type KeyShare,
  KxError,
  type KxGroup,
  type KxResponse,
  kxResponse,
  type MlKem768,
  nativeKeyOf,
  nativeKeyShare,
  withHybridKx,
} from "./kx.ts";
import { ctEqual, toBase64Url } from "./bytes.ts";
import { customHash, type Hash, type HashName, type HashState } from "./hash.ts";
import { pemDecode } from "./pem.ts";
import { ByteKeyedCache } from "./cache.ts";
import type { CryptoProvider } from "./provider.ts";
import { nobleProvider, webCryptoProvider } from "./provider.ts";
import {
  customSigningKey,
  type NativeX509Kind,
  type PublicKey,
  type SignatureHash,
  signatureScheme,
  type SigningKey,
  verifySignature,
  verifyX509Signature,
} from "./sign.ts";

// node:crypto and node:buffer come from `process.getBuiltinModule` (Node ≥ 20.16, Bun, Deno) the first time they
// are needed, not from an import: this module is imported everywhere (it is how the default provider is
// chosen), and a bundle for the browser must not pull Node's modules in.
let nodeModules: { crypto: typeof NodeCrypto; Buffer: typeof Buffer } | undefined;

/** The runtime's `process.getBuiltinModule`, bound, or undefined where there is none. */
export function getBuiltinModule(): ((id: string) => unknown) | undefined {
  const p = (globalThis as { process?: { getBuiltinModule?: unknown } }).process;
  return typeof p?.getBuiltinModule === "function"
    ? (p.getBuiltinModule as (id: string) => unknown).bind(p)
    : undefined;
}

/** Whether this runtime gives `node:crypto` synchronously (`process.getBuiltinModule`). */
export function hasNodeCrypto(): boolean {
  return getBuiltinModule() !== undefined;
}

function node(): { crypto: typeof NodeCrypto; Buffer: typeof Buffer } {
  if (nodeModules) return nodeModules;
  const builtin = getBuiltinModule();
  if (!builtin) {
    throw new Error(
      "Cannot use nodeCryptoProvider: this runtime has no node:crypto (process.getBuiltinModule)",
    );
  }
  const crypto = builtin("node:crypto") as typeof NodeCrypto;
  const buffer = builtin("node:buffer") as { Buffer: typeof Buffer };
  return nodeModules = { crypto, Buffer: buffer.Buffer };
}

/** `make` called once per name (each checks a known answer first), as a provider must return the same object. */
function once<K, V>(make: (name: K) => V): (name: K) => V {
  const made = new Map<K, V>();
  return (name) => {
    let value = made.get(name);
    if (value === undefined) made.set(name, value = make(name));
    return value;
  };
}

// ---- records ---------------------------------------------------------------------------------------------

const CIPHERS: Readonly<Record<Aead["name"], "aes-128-gcm" | "aes-256-gcm" | "chacha20-poly1305">> = {
  "AES-128-GCM": "aes-128-gcm",
  "AES-256-GCM": "aes-256-gcm",
  "CHACHA20-POLY1305": "chacha20-poly1305",
};

/**
 * A Buffer's bytes as a plain Uint8Array (whose `slice()` copies, as the engine expects): a view over the same
 * bytes, or a copy of a digest-sized one. Bun's JavaScriptCore makes an ArrayBuffer object the first time a
 * small array's `buffer` is read, which costs more than copying 64 bytes (a SHA-256 digest and its view took
 * 0.6 µs on Bun, with a copy 0.3); on Node both take the same.
 */
function plain(b: Buffer): Uint8Array {
  return b.byteLength <= 64 ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function nodeAeadKey(cipher: (typeof CIPHERS)[Aead["name"]], key: Uint8Array): AeadKey {
  return {
    seal(nonce, aad, plaintext, headroom = 0, suffix) {
      // One call per overload (node's typings take the GCM and ChaCha20-Poly1305 names apart).
      const c = cipher === "chacha20-poly1305"
        ? node().crypto.createCipheriv(cipher, key, nonce, { authTagLength: 16 })
        : node().crypto.createCipheriv(cipher, key, nonce, { authTagLength: 16 });
      const length = plaintext.length + (suffix?.length ?? 0);
      c.setAAD(aad, { plaintextLength: length });
      const out = new Uint8Array(headroom + length + 16);
      out.set(c.update(plaintext), headroom);
      if (suffix) out.set(c.update(suffix), headroom + plaintext.length); // a stream cipher: no block left over
      c.final();
      out.set(c.getAuthTag(), headroom + length);
      return out;
    },
    open(nonce, aad, ciphertextAndTag) {
      const end = ciphertextAndTag.length - 16; // customAead has checked that a tag is there
      const d = cipher === "chacha20-poly1305"
        ? node().crypto.createDecipheriv(cipher, key, nonce, { authTagLength: 16 })
        : node().crypto.createDecipheriv(cipher, key, nonce, { authTagLength: 16 });
      d.setAAD(aad, { plaintextLength: end });
      d.setAuthTag(ciphertextAndTag.subarray(end));
      const body = d.update(ciphertextAndTag.subarray(0, end));
      try {
        d.final(); // throws when the tag does not match: `body` is then dropped unread
      } catch {
        body.fill(0);
        return null;
      }
      return plain(body);
    },
  };
}

/**
 * The runtime's AEAD for `name`, or noble's where it lacks the cipher (or gets a known answer wrong): checked
 * once, against noble, on first use.
 */
function nodeAead(name: Aead["name"]): Aead {
  const noble = nobleProvider.aead(name);
  const native = customAead(name, (key) => nodeAeadKey(CIPHERS[name], key));
  try {
    const key = new Uint8Array(noble.keyLen).fill(7), nonce = new Uint8Array(12).fill(9);
    const aad = Uint8Array.of(23, 3, 3), text = new Uint8Array(100).fill(42);
    const sealed = native.importKey(key).seal(nonce, aad, text);
    const expected = noble.importKey(key).seal(nonce, aad, text);
    const opened = native.importKey(key).open(nonce, aad, expected);
    if (!ctEqual(sealed, expected) || !opened || !ctEqual(opened, text)) return noble;
  } catch {
    return noble;
  }
  return native;
}

// ---- hashes ----------------------------------------------------------------------------------------------

class NodeHashState implements HashState {
  readonly #inner: NodeHash;

  constructor(inner: NodeHash) {
    this.#inner = inner;
  }

  update(data: Uint8Array): void {
    this.#inner.update(data);
  }

  digest(): Uint8Array {
    return plain(this.#inner.copy().digest());
  }

  clone(): HashState {
    return new NodeHashState(this.#inner.copy());
  }
}

/** The runtime's hash and HMAC for `name` (HKDF on top), or noble's if it gets a known answer wrong. */
function nodeHash(name: HashName): Hash {
  const noble = nobleProvider.hash(name);
  const id = name === "SHA-256" ? "sha256" : "sha384";
  // One-shot `crypto.hash` (Node 20.12+, Bun, Deno) skips the Hash object: 1.3 µs against 4 on Node 20.
  const oneShot = (node().crypto as { hash?: (id: string, data: Uint8Array, enc: "buffer") => Buffer }).hash;
  const native = customHash(name, {
    digest: oneShot
      ? (data) => plain(oneShot(id, data, "buffer"))
      : (data) => plain(node().crypto.createHash(id).update(data).digest()),
    create: () => new NodeHashState(node().crypto.createHash(id)),
    hmac: (key, data) => plain(node().crypto.createHmac(id, key).update(data).digest()),
  });
  try {
    const key = new Uint8Array(20).fill(11), data = new Uint8Array(200).fill(5);
    const state = native.create();
    state.update(data);
    if (
      !ctEqual(native.digest(data), noble.digest(data)) ||
      !ctEqual(state.digest(), noble.digest(data)) ||
      !ctEqual(native.hmac(key, data), noble.hmac(key, data))
    ) return noble;
  } catch {
    return noble;
  }
  return native;
}

// ---- key exchange ----------------------------------------------------------------------------------------

/**
 * Public keys go in and out of node:crypto as JWKs: Node 20's OpenSSL 3 takes 150–250 µs to decode or encode a
 * DER SubjectPublicKeyInfo, and 2–16 µs for the raw key of an X25519 JWK (measured here).
 */
function publicKeyObject(key: { type: PublicKey["type"] | "x25519"; raw: Uint8Array }): KeyObject {
  if (key.type === "ed25519" || key.type === "x25519") {
    const crv = key.type === "ed25519" ? "Ed25519" : "X25519";
    return node().crypto.createPublicKey({
      key: { kty: "OKP", crv, x: toBase64Url(key.raw) },
      format: "jwk",
    });
  }
  const n = (key.raw.length - 1) / 2; // an uncompressed point: 0x04 ‖ x ‖ y
  return node().crypto.createPublicKey({
    key: {
      kty: "EC",
      crv: key.type === "ec-p256" ? "P-256" : "P-384",
      x: toBase64Url(key.raw.subarray(1, 1 + n)),
      y: toBase64Url(key.raw.subarray(1 + n)),
    },
    format: "jwk",
  });
}

/** Certificate keys kept imported: 256 at most, none from over 2 KiB of key. */
const keyObjects = new ByteKeyedCache<KeyObject>(256, 2048);

/**
 * The KeyObject of a certificate's public key, imported once: a client meets the same server leaf and the
 * same CA again and again, and an import costs more than the signature check it serves (a JWK import was 7%
 * of a TLS 1.3 handshake on Node). Keyed by every byte of the key (public data; an ephemeral key share never
 * comes here), so a hit is the same key.
 */
function certificateKeyObject(key: PublicKey): KeyObject {
  // EC and Ed25519 keys as a JWK of the raw key (DER import costs more); RSA has no raw key here: its SPKI.
  if (key.raw !== undefined && key.type !== "rsa" && key.type !== "rsa-pss") {
    return keyObjects.get(key.type, key.raw, () => publicKeyObject({ type: key.type, raw: key.raw! }));
  }
  return keyObjects.get(
    "spki",
    key.spki,
    () => node().crypto.createPublicKey({ key: node().Buffer.from(key.spki), format: "der", type: "spki" }),
  );
}

const CURVE_NAMES = new Map<number, string>([[0x0017, "prime256v1"], [0x0018, "secp384r1"]]);

/** Deno has node:crypto too, with its own speeds (see the module doc). */
const ON_DENO = "Deno" in globalThis;

/** One side's native key pair: X25519 as KeyObjects, the NIST curves as an ECDH object. */
type NativePair = { readonly x25519: KeyObject } | { readonly ecdh: ECDH };

/** Groups the runtime's `node:crypto` could not generate once: noble from then on. */
const kxMissing = new Set<number>();

function generate(group: KxGroup): { publicKey: Uint8Array; pair: NativePair } | undefined {
  if (kxMissing.has(group.id)) return undefined;
  try {
    if (group.id === 0x001d) {
      // The public key comes encoded (as a JWK: OpenSSL 3.0's DER encoder costs 140 µs more) from the key
      // generation itself. Exporting it afterwards can deadlock Node 20: the export holds the key's mutex while
      // it allocates, and a garbage collection then may run the finished generation job's destructor, which
      // takes the same mutex (a hang about once in 100,000 handshakes; gdb showed ~KeyGenJob under
      // ExportJWKEdKey). During generateKeyPairSync the job is alive, so its own encoding is safe.
      const { publicKey, privateKey } = node().crypto.generateKeyPairSync("x25519", {
        publicKeyEncoding: { format: "jwk" },
      } as NodeCrypto.X25519KeyPairKeyObjectOptions) as unknown as {
        publicKey: JsonWebKey;
        privateKey: KeyObject;
      };
      const raw = new Uint8Array(node().Buffer.from(publicKey.x ?? "", "base64url"));
      if (raw.length !== 32) throw new Error("unexpected X25519 public key"); // caught below: noble from now on
      return { publicKey: raw, pair: { x25519: privateKey } };
    }
    const curve = CURVE_NAMES.get(group.id);
    if (!curve) return undefined;
    const ecdh = node().crypto.createECDH(curve);
    return { publicKey: new Uint8Array(ecdh.generateKeys()), pair: { ecdh } };
  } catch {
    kxMissing.add(group.id);
    return undefined;
  }
}

/** Raw X25519 private keys imported into node:crypto, per share object (an HPKE recipient's static key). */
const importedShares = new WeakMap<KeyShare, NativePair>();

/**
 * A raw X25519 private key as a native key, imported once per share (a JWK with `d` and `x`, about 45 µs,
 * against 1–1.4 ms for noble's scalar multiplication on Node); undefined where node:crypto cannot (noble then).
 */
function importedX25519(group: KxGroup, mine: KeyShare): NativePair | undefined {
  if (group.id !== 0x001d || kxMissing.has(group.id) || mine.privateKey.length !== 32) return undefined;
  let pair = importedShares.get(mine);
  if (!pair) {
    try {
      const key = node().crypto.createPrivateKey({
        key: { kty: "OKP", crv: "X25519", d: toBase64Url(mine.privateKey), x: toBase64Url(mine.publicKey) },
        format: "jwk",
      });
      pair = { x25519: key };
    } catch {
      return undefined;
    }
    importedShares.set(mine, pair);
  }
  return pair;
}

function derive(group: KxGroup, pair: NativePair, peer: Uint8Array): Uint8Array {
  checkPeerShare(group, peer);
  let secret: Buffer;
  try {
    if ("x25519" in pair) {
      const publicKey = publicKeyObject({ type: "x25519", raw: peer });
      secret = node().crypto.diffieHellman({ privateKey: pair.x25519, publicKey });
    } else secret = pair.ecdh.computeSecret(peer);
  } catch {
    // OpenSSL refuses an all-zero X25519 result (a low-order point) by throwing.
    throw new KxError(`Cannot use ${group.name} key share: point has low order`);
  }
  return checkedSecret(group, new Uint8Array(secret));
}

// ---- signatures ------------------------------------------------------------------------------------------

const NODE_HASH: Readonly<Record<SignatureHash, string>> = {
  "SHA-256": "sha256",
  "SHA-384": "sha384",
  "SHA-512": "sha512",
};

/** A certificate signature on node:crypto, synchronously (see `verifyX509Signature`'s `native`). */
function verifyX509Native(
  kind: NativeX509Kind,
  hash: SignatureHash | undefined,
  key: PublicKey,
  message: Uint8Array,
  signature: Uint8Array,
): boolean | undefined {
  const name = hash === undefined ? null : NODE_HASH[hash];
  if (name === undefined) return undefined;
  try {
    const publicKey = certificateKeyObject(key);
    if (kind === "ecdsa") {
      return node().crypto.verify(name, message, { key: publicKey, dsaEncoding: "der" }, signature);
    }
    return node().crypto.verify(name, message, publicKey, signature); // Ed25519 (no hash); RSA PKCS#1 v1.5
  } catch {
    return false; // a key or signature node:crypto cannot read does not verify (noble says "invalid" too)
  }
}

function verify(
  scheme: number,
  key: PublicKey,
  message: Uint8Array,
  signature: Uint8Array,
  tls12: boolean,
): boolean | Promise<boolean> {
  const info = signatureScheme(scheme);
  if (info === undefined) return false;
  const ec = key.type === "ec-p256" || key.type === "ec-p384";
  // TLS 1.2's ECDSA code points fix the hash only; the key's own curve is used (see `verifySignature`).
  const ecdsa = info.kind === "ecdsa" && ec && (tls12 || info.key === key.type);
  const eddsa = info.kind === "eddsa" && key.type === "ed25519";
  if ((!ecdsa && !eddsa) || !key.raw) return verifySignature(scheme, key, message, signature, tls12); // RSA…
  try {
    const publicKey = certificateKeyObject(key);
    if (eddsa) return node().crypto.verify(null, message, publicKey, signature);
    return node().crypto.verify(
      NODE_HASH[info.hash],
      message,
      { key: publicKey, dsaEncoding: "der" },
      signature,
    );
  } catch {
    return false;
  }
}

/** The DER of a PEM key in a form `createPrivateKey` takes, or of PKCS#8 DER bytes. */
function privateDer(pemOrDer: string | Uint8Array): { key: Buffer; format: "der"; type: "pkcs8" | "sec1" } {
  if (typeof pemOrDer !== "string") {
    return { key: node().Buffer.from(pemOrDer), format: "der", type: "pkcs8" };
  }
  const [pkcs8] = pemDecode(pemOrDer, "PRIVATE KEY");
  if (pkcs8) return { key: node().Buffer.from(pkcs8), format: "der", type: "pkcs8" };
  const [sec1] = pemDecode(pemOrDer, "EC PRIVATE KEY");
  if (sec1) return { key: node().Buffer.from(sec1), format: "der", type: "sec1" };
  throw new SyntaxError("Cannot load private key: no PEM block node:crypto signs with");
}

async function loadPrivateKey(
  pemOrDer: string | Uint8Array,
  options?: { readonly passphrase?: string },
): Promise<SigningKey> {
  // airlock's own loader checks the key and knows its public key and schemes; RSA keys stay as it made them.
  // (An encrypted key is decrypted there; node:crypto cannot read it without the passphrase: WebCrypto signs.)
  const base = await webCryptoProvider.loadPrivateKey(pemOrDer, options);
  if (base.type !== "ec-p256" && base.type !== "ec-p384" && base.type !== "ed25519") return base;
  let key: KeyObject;
  try {
    key = node().crypto.createPrivateKey(privateDer(pemOrDer));
  } catch {
    return base; // the runtime cannot load it: the key signs as webCryptoProvider's would
  }
  const all = base.tls12Schemes ?? base.schemes;
  return customSigningKey(base.publicKey, base.schemes, (scheme, message) => {
    const info = signatureScheme(scheme);
    if (!info || !all.includes(scheme)) {
      throw new RangeError(
        `Cannot sign with scheme 0x${scheme.toString(16).padStart(4, "0")}: not this key's`,
      );
    }
    if (info.kind === "eddsa") return new Uint8Array(node().crypto.sign(null, message, key));
    return new Uint8Array(node().crypto.sign(NODE_HASH[info.hash], message, { key, dsaEncoding: "der" }));
  }, base.tls12Schemes);
}

type KemCrypto = typeof NodeCrypto & {
  encapsulate?(key: KeyObject): { ciphertext: Buffer; sharedKey: Buffer };
  decapsulate?(key: KeyObject, ciphertext: Uint8Array): Buffer;
};

/**
 * node:crypto's ML-KEM-768 (Node 24.7 and later: synchronous, about 80 µs an operation), or undefined where
 * Node has none (then the runtime's WebCrypto, else noble). Tried once here, so that a runtime whose
 * node:crypto names the functions but lacks the algorithm or the raw key formats falls back at once.
 */
function nodeMlKem(): MlKem768 | undefined {
  let c: KemCrypto;
  try {
    c = node().crypto;
  } catch {
    return undefined;
  }
  if (typeof c.encapsulate !== "function" || typeof c.decapsulate !== "function") return undefined;
  const kem = c as Required<KemCrypto>; // called through the module, as it is at each call
  const generate = () => {
    // Encoded by the generation itself: no export() afterwards (see `generate` above).
    const pair = c.generateKeyPairSync("ml-kem-768" as "x25519", {
      publicKeyEncoding: { format: "raw-public" },
    } as unknown as NodeCrypto.X25519KeyPairKeyObjectOptions) as unknown as {
      publicKey: Buffer;
      privateKey: KeyObject;
    };
    return { publicKey: new Uint8Array(pair.publicKey), secretKey: pair.privateKey };
  };
  const importKey = (ek: Uint8Array) =>
    c.createPublicKey(
      { key: node().Buffer.from(ek), format: "raw-public", asymmetricKeyType: "ml-kem-768" } as never,
    );
  try {
    const probe = generate();
    const { ciphertext, sharedKey } = kem.encapsulate(importKey(probe.publicKey));
    if (!ctEqual(new Uint8Array(kem.decapsulate(probe.secretKey, ciphertext)), new Uint8Array(sharedKey))) {
      return undefined;
    }
  } catch {
    return undefined;
  }
  return {
    generate,
    encapsulate(ek) {
      const { ciphertext, sharedKey } = kem.encapsulate(importKey(ek));
      return { cipherText: new Uint8Array(ciphertext), sharedSecret: new Uint8Array(sharedKey) };
    },
    decapsulate: (cipherText, secretKey) =>
      new Uint8Array(kem.decapsulate(secretKey as KeyObject, node().Buffer.from(cipherText))),
  };
}

/**
 * X25519, P-256 and P-384 on node:crypto (noble where the runtime lacks one); the hybrid's X25519 half too, and
 * its ML-KEM-768 where node:crypto has it.
 */
const nodeKx = withHybridKx({
  keyShare(group: KxGroup, random: (n: number) => Uint8Array): KeyShare {
    const mine = generate(group);
    return mine ? nativeKeyShare(group.id, mine.publicKey, mine.pair) : group.generate(random);
  },
  respond(group: KxGroup, peerShare: Uint8Array, random: (n: number) => Uint8Array): KxResponse {
    if (kxMissing.has(group.id) || !(group.id === 0x001d || CURVE_NAMES.has(group.id))) {
      return group.respond(peerShare, random);
    }
    checkPeerShare(group, peerShare); // before our key pair is made, as noble does
    const mine = generate(group);
    if (!mine) return group.respond(peerShare, random);
    return kxResponse(mine.publicKey, derive(group, mine.pair, peerShare));
  },
  sharedSecret(group: KxGroup, mine: KeyShare, peerPublic: Uint8Array): Uint8Array {
    const pair = (nativeKeyOf(mine) as NativePair | undefined) ?? importedX25519(group, mine);
    return pair ? derive(group, pair, peerPublic) : group.sharedSecret(mine.privateKey, peerPublic);
  },
}, nodeMlKem);

/**
 * `node:crypto` where the runtime has the primitive, then WebCrypto (RSA, and ML-KEM-768 where node:crypto
 * lacks it) and noble (anything the runtime lacks). The default on Node, Bun and Deno (where records go to
 * WebCrypto and noble).
 *
 * @example Every connection of a Node server on node:crypto
 * ```ts ignore
 * import { installDefaultProvider } from "@airlock/tls";
 * import { nodeCryptoProvider } from "@airlock/tls/adapters/node";
 * installDefaultProvider(nodeCryptoProvider);
 * ```
 *
 * @example One configuration
 * ```ts
 * import assert from "node:assert/strict";
 * import { nodeCryptoProvider } from "./node_crypto.ts";
 * const key = nodeCryptoProvider.aead("AES-128-GCM").importKey(new Uint8Array(16));
 * const sealed = key.seal(new Uint8Array(12), new Uint8Array(0), Uint8Array.of(1, 2, 3));
 * assert.deepEqual(key.open(new Uint8Array(12), new Uint8Array(0), sealed), Uint8Array.of(1, 2, 3));
 * ```
 */
export const nodeCryptoProvider: CryptoProvider = Object.freeze({
  name: "node",
  verify,
  verifyX509: (algorithm: Uint8Array, key: PublicKey, message: Uint8Array, signature: Uint8Array) =>
    verifyX509Signature(algorithm, key, message, signature, { webCrypto: true, native: verifyX509Native }),
  loadPrivateKey,
  ...nodeKx,
  // On Deno, node:crypto's AES-GCM runs at a fifth of Deno's WebCrypto: records go where webCryptoProvider
  // sends them (large ones to WebCrypto, the rest to noble), everything else stays here.
  aeadKey: ON_DENO ? webCryptoProvider.aeadKey : () => undefined,
  aead: ON_DENO ? webCryptoProvider.aead : once(nodeAead),
  hash: once(nodeHash),
});
