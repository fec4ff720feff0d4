/**
 * The TLS 1.2 server (RFC 5246 §7.3), ECDHE with AEAD suites only, one class per state:
 *
 *   full:        ClientHello → ServerHello Certificate ServerKeyExchange [CertificateRequest] ServerHelloDone
 *                ← [Certificate] ClientKeyExchange [CertificateVerify] CCS Finished
 *                → [NewSessionTicket] CCS Finished
 *   abbreviated: ClientHello (session id or ticket) → ServerHello [NewSessionTicket] CCS Finished
 *                ← CCS Finished
 *
 * hello.ts chose the version and calls {@link startServer12}; a TLS 1.3-capable server puts the RFC 8446
 * §4.1.3 downgrade sentinel in its random here. What TLS 1.3 shares is in common.ts; this file never
 * imports tls13.ts.
 * @module
 */

import { incompatible, invalidCertificate, misbehaved } from "../errors.ts";
import { ExtensionType as E, HandshakeType as H, ProtocolVersion } from "../msgs/enums.ts";
import {
  decodeServerNameList,
  decodeU16List,
  encodeAlpn,
  encodeU16,
  type Extension,
  findExtension,
} from "../msgs/extensions.ts";
import {
  type ClientHello,
  decodeCertificate12,
  decodeCertificateVerify,
  decodeClientKeyExchange12,
  encodeCertificate12,
  encodeCertificateRequest12,
  encodeEcdheParams,
  encodeFinished,
  encodeNewSessionTicket12,
  encodeServerHello,
  encodeServerHelloDone,
  encodeServerKeyExchange12,
  type HandshakeMessage,
} from "../msgs/handshake.ts";
import {
  acceptFinished,
  andThen,
  askStore,
  type Context,
  expectMessage,
  signingScheme,
  type State,
  type Step,
  usePeerShare,
} from "../state.ts";
import { decodeTicketState, encodeTicketState, type TicketState } from "../session.ts";
import { freshAuth, resumable, type SessionAuth, ticketLifetime } from "../binding.ts";
import { acceptPeerChain, checkSignature } from "../peer_auth.ts";
import type {} from "../peer_verify.ts";
import type { Protection12 } from "../record/layer.ts";
import {
  commonHelloExtensions,
  Connected12,
  DOWNGRADE_TLS12,
  ExpectChangeCipherSpec,
  keyBlock,
  masterSecret,
  RENEGOTIATION_SCSV,
  serverKeyExchangeContent,
  verifyData12,
} from "../tls12.ts";
import { chooseAlpn, forServerName, fragmentRequests, offeredSuites, type ServerSetup } from "./common.ts";
import type { ServerCert } from "../config.ts";
import { schemeName } from "../names.ts";
import { ctEqual } from "../../suites/bytes.ts";
import type { KeyShare, KxGroup } from "../../suites/kx.ts";
import type { PublicKey } from "../../suites/sign.ts";
import type { Tls12Suite } from "../../suites/tls12.ts";

/**
 * Whether a certificate can authenticate a suite: an RSA key for ECDHE_RSA; an ECDSA or Ed25519 key for
 * ECDHE_ECDSA (RFC 8422 §5.1), and an ECDSA key only on a curve the client listed in supported_groups
 * (RFC 8422 §5.3: clients refuse others, OpenSSL with "wrong curve").
 */
function signsFor(cert: ServerCert, suite: Tls12Suite, groups: readonly number[]): boolean {
  const t = cert.key.type;
  if (suite.auth === "rsa") return t === "rsa" || t === "rsa-pss";
  if (t === "ec-p256") return groups.includes(0x0017);
  if (t === "ec-p384") return groups.includes(0x0018);
  return t === "ed25519";
}

