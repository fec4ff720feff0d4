/**
 * node:tls as a bench `Impl`, over one end of an in-memory Duplex pair: the runtime's own TLS (OpenSSL on
 * Node, BoringSSL on Bun, rustls on Deno), driven through the node:tls API.
 * @module
 */

import { constants } from "node:crypto";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";
import type { TestKeyType } from "../testing/pki.ts";
import { type BenchChain, benchChain } from "./_pki.ts";
import {
  type Case,
  caseKey,
  type End,
  groupsOf,
  type Impl,
  type Negotiated,
  runtime,
  type Side,
} from "./_common.ts";

/** OpenSSL's names for the IANA suite and group names the cases use. */
const OPENSSL_SUITE: Record<string, string> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: "ECDHE-ECDSA-AES128-GCM-SHA256",
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: "ECDHE-RSA-AES128-GCM-SHA256",
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: "ECDHE-ECDSA-AES256-GCM-SHA384",
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: "ECDHE-RSA-AES256-GCM-SHA384",
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-RSA-CHACHA20-POLY1305",
};
const OPENSSL_GROUP: Record<string, string> = {
  x25519: "X25519",
  secp256r1: "P-256",
  secp384r1: "P-384",
  X25519MLKEM768: "X25519MLKEM768",
};
/** The names node:tls reports for groups (getEphemeralKeyInfo), back to the IANA names. */
const GROUP_NAME: Record<string, string> = {
  X25519: "x25519",
  prime256v1: "secp256r1",
  "P-256": "secp256r1",
  secp384r1: "secp384r1",
  "P-384": "secp384r1",
  X25519MLKEM768: "X25519MLKEM768",
};

/** The node:tls options that pin a case: one version, one suite, one group. */
function pinOptions(c: Case): tls.SecureContextOptions {
  if (c.version === "TLSv1.1") {
    // forge's server answers TLS 1.0 even to a 1.1 ClientHello, so 1.0 is allowed too. OpenSSL 3 allows
    // them (and SHA-1) only at security level 0 (BoringSSL has no levels), and talks to a server without
    // renegotiation_info (forge) only with SSL_OP_LEGACY_SERVER_CONNECT.
    const ciphers = runtime.name === "bun" ? "AES128-SHA" : "AES128-SHA:@SECLEVEL=0";
    const secureOptions = constants.SSL_OP_LEGACY_SERVER_CONNECT ?? 0;
    return { minVersion: "TLSv1", maxVersion: "TLSv1.1", ciphers, secureOptions };
  }
  const suite = c.version === "TLSv1.3" ? c.suite : OPENSSL_SUITE[c.suite]!;
  return {
    minVersion: c.version,
    maxVersion: c.version,
    // node:tls sends TLS_* names to SSL_CTX_set_ciphersuites and the rest to SSL_CTX_set_cipher_list.
    ciphers: suite,
    ...(c.defaultGroups ? {} : { ecdhCurve: groupsOf(c).map((g) => OPENSSL_GROUP[g]!).join(":") }),
  };
}

const certs = new Map<TestKeyType, BenchChain>();

/** Load the chains the cases need (node:tls takes PEM). */
export async function prepareNode(types: Iterable<TestKeyType>): Promise<void> {
  for (const t of types) certs.set(t, await benchChain(t));
}

function certOf(type: TestKeyType): BenchChain {
  const cert = certs.get(type);
  if (!cert) throw new Error(`prepareNode() did not load the ${type} chain`);
  return cert;
}

/**
 * One client SecureContext per case and trust: the pinned options and the CA (node:tls reads `ca` into a new
 * certificate store for every context, so an application that connects often makes its context once, as
 * here). With `Case.trust` "none" it trusts nothing and does not verify.
 */
const clientContexts = new Map<string, tls.SecureContext>();

function clientContext(c: Case): tls.SecureContext {
  const key = `${caseKey(c)}/${c.trust ?? "ca"}`;
  let ctx = clientContexts.get(key);
  if (!ctx) {
    const chain = certOf(c.cert);
    const ca = c.trust === "none" ? {} : { ca: c.trust === "other-ca" ? chain.otherCaPem : chain.caPem };
    ctx = tls.createSecureContext({ ...pinOptions(c), ...ca });
    clientContexts.set(key, ctx);
  }
  return ctx;
}

