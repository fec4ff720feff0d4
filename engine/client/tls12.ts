/**
 * The TLS 1.2 client (RFC 5246 §7.3), ECDHE with AEAD suites only, one class per state:
 *
 *   serverHello12 (after hello.ts's version split and downgrade check): extensions, resumption or not
 *   full:        ExpectCertificate → ExpectServerKeyExchange → ExpectCertificateRequestOrDone
 *                → [ExpectServerHelloDone]: send [Certificate] ClientKeyExchange [CertificateVerify] CCS Finished
 *                → [ExpectNewSessionTicket] → ExpectChangeCipherSpec → ExpectFinished
 *   abbreviated: [ExpectNewSessionTicket] → ExpectChangeCipherSpec → ExpectFinished: send CCS Finished
 *   Connected12: HelloRequest answered with no_renegotiation
 *
 * What TLS 1.3 shares is in common.ts; this file never imports tls13.ts.
 * @module
 */

import { ExtensionType as E, groupName, HandshakeType as H, ProtocolVersion } from "../msgs/enums.ts";
import { checkAllowed, decodeEmpty, findExtension } from "../msgs/extensions.ts";
import {
  decodeCertificate12,
  decodeCertificateRequest12,
  decodeEmptyMessage,
  decodeNewSessionTicket12,
  decodeServerKeyExchange12,
  encodeCertificate12,
  encodeCertificateVerify,
  encodeClientKeyExchange12,
  encodeFinished,
  type HandshakeMessage,
  type ServerHello,
} from "../msgs/handshake.ts";
import {
  acceptFinished,
  type Context,
  expectMessage,
  type State,
  type Step,
  usePeerShare,
} from "../state.ts";
import { acceptPeerChain, checkSignature } from "../peer_auth.ts";
import type {} from "../peer_verify.ts";
import { TlsSession } from "../session.ts";
import type { Protection12 } from "../record/layer.ts";
import {
  commonHelloExtensions,
  Connected12,
  ExpectChangeCipherSpec,
  keyBlock,
  masterSecret,
  serverKeyExchangeContent,
  verifyData12,
} from "../tls12.ts";
import {
  acceptAlpn,
  acceptFragmentLimits,
  type ChosenCertificate,
  type ClientOffer,
  withClientCertificate,
} from "./common.ts";
import { schemeName } from "../names.ts";
import { ctEqual } from "../../suites/bytes.ts";
import type { KxGroup } from "../../suites/kx.ts";
import type { PublicKey } from "../../suites/sign.ts";
import type { Tls12Suite } from "../../suites/tls12.ts";
import { misbehaved } from "../errors.ts";

/** What the client knows after a TLS 1.2 ServerHello. */
interface Hello12 {
  readonly offer: ClientOffer;
  readonly suite: Tls12Suite;
  readonly serverRandom: Uint8Array;
  /** The server's session id (empty: none). */
  readonly sessionId: Uint8Array;
  readonly ems: boolean;
  readonly alpn: string | undefined;
  /** The server said it will send a NewSessionTicket (RFC 5077 §3.2). */
  readonly ticketPromised: boolean;
}

/** After the server's Certificate. */
interface Certified12 extends Hello12 {
  readonly chain: readonly Uint8Array[];
  readonly publicKey: PublicKey;
}

/** After ServerKeyExchange: our share and the pre-master secret. */
interface Exchanged12 extends Certified12 {
  readonly group: KxGroup;
  readonly publicShare: Uint8Array;
  readonly preMaster: Uint8Array;
  readonly scheme: number;
}

/** Keys in place for the server's ChangeCipherSpec and Finished. */
interface Keyed12 extends Hello12 {
  readonly master: Uint8Array;
  readonly keys: { readonly client: Protection12; readonly server: Protection12 };
  readonly chain: readonly Uint8Array[];
  /** Set in a full handshake; undefined when resumed. */
  readonly full: Exchanged12 | undefined;
  /** A ticket from this handshake's NewSessionTicket. */
  readonly ticket?: { readonly ticket: Uint8Array; readonly lifetimeHint: number } | undefined;
}

