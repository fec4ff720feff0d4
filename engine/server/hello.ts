/**
 * The server's first step, shared by both versions (rustls's server/hs.rs): ExpectClientHello runs the
 * application's callbacks in OpenSSL's order (onClientHello, which may change this connection's settings
 * or refuse; the version choice; selectCertificate), then hands the ClientHello to TLS 1.3
 * ({@link startServer13}) or TLS 1.2 ({@link startServer12}).
 *
 * The version is the highest both speak, never below TLS 1.2 ({@link chooseVersion}); TLS_FALLBACK_SCSV
 * (RFC 7507) is honoured here, and tls12.ts puts the RFC 8446 §4.1.3 downgrade sentinel in its random.
 * @module
 */

import {
  type CertifiedKey,
  type ClientHelloDecision,
  type ClientHelloInfo,
  normalizeCertificates,
} from "../config.ts";
import { SslError } from "../codes.ts";
import { incompatible, refused } from "../errors.ts";
import { ExtensionType as E, HandshakeType as H, ProtocolVersion } from "../msgs/enums.ts";
import {
  decodeAlpn,
  decodeClientShares,
  decodeClientVersions,
  decodeServerNameList,
  decodeU16List,
  findExtension,
} from "../msgs/extensions.ts";
import { type ClientHello, decodeClientHello, type HandshakeMessage } from "../msgs/handshake.ts";
import { andThen, type Context, expectMessage, isPromiseLike, type State, type Step } from "../state.ts";
import { openClientHello, type ServerEchState } from "../ech/server.ts";
import { FALLBACK_SCSV, isTls12OnlySuite, RENEGOTIATION_SCSV } from "../tls12.ts";
import type { ServerSetup } from "./common.ts";
import { startServer12 } from "./tls12.ts";
import { startServer13 } from "./tls13.ts";

/** The ClientHello as `onClientHello` sees it (decoding an extension it reads may fail with its alert). */
function clientHelloInfo(ch: ClientHello): ClientHelloInfo {
  const ext = (type: number) => findExtension(ch.extensions, type);
  const list = (type: number, what: string) => {
    const data = ext(type);
    return data === undefined ? [] : decodeU16List(data, `ClientHello.${what}`, what);
  };
  const sn = ext(E.serverName), alpn = ext(E.alpn), sv = ext(E.supportedVersions), ks = ext(E.keyShare);
  return {
    serverName: sn === undefined ? undefined : decodeServerNameList(sn, "ClientHello.server_name"),
    alpnProtocols: alpn === undefined ? [] : decodeAlpn(alpn, "ClientHello.alpn"),
    versions: sv === undefined
      ? [ch.legacyVersion]
      : decodeClientVersions(sv, "ClientHello.supported_versions"),
    cipherSuites: ch.cipherSuites,
    groups: list(E.supportedGroups, "supported_groups"),
    keyShareGroups: ks === undefined
      ? []
      : decodeClientShares(ks, "ClientHello.key_share").map((k) => k.group),
    signatureSchemes: list(E.signatureAlgorithms, "signature_algorithms"),
    extensions: ch.extensions,
    legacyVersion: ch.legacyVersion,
    random: ch.random,
    sessionId: ch.sessionId,
  };
}

/** Waiting for the first ClientHello. */
export class ExpectClientHello implements State {
  readonly name = "server.ExpectClientHello";
  readonly waitsForClientHello = true;
  constructor(readonly setup: ServerSetup) {}

