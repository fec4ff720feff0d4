/**
 * The TLS 1.3 client, one class per state (RFC 8446 §2):
 *
 *   serverHello13 (hello.ts sent the ClientHello and split the versions): PSK, key share, handshake keys, CCS
 *   ExpectEncryptedExtensions → ExpectCertificateOrRequest → ExpectCertificate
 *   → ExpectCertificateVerify → ExpectFinished: send [CCS] [Certificate] Finished, application keys
 *   Connected: NewSessionTicket, KeyUpdate
 *
 * What TLS 1.2 shares (the offer, ALPN and fragment-limit checks, the client certificate) is in common.ts;
 * this file never imports tls12.ts.
 * @module
 */

import type { CertificateRequestInfo } from "../config.ts";
import { acceptPeerChain, checkCertificateVerify, readCertificate } from "../peer_auth.ts";
import { chooseCompressor, readCompressedCertificate, sendCertificate } from "../cert_compression.ts";
import type { CertCompressor } from "../../suites/cert_compression.ts";
import { finishedVerifyData, KeySchedule } from "../key_schedule.ts";
import { Connected } from "../connected.ts";
import type { TlsSession } from "../session.ts";
import { ExtensionType as E, groupName, HandshakeType as H, PskKeyExchangeMode } from "../msgs/enums.ts";
import { pskModeName } from "../external_psk.ts";
import type { HandshakeInfo } from "../events.ts";
import {
  checkAllowed,
  decodeCertificateAuthorities,
  decodeEmpty,
  decodeServerShare,
  decodeU16,
  decodeU16List,
  findExtension,
} from "../msgs/extensions.ts";
import {
  decodeCertificateRequest,
  decodeEncryptedExtensions,
  encodeCertificate,
  encodeCertificateVerify,
  encodeEndOfEarlyData,
  encodeFinished,
  type HandshakeMessage,
  type ServerHello,
} from "../msgs/handshake.ts";
import {
  acceptFinished,
  certificateVerifyContent,
  type Context,
  expectMessage,
  signingScheme,
  type State,
  type Step,
  usePeerShare,
} from "../state.ts";
import type { KxGroup } from "../../suites/kx.ts";
import type { PublicKey, SigningKey } from "../../suites/sign.ts";
import type { Tls13Suite } from "../../suites/tls13.ts";
import { schemeName } from "../names.ts";
import { acceptAlpn, acceptFragmentLimits, type ClientOffer, withClientCertificate } from "./common.ts";
import {
  acceptCertificateTypes,
  acceptRawPublicKey,
  CertificateType,
  type ChosenTypes,
  clientCertificateTypes,
} from "../raw_keys.ts";
import { incompatible, misbehaved } from "../errors.ts";
import { echEncryptedExtensions, EchRejectedError } from "../ech/client.ts";

/**
 * A TLS 1.3 ServerHello (RFC 8446 §4.1.3), once hello.ts has checked what it shares with a HelloRetryRequest and
 * started the transcript: the PSK it selects, the key share, then the handshake keys.
 */
export function serverHello13(
  cx: Context,
  offer: ClientOffer,
  m: HandshakeMessage,
  sh: ServerHello,
  suite: Tls13Suite,
  where: string,
): Step {
  checkAllowed("ServerHello", H.serverHello, sh.extensions, offer.offeredExtensions);
  // The downgrade sentinel (RFC 8446 §4.1.3) only matters to a client that also speaks TLS 1.2; a 1.3-only
  // client refuses lower versions in hello.ts.
  const chosen = selectedPsk(offer, sh, suite, where);
  const ksData = findExtension(sh.extensions, E.keyShare);
  if (chosen?.external && chosen.external.mode === PskKeyExchangeMode.pskKe) {
    // psk_ke (RFC 8446 §4.2.9): no key exchange; the (EC)DHE input to the key schedule is zeros (§7.1).
    return handshakeKeys(cx, offer, m, suite, undefined, new Uint8Array(suite.hash.outputLen), chosen);
  }
  if (ksData === undefined) {
    throw misbehaved("missing_key_share", "Cannot accept ServerHello: key_share is missing", where);
  }
  const ks = decodeServerShare(ksData, "ServerHello.key_share");
  const mine = offer.shares.find((s) => s.group === ks.group);
  const group = cx.cfg.groups.find((g) => g.id === ks.group);
  if (!mine || !group) {
    throw misbehaved(
      "wrong_group",
      `Cannot accept ServerHello: no share was sent for ${groupName(ks.group)}`,
      where,
    );
  }
  return usePeerShare(
    () => cx.cfg.provider.sharedSecret(group, mine, ks.keyExchange),
    "ServerHello",
    group.name,
    where,
    (shared) => handshakeKeys(cx, offer, m, suite, group, shared, chosen),
  );
}

