import assert from "node:assert/strict";
import {
  constants,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
  X509Certificate as NodeX509,
} from "node:crypto";
import { p256 } from "@noble/curves/nist.js";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  Certificate,
  Name,
  RelativeDistinguishedName,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from "@peculiar/asn1-x509";
import { PrivateKey, PrivateKeyInfo } from "@peculiar/asn1-pkcs8";
import { id_mgf1, id_RSASSA_PSS, id_sha384, RsaSaPssParams } from "@peculiar/asn1-rsa";
import { fromHex, utf8 } from "./bytes.ts";
import { webCryptoProvider } from "./provider.ts";
import { pemDecode, pemEncode } from "./pem.ts";
import {
  customSigningKey,
  loadPrivateKey,
  type PublicKey,
  publicKeyFromSpki,
  SIG_SCHEMES,
  verifySignature,
  verifyX509Signature,
} from "./sign.ts";
// In verify/ (it parses the certificate), tested here beside publicKeyFromSpki with the same keys.
import { publicKeyFromCertificate } from "../verify/mod.ts";

const S = SIG_SCHEMES;
const MESSAGE = utf8("TLS 1.3, server CertificateVerify\0 transcript hash goes here");

function spkiOf(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ type: "spki", format: "der" }));
}

function nodeKeys(
  type: "ec" | "ed25519" | "x25519" | "rsa",
  options: Record<string, unknown> = {},
) {
  // deno-lint-ignore no-explicit-any
  return generateKeyPairSync(type as any, options as any) as unknown as {
    publicKey: KeyObject;
    privateKey: KeyObject;
  };
}

function pkcs8Pem(key: KeyObject): string {
  return key.export({ type: "pkcs8", format: "pem" }) as string;
}

function flip(bytes: Uint8Array, index: number): Uint8Array {
  const out = bytes.slice();
  out[index < 0 ? out.length + index : index]! ^= 0x01;
  return out;
}

let rsaCache: ReturnType<typeof nodeKeys> | undefined;
function rsa2048() {
  return rsaCache ??= nodeKeys("rsa", { modulusLength: 2048 });
}

