/**
 * The TLS 1.3 server, one class per state (RFC 8446 §2), after Go's serverHandshakeStateTLS13:
 *
 *   ExpectClientHello: processClientHello, pickCertificate, [HelloRetryRequest → ExpectClientHello2]
 *   sendServerParameters (ServerHello, [CCS], EncryptedExtensions), sendServerCertificate
 *   (Certificate, CertificateVerify), sendServerFinished
 *   ExpectFinished: readClientFinished → Connected
 * @module
 */

import type { ServerCert, ServerConfig } from "../config.ts";
import { peerIncompatible } from "../errors.ts";
import { finishedVerifyData, KeySchedule } from "../key_schedule.ts";
import { Writer } from "../msgs/codec.ts";
import { ExtensionType as E, HandshakeType as H, ProtocolVersion } from "../msgs/enums.ts";
import {
  checkAllowed,
  decodeAlpn,
  decodeClientShares,
  decodeClientVersions,
  decodeCookie,
  decodePskModes,
  decodeServerNameList,
  decodeU16,
  decodeU16List,
  encodeAlpn,
  encodeCertificateAuthorities,
  encodeServerShare,
  encodeU16,
  encodeU16List,
  type Extension,
  findExtension,
  type KeyShareEntry,
} from "../msgs/extensions.ts";
import {
  type ClientHello,
  decodeCertificate,
  decodeCertificateVerify,
  decodeClientHello,
  decodeFinished,
  encodeCertificate,
  encodeCertificateRequest,
  encodeCertificateVerify,
  encodeEncryptedExtensions,
  encodeFinished,
  encodeServerHello,
  type HandshakeMessage,
  HRR_RANDOM,
} from "../msgs/handshake.ts";
import {
  certificateVerifyContent,
  type Context,
  expectMessage,
  fail,
  type State,
  type Step,
} from "../state.ts";
import { Connected } from "../connected.ts";
import { schemeName } from "../names.ts";
import { ctEqual } from "../../suites/bytes.ts";
import { KxError, type KxGroup } from "../../suites/kx.ts";
import { type PublicKey, publicKeyFromCertificate, verifySignature } from "../../suites/sign.ts";
import { certificateMatchesName, verifyChain, type VerifyPolicy } from "../peer_verify.ts";
import type { Tls13Suite } from "../../suites/tls13.ts";

/** What the server took from a ClientHello. */
interface Offer {
  readonly ch: ClientHello;
  readonly suite: Tls13Suite;
  readonly cert: ServerCert;
  readonly scheme: number;
  readonly serverName: string | undefined;
  readonly alpn: string | undefined;
  readonly clientRecordSizeLimit: number | undefined;
}

/** Server-side connection settings the states need beyond the normalized config. */
export interface ServerSetup {
  readonly config: ServerConfig;
  readonly certs: readonly ServerCert[];
  /** Key for HelloRetryRequest cookies (drawn from the engine's random source when first needed). */
  readonly cookieKey: () => Uint8Array;
  /** How client certificates are asked for and judged; undefined: not asked for. */
  readonly clientAuth:
    | {
      readonly policy: VerifyPolicy;
      readonly required: boolean;
      readonly authorities: readonly Uint8Array[];
    }
    | undefined;
}

/** Waiting for the first ClientHello. */
export class ExpectClientHello implements State {
  readonly name = "server.ExpectClientHello";
  constructor(readonly setup: ServerSetup) {}

