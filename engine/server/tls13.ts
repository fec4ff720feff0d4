/**
 * The TLS 1.3 server, one class per state (RFC 8446 §2), after Go's serverHandshakeStateTLS13:
 *
 *   startServer13 (hello.ts chose TLS 1.3): processClientHello, pickCertificate,
 *   [HelloRetryRequest → ExpectClientHello2]
 *   sendServerFlight: sendServerParameters (ServerHello, [CCS], EncryptedExtensions),
 *   sendServerCertificate ([CertificateRequest], Certificate, CertificateVerify; not when resuming),
 *   sendServerFinished (Finished) → [ExpectEndOfEarlyData] → [ExpectClientCertificate
 *   → ExpectClientCertificateVerify]
 *   ExpectFinished: readClientFinished → Connected
 *
 * What TLS 1.2 shares (setup, certificate and ALPN choice, fragment limits) is in common.ts; this file
 * never imports tls12.ts.
 * @module
 */

import {
  confirmEch,
  echHelloRetryExtensions,
  echRetryExtensions,
  openSecondClientHello,
} from "../ech/server.ts";
import type { ServerCert } from "../config.ts";
import { incompatible, invalidCertificate, misbehaved } from "../errors.ts";
import { finishedVerifyData, KeySchedule } from "../key_schedule.ts";
import { Reader, Writer } from "../msgs/codec.ts";
import {
  extensionName,
  ExtensionType as E,
  HandshakeType as H,
  ProtocolVersion,
  PskKeyExchangeMode,
} from "../msgs/enums.ts";
import {
  decodeTicketState,
  encodeTicketState,
  pskBinder,
  TICKET_AGE_SKEW_MS,
  ticketPsk,
  type TicketState,
} from "../session.ts";
import {
  decodeClientShares,
  decodeClientVersions,
  decodeCookie,
  decodeOfferedPsks,
  decodePskModes,
  decodeServerNameList,
  decodeU16List,
  encodeAlpn,
  encodeCertificateAuthorities,
  encodeServerShare,
  encodeU16,
  encodeU16List,
  type Extension,
  findExtension,
  type KeyShareEntry,
  type OfferedPsks,
} from "../msgs/extensions.ts";
import {
  type ClientHello,
  decodeClientHello,
  encodeCertificate,
  encodeCertificateRequest,
  encodeCertificateVerify,
  encodeEncryptedExtensions,
  encodeFinished,
  encodeNewSessionTicket,
  encodeServerHello,
  type HandshakeMessage,
  HRR_RANDOM,
} from "../msgs/handshake.ts";
import {
  acceptFinished,
  askStore,
  certificateVerifyContent,
  type Context,
  expectMessage,
  type State,
  type Step,
  usePeerShare,
} from "../state.ts";
import { Connected } from "../connected.ts";
import { chooseAlpn, fragmentRequests, offeredSuites, pickCertificate, type ServerSetup } from "./common.ts";
import { chooseMode, externalBinder, type ExternalKey, findServerPsk, pskModeName } from "../external_psk.ts";
import type { HandshakeInfo } from "../events.ts";
import { LIMITS } from "../limits.ts";
import { schemeName } from "../names.ts";
import { ctEqual } from "../../suites/bytes.ts";
import type { KxGroup, KxResponse } from "../../suites/kx.ts";
import type { PublicKey } from "../../suites/sign.ts";
import { freshAuth, resumable, type SessionAuth, ticketLifetime } from "../binding.ts";
import { acceptPeerChain, checkCertificateVerify, readCertificate } from "../peer_auth.ts";
import {
  chooseCompressor,
  compressionOffer,
  readCompressedCertificate,
  sendCertificate,
} from "../cert_compression.ts";
import type { CertCompressor } from "../../suites/cert_compression.ts";
import type { Tls13Suite } from "../../suites/tls13.ts";
import {
  acceptRawPublicKey,
  answerCertificateTypes,
  CertificateType,
  chooseCertificateTypes,
  type ServerChoice,
} from "../raw_keys.ts";

/** What the server took from a ClientHello. */
interface Offer {
  readonly ch: ClientHello;
  readonly suite: Tls13Suite;
  /** The certificate for a full handshake and its scheme; undefined when none fits (a PSK may still do). */
  readonly cert: ServerCert | undefined;
  readonly scheme: number | undefined;
  /** The client sent signature_algorithms (it may leave it out when it offers a PSK: RFC 8446 §9.2). */
  readonly signatureAlgorithms: boolean;
  /** The mode to use with an external PSK (external_psk.ts), if we have any and share one with the client. */
  readonly externalMode: number | undefined;
  readonly serverName: string | undefined;
  readonly alpn: string | undefined;
  readonly clientRecordSizeLimit: number | undefined;
  /** The client's max_fragment_length code (1..4), when it sent one and no record_size_limit. */
  readonly maxFragmentLength: number | undefined;
  /** The client offered psk_dhe_ke (it can resume, so tickets are worth sending). */
  readonly pskDheKe: boolean;
  /**
   * Whether tickets are worth sending: the client sent no psk_key_exchange_modes (it may still resume later,
   * as OpenSSL assumes), or listed psk_dhe_ke, the one mode we resume with.
   */
  readonly ticketsUsable: boolean;
  /** The client's pre_shared_key offer, if any. */
  readonly psks: OfferedPsks | undefined;
  /** The certificate types chosen (RFC 7250). */
  readonly certTypes: ServerChoice;
  /** With PSKs offered, why no certificate type is in common: thrown only if a certificate is needed. */
  readonly certTypeError: unknown;
  /** How to compress our Certificate: our first algorithm the client offered (RFC 8879 §3). */
  readonly certCompressor: CertCompressor | undefined;
}

/** Answer a ClientHello that settled on TLS 1.3 (RFC 8446 §4.1.1): a ServerHello, or a HelloRetryRequest. */
export function startServer13(
  cx: Context,
  setup: ServerSetup,
  ch: ClientHello,
  m: HandshakeMessage,
  where: string,
): Step {
  const offer = processClientHello(cx, setup, ch, where);
  cx.allowChangeCipherSpec(true);
  return findPsk(
    cx,
    setup,
    offer,
    (resume) =>
      answerClientHello(cx, setup, resume ? { ...offer, suite: resume.suite } : offer, resume, m, where),
  );
}

