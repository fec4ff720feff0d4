/**
 * The client's first flight and the version split, shared by both versions (rustls's client/hs.rs):
 *
 *   startClient: key shares, the session to offer, then sendHello (ClientHello, [0-RTT keys])
 *   ExpectServerHello: HelloRetryRequest → sendHello again; ServerHello with supported_versions → TLS 1.3
 *   ({@link serverHello13}); without it → TLS 1.2 ({@link serverHello12}), unless it is a downgrade
 * @module
 */

import { incompatible, invalidMessage, misbehaved } from "../errors.ts";
import type { VerifyPolicy } from "../peer_verify.ts";
import { KeySchedule } from "../key_schedule.ts";
import { Writer } from "../msgs/codec.ts";
import { pskBinder, type TlsSession } from "../session.ts";
import { type ClientBinding, sameBinding } from "../binding.ts";
import {
  ExtensionType as E,
  groupName,
  HandshakeType as H,
  ProtocolVersion,
  PskKeyExchangeMode,
} from "../msgs/enums.ts";
import { type ClientPsks, externalBinder } from "../external_psk.ts";
import type { Hash } from "../../suites/hash.ts";
import {
  checkAllowed,
  decodeCookie,
  decodeU16,
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
  decodeServerHello,
  encodeClientHello,
  type HandshakeMessage,
  isHelloRetryRequest,
  type ServerHello,
} from "../msgs/handshake.ts";
import { compressionOffer } from "../cert_compression.ts";
import { andThen, type Context, expectMessage, type State, type Step } from "../state.ts";
import { DOWNGRADE_TLS11, DOWNGRADE_TLS12, FALLBACK_SCSV } from "../tls12.ts";
import { ctEqual } from "../../suites/bytes.ts";
import type { KeyShare } from "../../suites/kx.ts";
import type { Tls13Suite } from "../../suites/tls13.ts";
import type { ClientOffer, ClientOptions } from "./common.ts";
import { clientCertificateTypes, offerCertificateTypes } from "../raw_keys.ts";
import { serverHello12 } from "./tls12.ts";
import { serverHello13 } from "./tls13.ts";
import {
  type ClientEchSetting,
  decideEch,
  echExtension,
  EchRejectedError,
  innerExtensions,
  sealOuterHello,
  setupClientEch,
} from "../ech/client.ts";

/**
 * Build and send a ClientHello (RFC 8446 §4.1.2), once the provider has made our key shares; `sni` is the
 * server name as server_name carries it (A-labels, no trailing dot; none for an IP address).
 */
export function startClient(
  cx: Context,
  options: ClientOptions,
  policy: VerifyPolicy,
  binding: ClientBinding,
  sni: string | undefined,
  psks: ClientPsks | undefined,
  echSetting: ClientEchSetting,
): Step {
  const cfg = cx.cfg;
  const random = cx.cfg.random(32);
  cx.clientRandom = random;
  // An inner ClientHello resumes no TLS 1.2 session (draft-ietf-tls-esni §6.1).
  const realEch = echSetting?.kind === "real";
  const resume12 = realEch ? undefined : usableSession12(cx, options.session, binding);
  // RFC 9001 §8.4: no middlebox compatibility mode over QUIC. A TLS 1.2 session id is offered as itself; with
  // a TLS 1.2 ticket a fresh id goes beside it, for the server to echo if it resumes (RFC 5077 §3.4).
  const sessionId = resume12 && resume12.session.data.ticket.length === 0
    ? resume12.session.data.sessionId
    : (options.middleboxCompat === false || cx.quic) && !resume12
    ? new Uint8Array(0)
    : cfg.random(32);
  // A hybrid first group gets the next (classical) group's share beside it by default, as Chrome and Go do.
  const defaultCount = cfg.groups[0]?.name === "X25519MLKEM768" ? 2 : 1;
  const count = Math.max(1, Math.min(options.keyShareCount ?? defaultCount, cfg.groups.length));
  const made = cfg.maxVersion >= ProtocolVersion.tls13
    ? cfg.groups.slice(0, count).map((g) => cfg.provider.keyShare(g, cfg.random))
    : [];
  // A TLS 1.2 CertificateVerify signs the handshake messages themselves.
  if (cfg.minVersion <= ProtocolVersion.tls12 && options.clientCertificate) cx.transcript.keep();
  const pending = made.some((share) => share instanceof Promise);
  const echMade = setupClientEch(cx, echSetting, random, policy);
  return andThen(pending ? Promise.all(made) : made as KeyShare[], (shares) =>
    andThen(echMade, (ech) => {
      const offer: ClientOffer = {
        options,
        policy,
        binding,
        sni,
        random,
        sessionId,
        shares,
        offeredExtensions: new Set(),
        cookie: undefined,
        helloRetry: false,
        retrySuite: undefined,
        // A ticket resumes with psk_dhe_ke only: not offered when the external PSKs' modes leave it out.
        resume: !psks || psks.modes.includes(PskKeyExchangeMode.pskDheKe)
          ? usableSession(cx, options.session, binding)
          : undefined,
        early: false,
        resume12,
        psks,
        external: psks?.keys ?? [],
        ech,
        echStatus: ech?.kind === "grease" ? "grease" : undefined,
      };
      // No 0-RTT with real ECH: the outer hello would have to carry early_data too (§6.1), for little gain.
      if (
        options.earlyData === true && !realEch && offer.resume && offer.resume.session.maxEarlyData > 0
      ) {
        return sendHello(cx, { ...offer, early: true });
      }
      return sendHello(cx, offer);
    }));
}