  handle(cx: Context, m: HandshakeMessage): Step {
    expectMessage(m, H.clientHello, this.name);
    const where = `${this.name}@ClientHello`;
    const ch = decodeClientHello(m.body);
    const offer = processClientHello(cx, this.setup, ch, where);
    cx.allowChangeCipherSpec(true);
    cx.transcript.start(offer.suite.hash);
    cx.transcript.add(m.raw);
    const shares = decodeClientShares(findExtension(ch.extensions, E.keyShare)!, "ClientHello.key_share");
    const groups = clientGroups(ch);
    for (const s of shares) {
      // RFC 8446 §4.2.8: each share's group must be listed in supported_groups.
      if (!groups.includes(s.group)) {
        fail(
          "illegal_parameter",
          "peer_misbehaved.share_for_unlisted_group",
          "Cannot accept ClientHello: a key share is for a group not in supported_groups",
          where,
        );
      }
    }
    // Prefer a group the client already sent a share for (no extra round trip), in our order.
    for (const g of cx.cfg.groups) {
      const share = shares.find((s) => s.group === g.id);
      if (share) return sendServerFlight(cx, this.setup, offer, g, share, where);
    }
    const group = cx.cfg.groups.find((g) => groups.includes(g.id));
    if (!group) {
      throw peerIncompatible(
        "no_common_group",
        "Cannot accept ClientHello: no key exchange group in common",
        "handshake_failure",
        where,
      );
    }
    // HelloRetryRequest (RFC 8446 §4.1.4).
    const cookie = this.setup.config.helloRetryCookie === false
      ? undefined
      : retryCookie(offer.suite, this.setup.cookieKey(), cx.transcript.current());
    cx.transcript.rewriteForHelloRetry();
    const exts: Extension[] = [
      { type: E.keyShare, data: encodeU16(group.id) },
      { type: E.supportedVersions, data: encodeU16(ProtocolVersion.tls13) },
    ];
    if (cookie) exts.push({ type: E.cookie, data: new Writer().vec(2, cookie).finish() });
    cx.sendHandshake(encodeServerHello({
      legacyVersion: ProtocolVersion.tls12,
      random: HRR_RANDOM,
      sessionId: ch.sessionId,
      cipherSuite: offer.suite.id,
      compressionMethod: 0,
      extensions: exts,
    }));
    if (ch.sessionId.length > 0) cx.sendChangeCipherSpec();
    return new ExpectClientHello2(this.setup, offer, group, cookie);
  }
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
  ) {}

  handle(cx: Context, m: HandshakeMessage): Step {
    expectMessage(m, H.clientHello, this.name);
    const where = `${this.name}@ClientHello`;
    const ch = decodeClientHello(m.body);
    const offer = processClientHello(cx, this.setup, ch, where);
    // RFC 8446 §4.1.2: the second ClientHello repeats the first except for the listed changes.
    if (offer.suite.id !== this.first.suite.id || !ctEqual(ch.sessionId, this.first.ch.sessionId)) {
      fail(
        "illegal_parameter",
        "peer_misbehaved.hello_changed_after_hrr",
        "Cannot accept ClientHello: it changed more than the HelloRetryRequest asked",
        where,
      );
    }
    const shares = decodeClientShares(findExtension(ch.extensions, E.keyShare)!, "ClientHello.key_share");
    if (shares.length !== 1 || shares[0]!.group !== this.group.id) {
      fail(
        "illegal_parameter",
        "peer_misbehaved.wrong_retry_share",
        `Cannot accept ClientHello: expected exactly one ${this.group.name} key share`,
        where,
      );
    }
    const cookieData = findExtension(ch.extensions, E.cookie);
    if (this.cookie) {
      const echoed = cookieData === undefined ? undefined : decodeCookie(cookieData, "ClientHello.cookie");
      if (!echoed || !ctEqual(echoed, this.cookie)) {
        fail(
          "illegal_parameter",
          "peer_misbehaved.bad_cookie",
          "Cannot accept ClientHello: the cookie does not match the HelloRetryRequest",
          where,
        );
      }
    } else if (cookieData !== undefined) {
      fail(
        "illegal_parameter",
        "peer_misbehaved.unexpected_cookie",
        "Cannot accept ClientHello: a cookie that was never sent",
        where,
      );
    }
    cx.transcript.add(m.raw);
    return sendServerFlight(cx, this.setup, offer, this.group, shares[0]!, where, true);
  }
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
    throw peerIncompatible(
      "tls13_required",
      "Cannot accept ClientHello: the client does not offer TLS 1.3",
      "protocol_version",
      where,
    );
  }
  if (ch.compressionMethods.length !== 1 || ch.compressionMethods[0] !== 0) {
    fail(
      "illegal_parameter",
      "peer_misbehaved.compression",
      "Cannot accept ClientHello: legacy_compression_methods must be exactly [null]",
      where,
    );
  }
  const pskAt = exts.findIndex((e) => e.type === E.preSharedKey);
  if (pskAt !== -1 && pskAt !== exts.length - 1) {
    // RFC 8446 §4.2.11: pre_shared_key must be the last extension.
    fail(
      "illegal_parameter",
      "peer_misbehaved.psk_not_last",
      "Cannot accept ClientHello: pre_shared_key is not the last extension",
      where,
    );
  }
  const modes = findExtension(exts, E.pskKeyExchangeModes);
  if (modes !== undefined) decodePskModes(modes, "ClientHello.psk_key_exchange_modes");
  const suite = cx.cfg.suites.find((s) => ch.cipherSuites.includes(s.id));
  if (!suite) {
    throw peerIncompatible(
      "no_common_cipher_suite",
      "Cannot accept ClientHello: no cipher suite in common",
      "handshake_failure",
      where,
    );
  }
  // RFC 8446 §9.2: key_share and supported_groups go together; signature_algorithms is required for certificates.
  const hasShares = findExtension(exts, E.keyShare) !== undefined;
  const hasGroups = findExtension(exts, E.supportedGroups) !== undefined;
  if (!hasShares || !hasGroups) {
    fail(
      "missing_extension",
      "peer_misbehaved.missing_key_share",
      "Cannot accept ClientHello: key_share and supported_groups are required",
      where,
    );
  }
  const sa = findExtension(exts, E.signatureAlgorithms);
  if (sa === undefined) {
    fail(
      "missing_extension",
      "peer_misbehaved.missing_signature_algorithms",
      "Cannot accept ClientHello: signature_algorithms is missing",
      where,
    );
  }
  const clientSchemes = decodeU16List(
    sa,
    "ClientHello.signature_algorithms",
    "supported_signature_algorithms",
  );
  const sn = findExtension(exts, E.serverName);
  const serverName = sn === undefined ? undefined : decodeServerNameList(sn, "ClientHello.server_name");
  const picked = pickCertificate(setup.certs, clientSchemes, serverName);
  if (!picked) {
    throw peerIncompatible(
      "no_common_signature_scheme",
      "Cannot accept ClientHello: no signature scheme in common with our certificates",
      "handshake_failure",
      where,
    );
  }
  const { cert, scheme } = picked;
  let alpn: string | undefined;
  const alpnData = findExtension(exts, E.alpn);
  if (alpnData !== undefined) {
    const offered = decodeAlpn(alpnData, "ClientHello.alpn");
    const select = setup.config.selectAlpn;
    if (select) alpn = select(offered);
    else if (cx.cfg.alpn.length > 0) alpn = cx.cfg.alpn.find((p) => offered.includes(p));
    if (alpn !== undefined && !offered.includes(alpn)) {
      fail(
        "internal_error",
        "local.bad_alpn_selection",
        "selectAlpn returned a protocol the client did not offer",
        where,
      );
    }
    if (alpn === undefined && (select || cx.cfg.alpn.length > 0)) {
      // RFC 7301 §3.2
      throw peerIncompatible(
        "no_application_protocol",
        "Cannot accept ClientHello: no ALPN protocol in common",
        "no_application_protocol",
        where,
      );
    }
  }
  let clientRecordSizeLimit: number | undefined;
  const rsl = findExtension(exts, E.recordSizeLimit);
  if (rsl !== undefined) {
    clientRecordSizeLimit = decodeU16(rsl, "ClientHello.record_size_limit");
    if (clientRecordSizeLimit < 64) {
      fail(
        "illegal_parameter",
        "peer_misbehaved.record_size_limit",
        `Cannot accept record_size_limit ${clientRecordSizeLimit}: below 64`,
        where,
      );
    }
  }
  return { ch, suite, cert, scheme, serverName, alpn, clientRecordSizeLimit };
}