/** What the server decided from a TLS 1.2 ClientHello. */
interface Hello12 {
  readonly setup: ServerSetup;
  readonly ch: ClientHello;
  readonly suite: Tls12Suite;
  readonly serverRandom: Uint8Array;
  readonly sessionId: Uint8Array;
  readonly ems: boolean;
  readonly serverName: string | undefined;
  readonly alpn: string | undefined;
  /** We send a NewSessionTicket (the client offered session_ticket and tickets are on). */
  readonly sendTicket: boolean;
}

/** After the full handshake's ServerHelloDone. */
interface Full12 extends Hello12 {
  readonly group: KxGroup;
  readonly share: KeyShare;
  readonly scheme: number;
  readonly clientChain: readonly Uint8Array[];
}

/** Keys in place for the client's ChangeCipherSpec and Finished. */
interface Keyed12 extends Hello12 {
  readonly master: Uint8Array;
  readonly keys: { readonly client: Protection12; readonly server: Protection12 };
  /** Set in a full handshake; undefined when resumed. */
  readonly full: Full12 | undefined;
  readonly clientChain: readonly Uint8Array[];
}

/** What the server read from a TLS 1.2 ClientHello before it looks for a session to resume. */
interface ClientHello12 {
  readonly setup: ServerSetup;
  readonly ch: ClientHello;
  readonly m: HandshakeMessage;
  readonly where: string;
  readonly ems: boolean;
  /** RFC 5746: renegotiation_info or the SCSV came; ours goes back. */
  readonly secure: boolean;
  readonly pointFormats: boolean;
  readonly serverName: string | undefined;
  readonly alpn: string | undefined;
  readonly limits: ReturnType<typeof fragmentRequests>;
  /** The session_ticket extension's body, when the client sent one. */
  readonly ticketExt: Uint8Array | undefined;
  readonly serverRandom: Uint8Array;
}

/**
 * Answer a ClientHello that settled on TLS 1.2 (RFC 5246 §7.4.1.3), as Go's serverHandshakeState:
 * processClientHello, checkForResumption, then the abbreviated or the full handshake.
 */
export function startServer12(
  cx: Context,
  setup: ServerSetup,
  ch: ClientHello,
  m: HandshakeMessage,
  where: string,
): Step {
  cx.version = ProtocolVersion.tls12;
  cx.allowChangeCipherSpec(false);
  cx.clientRandom = ch.random;
  const exts = ch.extensions;
  if (!ch.compressionMethods.includes(0)) {
    throw misbehaved(
      "compression",
      "Cannot accept ClientHello: legacy_compression_methods lacks null",
      where,
    );
  }
  const { ems, secureRenegotiation, pointFormats } = commonHelloExtensions(cx, exts, "ClientHello", where);
  const sn = findExtension(exts, E.serverName);
  const hello: ClientHello12 = {
    setup,
    ch,
    m,
    where,
    ems,
    secure: secureRenegotiation || ch.cipherSuites.includes(RENEGOTIATION_SCSV),
    pointFormats,
    serverName: sn === undefined ? undefined : decodeServerNameList(sn, "ClientHello.server_name"),
    alpn: chooseAlpn(cx, setup, exts, where),
    limits: fragmentRequests(exts, where),
    ticketExt: findExtension(exts, E.sessionTicket),
    // A TLS 1.3-capable server marks a TLS 1.2 answer (RFC 8446 §4.1.3), so that a 1.3 client sees a downgrade.
    serverRandom: cx.cfg.random(32),
  };
  if (cx.cfg.maxVersion >= ProtocolVersion.tls13) hello.serverRandom.set(DOWNGRADE_TLS12, 24);
  return findSession12(cx, hello, (resumed) => {
    const sendTicket = hello.ticketExt !== undefined && setup.tickets !== undefined &&
      (resumed?.renew ?? true);
    return resumed ? resumeSession12(cx, hello, resumed, sendTicket) : fullHandshake12(cx, hello, sendTicket);
  });
}

