/**
 * subtls as a bench `Impl`: George MacKerron's TLS 1.3 client on WebCrypto (`startTls`), over a `Link`.
 * It offers exactly one configuration, TLS 1.3 with TLS_AES_128_GCM_SHA256, a P-256 key share and
 * ecdsa_secp256r1_sha256 or rsa_pss_rsae_sha256 signatures, and throws on anything else the server picks.
 * So it meets node:tls as a client only, with the ecdsa-p256 certificate.
 * @module
 */

import "reflect-metadata";
import * as x509 from "@peculiar/x509";
// subtls's package.json has no "main" or "exports": naming the file spares Node's DEP0151 warning.
import { ReadQueue, type RootCertsDatabase, startTls, TrustedCert } from "subtls/index.js";
import { generateTestCertificate } from "../testing/pki.ts";
import { type Case, type End, type Impl, linkOf, type Negotiated, type Side } from "./_common.ts";

/**
 * The one case subtls can take part in: its ClientHello offers only these (and its ServerHello parser
 * accepts only these), so a handshake that completes negotiated them.
 */
export const SUBTLS_CASE: Case = {
  version: "TLSv1.3",
  suite: "TLS_AES_128_GCM_SHA256",
  group: "secp256r1",
  cert: "ecdsa-p256",
};

let roots: RootCertsDatabase | undefined;

/**
 * Build the root store subtls is given. subtls has no switch to skip the chain check: it always walks the
 * chain to a root in its store, and that root must be a CA (basicConstraints cA). The bench's certificates are
 * self-signed leaves (cA false), so the store holds a CA twin of the ecdsa-p256 test certificate: the same
 * name and the same key, hence a valid issuer of the leaf. The chain is checked, against that test root;
 * the extKeyUsage and keyUsage checks are turned off (the test leaves carry neither extension).
 */
export async function prepareSubtls(): Promise<void> {
  const leaf = await generateTestCertificate(SUBTLS_CASE.cert);
  const alg = { name: "ECDSA", namedCurve: "P-256" };
  const privateKey = await crypto.subtle.importKey("pkcs8", leaf.keyPkcs8.slice(), alg, true, ["sign"]);
  const { d: _d, ...pub } = await crypto.subtle.exportKey("jwk", privateKey);
  const publicKey = await crypto.subtle.importKey("jwk", { ...pub, key_ops: ["verify"] }, alg, true, [
    "verify",
  ]);
  const leafCert = new x509.X509Certificate(leaf.chain[0]!.slice());
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "02",
    name: leafCert.subject,
    notBefore: leafCert.notBefore,
    notAfter: leafCert.notAfter,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    keys: { privateKey, publicKey },
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  roots = await TrustedCert.databaseFromPEM(ca.toString("pem"));
}

/** A subtls read queue fed by the link; ending it makes pending and later reads return undefined. */
class LinkReadQueue extends ReadQueue {
  #open = true;

  moreDataMayFollow(): boolean {
    return this.#open;
  }

  end(): void {
    this.#open = false;
    this.dequeue();
  }
}

class SubtlsSide implements Side {
  readonly ready: Promise<void>;
  onData: ((chunk: Uint8Array) => void) | undefined;
  readonly #queue = new LinkReadQueue();
  #write: ((data: Uint8Array) => Promise<void>) | undefined;
  #closed = false;

  constructor(end: End) {
    const link = linkOf(end);
    link.onBytes((bytes) => this.#queue.enqueue(bytes));
    this.ready = this.#open((data) => {
      if (!this.#closed) link.send(data); // subtls has no back-pressure towards the network
    });
    this.ready.catch(() => {});
  }

  async #open(send: (data: Uint8Array) => void): Promise<void> {
    if (!roots) throw new Error("prepareSubtls() was not called");
    const queue = this.#queue;
    const tls = await startTls(
      "localhost",
      roots,
      // subtls peeks at a record's first byte with a second argument (its ReadMode): pass it on.
      (...args: Parameters<ReadQueue["read"]>) => queue.read(...args),
      send,
      { requireServerTlsExtKeyUsage: false, requireDigitalSigKeyUsage: false },
    );
    this.#write = tls.write;
    // The first read sends the client's Finished (synchronously): the handshake is then done on this end.
    void this.#deliver(tls.read);
  }

  /** Plaintext to `onData`, record by record, until the queue ends. */
  async #deliver(read: () => Promise<Uint8Array | undefined>): Promise<void> {
    try {
      for (;;) {
        const data = await read();
        if (data === undefined || this.#closed) return;
        this.onData?.(data);
      }
    } catch {
      // A failure after the handshake shows as missing data: the check or the round times out.
    }
  }

  /** subtls encrypts asynchronously (WebCrypto): every write is a promise, resolved once it is sent. */
  write(data: Uint8Array): Promise<void> {
    return this.#write!(data);
  }

  negotiated(): Negotiated {
    // subtls reports nothing; it throws unless the server picked exactly its offer (SUBTLS_CASE).
    return this.#write
      ? { version: SUBTLS_CASE.version, suite: SUBTLS_CASE.suite, group: SUBTLS_CASE.group }
      : {};
  }

  resumed(): boolean {
    return false;
  }

  session(): unknown {
    return undefined; // subtls reads session tickets and ignores them
  }

  close(): void {
    this.#closed = true;
    this.#queue.end();
  }
}

/** subtls, a client only, for SUBTLS_CASE (TLS 1.3 AES-128-GCM, P-256, the ecdsa-p256 certificate). */
export const subtls: Impl = {
  name: "subtls",
  pumps: true,
  unsupported: (c) =>
    c.version !== SUBTLS_CASE.version || c.suite !== SUBTLS_CASE.suite || c.group !== SUBTLS_CASE.group ||
      c.cert !== SUBTLS_CASE.cert
      ? "subtls speaks TLS 1.3 with AES-128-GCM and P-256 only (and the bench gives it a root for ecdsa-p256)"
      : undefined,
  client: (_c, end) => new SubtlsSide(end),
  server: () => {
    throw new Error("subtls is a client only");
  },
};