Deno.test("SIG_SCHEMES has the RFC 8446 §4.2.3 code points", () => {
  assert.deepEqual(SIG_SCHEMES, {
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
});

Deno.test("loadPrivateKey() P-256 PKCS#8 signs what node:crypto verifies, and vice versa", async () => {
  const { publicKey, privateKey } = nodeKeys("ec", { namedCurve: "P-256" });
  const key = await loadPrivateKey(pkcs8Pem(privateKey));
  assert.equal(key.type, "ec-p256");
  assert.deepEqual(key.schemes, [S.ecdsa_secp256r1_sha256]);
  assert.deepEqual(key.publicKey.spki, spkiOf(publicKey));
  assert.equal(key.publicKey.raw?.length, 65);
  const sig = await key.sign(S.ecdsa_secp256r1_sha256, MESSAGE);
  assert.ok(sig[0] === 0x30, "DER signature");
  assert.ok(nodeVerify("sha256", MESSAGE, { key: publicKey, dsaEncoding: "der" }, sig));
  assert.deepEqual(await key.sign(S.ecdsa_secp256r1_sha256, MESSAGE), sig, "RFC 6979 is deterministic");
  const theirs = new Uint8Array(nodeSign("sha256", MESSAGE, privateKey));
  const pub = publicKeyFromSpki(spkiOf(publicKey));
  assert.equal(await verifySignature(S.ecdsa_secp256r1_sha256, pub, MESSAGE, theirs), true);
  assert.equal(await verifySignature(S.ecdsa_secp256r1_sha256, key.publicKey, MESSAGE, sig), true);
});

Deno.test("loadPrivateKey() P-384 SEC1 PEM and DER PKCS#8 sign what node:crypto verifies", async () => {
  const { publicKey, privateKey } = nodeKeys("ec", { namedCurve: "P-384" });
  const sec1 = privateKey.export({ type: "sec1", format: "pem" }) as string;
  assert.match(sec1, /BEGIN EC PRIVATE KEY/);
  const fromSec1 = await loadPrivateKey(sec1);
  const fromDer = await loadPrivateKey(new Uint8Array(privateKey.export({ type: "pkcs8", format: "der" })));
  for (const key of [fromSec1, fromDer]) {
    assert.equal(key.type, "ec-p384");
    assert.deepEqual(key.schemes, [S.ecdsa_secp384r1_sha384]);
    assert.deepEqual(key.publicKey.spki, spkiOf(publicKey));
    const sig = await key.sign(S.ecdsa_secp384r1_sha384, MESSAGE);
    assert.ok(nodeVerify("sha384", MESSAGE, { key: publicKey, dsaEncoding: "der" }, sig));
  }
  const theirs = new Uint8Array(nodeSign("sha384", MESSAGE, privateKey));
  assert.equal(await verifySignature(S.ecdsa_secp384r1_sha384, fromSec1.publicKey, MESSAGE, theirs), true);
});

Deno.test("loadPrivateKey() Ed25519 PKCS#8 signs what node:crypto verifies, and vice versa", async () => {
  const { publicKey, privateKey } = nodeKeys("ed25519");
  const key = await loadPrivateKey(pkcs8Pem(privateKey));
  assert.equal(key.type, "ed25519");
  assert.deepEqual(key.schemes, [S.ed25519]);
  assert.deepEqual(key.publicKey.spki, spkiOf(publicKey));
  assert.equal(key.publicKey.raw?.length, 32);
  const sig = await key.sign(S.ed25519, MESSAGE);
  assert.equal(sig.length, 64);
  assert.ok(nodeVerify(null, MESSAGE, publicKey, sig));
  const theirs = new Uint8Array(nodeSign(null, MESSAGE, privateKey));
  assert.deepEqual(theirs, sig, "Ed25519 is deterministic");
  const pub = publicKeyFromSpki(spkiOf(publicKey));
  assert.equal(await verifySignature(S.ed25519, pub, MESSAGE, theirs), true);
  assert.equal(await verifySignature(S.ed25519, pub, MESSAGE, flip(theirs, 10)), false);
});

Deno.test("loadPrivateKey() RSA 2048 PKCS#8 and PKCS#1 sign RSA-PSS and PKCS#1 v1.5 that node:crypto verifies", async () => {
  const { publicKey, privateKey } = rsa2048();
  const pkcs1 = privateKey.export({ type: "pkcs1", format: "pem" }) as string;
  assert.match(pkcs1, /BEGIN RSA PRIVATE KEY/);
  const keys = [await loadPrivateKey(pkcs8Pem(privateKey)), await loadPrivateKey(pkcs1)];
  for (const key of keys) {
    assert.equal(key.type, "rsa");
    // PSS first; PKCS#1 v1.5 last, for TLS 1.2 peers only.
    assert.deepEqual(key.schemes, [
      S.rsa_pss_rsae_sha256,
      S.rsa_pss_rsae_sha384,
      S.rsa_pss_rsae_sha512,
      S.rsa_pkcs1_sha256,
      S.rsa_pkcs1_sha384,
      S.rsa_pkcs1_sha512,
    ]);
    assert.deepEqual(key.publicKey.spki, spkiOf(publicKey));
    assert.equal(key.publicKey.bits, 2048);
    assert.equal(key.publicKey.raw, undefined);
    for (
      const [scheme, hash, saltLength] of [[0x0804, "sha256", 32], [0x0805, "sha384", 48], [
        0x0806,
        "sha512",
        64,
      ]] as const
    ) {
      const sig = await key.sign(scheme, MESSAGE);
      assert.equal(sig.length, 256);
      const padding = constants.RSA_PKCS1_PSS_PADDING;
      assert.ok(nodeVerify(hash, MESSAGE, { key: publicKey, padding, saltLength }, sig), hash);
      assert.equal(await verifySignature(scheme, key.publicKey, MESSAGE, sig), true);
    }
    for (const [scheme, hash] of [[0x0401, "sha256"], [0x0501, "sha384"], [0x0601, "sha512"]] as const) {
      const sig = await key.sign(scheme, MESSAGE);
      const padding = constants.RSA_PKCS1_PADDING;
      assert.ok(nodeVerify(hash, MESSAGE, { key: publicKey, padding }, sig), `pkcs1 ${hash}`);
      assert.equal(await verifySignature(scheme, key.publicKey, MESSAGE, sig), true);
    }
  }
});

Deno.test("verifySignature() accepts node:crypto RSA-PSS and PKCS#1 v1.5 signatures", async () => {
  const { publicKey, privateKey } = rsa2048();
  const pub = publicKeyFromSpki(spkiOf(publicKey));
  assert.equal(pub.type, "rsa");
  assert.equal(pub.bits, 2048);
  const padding = constants.RSA_PKCS1_PSS_PADDING;
  const pss = new Uint8Array(nodeSign("sha384", MESSAGE, { key: privateKey, padding, saltLength: 48 }));
  assert.equal(await verifySignature(S.rsa_pss_rsae_sha384, pub, MESSAGE, pss), true);
  assert.equal(await verifySignature(S.rsa_pss_rsae_sha256, pub, MESSAGE, pss), false);
  assert.equal(await verifySignature(S.rsa_pss_rsae_sha384, pub, MESSAGE, flip(pss, -1)), false);
  assert.equal(await verifySignature(S.rsa_pss_rsae_sha384, pub, utf8("other"), pss), false);
  const wrongSalt = new Uint8Array(nodeSign("sha384", MESSAGE, { key: privateKey, padding, saltLength: 20 }));
  assert.equal(await verifySignature(S.rsa_pss_rsae_sha384, pub, MESSAGE, wrongSalt), false);
  const pkcs1 = new Uint8Array(nodeSign("sha256", MESSAGE, privateKey));
  assert.equal(await verifySignature(S.rsa_pkcs1_sha256, pub, MESSAGE, pkcs1), true);
  assert.equal(await verifySignature(S.rsa_pkcs1_sha384, pub, MESSAGE, pkcs1), false);
  assert.equal(await verifySignature(S.rsa_pss_rsae_sha256, pub, MESSAGE, pkcs1), false);
  assert.equal(await verifySignature(S.rsa_pss_rsae_sha256, pub, MESSAGE, new Uint8Array(3)), false);
});

/** Re-wrap the shared RSA key as an id-RSASSA-PSS PKCS#8 key (not every runtime's node:crypto can export one). */
function rsaPssPkcs8(hash?: "sha384"): Uint8Array {
  const pkcs1 = new Uint8Array(rsa2048().privateKey.export({ type: "pkcs1", format: "der" }));
  const sha384 = new AlgorithmIdentifier({ algorithm: id_sha384, parameters: null });
  const params = hash && new RsaSaPssParams({
    hashAlgorithm: sha384,
    maskGenAlgorithm: new AlgorithmIdentifier({
      algorithm: id_mgf1,
      parameters: AsnConvert.serialize(sha384),
    }),
    saltLength: 48,
  });
  const algorithm = new AlgorithmIdentifier({
    algorithm: id_RSASSA_PSS,
    ...(params ? { parameters: AsnConvert.serialize(params) } : {}),
  });
  return new Uint8Array(
    AsnConvert.serialize(
      new PrivateKeyInfo({ privateKeyAlgorithm: algorithm, privateKey: new PrivateKey(pkcs1) }),
    ),
  );
}

Deno.test("loadPrivateKey() id-RSASSA-PSS keys sign rsa_pss_pss_* only", async () => {
  const rsaPublic = rsa2048().publicKey;
  const padding = constants.RSA_PKCS1_PSS_PADDING;
  const key = await loadPrivateKey(pemEncode(rsaPssPkcs8("sha384"), "PRIVATE KEY"));
  assert.equal(key.type, "rsa-pss");
  assert.equal(key.publicKey.bits, 2048);
  assert.deepEqual(key.schemes, [S.rsa_pss_pss_sha384], "parameters restrict the hash");
  const spki = AsnConvert.parse(key.publicKey.spki, SubjectPublicKeyInfo);
  assert.equal(spki.algorithm.algorithm, id_RSASSA_PSS);
  assert.equal(AsnConvert.parse(spki.algorithm.parameters!, RsaSaPssParams).saltLength, 48);
  assert.deepEqual(
    new Uint8Array(spki.subjectPublicKey),
    new Uint8Array(rsaPublic.export({ type: "pkcs1", format: "der" })),
  );
  const sig = await key.sign(S.rsa_pss_pss_sha384, MESSAGE);
  assert.ok(nodeVerify("sha384", MESSAGE, { key: rsaPublic, padding, saltLength: 48 }, sig));
  const pub = publicKeyFromSpki(key.publicKey.spki);
  assert.equal(pub.type, "rsa-pss");
  assert.equal(await verifySignature(S.rsa_pss_pss_sha384, pub, MESSAGE, sig), true);
  assert.equal(await verifySignature(S.rsa_pss_rsae_sha384, pub, MESSAGE, sig), false, "rsae with a pss key");
  const sig256 = new Uint8Array(
    nodeSign("sha256", MESSAGE, { key: rsa2048().privateKey, padding, saltLength: 32 }),
  );
  assert.equal(await verifySignature(S.rsa_pss_pss_sha256, pub, MESSAGE, sig256), false, "hash restricted");
  assert.throws(() => key.sign(S.rsa_pss_pss_sha256, MESSAGE), RangeError);

  const open = await loadPrivateKey(rsaPssPkcs8());
  assert.equal(open.type, "rsa-pss");
  assert.deepEqual(open.schemes, [S.rsa_pss_pss_sha256, S.rsa_pss_pss_sha384, S.rsa_pss_pss_sha512]);
  const sig512 = await open.sign(S.rsa_pss_pss_sha512, MESSAGE);
  assert.equal(await verifySignature(S.rsa_pss_pss_sha512, open.publicKey, MESSAGE, sig512), true);
  assert.equal(await verifySignature(S.rsa_pss_pss_sha256, open.publicKey, MESSAGE, sig256), true);
  assert.ok(nodeVerify("sha512", MESSAGE, { key: rsaPublic, padding, saltLength: 64 }, sig512));
});

Deno.test("verifySignature() rejects tampered and malformed ECDSA signatures", async () => {
  const key = await loadPrivateKey(pkcs8Pem(nodeKeys("ec", { namedCurve: "P-256" }).privateKey));
  const sig = (await key.sign(S.ecdsa_secp256r1_sha256, MESSAGE)) as Uint8Array;
  const pub = key.publicKey;
  assert.equal(verifySignature(S.ecdsa_secp256r1_sha256, pub, MESSAGE, sig), true);
  assert.equal(verifySignature(S.ecdsa_secp256r1_sha256, pub, MESSAGE, flip(sig, -1)), false);
  assert.equal(verifySignature(S.ecdsa_secp256r1_sha256, pub, flip(MESSAGE, 0), sig), false);
  assert.equal(
    verifySignature(S.ecdsa_secp256r1_sha256, pub, MESSAGE, flip(sig, 1)),
    false,
    "bad DER length",
  );
  assert.equal(verifySignature(S.ecdsa_secp256r1_sha256, pub, MESSAGE, new Uint8Array(0)), false);
  assert.equal(verifySignature(S.ecdsa_secp256r1_sha256, pub, MESSAGE, new Uint8Array([...sig, 0])), false);
  const compact = p256.Signature.fromBytes(sig, "der").toBytes("compact");
  assert.equal(
    verifySignature(S.ecdsa_secp256r1_sha256, pub, MESSAGE, compact),
    false,
    "raw r||s is not DER",
  );
});

Deno.test("verifySignature() accepts high-S ECDSA signatures", async () => {
  const key = await loadPrivateKey(pkcs8Pem(nodeKeys("ec", { namedCurve: "P-256" }).privateKey));
  const sig = p256.Signature.fromBytes(
    (await key.sign(S.ecdsa_secp256r1_sha256, MESSAGE)) as Uint8Array,
    "der",
  );
  const highS = new p256.Signature(sig.r, p256.Point.Fn.ORDER - sig.s).toBytes("der");
  assert.equal(verifySignature(S.ecdsa_secp256r1_sha256, key.publicKey, MESSAGE, highS), true);
});

Deno.test("verifySignature() rejects schemes that do not fit the key", async () => {
  const p256Key =
    (await loadPrivateKey(pkcs8Pem(nodeKeys("ec", { namedCurve: "P-256" }).privateKey))).publicKey;
  const p384Key =
    (await loadPrivateKey(pkcs8Pem(nodeKeys("ec", { namedCurve: "P-384" }).privateKey))).publicKey;
  const edKey = (await loadPrivateKey(pkcs8Pem(nodeKeys("ed25519").privateKey))).publicKey;
  const rsaKey = publicKeyFromSpki(spkiOf(rsa2048().publicKey));
  const any = new Uint8Array(64);
  const cases: [number, PublicKey][] = [
    [S.ecdsa_secp384r1_sha384, p256Key],
    [S.ecdsa_secp256r1_sha256, p384Key],
    [S.ed25519, p256Key],
    [S.ecdsa_secp256r1_sha256, edKey],
    [S.rsa_pss_rsae_sha256, p256Key],
    [S.rsa_pss_pss_sha256, rsaKey],
    [S.ecdsa_secp256r1_sha256, rsaKey],
    [0x0201, rsaKey], // rsa_pkcs1_sha1: unsupported
    [0x0808, edKey], // ed448: unsupported
  ];
  for (const [scheme, key] of cases) assert.equal(await verifySignature(scheme, key, MESSAGE, any), false);
});

Deno.test("SigningKey.sign() rejects schemes the key does not offer", async () => {
  const ec = await loadPrivateKey(pkcs8Pem(nodeKeys("ec", { namedCurve: "P-256" }).privateKey));
  assert.throws(() => ec.sign(S.rsa_pss_rsae_sha256, MESSAGE), RangeError);
  assert.throws(() => ec.sign(S.ed25519, MESSAGE), RangeError);
  const rsa = await loadPrivateKey(pkcs8Pem(rsa2048().privateKey));
  assert.throws(() => rsa.sign(S.ecdsa_secp256r1_sha256, MESSAGE), RangeError);
  assert.throws(() => rsa.sign(S.rsa_pss_pss_sha256, MESSAGE), RangeError);
});

Deno.test("an EC key signs the other ECDSA hash with its own curve for TLS 1.2 (tls12Schemes), verified as TLS 1.2 does", async () => {
  for (
    const [curve, own, other] of [["P-256", S.ecdsa_secp256r1_sha256, S.ecdsa_secp384r1_sha384], [
      "P-384",
      S.ecdsa_secp384r1_sha384,
      S.ecdsa_secp256r1_sha256,
    ]] as const
  ) {
    const key = await loadPrivateKey(pkcs8Pem(nodeKeys("ec", { namedCurve: curve }).privateKey));
    assert.deepEqual(key.schemes, [own]);
    assert.deepEqual(key.tls12Schemes, [own, other]);
    const sig = await key.sign(other, MESSAGE);
    assert.equal(await verifySignature(other, key.publicKey, MESSAGE, sig, true), true);
    // TLS 1.3 binds the curve: the same signature is refused there.
    assert.equal(await verifySignature(other, key.publicKey, MESSAGE, sig, false), false);
    assert.equal(await verifySignature(other, key.publicKey, MESSAGE.slice(1), sig, true), false);
  }
});

Deno.test("loadPrivateKey() rejects unsupported and malformed input", async () => {
  await assert.rejects(loadPrivateKey("no key here"), SyntaxError);
  await assert.rejects(loadPrivateKey(pemEncode(new Uint8Array([1, 2, 3]), "CERTIFICATE")), SyntaxError);
  await assert.rejects(loadPrivateKey(pemEncode(new Uint8Array([1, 2, 3]), "PRIVATE KEY")), TypeError);
  await assert.rejects(loadPrivateKey(new Uint8Array([0x30, 0x00])), TypeError);
  const p521 = pkcs8Pem(nodeKeys("ec", { namedCurve: "P-521" }).privateKey);
  await assert.rejects(loadPrivateKey(p521), TypeError);
  const ed448 = new PrivateKeyInfo({
    privateKeyAlgorithm: new AlgorithmIdentifier({ algorithm: "1.3.101.113" }),
    privateKey: new PrivateKey(AsnConvert.serialize(new OctetString(new Uint8Array(57).fill(1)))),
  });
  await assert.rejects(loadPrivateKey(new Uint8Array(AsnConvert.serialize(ed448))), TypeError);
});

Deno.test("customSigningKey() wraps a custom sign function", async () => {
  const pub = (await loadPrivateKey(pkcs8Pem(nodeKeys("ed25519").privateKey))).publicKey;
  const fixed = fromHex("00".repeat(64));
  const key = customSigningKey(pub, [S.ed25519], () => fixed);
  assert.equal(key.type, "ed25519");
  assert.deepEqual(key.schemes, [S.ed25519]);
  assert.equal(key.publicKey, pub);
  assert.equal(await key.sign(S.ed25519, MESSAGE), fixed);
  assert.equal(verifySignature(S.ed25519, pub, MESSAGE, fixed), false);
  assert.ok(Object.isFrozen(key.schemes));
});

// --- certificates, built with asn1-x509 and signed by a node:crypto P-256 CA ---

const CA = nodeKeys("ec", { namedCurve: "P-256" });

function makeCertificate(subject: KeyObject | Uint8Array): Uint8Array {
  const name = new Name([
    new RelativeDistinguishedName([
      new AttributeTypeAndValue({
        type: "2.5.4.3",
        value: new AttributeValue({ utf8String: "airlock test" }),
      }),
    ]),
  ]);
  const ecdsaWithSha256 = new AlgorithmIdentifier({ algorithm: "1.2.840.10045.4.3.2" });
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: new Uint8Array([0x01, 0x02]).buffer,
    signature: ecdsaWithSha256,
    issuer: name,
    subject: name,
    validity: new Validity({
      notBefore: new Date("2024-01-01T00:00:00Z"),
      notAfter: new Date("2034-01-01T00:00:00Z"),
    }),
    subjectPublicKeyInfo: AsnConvert.parse(
      subject instanceof Uint8Array ? subject : spkiOf(subject),
      SubjectPublicKeyInfo,
    ),
  });
  const signature = nodeSign("sha256", new Uint8Array(AsnConvert.serialize(tbs)), CA.privateKey);
  const cert = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: ecdsaWithSha256,
    signatureValue: new Uint8Array(signature).buffer,
  });
  const der = new Uint8Array(AsnConvert.serialize(cert));
  assert.ok(new NodeX509(der).verify(CA.publicKey), "node:crypto accepts the test certificate");
  return der;
}