/**
 * Go's pickCertificate: among the chains whose key can sign with a scheme the client offers (in the key's
 * order of preference, never PKCS#1 v1.5: RFC 8446 §4.4.3), the first whose leaf names the SNI host;
 * without a match, the first usable one (the default certificate).
 */
function pickCertificate(
  certs: readonly ServerCert[],
  clientSchemes: readonly number[],
  serverName: string | undefined,
): { cert: ServerCert; scheme: number } | undefined {
  const usable = certs.flatMap((cert) => {
    const scheme = cert.key.schemes.find((s) => clientSchemes.includes(s) && (s & 0xff) !== 0x01);
    return scheme === undefined ? [] : [{ cert, scheme }];
  });
  if (serverName !== undefined) {
    const named = usable.find((u) => certificateMatchesName(u.cert.chain[0]!, serverName));
    if (named) return named;
  }
  return usable[0];
}

/** sendServerParameters, sendServerCertificate, sendServerFinished. */
function sendServerFlight(
  cx: Context,
  setup: ServerSetup,
  offer: Offer,
  group: KxGroup,
  share: KeyShareEntry,
  where: string,
  helloRetry = false,
): Step {
  const random = cx.cfg.random(32);
  const mine = group.generate(cx.cfg.random);
  let shared: Uint8Array;
  try {
    shared = group.sharedSecret(mine.privateKey, share.keyExchange);
  } catch (e) {
    if (e instanceof KxError) {
      fail(
        "illegal_parameter",
        "peer_misbehaved.bad_key_share",
        `Cannot accept ClientHello: invalid ${group.name} key share`,
        where,
      );
    }
    throw e;
  }
  const { suite, ch } = offer;
  cx.clientRandom = ch.random;
  cx.sendHandshake(encodeServerHello({
    legacyVersion: ProtocolVersion.tls12,
    random,
    sessionId: ch.sessionId,
    cipherSuite: suite.id,
    compressionMethod: 0,
    extensions: [
      { type: E.keyShare, data: encodeServerShare({ group: group.id, keyExchange: mine.publicKey }) },
      { type: E.supportedVersions, data: encodeU16(ProtocolVersion.tls13) },
    ],
  }));
  if (ch.sessionId.length > 0 && !helloRetry) cx.sendChangeCipherSpec();
  const keys = new KeySchedule(suite.hash);
  const secrets = keys.handshake(shared, cx.transcript.current());
  cx.keyLog("CLIENT_HANDSHAKE_TRAFFIC_SECRET", secrets.clientHandshake);
  cx.keyLog("SERVER_HANDSHAKE_TRAFFIC_SECRET", secrets.serverHandshake);
  cx.setWriteSecret(suite, secrets.serverHandshake, "handshake");
  cx.setReadSecret(suite, secrets.clientHandshake, "handshake");

  const ee: Extension[] = [];
  if (offer.serverName !== undefined) ee.push({ type: E.serverName, data: new Uint8Array(0) });
  if (offer.alpn !== undefined) ee.push({ type: E.alpn, data: encodeAlpn([offer.alpn]) });
  if (offer.clientRecordSizeLimit !== undefined) {
    ee.push({ type: E.recordSizeLimit, data: encodeU16(cx.cfg.recordSizeLimit ?? 16385) });
    cx.setMaxFragment(offer.clientRecordSizeLimit - 1);
  }
  const hook = setup.config.encryptedExtensions;
  cx.sendHandshake(encodeEncryptedExtensions(hook ? hook(ee) : ee));
  const clientAuth = setup.clientAuth;
  if (clientAuth) {
    // RFC 8446 §4.3.2
    const exts: Extension[] = [{ type: E.signatureAlgorithms, data: encodeU16List(cx.cfg.schemes) }];
    if (clientAuth.authorities.length > 0) {
      exts.push({
        type: E.certificateAuthorities,
        data: encodeCertificateAuthorities(clientAuth.authorities),
      });
    }
    cx.sendHandshake(encodeCertificateRequest({ context: new Uint8Array(0), extensions: exts }));
  }
  cx.sendHandshake(encodeCertificate({
    context: new Uint8Array(0),
    entries: offer.cert.chain.map((certData) => ({ certData, extensions: [] })),
  }));
  const content = certificateVerifyContent("server", cx.transcript.current());
  const finish = (signature: Uint8Array): State => {
    cx.sendHandshake(encodeCertificateVerify({ scheme: offer.scheme, signature }));
    cx.sendHandshake(
      encodeFinished(finishedVerifyData(suite.hash, secrets.serverHandshake, cx.transcript.current())),
    );
    const app = keys.application(cx.transcript.current());
    cx.keyLog("CLIENT_TRAFFIC_SECRET_0", app.clientApplication);
    cx.keyLog("SERVER_TRAFFIC_SECRET_0", app.serverApplication);
    cx.keyLog("EXPORTER_SECRET", app.exporter);
    cx.setWriteSecret(suite, app.serverApplication, "application");
    const state: ServerFlight = { offer, group, keys, secrets, app, helloRetry, clientChain: [] };
    return clientAuth ? new ExpectClientCertificate(state, clientAuth) : new ExpectFinished(state);
  };
  const sig = offer.cert.key.sign(offer.scheme, content);
  if (sig instanceof Uint8Array) return finish(sig);
  return { pending: sig.then(finish) };
}