/**
 * The caller's session, if it can be offered now: not expired, for the identity it was verified for and by
 * a client that verifies the same way (binding.ts), with a suite we still offer.
 */
function usableSession(cx: Context, session: TlsSession | undefined, binding: ClientBinding) {
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
function usableSession12(cx: Context, session: TlsSession | undefined, binding: ClientBinding) {
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
  // RFC 7250 §4.1
  const o = offer.options;
  exts.push(
    ...offerCertificateTypes(clientCertificateTypes(o.rawPublicKeys, o.clientCertificate !== undefined)),
  );
  // RFC 8879 §3: TLS 1.3 only.
  const compression = v13 ? compressionOffer(cfg.certCompressors) : undefined;
  if (compression) exts.push(compression);
  if (offer.cookie) {
    exts.push({ type: E.cookie, data: new Writer().vec(2, offer.cookie).finish() });
  }
  if (v13 && (offer.options.offerTickets !== false || offer.resume || offer.psks)) {
    // RFC 8446 §4.2.9: psk_dhe_ke for tickets; with external PSKs, the modes configured for them.
    const modes = offer.psks?.modes ?? [PskKeyExchangeMode.pskDheKe];
    exts.push({ type: E.pskKeyExchangeModes, data: new Writer().vec(1, Uint8Array.from(modes)).finish() });
  }
  if (v12) {
    // RFC 7627, RFC 5746 §3.4 (an empty renegotiation_info), RFC 8422 §5.1.2 (uncompressed points only).
    exts.push({ type: E.extendedMasterSecret, data: new Uint8Array(0) });
    exts.push({ type: E.renegotiationInfo, data: Uint8Array.of(0) });
    exts.push({ type: E.ecPointFormats, data: Uint8Array.of(1, 0) });
    // RFC 5077 §3.2: an empty session_ticket asks for one; a ticket offers it back.
    const ticket = offer.resume12?.session.data.ticket;
    if (offer.options.offerTickets !== false || (ticket && ticket.length > 0)) {
      exts.push({ type: E.sessionTicket, data: ticket ?? new Uint8Array(0) });
    }
  }
  if (cfg.recordSizeLimit !== undefined) {
    exts.push({ type: E.recordSizeLimit, data: encodeU16(cfg.recordSizeLimit) });
  }
  // RFC 9001 §8.2
  if (cfg.quic) exts.push({ type: E.quicTransportParameters, data: cfg.quic.transportParameters });
  // ECH GREASE goes in before the helloExtensions hook, which may drop it (ech/client.ts).
  let ech = offer.ech?.kind === "real"
    ? offer.ech
    : offer.ech && echExtension(cx, offer.ech, exts, offer.sni);

  const final = offer.options.helloExtensions ? offer.options.helloExtensions(exts) : [...exts];
  // Real ECH: the outer hello's extensions are these; the inner one's get ECH's changes (ech/client.ts).
  const outerExts = ech?.kind === "real" ? [...final] : undefined;
  if (ech?.kind === "real") innerExtensions(final);
  const resume = offer.resume;
  // RFC 8446 §4.2.10: early_data, then pre_shared_key last.
  if (offer.early) final.push({ type: E.earlyData, data: new Uint8Array(0) });
  const offered = offeredPsks(cx, offer);
  if (offered.length > 0) {
    // RFC 8446 §4.2.11: pre_shared_key comes last; its binders cover everything before the binders.
    final.push({
      type: E.preSharedKey,
      data: encodeOfferedPsks(
        offered.map((p) => ({ identity: p.identity, obfuscatedTicketAge: p.age })),
        offered.map((p) => new Uint8Array(p.hash.outputLen)),
      ),
    });
  }
  const raw = encodeClientHello({
    legacyVersion: ProtocolVersion.tls12,
    random: offer.random,
    sessionId: offer.sessionId,
    cipherSuites: [
      ...(v13 ? cfg.suites.map((s) => s.id) : []),
      ...(v12 ? cfg.suites12.map((s) => s.id) : []),
      ...(offer.options.fallbackScsv ? [FALLBACK_SCSV] : []),
    ],
    compressionMethods: Uint8Array.of(0),
    extensions: final,
  });
  if (offered.length > 0) {
    // Each binder is over the ClientHello up to the binders list (RFC 8446 §4.2.11.2), in the offered order.
    let at = raw.length - offered.reduce((n, p) => n + 1 + p.hash.outputLen, 2);
    const truncated = raw.slice(0, at);
    at += 2;
    for (const p of offered) {
      raw.set(p.binder(cx.transcript.hashWith(p.hash, truncated)), at + 1);
      at += 1 + p.hash.outputLen;
    }
  }
  if (ech?.kind === "real") {
    // The server sees the outer hello; the transcript holds the inner one, the outer one is kept beside it.
    const sealed = sealOuterHello(ech, raw, outerExts!, offer.sni, offer.helloRetry);
    ech = sealed.ech;
    cx.sendHandshake(sealed.outer, false);
    cx.transcript.add(raw);
    ech.kind === "real" && ech.outerTranscript.add(sealed.outer);
  } else {
    cx.sendHandshake(raw);
  }
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
  return new ExpectServerHello({ ...offer, ech, offeredExtensions: new Set(final.map((e) => e.type)) });
}

/** The PSKs a ClientHello offers, in order: the ticket (if any), then the external PSKs (ticket age 0). */
function offeredPsks(cx: Context, offer: ClientOffer) {
  const out: { identity: Uint8Array; age: number; hash: Hash; binder: (th: Uint8Array) => Uint8Array }[] = [];
  const resume = offer.resume;
  if (resume) {
    const d = resume.session.data;
    out.push({
      identity: d.ticket,
      age: (Math.max(0, cx.cfg.now() - d.receivedAt) + d.ticketAgeAdd) % 2 ** 32,
      hash: resume.hash,
      binder: (th) => pskBinder(resume.hash, d.psk, th),
    });
  }
  for (const k of offer.external) {
    out.push({
      identity: k.identity,
      age: 0,
      hash: k.hashFn,
      binder: (th) => externalBinder(k.hashFn, k.key, th),
    });
  }
  return out;
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
      checkTls12(cx, this.s, sh);
      if (this.s.ech?.kind === "real") {
        // A TLS 1.2 answer rejects ECH (draft-ietf-tls-esni §6.1.4); we stop here, without retry configurations.
        throw new EchRejectedError(undefined, this.s.ech.config.publicName, `${this.name}@ServerHello`);
      }
      return serverHello12(cx, this.s, sh, m);
    }
    const where = hrr ? "client.ExpectServerHello@HelloRetryRequest" : `${this.name}@ServerHello`;
    this.#checkCommon(sh, where);
    const suite = cx.cfg.suites.find((s) => s.id === sh.cipherSuite);
    if (!suite) {
      throw misbehaved(
        "unoffered_cipher_suite",
        "Cannot accept ServerHello: cipher suite was not offered",
        where,
      );
    }
    if (this.s.retrySuite !== undefined && this.s.retrySuite !== suite.id) {
      // RFC 8446 §4.1.4: the ServerHello must repeat the HelloRetryRequest's cipher suite.
      throw misbehaved(
        "suite_changed_after_hrr",
        "Cannot accept ServerHello: cipher suite differs from the HelloRetryRequest",
        where,
      );
    }
    cx.transcript.start(suite.hash);
    const s = this.#echDecision(cx, m, sh, hrr, suite, where);
    if (hrr) return new ExpectServerHello(s).#helloRetry(cx, m, sh, suite, where);
    return serverHello13(cx, s, m, sh, suite, where);
  }

  /**
   * ECH (ech/client.ts): whether the server used the inner hello; on rejection the handshake goes on with the
   * outer one, for the public name, with no PSK and no client certificate (draft-ietf-tls-esni §6.1.7).
   */
  #echDecision(
    cx: Context,
    m: HandshakeMessage,
    sh: ServerHello,
    hrr: boolean,
    suite: Tls13Suite,
    where: string,
  ) {
    const ech = this.s.ech;
    if (ech?.kind !== "real") {
      const data = hrr ? findExtension(sh.extensions, E.encryptedClientHello) : undefined;
      if (data !== undefined && data.length !== 8) {
        throw invalidMessage(
          "bad_ech_extension",
          "Cannot accept HelloRetryRequest: encrypted_client_hello must be 8 bytes",
          where,
        );
      }
      return this.s;
    }
    const d = decideEch(cx, ech, sh, m.raw, hrr, suite, where);
    if (d.accepted) return { ...this.s, ech: d.ech, echStatus: "accepted" as const };
    return {
      ...this.s,
      ech: { kind: "rejected" as const, data: d.outerExtension, config: d.config },
      echStatus: "rejected" as const,
      sni: d.config.publicName,
      policy: d.publicPolicy,
      random: d.outerRandom,
      resume: undefined,
      external: [],
      // §6.1.7: no client authentication toward the public name (no certificate, no raw key either).
      options: {
        ...this.s.options,
        clientCertificate: undefined,
        rawPublicKeys: withoutClientKey(this.s.options.rawPublicKeys),
      },
    };
  }

  // RFC 8446 §4.1.3: checks both ServerHello and HelloRetryRequest share.
  #checkCommon(sh: ServerHello, where: string): void {
    const sv = findExtension(sh.extensions, E.supportedVersions);
    if (sv === undefined) {
      // A TLS 1.2 (or older) answer to a HelloRetryRequest's ClientHello, or an HRR without a version.
      throw incompatible(
        "tls13_required",
        "Cannot accept ServerHello: the server does not support TLS 1.3",
        where,
      );
    }
    if (decodeU16(sv, "supported_versions") !== ProtocolVersion.tls13) {
      throw misbehaved(
        "bad_selected_version",
        "Cannot accept ServerHello: supported_versions must select TLS 1.3",
        where,
      );
    }
    if (sh.legacyVersion !== ProtocolVersion.tls12) {
      throw misbehaved(
        "bad_legacy_version",
        "Cannot accept ServerHello: legacy_version must be 0x0303",
        where,
      );
    }
    if (!ctEqual(sh.sessionId, this.s.sessionId)) {
      throw misbehaved(
        "session_id_mismatch",
        "Cannot accept ServerHello: legacy_session_id_echo differs from the sent value",
        where,
      );
    }
    if (sh.compressionMethod !== 0) {
      throw misbehaved(
        "compression",
        "Cannot accept ServerHello: legacy_compression_method must be 0",
        where,
      );
    }
  }

  #helloRetry(cx: Context, m: HandshakeMessage, hrr: ServerHello, suite: Tls13Suite, where: string): Step {
    // RFC 8446 §4.1.4
    if (this.s.helloRetry) {
      throw misbehaved("second_hello_retry", "Cannot accept HelloRetryRequest: a second one", where);
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
        throw misbehaved(
          "unoffered_group",
          `Cannot accept HelloRetryRequest: group ${groupName(group)} was not offered`,
          where,
        );
      }
      if (this.s.shares.some((s) => s.group === group)) {
        throw misbehaved(
          "hrr_for_offered_share",
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
      throw misbehaved(
        "hrr_changes_nothing",
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
        external: this.s.external.filter((k) => k.hash === suite.hash.name),
        early: false,
        earlyRejected: this.s.early,
      }));
  }
}

