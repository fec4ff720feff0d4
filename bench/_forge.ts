/**
 * node-forge as a bench `Impl`: its sans-I/O TLS connection (binary strings in and out) over a `Link`.
 * forge speaks TLS 1.0 and 1.1 with RSA key exchange and AES-CBC only, so it meets node:tls (where the
 * runtime still allows TLS 1.1) and itself, never airlock.
 * @module
 */

import forge from "node-forge";
import { Buffer } from "node:buffer";
import { generateTestCertificate, type TestCertificate } from "../testing/pki.ts";
import { type End, type Impl, linkOf, type Negotiated, type Side } from "./_common.ts";

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

let rsa: TestCertificate | undefined;

/** Generate the RSA certificate forge serves (RSA key exchange needs an RSA key). */
export async function prepareForge(): Promise<void> {
  rsa = await generateTestCertificate("rsa-2048");
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

  constructor(isServer: boolean, end: End) {
    const link = linkOf(end);
    let resolve!: () => void, reject!: (e: unknown) => void;
    this.ready = new Promise((res, rej) => ((resolve = res), (reject = rej)));
    this.ready.catch(() => {});
    const cert = rsa;
    if (!cert) throw new Error("prepareForge() was not called");
    this.#conn = forgeTls.createConnection({
      server: isServer,
      verify: () => true, // the bench checks no chain, for any implementation
      verifyClient: false,
      getCertificate: () => cert.certPem,
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

/** node-forge, both roles, TLS 1.1 (TLS_RSA_WITH_AES_128_CBC_SHA) with the RSA test certificate. */
export const nodeForge: Impl = {
  name: "forge",
  pumps: true,
  unsupported: (c) =>
    c.version !== "TLSv1.1" || c.cert !== "rsa-2048"
      ? "forge speaks TLS 1.0/1.1 with RSA key exchange only"
      : undefined,
  client: (_c, end) => new ForgeSide(false, end),
  server: (_c, end) => new ForgeSide(true, end),
};
