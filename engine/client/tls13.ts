/**
 * The TLS 1.3 client, one class per state (RFC 8446 §2):
 *
 *   startClient: send ClientHello
 *   ExpectServerHello: ServerHello (→ handshake keys, CCS) or HelloRetryRequest (→ ClientHello2)
 *   ExpectEncryptedExtensions → ExpectCertificateOrRequest → ExpectCertificate
 *   → ExpectCertificateVerify → ExpectFinished: send [CCS] [Certificate] Finished, application keys
 *   Connected: NewSessionTicket, KeyUpdate
 * @module
 */

import {
  type CertificateRequestInfo,
  type CertifiedKey,
  type ClientConfig,
  normalizeCertificates,
} from "../config.ts";
import { SslError } from "../codes.ts";
import type { VerifyPolicy } from "../peer_verify.ts";
import { acceptPeerChain, checkCertificateVerify, readCertificate } from "../peer_auth.ts";
import { finishedVerifyData, KeySchedule } from "../key_schedule.ts";
import { Connected } from "../connected.ts";
import { Writer } from "../msgs/codec.ts";
import { pskBinder, type TlsSession } from "../session.ts";
import { type ClientBinding, clientBinding, sameBinding } from "../binding.ts";
import type { Hash } from "../../suites/hash.ts";
import { ExtensionType as E, groupName, HandshakeType as H, ProtocolVersion } from "../msgs/enums.ts";
import {
  checkAllowed,
  decodeAlpn,
  decodeCertificateAuthorities,
  decodeCookie,
  decodeEmpty,
  decodeServerShare,
  decodeU16,
  decodeU16List,
  decodeU8,
  encodeAlpn,
  encodeClientShares,
  encodeOfferedPsks,
  encodeServerNameList,
  encodeU16,
  encodeU16List,
  type Extension,
  findExtension,
} from "../msgs/extensions.ts";
import {
  decodeCertificateRequest,
  decodeEncryptedExtensions,
  decodeServerHello,
  encodeCertificate,
  encodeCertificateVerify,
  encodeClientHello,
  encodeEndOfEarlyData,
  encodeFinished,
  type HandshakeMessage,
  isHelloRetryRequest,
  type ServerHello,
} from "../msgs/handshake.ts";
import {
  acceptFinished,
  andThen,
  certificateVerifyContent,
  type Context,
  expectMessage,
  fail,
  isPromiseLike,
  type State,
  type Step,
  usePeerShare,
} from "../state.ts";
import { ctEqual } from "../../suites/bytes.ts";
import type { KeyShare, KxGroup } from "../../suites/kx.ts";
import type { PublicKey, SigningKey } from "../../suites/sign.ts";
import type { Tls13Suite } from "../../suites/tls13.ts";
import { schemeName } from "../names.ts";
import { FALLBACK_SCSV } from "../tls12.ts";
import { serverHello12 } from "./tls12.ts";
import type { Tls12Suite } from "../../suites/tls12.ts";

/** What the client decided before sending ClientHello. */
export interface ClientOffer {
  readonly config: ClientConfig;
  readonly policy: VerifyPolicy;
  readonly sni: string | undefined;
  readonly random: Uint8Array;
  readonly sessionId: Uint8Array;
  readonly shares: readonly KeyShare[];
  /** Extension types we sent (responses may only use these). */
  readonly offeredExtensions: ReadonlySet<number>;
  readonly cookie: Uint8Array | undefined;
  readonly helloRetry: boolean;
  /** The cipher suite a HelloRetryRequest chose; the ServerHello must repeat it (RFC 8446 §4.1.4). */
  readonly retrySuite: number | undefined;
  /** The session offered for resumption, with its suite's hash; dropped after an HRR that changes the hash. */
  readonly resume:
    | { readonly session: TlsSession; readonly hash: Hash; readonly suite: Tls13Suite }
    | undefined;
  /** 0-RTT early data is offered in this ClientHello. */
  readonly early: boolean;
  /** A TLS 1.2 session offered (by ticket or session id), when TLS 1.2 is in range. */
  readonly resume12: { readonly session: TlsSession; readonly suite: Tls12Suite } | undefined;
  /** Early data was offered in the first ClientHello and a HelloRetryRequest ended it. */
  readonly earlyRejected?: boolean;
}

/**
 * Build and send a ClientHello (RFC 8446 §4.1.2), once the provider has made our key shares; `sni` is the
 * server name as server_name carries it (A-labels, no trailing dot; none for an IP address).
 */