/** The ServerHello for `suite` and `sessionId`; the transcript starts with the ClientHello. */
function sendServerHello12(
  cx: Context,
  c: ClientHello12,
  answer: { readonly suite: Tls12Suite; readonly sessionId: Uint8Array; readonly full: boolean },
  sendTicket: boolean,
): Hello12 {
  const { suite, sessionId, full } = answer;
  const { limits, serverName, alpn } = c;
  cx.transcript.start(suite.hash);
  cx.transcript.add(c.m.raw);
  const sh: Extension[] = [];
  if (c.secure) sh.push({ type: E.renegotiationInfo, data: Uint8Array.of(0) });
  if (c.ems) sh.push({ type: E.extendedMasterSecret, data: new Uint8Array(0) });
  if (c.pointFormats) sh.push({ type: E.ecPointFormats, data: Uint8Array.of(1, 0) });
  if (sendTicket) sh.push({ type: E.sessionTicket, data: new Uint8Array(0) });
  // RFC 6066 §3: server_name is acknowledged in a full handshake only.
  if (full && serverName !== undefined) sh.push({ type: E.serverName, data: new Uint8Array(0) });
  if (alpn !== undefined) sh.push({ type: E.alpn, data: encodeAlpn([alpn]) });
  if (limits.clientRecordSizeLimit !== undefined) {
    // RFC 8449 §4: in TLS 1.2 the limit counts plaintext only.
    sh.push({ type: E.recordSizeLimit, data: encodeU16(Math.min(cx.cfg.recordSizeLimit ?? 16384, 16384)) });
    cx.setMaxFragment(limits.clientRecordSizeLimit);
    if (cx.cfg.recordSizeLimit !== undefined) cx.enforceRecordSizeLimit(cx.cfg.recordSizeLimit);
  } else if (limits.maxFragmentLength !== undefined) {
    sh.push({ type: E.maxFragmentLength, data: Uint8Array.of(limits.maxFragmentLength) });
    cx.setMaxFragment(1 << (8 + limits.maxFragmentLength));
  }
  cx.sendHandshake(encodeServerHello({
    legacyVersion: ProtocolVersion.tls12,
    random: c.serverRandom,
    sessionId,
    cipherSuite: suite.id,
    compressionMethod: 0,
    extensions: sh,
  }));
  const { setup, ch, ems, serverRandom } = c;
  return { setup, ch, suite, serverRandom, sessionId, ems, serverName, alpn, sendTicket };
}

/** RFC 5246 §7.3: the same session id back, [NewSessionTicket], then straight to our ChangeCipherSpec and Finished. */
function resumeSession12(cx: Context, c: ClientHello12, resumed: Resumed12, sendTicket: boolean): Step {
  const { ch } = c;
  const h = sendServerHello12(
    cx,
    c,
    { suite: resumed.suite, sessionId: ch.sessionId, full: false },
    sendTicket,
  );
  const clientChain = resumed.state.clientCertificates;
  cx.setPeerChain(clientChain);
  const master = resumed.state.psk;
  cx.keyLog("CLIENT_RANDOM", master);
  const keys = keyBlock(h.suite, master, ch.random, c.serverRandom, cx.cfg.provider);
  return keepSession12(cx, h, master, clientChain, resumed.state, () => {
    cx.changeWriteCipher(keys.server);
    cx.sendHandshake(encodeFinished(verifyData12(h.suite, master, "server", cx.transcript.current())));
    return toFinished({ ...h, master, keys, full: undefined, clientChain });
  });
}

/**
 * The full handshake's first flight: the certificate by name, a suite it can sign for, an ECDHE group, then
 * ServerHello, Certificate, ServerKeyExchange, [CertificateRequest], ServerHelloDone.
 */