  /**
   * The application's say first, as OpenSSL's state machine has it: the client-hello callback (it may change
   * this connection's settings, or refuse), the version, then the certificate callback; then the handshake.
   */
  handle(cx: Context, outer: HandshakeMessage): Step {
    expectMessage(outer, H.clientHello, this.name);
    const where = `${this.name}@ClientHello`;
    // ECH first (ech/server.ts): an inner ClientHello that opens replaces the outer one for everything after.
    const opened = openClientHello(cx, this.setup.ech, decodeClientHello(outer.body), outer, where);
    return andThen(opened, ({ ch, m, state }) => this.#hello(cx, ch, m, state, where));
  }

  #hello(
    cx: Context,
    ch: ClientHello,
    m: HandshakeMessage,
    echState: ServerEchState | undefined,
    where: string,
  ): Step {
    const base: ServerSetup = echState ? { ...this.setup, echState } : this.setup;
    const withVersion = (setup: ServerSetup): Step => {
      const version = chooseVersion(cx, ch, where);
      const select = setup.options.selectCertificate;
      const go = (s: ServerSetup): Step =>
        version === ProtocolVersion.tls12
          ? startServer12(cx, s, ch, m, where)
          : startServer13(cx, s, ch, m, where);
      if (!select) return go(setup);
      const sn = findExtension(ch.extensions, E.serverName);
      const sa = findExtension(ch.extensions, E.signatureAlgorithms);
      const chosen = select({
        serverName: sn === undefined ? undefined : decodeServerNameList(sn, "ClientHello.server_name"),
        signatureSchemes: sa === undefined
          ? []
          : decodeU16List(sa, "ClientHello.signature_algorithms", "list"),
        version: version === ProtocolVersion.tls12 ? "TLSv1.2" : "TLSv1.3",
      });
      const use = (certs: readonly CertifiedKey[] | undefined): Step =>
        go(certs === undefined ? setup : { ...setup, certs: normalizeCertificates(certs) });
      return isPromiseLike(chosen)
        ? { pending: Promise.resolve(chosen).then(use), waitingFor: SslError.WANT_X509_LOOKUP }
        : use(chosen);
    };
    const onHello = base.options.onClientHello;
    if (!onHello) return withVersion(base);
    const decided = (d: ClientHelloDecision): Step => {
      if (d && "refuse" in d) {
        throw refused(
          "client_hello_refused",
          "The onClientHello callback refused the ClientHello",
          where,
          d.refuse,
        );
      }
      if (!d || !("config" in d)) return withVersion(base);
      const { setup, cfg } = base.reconfigure(d.config);
      cx.reconfigure(cfg);
      return withVersion(echState ? { ...setup, echState } : setup);
    };
    const decision = onHello(clientHelloInfo(ch));
    return isPromiseLike(decision)
      ? { pending: Promise.resolve(decision).then(decided), waitingFor: SslError.WANT_CLIENT_HELLO_CB }
      : decided(decision);
  }
}

/**
 * The version to speak with this client: the highest in both ranges (supported_versions when sent, else
 * legacy_version). Refusals, in this order:
 * - TLS_FALLBACK_SCSV while we speak higher than the client's highest: inappropriate_fallback (RFC 7507 §3,
 *   whether or not we share a version);
 * - legacy_version SSL 3.0 or below: protocol_version, even beside supported_versions (RFC 8446 §D.5);
 * - nothing in common: protocol_version (RFC 5246 §E.1), except for a TLS 1.0 or 1.1 ClientHello whose cipher
 *   suites all exist only from TLS 1.2 on: it has no suite usable at its own version, handshake_failure (as
 *   OpenSSL answers it).
 */
function chooseVersion(cx: Context, ch: ClientHello, where: string): number {
  const sv = findExtension(ch.extensions, E.supportedVersions);
  // Without supported_versions, legacy_version, TLS 1.2 at most whatever it says (RFC 8446 §4.2.1).
  const offered = sv === undefined
    ? [Math.min(ch.legacyVersion, ProtocolVersion.tls12)]
    : decodeClientVersions(sv, "ClientHello.supported_versions");
  // The client's highest version that we know of (GREASE and drafts are neither above nor below ours).
  const known = offered.filter((v) => v >> 8 === 3 && v <= ProtocolVersion.tls13);
  const highest = known.length > 0 ? Math.max(...known) : ch.legacyVersion;
  if (ch.cipherSuites.includes(FALLBACK_SCSV) && highest < cx.cfg.maxVersion) {
    throw incompatible(
      "inappropriate_fallback",
      "Cannot accept ClientHello: TLS_FALLBACK_SCSV, but we speak a higher version than the client offers",
      where,
    );
  }
  if (ch.legacyVersion <= ProtocolVersion.ssl3) {
    throw incompatible(
      "no_common_version",
      `Cannot accept ClientHello: legacy_version 0x${
        ch.legacyVersion.toString(16).padStart(4, "0")
      } is SSL 3.0 or older`,
      where,
    );
  }
  const version = [ProtocolVersion.tls13, ProtocolVersion.tls12].find((v) =>
    offered.includes(v) && v >= cx.cfg.minVersion && v <= cx.cfg.maxVersion
  );
  if (version !== undefined) return version;
  const suites = ch.cipherSuites.filter((s) => s !== FALLBACK_SCSV && s !== RENEGOTIATION_SCSV);
  if (highest >= ProtocolVersion.tls10 && highest < ProtocolVersion.tls12 && suites.every(isTls12OnlySuite)) {
    throw incompatible(
      "no_common_cipher_suite",
      `Cannot accept ClientHello: TLS 1.${highest - 0x0301} with only cipher suites that need TLS 1.2`,
      where,
    );
  }
  throw incompatible(
    "no_common_version",
    `Cannot accept ClientHello: no protocol version in common (we speak ${
      cx.cfg.minVersion === cx.cfg.maxVersion ? "" : "TLS 1.2 to "
    }TLS 1.${cx.cfg.maxVersion - 0x0301})`,
    where,
  );
}
