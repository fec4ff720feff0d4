/**
 * Deciding about the peer's certificate chain, for both roles: path validation against trust anchors
 * (verify/), the caller's own `verifyPeer` check, and the explicit resumable state (OpenSSL 3's
 * `SSL_set_retry_verify`): the engine stops with WANT_RETRY_VERIFY until `setVerifyResult()` is called.
 * The order is fixed: anchors first, then `verifyPeer`, then the retry state.
 * @module
 */

import { AsnConvert } from "@peculiar/asn1-schema";
import { Certificate } from "@peculiar/asn1-x509";
import { alertForVerifyError, verifyCertificateChain } from "../verify/mod.ts";
import { matchesPeerName } from "../verify/names.ts";
import { invalidCertificate } from "./errors.ts";
import type { State, Step } from "./state.ts";
import type { CryptoProvider } from "../suites/provider.ts";
import type { RawKeyTrust } from "./raw_keys.ts";

/** How a chain is to be judged. */
export interface VerifyPolicy {
  /** Trust anchors (DER); when present, the chain must validate to one of them. */
  readonly trustAnchors: readonly Uint8Array[] | undefined;
  /** The caller's own check. */
  readonly verifyPeer:
    | ((info: { chain: readonly Uint8Array[]; serverName: string | undefined }) => boolean | Promise<boolean>)
    | undefined;
  /** Stop with WANT_RETRY_VERIFY and let the caller decide. */
  readonly retryVerify: boolean;
  /** Verification explicitly disabled. */
  readonly insecure: boolean;
  /** Whose chain: "server" when the client verifies, "client" when the server does. */
  readonly purpose: "server" | "client";
  /** The name the chain must be valid for (the client's serverName). */
  readonly peerName: string | undefined;
  /** Maximum number of intermediates. */
  readonly maxDepth?: number;
  /** Raw public keys (RFC 7250) accepted from the peer; undefined: none. */
  readonly rawKeys?: RawKeyTrust;
}

/** A resumable decision: the engine calls `resume(verdict)` when the caller sets it. */
export interface RetryVerify {
  readonly retryVerify: (verdict: boolean) => Step;
}

function rejected(where: string): never {
  throw invalidCertificate("rejected", "Cannot accept Certificate: the verifier rejected the chain", where);
}

/** Judge `chain` (leaf first) by `policy`, then continue with `next`. */
export function verifyChain(
  policy: VerifyPolicy,
  chain: readonly Uint8Array[],
  now: number,
  where: string,
  next: State,
  emitInsecure: (message: string) => void,
  cfg: { readonly provider: CryptoProvider; readonly maxSignatureChecks: number },
): Step {
  if (policy.insecure) {
    emitInsecure(`certificate verification is disabled: the ${policy.purpose}'s identity is not checked`);
    return policy.retryVerify ? retry(next, where) : next;
  }
  // A policy with no check at all (a client with external PSKs only) accepts no chain: fail closed.
  if (!policy.trustAnchors && !policy.verifyPeer && !policy.retryVerify) rejected(where);
  const checks: (() => boolean | Promise<boolean>)[] = [];
  const anchors = policy.trustAnchors;
  if (anchors) {
    checks.push(async () => {
      const r = await verifyCertificateChain({
        leaf: chain[0]!,
        intermediates: chain.slice(1),
        trustAnchors: anchors,
        purpose: policy.purpose,
        time: new Date(now),
        ...(policy.peerName !== undefined ? { peerName: policy.peerName } : {}),
        ...(policy.maxDepth !== undefined ? { maxDepth: policy.maxDepth } : {}),
        maxSignatureChecks: cfg.maxSignatureChecks,
        verifySignature: cfg.provider.verifyX509,
      });
      if (!r.ok) throw invalidCertificate(r.code, r.reason, where, alertForVerifyError(r.code));
      return true;
    });
  }
  const verifyPeer = policy.verifyPeer;
  if (verifyPeer) checks.push(() => verifyPeer({ chain, serverName: policy.peerName }));
  const after = (): Step => (policy.retryVerify ? retry(next, where) : next);
  // Run the checks in order; stay synchronous while they are.
  const run = (i: number): Step => {
    for (; i < checks.length; i++) {
      const r = checks[i]!();
      if (r instanceof Promise) {
        const at = i;
        return { pending: r.then((ok) => (ok === true ? run(at + 1) : rejected(where))) };
      }
      if (r !== true) rejected(where);
    }
    return after();
  };
  return run(0);
}

function retry(next: State, where: string): Step {
  return { retryVerify: (verdict: boolean) => (verdict ? next : rejected(where)) };
}

/** The DER subject name of a certificate (for certificate_authorities). */
export function subjectName(certDer: Uint8Array): Uint8Array {
  const cert = AsnConvert.parse(certDer, Certificate);
  return new Uint8Array(AsnConvert.serialize(cert.tbsCertificate.subject));
}

/** Whether a certificate names `host` (RFC 9525); false for anything unparsable. */
export function certificateMatchesName(certDer: Uint8Array, host: string): boolean {
  try {
    return matchesPeerName(certDer, host);
  } catch {
    return false;
  }
}