export function startClient(
  cx: Context,
  config: ClientConfig,
  policy: VerifyPolicy,
  sni: string | undefined,
): Step {
  const cfg = cx.cfg;
  const random = cx.cfg.random(32);
  cx.clientRandom = random;
  const binding = clientBinding(config, policy);
  const resume12 = usableSession12(cx, config, binding);
  // RFC 9001 §8.4: no middlebox compatibility mode over QUIC. A TLS 1.2 session id is offered as itself; with
  // a TLS 1.2 ticket a fresh id goes beside it, for the server to echo if it resumes (RFC 5077 §3.4).
  const sessionId = resume12 && resume12.session.data.ticket.length === 0
    ? resume12.session.data.sessionId
    : (config.middleboxCompat === false || cx.quic) && !resume12
    ? new Uint8Array(0)
    : cfg.random(32);
  // A hybrid first group gets the next (classical) group's share beside it by default, as Chrome and Go do.
  const defaultCount = cfg.groups[0]?.name === "X25519MLKEM768" ? 2 : 1;
  const count = Math.max(1, Math.min(config.keyShareCount ?? defaultCount, cfg.groups.length));
  const made = cfg.maxVersion >= ProtocolVersion.tls13
    ? cfg.groups.slice(0, count).map((g) => cfg.provider.keyShare(g, cfg.random))
    : [];
  // A TLS 1.2 CertificateVerify signs the handshake messages themselves.
  if (cfg.minVersion <= ProtocolVersion.tls12 && config.clientCertificate) cx.transcript.keep();
  const pending = made.some((share) => share instanceof Promise);
  return andThen(pending ? Promise.all(made) : made as KeyShare[], (shares) => {
    const offer: ClientOffer = {
      config,
      policy,
      sni,
      random,
      sessionId,
      shares,
      offeredExtensions: new Set(),
      cookie: undefined,
      helloRetry: false,
      retrySuite: undefined,
      resume: usableSession(cx, config, binding),
      early: false,
      resume12,
    };
    if (config.earlyData === true && offer.resume && offer.resume.session.maxEarlyData > 0) {
      return sendHello(cx, { ...offer, early: true });
    }
    return sendHello(cx, offer);
  });
}

/**
 * The caller's session, if it can be offered now: not expired, for the identity it was verified for and by
 * a client that verifies the same way (binding.ts), with a suite we still offer.
 */
function usableSession(cx: Context, config: ClientConfig, binding: ClientBinding) {
  const session = config.session;
  if (!session || session.data.version !== ProtocolVersion.tls13) return undefined;
  const d = session.data;
  const suite = cx.cfg.suites.find((s) => s.id === d.cipherSuite);
  // RFC 8446 §4.6.1: only for the same identity; a suite with the same hash is enough, we keep it simple: the same one.
  if (
    !suite || !sameBinding(d, binding) || cx.cfg.now() >= session.expiresAt || cx.cfg.now() < d.receivedAt
  ) {
    return undefined;
  }
  return { session, hash: suite.hash, suite };
}

/** A TLS 1.2 session the caller passed, if it can be offered now (same rules as TLS 1.3, and EMS). */
function usableSession12(cx: Context, config: ClientConfig, binding: ClientBinding) {
  const session = config.session;
  if (
    !session || session.data.version !== ProtocolVersion.tls12 || cx.cfg.minVersion > ProtocolVersion.tls12
  ) {
    return undefined;
  }
  const d = session.data;
  const suite = cx.cfg.suites12.find((s) => s.id === d.cipherSuite);
  if (
    !suite || !sameBinding(d, binding) || cx.cfg.now() >= session.expiresAt || cx.cfg.now() < d.receivedAt
  ) {
    return undefined;
  }
  if (!d.extendedMasterSecret && cx.cfg.requireEms) return undefined;
  return { session, suite };
}