/** The PSK the ServerHello selected, if any: a ticket, or an external PSK and the mode the server used. */
interface ChosenPsk {
  readonly key: Uint8Array;
  readonly external: { readonly identity: Uint8Array; readonly mode: number } | undefined;
}

/**
 * RFC 8446 §4.2.11: the PSK the ServerHello selects must be one we offered, for a suite of its hash
 * (illegal_parameter otherwise); with an external PSK, the mode is psk_ke when there is no key_share, and that
 * mode must have been offered. No selection from a client that can authenticate the server by PSK only
 * is a handshake_failure.
 */
function selectedPsk(
  offer: ClientOffer,
  sh: ServerHello,
  suite: Tls13Suite,
  where: string,
): ChosenPsk | undefined {
  const pskData = findExtension(sh.extensions, E.preSharedKey);
  if (pskData === undefined) {
    if (offer.psks?.only) {
      throw incompatible(
        "psk_required",
        "Cannot accept ServerHello: the server selected none of our PSKs, and we cannot verify a certificate",
        where,
      );
    }
    return undefined;
  }
  const selected = decodeU16(pskData, "ServerHello.pre_shared_key");
  const bad = (why: string) =>
    misbehaved("bad_psk_selection", `Cannot accept ServerHello: it selects a PSK ${why}`, where);
  const resume = offer.resume;
  if (resume && selected === 0) {
    if (resume.hash !== suite.hash) throw bad("whose hash differs from the cipher suite's");
    return { key: resume.session.data.psk, external: undefined };
  }
  const k = offer.external[selected - (resume ? 1 : 0)];
  if (!k) throw bad("that was not offered");
  if (k.hash !== suite.hash.name) throw bad("whose hash differs from the cipher suite's");
  const mode = findExtension(sh.extensions, E.keyShare) === undefined
    ? PskKeyExchangeMode.pskKe
    : PskKeyExchangeMode.pskDheKe;
  if (!offer.psks!.modes.includes(mode)) {
    throw misbehaved(
      "bad_psk_mode",
      `Cannot accept ServerHello: PSK mode ${pskModeName(mode)} was not offered`,
      where,
    );
  }
  return { key: k.key, external: { identity: k.identity, mode } };
}

/** Go's establishHandshakeKeys: the handshake secrets, our compat CCS, and the keys for each direction. */
function handshakeKeys(
  cx: Context,
  offer: ClientOffer,
  m: HandshakeMessage,
  suite: Tls13Suite,
  group: KxGroup | undefined,
  shared: Uint8Array,
  chosen: ChosenPsk | undefined,
): State {
  cx.transcript.add(m.raw);
  cx.transcript.forget();
  const ks13 = new KeySchedule(suite.hash, chosen?.key);
  const secrets = ks13.handshake(shared, cx.transcript.current());
  cx.setReadSecret(suite, secrets.serverHandshake, "handshake");
  cx.keyLog("SERVER_HANDSHAKE_TRAFFIC_SECRET", secrets.serverHandshake);
  cx.keyLog("CLIENT_HANDSHAKE_TRAFFIC_SECRET", secrets.clientHandshake);
  // Go's sendDummyChangeCipherSpec: before our first encrypted record (RFC 8446 §D.4).
  if (offer.sessionId.length > 0 && !offer.helloRetry) cx.sendChangeCipherSpec();
  cx.openEarlyWrite(0);
  // With 0-RTT offered, the early key stays until EncryptedExtensions says whether it was accepted.
  if (!offer.early || cx.quic) cx.setWriteSecret(suite, secrets.clientHandshake, "handshake");
  const resumed = chosen && !chosen.external ? offer.resume!.session : undefined;
  const external = chosen?.external &&
    { identity: chosen.external.identity, mode: pskModeName(chosen.external.mode) };
  return new ExpectEncryptedExtensions({
    offer: offer,
    suite,
    group,
    keys: ks13,
    secrets,
    resumed,
    external,
  });
}

