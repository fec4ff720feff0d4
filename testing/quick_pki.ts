/**
 * A test PKI made by the tests themselves: self-signed certificates for each key type, generated with
 * WebCrypto and @peculiar/x509 (no committed private keys).
 * @module
 */

import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(crypto);

/** Key types the tests use. */
export type TestKeyType = "ecdsa-p256" | "ecdsa-p384" | "ed25519" | "rsa-2048";

const ALGS: Record<
  TestKeyType,
  { gen: EcKeyGenParams | RsaHashedKeyGenParams | { name: string }; sign: Algorithm | EcdsaParams }
> = {
  "ecdsa-p256": {
    gen: { name: "ECDSA", namedCurve: "P-256" },
    sign: { name: "ECDSA", hash: "SHA-256" } as EcdsaParams,
  },
  "ecdsa-p384": {
    gen: { name: "ECDSA", namedCurve: "P-384" },
    sign: { name: "ECDSA", hash: "SHA-384" } as EcdsaParams,
  },
  "ed25519": { gen: { name: "Ed25519" }, sign: { name: "Ed25519" } },
  "rsa-2048": {
    gen: {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    sign: { name: "RSASSA-PKCS1-v1_5" },
  },
};

/** A generated certificate: DER chain (leaf only) and its PKCS#8 private key (DER and PEM). */
export interface TestCertificate {
  readonly chain: Uint8Array[];
  readonly keyPkcs8: Uint8Array;
  readonly certPem: string;
  readonly keyPem: string;
}

const cache = new Map<string, Promise<TestCertificate>>();

/** Generate (once per type and name) a self-signed certificate for `dnsName`. */
export function generateTestCertificate(type: TestKeyType, dnsName = "localhost"): Promise<TestCertificate> {
  const id = `${type}/${dnsName}`;
  let p = cache.get(id);
  if (!p) {
    p = make(type, dnsName);
    cache.set(id, p);
  }
  return p;
}

async function make(type: TestKeyType, dnsName: string): Promise<TestCertificate> {
  const alg = ALGS[type];
  const keys = (await crypto.subtle.generateKey(alg.gen, true, ["sign", "verify"])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: `CN=${dnsName}`,
    notBefore: new Date("2025-01-01T00:00:00Z"),
    notAfter: new Date("2035-01-01T00:00:00Z"),
    signingAlgorithm: alg.sign,
    keys,
    extensions: [
      new x509.SubjectAlternativeNameExtension([{ type: "dns", value: dnsName }]),
      new x509.BasicConstraintsExtension(false, undefined, true),
    ],
  });
  const keyPkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  const der = new Uint8Array(cert.rawData);
  const b64 = btoa(String.fromCharCode(...keyPkcs8)).match(/.{1,64}/g)!.join("\n");
  return {
    chain: [der],
    keyPkcs8,
    certPem: cert.toString("pem") + "\n",
    keyPem: `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`,
  };
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
  readonly keyType?: TestKeyType;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly eku?: readonly ("serverAuth" | "clientAuth")[];
  readonly intermediate?: boolean;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  readonly commonName?: string;
}

const EKU_OID = { serverAuth: "1.3.6.1.5.5.7.3.1", clientAuth: "1.3.6.1.5.5.7.3.2" } as const;

async function keyPair(type: TestKeyType): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(ALGS[type].gen, true, ["sign", "verify"])) as CryptoKeyPair;
}

function pem(der: Uint8Array, label: string): string {
  const b64 = btoa(String.fromCharCode(...der)).match(/.{1,64}/g)!.join("\n");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

let serial = 1;

/** Generate a fresh root, an optional intermediate, and a leaf for `dnsNames`. */
export async function generateChain(opts: ChainOptions = {}): Promise<TestChain> {
  const type = opts.keyType ?? "ecdsa-p256";
  const sign = ALGS["ecdsa-p256"].sign;
  const notBefore = new Date("2025-01-01T00:00:00Z"), notAfter = new Date("2035-01-01T00:00:00Z");
  const rootKeys = await keyPair("ecdsa-p256");
  const caExt = (pathLen?: number) => [
    new x509.BasicConstraintsExtension(true, pathLen, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  ];
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: (serial++).toString(16).padStart(2, "0"),
    name: `CN=airlock test root ${serial}`,
    notBefore,
    notAfter,
    signingAlgorithm: sign,
    keys: rootKeys,
    extensions: [...caExt(), await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey)],
  });
  let issuer = root, issuerKey = rootKeys.privateKey;
  const extra: Uint8Array[] = [];
  if (opts.intermediate) {
    const interKeys = await keyPair("ecdsa-p256");
    const inter = await x509.X509CertificateGenerator.create({
      serialNumber: (serial++).toString(16).padStart(2, "0"),
      subject: "CN=airlock test intermediate",
      issuer: root.subject,
      notBefore,
      notAfter,
      signingAlgorithm: sign,
      publicKey: interKeys.publicKey,
      signingKey: rootKeys.privateKey,
      extensions: [...caExt(0), await x509.SubjectKeyIdentifierExtension.create(interKeys.publicKey)],
    });
    extra.push(new Uint8Array(inter.rawData));
    issuer = inter;
    issuerKey = interKeys.privateKey;
  }
  const leafKeys = await keyPair(type);
  const names = [
    ...(opts.dnsNames ?? ["localhost"]).map((value) => ({ type: "dns" as const, value })),
    ...(opts.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
  ];
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: (serial++).toString(16).padStart(2, "0"),
    subject: `CN=${opts.commonName ?? "airlock test leaf"}`,
    issuer: issuer.subject,
    notBefore: opts.notBefore ?? notBefore,
    notAfter: opts.notAfter ?? notAfter,
    signingAlgorithm: sign,
    publicKey: leafKeys.publicKey,
    signingKey: issuerKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension((opts.eku ?? ["serverAuth", "clientAuth"]).map((e) => EKU_OID[e])),
      new x509.SubjectAlternativeNameExtension(names),
    ],
  });
  const keyPkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", leafKeys.privateKey));
  const chain = [new Uint8Array(leaf.rawData), ...extra];
  const rootDer = new Uint8Array(root.rawData);
  return {
    rootDer,
    rootPem: pem(rootDer, "CERTIFICATE"),
    chain,
    keyPkcs8,
    keyPem: pem(keyPkcs8, "PRIVATE KEY"),
    chainPem: chain.map((c) => pem(c, "CERTIFICATE")).join(""),
  };
}