function fullHandshake12(cx: Context, c: ClientHello12, sendTicket: boolean): Step {
  const { setup, ch, where, serverName, serverRandom } = c;
  const exts = ch.extensions;
  const sa = findExtension(exts, E.signatureAlgorithms);
  if (sa === undefined) {
    // RFC 5246 §7.4.1.4.1 would default to SHA-1, which we do not sign with.
    throw incompatible(
      "no_common_signature_scheme",
      "Cannot accept ClientHello: no signature_algorithms (its SHA-1 default is not supported)",
      where,
    );
  }
  const clientSchemes = decodeU16List(
    sa,
    "ClientHello.signature_algorithms",
    "supported_signature_algorithms",
  );
  const sg = findExtension(exts, E.supportedGroups);
  const groups = sg === undefined
    ? []
    : decodeU16List(sg, "ClientHello.supported_groups", "named_group_list");
  // The certificate by name first, as in TLS 1.3; then our most preferred suite it can sign for. Choosing
  // the suite first would serve another name's certificate whenever its key type makes a preferred suite.
  const offered = offeredSuites(setup, cx.cfg.suites12, ch.cipherSuites);
  const usable = setup.certs.flatMap((cert) => {
    const scheme = signingScheme(cert.key, clientSchemes, true);
    return scheme !== undefined && offered.some((s) => signsFor(cert, s, groups)) ? [{ cert, scheme }] : [];
  });
  const candidates = forServerName(usable, serverName);
  let chosen: { suite: Tls12Suite; cert: ServerCert; scheme: number } | undefined;
  for (const suite of offered) {
    const picked = candidates.find((u) => signsFor(u.cert, suite, groups));
    if (picked) {
      chosen = { suite, ...picked };
      break;
    }
  }
  if (!chosen) {
    throw incompatible(
      "no_common_cipher_suite",
      "Cannot accept ClientHello: no TLS 1.2 cipher suite in common that our certificates can sign for",
      where,
    );
  }
  // The hybrid X25519MLKEM768 is TLS 1.3 only.
  const group = cx.cfg.groups.find((g) => g.name !== "X25519MLKEM768" && groups.includes(g.id));
  if (!group) {
    throw incompatible(
      "no_common_group",
      "Cannot accept ClientHello: no ECDHE group in common for TLS 1.2",
      where,
    );
  }
  // With tickets the session lives in the ticket; otherwise a session id names it in our cache.
  let sessionId = !sendTicket && setup.sessionIds ? cx.cfg.random(32) : new Uint8Array(0);
  // Never the id the client offered: the client would take a full handshake for a resumption.
  if (sessionId.length > 0 && ctEqual(sessionId, ch.sessionId)) sessionId = new Uint8Array(0);
  if (setup.clientAuth) cx.transcript.keep();
  const h = sendServerHello12(cx, c, { suite: chosen.suite, sessionId, full: true }, sendTicket);
  cx.sendHandshake(encodeCertificate12(chosen.cert.chain));
  // The share may come later (WebCrypto), then the signature may too.
  return andThen(cx.cfg.provider.keyShare(group, cx.cfg.random), (share) => {
    const params = encodeEcdheParams(group.id, share.publicKey);
    const full: Full12 = { ...h, group, share, scheme: chosen.scheme, clientChain: [] };
    const signed = (signature: Uint8Array): State => {
      cx.sendHandshake(encodeServerKeyExchange12({
        group: group.id,
        publicKey: share.publicKey,
        scheme: chosen.scheme,
        signature,
      }));
      const auth = setup.clientAuth;
      if (auth) {
        cx.sendHandshake(encodeCertificateRequest12({
          certificateTypes: [64, 1], // ecdsa_sign, rsa_sign (RFC 8422 §5.5, RFC 5246 §7.4.4)
          signatureSchemes: cx.cfg.schemes,
          certificateAuthorities: auth.authorities,
        }));
      }
      cx.sendHandshake(encodeServerHelloDone());
      return auth ? new ExpectClientCertificate(full, auth) : new ExpectClientKeyExchange(full, undefined);
    };
    const sig = chosen.cert.key.sign(
      chosen.scheme,
      serverKeyExchangeContent(ch.random, serverRandom, params),
    );
    return andThen(sig, signed);
  });
}

/** A TLS 1.2 session found to resume, and whether the client gets a new ticket. */
interface Resumed12 {
  readonly state: TicketState;
  readonly suite: Tls12Suite;
  readonly renew: boolean;
}

