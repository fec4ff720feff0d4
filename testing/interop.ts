// Copyright 2026 the airlock authors. MIT license.

/**
 * The matrix every interop peer runs, written once: each cipher suite, each group, HelloRetryRequest and
 * each certificate type, with the airlock client against the peer's server and the peer's client against
 * the airlock server. A peer file describes its peer as a table ({@linkcode Tls13Peer},
 * {@linkcode Tls12Peer}): how to start one connection, its own arguments for each row, and what it prints
 * when that row was negotiated. The matrix registers one `Deno.test` per cell and checks what airlock
 * reports; the peer's own connection function checks the exchange, the close and the peer's exit.
 *
 * @module
 */

import assert from "node:assert/strict";
import type {
  CipherSuiteName,
  ClientConfig,
  GroupName,
  HandshakeInfo,
  ServerConfig,
  SigSchemeName,
} from "../mod.ts";
import type { TestKeyType } from "./pki.ts";
import { assertTls12 } from "./peers.ts";

/** What one connection settled on: airlock's view, and the peer's report to match rows against. */
export interface Outcome {
  readonly info: HandshakeInfo;
  /** What the peer printed about the session. */
  readonly report: string;
}

/** One connection of the matrix. `A` is one of the peer's own restrictions (flags, priority fragments). */
export interface Connection<A> {
  /** Restrictions for the peer, in order. */
  readonly args: readonly A[];
  /** The certificate type of whichever side is the server. */
  readonly keyType?: TestKeyType;
  /** The airlock client's configuration (against the peer's server). */
  readonly client?: Partial<ClientConfig>;
  /** The airlock server's configuration (against the peer's client). */
  readonly server?: Partial<ServerConfig>;
}

/** The certificate type and airlock's configuration of `c`, without the ones it leaves out. */
export function settings<A>(
  c: Connection<A>,
): { keyType?: TestKeyType; client?: Partial<ClientConfig>; server?: Partial<ServerConfig> } {
  return {
    ...(c.keyType ? { keyType: c.keyType } : {}),
    ...(c.client ? { client: c.client } : {}),
    ...(c.server ? { server: c.server } : {}),
  };
}

/** A row of a peer's table: our name for it, and what the peer prints once it was negotiated. */
export interface Row<N extends string, A> {
  readonly name: N;
  /** Restricts the peer to this row. */
  readonly args: A;
  /** Printed by the peer's server. */
  readonly serverSays?: RegExp;
  /** Printed by the peer's client. */
  readonly clientSays?: RegExp;
}

/** A certificate type, the scheme its CertificateVerify uses, and what the peer prints about it. */
export interface CertificateRow {
  readonly type: TestKeyType;
  readonly scheme: SigSchemeName;
  readonly serverSays?: RegExp;
  readonly clientSays?: RegExp;
}

/** A TLS 1.3 peer as {@linkcode tls13Matrix} sees it. */
export interface Tls13Peer<A> {
  /** The peer's server and client in test names, e.g. `openssl s_server` and `openssl s_client`. */
  readonly serverName: string;
  readonly clientName: string;
  /** The airlock client against the peer's server. */
  withServer(c: Connection<A>): Promise<Outcome>;
  /** The peer's client against the airlock server. */
  withClient(c: Connection<A>): Promise<Outcome>;
  readonly suites: readonly Row<CipherSuiteName, A>[];
  readonly groups: readonly Row<GroupName, A>[];
  readonly certificates: readonly CertificateRow[];
  /** HelloRetryRequest: the peer's server held to secp256r1; the peer's client sharing another key first. */
  readonly hrr: { readonly serverArgs: readonly A[]; readonly clientArgs: readonly A[] };
}

function says(report: string, pattern: RegExp | undefined): void {
  if (pattern) assert.match(report, pattern, report);
}

/**
 * Register the TLS 1.3 matrix for `peer`: each suite, each group, HelloRetryRequest and each certificate
 * type, both ways.
 *
 * @param peer The peer's table.
 */
export function tls13Matrix<A>(peer: Tls13Peer<A>): void {
  const secp384r1 = peer.groups.find((g) => g.name === "secp384r1");
  for (
    const [title, run, side] of [
      [`${peer.serverName} ↔ airlock client`, peer.withServer, "serverSays"],
      [`${peer.clientName} ↔ airlock server`, peer.withClient, "clientSays"],
    ] as const
  ) {
    const asClient = side === "serverSays";
    for (const suite of peer.suites) {
      Deno.test(`${title}: ${suite.name}`, async () => {
        const { info, report } = await run({ args: [suite.args] });
        assert.equal(info.version, "TLSv1.3");
        assert.equal(info.cipherSuite, suite.name);
        says(report, suite[side]);
      });
    }
    for (const group of peer.groups) {
      Deno.test(`${title}: group ${group.name}`, async () => {
        const { info, report } = await run({
          args: [group.args],
          ...(asClient ? { client: { groups: [group.name] } } : {}),
        });
        assert.equal(info.group, group.name);
        assert.equal(info.helloRetry, false);
        says(report, group[side]);
      });
    }
    if (asClient) {
      Deno.test(`${title}: HelloRetryRequest to secp256r1`, async () => {
        // Our one key share is for x25519; the peer's server accepts only secp256r1.
        const { info } = await run({
          args: peer.hrr.serverArgs,
          client: { groups: ["x25519", "secp256r1"], keyShareCount: 1 },
        });
        assert.equal(info.helloRetry, true);
        assert.equal(info.group, "secp256r1");
      });
    } else {
      Deno.test(`${title}: HelloRetryRequest to secp384r1`, async () => {
        // The peer's client sends a key share for another group first; our server accepts only secp384r1.
        const { info, report } = await run({ args: peer.hrr.clientArgs, server: { groups: ["secp384r1"] } });
        assert.equal(info.helloRetry, true);
        assert.equal(info.group, "secp384r1");
        says(report, secp384r1?.clientSays);
      });
    }
    for (const cert of peer.certificates) {
      Deno.test(`${title}: ${cert.type} certificate`, async () => {
        const { info, report } = await run({ args: [], keyType: cert.type });
        assert.equal(info.signatureScheme, cert.scheme);
        says(report, cert[side]);
      });
    }
  }
}