Deno.test("publicKeyFromCertificate() reads EC, Ed25519 and RSA subject keys", () => {
  const cases = [
    { keys: nodeKeys("ec", { namedCurve: "P-256" }), type: "ec-p256", raw: 65 },
    { keys: nodeKeys("ec", { namedCurve: "P-384" }), type: "ec-p384", raw: 97 },
    { keys: nodeKeys("ed25519"), type: "ed25519", raw: 32 },
    { keys: rsa2048(), type: "rsa", bits: 2048 },
  ];
  for (const { keys, type, raw, bits } of cases) {
    const cert = makeCertificate(keys.publicKey);
    const pub = publicKeyFromCertificate(cert);
    assert.equal(pub.type, type);
    assert.deepEqual(pub.spki, spkiOf(keys.publicKey));
    assert.equal(pub.raw?.length, raw);
    assert.equal(pub.bits, bits);
    const fromNode = createPublicKey({ key: Buffer.from(pub.spki), format: "der", type: "spki" });
    assert.ok(fromNode.equals(keys.publicKey));
  }
});

Deno.test("publicKeyFromCertificate() reads id-RSASSA-PSS subject keys", async () => {
  const key = await loadPrivateKey(rsaPssPkcs8("sha384"));
  const pub = publicKeyFromCertificate(makeCertificate(key.publicKey.spki));
  assert.equal(pub.type, "rsa-pss");
  assert.equal(pub.bits, 2048);
  assert.deepEqual(pub.spki, key.publicKey.spki);
});