/**
 * A TLS 1.2 session to resume, handed to `next`: from the ticket (RFC 5077 §3.4, when the client also sent a
 * session id for us to echo) or from the session id cache; for the same SNI, a suite the client still offers,
 * not expired, and with the same extended-master-secret use (RFC 7627 §5.3). Anything else is a full
 * handshake. The stores may answer with promises (WANT_ASYNC); one that fails is a miss (a full handshake),
 * and a failed `renews` gives no new ticket.
 */
function findSession12(
  cx: Context,
  hello: ClientHello12,
  next: (resumed: Resumed12 | undefined) => Step,
): Step {
  const { setup, ch, ticketExt: ticket } = hello;
  // RFC 5077 §3.4: a ticket may come with an empty session id; a session id alone must not be empty.
  const byTicket = ticket !== undefined && ticket.length > 0;
  if (!byTicket && ch.sessionId.length === 0) return next(undefined);
  const tickets = setup.tickets?.store, ids = setup.sessionIds;
  const found = (bytes: Uint8Array | undefined): Step => {
    const state = bytes === undefined ? undefined : decodeTicketState(bytes);
    const suite = state && usableSession12(cx, hello, state);
    if (!state || !suite) return next(undefined);
    // A client that resumes by session id and asks for a ticket gets one; by ticket, as the store says.
    const renews = byTicket ? tickets?.renews?.bind(tickets) : undefined;
    if (!renews) return next({ state, suite, renew: true });
    return askStore(
      cx,
      "renews",
      () => renews(ticket!),
      (renew) => next({ state, suite, renew: renew !== false }),
      () => next({ state, suite, renew: false }),
    );
  };
  const miss = () => next(undefined);
  if (byTicket) return tickets ? askStore(cx, "redeem", () => tickets.redeem(ticket), found, miss) : miss();
  return ids ? askStore(cx, "lookup", () => ids.lookup(ch.sessionId), found, miss) : miss();
}

/** The suite to resume `state` with, if it may be resumed by this ClientHello (see {@link findSession12}). */
function usableSession12(cx: Context, hello: ClientHello12, state: TicketState): Tls12Suite | undefined {
  const { setup, ch, serverName, ems, where } = hello;
  if (state.version !== ProtocolVersion.tls12) return undefined;
  const suite = cx.cfg.suites12.find((s) => s.id === state.cipherSuite);
  if (!suite || state.serverName !== serverName) return undefined;
  // The same authentication context, within its lifetime and its authentication's (binding.ts).
  if (!resumable(setup.tickets, state, cx.cfg.now())) return undefined;
  // RFC 5246 §7.4.1.2: a hello that resumes a session MUST offer its cipher suite (OpenSSL: illegal_parameter).
  if (!ch.cipherSuites.includes(suite.id)) {
    throw misbehaved(
      "resumed_suite_missing",
      "Cannot accept ClientHello: it resumes a session without offering the session's cipher suite",
      where,
    );
  }
  // RFC 7627 §5.3: a session without the extended master secret is not resumed by a hello with it (a full
  // handshake); a session with it, offered by a hello without it, aborts the handshake.
  if (state.ems && !ems) {
    throw misbehaved(
      "resumed_ems_changed",
      "Cannot accept ClientHello: it resumes a session that used extended_master_secret without offering it",
      where,
    );
  }
  return state.ems === ems ? suite : undefined;
}

/**
 * The session to keep (in a ticket or under a session id), and for how many seconds; 0 seconds when its
 * authentication has lapsed (keep none). A resumption renews the session, never its authentication:
 * `resumedAuth` is the resumed session's (see binding.ts).
 */
