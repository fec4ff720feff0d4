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