/** Go's checkForResumption done: the binder, the early data decision, then a ServerHello or HelloRetryRequest. */
function answerClientHello(
  cx: Context,
  setup: ServerSetup,
  offer: Offer,
  resume: Resumption | undefined,
  m: HandshakeMessage,
  where: string,
): Step {
  const { ch } = offer;
  cx.transcript.start(offer.suite.hash);
  if (resume?.external?.mode === PskKeyExchangeMode.pskKe) {
    // psk_ke (RFC 8446 §4.2.9): no key exchange, so no HelloRetryRequest either.
    checkBinder(cx, resume, m.raw, where);
    cx.transcript.add(m.raw);
    const a = { setup, offer, group: undefined, share: undefined, helloRetry: false, resume, early: false };
    return decideEarlyData(cx, setup, offer, resume, () => sendServerFlight(cx, a, where));
  }
  if (!resume) certificateFor(setup, offer, where);
  const shares = clientShares(ch, where);
  const groups = clientGroups(ch);
  const willRetry = !cx.cfg.groups.some((g) => shares.some((s) => s.group === g.id));
  // The binder is checked for the PSK we use; after a HelloRetryRequest the second ClientHello decides.
  if (resume && !willRetry) checkBinder(cx, resume, m.raw, where);
  return decideEarlyData(
    cx,
    setup,
    offer,
    willRetry ? undefined : resume,
    (early) => answerWithShares(cx, setup, offer, resume, early, { m, shares, groups, where }),
  );
}

/** The ServerHello for the best share the client sent, or a HelloRetryRequest for a group it listed. */
function answerWithShares(
  cx: Context,
  setup: ServerSetup,
  offer: Offer,
  resume: Resumption | undefined,
  early: boolean,
  hello: {
    readonly m: HandshakeMessage;
    readonly shares: readonly KeyShareEntry[];
    readonly groups: readonly number[];
    readonly where: string;
  },
): Step {
  const { m, shares, groups, where } = hello;
  const { ch } = offer;
  cx.transcript.add(m.raw);
  const listed = new Set(groups); // both lists are the peer's: a scan per share would be quadratic
  for (const s of shares) {
    // RFC 8446 §4.2.8: each share's group must be listed in supported_groups.
    if (!listed.has(s.group)) {
      throw misbehaved(
        "share_for_unlisted_group",
        "Cannot accept ClientHello: a key share is for a group not in supported_groups",
        where,
      );
    }
  }
  // Prefer a group the client already sent a share for (no extra round trip), in our order.
  for (const g of cx.cfg.groups) {
    const share = shares.find((s) => s.group === g.id);
    if (share) {
      return sendServerFlight(cx, { setup, offer, group: g, share, helloRetry: false, resume, early }, where);
    }
  }
  const group = cx.cfg.groups.find((g) => groups.includes(g.id));
  if (!group) {
    throw incompatible(
      "no_common_group",
      "Cannot accept ClientHello: no key exchange group in common",
      where,
    );
  }
  // HelloRetryRequest (RFC 8446 §4.1.4).
  const cookie = setup.options.helloRetryCookie !== true
    ? undefined
    : retryCookie(offer.suite, setup.cookieKey(), cx.transcript.current());
  cx.transcript.rewriteForHelloRetry();
  const exts: Extension[] = [
    { type: E.keyShare, data: encodeU16(group.id) },
    { type: E.supportedVersions, data: encodeU16(ProtocolVersion.tls13) },
  ];
  if (cookie) exts.push({ type: E.cookie, data: new Writer().vec(2, cookie).finish() });
  exts.push(...echHelloRetryExtensions(setup.echState));
  const hrr = encodeServerHello({
    legacyVersion: ProtocolVersion.tls12,
    random: HRR_RANDOM,
    sessionId: ch.sessionId,
    cipherSuite: offer.suite.id,
    compressionMethod: 0,
    extensions: exts,
  });
  confirmEch(cx, setup.echState, offer.suite.hash, hrr, true);
  cx.sendHandshake(hrr);
  if (ch.sessionId.length > 0) cx.sendChangeCipherSpec();
  return new ExpectClientHello2(setup, offer, group, cookie, resume);
}

function retryCookie(suite: Tls13Suite, key: Uint8Array, ch1Hash: Uint8Array): Uint8Array {
  return suite.hash.hmac(key, ch1Hash);
}

/** Waiting for the ClientHello that answers our HelloRetryRequest. */
class ExpectClientHello2 implements State {
  readonly name = "server.ExpectClientHello2";
  constructor(
    readonly setup: ServerSetup,
    readonly first: Offer,
    readonly group: KxGroup,
    readonly cookie: Uint8Array | undefined,
    /** The ticket chosen from the first ClientHello; its suite is the one the HelloRetryRequest named. */
    readonly resume: Resumption | undefined,
  ) {}

  handle(cx: Context, outer: HandshakeMessage): Step {
    expectMessage(outer, H.clientHello, this.name);
    const where = `${this.name}@ClientHello`;
    // ECH accepted: the second inner hello, opened with the first one's HPKE context (ech/server.ts).
    const { ch, m } = openSecondClientHello(this.setup.echState, decodeClientHello(outer.body), outer, where);
    // RFC 8446 §4.1.4: the ServerHello repeats the HelloRetryRequest's suite, even if we would now pick another.
    const offer = { ...processClientHello(cx, this.setup, ch, where), suite: this.first.suite };
    // RFC 8446 §4.1.2: the second ClientHello repeats the first except for the listed changes.
    const changed = changedAfterRetry(this.first.ch, ch);
    if (changed !== undefined) {
      throw misbehaved(
        "hello_changed_after_hrr",
        `Cannot accept ClientHello: its ${changed} changed after the HelloRetryRequest`,
        where,
      );
    }
    const shares = clientShares(ch, where);
    if (shares.length !== 1 || shares[0]!.group !== this.group.id) {
      throw misbehaved(
        "wrong_retry_share",
        `Cannot accept ClientHello: expected exactly one ${this.group.name} key share`,
        where,
      );
    }
    const cookieData = findExtension(ch.extensions, E.cookie);
    if (this.cookie) {
      const echoed = cookieData === undefined ? undefined : decodeCookie(cookieData, "ClientHello.cookie");
      if (!echoed || !ctEqual(echoed, this.cookie)) {
        throw misbehaved(
          "bad_cookie",
          "Cannot accept ClientHello: the cookie does not match the HelloRetryRequest",
          where,
        );
      }
    } else if (cookieData !== undefined) {
      throw misbehaved("unexpected_cookie", "Cannot accept ClientHello: a cookie that was never sent", where);
    }
    // RFC 8446 §4.2.10: early data is skipped up to the second ClientHello; a record after it that does not
    // open is bad_record_mac, like any other.
    cx.skipEarlyData(0);
    // The ticket was redeemed once, for the first ClientHello (a single-use store has forgotten it since).
    const resume = this.resume && againAfterRetry(cx, this.setup, offer, this.resume);
    if (resume) checkBinder(cx, resume, m.raw, where);
    cx.transcript.add(m.raw);
    return sendServerFlight(
      cx,
      {
        setup: this.setup,
        offer,
        group: this.group,
        share: shares[0]!,
        helloRetry: true,
        resume,
        early: false,
      },
      where,
    );
  }
}