function sendHello(cx: Context, offer: ClientOffer): State {
  const cfg = cx.cfg;
  const v13 = cfg.maxVersion >= ProtocolVersion.tls13;
  const v12 = cfg.minVersion <= ProtocolVersion.tls12;
  // The hybrid group is TLS 1.3 only.
  const groups = v13 ? cfg.groups : cfg.groups.filter((g) => g.name !== "X25519MLKEM768");
  const exts: Extension[] = [];
  if (offer.sni) exts.push({ type: E.serverName, data: encodeServerNameList(offer.sni) });
  exts.push({ type: E.supportedGroups, data: encodeU16List(groups.map((g) => g.id)) });
  if (cfg.alpn.length > 0) exts.push({ type: E.alpn, data: encodeAlpn(cfg.alpn) });
  if (v13) {
    exts.push({
      type: E.keyShare,
      data: encodeClientShares(offer.shares.map((s) => ({ group: s.group, keyExchange: s.publicKey }))),
    });
    exts.push({
      type: E.supportedVersions,
      data: v12 ? Uint8Array.of(4, 3, 4, 3, 3) : Uint8Array.of(2, 3, 4),
    });
  }
  exts.push({ type: E.signatureAlgorithms, data: encodeU16List(cfg.schemes) });
  if (offer.cookie) {
    exts.push({ type: E.cookie, data: new Writer().vec(2, offer.cookie).finish() });
  }
  if (v13 && (offer.config.offerTickets !== false || offer.resume)) {
    exts.push({ type: E.pskKeyExchangeModes, data: Uint8Array.of(1, 1) });
  }
  if (v12) {
    // RFC 7627, RFC 5746 §3.4 (an empty renegotiation_info), RFC 8422 §5.1.2 (uncompressed points only).
    exts.push({ type: E.extendedMasterSecret, data: new Uint8Array(0) });
    exts.push({ type: E.renegotiationInfo, data: Uint8Array.of(0) });
    exts.push({ type: E.ecPointFormats, data: Uint8Array.of(1, 0) });
    // RFC 5077 §3.2: an empty session_ticket asks for one; a ticket offers it back.
    const ticket = offer.resume12?.session.data.ticket;
    if (offer.config.offerTickets !== false || (ticket && ticket.length > 0)) {
      exts.push({ type: E.sessionTicket, data: ticket ?? new Uint8Array(0) });
    }
  }
  if (cfg.recordSizeLimit !== undefined) {
    exts.push({ type: E.recordSizeLimit, data: encodeU16(cfg.recordSizeLimit) });
  }
  // RFC 9001 §8.2
  if (cfg.quic) exts.push({ type: E.quicTransportParameters, data: cfg.quic.transportParameters });

  const final = offer.config.helloExtensions ? offer.config.helloExtensions(exts) : [...exts];
  const resume = offer.resume;
  // RFC 8446 §4.2.10: early_data, then pre_shared_key last.
  if (offer.early) final.push({ type: E.earlyData, data: new Uint8Array(0) });
  if (resume) {
    // RFC 8446 §4.2.11: pre_shared_key comes last; its binder covers everything before the binders.
    const d = resume.session.data;
    const age = (Math.max(0, cfg.now() - d.receivedAt) + d.ticketAgeAdd) % 2 ** 32;
    const placeholder = new Uint8Array(resume.hash.outputLen);
    final.push({
      type: E.preSharedKey,
      data: encodeOfferedPsks([{ identity: d.ticket, obfuscatedTicketAge: age }], [placeholder]),
    });
  }
  const raw = encodeClientHello({
    legacyVersion: ProtocolVersion.tls12,
    random: offer.random,
    sessionId: offer.sessionId,
    cipherSuites: [
      ...(v13 ? cfg.suites.map((s) => s.id) : []),
      ...(v12 ? cfg.suites12.map((s) => s.id) : []),
      ...(offer.config.fallbackScsv ? [FALLBACK_SCSV] : []),
    ],
    compressionMethods: Uint8Array.of(0),
    extensions: final,
  });
  if (resume) {
    const n = resume.hash.outputLen;
    const truncated = raw.subarray(0, raw.length - (2 + 1 + n));
    raw.set(
      pskBinder(resume.hash, resume.session.data.psk, cx.transcript.hashWith(resume.hash, truncated)),
      raw.length - n,
    );
  }
  cx.sendHandshake(raw);
  if (offer.early && resume) {
    // 0-RTT: the early traffic key covers what writeEarlyData() sends; the compat CCS goes first (§D.4).
    const early = new KeySchedule(resume.hash, resume.session.data.psk)
      .clientEarlyTraffic(cx.transcript.hashWith(resume.hash, new Uint8Array(0)));
    cx.keyLog("CLIENT_EARLY_TRAFFIC_SECRET", early);
    if (cx.quic) {
      // RFC 9001 §4.6: QUIC sends 0-RTT itself; TLS hands over the secret, and its own bytes stay Initial.
      cx.emit("secrets", {
        direction: "write",
        level: "early",
        cipherSuite: resume.suite.name,
        secret: early,
      });
    } else {
      if (offer.sessionId.length > 0) cx.sendChangeCipherSpec();
      cx.setWriteSecret(resume.suite, early, "early");
      cx.openEarlyWrite(resume.session.data.maxEarlyData);
    }
  }
  // From now until the server's Finished, a middlebox-compat CCS may arrive (RFC 8446 §5).
  cx.allowChangeCipherSpec(true);
  return new ExpectServerHello({ ...offer, offeredExtensions: new Set(final.map((e) => e.type)) });
}

/** Waiting for ServerHello or HelloRetryRequest. */
class ExpectServerHello implements State {
  readonly name = "client.ExpectServerHello";
  constructor(readonly s: ClientOffer) {}