Deno.test("publicKeyFromCertificate() key verifies the subject's signatures", async () => {
  const { publicKey, privateKey } = nodeKeys("ec", { namedCurve: "P-256" });
  const pub = publicKeyFromCertificate(makeCertificate(publicKey));
  const sig = new Uint8Array(nodeSign("sha256", MESSAGE, privateKey));
  assert.equal(await verifySignature(S.ecdsa_secp256r1_sha256, pub, MESSAGE, sig), true);
});

Deno.test("publicKeyFromCertificate() rejects malformed certificates and unsupported keys", () => {
  const cert = makeCertificate(nodeKeys("ec", { namedCurve: "P-256" }).publicKey);
  assert.throws(() => publicKeyFromCertificate(cert.subarray(0, cert.length - 10)), TypeError);
  assert.throws(() => publicKeyFromCertificate(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00])), TypeError);
  assert.throws(() => publicKeyFromCertificate(new Uint8Array(0)), TypeError);
  const p521 = makeCertificate(nodeKeys("ec", { namedCurve: "P-521" }).publicKey);
  assert.throws(() => publicKeyFromCertificate(p521), TypeError);
  const x25519 = makeCertificateUnsigned(nodeKeys("x25519").publicKey);
  assert.throws(() => publicKeyFromCertificate(x25519), TypeError);
});