interface Negotiated {
  readonly offer: ClientOffer;
  /** The session the server accepted, if this is a resumption. */
  readonly resumed: TlsSession | undefined;
  /** The external PSK the server selected, and the mode. */
  readonly external: HandshakeInfo["externalPsk"];
  readonly suite: Tls13Suite;
  /** The key exchange group; undefined for an external PSK in psk_ke mode. */
  readonly group: KxGroup | undefined;
  readonly keys: KeySchedule;
  readonly secrets: { readonly clientHandshake: Uint8Array; readonly serverHandshake: Uint8Array };
}

interface AfterEE extends Negotiated {
  /** 0-RTT: "accepted", "rejected", or undefined when not offered. */
  readonly earlyData: "accepted" | "rejected" | undefined;
  readonly alpn: string | undefined;
  readonly peerRecordSizeLimit: number | undefined;
  /** The certificate types the server chose (RFC 7250; X.509 unless it said otherwise). */
  readonly certTypes: ChosenTypes;
  /** The server's ECH retry_configs, when it rejected a real offer (ech/client.ts). */
  readonly echRetry: Uint8Array | undefined;
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
    const o = this.s.offer.options;
    const certTypes = acceptCertificateTypes(
      clientCertificateTypes(o.rawPublicKeys, o.clientCertificate !== undefined),
      exts,
      this.s.resumed !== undefined || this.s.external !== undefined, // no Certificate follows a PSK
      where,
    );
    const peerRecordSizeLimit = acceptFragmentLimits(cx, exts, "EncryptedExtensions", where, 1);
    if (cx.quic) {
      // RFC 9001 §8.1, §8.2: ALPN and the server's transport parameters are required.
      const params = findExtension(exts, E.quicTransportParameters);
      if (params === undefined) {
        throw misbehaved(
          "missing_quic_transport_parameters",
          "Cannot accept EncryptedExtensions: quic_transport_parameters is missing",
          where,
        );
      }
      if (alpn === undefined) {
        throw incompatible(
          "quic_without_alpn",
          "Cannot accept EncryptedExtensions: QUIC requires ALPN",
          where,
        );
      }
      cx.setPeerTransportParameters(params.slice());
    }
    const earlyAccepted = findExtension(exts, E.earlyData) !== undefined;
    if (earlyAccepted) {
      if (!this.s.offer.early || !this.s.resumed) {
        throw misbehaved(
          "unoffered_early_data",
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
    const echRetry = echEncryptedExtensions(this.s.offer.echStatus, exts, where);
    cx.transcript.add(m.raw);
    const next = { ...this.s, alpn, peerRecordSizeLimit, earlyData, certTypes, echRetry };
    if (this.s.resumed || this.s.external) {
      // PSK mode: no certificates; the server is who it was when the ticket was issued, or whoever holds the
      // external PSK (RFC 8446 §2.2).
      const chain = this.s.resumed?.data.peerCertificates ?? [];
      cx.setPeerChain(chain);
      return new ExpectFinished({
        ...next,
        chain,
        certRequest: undefined,
        signatureScheme: undefined,
        rawKey: undefined,
      });
    }
    return new ExpectCertificateOrRequest(next);
  }
}

/** Waiting for CertificateRequest or Certificate (RFC 8446 §4.3.2, §4.4.2). */
class ExpectCertificateOrRequest implements State {
  readonly name = "client.ExpectCertificateOrRequest";
  constructor(readonly s: AfterEE) {}

  handle(cx: Context, m: HandshakeMessage): Step {
    expectMessage(
      m,
      [H.certificate, H.certificateRequest, ...compressedCertificate(this.s.offer)],
      this.name,
    );
    if (m.type !== H.certificateRequest) return new ExpectCertificate(this.s, undefined).handle(cx, m);
    const where = `${this.name}@CertificateRequest`;
    const req = decodeCertificateRequest(m.body);
    checkAllowed("CertificateRequest", H.certificateRequest, req.extensions);
    if (req.context.length !== 0) {
      throw misbehaved(
        "certificate_request_context",
        "Cannot accept CertificateRequest: context must be empty in the handshake",
        where,
      );
    }
    const sa = findExtension(req.extensions, E.signatureAlgorithms);
    if (sa === undefined) {
      throw misbehaved(
        "missing_signature_algorithms",
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
    // RFC 8879 §3: the server would take our Certificate compressed.
    const compressor = chooseCompressor(
      cx.cfg.certCompressors,
      findExtension(req.extensions, E.compressCertificate),
      "CertificateRequest.compress_certificate",
    );
    cx.transcript.add(m.raw);
    return new ExpectCertificate(this.s, {
      context: req.context,
      signatureSchemes,
      certificateAuthorities,
      compressor,
    });
  }
}

/** RFC 8879 §4: a CompressedCertificate may come only if we offered compress_certificate (else unexpected_message). */
function compressedCertificate(offer: ClientOffer): number[] {
  return offer.offeredExtensions.has(E.compressCertificate) ? [H.compressedCertificate] : [];
}

/** What the server asked for in its CertificateRequest. */
interface CertRequest extends CertificateRequestInfo {
  readonly context: Uint8Array;
  /** How to compress our Certificate, when the server invited it (RFC 8879). */
  readonly compressor: CertCompressor | undefined;
}

/** Waiting for the server's Certificate (RFC 8446 §4.4.2). */
class ExpectCertificate implements State {
  readonly name = "client.ExpectCertificate";
  constructor(readonly s: AfterEE, readonly certRequest: CertRequest | undefined) {}

  handle(cx: Context, m: HandshakeMessage): Step {
    expectMessage(m, [H.certificate, ...compressedCertificate(this.s.offer)], this.name);
    if (m.type === H.compressedCertificate) {
      const where = `${this.name}@CompressedCertificate`;
      return readCompressedCertificate(cx, m, cx.cfg.certCompressors, where, (c) => this.#certificate(cx, c));
    }
    return this.#certificate(cx, m);
  }

  #certificate(cx: Context, m: HandshakeMessage): Step {
    const where = `${this.name}@Certificate`;
    const chain = readCertificate(cx, m, this.s.offer.offeredExtensions, where);
    if (chain.length === 0) {
      // RFC 8446 §4.4.2.4
      throw misbehaved(
        "empty_certificate",
        "Cannot accept Certificate: the server sent no certificate",
        where,
      );
    }
    const { policy } = this.s.offer;
    if (this.s.certTypes.server === CertificateType.rawPublicKey) {
      // RFC 7250 §3: one SubjectPublicKeyInfo, pinned or accepted by the callback.
      return acceptRawPublicKey(
        policy.rawKeys!,
        chain,
        { serverName: policy.peerName },
        where,
        (publicKey) =>
          new ExpectCertificateVerify({
            ...this.s,
            chain: [],
            rawKey: chain[0]!,
            publicKey,
            certRequest: this.certRequest,
          }),
      );
    }
    return acceptPeerChain(
      cx,
      policy,
      chain,
      where,
      (publicKey) =>
        new ExpectCertificateVerify({
          ...this.s,
          chain,
          rawKey: undefined,
          publicKey,
          certRequest: this.certRequest,
        }),
    );
  }
}

interface AfterCertificate extends AfterEE {
  readonly chain: readonly Uint8Array[];
  /** The server's raw public key (RFC 7250), when it sent one instead of a chain. */
  readonly rawKey: Uint8Array | undefined;
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
  readonly rawKey: Uint8Array | undefined;
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
      if (this.s.offer.echStatus === "rejected") {
        // draft-ietf-tls-esni §6.1.6: authenticated for the public name, complete, then ech_required.
        throw new EchRejectedError(this.s.echRetry, this.s.offer.sni!, this.name);
      }
      cx.complete({
        version: "TLSv1.3",
        cipherSuite: suite.name,
        group: this.s.group?.name ?? "none",
        alpn: this.s.alpn,
        serverName: this.s.offer.sni,
        ...(this.s.external ? { externalPsk: this.s.external } : {}),
        signatureScheme: this.s.signatureScheme === undefined
          ? undefined
          : schemeName(this.s.signatureScheme),
        helloRetry: this.s.offer.helloRetry,
        ...(this.s.offer.echStatus ? { ech: this.s.offer.echStatus } : {}),
        resumed: this.s.resumed !== undefined,
        ...(this.s.earlyData ? { earlyData: this.s.earlyData } : {}),
        peerCertificates: this.s.chain,
        ...(this.s.rawKey
          ? { peerCertificateType: "RawPublicKey" as const, peerRawPublicKey: this.s.rawKey }
          : {}),
      });
      // No sessions from an external PSK handshake: a ticket would outlive the PSK it was authenticated by,
      // bound to nothing that names that PSK (the PSK itself is the way back).
      return new Connected(
        { suite, read: app.serverApplication, write: app.clientApplication, resumption },
        "client",
        this.s.external ? undefined : {
          serverName: this.s.offer.sni,
          alpn: this.s.alpn,
          peerCertificates: this.s.chain,
          binding: this.s.offer.binding,
        },
      );
    };
    const req = this.s.certRequest;
    if (!req) return finish();
    // RFC 8446 §4.4.2: answer a CertificateRequest with our chain and CertificateVerify, or an empty Certificate;
    // a raw public key (RFC 7250) when the server chose that type.
    const rawKey = this.s.offer.options.rawPublicKeys?.clientKey;
    const useRaw = this.s.certTypes.client === CertificateType.rawPublicKey && rawKey !== undefined;
    const chooser = useRaw ? rawClientKey(rawKey, req) : withClientCertificate;
    return chooser(this.s.offer.options, req, false, (chosen) => {
      if (!chosen) {
        cx.sendHandshake(encodeCertificate({ context: req.context, entries: [] }));
        return finish();
      }
      const certificate = encodeCertificate({
        context: req.context,
        entries: chosen.chain.map((certData) => ({ certData, extensions: [] })),
      });
      return sendCertificate(cx, certificate, req.compressor, () => {
        const content = certificateVerifyContent("client", cx.transcript.current());
        const signed = (signature: Uint8Array): State => {
          cx.sendHandshake(encodeCertificateVerify({ scheme: chosen.scheme, signature }));
          return finish();
        };
        const sig = chosen.key.sign(chosen.scheme, content);
        return sig instanceof Uint8Array ? signed(sig) : { pending: sig.then(signed) };
      });
    });
  }
}

/** Our raw public key (RFC 7250) as the client "chain", with a scheme the server accepts; none otherwise. */
function rawClientKey(key: SigningKey, req: CertRequest): typeof withClientCertificate {
  return (_options, _req, _pkcs1, next) => {
    const scheme = signingScheme(key, req.signatureSchemes, false);
    return next(scheme === undefined ? undefined : { chain: [key.publicKey.spki], key, scheme });
  };
}