/**
 * Extensions a second ClientHello may change (RFC 8446 §4.1.2): a new key_share, the cookie added, early_data
 * removed, pre_shared_key updated (ages and binders; incompatible PSKs dropped), padding resized.
 */
const MAY_CHANGE_AFTER_RETRY: ReadonlySet<number> = new Set([
  E.keyShare,
  E.cookie,
  E.earlyData,
  E.preSharedKey,
  E.padding,
]);

/**
 * What the second ClientHello changed beyond what RFC 8446 §4.1.2 allows, or undefined: legacy_version, the
 * session id, the cipher suites or compression methods, early_data still present, a pre_shared_key added, or
 * any other extension added, dropped or with another body (compared by type, not position).
 */
function changedAfterRetry(first: ClientHello, second: ClientHello): string | undefined {
  const same = (a: readonly number[], b: readonly number[]) =>
    a.length === b.length && a.every((x, i) => x === b[i]);
  if (first.legacyVersion !== second.legacyVersion) return "legacy_version";
  if (!ctEqual(first.sessionId, second.sessionId)) return "legacy_session_id";
  if (!same(first.cipherSuites, second.cipherSuites)) return "cipher_suites";
  if (!ctEqual(first.compressionMethods, second.compressionMethods)) return "legacy_compression_methods";
  if (findExtension(second.extensions, E.earlyData) !== undefined) return "early_data (not allowed again)";
  if (
    findExtension(second.extensions, E.preSharedKey) !== undefined &&
    findExtension(first.extensions, E.preSharedKey) === undefined
  ) {
    return "pre_shared_key (added)";
  }
  const kept = (exts: readonly Extension[]) => exts.filter((e) => !MAY_CHANGE_AFTER_RETRY.has(e.type));
  const before = new Map(kept(first.extensions).map((e) => [e.type, e.data]));
  const after = kept(second.extensions);
  for (const e of after) {
    const was = before.get(e.type);
    if (was === undefined || !ctEqual(was, e.data)) return `${extensionName(e.type)} extension`;
  }
  if (after.length !== before.size) return "extension list (one was dropped)";
  return undefined;
}

/** The client's key shares; a ClientHello may leave them out only for psk_ke (RFC 8446 §9.2). */
function clientShares(ch: ClientHello, where: string): KeyShareEntry[] {
  const data = findExtension(ch.extensions, E.keyShare);
  if (data === undefined) {
    throw misbehaved("missing_key_share", "Cannot accept ClientHello: key_share is missing", where);
  }
  return decodeClientShares(data, "ClientHello.key_share");
}

/**
 * The certificate for a full handshake, when no PSK is used; refusals: no certificate and unknown PSK
 * identities (unknown_psk_identity, RFC 8446 §6.2), no certificate and no PSK to use (handshake_failure), no
 * signature_algorithms (missing_extension), no scheme in common (handshake_failure).
 */
function certificateFor(
  setup: ServerSetup,
  offer: Offer,
  where: string,
): { cert: ServerCert; scheme: number } {
  if (offer.cert && offer.scheme !== undefined) return { cert: offer.cert, scheme: offer.scheme };
  if (setup.certs.length === 0 && !setup.rawKey) {
    if (offer.psks && offer.externalMode !== undefined) {
      throw incompatible(
        "unknown_psk_identity",
        "Cannot accept ClientHello: none of its PSK identities is known here, and we have no certificate",
        where,
      );
    }
    throw incompatible(
      "psk_required",
      offer.psks
        ? "Cannot accept ClientHello: no PSK key exchange mode in common, and we have no certificate"
        : "Cannot accept ClientHello: it offers no PSK, and we have no certificate",
      where,
    );
  }
  if (offer.certTypeError !== undefined) throw offer.certTypeError;
  if (!offer.signatureAlgorithms) {
    throw misbehaved(
      "missing_signature_algorithms",
      "Cannot accept ClientHello: signature_algorithms is missing",
      where,
    );
  }
  throw incompatible(
    "no_common_signature_scheme",
    "Cannot accept ClientHello: no signature scheme in common with our certificates",
    where,
  );
}

function clientGroups(ch: ClientHello): number[] {
  const data = findExtension(ch.extensions, E.supportedGroups);
  return data === undefined ? [] : decodeU16List(data, "ClientHello.supported_groups", "named_group_list");
}

