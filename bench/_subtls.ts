/**
 * subtls as a bench `Impl`: George MacKerron's TLS 1.3 client on WebCrypto (`startTls`), over a `Link`.
 * It offers exactly one configuration, TLS 1.3 with TLS_AES_128_GCM_SHA256, a P-256 key share and
 * ecdsa_secp256r1_sha256 or rsa_pss_rsae_sha256 signatures, and throws on anything else the server picks.
 * So it meets node:tls as a client only, with the ecdsa-p256 certificate.
 * @module
 */

// subtls's package.json has no "main" or "exports": naming the file spares Node's DEP0151 warning.
import { ReadQueue, type RootCertsDatabase, startTls, TrustedCert } from "subtls/index.js";
import { type Case, type End, type Impl, linkOf, type Negotiated, type Side } from "./_common.ts";
import { benchChain } from "./_pki.ts";

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

let roots: { ca: RootCertsDatabase; other: RootCertsDatabase } | undefined;

/**
 * Build the root stores subtls is given: the bench CA, and the impostor CA for the check's negative test.
 * subtls has no switch to skip the chain check: it walks the chain to a root in its store, and checks the
 * name, the leaf's keyUsage and extKeyUsage (the bench leaves carry both).
 */
export async function prepareSubtls(): Promise<void> {
  const chain = await benchChain(SUBTLS_CASE.cert);
  roots = {
    ca: await TrustedCert.databaseFromPEM(chain.caPem),
    other: await TrustedCert.databaseFromPEM(chain.otherCaPem),
  };
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

  constructor(c: Case, end: End) {
    const link = linkOf(end);
    link.onBytes((bytes) => this.#queue.enqueue(bytes));
    this.ready = this.#open(c, (data) => {
      if (!this.#closed) link.send(data); // subtls has no back-pressure towards the network
    });
    this.ready.catch(() => {});
  }

  async #open(c: Case, send: (data: Uint8Array) => void): Promise<void> {
    if (!roots) throw new Error("prepareSubtls() was not called");
    const queue = this.#queue;
    const tls = await startTls(
      "localhost",
      c.trust === "other-ca" ? roots.other : roots.ca,
      // subtls peeks at a record's first byte with a second argument (its ReadMode): pass it on.
      (...args: Parameters<ReadQueue["read"]>) => queue.read(...args),
      send,
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

/**
 * subtls, a client only, for SUBTLS_CASE (TLS 1.3 AES-128-GCM, P-256, the ecdsa-p256 chain), verifying the
 * chain and the name.
 */
export const subtls: Impl = {
  name: "subtls",
  wire: "link",
  unsupported: (c) =>
    c.version !== SUBTLS_CASE.version || c.suite !== SUBTLS_CASE.suite || c.group !== SUBTLS_CASE.group ||
      c.cert !== SUBTLS_CASE.cert
      ? "subtls speaks TLS 1.3 with AES-128-GCM and P-256 only (and the bench gives it a root for ecdsa-p256)"
      : c.trust === "none"
      ? "subtls always checks the chain"
      : undefined,
  client: (c, end) => new SubtlsSide(c, end),
  server: () => {
    throw new Error("subtls is a client only");
  },
};