/** A certificate for a key that cannot sign (X25519): build it, skip node's check. */
function makeCertificateUnsigned(subject: KeyObject): Uint8Array {
  const cert = AsnConvert.parse(makeCertificate(CA.publicKey), Certificate);
  cert.tbsCertificate.subjectPublicKeyInfo = AsnConvert.parse(spkiOf(subject), SubjectPublicKeyInfo);
  return new Uint8Array(AsnConvert.serialize(cert));
}

Deno.test("publicKeyFromSpki() rejects EC points off the curve and bad Ed25519 keys", () => {
  const spki = spkiOf(nodeKeys("ec", { namedCurve: "P-256" }).publicKey);
  assert.equal(publicKeyFromSpki(spki).type, "ec-p256");
  assert.throws(() => publicKeyFromSpki(flip(spki, -1)), TypeError);
  const ed = AsnConvert.parse(spkiOf(nodeKeys("ed25519").publicKey), SubjectPublicKeyInfo);
  ed.subjectPublicKey = new Uint8Array(31).buffer;
  assert.throws(() => publicKeyFromSpki(new Uint8Array(AsnConvert.serialize(ed))), TypeError);
});

Deno.test("publicKeyFromSpki() expands a compressed EC point into raw", () => {
  const spki = spkiOf(nodeKeys("ec", { namedCurve: "P-256" }).publicKey);
  const info = AsnConvert.parse(spki, SubjectPublicKeyInfo);
  const full = new Uint8Array(info.subjectPublicKey);
  info.subjectPublicKey = p256.Point.fromBytes(full).toBytes(true).slice().buffer;
  const pub = publicKeyFromSpki(new Uint8Array(AsnConvert.serialize(info)));
  assert.deepEqual(pub.raw, full);
});