/** A TLS 1.2 suite row: our name, the peer's own names, and the certificate type it needs. */
export interface Tls12Suite {
  readonly name: CipherSuiteName;
  readonly keyType: TestKeyType;
}

/** A TLS 1.2 peer as {@linkcode tls12Matrix} sees it. */
export interface Tls12Peer<A, S extends Tls12Suite, G extends { readonly name: GroupName }> {
  /** Test names: the peer's server and client speaking TLS 1.2 only, and its client offering 1.3 too. */
  readonly serverName: string;
  readonly clientName: string;
  readonly clientBothName: string;
  withServer(c: Connection<A>): Promise<Outcome>;
  withClient(c: Connection<A>): Promise<Outcome>;
  readonly suites: readonly S[];
  readonly groups: readonly G[];
  /** Hold the peer's server to TLS 1.2, `suite` and `group`. */
  serverArgs(suite: S, group: G): readonly A[];
  /** Hold the peer's client to `suite` (and TLS 1.2 unless `alsoTls13`); our server picks `group`. */
  clientArgs(suite: S, group: G, alsoTls13: boolean): readonly A[];
  /** What the peer's client prints about `group`. */
  clientSays?(group: G): RegExp;
}

/**
 * Register the TLS 1.2 matrix for `peer`: every suite, each with a group (rotated so that every group
 * meets both certificate types), both ways, once with the TLS 1.2 side speaking only TLS 1.2 and once
 * with it offering TLS 1.3 too (so that the downgrade sentinel is sent, or must not be).
 *
 * @param peer The peer's table.
 */
export function tls12Matrix<A, S extends Tls12Suite, G extends { readonly name: GroupName }>(
  peer: Tls12Peer<A, S, G>,
): void {
  const group = (i: number) => peer.groups[i % peer.groups.length]!;
  peer.suites.forEach((suite, i) => {
    const g = group(i);
    Deno.test(`${peer.serverName} ↔ airlock client (TLS 1.2 only): ${suite.name}, ${g.name}`, async () => {
      const { info } = await peer.withServer({
        keyType: suite.keyType,
        args: peer.serverArgs(suite, g),
        client: { maxVersion: "TLSv1.2" },
      });
      assertTls12(info, suite, g);
    });
  });
  peer.suites.forEach((suite, i) => {
    const g = group(i + 1);
    Deno.test(`${peer.serverName} ↔ airlock client (TLS 1.2 and 1.3): ${suite.name}, ${g.name}`, async () => {
      // Our default client offers TLS 1.3 and 1.2, every suite and group; the peer's server can only pick
      // TLS 1.2 and has no TLS 1.3 to mark its answer with a downgrade sentinel.
      const { info } = await peer.withServer({ keyType: suite.keyType, args: peer.serverArgs(suite, g) });
      assertTls12(info, suite, g);
    });
  });
  peer.suites.forEach((suite, i) => {
    const g = group(i);
    Deno.test(`${peer.clientName} ↔ airlock server (TLS 1.2 and 1.3): ${suite.name}, ${g.name}`, async () => {
      // Our default server speaks TLS 1.3 too and marks its answer with the downgrade sentinel, which a
      // TLS 1.2-only client ignores.
      const { info, report } = await peer.withClient({
        keyType: suite.keyType,
        server: { groups: [g.name] },
        args: peer.clientArgs(suite, g, false),
      });
      assertTls12(info, suite, g);
      says(report, peer.clientSays?.(g));
    });
  });
  peer.suites.forEach((suite, i) => {
    const g = group(i + 1);
    Deno.test(`${peer.clientBothName} ↔ airlock server (TLS 1.2 only): ${suite.name}, ${g.name}`, async () => {
      // The peer's client offers TLS 1.3 too and checks for the sentinel, which a server that speaks TLS
      // 1.2 only must not send.
      const { info, report } = await peer.withClient({
        keyType: suite.keyType,
        server: { maxVersion: "TLSv1.2", groups: [g.name] },
        args: peer.clientArgs(suite, g, true),
      });
      assertTls12(info, suite, g);
      says(report, peer.clientSays?.(g));
    });
  });
}