/** Go's processClientHello + pickCertificate: everything decided from one ClientHello. */
function processClientHello(cx: Context, setup: ServerSetup, ch: ClientHello, where: string): Offer {
  const exts = ch.extensions;
  const sv = findExtension(exts, E.supportedVersions);
  const versions = sv === undefined ? [] : decodeClientVersions(sv, "ClientHello.supported_versions");
  if (!versions.includes(ProtocolVersion.tls13)) {
    throw incompatible(
      "tls13_required",
      "Cannot accept ClientHello: the client does not offer TLS 1.3",
      where,
    );
  }
  if (ch.compressionMethods.length !== 1 || ch.compressionMethods[0] !== 0) {
    throw misbehaved(
      "compression",
      "Cannot accept ClientHello: legacy_compression_methods must be exactly [null]",
      where,
    );
  }
  const pskAt = exts.findIndex((e) => e.type === E.preSharedKey);
  if (pskAt !== -1 && pskAt !== exts.length - 1) {
    // RFC 8446 §4.2.11: pre_shared_key must be the last extension.
    throw misbehaved(
      "psk_not_last",
      "Cannot accept ClientHello: pre_shared_key is not the last extension",
      where,
    );
  }
  const modesData = findExtension(exts, E.pskKeyExchangeModes);
  const modes = modesData === undefined
    ? []
    : decodePskModes(modesData, "ClientHello.psk_key_exchange_modes");
  const pskData = findExtension(exts, E.preSharedKey);
  const psks = pskData === undefined ? undefined : decodeOfferedPsks(pskData, "ClientHello.pre_shared_key");
  if (psks && modesData === undefined) {
    // RFC 8446 §4.2.9
    throw misbehaved(
      "psk_without_modes",
      "Cannot accept ClientHello: pre_shared_key without psk_key_exchange_modes",
      where,
    );
  }
  const suite = offeredSuites(setup, cx.cfg.suites, ch.cipherSuites)[0];
  if (!suite) {
    throw incompatible(
      "no_common_cipher_suite",
      "Cannot accept ClientHello: no cipher suite in common",
      where,
    );
  }
  // RFC 8446 §9.2: key_share and supported_groups go together; signature_algorithms is required for certificates.
  // With pre_shared_key, both may be absent (psk_ke), but never one without the other.
  const hasShares = findExtension(exts, E.keyShare) !== undefined;
  const hasGroups = findExtension(exts, E.supportedGroups) !== undefined;
  if (hasShares !== hasGroups || (!hasShares && !psks)) {
    throw misbehaved(
      "missing_key_share",
      "Cannot accept ClientHello: key_share and supported_groups are required",
      where,
    );
  }
  const sa = findExtension(exts, E.signatureAlgorithms);
  if (sa === undefined && !psks) {
    throw misbehaved(
      "missing_signature_algorithms",
      "Cannot accept ClientHello: signature_algorithms is missing",
      where,
    );
  }
  const clientSchemes = sa === undefined
    ? []
    : decodeU16List(sa, "ClientHello.signature_algorithms", "supported_signature_algorithms");
  const sn = findExtension(exts, E.serverName);
  const serverName = sn === undefined ? undefined : decodeServerNameList(sn, "ClientHello.server_name");
  // RFC 7250 §4.2: the certificate types first; a raw public key is our "chain" when chosen. Both are chosen
  // now and used only if no PSK is: with PSKs offered, no type in common fails only when a certificate is
  // needed (certificateFor says why there is none).
  // A server with no certificate of either type (external PSKs only) chooses none: certificateFor says why.
  const noTypes = {
    server: CertificateType.x509,
    answerServer: false,
    client: undefined,
    answerClient: false,
  };
  let certTypes: ServerChoice = noTypes;
  let certTypeError: unknown;
  if (setup.certs.length > 0 || setup.rawKey) {
    try {
      certTypes = chooseCertificateTypes(
        setup.certificateTypes,
        exts,
        setup.clientAuth?.required === true,
        where,
      );
    } catch (e) {
      if (!psks) throw e;
      certTypeError = e;
    }
  }
  const candidates = certTypes.server === CertificateType.rawPublicKey ? [setup.rawKey!] : setup.certs;
  const picked = certTypeError === undefined
    ? pickCertificate(candidates, clientSchemes, serverName)
    : undefined;
  const alpn = chooseAlpn(cx, setup, exts, where);
  const { clientRecordSizeLimit, maxFragmentLength } = fragmentRequests(exts, where);
  if (cx.quic) {
    // RFC 9001 §8.1, §8.2: QUIC needs ALPN and the client's transport parameters.
    const params = findExtension(exts, E.quicTransportParameters);
    if (params === undefined) {
      throw misbehaved(
        "missing_quic_transport_parameters",
        "Cannot accept ClientHello: quic_transport_parameters is missing",
        where,
      );
    }
    if (alpn === undefined) {
      throw incompatible("quic_without_alpn", "Cannot accept ClientHello: QUIC requires ALPN", where);
    }
    cx.setPeerTransportParameters(params.slice());
  }
  return {
    ch,
    suite,
    cert: picked?.cert,
    scheme: picked?.scheme,
    signatureAlgorithms: sa !== undefined,
    externalMode: setup.psks && psks ? chooseMode(setup.psks.modes, modes) : undefined,
    serverName,
    alpn,
    clientRecordSizeLimit,
    maxFragmentLength,
    pskDheKe: modes.includes(PskKeyExchangeMode.pskDheKe),
    ticketsUsable: modesData === undefined || modes.includes(PskKeyExchangeMode.pskDheKe),
    psks,
    certTypes,
    certTypeError,
    certCompressor: chooseCompressor(
      cx.cfg.certCompressors,
      findExtension(exts, E.compressCertificate),
      "ClientHello.compress_certificate",
    ),
  };
}

/** A PSK the server can use, a ticket's or an external one, and the suite to use. */
interface Resumption {
  /** The ticket's state; undefined for an external PSK. */
  readonly state: TicketState | undefined;
  /** The PSK: the ticket's resumption PSK, or the external key. */
  readonly psk: Uint8Array;
  /** An external PSK's identity and the mode it is used in (external_psk.ts); undefined for a ticket. */
  readonly external: { readonly identity: Uint8Array; readonly mode: number } | undefined;
  readonly suite: Tls13Suite;
  readonly index: number;
  readonly identity: Uint8Array;
  /** The client's view of the ticket's age minus ours, in milliseconds (RFC 8446 §8.3). */
  readonly ageSkew: number;
  readonly binder: Uint8Array;
  readonly bindersLength: number;
}

/**
 * The first offered identity we can resume (RFC 8446 §4.2.11, §4.6.1), handed to `next`: a ticket our store
 * redeems, not expired, for the same SNI, with a suite the client offers, in psk_dhe_ke mode, its age within
 * the window. Anything else is a full handshake, never an error; the binder is checked separately. The store
 * is asked about one identity at a time, in order (a single-use store forgets what it redeems), and may
 * answer with a promise (WANT_ASYNC); once it fails, no further identity is tried (a full handshake).
 */
function findPsk(
  cx: Context,
  setup: ServerSetup,
  offer: Offer,
  next: (resume: Resumption | undefined) => Step,
): Step {
  const store = setup.tickets?.store;
  const psks = setup.psks;
  const tickets = store && offer.pskDheKe;
  const external = psks && offer.externalMode !== undefined;
  if (!offer.psks || (!tickets && !external)) return next(undefined);
  const now = cx.cfg.now();
  // Each costs an AEAD open, a lookup (or a store's round trip): ~400 fit in a ClientHello.
  const tried = offer.psks.identities.slice(0, LIMITS.maxPskIdentitiesTried);
  const from = (index: number): Step => {
    if (index >= tried.length) return next(undefined);
    const identity = tried[index]!.identity;
    // An external PSK first (the list, then the lookup), then a ticket: the first identity we know wins.
    const ticket = (): Step =>
      !tickets ? from(index + 1) : askStore(
        cx,
        "redeem",
        () => store.redeem(identity),
        (bytes) => {
          const state = bytes === undefined ? undefined : decodeTicketState(bytes);
          const resume = state && resumption(cx, setup, offer, index, state, now);
          return resume ? next(resume) : from(index + 1);
        },
        () => next(undefined),
      );
    if (!external) return ticket();
    return askStore(cx, "psk", () => findServerPsk(psks, identity), (key) => {
      const use = key && externalUse(cx, setup, offer, index, key);
      return use ? next(use) : ticket();
    }, ticket);
  };
  return from(0);
}