/** A TLS 1.2 ServerHello, once hello.ts has accepted the version (we speak it, and it is no downgrade). */
export function serverHello12(cx: Context, offer: ClientOffer, sh: ServerHello, m: HandshakeMessage): Step {
  const where = "client.ExpectServerHello@ServerHello";
  const cfg = cx.cfg;
  const suite = cfg.suites12.find((s) => s.id === sh.cipherSuite);
  if (!suite) {
    throw misbehaved(
      "unoffered_cipher_suite",
      "Cannot accept ServerHello: cipher suite was not offered for TLS 1.2",
      where,
    );
  }
  if (sh.compressionMethod !== 0) {
    throw misbehaved("compression", "Cannot accept ServerHello: compression must be null", where);
  }
  const exts = sh.extensions;
  // Only what we offered, and nothing TLS 1.3 puts there (key_share, pre_shared_key: illegal_parameter).
  checkAllowed("ServerHello", "sh12", exts, offer.offeredExtensions);
  const { ems } = commonHelloExtensions(cx, exts, "ServerHello", where);
  const st = findExtension(exts, E.sessionTicket);
  if (st !== undefined) decodeEmpty(st, "ServerHello.session_ticket");
  const alpn = acceptAlpn(cx, exts, "ServerHello", where);
  acceptFragmentLimits(cx, exts, "ServerHello", where, 0);

  const echoed = sh.sessionId.length > 0 && ctEqual(sh.sessionId, offer.sessionId);
  const r12 = offer.resume12;
  if (echoed && !r12) {
    throw misbehaved(
      "session_id_echo",
      "Cannot accept ServerHello: it resumes a session that was not offered",
      where,
    );
  }
  cx.version = ProtocolVersion.tls12;
  cx.allowChangeCipherSpec(false);
  cx.openEarlyWrite(0);
  cx.transcript.start(suite.hash);
  cx.transcript.add(m.raw);
  const hello: Hello12 = {
    offer,
    suite,
    serverRandom: sh.random,
    sessionId: sh.sessionId,
    ems,
    alpn,
    ticketPromised: st !== undefined,
  };
  if (!echoed || !r12) return new ExpectCertificate(hello);

  // Abbreviated handshake (RFC 5246 §7.3): the session's suite, and the same EMS use (RFC 7627 §5.3).
  const d = r12.session.data;
  if (suite.id !== d.cipherSuite) {
    throw misbehaved(
      "resumed_suite_changed",
      "Cannot accept ServerHello: a resumed session must keep its cipher suite",
      where,
    );
  }
  if (d.extendedMasterSecret !== ems) {
    throw misbehaved(
      "resumed_ems_changed",
      "Cannot accept ServerHello: a resumed session must keep its extended_master_secret use",
      where,
    );
  }
  cx.transcript.forget();
  cx.setPeerChain(d.peerCertificates);
  cx.keyLog("CLIENT_RANDOM", d.psk);
  const keyed: Keyed12 = {
    ...hello,
    sessionId: d.sessionId.length > 0 ? d.sessionId : sh.sessionId,
    master: d.psk,
    keys: keyBlock(suite, d.psk, offer.random, sh.random, cx.cfg.provider),
    chain: d.peerCertificates,
    full: undefined,
    // Only a new ticket makes a new session; without one the offered session stays as it was.
    ticket: undefined,
  };
  return hello.ticketPromised ? new ExpectNewSessionTicket(keyed) : toFinished(keyed);
}

/** Waiting for the server's Certificate (RFC 5246 §7.4.2); its key must fit the suite. */
class ExpectCertificate implements State {
  readonly name = "client.ExpectCertificate12";
  constructor(readonly s: Hello12) {}

  handle(cx: Context, m: HandshakeMessage): Step {
    expectMessage(m, H.certificate, this.name);
    const where = `${this.name}@Certificate`;
    const chain = decodeCertificate12(m.body);
    cx.transcript.add(m.raw);
    if (chain.length === 0) {
      throw misbehaved(
        "empty_certificate",
        "Cannot accept Certificate: the server sent no certificate",
        where,
      );
    }
    return acceptPeerChain(cx, this.s.offer.policy, chain, where, (publicKey) => {
      const rsa = publicKey.type === "rsa" || publicKey.type === "rsa-pss";
      if (rsa !== (this.s.suite.auth === "rsa")) {
        throw misbehaved(
          "certificate_key_for_suite",
          `Cannot accept Certificate: a ${publicKey.type} key cannot sign for ${this.s.suite.name}`,
          where,
        );
      }
      return new ExpectServerKeyExchange({ ...this.s, chain, publicKey });
    });
  }
}

