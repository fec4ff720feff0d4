/**
 * The peer's Certificate and CertificateVerify (RFC 8446 §4.4.2, §4.4.3), read the same way by both roles:
 * the client reading the server's, the server reading a client's.
 * @module
 */

import { checkAllowed } from "./msgs/extensions.ts";
import { HandshakeType as H } from "./msgs/enums.ts";
import { decodeCertificate, decodeCertificateVerify, type HandshakeMessage } from "./msgs/handshake.ts";
import { schemeName } from "./names.ts";
import { certificateVerifyContent, type Context, type State, type Step } from "./state.ts";
import { verifyChain, type VerifyPolicy } from "./peer_verify.ts";
import { type PublicKey, signatureScheme } from "../suites/sign.ts";
import { publicKeyFromCertificate } from "../verify/mod.ts";
import { invalidCertificate, misbehaved } from "./errors.ts";

/**
 * Decode a Certificate: the context must be empty (handshake authentication), each entry may carry only
 * extensions in `offered`. Returns the chain, leaf first (possibly empty), and adds the message to the
 * transcript.
 */
export function readCertificate(
  cx: Context,
  m: HandshakeMessage,
  offered: ReadonlySet<number>,
  where: string,
): Uint8Array[] {
  const cert = decodeCertificate(m.body);
  if (cert.context.length !== 0) {
    throw misbehaved(
      "certificate_context",
      "Cannot accept Certificate: certificate_request_context must be empty in the handshake",
      where,
    );
  }
  for (const e of cert.entries) checkAllowed("Certificate", H.certificate, e.extensions, offered);
  cx.transcript.add(m.raw);
  return cert.entries.map((e) => e.certData);
}

/** The leaf's public key, or bad_certificate. */
export function leafPublicKey(chain: readonly Uint8Array[], where: string): PublicKey {
  try {
    return publicKeyFromCertificate(chain[0]!);
  } catch {
    throw invalidCertificate(
      "bad_encoding",
      "Cannot accept Certificate: the leaf certificate or its key cannot be parsed",
      where,
    );
  }
}

/**
 * Check the peer's CertificateVerify: a scheme we offered and never PKCS#1 v1.5 (RFC 8446 §4.4.3), a
 * signature by `publicKey` over the transcript so far (decrypt_error otherwise); then `next(scheme)`.
 * Asynchronous (WANT_ASYNC) when the key's verification is (RSA through WebCrypto).
 */
export function checkCertificateVerify(
  cx: Context,
  m: HandshakeMessage,
  signer: "server" | "client",
  publicKey: PublicKey,
  where: string,
  next: (scheme: number) => State,
): Step {
  const cv = decodeCertificateVerify(m.body);
  const content = certificateVerifyContent(signer, cx.transcript.current());
  cx.transcript.add(m.raw);
  return checkSignature(cx, cv, false, publicKey, content, "CertificateVerify", where, () => next(cv.scheme));
}

/**
 * Check a peer's signature: a scheme we offered (PKCS#1 v1.5 only in `tls12`), made by
 * `publicKey` over `content` (decrypt_error otherwise); then `next()`. Asynchronous (WANT_ASYNC) when the
 * key's verification is (RSA through WebCrypto).
 */
export function checkSignature(
  cx: Context,
  sig: { readonly scheme: number; readonly signature: Uint8Array },
  tls12: boolean,
  publicKey: PublicKey,
  content: Uint8Array,
  message: string,
  where: string,
  next: () => Step,
): Step {
  if (!cx.cfg.schemes.includes(sig.scheme) || (!tls12 && (sig.scheme & 0xff) === 0x01)) {
    throw misbehaved(
      "unoffered_signature_scheme",
      `Cannot accept ${message}: scheme ${schemeName(sig.scheme)} was not offered`,
      where,
    );
  }
  // RFC 8446 §4.2.3, RFC 5246 §7.4.1.4.1: the scheme must fit the key: its type, and in TLS 1.3 an ECDSA
  // scheme's curve; rsa_pss_pss_* only an RSASSA-PSS key, rsa_pss_rsae_* only an rsaEncryption one. As OpenSSL
  // answers: illegal_parameter, before any signature check.
  const info = signatureScheme(sig.scheme);
  const fits = info !== undefined &&
    (info.key === publicKey.type || (tls12 && info.kind === "ecdsa" && publicKey.type.startsWith("ec-")));
  if (!fits) {
    throw misbehaved(
      "wrong_signature_type",
      `Cannot accept ${message}: scheme ${
        schemeName(sig.scheme)
      } does not fit the certificate's ${publicKey.type} key`,
      where,
    );
  }
  const decide = (ok: boolean): Step => {
    if (!ok) {
      throw invalidCertificate(
        "bad_signature",
        `Cannot accept ${message}: the signature does not verify`,
        where,
        "decrypt_error",
      );
    }
    return next();
  };
  // In TLS 1.2 an ECDSA scheme does not bind the curve.
  const ok = cx.cfg.provider.verify(sig.scheme, publicKey, content, sig.signature, tls12);
  return typeof ok === "boolean" ? decide(ok) : { pending: ok.then(decide) };
}

/**
 * Take the peer's non-empty chain: no longer than `maxPeerChainLength`, its leaf key (bad_certificate if not,
 * or if unreadable), recorded for the API, then judged by `policy`; `next(publicKey)` is the state after
 * (possibly after WANT_ASYNC or WANT_RETRY_VERIFY).
 */
export function acceptPeerChain(
  cx: Context,
  policy: VerifyPolicy,
  chain: readonly Uint8Array[],
  where: string,
  next: (publicKey: PublicKey) => State,
): Step {
  // Before any work on the certificates: each could cost a signature check (security review, issue #15).
  const max = cx.cfg.maxPeerChainLength;
  if (chain.length > max) {
    throw invalidCertificate(
      "too_many_certificates",
      `Cannot accept Certificate: ${chain.length} certificates, more than maxPeerChainLength (${max})`,
      where,
    );
  }
  const publicKey = leafPublicKey(chain, where);
  cx.setPeerChain(chain);
  const insecure = (msg: string) => cx.emit("insecure", msg);
  return verifyChain(policy, chain, cx.cfg.now(), where, next(publicKey), insecure, cx.cfg);
}