Deno.test("loadPrivateKey() PEM with other blocks picks the key block", async () => {
  const { privateKey } = nodeKeys("ec", { namedCurve: "P-256" });
  const text = pemEncode(new Uint8Array([1]), "CERTIFICATE") + pkcs8Pem(privateKey);
  assert.equal((await loadPrivateKey(text)).type, "ec-p256");
  assert.equal(pemDecode(text).length, 2);
});

/** An EC P-256 key, and the same key as `openssl pkcs8 -topk8` encrypts it with the passphrase "correct-horse". */
const PLAIN_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgYnvg0QAq8JCeI5uL
ekK2msQ2RaZ84Cd6Mk5xImQ8oiKhRANCAASYPojDXUAm+SwiY8/xrpypX+4RNRKV
3Ro5zsYmpVeMWz8cCcMiFKgWMc1ZQLjT7KFB55r6Se7OvVWLNS8GRO5q
-----END PRIVATE KEY-----\n`;
/** -v2 aes-256-cbc (PBKDF2 with hmacWithSHA256, 2,048 iterations: OpenSSL 3's defaults). */
const ENCRYPTED_AES256 = `-----BEGIN ENCRYPTED PRIVATE KEY-----
MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAgwxnPhmpUz/gICCAAw
DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEJDy0x8RCHS9w4ie/W8AoG0EgZD5
tIa74FynHzVLPmKm/BP87vwlXVyy2zqGPm65cUU3nRHzFFjsuHQK71C0JKB0giKx
yg4Z9uXUaYkREY+ZOsZbDoBPXUdIsIkH3zH9N6zutmqh4O7UfTlyQbxA3Bsbrvh0
Vdh59DKi+g7Nff/h3j6n/OHW0undS1lcP0X9HbdP1yGuY5gSoyQ8lkuPHxw43Hg=
-----END ENCRYPTED PRIVATE KEY-----\n`;
/** -v2 aes-128-cbc -v2prf hmacWithSHA1 -iter 1000. */
const ENCRYPTED_AES128_SHA1 = `-----BEGIN ENCRYPTED PRIVATE KEY-----
MIHeMEkGCSqGSIb3DQEFDTA8MBsGCSqGSIb3DQEFDDAOBAjA4RvSkV7eKgICA+gw
HQYJYIZIAWUDBAECBBC+z7YeNCqukci4BzE+XNHuBIGQcc42mxcKSTj+7LkLZXZH
3lK32ySG4GvL+pCu0km8jw8FtC4F5bs0xhFbqOmtyu2Lpa5k3afZ7iWtpec4Z1Zw
u1S4crv9BcVbgVAK7AtTgaqIsXKJZ8ALfqlbu7ihFopelqk6sVXoPMV0MkatLqJg
RbzTfzjuoJsAqtVXvEfG2cjufrGocipfW95DVr++Lv/L
-----END ENCRYPTED PRIVATE KEY-----\n`;

Deno.test("loadPrivateKey() decrypts PBES2 PKCS#8 keys with their passphrase, and says what is wrong otherwise", async () => {
  const plain = await loadPrivateKey(PLAIN_KEY);
  for (const pem of [ENCRYPTED_AES256, ENCRYPTED_AES128_SHA1]) {
    const key = await loadPrivateKey(pem, { passphrase: "correct-horse" });
    assert.deepEqual(key.publicKey, plain.publicKey);
    const sig = await key.sign(S.ecdsa_secp256r1_sha256, MESSAGE);
    assert.equal(await verifySignature(S.ecdsa_secp256r1_sha256, plain.publicKey, MESSAGE, sig), true);
    await assert.rejects(loadPrivateKey(pem, { passphrase: "battery-staple" }), /wrong passphrase/);
    await assert.rejects(
      loadPrivateKey(pem),
      /it is encrypted \(PKCS#8 ENCRYPTED PRIVATE KEY\); pass its passphrase/,
    );
  }
  // The WebCrypto provider's loader takes it too.
  const native = await webCryptoProvider.loadPrivateKey(ENCRYPTED_AES256, { passphrase: "correct-horse" });
  assert.deepEqual(native.publicKey, plain.publicKey);
  // Unsupported schemes are named, not misread: PBES1 (pbeWithMD5AndDES-CBC) here.
  const pbes1 = pemEncode(
    fromHex("3025301b06092a864886f70d010503300e04080001020304050607020208000406000000000000"),
    "ENCRYPTED PRIVATE KEY",
  );
  await assert.rejects(loadPrivateKey(pbes1, { passphrase: "x" }), /is not PBES2/);
});

Deno.test("loadPrivateKey() refuses legacy encrypted PEM and says how to convert it", async () => {
  const legacy =
    "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
  await assert.rejects(
    loadPrivateKey(legacy),
    /legacy encrypted PEM \(Proc-Type: 4,ENCRYPTED\) is not supported; decrypt it with `openssl pkey/,
  );
});