/** The offered identity at `index` with the external key we know for it, if a suite of its hash is offered. */
function externalUse(
  cx: Context,
  setup: ServerSetup,
  offer: Offer,
  index: number,
  key: ExternalKey,
): Resumption | undefined {
  const suite = offeredSuites(setup, cx.cfg.suites, offer.ch.cipherSuites).find((s) =>
    s.hash.name === key.hash
  );
  if (!suite || offer.externalMode === undefined) return undefined;
  return {
    state: undefined,
    psk: key.key,
    external: { identity: key.identity, mode: offer.externalMode },
    suite,
    index,
    identity: key.identity,
    ageSkew: 0,
    binder: offer.psks!.binders[index]!,
    bindersLength: offer.psks!.bindersLength,
  };
}

/**
 * After a HelloRetryRequest, the ticket taken for the first ClientHello, if the second still offers it: its
 * age and binder recomputed and perhaps at another index (RFC 8446 §4.1.2). The store is not asked again (a
 * single-use ticket is gone by now).
 */
function againAfterRetry(
  cx: Context,
  setup: ServerSetup,
  offer: Offer,
  first: Resumption,
): Resumption | undefined {
  if (!offer.psks) return undefined;
  const now = cx.cfg.now();
  for (const [index, id] of offer.psks.identities.slice(0, LIMITS.maxPskIdentitiesTried).entries()) {
    if (!ctEqual(id.identity, first.identity)) continue;
    if (first.external) {
      const key = { identity: first.identity, key: first.psk, hash: first.suite.hash.name };
      const use = externalUse(cx, setup, offer, index, key);
      if (use && use.suite === first.suite) return use;
      continue;
    }
    if (!offer.pskDheKe) return undefined;
    const resume = resumption(cx, setup, offer, index, first.state!, now);
    if (resume) return resume;
  }
  return undefined;
}

/** The offered identity at `index` resumes `state` if the checks of {@link findResumption} pass. */
function resumption(
  cx: Context,
  setup: ServerSetup,
  offer: Offer,
  index: number,
  state: TicketState,
  now: number,
): Resumption | undefined {
  const psks = offer.psks!;
  const id = psks.identities[index]!;
  if (state.version !== 0x0304) return undefined; // never across versions
  const suite = cx.cfg.suites.find((s) => s.id === state.cipherSuite);
  if (!suite || !offer.ch.cipherSuites.includes(suite.id)) return undefined;
  // Same SNI, the same authentication context, within its lifetime and its authentication's.
  if (state.serverName !== offer.serverName || !resumable(setup.tickets, state, now)) return undefined;
  const age = now - state.issuedAt;
  const clientAge = (id.obfuscatedTicketAge - state.ticketAgeAdd + 2 ** 32) % 2 ** 32;
  if (Math.abs(clientAge - age) > TICKET_AGE_SKEW_MS) return undefined;
  return {
    state,
    psk: state.psk,
    external: undefined,
    suite,
    index,
    identity: id.identity,
    ageSkew: clientAge - age,
    binder: psks.binders[index]!,
    bindersLength: psks.bindersLength,
  };
}

/** RFC 8446 §4.2.11.2: the binder must verify, or the handshake ends with decrypt_error. */
function checkBinder(cx: Context, r: Resumption, raw: Uint8Array, where: string): void {
  const truncated = raw.subarray(0, raw.length - r.bindersLength);
  const th = cx.transcript.hashWith(r.suite.hash, truncated);
  const expected = r.external ? externalBinder(r.suite.hash, r.psk, th) : pskBinder(r.suite.hash, r.psk, th);
  if (!ctEqual(expected, r.binder)) {
    throw misbehaved("bad_psk_binder", "Cannot accept ClientHello: the PSK binder does not verify", where);
  }
}

/** What the server has settled when it answers a ClientHello (Go's serverHandshakeStateTLS13 at that point). */
interface Answer {
  readonly setup: ServerSetup;
  readonly offer: Offer;
  /** The key exchange group; undefined for an external PSK in psk_ke mode. */
  readonly group: KxGroup | undefined;
  /** The client's key share for `group`. */
  readonly share: KeyShareEntry | undefined;
  /** A HelloRetryRequest came first. */
  readonly helloRetry: boolean;
  readonly resume: Resumption | undefined;
  /** 0-RTT is accepted. */
  readonly early: boolean;
}

/** The answer with the handshake keys in place and EncryptedExtensions sent. */
interface Keyed extends Answer {
  readonly keys: KeySchedule;
  readonly secrets: { readonly clientHandshake: Uint8Array; readonly serverHandshake: Uint8Array };
}

/**
 * The server's flight, as Go's handshake() runs it: our key exchange, then sendServerParameters,
 * sendServerCertificate (not when resuming) and sendServerFinished.
 */
function sendServerFlight(cx: Context, a: Answer, where: string): Step {
  const random = cx.cfg.random(32);
  const cert = a.resume ? undefined : certificateFor(a.setup, a.offer, where);
  const flight = (mine: KxResponse | undefined): Step => {
    const keyed = sendServerParameters(cx, { ...a, random, mine });
    // PSK mode: no CertificateRequest, Certificate or CertificateVerify (RFC 8446 §2.2, §4.3.2).
    return cert ? sendServerCertificate(cx, keyed, cert) : sendServerFinished(cx, keyed);
  };
  const { group, share } = a;
  if (!group || !share) return flight(undefined);
  // Diffie-Hellman: a fresh share and the shared secret; a KEM: encapsulation to the client's key.
  return usePeerShare(
    () => cx.cfg.provider.respond(group, share.keyExchange, cx.cfg.random),
    "ClientHello",
    group.name,
    where,
    flight,
  );
}

/**
 * ServerHello, the compatibility CCS, the handshake keys (and the 0-RTT read key when early data is accepted),
 * then EncryptedExtensions (RFC 8446 §4.1.3, §4.3.1). Sets cx.clientRandom and our fragment limits.
 */