  handle(cx: Context, m: HandshakeMessage): Step {
    expectMessage(m, H.serverHello, this.name);
    const sh = decodeServerHello(m.body);
    const hrr = isHelloRetryRequest(sh);
    if (!hrr && findExtension(sh.extensions, E.supportedVersions) === undefined && !this.s.helloRetry) {
      // No supported_versions: TLS 1.2 or older (RFC 8446 §4.1.3).
      return serverHello12(cx, this.s, sh, m);
    }
    const where = hrr ? "client.ExpectServerHello@HelloRetryRequest" : `${this.name}@ServerHello`;
    this.#checkCommon(sh, where);
    const suite = cx.cfg.suites.find((s) => s.id === sh.cipherSuite);
    if (!suite) {
      fail(
        "illegal_parameter",
        "peer_misbehaved.unoffered_cipher_suite",
        "Cannot accept ServerHello: cipher suite was not offered",
        where,
      );
    }
    if (this.s.retrySuite !== undefined && this.s.retrySuite !== suite.id) {
      // RFC 8446 §4.1.4: the ServerHello must repeat the HelloRetryRequest's cipher suite.
      fail(
        "illegal_parameter",
        "peer_misbehaved.suite_changed_after_hrr",
        "Cannot accept ServerHello: cipher suite differs from the HelloRetryRequest",
        where,
      );
    }
    cx.transcript.start(suite.hash);
    if (hrr) return this.#helloRetry(cx, m, sh, suite, where);
    return this.#serverHello(cx, m, sh, suite, where);
  }

  // RFC 8446 §4.1.3: checks both ServerHello and HelloRetryRequest share.
  #checkCommon(sh: ServerHello, where: string): void {
    const sv = findExtension(sh.extensions, E.supportedVersions);
    if (sv === undefined) {
      // A TLS 1.2 (or older) answer to a HelloRetryRequest's ClientHello, or an HRR without a version.
      fail(
        "protocol_version",
        "peer_incompatible.tls13_required",
        "Cannot accept ServerHello: the server does not support TLS 1.3",
        where,
      );
    }
    if (decodeU16(sv, "supported_versions") !== ProtocolVersion.tls13) {
      fail(
        "illegal_parameter",
        "peer_misbehaved.bad_selected_version",
        "Cannot accept ServerHello: supported_versions must select TLS 1.3",
        where,
      );
    }
    if (sh.legacyVersion !== ProtocolVersion.tls12) {
      fail(
        "illegal_parameter",
        "peer_misbehaved.bad_legacy_version",
        "Cannot accept ServerHello: legacy_version must be 0x0303",
        where,
      );
    }
    if (!ctEqual(sh.sessionId, this.s.sessionId)) {
      fail(
        "illegal_parameter",
        "peer_misbehaved.session_id_mismatch",
        "Cannot accept ServerHello: legacy_session_id_echo differs from the sent value",
        where,
      );
    }
    if (sh.compressionMethod !== 0) {
      fail(
        "illegal_parameter",
        "peer_misbehaved.compression",
        "Cannot accept ServerHello: legacy_compression_method must be 0",
        where,
      );
    }
  }

  #helloRetry(cx: Context, m: HandshakeMessage, hrr: ServerHello, suite: Tls13Suite, where: string): Step {
    // RFC 8446 §4.1.4
    if (this.s.helloRetry) {
      fail(
        "unexpected_message",
        "peer_misbehaved.second_hello_retry",
        "Cannot accept HelloRetryRequest: a second one",
        where,
      );
    }
    // RFC 8446 §4.2.2: a cookie is the one extension a HelloRetryRequest may carry unasked.
    checkAllowed(
      "HelloRetryRequest",
      "hrr",
      hrr.extensions,
      new Set([...this.s.offeredExtensions, E.cookie]),
    );
    const ks = findExtension(hrr.extensions, E.keyShare);
    const cookieData = findExtension(hrr.extensions, E.cookie);
    let shares: readonly KeyShare[] | Promise<readonly KeyShare[]> = this.s.shares;
    if (ks !== undefined) {
      const group = decodeU16(ks, "HelloRetryRequest.key_share");
      const g = cx.cfg.groups.find((x) => x.id === group);
      if (!g) {
        fail(
          "illegal_parameter",
          "peer_misbehaved.unoffered_group",
          `Cannot accept HelloRetryRequest: group ${groupName(group)} was not offered`,
          where,
        );
      }
      if (this.s.shares.some((s) => s.group === group)) {
        fail(
          "illegal_parameter",
          "peer_misbehaved.hrr_for_offered_share",
          `Cannot accept HelloRetryRequest: a share for ${g.name} was already sent`,
          where,
        );
      }
      const share = cx.cfg.provider.keyShare(g, cx.cfg.random);
      shares = share instanceof Promise ? share.then((x) => [x]) : [share];
    }
    const cookie = cookieData === undefined
      ? undefined
      : decodeCookie(cookieData, "HelloRetryRequest.cookie");
    if (ks === undefined && cookie === undefined) {
      fail(
        "illegal_parameter",
        "peer_misbehaved.hrr_changes_nothing",
        "Cannot accept HelloRetryRequest: it would not change the ClientHello",
        where,
      );
    }
    cx.transcript.rewriteForHelloRetry();
    cx.transcript.add(m.raw);
    // Middlebox compatibility: the CCS goes right after the HRR (RFC 8446 §D.4).
    if (this.s.sessionId.length > 0) cx.sendChangeCipherSpec();
    // A PSK whose hash differs from the suite the server chose cannot be used (RFC 8446 §4.1.4).
    const resume = this.s.resume && this.s.resume.hash === suite.hash ? this.s.resume : undefined;
    // After a HelloRetryRequest early data is over: the second ClientHello goes out unprotected (§4.2.10).
    cx.openEarlyWrite(0);
    if (this.s.early) cx.resetWriteProtection();
    return andThen(shares, (shares) =>
      sendHello(cx, {
        ...this.s,
        shares,
        cookie,
        helloRetry: true,
        retrySuite: suite.id,
        resume,
        early: false,
        earlyRejected: this.s.early,
      }));
  }

  #serverHello(cx: Context, m: HandshakeMessage, sh: ServerHello, suite: Tls13Suite, where: string): Step {
    checkAllowed("ServerHello", H.serverHello, sh.extensions, this.s.offeredExtensions);
    // The downgrade sentinel (RFC 8446 §4.1.3) only matters to a client that also speaks TLS 1.2; a 1.3-only
    // client refuses lower versions in #checkCommon.
    let psk: Uint8Array | undefined;
    const pskData = findExtension(sh.extensions, E.preSharedKey);
    if (pskData !== undefined) {
      // RFC 8446 §4.2.11: the one identity we offered, with a suite of the PSK's hash.
      const resume = this.s.resume;
      const selected = decodeU16(pskData, "ServerHello.pre_shared_key");
      if (!resume || selected !== 0 || resume.hash !== suite.hash) {
        fail(
          "illegal_parameter",
          "peer_misbehaved.bad_psk_selection",
          "Cannot accept ServerHello: it selects a PSK that was not offered for this suite",
          where,
        );
      }
      psk = resume.session.data.psk;
    }
    const ksData = findExtension(sh.extensions, E.keyShare);
    if (ksData === undefined) {
      fail(
        "missing_extension",
        "peer_misbehaved.missing_key_share",
        "Cannot accept ServerHello: key_share is missing",
        where,
      );
    }
    const ks = decodeServerShare(ksData, "ServerHello.key_share");
    const mine = this.s.shares.find((s) => s.group === ks.group);
    const group = cx.cfg.groups.find((g) => g.id === ks.group);
    if (!mine || !group) {
      fail(
        "illegal_parameter",
        "peer_misbehaved.wrong_group",
        `Cannot accept ServerHello: no share was sent for ${groupName(ks.group)}`,
        where,
      );
    }
    return usePeerShare(
      () => cx.cfg.provider.sharedSecret(group, mine, ks.keyExchange),
      "ServerHello",
      group.name,
      where,
      (shared) => this.#handshakeKeys(cx, m, suite, group, shared, psk),
    );
  }

  #handshakeKeys(
    cx: Context,
    m: HandshakeMessage,
    suite: Tls13Suite,
    group: KxGroup,
    shared: Uint8Array,
    psk: Uint8Array | undefined,
  ): State {
    cx.transcript.add(m.raw);
    cx.transcript.forget();
    const ks13 = new KeySchedule(suite.hash, psk);
    const secrets = ks13.handshake(shared, cx.transcript.current());
    cx.setReadSecret(suite, secrets.serverHandshake, "handshake");
    cx.keyLog("SERVER_HANDSHAKE_TRAFFIC_SECRET", secrets.serverHandshake);
    cx.keyLog("CLIENT_HANDSHAKE_TRAFFIC_SECRET", secrets.clientHandshake);
    // Go's sendDummyChangeCipherSpec: before our first encrypted record (RFC 8446 §D.4).
    if (this.s.sessionId.length > 0 && !this.s.helloRetry) cx.sendChangeCipherSpec();
    cx.openEarlyWrite(0);
    // With 0-RTT offered, the early key stays until EncryptedExtensions says whether it was accepted.
    if (!this.s.early || cx.quic) cx.setWriteSecret(suite, secrets.clientHandshake, "handshake");
    const resumed = psk !== undefined ? this.s.resume!.session : undefined;
    return new ExpectEncryptedExtensions({ offer: this.s, suite, group, keys: ks13, secrets, resumed });
  }
}

