/**
 * The test PKI: WebCrypto keys made at test time (no committed private keys) and certificates encoded by a
 * tiny DER writer. Two levels over the same writer:
 *
 * - {@linkcode issue} (with {@linkcode root}, {@linkcode intermediate}, {@linkcode leaf}) sets every field,
 *   including the ones real CAs must not get wrong (versions, critical flags, odd extensions, signature
 *   algorithms): the verify/ tests use it.
 * - {@linkcode generateTestCertificate} (a self-signed leaf per key type) and {@linkcode generateChain} (a
 *   fresh root, an optional intermediate and a leaf) hand over DER, PEM and the PKCS#8 key, ready for an
 *   engine or a peer program: the TLS tests, bench/ and fuzz/ use them.
 *
 * @module
 */

import { pemEncode } from "../suites/pem.ts";

// ---------------------------------------------------------------------------------------------------------
// DER writer

function lengthBytes(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  while (n > 0) {
    out.unshift(n & 0xff);
    n = Math.floor(n / 256);
  }
  return [0x80 | out.length, ...out];
}

/** One DER element from a tag and its contents. */
export function tlv(tag: number, ...contents: Uint8Array[]): Uint8Array {
  const length = contents.reduce((n, c) => n + c.length, 0);
  const head = [tag, ...lengthBytes(length)];
  const out = new Uint8Array(head.length + length);
  out.set(head);
  let at = head.length;
  for (const c of contents) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** A SEQUENCE of the given elements. */
export const seq = (...items: Uint8Array[]): Uint8Array => tlv(0x30, ...items);

/** An OBJECT IDENTIFIER from dotted text. */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map(Number);
  const bytes: number[] = [];
  const push = (n: number) => {
    const chunk = [n & 0x7f];
    for (n = Math.floor(n / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift(0x80 | (n & 0x7f));
    bytes.push(...chunk);
  };
  push(arcs[0]! * 40 + arcs[1]!);
  for (const arc of arcs.slice(2)) push(arc);
  return tlv(0x06, new Uint8Array(bytes));
}

/** A non-negative INTEGER. */
export function int(n: number | Uint8Array): Uint8Array {
  let bytes: number[];
  if (typeof n === "number") {
    bytes = [];
    do {
      bytes.unshift(n & 0xff);
      n = Math.floor(n / 256);
    } while (n > 0);
  } else {
    bytes = [...n];
    while (bytes.length > 1 && bytes[0] === 0 && bytes[1]! < 0x80) bytes.shift();
  }
  if (bytes[0]! >= 0x80) bytes.unshift(0);
  return tlv(0x02, new Uint8Array(bytes));
}

const text = new TextEncoder();
/** A UTF8String. */
export const utf8 = (s: string): Uint8Array => tlv(0x0c, text.encode(s));
/** An OCTET STRING. */
export const octets = (b: Uint8Array): Uint8Array => tlv(0x04, b);
/** A BOOLEAN TRUE. */
export const TRUE = tlv(0x01, new Uint8Array([0xff]));
/** A NULL. */
export const NULL = tlv(0x05);
/** A BIT STRING with no unused bits. */
export const bits = (b: Uint8Array): Uint8Array => tlv(0x03, new Uint8Array([0]), b);

function time(date: Date): Uint8Array {
  const iso = date.toISOString();
  const year = date.getUTCFullYear();
  const body = iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13) + iso.slice(14, 16) +
    iso.slice(17, 19) + "Z";
  return year >= 1950 && year < 2050
    ? tlv(0x17, text.encode(String(year).slice(2) + body))
    : tlv(0x18, text.encode(String(year) + body));
}

/** A Name from `CN=…, O=…` (plain text values, no escaping). */
export function name(dn: string): Uint8Array {
  const types: Record<string, string> = { CN: "2.5.4.3", O: "2.5.4.10", OU: "2.5.4.11", C: "2.5.4.6" };
  if (dn === "") return seq();
  return seq(
    ...dn.split(",").map((part) => {
      const [type, value] = part.trim().split("=") as [string, string];
      return tlv(0x31, seq(oid(types[type] ?? type), utf8(value)));
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------
// Keys

/** The key types the tests use. */
export type KeyKind = "p256" | "p384" | "ed25519" | "rsa2048" | "rsa1024";

/** A key pair with its SPKI. */
export interface TestKey {
  readonly kind: KeyKind;
  readonly spki: Uint8Array;
  readonly privateKey: CryptoKey;
  /** PKCS#8 (RSA keys are re-imported from it per hash). */
  readonly pkcs8: Uint8Array;
}

const keyCache = new Map<string, Promise<TestKey>>();

/**
 * A key of `kind`; the same `(kind, slot)` gives the same key within a test run.
 *
 * @param kind The key type.
 * @param slot Distinguishes keys of the same kind.
 */
export function testKey(kind: KeyKind, slot = 0): Promise<TestKey> {
  const id = `${kind}/${slot}`;
  let key = keyCache.get(id);
  if (!key) {
    key = makeKey(kind);
    keyCache.set(id, key);
  }
  return key;
}

/** A key of `kind` made now, shared with no other caller. */
export function freshKey(kind: KeyKind): Promise<TestKey> {
  return makeKey(kind);
}

async function makeKey(kind: KeyKind): Promise<TestKey> {
  const params = kind === "p256"
    ? { name: "ECDSA", namedCurve: "P-256" }
    : kind === "p384"
    ? { name: "ECDSA", namedCurve: "P-384" }
    : kind === "ed25519"
    ? { name: "Ed25519" }
    : {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: kind === "rsa1024" ? 1024 : 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    };
  const pair = (await crypto.subtle.generateKey(params, true, ["sign", "verify"])) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  return { kind, spki, privateKey: pair.privateKey, pkcs8 };
}

// ---------------------------------------------------------------------------------------------------------
// Signature algorithms

/** How a certificate is signed: the key's default, or an explicit RSA algorithm. */
export type SigAlg =
  | "default"
  | "rsa-pkcs1-sha256"
  | "rsa-pkcs1-sha384"
  | "rsa-pkcs1-sha512"
  | "rsa-pss-sha256"
  | "rsa-pss-sha384"
  | "rsa-pss-sha512"
  | "ecdsa-sha1";

const HASH_OIDS = {
  "SHA-256": "2.16.840.1.101.3.4.2.1",
  "SHA-384": "2.16.840.1.101.3.4.2.2",
  "SHA-512": "2.16.840.1.101.3.4.2.3",
};
type Hash = keyof typeof HASH_OIDS;

function pssAlgorithm(hash: Hash): Uint8Array {
  const hashAlg = seq(oid(HASH_OIDS[hash]), NULL);
  const saltLength = { "SHA-256": 32, "SHA-384": 48, "SHA-512": 64 }[hash];
  return seq(
    oid("1.2.840.113549.1.1.10"),
    seq(tlv(0xa0, hashAlg), tlv(0xa1, seq(oid("1.2.840.113549.1.1.8"), hashAlg)), tlv(0xa2, int(saltLength))),
  );
}

function algorithmFor(key: TestKey, alg: SigAlg): { id: Uint8Array; hash: Hash | "none"; kind: string } {
  switch (alg) {
    case "rsa-pkcs1-sha256":
      return { id: seq(oid("1.2.840.113549.1.1.11"), NULL), hash: "SHA-256", kind: "pkcs1" };
    case "rsa-pkcs1-sha384":
      return { id: seq(oid("1.2.840.113549.1.1.12"), NULL), hash: "SHA-384", kind: "pkcs1" };
    case "rsa-pkcs1-sha512":
      return { id: seq(oid("1.2.840.113549.1.1.13"), NULL), hash: "SHA-512", kind: "pkcs1" };
    case "rsa-pss-sha256":
      return { id: pssAlgorithm("SHA-256"), hash: "SHA-256", kind: "pss" };
    case "rsa-pss-sha384":
      return { id: pssAlgorithm("SHA-384"), hash: "SHA-384", kind: "pss" };
    case "rsa-pss-sha512":
      return { id: pssAlgorithm("SHA-512"), hash: "SHA-512", kind: "pss" };
    case "ecdsa-sha1":
      return { id: seq(oid("1.2.840.10045.4.1")), hash: "none", kind: "ecdsa-sha1" };
    case "default":
      switch (key.kind) {
        case "p256":
          return { id: seq(oid("1.2.840.10045.4.3.2")), hash: "SHA-256", kind: "ecdsa" };
        case "p384":
          return { id: seq(oid("1.2.840.10045.4.3.3")), hash: "SHA-384", kind: "ecdsa" };
        case "ed25519":
          return { id: seq(oid("1.3.101.112")), hash: "none", kind: "ed25519" };
        default:
          return algorithmFor(key, "rsa-pkcs1-sha256");
      }
  }
}

/** Convert a raw r||s ECDSA signature to DER. */
function ecdsaDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  return seq(int(raw.subarray(0, half)), int(raw.subarray(half)));
}

async function sign(key: TestKey, alg: SigAlg, tbs: Uint8Array): Promise<Uint8Array> {
  const { hash, kind } = algorithmFor(key, alg);
  const data = tbs.slice();
  if (kind === "ecdsa") {
    const raw = await crypto.subtle.sign({ name: "ECDSA", hash }, key.privateKey, data);
    return ecdsaDer(new Uint8Array(raw));
  }
  if (kind === "ecdsa-sha1") {
    const raw = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-1" }, key.privateKey, data);
    return ecdsaDer(new Uint8Array(raw));
  }
  if (kind === "ed25519") {
    return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, key.privateKey, data));
  }
  const name = kind === "pss" ? "RSA-PSS" : "RSASSA-PKCS1-v1_5";
  const imported = await crypto.subtle.importKey("pkcs8", key.pkcs8.slice(), { name, hash }, false, [
    "sign",
  ]);
  const saltLength = { "SHA-256": 32, "SHA-384": 48, "SHA-512": 64, none: 0 }[hash];
  return new Uint8Array(await crypto.subtle.sign({ name, saltLength }, imported, data));
}

// ---------------------------------------------------------------------------------------------------------
// Certificates

/** A subjectAltName or name-constraint entry. */
export type NameSpec =
  | { readonly dns: string }
  | { readonly ip: string }
  | { readonly email: string }
  | { readonly uri: string }
  | { readonly dn: string };

/** A generated certificate. */
export interface TestCert {
  readonly der: Uint8Array;
  readonly pem: string;
  /** Its subject, as given. */
  readonly subject: string;
  /** Its key, for issuing further certificates. */
  readonly key: TestKey;
}

/** What to put in a certificate. Defaults make a v3 end-entity certificate valid 2025–2035. */
export interface CertSpec {
  readonly subject: string;
  readonly key: TestKey;
  /** The issuing certificate, or omit for a self-signed one. */
  readonly issuer?: TestCert;
  /** Sign with this key instead of the issuer's (for bad signatures). */
  readonly signer?: TestKey;
  /** The issuer name, if not the issuer's subject. */
  readonly issuerName?: string;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** `true` for a CA, a number for a CA with that pathLenConstraint, `false` for cA=FALSE, omit for none. */
  readonly ca?: boolean | number | undefined;
  /** Key usage bit names: digitalSignature, keyEncipherment, keyCertSign, cRLSign. */
  readonly keyUsage?: readonly string[] | undefined;
  /** Extended key usage: serverAuth, clientAuth, any, or dotted OIDs. */
  readonly eku?: readonly string[] | undefined;
  readonly san?: readonly NameSpec[] | undefined;
  readonly permitted?: readonly NameSpec[];
  readonly excluded?: readonly NameSpec[];
  /** Extra raw extensions. */
  readonly extensions?: readonly { oid: string; critical?: boolean; value: Uint8Array }[];
  readonly sigAlg?: SigAlg;
  /** 1 for an X.509 v1 certificate (no extensions). */
  readonly version?: 1 | 3;
  /** Leave out the key identifiers. */
  readonly noKeyIds?: boolean;
  readonly serial?: number;
  /** Flip a bit of the signature. */
  readonly tamper?: boolean;
}

const KU_BITS: Record<string, number> = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
};
const EKU_OIDS: Record<string, string> = {
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
  any: "2.5.29.37.0",
};

function ipBytes(textIp: string): Uint8Array {
  if (textIp.includes("/")) {
    const [addr, prefix] = textIp.split("/") as [string, string];
    const a = ipBytes(addr);
    const mask = new Uint8Array(a.length);
    for (let i = 0; i < Number(prefix); i++) mask[i >> 3]! |= 0x80 >> (i & 7);
    return new Uint8Array([...a, ...mask]);
  }
  if (!textIp.includes(":")) return new Uint8Array(textIp.split(".").map(Number));
  const [head, tail = ""] = textIp.split("::");
  const words = (s: string) => (s === "" ? [] : s.split(":").map((w) => parseInt(w, 16)));
  const h = words(head!);
  const t = textIp.includes("::") ? words(tail) : [];
  const all = [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  return new Uint8Array(all.flatMap((w) => [w >> 8, w & 0xff]));
}

/** Encode one GeneralName. */
export function generalName(spec: NameSpec): Uint8Array {
  if ("dns" in spec) return tlv(0x82, text.encode(spec.dns));
  if ("ip" in spec) return tlv(0x87, ipBytes(spec.ip));
  if ("email" in spec) return tlv(0x81, text.encode(spec.email));
  if ("uri" in spec) return tlv(0x86, text.encode(spec.uri));
  return tlv(0xa4, name(spec.dn));
}

function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? seq(oid(id), TRUE, octets(value)) : seq(oid(id), octets(value));
}

async function keyId(spki: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", spki.slice())).subarray(0, 20);
}

let serialCounter = 1000;

/**
 * Make a certificate.
 *
 * @param spec Its contents.
 */
export async function issue(spec: CertSpec): Promise<TestCert> {
  const issuerKey = spec.issuer?.key ?? spec.key;
  const signer = spec.signer ?? issuerKey;
  const alg = algorithmFor(signer, spec.sigAlg ?? "default");
  const exts: Uint8Array[] = [];
  if (spec.ca !== undefined) {
    const body = spec.ca === false
      ? seq()
      : typeof spec.ca === "number"
      ? seq(TRUE, int(spec.ca))
      : seq(TRUE);
    exts.push(extension("2.5.29.19", true, body));
  }
  if (spec.keyUsage) {
    let mask = 0;
    for (const usage of spec.keyUsage) mask |= 1 << KU_BITS[usage]!;
    const byte0 = Array.from({ length: 8 }, (_, i) => (mask >> i) & 1 ? 0x80 >> i : 0).reduce(
      (a, b) => a | b,
      0,
    );
    // DER drops a named bit list's trailing zero bits (X.690 §11.2.2): the first octet counts them. Readers
    // that shift by it (subtls) see other bits otherwise.
    let unused = 0;
    while (unused < 8 && byte0 && !(byte0 & (1 << unused))) unused++;
    const body = byte0 ? [unused, byte0] : [0];
    exts.push(extension("2.5.29.15", true, tlv(0x03, new Uint8Array(body))));
  }
  if (spec.eku) exts.push(extension("2.5.29.37", false, seq(...spec.eku.map((e) => oid(EKU_OIDS[e] ?? e)))));
  if (spec.san) exts.push(extension("2.5.29.17", false, seq(...spec.san.map(generalName))));
  if (spec.permitted || spec.excluded) {
    const subtrees = (list: readonly NameSpec[]) => list.map((n) => seq(generalName(n)));
    exts.push(
      extension(
        "2.5.29.30",
        true,
        seq(
          ...(spec.permitted ? [tlv(0xa0, ...subtrees(spec.permitted))] : []),
          ...(spec.excluded ? [tlv(0xa1, ...subtrees(spec.excluded))] : []),
        ),
      ),
    );
  }
  if (!spec.noKeyIds) {
    exts.push(extension("2.5.29.14", false, octets(await keyId(spec.key.spki))));
    exts.push(extension("2.5.29.35", false, seq(tlv(0x80, await keyId(issuerKey.spki)))));
  }
  for (const e of spec.extensions ?? []) exts.push(extension(e.oid, e.critical ?? false, e.value));

  const v3 = spec.version !== 1;
  const tbs = seq(
    ...(v3 ? [tlv(0xa0, int(2))] : []),
    int(spec.serial ?? serialCounter++),
    alg.id,
    name(spec.issuerName ?? spec.issuer?.subject ?? spec.subject),
    seq(
      time(spec.notBefore ?? new Date("2025-01-01T00:00:00Z")),
      time(spec.notAfter ?? new Date("2035-01-01T00:00:00Z")),
    ),
    name(spec.subject),
    spec.key.spki,
    ...(v3 && exts.length > 0 ? [tlv(0xa3, seq(...exts))] : []),
  );
  const signature = await sign(signer, spec.sigAlg ?? "default", tbs);
  if (spec.tamper) signature[signature.length - 1]! ^= 1;
  const der = seq(tbs, alg.id, bits(signature));
  return { der, pem: pemEncode(der, "CERTIFICATE"), subject: spec.subject, key: spec.key };
}

/** A root CA certificate (cA, keyCertSign) for `key`. */
export function root(subject: string, key: TestKey, extra: Partial<CertSpec> = {}): Promise<TestCert> {
  return issue({ subject, key, ca: true, keyUsage: ["keyCertSign", "cRLSign"], ...extra });
}

/** An intermediate CA certificate issued by `issuer`. */
export function intermediate(
  subject: string,
  key: TestKey,
  issuer: TestCert,
  extra: Partial<CertSpec> = {},
): Promise<TestCert> {
  return issue({ subject, key, issuer, ca: true, keyUsage: ["keyCertSign", "cRLSign"], ...extra });
}

/** A TLS server certificate for `dns` issued by `issuer`. */
export function leaf(
  dns: string,
  key: TestKey,
  issuer: TestCert,
  extra: Partial<CertSpec> = {},
): Promise<TestCert> {
  return issue({
    subject: `CN=${dns}`,
    key,
    issuer,
    ca: false,
    keyUsage: ["digitalSignature"],
    eku: ["serverAuth"],
    san: [{ dns }],
    ...extra,
  });
}

/** A time inside the default validity period. */
export const NOW = new Date("2026-06-01T12:00:00Z");

/** A three-certificate PKI: root → intermediate → leaf for www.example.com, all with `kind` keys. */
export async function simplePki(
  kind: KeyKind = "p256",
): Promise<{ root: TestCert; inter: TestCert; leaf: TestCert }> {
  const r = await root("CN=Test Root", await testKey(kind, 1));
  const i = await intermediate("CN=Test Intermediate", await testKey(kind, 2), r);
  const l = await leaf("www.example.com", await testKey(kind, 3), i);
  return { root: r, inter: i, leaf: l };
}

/**
 * A CA and `count` bogus intermediates that imitate it (the same subject and issuer name, their own P-384
 * keys), with a clientAuth leaf for client.test issued by the first of them: a chain no path can validate,
 * built to cost one signature check per intermediate (finding 6 of the security review, issue #15).
 */
export async function imitatedCa(
  count: number,
): Promise<{ anchor: TestCert; leaf: TestCert; bogus: TestCert[] }> {
  const anchor = await root("CN=Client CA", await testKey("p384", 1));
  const bogus = await Promise.all(
    Array.from({ length: count }, async (_, i) =>
      issue({
        subject: "CN=Client CA",
        issuerName: "CN=Client CA",
        key: await testKey("p384", 300 + i),
        ca: true,
        keyUsage: ["keyCertSign"],
      })),
  );
  const issued = await leaf("client.test", await testKey("p384", 3), bogus[0]!, {
    eku: ["clientAuth", "serverAuth"],
  });
  return { anchor, leaf: issued, bogus };
}

// ---------------------------------------------------------------------------------------------------------
// Ready-made certificates for TLS tests

/** Key types of the TLS tests, by the names of their signature algorithms. */
export type TestKeyType = "ecdsa-p256" | "ecdsa-p384" | "ed25519" | "rsa-2048";

const KIND: Readonly<Record<TestKeyType, KeyKind>> = {
  "ecdsa-p256": "p256",
  "ecdsa-p384": "p384",
  "ed25519": "ed25519",
  "rsa-2048": "rsa2048",
};

/** A generated certificate: DER chain (leaf only) and its PKCS#8 private key (DER and PEM). */
export interface TestCertificate {
  readonly chain: Uint8Array[];
  readonly keyPkcs8: Uint8Array;
  readonly certPem: string;
  readonly keyPem: string;
}

const selfSigned = new Map<string, Promise<TestCertificate>>();

/**
 * A self-signed certificate for `dnsName` (cA=FALSE, the name in its subjectAltName), made once per type
 * and name.
 *
 * @param type The key type.
 * @param dnsName The name it is for.
 */
export function generateTestCertificate(type: TestKeyType, dnsName = "localhost"): Promise<TestCertificate> {
  const id = `${type}/${dnsName}`;
  let made = selfSigned.get(id);
  if (!made) {
    made = (async () => {
      const key = await freshKey(KIND[type]);
      const cert = await issue({
        subject: `CN=${dnsName}`,
        key,
        ca: false,
        san: [{ dns: dnsName }],
        serial: 1,
      });
      return {
        chain: [cert.der],
        keyPkcs8: key.pkcs8,
        certPem: cert.pem,
        keyPem: pemEncode(key.pkcs8, "PRIVATE KEY"),
      };
    })();
    selfSigned.set(id, made);
  }
  return made;
}

/** A CA-issued chain for tests: root → [intermediate] → leaf. */
export interface TestChain {
  /** The root certificate (the trust anchor), DER and PEM. */
  readonly rootDer: Uint8Array;
  readonly rootPem: string;
  /** leaf first, then the intermediate if any (the root is not included). */
  readonly chain: Uint8Array[];
  /** The leaf's PKCS#8 private key. */
  readonly keyPkcs8: Uint8Array;
  readonly keyPem: string;
  /** The chain as PEM text, leaf first. */
  readonly chainPem: string;
}

/** Options for {@link generateChain}. */
export interface ChainOptions {
  /** The leaf's key type (the CAs use P-256). */
  readonly keyType?: TestKeyType;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly eku?: readonly ("serverAuth" | "clientAuth")[];
  readonly intermediate?: boolean;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly commonName?: string;
}

let roots = 0;

/**
 * A fresh root (its own name and key), an optional intermediate, and a leaf for `dnsNames` (default
 * localhost) and `ipAddresses`, for both serverAuth and clientAuth unless `eku` says otherwise.
 *
 * @param opts What the leaf holds, and whether there is an intermediate.
 */
export async function generateChain(opts: ChainOptions = {}): Promise<TestChain> {
  const ca = await root(`CN=airlock test root ${++roots}`, await freshKey("p256"));
  const inter = opts.intermediate
    ? await intermediate("CN=airlock test intermediate", await freshKey("p256"), ca, { ca: 0 })
    : undefined;
  const key = await freshKey(KIND[opts.keyType ?? "ecdsa-p256"]);
  const cert = await issue({
    subject: `CN=${opts.commonName ?? "airlock test leaf"}`,
    key,
    issuer: inter ?? ca,
    ca: false,
    keyUsage: ["digitalSignature"],
    eku: opts.eku ?? ["serverAuth", "clientAuth"],
    san: [
      ...(opts.dnsNames ?? ["localhost"]).map((dns) => ({ dns })),
      ...(opts.ipAddresses ?? []).map((ip) => ({ ip })),
    ],
    ...(opts.notBefore ? { notBefore: opts.notBefore } : {}),
    ...(opts.notAfter ? { notAfter: opts.notAfter } : {}),
  });
  const chain = [cert.der, ...(inter ? [inter.der] : [])];
  return {
    rootDer: ca.der,
    rootPem: ca.pem,
    chain,
    keyPkcs8: key.pkcs8,
    keyPem: pemEncode(key.pkcs8, "PRIVATE KEY"),
    chainPem: chain.map((c) => pemEncode(c, "CERTIFICATE")).join(""),
  };
}
