/**
 * The certificates every implementation in the bench serves and trusts: for each key type, a CA and a leaf
 * for "localhost" it issued, the CA with the leaf's key type (an RSA CA for an RSA leaf, as public CAs do,
 * and as node-forge needs: it reads RSA certificates only). Clients trust the CA and check the name, as
 * users do; the check pass also offers each client a second CA with the same name and another key, which
 * must fail (a client that accepted it would not be checking signatures).
 * @module
 */

import { pemEncode } from "../suites/pem.ts";
import { freshKey, type KeyKind, leaf, root, type TestKeyType } from "../testing/pki.ts";

/** A CA → leaf chain for "localhost", and an impostor CA with the same name and another key. */
export interface BenchChain {
  /** The CA's certificate: the trust anchor (DER and PEM). */
  readonly caDer: Uint8Array;
  readonly caPem: string;
  /** The impostor CA: the same subject, its own key. A client trusting only it must reject the chain. */
  readonly otherCaDer: Uint8Array;
  readonly otherCaPem: string;
  /** The two CAs' SubjectPublicKeyInfo (DER). */
  readonly caSpki: Uint8Array;
  readonly otherCaSpki: Uint8Array;
  /** What the server sends: the leaf (the CA is the anchor, not sent). */
  readonly chain: Uint8Array[];
  readonly chainPem: string;
  /** The leaf's private key, PKCS#8 DER and PEM. */
  readonly keyPkcs8: Uint8Array;
  readonly keyPem: string;
}

const KIND: Readonly<Record<TestKeyType, KeyKind>> = {
  "ecdsa-p256": "p256",
  "ecdsa-p384": "p384",
  "ed25519": "ed25519",
  "rsa-2048": "rsa2048",
};

const CA_NAME = "CN=airlock bench CA";
const chains = new Map<TestKeyType, Promise<BenchChain>>();

async function makeChain(type: TestKeyType): Promise<BenchChain> {
  const kind = KIND[type];
  // digitalSignature besides keyCertSign and cRLSign, as issuing CAs often have (Let's Encrypt's do), and as
  // subtls requires of the certificate that signs the leaf.
  const usage = { keyUsage: ["digitalSignature", "keyCertSign", "cRLSign"] };
  const ca = await root(CA_NAME, await freshKey(kind), usage);
  const other = await root(CA_NAME, await freshKey(kind), usage);
  const key = await freshKey(kind);
  // RSA key exchange (node-forge's TLS 1.1 case) encrypts to the leaf's key: keyEncipherment too.
  const leafUsage = type === "rsa-2048" ? ["digitalSignature", "keyEncipherment"] : ["digitalSignature"];
  const cert = await leaf("localhost", key, ca, { keyUsage: leafUsage });
  return {
    caDer: ca.der,
    caPem: ca.pem,
    otherCaDer: other.der,
    otherCaPem: other.pem,
    caSpki: ca.key.spki,
    otherCaSpki: other.key.spki,
    chain: [cert.der],
    chainPem: cert.pem,
    keyPkcs8: key.pkcs8,
    keyPem: pemEncode(key.pkcs8, "PRIVATE KEY"),
  };
}

/** The chain of a key type, made once per run (every implementation gets the same one). */
export function benchChain(type: TestKeyType): Promise<BenchChain> {
  let c = chains.get(type);
  if (!c) {
    c = makeChain(type);
    chains.set(type, c);
  }
  return c;
}