/**
 * One tls.Server per case, fed in-memory Duplexes through its 'connection' event: the server keeps its
 * ticket keys and session id context, so sessions resume (a bare server TLSSocket does not, on Node).
 */
const servers = new Map<string, tls.Server>();

function serverFor(c: Case): tls.Server {
  const key = caseKey(c);
  let s = servers.get(key);
  if (!s) {
    const cert = certOf(c.cert);
    s = tls.createServer({ cert: cert.chainPem, key: cert.keyPem, ...pinOptions(c) });
    servers.set(key, s);
  }
  return s;
}

class NodeSide implements Side {
  readonly ready: Promise<void>;
  onData: ((chunk: Uint8Array) => void) | undefined;
  #socket: tls.TLSSocket | undefined;
  #session: Buffer | undefined;
  readonly #isServer: boolean;

  constructor(isServer: boolean, open: (side: NodeSide) => Promise<tls.TLSSocket>) {
    this.#isServer = isServer;
    this.ready = open(this).then((socket) => {
      this.#socket = socket;
    });
    this.ready.catch(() => {});
  }

  /** Wire a socket's events to this side. */
  attach(socket: tls.TLSSocket): void {
    socket.on("data", (d: Uint8Array) => this.onData?.(d));
    socket.on("session", (s: Buffer) => (this.#session = s));
  }

  write(data: Uint8Array): void | Promise<void> {
    const socket = this.#socket!;
    if (socket.write(data)) return;
    return new Promise((resolve) => socket.once("drain", resolve));
  }

  negotiated(): Negotiated {
    const s = this.#socket;
    if (!s) return {};
    const cipher = s.getCipher?.() as { standardName?: string; name?: string } | undefined;
    const eph = this.#isServer ? undefined : s.getEphemeralKeyInfo?.() as { name?: string } | undefined;
    return {
      version: s.getProtocol?.() ?? undefined,
      suite: cipher?.standardName ?? cipher?.name,
      group: eph?.name ? GROUP_NAME[eph.name] ?? eph.name : undefined,
    };
  }

  resumed(): boolean {
    return this.#socket?.isSessionReused() ?? false;
  }

  session(): unknown {
    return this.#session;
  }

  close(): void {
    this.#socket?.destroy();
  }
}

/**
 * node:tls, both roles, over a Duplex (it cannot use a synchronous memory link). The client verifies the
 * chain against the bench CA and the name "localhost" (`ca`, `servername`, `rejectUnauthorized: true`),
 * unless the case says otherwise (`Case.trust`).
 */
export const nodeTls: Impl = {
  name: "node:tls",
  wire: "duplex",
  unsupported: (c) => (c.ech ? "node:tls has no Encrypted Client Hello" : undefined),
  client(c: Case, end: End, session?: unknown): Side {
    const duplex = needDuplex(end);
    return new NodeSide(false, (side) =>
      new Promise((resolve, reject) => {
        const socket = tls.connect({
          socket: duplex,
          servername: "localhost",
          secureContext: clientContext(c),
          // The chain against the bench CA, and the name (checkServerIdentity) unless the case says not to.
          rejectUnauthorized: c.trust !== "none",
          ...(session ? { session: session as Buffer } : {}),
        }, () => resolve(socket));
        side.attach(socket);
        socket.once("error", reject);
      }));
  },
  server(c: Case, end: End): Side {
    const duplex = needDuplex(end);
    const server = serverFor(c);
    return new NodeSide(true, (side) =>
      new Promise((resolve, reject) => {
        const onSecure = (socket: tls.TLSSocket) => {
          server.off("secureConnection", onSecure);
          server.off("tlsClientError", onError);
          side.attach(socket);
          resolve(socket);
        };
        const onError = (e: Error) => {
          server.off("secureConnection", onSecure);
          server.off("tlsClientError", onError);
          reject(e);
        };
        // One handshake at a time per server, so the next secure connection is this one.
        server.on("secureConnection", onSecure);
        server.on("tlsClientError", onError);
        server.emit("connection", duplex);
      }));
  },
};

function needDuplex(end: End): Duplex {
  if (!end.duplex) throw new Error("node:tls needs a Duplex end");
  return end.duplex;
}
