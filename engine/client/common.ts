/**
 * What the TLS 1.3 and TLS 1.2 clients share (rustls's client/common.rs): the offer made in the ClientHello,
 * the checks on the server's ALPN and fragment-limit answers, and the client certificate chosen for a
 * CertificateRequest. It imports no state file; hello.ts, tls13.ts and tls12.ts import it.
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
import type { ClientBinding } from "../binding.ts";
import type { TlsSession } from "../session.ts";
import { ExtensionType as E } from "../msgs/enums.ts";
import {
  decodeAlpn,
  decodeEmpty,
  decodeU16,
  decodeU8,
  type Extension,
  findExtension,
} from "../msgs/extensions.ts";
import { type Context, isPromiseLike, signingScheme, type Step } from "../state.ts";
import type { Hash } from "../../suites/hash.ts";
import type { KeyShare } from "../../suites/kx.ts";
import type { SigningKey } from "../../suites/sign.ts";
import type { Tls12Suite } from "../../suites/tls12.ts";
import type { Tls13Suite } from "../../suites/tls13.ts";
import { misbehaved } from "../errors.ts";
import type { ClientExternalKey, ClientPsks } from "../external_psk.ts";
import type { ClientEch } from "../ech/client.ts";

/** The caller's client options the states read: built and frozen once by `createClient`, never the raw config. */
export type ClientOptions = {
  readonly [
    K in
      | "offerTickets"
      | "helloExtensions"
      | "fallbackScsv"
      | "earlyData"
      | "middleboxCompat"
      | "keyShareCount"
      | "clientCertificate"
      | "session"
      | "rawPublicKeys"
  ]: ClientConfig[K];
};

/** What the client decided before sending ClientHello. */
export interface ClientOffer {
  readonly options: ClientOptions;
  readonly policy: VerifyPolicy;
  /** What the sessions this client makes are bound to (binding.ts). */
  readonly binding: ClientBinding;
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
  /** The external PSK settings (external_psk.ts); undefined: none. */
  readonly psks: ClientPsks | undefined;
  /** The external PSKs offered in this ClientHello, after the ticket if any (after an HRR, those of its hash). */
  readonly external: readonly ClientExternalKey[];
  /** Encrypted Client Hello (ech/client.ts): a real offer, GREASE, or undefined. */
  readonly ech: ClientEch | undefined;
  /** What became of it: "grease" from the start; "accepted" or "rejected" once the server answered. */
  readonly echStatus: "accepted" | "rejected" | "grease" | undefined;
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
      throw misbehaved(
        "bad_alpn",
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
      throw misbehaved(
        "record_size_limit",
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
      throw misbehaved(
        "max_fragment_length",
        `Cannot accept ${message}: max_fragment_length must be 1..4 and not beside record_size_limit`,
        where,
      );
    }
    cx.setMaxFragment(1 << (8 + code));
  }
  return peerRecordSizeLimit;
}

/** A client certificate picked for a CertificateRequest: its chain, key, and the scheme it signs with. */
export type ChosenCertificate = { chain: readonly Uint8Array[]; key: SigningKey; scheme: number } | undefined;

/**
 * Go on with the client's chain for `req` (see {@link pickClientCertificate}); a `clientCertificate`
 * function that returns a promise makes the engine say WANT_X509_LOOKUP until it settles.
 */
export function withClientCertificate(
  options: ClientOptions,
  req: CertificateRequestInfo,
  pkcs1: boolean,
  next: (chosen: ChosenCertificate) => Step,
): Step {
  const c = options.clientCertificate;
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
  const scheme = signingScheme(certified.key, req.signatureSchemes, pkcs1);
  if (scheme === undefined) return undefined;
  const [cert] = normalizeCertificates([certified]);
  return { chain: cert!.chain, key: certified.key, scheme };
}