function sendServerParameters(
  cx: Context,
  a: Answer & { readonly random: Uint8Array; readonly mine: KxResponse | undefined },
): Keyed {
  const { offer, resume, mine } = a;
  const { suite, ch } = offer;
  cx.clientRandom = ch.random;
  // client_early_traffic_secret hashes the ClientHello alone, before the ServerHello joins the transcript.
  const earlySecret = a.early && resume
    ? new KeySchedule(suite.hash, resume.psk).clientEarlyTraffic(cx.transcript.current())
    : undefined;
  const sh = encodeServerHello({
    legacyVersion: ProtocolVersion.tls12,
    random: a.random,
    sessionId: ch.sessionId,
    cipherSuite: suite.id,
    compressionMethod: 0,
    extensions: [
      ...(mine && a.group
        ? [{ type: E.keyShare, data: encodeServerShare({ group: a.group.id, keyExchange: mine.publicKey }) }]
        : []),
      ...(resume ? [{ type: E.preSharedKey, data: encodeU16(resume.index) }] : []),
      { type: E.supportedVersions, data: encodeU16(ProtocolVersion.tls13) },
    ],
  });
  confirmEch(cx, a.setup.echState, suite.hash, sh, false);
  cx.sendHandshake(sh);
  if (ch.sessionId.length > 0 && !a.helloRetry) cx.sendChangeCipherSpec();
  const keys = new KeySchedule(suite.hash, resume?.psk);
  // psk_ke: the (EC)DHE input is zeros (RFC 8446 §7.1).
  const secrets = keys.handshake(
    mine?.sharedSecret ?? new Uint8Array(suite.hash.outputLen),
    cx.transcript.current(),
  );
  cx.keyLog("CLIENT_HANDSHAKE_TRAFFIC_SECRET", secrets.clientHandshake);
  cx.keyLog("SERVER_HANDSHAKE_TRAFFIC_SECRET", secrets.serverHandshake);
  cx.setWriteSecret(suite, secrets.serverHandshake, "handshake");
  if (earlySecret && cx.quic) {
    // RFC 9001 §4.6: QUIC reads 0-RTT itself; TLS hands over the secret, and there is no EndOfEarlyData.
    cx.keyLog("CLIENT_EARLY_TRAFFIC_SECRET", earlySecret);
    cx.emit("secrets", { direction: "read", level: "early", cipherSuite: suite.name, secret: earlySecret });
    cx.setReadSecret(suite, secrets.clientHandshake, "handshake");
  } else if (earlySecret && resume) {
    // 0-RTT accepted: the client's early data, then EndOfEarlyData, come under the early key (§4.2.10).
    cx.keyLog("CLIENT_EARLY_TRAFFIC_SECRET", earlySecret);
    cx.setReadSecret(suite, earlySecret, "early");
    cx.acceptEarlyData(Math.min(resume.state?.maxEarlyData ?? 0, a.setup.earlyData!.maxSize));
  } else {
    cx.setReadSecret(suite, secrets.clientHandshake, "handshake");
  }

  const ee: Extension[] = [];
  if (earlySecret) ee.push({ type: E.earlyData, data: new Uint8Array(0) });
  if (offer.serverName !== undefined) ee.push({ type: E.serverName, data: new Uint8Array(0) });
  if (cx.cfg.quic) ee.push({ type: E.quicTransportParameters, data: cx.cfg.quic.transportParameters });
  if (offer.alpn !== undefined) ee.push({ type: E.alpn, data: encodeAlpn([offer.alpn]) });
  // RFC 8446 §4.2.7: our groups, when the one used is not our first choice (as OpenSSL does), so that the
  // client can send a share for a better one next time.
  if (a.group && a.group.id !== cx.cfg.groups[0]?.id) {
    ee.push({ type: E.supportedGroups, data: encodeU16List(cx.cfg.groups.map((g) => g.id)) });
  }
  if (offer.clientRecordSizeLimit !== undefined) {
    ee.push({ type: E.recordSizeLimit, data: encodeU16(cx.cfg.recordSizeLimit ?? 16385) });
    cx.setMaxFragment(offer.clientRecordSizeLimit - 1);
    // RFC 8449 §4: our own limit holds from here on, now that the client will know it.
    if (cx.cfg.recordSizeLimit !== undefined) cx.enforceRecordSizeLimit(cx.cfg.recordSizeLimit);
  } else if (offer.maxFragmentLength !== undefined) {
    // RFC 6066 §4: echo the value; no record of ours carries more than 2^(8 + code) bytes from now on.
    ee.push({ type: E.maxFragmentLength, data: Uint8Array.of(offer.maxFragmentLength) });
    cx.setMaxFragment(1 << (8 + offer.maxFragmentLength));
  }
  if (!resume) ee.push(...answerCertificateTypes(offer.certTypes));
  ee.push(...echRetryExtensions(a.setup.ech, a.setup.echState));
  const hook = a.setup.options.encryptedExtensions;
  cx.sendHandshake(encodeEncryptedExtensions(hook ? hook(ee) : ee));
  return { ...a, keys, secrets };
}

/**
 * [CertificateRequest], Certificate and CertificateVerify (RFC 8446 §4.3.2, §4.4.2, §4.4.3), then
 * sendServerFinished; asynchronous (WANT_ASYNC) when the key signs asynchronously.
 */
function sendServerCertificate(
  cx: Context,
  k: Keyed,
  { cert, scheme }: { readonly cert: ServerCert; readonly scheme: number },
): Step {
  // No client certificate type in common (RFC 7250 §4.2): an optional request is not made.
  const clientAuth = k.offer.certTypes.client === undefined ? undefined : k.setup.clientAuth;
  if (clientAuth) {
    // RFC 8446 §4.3.2
    const exts: Extension[] = [{ type: E.signatureAlgorithms, data: encodeU16List(cx.cfg.schemes) }];
    if (clientAuth.authorities.length > 0) {
      exts.push({
        type: E.certificateAuthorities,
        data: encodeCertificateAuthorities(clientAuth.authorities),
      });
    }
    // RFC 8879 §3: the client may compress its Certificate with what we can decompress.
    const compression = compressionOffer(cx.cfg.certCompressors);
    if (compression) exts.push(compression);
    cx.sendHandshake(encodeCertificateRequest({ context: new Uint8Array(0), extensions: exts }));
  }
  const certificate = encodeCertificate({
    context: new Uint8Array(0),
    entries: cert.chain.map((certData) => ({ certData, extensions: [] })),
  });
  return sendCertificate(cx, certificate, k.offer.certCompressor, () => {
    const content = certificateVerifyContent("server", cx.transcript.current());
    const finish = (signature: Uint8Array): State => {
      cx.sendHandshake(encodeCertificateVerify({ scheme, signature }));
      return sendServerFinished(cx, k);
    };
    const sig = cert.key.sign(scheme, content);
    if (sig instanceof Uint8Array) return finish(sig);
    return { pending: sig.then(finish) };
  });
}