/** A ServerHello without supported_versions is TLS 1.2 only if we speak it and the server is not downgraded. */
function checkTls12(cx: Context, offer: ClientOffer, sh: ServerHello): void {
  const where = "client.ExpectServerHello@ServerHello";
  const cfg = cx.cfg;
  if (sh.legacyVersion !== ProtocolVersion.tls12 || cfg.minVersion > ProtocolVersion.tls12) {
    throw incompatible(
      cfg.minVersion > ProtocolVersion.tls12 ? "tls13_required" : "no_common_version",
      `Cannot accept ServerHello: version 0x${sh.legacyVersion.toString(16)} (we speak ${
        cfg.minVersion > ProtocolVersion.tls12 ? "TLS 1.3 only" : "TLS 1.2 and up"
      })`,
      where,
    );
  }
  if (offer.early) {
    // RFC 8446 §D.3: a client that sent 0-RTT data must fail on a TLS 1.2 ServerHello.
    throw misbehaved(
      "tls12_after_early_data",
      "Cannot accept ServerHello: TLS 1.2 after early data was sent",
      where,
    );
  }
  const tail = sh.random.subarray(24);
  if (
    cfg.maxVersion >= ProtocolVersion.tls13 &&
    (ctEqual(tail, DOWNGRADE_TLS12) || ctEqual(tail, DOWNGRADE_TLS11))
  ) {
    // RFC 8446 §4.1.3: a TLS 1.3 server answered TLS 1.2; something in the path removed our 1.3 offer.
    throw misbehaved(
      "downgrade",
      "Cannot accept ServerHello: the downgrade sentinel says a TLS 1.3 server was forced down to TLS 1.2",
      where,
    );
  }
}

/** Raw public key settings without our own key (a rejected ECH authenticates no client, §6.1.7). */
function withoutClientKey(rpk: ClientOptions["rawPublicKeys"]): ClientOptions["rawPublicKeys"] {
  if (!rpk) return rpk;
  const { clientKey: _, ...rest } = rpk;
  return rest;
}
