/**
 * @hazae41/cadenas as a bench `Impl`: a TLS 1.2 client on WebCrypto (`TlsClientDuplex`, web streams of
 * records in and out), over a `Link`. It offers ECDHE_ECDSA and ECDHE_RSA with AES-256-GCM-SHA384 (and
 * DHE_RSA suites), secp256r1 only, and verifies ServerKeyExchange signatures made with SHA-256 only. It
 * does not check the server's Finished (a PRF fewer per handshake than the others compute). A client only.
 * @module
 */

import { Opaque, Writable } from "@hazae41/binary";
import { type Cipher, Ciphers, TlsClientDuplex } from "@hazae41/cadenas";
import {
  type Case,
  type End,
  errorText,
  type Impl,
  type Link,
  linkOf,
  type Negotiated,
  type Side,
} from "./_common.ts";
import { benchChain } from "./_pki.ts";

/**
 * The case cadenas takes part in: its strongest suite for an RSA certificate, on the one curve it has. Not
 * ECDHE_ECDSA: cadenas turns the DER (r, s) of an ECDSA ServerKeyExchange signature into r‖s without
 * padding r and s to 32 bytes, so the one signature in about 128 where either starts with a zero byte fails
 * to verify ("Invalid signature"), and a timed round of handshakes would fail with it.
 */
export const CADENAS_CASE: Case = {
  version: "TLSv1.2",
  suite: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
  group: "secp256r1",
  cert: "rsa-2048",
};

/** cadenas's cipher objects for the IANA names of the suites it has with ECDHE. */
const CIPHERS: Record<string, Cipher | undefined> = {
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: Ciphers.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: Ciphers.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
};
const SUITE_NAME = new Map(Object.entries(CIPHERS).map(([name, cipher]) => [cipher!.id, name]));

/** An entry of cadenas's root store (CCADB.trusteds), keyed by the issuer name as cadenas prints it. */
interface TrustedEntry {
  hashBase16: string;
  certBase16: string;
  notAfter: string;
}

let trusted: { store: Record<string, TrustedEntry>; ca: TrustedEntry; other: TrustedEntry } | undefined;
/** Why cadenas cannot be given the bench CA here, if it cannot. */
let noRoot: string | undefined;

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** A table entry: the CA's certificate, and the SHA-256 of its SubjectPublicKeyInfo. */
async function entry(caDer: Uint8Array, spki: Uint8Array): Promise<TrustedEntry> {
  return {
    hashBase16: hex(new Uint8Array(await crypto.subtle.digest("SHA-256", spki.slice()))),
    certBase16: hex(caDer),
    notAfter: "",
  };
}

/**
 * Give cadenas the bench CA. cadenas trusts only its built-in CCADB roots: a table in a module it does not
 * export, so the bench loads that module by its path in the package (the same module instance cadenas
 * reads) and adds the bench CA under its name; each connection sets the entry to the CA its case trusts.
 * Where that fails, cadenas runs with `authorized: true` (no chain check, only the name) and its rows say
 * so.
 */
export async function prepareCadenas(): Promise<void> {
  try {
    const chain = await benchChain(CADENAS_CASE.cert);
    const url = new URL("./mods/ccadb/ccadb.mjs", import.meta.resolve("@hazae41/cadenas"));
    const mod = (await import(url.href)) as { CCADB?: { trusteds?: Record<string, TrustedEntry> } };
    const store = mod.CCADB?.trusteds;
    if (!store) throw new Error(`${url.href} has no CCADB.trusteds`);
    trusted = {
      store,
      ca: await entry(chain.caDer, chain.caSpki),
      other: await entry(chain.otherCaDer, chain.otherCaSpki),
    };
  } catch (e) {
    noRoot = `cadenas cannot be given the bench CA here (${errorText(e)}): it checks the name, not the chain`;
  }
}

/** The name the bench CA has in cadenas's table (X.501 text, as cadenas prints an issuer). */
const CA_KEY = "CN=airlock bench CA";

/** A handshake failure as one line, with what it means where the bench knows. */
function failure(cause: unknown): string {
  const text = `cadenas: ${errorText(cause instanceof Error && cause.cause ? cause.cause : cause)}`;
  // cadenas parses exactly one handshake message per record; RFC 5246 §6.2.1 lets a server put several in one
  // (Deno's node:tls server sends ServerHello to ServerHelloDone in one record).
  return /remaining bytes after read/.test(text)
    ? `${text} (cadenas takes one handshake message per record; this server packs several into one)`
    : text;
}