/**
 * Finished and the application write key (RFC 8446 §4.4.4); the client's flight comes next: [EndOfEarlyData],
 * [Certificate, CertificateVerify], Finished.
 */
function sendServerFinished(cx: Context, k: Keyed): State {
  const { offer, keys, secrets, resume, early } = k;
  const { suite, ch } = offer;
  cx.sendHandshake(
    encodeFinished(finishedVerifyData(suite.hash, secrets.serverHandshake, cx.transcript.current())),
  );
  const app = keys.application(cx.transcript.current());
  cx.keyLog("CLIENT_TRAFFIC_SECRET_0", app.clientApplication);
  cx.keyLog("SERVER_TRAFFIC_SECRET_0", app.serverApplication);
  cx.keyLog("EXPORTER_SECRET", app.exporter);
  cx.setWriteSecret(suite, app.serverApplication, "application");
  const state: ServerFlight = {
    offer,
    group: k.group,
    keys,
    secrets,
    app,
    helloRetry: k.helloRetry,
    ech: k.setup.echState?.status,
    // A resumed client is who it was when the ticket was issued; otherwise its chain comes next, if asked for.
    clientChain: resume?.state?.clientCertificates ?? [],
    resumed: resume?.state !== undefined,
    resumedAuth: resume?.state,
    external: resume?.external &&
      { identity: resume.external.identity, mode: pskModeName(resume.external.mode) },
    tickets: k.setup.tickets,
    earlyData: early
      ? "accepted"
      : findExtension(ch.extensions, E.earlyData) !== undefined
      ? "rejected"
      : undefined,
    earlyMax: k.setup.earlyData?.maxSize ?? 0,
  };
  if (early && !cx.quic) return new ExpectEndOfEarlyData(state);
  const clientAuth = resume || offer.certTypes.client === undefined ? undefined : k.setup.clientAuth;
  return clientAuth ? new ExpectClientCertificate(state, clientAuth) : new ExpectFinished(state);
}

/** What the server knows once its flight is out. */
interface ServerFlight {
  readonly offer: Offer;
  readonly group: KxGroup | undefined;
  readonly keys: KeySchedule;
  readonly secrets: { readonly clientHandshake: Uint8Array };
  readonly app: { readonly clientApplication: Uint8Array; readonly serverApplication: Uint8Array };
  readonly helloRetry: boolean;
  /** What became of the client's ECH (ech/server.ts); undefined when it sent none. */
  readonly ech: "accepted" | "rejected" | undefined;
  /** The client's certificate chain (empty when none was asked for or sent). */
  readonly clientChain: readonly Uint8Array[];
  /** The client's raw public key (RFC 7250), when it authenticated with one. */
  readonly clientRawKey?: Uint8Array;
  /** Whether this handshake resumed a ticket. */
  readonly resumed: boolean;
  /** The external PSK used, and its mode. */
  readonly external: HandshakeInfo["externalPsk"];
  /** The resumed session's authentication, which tickets issued now inherit. */
  readonly resumedAuth: SessionAuth | undefined;
  /** 0-RTT: "accepted", "rejected", or undefined when not offered. */
  readonly earlyData: "accepted" | "rejected" | undefined;
  /** max_early_data_size for the tickets we issue (0: none). */
  readonly earlyMax: number;
  /** Where to issue tickets once the handshake is done. */
  readonly tickets: ServerSetup["tickets"];
}

/** Waiting for the client's Certificate (RFC 8446 §4.4.2, §4.4.2.4). */
class ExpectClientCertificate implements State {
  readonly name = "server.ExpectClientCertificate";
  constructor(
    readonly s: ServerFlight,
    readonly auth: NonNullable<ServerSetup["clientAuth"]>,
  ) {}

  handle(cx: Context, m: HandshakeMessage): Step {
    // RFC 8879 §4: compressed only if our CertificateRequest offered compress_certificate.
    const offered = cx.cfg.certCompressors;
    expectMessage(
      m,
      offered.length > 0 ? [H.certificate, H.compressedCertificate] : H.certificate,
      this.name,
    );
    if (m.type === H.compressedCertificate) {
      const where = `${this.name}@CompressedCertificate`;
      return readCompressedCertificate(cx, m, offered, where, (c) => this.#certificate(cx, c));
    }
    return this.#certificate(cx, m);
  }

  #certificate(cx: Context, m: HandshakeMessage): Step {
    const where = `${this.name}@Certificate`;
    // We sent no CertificateRequest extensions that an entry could answer.
    const chain = readCertificate(cx, m, new Set(), where);
    if (chain.length === 0) {
      if (this.auth.required) {
        throw invalidCertificate(
          "required",
          "Cannot accept Certificate: a client certificate is required",
          where,
        );
      }
      return new ExpectFinished(this.s);
    }
    if (this.s.offer.certTypes.client === CertificateType.rawPublicKey) {
      // RFC 7250 §3: one SubjectPublicKeyInfo, pinned or accepted by the callback.
      return acceptRawPublicKey(
        this.auth.policy.rawKeys!,
        chain,
        { serverName: undefined },
        where,
        (publicKey) => new ExpectClientCertificateVerify({ ...this.s, clientRawKey: chain[0]! }, publicKey),
      );
    }
    return acceptPeerChain(
      cx,
      this.auth.policy,
      chain,
      where,
      (publicKey) => new ExpectClientCertificateVerify({ ...this.s, clientChain: chain }, publicKey),
    );
  }
}

/** Waiting for the client's CertificateVerify (RFC 8446 §4.4.3). */
class ExpectClientCertificateVerify implements State {
  readonly name = "server.ExpectClientCertificateVerify";
  constructor(readonly s: ServerFlight, readonly publicKey: PublicKey) {}

  handle(cx: Context, m: HandshakeMessage): Step {
    expectMessage(m, H.certificateVerify, this.name);
    const where = `${this.name}@CertificateVerify`;
    return checkCertificateVerify(cx, m, "client", this.publicKey, where, () => new ExpectFinished(this.s));
  }
}

/**
 * NewSessionTicket × count after the handshake (RFC 8446 §4.6.1), then `next`: each with its own nonce and
 * age_add, the resumption PSK sealed (or stored) by the ticket store, one at a time (a store may answer with
 * a promise: WANT_ASYNC). Once the store fails, no more tickets are sent.
 */