interface Negotiated {
  readonly offer: ClientOffer;
  /** The session the server accepted, if this is a resumption. */
  readonly resumed: TlsSession | undefined;
  readonly suite: Tls13Suite;
  readonly group: KxGroup;
  readonly keys: KeySchedule;
  readonly secrets: { readonly clientHandshake: Uint8Array; readonly serverHandshake: Uint8Array };
}

interface AfterEE extends Negotiated {
  /** 0-RTT: "accepted", "rejected", or undefined when not offered. */
  readonly earlyData: "accepted" | "rejected" | undefined;
  readonly alpn: string | undefined;
  readonly peerRecordSizeLimit: number | undefined;
}

/** Waiting for EncryptedExtensions (RFC 8446 §4.3.1). */
class ExpectEncryptedExtensions implements State {
  readonly name = "client.ExpectEncryptedExtensions";
  constructor(readonly s: Negotiated) {}

  handle(cx: Context, m: HandshakeMessage): Step {
    expectMessage(m, H.encryptedExtensions, this.name);
    const exts = decodeEncryptedExtensions(m.body);
    checkAllowed("EncryptedExtensions", H.encryptedExtensions, exts, this.s.offer.offeredExtensions);
    const where = `${this.name}@EncryptedExtensions`;
    const alpn = acceptAlpn(cx, exts, "EncryptedExtensions", where);
    const peerRecordSizeLimit = acceptFragmentLimits(cx, exts, "EncryptedExtensions", where, 1);
    if (cx.quic) {
      // RFC 9001 §8.1, §8.2: ALPN and the server's transport parameters are required.
      const params = findExtension(exts, E.quicTransportParameters);
      if (params === undefined) {
        fail(
          "missing_extension",
          "peer_misbehaved.missing_quic_transport_parameters",
          "Cannot accept EncryptedExtensions: quic_transport_parameters is missing",
          where,
        );
      }
      if (alpn === undefined) {
        fail(
          "no_application_protocol",
          "peer_incompatible.quic_without_alpn",
          "Cannot accept EncryptedExtensions: QUIC requires ALPN",
          where,
        );
      }
      cx.setPeerTransportParameters(params.slice());
    }
    const earlyAccepted = findExtension(exts, E.earlyData) !== undefined;
    if (earlyAccepted) {
      if (!this.s.offer.early || !this.s.resumed) {
        fail(
          "unsupported_extension",
          "peer_misbehaved.unoffered_early_data",
          "Cannot accept EncryptedExtensions: early_data was not offered",
          where,
        );
      }
      decodeEmpty(findExtension(exts, E.earlyData)!, "EncryptedExtensions.early_data");
    } else if (this.s.offer.early && !cx.quic) {
      // Rejected: what was sent early is lost; from now on the handshake key.
      cx.setWriteSecret(this.s.suite, this.s.secrets.clientHandshake, "handshake");
    }
    const earlyData = this.s.offer.early
      ? (earlyAccepted ? "accepted" as const : "rejected" as const)
      : this.s.offer.earlyRejected
      ? "rejected" as const
      : undefined;
    cx.transcript.add(m.raw);
    const next = { ...this.s, alpn, peerRecordSizeLimit, earlyData };
    if (this.s.resumed) {
      // PSK mode: no certificates; the server is who it was when the ticket was issued (RFC 8446 §2.2).
      cx.setPeerChain(this.s.resumed.data.peerCertificates);
      return new ExpectFinished({
        ...next,
        chain: this.s.resumed.data.peerCertificates,
        certRequest: undefined,
        signatureScheme: undefined,
      });
    }
    return new ExpectCertificateOrRequest(next);
  }
}