Deno.test("verifyX509Signature() reads the AlgorithmIdentifier: its OID, absent or NULL parameters, nothing after", async () => {
  const keys = nodeKeys("ec", { namedCurve: "P-256" });
  const key = publicKeyFromSpki(spkiOf(keys.publicKey));
  const message = utf8("tbsCertificate");
  const signature = new Uint8Array(nodeSign("sha256", message, keys.privateKey));
  const der = (alg: AlgorithmIdentifier) => new Uint8Array(AsnConvert.serialize(alg));
  const ecdsa = der(new AlgorithmIdentifier({ algorithm: "1.2.840.10045.4.3.2" }));
  assert.equal(await verifyX509Signature(ecdsa, key, message, signature), "valid");
  assert.equal(await verifyX509Signature(ecdsa, key, utf8("another"), signature), "invalid");
  // RFC 5758 §3.2 wants ECDSA's parameters absent; a NULL is read as absent (as it always was here), other
  // parameters are not supported.
  const withNull = der(new AlgorithmIdentifier({ algorithm: "1.2.840.10045.4.3.2", parameters: null }));
  assert.equal(await verifyX509Signature(withNull, key, message, signature), "valid");
  const withOid = der(
    new AlgorithmIdentifier({
      algorithm: "1.2.840.10045.4.3.2",
      parameters: new Uint8Array([6, 1, 42]).buffer,
    }),
  );
  assert.equal(await verifyX509Signature(withOid, key, message, signature), "unsupported");
  const after = new Uint8Array([...ecdsa, 0x05, 0x00]);
  assert.equal(await verifyX509Signature(after, key, message, signature), "unsupported", "bytes after it");
  assert.equal(await verifyX509Signature(ecdsa.subarray(0, 5), key, message, signature), "unsupported");
  // An RSA algorithm with the EC key: the algorithm does not fit the key.
  const pkcs1 = der(new AlgorithmIdentifier({ algorithm: "1.2.840.113549.1.1.11", parameters: null }));
  assert.equal(await verifyX509Signature(pkcs1, key, message, signature), "invalid");
  // RSASSA-PSS parameters are read: SHA-384 with MGF1-SHA-384 and a 48-byte salt is supported.
  const rsa = rsa2048();
  const rsaKey = publicKeyFromSpki(spkiOf(rsa.publicKey));
  const pssSig = new Uint8Array(nodeSign("sha384", message, {
    key: rsa.privateKey,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: 48,
  }));
  const sha384 = new AlgorithmIdentifier({ algorithm: id_sha384, parameters: null });
  const pss = der(
    new AlgorithmIdentifier({
      algorithm: id_RSASSA_PSS,
      parameters: AsnConvert.serialize(
        new RsaSaPssParams({
          hashAlgorithm: sha384,
          maskGenAlgorithm: new AlgorithmIdentifier({
            algorithm: id_mgf1,
            parameters: AsnConvert.serialize(sha384),
          }),
          saltLength: 48,
        }),
      ),
    }),
  );
  assert.equal(await verifyX509Signature(pss, rsaKey, message, pssSig), "valid");
  const pssDefaults = der(new AlgorithmIdentifier({ algorithm: id_RSASSA_PSS }));
  assert.equal(
    await verifyX509Signature(pssDefaults, rsaKey, message, pssSig),
    "unsupported",
    "SHA-1 defaults",
  );
});