class CadenasSide implements Side {
  readonly ready: Promise<void>;
  onData: ((chunk: Uint8Array) => void) | undefined;
  readonly #tls: TlsClientDuplex;
  readonly #plaintext: WritableStreamDefaultWriter<Writable>;
  #closed = false;

  constructor(c: Case, end: End) {
    const link = linkOf(end);
    // host_name gives SNI and the check of the leaf's subjectAltName against "localhost"; the chain is
    // checked against the root store, which holds the CA the case trusts (one cadenas connection at a time
    // in the bench, so setting the entry now holds for this handshake). `authorized: true` skips the chain
    // check, for the rows without one.
    if (trusted) trusted.store[CA_KEY] = c.trust === "other-ca" ? trusted.other : trusted.ca;
    this.#tls = new TlsClientDuplex({
      host_name: "localhost",
      ciphers: [CIPHERS[c.suite]!],
      authorized: c.trust === "none" || !trusted,
    });
    const tls = this.#tls;
    this.ready = Promise.race([
      tls.resolveOnHandshake.promise,
      tls.resolveOnError.promise.then((cause) => {
        throw new Error(failure(cause));
      }),
    ]);
    this.ready.catch(() => {});
    // Bytes from the link to cadenas (its writable stream runs one record batch at a time, in order).
    const network = tls.inner.writable.getWriter();
    link.onBytes((bytes) => {
      if (!this.#closed) network.write(new Opaque(bytes)).catch(() => {});
    });
    void this.#send(tls.inner.readable.getReader(), link);
    void this.#deliver(tls.outer.readable.getReader());
    this.#plaintext = tls.outer.writable.getWriter();
  }

  /** cadenas's records to the link, waiting for the link to drain when it pushes back. */
  async #send(
    records: ReadableStreamDefaultReader<Writable>,
    link: Link,
  ): Promise<void> {
    let drained: (() => void) | undefined;
    link.onDrain(() => drained?.());
    try {
      for (;;) {
        const { done, value } = await records.read();
        if (done || this.#closed) return;
        if (!link.send(Writable.writeToBytesOrThrow(value))) {
          await new Promise<void>((resolve) => (drained = resolve));
        }
      }
    } catch {
      // closed or failed: `ready` carries a handshake failure
    }
  }

  /** Plaintext records to `onData`. */
  async #deliver(plaintext: ReadableStreamDefaultReader<Opaque>): Promise<void> {
    try {
      for (;;) {
        const { done, value } = await plaintext.read();
        if (done || this.#closed) return;
        this.onData?.(value.bytes);
      }
    } catch {
      // closed or failed
    }
  }

  /**
   * One write is one record (cadenas does not split plaintext into records: writes stay within 16 KiB). It
   * encrypts asynchronously (WebCrypto), so every write is a promise, resolved once the record is queued.
   */
  write(data: Uint8Array): Promise<void> {
    return this.#plaintext.write(new Opaque(data));
  }

  negotiated(): Negotiated {
    const s = this.#tls.state;
    if (s.type !== "handshaked") return {};
    return {
      version: s.version === 0x0303 ? "TLSv1.2" : `0x${s.version.toString(16)}`,
      suite: SUITE_NAME.get(s.cipher.id) ?? `0x${s.cipher.id.toString(16)}`,
      // cadenas computes ECDH on secp256r1 only (it throws on any other curve): an ECDHE handshake used it.
      group: "secp256r1",
    };
  }

  resumed(): boolean {
    return false;
  }

  session(): unknown {
    return undefined; // cadenas does not resume
  }

  close(): void {
    this.#closed = true;
    this.#tls.close();
  }
}

/** @hazae41/cadenas, a client only, TLS 1.2 ECDHE on secp256r1 with AES-256-GCM-SHA384. */
export const cadenas: Impl = {
  name: "cadenas",
  wire: "link",
  unsupported: (c) =>
    c.version !== "TLSv1.2" || !CIPHERS[c.suite] || c.group !== "secp256r1" ||
      (c.cert !== "rsa-2048" && c.cert !== "ecdsa-p256")
      ? "cadenas speaks TLS 1.2 ECDHE with AES-256-GCM-SHA384 on secp256r1 only"
      : undefined,
  client: (c, end) => new CadenasSide(c, end),
  get noChainCheck() {
    return noRoot;
  },
  server: () => {
    throw new Error("cadenas is a client only");
  },
};