/** The server's ALPN answer (RFC 7301 §3.1): one protocol, one we offered. */
export function acceptAlpn(
  cx: Context,
  exts: readonly Extension[],
  message: string,
  where: string,
): string | undefined {
  let alpn: string | undefined;
  const alpnData = findExtension(exts, E.alpn);
  if (alpnData !== undefined) {
    const list = decodeAlpn(alpnData, `${message}.alpn`);
    if (list.length !== 1 || !cx.cfg.alpn.includes(list[0]!)) {
      fail(
        "illegal_parameter",
        "peer_misbehaved.bad_alpn",
        `Cannot accept ${message}: ALPN must be one protocol the client offered`,
        where,
      );
    }
    alpn = list[0];
  }
  return alpn;
}

/**
 * The server's server_name (empty), record_size_limit (RFC 8449) and max_fragment_length (RFC 6066 §4)
 * answers, applied to our writes; returns the server's record_size_limit. `typeByte`: 1 in TLS 1.3, where the
 * limit counts the inner content type.
 */
export function acceptFragmentLimits(
  cx: Context,
  exts: readonly Extension[],
  message: string,
  where: string,
  typeByte: 0 | 1,
): number | undefined {
  const sn = findExtension(exts, E.serverName);
  if (sn !== undefined) decodeEmpty(sn, `${message}.server_name`);
  let peerRecordSizeLimit: number | undefined;
  const rsl = findExtension(exts, E.recordSizeLimit);
  if (rsl !== undefined) {
    peerRecordSizeLimit = decodeU16(rsl, `${message}.record_size_limit`);
    if (peerRecordSizeLimit < 64) {
      fail(
        "illegal_parameter",
        "peer_misbehaved.record_size_limit",
        `Cannot accept record_size_limit ${peerRecordSizeLimit}: below 64`,
        where,
      );
    }
    cx.setMaxFragment(peerRecordSizeLimit - typeByte);
    // RFC 8449 §4: negotiated, so our own limit holds (for the record that brought this message too).
    if (cx.cfg.recordSizeLimit !== undefined) cx.enforceRecordSizeLimit(cx.cfg.recordSizeLimit);
  }
  // max_fragment_length is only here if a helloExtensions hook offered it (RFC 6066 §4).
  const mfl = findExtension(exts, E.maxFragmentLength);
  if (mfl !== undefined) {
    const code = decodeU8(mfl, `${message}.max_fragment_length`);
    if (rsl !== undefined || code < 1 || code > 4) {
      // RFC 8449 §5: a client must treat receiving both as fatal.
      fail(
        "illegal_parameter",
        "peer_misbehaved.max_fragment_length",
        `Cannot accept ${message}: max_fragment_length must be 1..4 and not beside record_size_limit`,
        where,
      );
    }
    cx.setMaxFragment(1 << (8 + code));
  }
  return peerRecordSizeLimit;
}