/** What the server knows once its flight is out. */
interface ServerFlight {
  readonly offer: Offer;
  readonly group: KxGroup;
  readonly keys: KeySchedule;
  readonly secrets: { readonly clientHandshake: Uint8Array };
  readonly app: { readonly clientApplication: Uint8Array; readonly serverApplication: Uint8Array };
  readonly helloRetry: boolean;
  /** The client's certificate chain (empty when none was asked for or sent). */
  readonly clientChain: readonly Uint8Array[];
}

/** Waiting for the client's Certificate (RFC 8446 §4.4.2, §4.4.2.4). */
class ExpectClientCertificate implements State {
  readonly name = "server.ExpectClientCertificate";
  constructor(
    readonly s: ServerFlight,
    readonly auth: NonNullable<ServerSetup["clientAuth"]>,
  ) {}

  handle(cx: Context, m: HandshakeMessage): Step {
    expectMessage(m, H.certificate, this.name);
    const where = `${this.name}@Certificate`;
    const cert = decodeCertificate(m.body);
    if (cert.context.length !== 0) {
      fail(
        "illegal_parameter",
        "peer_misbehaved.certificate_context",
        "Cannot accept Certificate: certificate_request_context differs from the request",
        where,
      );
    }
    for (const e of cert.entries) checkAllowed("Certificate", H.certificate, e.extensions, new Set());
    cx.transcript.add(m.raw);
    if (cert.entries.length === 0) {
      if (this.auth.required) {
        fail(
          "certificate_required",
          "certificate.required",
          "Cannot accept Certificate: a client certificate is required",
          where,
        );
      }
      return new ExpectFinished(this.s);
    }
    const chain = cert.entries.map((e) => e.certData);
    let publicKey: PublicKey;
    try {
      publicKey = publicKeyFromCertificate(chain[0]!);
    } catch {
      fail(
        "bad_certificate",
        "certificate.bad_encoding",
        "Cannot accept Certificate: the leaf certificate or its key cannot be parsed",
        where,
      );
    }
    cx.setPeerChain(chain);
    const next = new ExpectClientCertificateVerify({ ...this.s, clientChain: chain }, publicKey);
    return verifyChain(this.auth.policy, chain, cx.cfg.now(), where, next, (msg) => cx.emit("insecure", msg));
  }
}

