/**
 * node-forge as a bench `Impl`: its sans-I/O TLS connection (binary strings in and out) over a `Link`.
 * forge speaks TLS 1.0 and 1.1 with RSA key exchange and AES-CBC only, so it meets node:tls (where the
 * runtime still allows TLS 1.1) and itself, never airlock.
 * @module
 */

import forge from "node-forge";
import { Buffer } from "node:buffer";
import { type Case, type End, type Impl, linkOf, type Negotiated, type Side } from "./_common.ts";
import { type BenchChain, benchChain } from "./_pki.ts";

/** The few parts of forge's TLS connection the bench uses (node-forge ships no types). */
interface ForgeConnection {
  handshake(sessionId?: string | null): void;
  process(data: string): number;
  prepare(data: string): boolean;
  close(): void;
  isConnected: boolean;
  version: { major: number; minor: number };
  session?: { cipherSuite?: { name?: string } };
  tlsData: { getBytes(): string };
  data: { getBytes(): string };
}
interface ForgeTls {
  createConnection(options: Record<string, unknown>): ForgeConnection;
  CipherSuites: Record<string, unknown>;
}
const forgeTls = (forge as unknown as { tls: ForgeTls }).tls;

let rsa: BenchChain | undefined;

/** Load the RSA chain forge serves and trusts (RSA key exchange needs an RSA key). */
export async function prepareForge(): Promise<void> {
  rsa = await benchChain("rsa-2048");
}

/** A forge certificate, as far as the name check reads it. */
interface ForgeCertificate {
  getExtension(name: string): { altNames?: { type: number; value: string }[] } | null;
}

/**
 * forge's verify callback: forge has checked the chain against its CA store (`verified` is true, or the
 * error); forge checks no name, so at the leaf (depth 0) this checks "localhost" among its DNS names, as a
 * forge application must.
 */
function verifyLocalhost(_c: unknown, verified: unknown, depth: number, certs: ForgeCertificate[]): unknown {
  if (verified !== true || depth !== 0) return verified;
  const names = certs[0]?.getExtension("subjectAltName")?.altNames ?? [];
  return names.some((n) => n.type === 2 && n.value === "localhost") ||
    { message: "the certificate is not for localhost" };
}

const latin1 = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("latin1");
const bytesOf = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));

class ForgeSide implements Side {
  readonly ready: Promise<void>;
  onData: ((chunk: Uint8Array) => void) | undefined;
  readonly #conn: ForgeConnection;
  readonly #inbox: string[] = [];
  #busy = false;
  #closed = false;

  constructor(isServer: boolean, c: Case, end: End) {
    const link = linkOf(end);
    let resolve!: () => void, reject!: (e: unknown) => void;
    this.ready = new Promise((res, rej) => ((resolve = res), (reject = rej)));
    this.ready.catch(() => {});
    const cert = rsa;
    if (!cert) throw new Error("prepareForge() was not called");
    this.#conn = forgeTls.createConnection({
      server: isServer,
      // The client checks the chain against the bench CA, and the name, unless the case says otherwise.
      ...(c.trust === "none" ? { verify: () => true } : {
        caStore: [c.trust === "other-ca" ? cert.otherCaPem : cert.caPem],
        verify: verifyLocalhost,
      }),
      verifyClient: false,
      getCertificate: () => cert.chainPem,
      getPrivateKey: () => cert.keyPem,
      cipherSuites: [forgeTls.CipherSuites.TLS_RSA_WITH_AES_128_CBC_SHA],
      connected: () => resolve(),
      tlsDataReady: (c: ForgeConnection) => {
        if (!this.#closed) link.send(bytesOf(c.tlsData.getBytes()));
      },
      dataReady: (c: ForgeConnection) => this.onData?.(bytesOf(c.data.getBytes())),
      closed: () => {},
      error: (_c: ForgeConnection, e: { message?: string }) => reject(new Error(`forge: ${e.message}`)),
    });
    // forge is not re-entrant: bytes that arrive while it processes (its peer answering synchronously
    // over a memory link) wait for the loop below.
    link.onBytes((bytes) => {
      this.#inbox.push(latin1(bytes));
      if (this.#busy) return;
      this.#busy = true;
      try {
        while (this.#inbox.length > 0 && !this.#closed) this.#conn.process(this.#inbox.shift()!);
      } finally {
        this.#busy = false;
      }
    });
    if (!isServer) queueMicrotask(() => this.#conn.handshake());
  }

  write(data: Uint8Array): void {
    this.#conn.prepare(latin1(data));
  }

  negotiated(): Negotiated {
    const v = this.#conn.version;
    return {
      version: v ? `TLSv1.${v.minor - 1}`.replace("TLSv1.0", "TLSv1") : undefined,
      suite: this.#conn.session?.cipherSuite?.name,
    };
  }

  resumed(): boolean {
    return false;
  }

  session(): unknown {
    return undefined;
  }

  close(): void {
    this.#closed = true;
  }
}

/**
 * node-forge, both roles, TLS 1.1 (TLS_RSA_WITH_AES_128_CBC_SHA) with the RSA chain; its client verifies the
 * chain and the name (see `verifyLocalhost`).
 */
export const nodeForge: Impl = {
  name: "forge",
  wire: "link",
  unsupported: (c) =>
    c.version !== "TLSv1.1" || c.cert !== "rsa-2048"
      ? "forge speaks TLS 1.0/1.1 with RSA key exchange only"
      : undefined,
  client: (c, end) => new ForgeSide(false, c, end),
  server: (c, end) => new ForgeSide(true, c, end),
};