/** Waiting for ServerKeyExchange (RFC 8422 §5.4): a group we offered, signed by the certificate's key. */
class ExpectServerKeyExchange implements State {
  readonly name = "client.ExpectServerKeyExchange";
  constructor(readonly s: Certified12) {}

  handle(cx: Context, m: HandshakeMessage): Step {
    expectMessage(m, H.serverKeyExchange, this.name);
    const where = `${this.name}@ServerKeyExchange`;
    const ske = decodeServerKeyExchange12(m.body);
    const group = cx.cfg.groups.find((g) => g.id === ske.group && g.name !== "X25519MLKEM768");
    if (!group) {
      throw misbehaved(
        "unoffered_group",
        `Cannot accept ServerKeyExchange: group ${groupName(ske.group)} was not offered`,
        where,
      );
    }
    const content = serverKeyExchangeContent(this.s.offer.random, this.s.serverRandom, ske.params);
    cx.transcript.add(m.raw);
    return checkSignature(cx, ske, true, this.s.publicKey, content, "ServerKeyExchange", where, () => {
      // Our share and the premaster secret in one step: a Diffie-Hellman client answers the server's share.
      return usePeerShare(
        () => cx.cfg.provider.respond(group, ske.publicKey, cx.cfg.random),
        "ServerKeyExchange",
        group.name,
        where,
        (mine) =>
          new ExpectCertificateRequestOrDone({
            ...this.s,
            group,
            publicShare: mine.publicKey,
            preMaster: mine.sharedSecret,
            scheme: ske.scheme,
          }),
      );
    });
  }
}

/** Waiting for CertificateRequest (RFC 5246 §7.4.4) or ServerHelloDone. */
class ExpectCertificateRequestOrDone implements State {
  readonly name = "client.ExpectCertificateRequestOrDone";
  constructor(readonly s: Exchanged12) {}

  handle(cx: Context, m: HandshakeMessage): Step {
    expectMessage(m, [H.certificateRequest, H.serverHelloDone], this.name);
    if (m.type === H.serverHelloDone) return new ExpectServerHelloDone(this.s, undefined).handle(cx, m);
    const req = decodeCertificateRequest12(m.body);
    cx.transcript.add(m.raw);
    return new ExpectServerHelloDone(this.s, req);
  }
}

/** Waiting for ServerHelloDone; then our flight (RFC 5246 §7.3). */
class ExpectServerHelloDone implements State {
  readonly name = "client.ExpectServerHelloDone";
  constructor(
    readonly s: Exchanged12,
    readonly req: ReturnType<typeof decodeCertificateRequest12> | undefined,
  ) {}

  handle(cx: Context, m: HandshakeMessage): Step {
    expectMessage(m, H.serverHelloDone, this.name);
    decodeEmptyMessage(m.body, "ServerHelloDone");
    cx.transcript.add(m.raw);
    const req = this.req;
    if (!req) return this.#exchange(cx, undefined, false);
    return withClientCertificate(this.s.offer.options, req, true, (chosen) => {
      // RFC 8422 §5.5, RFC 5246 §7.4.4: our key's type must be one the server listed.
      const type = chosen?.key.type === "rsa" || chosen?.key.type === "rsa-pss" ? 1 : 64;
      return this.#exchange(cx, chosen && req.certificateTypes.includes(type) ? chosen : undefined, true);
    });
  }