/** Waiting for CertificateRequest or Certificate (RFC 8446 §4.3.2, §4.4.2). */
class ExpectCertificateOrRequest implements State {
  readonly name = "client.ExpectCertificateOrRequest";
  constructor(readonly s: AfterEE) {}

  handle(cx: Context, m: HandshakeMessage): Step {
    expectMessage(m, [H.certificate, H.certificateRequest], this.name);
    if (m.type === H.certificate) return new ExpectCertificate(this.s, undefined).handle(cx, m);
    const where = `${this.name}@CertificateRequest`;
    const req = decodeCertificateRequest(m.body);
    checkAllowed("CertificateRequest", H.certificateRequest, req.extensions);
    if (req.context.length !== 0) {
      fail(
        "illegal_parameter",
        "peer_misbehaved.certificate_request_context",
        "Cannot accept CertificateRequest: context must be empty in the handshake",
        where,
      );
    }
    const sa = findExtension(req.extensions, E.signatureAlgorithms);
    if (sa === undefined) {
      fail(
        "missing_extension",
        "peer_misbehaved.missing_signature_algorithms",
        "Cannot accept CertificateRequest: signature_algorithms is missing",
        where,
      );
    }
    const signatureSchemes = decodeU16List(
      sa,
      "CertificateRequest.signature_algorithms",
      "supported_signature_algorithms",
    );
    const ca = findExtension(req.extensions, E.certificateAuthorities);
    const certificateAuthorities = ca === undefined
      ? []
      : decodeCertificateAuthorities(ca, "CertificateRequest.certificate_authorities");
    cx.transcript.add(m.raw);
    return new ExpectCertificate(this.s, { context: req.context, signatureSchemes, certificateAuthorities });
  }
}

/** What the server asked for in its CertificateRequest. */
interface CertRequest extends CertificateRequestInfo {
  readonly context: Uint8Array;
}

/** Waiting for the server's Certificate (RFC 8446 §4.4.2). */
class ExpectCertificate implements State {
  readonly name = "client.ExpectCertificate";
  constructor(readonly s: AfterEE, readonly certRequest: CertRequest | undefined) {}

  handle(cx: Context, m: HandshakeMessage): Step {
    expectMessage(m, H.certificate, this.name);
    const where = `${this.name}@Certificate`;
    const chain = readCertificate(cx, m, this.s.offer.offeredExtensions, where);
    if (chain.length === 0) {
      // RFC 8446 §4.4.2.4
      fail(
        "decode_error",
        "peer_misbehaved.empty_certificate",
        "Cannot accept Certificate: the server sent no certificate",
        where,
      );
    }
    return acceptPeerChain(
      cx,
      this.s.offer.policy,
      chain,
      where,
      (publicKey) =>
        new ExpectCertificateVerify({ ...this.s, chain, publicKey, certRequest: this.certRequest }),
    );
  }
}

interface AfterCertificate extends AfterEE {
  readonly chain: readonly Uint8Array[];
  readonly publicKey: PublicKey;
  readonly certRequest: CertRequest | undefined;
}

/** Waiting for the server's CertificateVerify (RFC 8446 §4.4.3). */
class ExpectCertificateVerify implements State {
  readonly name = "client.ExpectCertificateVerify";
  constructor(readonly s: AfterCertificate) {}

  handle(cx: Context, m: HandshakeMessage): Step {
    expectMessage(m, H.certificateVerify, this.name);
    const where = `${this.name}@CertificateVerify`;
    return checkCertificateVerify(
      cx,
      m,
      "server",
      this.s.publicKey,
      where,
      (signatureScheme) => new ExpectFinished({ ...this.s, signatureScheme }),
    );
  }
}

/** What the client knows when the server's Finished is due. */
interface BeforeFinished extends AfterEE {
  readonly chain: readonly Uint8Array[];
  readonly certRequest: CertRequest | undefined;
  /** The server's CertificateVerify scheme; undefined in a resumption. */
  readonly signatureScheme: number | undefined;
}

/** Waiting for the server's Finished (RFC 8446 §4.4.4); then the client's second flight. */
class ExpectFinished implements State {
  readonly name = "client.ExpectFinished";
  constructor(readonly s: BeforeFinished) {}