function sessionState(
  cx: Context,
  h: Hello12,
  master: Uint8Array,
  clientChain: readonly Uint8Array[],
  resumedAuth: SessionAuth | undefined,
): { state: Uint8Array; lifetime: number } {
  const tickets = h.setup.tickets!;
  const now = cx.cfg.now();
  const auth = resumedAuth ?? freshAuth(now, clientChain);
  const lifetime = ticketLifetime(tickets, auth, now);
  const state = encodeTicketState({
    version: ProtocolVersion.tls12,
    ems: h.ems,
    cipherSuite: h.suite.id,
    psk: master,
    ticketAgeAdd: 0,
    issuedAt: now,
    lifetime,
    serverName: h.serverName,
    alpn: h.alpn,
    maxEarlyData: 0,
    clientCertificates: clientChain,
    context: tickets.context,
    authenticatedAt: auth.authenticatedAt,
    peerNotAfter: auth.peerNotAfter,
  });
  return { state, lifetime };
}

/**
 * RFC 5077 §3.3: when the ServerHello promised one, a NewSessionTicket with the session sealed (or stored) by
 * the ticket store, then `next`. The ticket is empty when the session's authentication has lapsed, or when
 * the store failed (RFC 5077 §3.3 allows a zero-length ticket after the promise). The store may answer with a
 * promise (WANT_ASYNC).
 */
function keepSession12(
  cx: Context,
  h: Hello12,
  master: Uint8Array,
  clientChain: readonly Uint8Array[],
  resumedAuth: SessionAuth | undefined,
  next: () => Step,
): Step {
  if (!h.sendTicket) return next();
  const { state, lifetime } = sessionState(cx, h, master, clientChain, resumedAuth);
  const send = (ticket: Uint8Array, lifetimeHint = lifetime): Step => {
    cx.sendHandshake(encodeNewSessionTicket12({ lifetimeHint, ticket }));
    return next();
  };
  const none = () => send(new Uint8Array(0), 0);
  if (lifetime === 0) return none();
  return askStore(
    cx,
    "issue",
    () => h.setup.tickets!.store.issue(state, cx.cfg.random, lifetime),
    send,
    none,
  );
}

/**
 * RFC 5246 §7.3: keep a full handshake's session under the session id the ServerHello gave (when it gave one),
 * then `next`; before our Finished, so that the client cannot come back before it is kept. The store may
 * answer with a promise (WANT_ASYNC); one that fails keeps nothing (the id will not resume).
 */
function storeSessionId12(cx: Context, h: Keyed12, next: () => Step): Step {
  const cache = h.setup.sessionIds;
  if (h.sessionId.length === 0 || !cache) return next();
  const { state, lifetime } = sessionState(cx, h, h.master, h.clientChain, undefined);
  if (lifetime === 0) return next();
  return askStore(cx, "store", () => cache.store(h.sessionId, state, lifetime), next, next);
}

/** Waiting for the client's Certificate (RFC 5246 §7.4.6): possibly empty, unless one is required. */
class ExpectClientCertificate implements State {
  readonly name = "server.ExpectClientCertificate12";
  constructor(readonly s: Full12, readonly auth: NonNullable<ServerSetup["clientAuth"]>) {}

  handle(cx: Context, m: HandshakeMessage): Step {
    expectMessage(m, H.certificate, this.name);
    const where = `${this.name}@Certificate`;
    const chain = decodeCertificate12(m.body);
    cx.transcript.add(m.raw);
    if (chain.length === 0) {
      if (this.auth.required) {
        // RFC 5246 §7.4.6: a fatal handshake_failure when a certificate is required.
        throw invalidCertificate(
          "required",
          "Cannot accept Certificate: a client certificate is required",
          where,
          "handshake_failure",
        );
      }
      cx.transcript.forget();
      return new ExpectClientKeyExchange(this.s, undefined);
    }
    return acceptPeerChain(
      cx,
      this.auth.policy,
      chain,
      where,
      (publicKey) => new ExpectClientKeyExchange({ ...this.s, clientChain: chain }, publicKey),
    );
  }
}

/** Waiting for ClientKeyExchange (RFC 8422 §5.7); then the master secret and keys. */
class ExpectClientKeyExchange implements State {
  readonly name = "server.ExpectClientKeyExchange";
  /** @param clientKey The client certificate's key, when it sent one: a CertificateVerify follows. */
  constructor(readonly s: Full12, readonly clientKey: PublicKey | undefined) {}