/** Waiting for the client's CertificateVerify (RFC 8446 §4.4.3). */
class ExpectClientCertificateVerify implements State {
  readonly name = "server.ExpectClientCertificateVerify";
  constructor(readonly s: ServerFlight, readonly publicKey: PublicKey) {}

  handle(cx: Context, m: HandshakeMessage): Step {
    expectMessage(m, H.certificateVerify, this.name);
    const where = `${this.name}@CertificateVerify`;
    const cv = decodeCertificateVerify(m.body);
    if (!cx.cfg.schemes.includes(cv.scheme) || (cv.scheme & 0xff) === 0x01) {
      fail(
        "illegal_parameter",
        "peer_misbehaved.unoffered_signature_scheme",
        `Cannot accept CertificateVerify: scheme ${schemeName(cv.scheme)} was not offered`,
        where,
      );
    }
    const content = certificateVerifyContent("client", cx.transcript.current());
    cx.transcript.add(m.raw);
    const decide = (ok: boolean): State => {
      if (!ok) {
        fail(
          "decrypt_error",
          "certificate.bad_signature",
          "Cannot accept CertificateVerify: the signature does not verify",
          where,
        );
      }
      return new ExpectFinished(this.s);
    };
    const ok = verifySignature(cv.scheme, this.publicKey, content, cv.signature);
    return typeof ok === "boolean" ? decide(ok) : { pending: ok.then(decide) };
  }
}

/** Waiting for the client's Finished (RFC 8446 §4.4.4). */
class ExpectFinished implements State {
  readonly name = "server.ExpectFinished";
  constructor(readonly s: ServerFlight) {}

  handle(cx: Context, m: HandshakeMessage): Step {
    expectMessage(m, H.finished, this.name);
    const { suite } = this.s.offer;
    const got = decodeFinished(m.body, suite.hash.outputLen);
    const expected = finishedVerifyData(suite.hash, this.s.secrets.clientHandshake, cx.transcript.current());
    if (!ctEqual(got, expected)) {
      fail(
        "decrypt_error",
        "peer_misbehaved.bad_finished",
        "Cannot accept Finished: verify_data is wrong",
        `${this.name}@Finished`,
      );
    }
    cx.transcript.add(m.raw);
    const resumption = this.s.keys.resumption(cx.transcript.current());
    cx.setReadSecret(suite, this.s.app.clientApplication, "application");
    cx.allowChangeCipherSpec(false);
    cx.complete({
      version: "TLSv1.3",
      cipherSuite: suite.name,
      group: this.s.group.name,
      alpn: this.s.offer.alpn,
      serverName: this.s.offer.serverName,
      signatureScheme: schemeName(this.s.offer.scheme),
      helloRetry: this.s.helloRetry,
      peerCertificates: this.s.clientChain,
    });
    return new Connected(
      { suite, read: this.s.app.clientApplication, write: this.s.app.serverApplication, resumption },
      "server",
    );
  }
}