  /** Our [Certificate], ClientKeyExchange, [CertificateVerify], ChangeCipherSpec and Finished. */
  #exchange(cx: Context, chosen: ChosenCertificate, asked: boolean): Step {
    const s = this.s;
    if (asked) cx.sendHandshake(encodeCertificate12(chosen?.chain ?? []));
    cx.sendHandshake(encodeClientKeyExchange12(s.publicShare));
    const master = masterSecret(
      s.suite,
      s.preMaster,
      s.ems,
      cx.transcript.current(),
      s.offer.random,
      s.serverRandom,
    );
    cx.keyLog("CLIENT_RANDOM", master);
    const keyed: Keyed12 = {
      ...s,
      master,
      keys: keyBlock(s.suite, master, s.offer.random, s.serverRandom, cx.cfg.provider),
      full: s,
    };
    const finish = (): State => {
      cx.transcript.forget();
      cx.changeWriteCipher(keyed.keys.client);
      cx.sendHandshake(encodeFinished(verifyData12(s.suite, master, "client", cx.transcript.current())));
      return s.ticketPromised ? new ExpectNewSessionTicket(keyed) : toFinished(keyed);
    };
    if (!chosen) return finish();
    // RFC 5246 §7.4.8: the signature covers every handshake message so far.
    const { key, scheme } = chosen;
    const signed = (signature: Uint8Array): State => {
      cx.sendHandshake(encodeCertificateVerify({ scheme, signature }));
      return finish();
    };
    const sig = key.sign(scheme, cx.transcript.kept());
    return sig instanceof Uint8Array ? signed(sig) : { pending: sig.then(signed) };
  }
}

/** Waiting for the NewSessionTicket the server promised (RFC 5077 §3.3). */
class ExpectNewSessionTicket implements State {
  readonly name = "client.ExpectNewSessionTicket12";
  constructor(readonly s: Keyed12) {}

  handle(cx: Context, m: HandshakeMessage): Step {
    expectMessage(m, H.newSessionTicket, this.name);
    const nst = decodeNewSessionTicket12(m.body);
    cx.transcript.add(m.raw);
    cx.emit("ticket", { lifetime: nst.lifetimeHint, ticketLength: nst.ticket.length });
    // An empty ticket means "no ticket this time" (RFC 5077 §3.3).
    const ticket = nst.ticket.length > 0
      ? { ticket: nst.ticket, lifetimeHint: nst.lifetimeHint }
      : this.s.ticket;
    return toFinished({ ...this.s, ticket });
  }
}

/** The server's ChangeCipherSpec, then its Finished. */
function toFinished(s: Keyed12): State {
  return new ExpectChangeCipherSpec("client", s.keys.server, () => new ExpectFinished(s));
}

/** Waiting for the server's Finished; when resuming, our CCS and Finished follow. */
class ExpectFinished implements State {
  readonly name = "client.ExpectFinished12";
  constructor(readonly s: Keyed12) {}

  handle(cx: Context, m: HandshakeMessage): Step {
    const { suite, master, full } = this.s;
    acceptFinished(cx, m, verifyData12(suite, master, "server", cx.transcript.current()), this.name);
    if (!full) {
      cx.changeWriteCipher(this.s.keys.client);
      cx.sendHandshake(encodeFinished(verifyData12(suite, master, "client", cx.transcript.current())));
    }
    const offer = this.s.offer;
    cx.complete({
      version: "TLSv1.2",
      cipherSuite: suite.name,
      group: full ? full.group.name : "none",
      alpn: this.s.alpn,
      serverName: offer.sni,
      signatureScheme: full ? schemeName(full.scheme) : undefined,
      resumed: !full,
      extendedMasterSecret: this.s.ems,
      helloRetry: false,
      peerCertificates: this.s.chain,
    });
    const ticket = this.s.ticket;
    // A ticket resumption the server did not renew leaves the offered session as it was (as OpenSSL's new-session
    // callback is not called): the echoed session id names nothing on the server.
    const keptTicket = !full && !ticket && (offer.resume12?.session.data.ticket.length ?? 0) > 0;
    // Sessions without the extended master secret are not kept: resuming them is unsafe (RFC 7627 §5.4).
    if (this.s.ems && (ticket || (this.s.sessionId.length > 0 && !keptTicket))) {
      cx.emit(
        "session",
        new TlsSession({
          version: ProtocolVersion.tls12,
          sessionId: ticket ? new Uint8Array(0) : this.s.sessionId,
          extendedMasterSecret: true,
          serverName: offer.sni,
          ...offer.binding,
          cipherSuite: suite.id,
          alpn: this.s.alpn,
          ticket: ticket?.ticket ?? new Uint8Array(0),
          psk: master,
          ticketAgeAdd: 0,
          // RFC 5077 §3.3: 0 means unspecified; the server's session id cache keeps about as long.
          lifetime: Math.min(ticket?.lifetimeHint || 7200, 604800),
          receivedAt: cx.cfg.now(),
          maxEarlyData: 0,
          peerCertificates: this.s.chain,
        }),
      );
    }
    return new Connected12("client");
  }
}