  handle(cx: Context, m: HandshakeMessage): Step {
    expectMessage(m, H.clientKeyExchange, this.name);
    const where = `${this.name}@ClientKeyExchange`;
    const point = decodeClientKeyExchange12(m.body);
    const { group, share } = this.s;
    return usePeerShare(
      () => cx.cfg.provider.sharedSecret(group, share, point),
      "ClientKeyExchange",
      group.name,
      where,
      (preMaster) => this.#keyed(cx, m, preMaster),
    );
  }

  #keyed(cx: Context, m: HandshakeMessage, preMaster: Uint8Array): State {
    const suite = this.s.suite;
    cx.transcript.add(m.raw);
    const master = masterSecret(
      suite,
      preMaster,
      this.s.ems,
      cx.transcript.current(),
      this.s.ch.random,
      this.s.serverRandom,
    );
    cx.keyLog("CLIENT_RANDOM", master);
    const keyed: Keyed12 = {
      ...this.s,
      master,
      keys: keyBlock(suite, master, this.s.ch.random, this.s.serverRandom, cx.cfg.provider),
      full: this.s,
      clientChain: this.s.clientChain,
    };
    if (this.clientKey) return new ExpectClientCertificateVerify(keyed, this.clientKey);
    return toFinished(keyed);
  }
}

/** Waiting for the client's CertificateVerify: a signature over all handshake messages so far (RFC 5246 §7.4.8). */
class ExpectClientCertificateVerify implements State {
  readonly name = "server.ExpectClientCertificateVerify12";
  constructor(readonly s: Keyed12, readonly publicKey: PublicKey) {}

  handle(cx: Context, m: HandshakeMessage): Step {
    expectMessage(m, H.certificateVerify, this.name);
    const where = `${this.name}@CertificateVerify`;
    const cv = decodeCertificateVerify(m.body);
    const content = cx.transcript.kept();
    cx.transcript.add(m.raw);
    cx.transcript.forget();
    return checkSignature(
      cx,
      cv,
      true,
      this.publicKey,
      content,
      "CertificateVerify",
      where,
      () => toFinished(this.s),
    );
  }
}

/** The client's ChangeCipherSpec, then its Finished. */
function toFinished(s: Keyed12): State {
  return new ExpectChangeCipherSpec("server", s.keys.client, () => new ExpectClientFinished(s));
}

/** Waiting for the client's Finished; in a full handshake our [NewSessionTicket], CCS and Finished follow. */
class ExpectClientFinished implements State {
  readonly name = "server.ExpectFinished12";
  constructor(readonly s: Keyed12) {}

  handle(cx: Context, m: HandshakeMessage): Step {
    const { suite, master } = this.s;
    acceptFinished(cx, m, verifyData12(suite, master, "client", cx.transcript.current()), this.name);
    if (!this.s.full) return this.#complete(cx, undefined);
    const full = this.s.full;
    return keepSession12(
      cx,
      this.s,
      master,
      this.s.clientChain,
      undefined,
      () =>
        storeSessionId12(cx, this.s, () => {
          cx.changeWriteCipher(this.s.keys.server);
          cx.sendHandshake(encodeFinished(verifyData12(suite, master, "server", cx.transcript.current())));
          return this.#complete(cx, full);
        }),
    );
  }

  #complete(cx: Context, full: Full12 | undefined): State {
    const { suite } = this.s;
    cx.complete({
      version: "TLSv1.2",
      cipherSuite: suite.name,
      group: full ? full.group.name : "none",
      alpn: this.s.alpn,
      serverName: this.s.serverName,
      signatureScheme: full ? schemeName(full.scheme) : undefined,
      resumed: !full,
      extendedMasterSecret: this.s.ems,
      helloRetry: false,
      peerCertificates: this.s.clientChain,
    });
    return new Connected12("server");
  }
}
