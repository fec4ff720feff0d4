// Copyright 2026 the airlock authors. MIT license.

/**
 * A throwaway self-signed ECDSA P-256 certificate for the examples, made at start-up with WebCrypto and
 * @peculiar/x509, so no private key is ever committed.
 *
 * @module
 */

import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(crypto);

/** A certificate and its key. */
export interface SelfSignedCertificate {
  /** The certificate, DER. */
  readonly der: Uint8Array;
  /** The private key, PKCS#8 DER (for `loadPrivateKey`). */
  readonly keyPkcs8: Uint8Array;
}

/**
 * Generate a self-signed ECDSA P-256 certificate for `dnsName`, valid from an hour ago for one day.
 *
 * @param dnsName The name in the subject and the subjectAltName.
 * @returns The certificate and its key.
 */
export async function selfSignedCertificate(dnsName: string): Promise<SelfSignedCertificate> {
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await crypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: `CN=${dnsName}`,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 86400_000),
    signingAlgorithm: alg,
    keys,
    extensions: [
      new x509.SubjectAlternativeNameExtension([{ type: "dns", value: dnsName }]),
      new x509.BasicConstraintsExtension(false, undefined, true),
    ],
  });
  return {
    der: new Uint8Array(cert.rawData),
    keyPkcs8: new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey)),
  };
}