  handle(cx: Context, m: HandshakeMessage): Step {
    const { suite, keys, secrets } = this.s;
    const expected = finishedVerifyData(suite.hash, secrets.serverHandshake, cx.transcript.current());
    acceptFinished(cx, m, expected, this.name);
    const app = keys.application(cx.transcript.current());
    cx.keyLog("SERVER_TRAFFIC_SECRET_0", app.serverApplication);
    cx.keyLog("CLIENT_TRAFFIC_SECRET_0", app.clientApplication);
    cx.keyLog("EXPORTER_SECRET", app.exporter);
    cx.setReadSecret(suite, app.serverApplication, "application");
    cx.allowChangeCipherSpec(false);
    if (this.s.earlyData === "accepted" && !cx.quic) {
      // RFC 8446 §4.5: EndOfEarlyData under the early key, then the handshake key for the rest.
      cx.sendHandshake(encodeEndOfEarlyData());
      cx.setWriteSecret(suite, secrets.clientHandshake, "handshake");
    }
    const finish = (): State => {
      cx.sendHandshake(
        encodeFinished(finishedVerifyData(suite.hash, secrets.clientHandshake, cx.transcript.current())),
      );
      const resumption = keys.resumption(cx.transcript.current());
      cx.setWriteSecret(suite, app.clientApplication, "application");
      cx.complete({
        version: "TLSv1.3",
        cipherSuite: suite.name,
        group: this.s.group.name,
        alpn: this.s.alpn,
        serverName: this.s.offer.sni,
        signatureScheme: this.s.signatureScheme === undefined
          ? undefined
          : schemeName(this.s.signatureScheme),
        helloRetry: this.s.offer.helloRetry,
        resumed: this.s.resumed !== undefined,
        ...(this.s.earlyData ? { earlyData: this.s.earlyData } : {}),
        peerCertificates: this.s.chain,
      });
      return new Connected(
        { suite, read: app.serverApplication, write: app.clientApplication, resumption },
        "client",
        {
          serverName: this.s.offer.sni,
          alpn: this.s.alpn,
          peerCertificates: this.s.chain,
          binding: clientBinding(this.s.offer.config, this.s.offer.policy),
        },
      );
    };
    const req = this.s.certRequest;
    if (!req) return finish();
    // RFC 8446 §4.4.2: answer a CertificateRequest with our chain and CertificateVerify, or an empty Certificate.
    return withClientCertificate(this.s.offer.config, req, false, (chosen) => {
      if (!chosen) {
        cx.sendHandshake(encodeCertificate({ context: req.context, entries: [] }));
        return finish();
      }
      cx.sendHandshake(encodeCertificate({
        context: req.context,
        entries: chosen.chain.map((certData) => ({ certData, extensions: [] })),
      }));
      const content = certificateVerifyContent("client", cx.transcript.current());
      const signed = (signature: Uint8Array): State => {
        cx.sendHandshake(encodeCertificateVerify({ scheme: chosen.scheme, signature }));
        return finish();
      };
      const sig = chosen.key.sign(chosen.scheme, content);
      return sig instanceof Uint8Array ? signed(sig) : { pending: sig.then(signed) };
    });
  }
}

/** A client certificate picked for a CertificateRequest: its chain, key, and the scheme it signs with. */
export type ChosenCertificate = { chain: readonly Uint8Array[]; key: SigningKey; scheme: number } | undefined;

/**
 * Go on with the client's chain for `req` (see {@link pickClientCertificate}); a `clientCertificate`
 * function that returns a promise makes the engine say WANT_X509_LOOKUP until it settles.
 */
export function withClientCertificate(
  config: ClientConfig,
  req: CertificateRequestInfo,
  pkcs1: boolean,
  next: (chosen: ChosenCertificate) => Step,
): Step {
  const c = config.clientCertificate;
  const certified = typeof c === "function" ? c(req) : c;
  if (isPromiseLike(certified)) {
    return {
      pending: Promise.resolve(certified).then((k) => next(pickClientCertificate(k, req, pkcs1))),
      waitingFor: SslError.WANT_X509_LOOKUP,
    };
  }
  return next(pickClientCertificate(certified, req, pkcs1));
}

/** The chain and the scheme it signs with, if `certified` has a scheme the server accepts. */
function pickClientCertificate(
  certified: CertifiedKey | undefined,
  req: CertificateRequestInfo,
  pkcs1: boolean,
): ChosenCertificate {
  if (!certified) return undefined;
  // RSASSA-PKCS1-v1_5 is never used in a TLS 1.3 CertificateVerify (RFC 8446 §4.4.3); TLS 1.2 allows it.
  const scheme = certified.key.schemes.find((s) =>
    req.signatureSchemes.includes(s) && (pkcs1 || (s & 0xff) !== 0x01)
  );
  if (scheme === undefined) return undefined;
  const [cert] = normalizeCertificates([certified]);
  return { chain: cert!.chain, key: certified.key, scheme };
}