function sendTickets(
  cx: Context,
  tickets: NonNullable<ServerSetup["tickets"]>,
  s: ServerFlight,
  resumptionSecret: Uint8Array,
  next: () => State,
): Step {
  const { suite } = s.offer;
  // RFC 9001 §4.6.1: over QUIC, max_early_data_size is 0xffffffff when 0-RTT is allowed at all.
  const earlyMax = s.earlyMax > 0 && cx.quic ? 0xffffffff : s.earlyMax;
  const now = cx.cfg.now();
  // A resumption renews the ticket, never the authentication behind it (see binding.ts).
  const auth = s.resumedAuth ?? freshAuth(now, s.clientChain);
  const lifetime = ticketLifetime(tickets, auth, now);
  if (lifetime === 0) return next();
  const send = (i: number): Step => {
    if (i >= tickets.count) return next();
    const nonce = Uint8Array.of(i >> 8, i & 0xff);
    const ageAdd = new Reader(cx.cfg.random(4), "random").u32();
    const state = encodeTicketState({
      version: 0x0304,
      ems: true,
      cipherSuite: suite.id,
      psk: ticketPsk(suite.hash, resumptionSecret, nonce),
      ticketAgeAdd: ageAdd,
      issuedAt: now,
      lifetime,
      serverName: s.offer.serverName,
      alpn: s.offer.alpn,
      maxEarlyData: earlyMax,
      clientCertificates: s.clientChain,
      context: tickets.context,
      authenticatedAt: auth.authenticatedAt,
      peerNotAfter: auth.peerNotAfter,
    });
    return askStore(cx, "issue", () => tickets.store.issue(state, cx.cfg.random, lifetime), (ticket) => {
      cx.sendHandshake(
        encodeNewSessionTicket({
          lifetime,
          ageAdd,
          nonce,
          ticket,
          // RFC 8446 §4.6.1: early_data with max_early_data_size when 0-RTT may be used with this ticket.
          extensions: earlyMax > 0 ? [{ type: E.earlyData, data: new Writer(4).u32(earlyMax).finish() }] : [],
        }),
        false,
      );
      return send(i + 1);
    }, next);
  };
  return send(0);
}

/** 0-RTT accepted: early data until EndOfEarlyData (RFC 8446 §4.5), then the handshake key. */
class ExpectEndOfEarlyData implements State {
  readonly name = "server.ExpectEndOfEarlyData";
  constructor(readonly s: ServerFlight) {}

  handle(cx: Context, m: HandshakeMessage): Step {
    expectMessage(m, H.endOfEarlyData, this.name);
    new Reader(m.body, "EndOfEarlyData", 4).end();
    cx.transcript.add(m.raw);
    cx.endEarlyData();
    cx.setReadSecret(this.s.offer.suite, this.s.secrets.clientHandshake, "handshake");
    return new ExpectFinished(this.s);
  }
}

/**
 * Whether to take the client's 0-RTT data (RFC 8446 §4.2.10), handed to `next`: only with the first PSK
 * identity, a ticket that allows it, the same ALPN, no HelloRetryRequest, and no replay. Otherwise, if the
 * client offered it, its early records are skipped. With an anti-replay register, the ticket age must also be
 * within half its window of ours (RFC 8446 §8.2, §8.3): a replay that passes the age check then comes while
 * it remembers. The register may answer with a promise (WANT_ASYNC); one that fails refuses the early data.
 */
function decideEarlyData(
  cx: Context,
  setup: ServerSetup,
  offer: Offer,
  resume: Resumption | undefined,
  next: (early: boolean) => Step,
): Step {
  if (findExtension(offer.ch.extensions, E.earlyData) === undefined) return next(false);
  const decided = (ok: boolean): Step => {
    if (!ok) cx.skipEarlyData(2 * Math.max(setup.earlyData?.maxSize ?? 0, 16384) + 4096);
    return next(ok);
  };
  // Only with a ticket: never with an external PSK (its state is undefined; see docs/guide.md).
  const state = resume?.state;
  if (!resume || !state) return decided(false);
  const ok = setup.earlyData !== undefined && resume.index === 0 && state.maxEarlyData > 0 &&
    state.alpn === offer.alpn;
  const register = setup.earlyData?.antiReplay;
  if (!ok || !register) return decided(ok);
  // Whether the ClientHello is new to the register, and could not outlive its memory.
  if (2 * Math.abs(resume.ageSkew) > register.windowMs) return decided(false);
  return askStore(
    cx,
    "admit",
    () => register.admit(resume.binder, cx.cfg.now()),
    (admitted) => decided(admitted === true),
    () => decided(false),
  );
}

/** Waiting for the client's Finished (RFC 8446 §4.4.4). */
class ExpectFinished implements State {
  readonly name = "server.ExpectFinished";
  constructor(readonly s: ServerFlight) {}

  handle(cx: Context, m: HandshakeMessage): Step {
    const { suite } = this.s.offer;
    const expected = finishedVerifyData(suite.hash, this.s.secrets.clientHandshake, cx.transcript.current());
    acceptFinished(cx, m, expected, this.name);
    const resumption = this.s.keys.resumption(cx.transcript.current());
    cx.setReadSecret(suite, this.s.app.clientApplication, "application");
    cx.allowChangeCipherSpec(false);
    cx.complete({
      version: "TLSv1.3",
      cipherSuite: suite.name,
      group: this.s.group?.name ?? "none",
      alpn: this.s.offer.alpn,
      serverName: this.s.offer.serverName,
      ...(this.s.external ? { externalPsk: this.s.external } : {}),
      signatureScheme: this.s.resumed || this.s.external || this.s.offer.scheme === undefined
        ? undefined
        : schemeName(this.s.offer.scheme),
      helloRetry: this.s.helloRetry,
      ...(this.s.ech ? { ech: this.s.ech } : {}),
      resumed: this.s.resumed,
      ...(this.s.earlyData ? { earlyData: this.s.earlyData } : {}),
      peerCertificates: this.s.clientChain,
      ...(this.s.clientRawKey
        ? { peerCertificateType: "RawPublicKey" as const, peerRawPublicKey: this.s.clientRawKey }
        : {}),
    });
    const connected = () =>
      new Connected(
        { suite, read: this.s.app.clientApplication, write: this.s.app.serverApplication, resumption },
        "server",
      );
    // No tickets after an external PSK: the PSK itself is the way back (RFC 9257 §6: one use per PSK). A ticket
    // does not carry a client's raw key: no resumption after raw-key client authentication.
    if (!this.s.tickets || !this.s.offer.ticketsUsable || this.s.external || this.s.clientRawKey) {
      return connected();
    }
    return sendTickets(cx, this.s.tickets, this.s, resumption, connected);
  }
}
