// This module is browser compatible.
/**
 * X.509 certificate path validation for TLS (RFC 5280 §6, with the CA/Browser Forum profile where the two
 * differ, following rustls-webpki's choices): is the peer's certificate issued, through a chain of
 * intermediates, by a trust anchor, valid now, fit for TLS server or client authentication, and issued for
 * the name we meant to reach?
 *
 * {@linkcode verifyCertificateChain} never throws for bad certificates: every failure is a result with a
 * stable {@linkcode VerifyErrorCode}, a sentence for people, and (through {@linkcode alertForVerifyError})
 * the TLS alert a handshake should send.
 *
 * How a path is found. The builder works from the leaf upwards, depth first with backtracking: at each step
 * it tries trust anchors whose subject equals the current certificate's issuer (byte for byte), then pool
 * certificates with that subject, those whose subjectKeyIdentifier matches the authorityKeyIdentifier first.
 * A candidate that fails any check is skipped and the next one tried, so an expired cross-sign or a
 * certificate under the wrong key does not hide a good path. Checks that need no signature (validity,
 * basicConstraints, keyUsage, extendedKeyUsage, unknown critical extensions) run when a candidate is
 * considered; name constraints and then signatures run once a path reaches a trust anchor, with every
 * signature result remembered. Work is bounded: 100 signature checks (`maxSignatureChecks`), 10,000 candidate
 * visits and 250,000 name-constraint comparisons per call (the limits of rustls-webpki and Go's crypto/x509);
 * running out fails with `budget_exceeded`. A certificate (same subject and key) may appear only once in a path.
 *
 * Trust anchors. An anchor is trusted for its subject and key, and its own constraints are honoured: its
 * validity period, basicConstraints (it must be a CA unless it is a v1 certificate; pathLenConstraint
 * counts), keyUsage, extendedKeyUsage, nameConstraints and unknown critical extensions. Its signature is
 * never checked. Checking the anchor's validity and constraints is stricter than rustls-webpki (which
 * keeps only name, key and name constraints) and matches Go, OpenSSL and pyca/cryptography: an expired or
 * restricted root is skipped and another path tried. A leaf whose subject and key are those of an anchor
 * is trusted directly (a pinned self-signed certificate): its path is the leaf alone. Any other
 * self-signed leaf fails with `unknown_issuer`.
 *
 * Not supported: revocation (CRLs, OCSP), certificate policies (policy extensions are ignored when
 * non-critical and rejected as unknown when critical, as in rustls-webpki), the subject common name as an
 * identity (RFC 9525), and public-suffix checks on wildcards.
 *
 * @example Verify a server chain
 * ```ts
 * import assert from "node:assert/strict";
 * import "reflect-metadata";
 * import * as x509 from "@peculiar/x509";
 * import { verifyCertificateChain } from "./mod.ts";
 *
 * const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
 * const rootKeys = await crypto.subtle.generateKey(alg, false, ["sign", "verify"]);
 * const leafKeys = await crypto.subtle.generateKey(alg, false, ["sign", "verify"]);
 * const notBefore = new Date("2025-01-01T00:00:00Z");
 * const notAfter = new Date("2030-01-01T00:00:00Z");
 * const root = await x509.X509CertificateGenerator.createSelfSigned({
 *   name: "CN=Example Root", keys: rootKeys, signingAlgorithm: alg, notBefore, notAfter,
 *   extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
 * }, crypto);
 * const leaf = await x509.X509CertificateGenerator.create({
 *   subject: "CN=www.example.com", issuer: root.subject, publicKey: leafKeys.publicKey,
 *   signingKey: rootKeys.privateKey, signingAlgorithm: alg, notBefore, notAfter,
 *   extensions: [new x509.SubjectAlternativeNameExtension([{ type: "dns", value: "www.example.com" }])],
 * }, crypto);
 *
 * const time = new Date("2026-06-01T00:00:00Z");
 * const ok = await verifyCertificateChain({
 *   leaf: leaf.toString("pem"), trustAnchors: [root.toString("pem")], purpose: "server",
 *   peerName: "www.example.com", time,
 * });
 * assert.equal(ok.ok, true);
 * const wrong = await verifyCertificateChain({
 *   leaf: leaf.toString("pem"), trustAnchors: [root.toString("pem")], purpose: "server",
 *   peerName: "example.org", time,
 * });
 * assert.deepEqual(wrong.ok ? undefined : wrong.code, "name_mismatch");
 * ```
 *
 * @module
 */

import { bytesKey, ctEqual } from "../suites/bytes.ts";
import { pemDecode } from "../suites/pem.ts";
import {
  type PublicKey,
  publicKeyFromSpki,
  verifyX509Signature,
  type X509SignatureResult,
} from "../suites/sign.ts";
import {
  CertError,
  type Certificate,
  formatName,
  KeyUsageBit,
  looseSubject,
  parseCertificate,
  sameBytes,
} from "./_cert.ts";
import { type Budget, BudgetExceeded, checkNameConstraints, constrainedNames } from "./_constraints.ts";
import { certificateMatches, parsePeerName, type ReferenceId } from "./names.ts";

export { matchesPeerName, parsePeerName, type ReferenceId } from "./names.ts";

/**
 * Read the subject public key of an X.509 certificate. It lives here, not in suites/sign.ts, because
 * parsing certificates is this layer's job; suites/ sits below and reads only the SubjectPublicKeyInfo.
 *
 * @param certDer The DER certificate.
 * @returns Its public key.
 * @throws {TypeError} If the certificate is malformed or its key is unsupported.
 */
export function publicKeyFromCertificate(certDer: Uint8Array): PublicKey {
  // airlock's own DER parser: on every handshake, and several times faster than asn1js.
  let spki: Uint8Array;
  try {
    spki = parseCertificate(certDer).spki;
  } catch (cause) {
    throw new TypeError("Cannot parse certificate: invalid DER", { cause });
  }
  return publicKeyFromSpki(spki);
}

/**
 * Why a certificate chain was rejected. The values are stable: match on them, not on `reason`.
 *
 * - `bad_encoding`: a certificate (or its PEM) is not valid DER, or not an X.509 certificate.
 * - `profile_violation`: well-formed, but breaks an RFC 5280 rule checked here (a duplicate extension, an
 *   empty issuer, name constraints on an end entity, an empty subject without a critical subjectAltName,
 *   a critical key identifier, differing signature algorithms inside and outside tbsCertificate, …).
 * - `unsupported_version`: a leaf or intermediate that is not X.509 v3.
 * - `unknown_critical_extension`: a critical extension this verifier does not process.
 * - `unknown_issuer`: no path to a trust anchor (including a self-signed leaf that is not an anchor).
 * - `bad_signature`: a signature in the path does not verify, or its algorithm does not fit the key.
 * - `unsupported_signature_algorithm`: a signature algorithm or public key type this verifier does not
 *   support (SHA-1, DSA, P-192, explicit curve parameters, PSS with unusual parameters, RSA above 8192 bits
 *   or of an odd size).
 * - `weak_key`: an RSA key under 2048 bits.
 * - `expired`, `not_yet_valid`: a certificate in the path is outside its validity period at `time`.
 * - `ca_used_as_leaf`: the leaf's basicConstraints says it is a CA.
 * - `not_a_ca`: an issuer is not a CA (no basicConstraints, or cA false).
 * - `path_len_exceeded`: a CA's pathLenConstraint is exceeded.
 * - `bad_key_usage`: an issuer without keyCertSign, or a leaf without digitalSignature, in keyUsage.
 * - `bad_extended_key_usage`: a certificate's extendedKeyUsage lacks the purpose (serverAuth/clientAuth).
 * - `name_constraint_violation`: a name lies outside a CA's name constraints, or cannot be checked.
 * - `chain_too_long`: a path would need more than `maxDepth` intermediates.
 * - `budget_exceeded`: path building gave up after its work limit (a pathological certificate pool).
 * - `name_mismatch`: the leaf does not name `peerName` in its subjectAltName.
 * - `bad_peer_name`: `peerName` is neither a valid DNS name nor an IP address.
 */
export type VerifyErrorCode =
  | "bad_encoding"
  | "profile_violation"
  | "unsupported_version"
  | "unknown_critical_extension"
  | "unknown_issuer"
  | "bad_signature"
  | "unsupported_signature_algorithm"
  | "weak_key"
  | "expired"
  | "not_yet_valid"
  | "ca_used_as_leaf"
  | "not_a_ca"
  | "path_len_exceeded"
  | "bad_key_usage"
  | "bad_extended_key_usage"
  | "name_constraint_violation"
  | "chain_too_long"
  | "budget_exceeded"
  | "name_mismatch"
  | "bad_peer_name";

/** What the leaf certificate must be fit for. */
export type VerifyPurpose = "server" | "client";

/** Options for {@linkcode verifyCertificateChain}. */
export interface VerifyOptions {
  /** The peer's end-entity certificate: PEM (the first CERTIFICATE block) or DER. */
  readonly leaf: string | Uint8Array;
  /**
   * Candidate intermediates in any order, PEM (several blocks per string allowed) or DER. Duplicates,
   * unrelated certificates and unparsable entries are ignored.
   */
  readonly intermediates?: readonly (string | Uint8Array)[] | undefined;
  /** Trusted certificates: PEM (several blocks per string allowed) or DER. */
  readonly trustAnchors: readonly (string | Uint8Array)[];
  /** `server` checks for id-kp-serverAuth, `client` for id-kp-clientAuth. */
  readonly purpose: VerifyPurpose;
  /** The DNS name or IP address literal the leaf must name; omit to skip the name check. */
  readonly peerName?: string | undefined;
  /** The time to validate at; default now. Fractions of a second are dropped. */
  readonly time?: Date | undefined;
  /**
   * The most intermediates a path may hold, not counting self-issued ones (as RFC 5280 counts
   * pathLenConstraint); default 8, at most 64.
   */
  readonly maxDepth?: number | undefined;
  /**
   * The most certificate signatures checked while building paths, over all candidate paths; default 100
   * (rustls-webpki's and Go's limit), 1 to 10,000. Running out fails with `budget_exceeded`. Each check of an
   * ECDSA P-384 signature costs about 2 ms of CPU, so lower it where a peer's chain is checked before the peer
   * has authenticated (mTLS).
   */
  readonly maxSignatureChecks?: number | undefined;
  /**
   * How each certificate signature is checked: default `verifyX509Signature` (noble; RSA on WebCrypto). The
   * engine passes its provider's `verifyX509`, so `webCryptoProvider` checks chains natively too.
   */
  readonly verifySignature?: CertificateSignatureCheck | undefined;
}

/** A certificate signature check: the DER AlgorithmIdentifier, the issuer's key, the signed bytes, the signature. */
export type CertificateSignatureCheck = (
  algorithm: Uint8Array,
  key: PublicKey,
  message: Uint8Array,
  signature: Uint8Array,
) => X509SignatureResult | Promise<X509SignatureResult>;

/** The outcome of {@linkcode verifyCertificateChain}. */
export type VerifyResult =
  | {
    readonly ok: true;
    /** The validated path as DER: the leaf first, the trust anchor last (one element if the leaf is an anchor). */
    readonly path: Uint8Array[];
  }
  | { readonly ok: false; readonly code: VerifyErrorCode; readonly reason: string };

/** TLS alert names a certificate failure maps to (RFC 8446 §6.2). */
export type CertificateAlertName =
  | "bad_certificate"
  | "unsupported_certificate"
  | "certificate_expired"
  | "certificate_unknown"
  | "unknown_ca"
  | "internal_error";

const ALERTS: Readonly<Record<VerifyErrorCode, CertificateAlertName>> = Object.freeze({
  // "A certificate was corrupt, contained signatures that did not verify correctly, etc."
  bad_encoding: "bad_certificate",
  profile_violation: "bad_certificate",
  bad_signature: "bad_certificate",
  name_mismatch: "bad_certificate",
  // "A certificate was of an unsupported type."
  unsupported_version: "unsupported_certificate",
  unknown_critical_extension: "unsupported_certificate",
  unsupported_signature_algorithm: "unsupported_certificate",
  weak_key: "unsupported_certificate",
  bad_key_usage: "unsupported_certificate",
  bad_extended_key_usage: "unsupported_certificate",
  // "A certificate has expired or is not currently valid."
  expired: "certificate_expired",
  not_yet_valid: "certificate_expired",
  // "A valid certificate chain or partial chain was received, but the certificate was not accepted because
  // the CA certificate could not be located or could not be matched with a known trust anchor."
  unknown_issuer: "unknown_ca",
  chain_too_long: "unknown_ca",
  // "Some other (unspecified) issue arose in processing the certificate, rendering it unacceptable."
  ca_used_as_leaf: "certificate_unknown",
  not_a_ca: "certificate_unknown",
  path_len_exceeded: "certificate_unknown",
  name_constraint_violation: "certificate_unknown",
  budget_exceeded: "certificate_unknown",
  // The local configuration is wrong, not the peer's certificate.
  bad_peer_name: "internal_error",
});

/**
 * The TLS alert a handshake should send when certificate verification fails with `code` (RFC 8446 §6.2):
 * `bad_certificate` for corrupt certificates, bad signatures and a wrong name; `unsupported_certificate`
 * for unsupported versions, algorithms, weak keys, unknown critical extensions and a wrong key usage;
 * `certificate_expired` for expired or not yet valid certificates; `unknown_ca` when no trust anchor is
 * reached; `certificate_unknown` for the other path-validation failures (CA misuse, path length, name
 * constraints, an exhausted budget); `internal_error` for a malformed local `peerName`.
 *
 * @param code The failure code.
 * @returns The alert name, as in engine/alert.ts.
 *
 * @example Pick the alert for a failure
 * ```ts
 * import assert from "node:assert/strict";
 * import { alertForVerifyError } from "./mod.ts";
 * assert.equal(alertForVerifyError("expired"), "certificate_expired");
 * assert.equal(alertForVerifyError("unknown_issuer"), "unknown_ca");
 * assert.equal(alertForVerifyError("name_mismatch"), "bad_certificate");
 * ```
 */
export function alertForVerifyError(code: VerifyErrorCode): CertificateAlertName {
  const alert = ALERTS[code];
  if (alert === undefined) throw new RangeError(`Cannot map verify error "${code}": unknown code`);
  return alert;
}

// ---------------------------------------------------------------------------------------------------------

const DEFAULT_MAX_DEPTH = 8;
const MAX_MAX_DEPTH = 64;
/** The default signature-check budget of one verification (rustls-webpki, Go's crypto/x509). */
const DEFAULT_MAX_SIGNATURE_CHECKS = 100;
const MAX_MAX_SIGNATURE_CHECKS = 10_000;
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 8192;

/** Error ranks: when every path fails, the most specific failure is reported (as rustls-webpki does). */
const RANK: Readonly<Record<VerifyErrorCode, number>> = {
  expired: 290,
  not_yet_valid: 290,
  name_mismatch: 280,
  bad_signature: 260,
  bad_extended_key_usage: 240,
  name_constraint_violation: 230,
  path_len_exceeded: 220,
  not_a_ca: 210,
  ca_used_as_leaf: 210,
  bad_key_usage: 200,
  weak_key: 150,
  unsupported_signature_algorithm: 140,
  unknown_critical_extension: 130,
  unsupported_version: 130,
  profile_violation: 110,
  bad_encoding: 40,
  chain_too_long: 20,
  unknown_issuer: 10,
  budget_exceeded: 0,
  bad_peer_name: 0,
};

interface Failure {
  readonly code: VerifyErrorCode;
  readonly reason: string;
}

function fail(code: VerifyErrorCode, reason: string): Failure {
  return { code, reason };
}

/** A certificate from the pool or the trust store, parsed once. */
interface Node {
  readonly id: number;
  readonly der: Uint8Array;
  readonly cert: Certificate;
  readonly anchor: boolean;
  /** Equal for certificates with the same subject and key: such a pair may appear once in a path. */
  identity: number;
  /** The subject for messages, computed on first use. */
  label?: string;
  key?: PublicKey | Failure;
  /** The result of the checks that do not depend on the path, for use as an issuer. */
  issuerChecks?: Failure | null;
  /** Its possible issuers, best first, computed on first use. */
  issuers?: { readonly anchors: readonly Node[]; readonly pool: readonly Node[] };
}

/** A certificate that could not be parsed, kept so that it can be named if it would have been an issuer. */
interface Broken {
  readonly failure: Failure;
}

interface Store {
  readonly bySubject: Map<string, Node[]>;
  readonly broken: Map<string, Broken[]>;
  readonly nodes: readonly Node[];
}

interface Context {
  readonly purpose: VerifyPurpose;
  readonly eku: string;
  readonly now: number;
  readonly maxDepth: number;
  readonly maxSignatureChecks: number;
  readonly anchors: Store;
  readonly pool: Store;
  readonly budget: Budget;
  readonly signatures: Map<string, Failure | null>;
  readonly verifySignature: CertificateSignatureCheck;
  readonly constraints: Map<string, Failure | null>;
  /** Identities of the certificates in the current path. */
  readonly onPath: Set<number>;
  best: Failure | undefined;
}

function label(node: Node): string {
  return node.label ??= `"${formatName(node.cert.subject)}"`;
}

function role(node: Node, index: number): string {
  return index === 0 ? "leaf certificate" : node.anchor ? "trust anchor" : "intermediate certificate";
}

function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
}

function toDerList(input: string | Uint8Array): Uint8Array[] {
  if (typeof input !== "string") return [input];
  return pemDecode(input, "CERTIFICATE");
}

function checkValidity(node: Node, index: number, now: number): Failure | undefined {
  const { notBefore, notAfter } = node.cert;
  if (now < notBefore) {
    return fail(
      "not_yet_valid",
      `The ${role(node, index)} ${label(node)} is not valid until ${isoTime(notBefore)} (checked at ${
        isoTime(now)
      })`,
    );
  }
  if (now > notAfter) {
    return fail(
      "expired",
      `The ${role(node, index)} ${label(node)} expired at ${isoTime(notAfter)} (checked at ${isoTime(now)})`,
    );
  }
  return undefined;
}

function checkEku(ctx: Context, node: Node, index: number): Failure | undefined {
  const eku = node.cert.extKeyUsage;
  if (eku === undefined || eku.includes(ctx.eku)) return undefined;
  // anyExtendedKeyUsage is not accepted in its place, as in rustls-webpki.
  return fail(
    "bad_extended_key_usage",
    `The ${role(node, index)} ${label(node)} is not valid for TLS ${ctx.purpose} authentication: its ` +
      `extended key usage lacks ${ctx.purpose === "server" ? "serverAuth" : "clientAuth"} (${ctx.eku})`,
  );
}

function checkUnknownCritical(node: Node, index: number): Failure | undefined {
  const [oid] = node.cert.unknownCritical;
  if (oid === undefined) return undefined;
  return fail(
    "unknown_critical_extension",
    `The ${role(node, index)} ${
      label(node)
    } has a critical extension this verifier does not process (${oid})`,
  );
}

function publicKey(node: Node, index: number): PublicKey | Failure {
  if (node.key) return node.key;
  let key: PublicKey | Failure;
  try {
    key = publicKeyFromSpki(node.cert.spki);
    if (key.bits !== undefined) {
      if (key.bits < MIN_RSA_BITS) {
        key = fail(
          "weak_key",
          `The ${role(node, index)} ${
            label(node)
          } has a ${key.bits}-bit RSA key; at least ${MIN_RSA_BITS} bits are required`,
        );
      } else if (key.bits > MAX_RSA_BITS || key.bits % 8 !== 0) {
        key = fail(
          "unsupported_signature_algorithm",
          `The ${role(node, index)} ${label(node)} has a ${key.bits}-bit RSA key; supported sizes are ` +
            `multiples of 8 from ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits`,
        );
      }
    }
  } catch (error) {
    const detail = error instanceof Error ? error.message.replace(/^Cannot use /, "") : String(error);
    key = fail(
      "unsupported_signature_algorithm",
      `The ${role(node, index)} ${label(node)} has a public key this verifier cannot use (${detail})`,
    );
  }
  node.key = key;
  return key;
}

function isFailure(value: PublicKey | Failure): value is Failure {
  return "code" in value;
}

/**
 * Leaf checks that need no issuer. A `pinned` leaf is itself a trust anchor, byte for byte (the self-signed
 * certificate `openssl req -x509` makes, trusted directly, as Go and OpenSSL allow): it may be a CA, and may
 * be v1 like any anchor; everything else (validity, key usage, EKU, its key, its name) is checked as for any leaf.
 */
function checkLeaf(ctx: Context, node: Node, pinned: boolean): Failure | undefined {
  const { cert } = node;
  if (cert.version !== 3 && !pinned) {
    return fail(
      "unsupported_version",
      `The leaf certificate ${label(node)} is X.509 v${cert.version}, not v3`,
    );
  }
  const bc = cert.basicConstraints;
  if (bc?.ca && !pinned) {
    return fail(
      "ca_used_as_leaf",
      `The leaf certificate ${
        label(node)
      } is a CA certificate (basicConstraints cA is true): issue a leaf with ` +
        `CA:FALSE (openssl req -x509 ... -addext basicConstraints=critical,CA:FALSE, or sign a CSR with the CA), ` +
        `or trust this very certificate as the anchor`,
    );
  }
  const critical = checkUnknownCritical(node, 0);
  if (critical) return critical;
  if (pinned) {
    const validity = checkValidity(node, 0, ctx.now);
    if (validity) return validity;
  } else if (cert.nameConstraints) {
    return fail(
      "profile_violation",
      `The leaf certificate ${label(node)} has name constraints, which only CA certificates may carry ` +
        `(RFC 5280 §4.2.1.10)`,
    );
  }
  if (cert.subject.rdns.length === 0 && !cert.subjectAltNameCritical) {
    return fail(
      "profile_violation",
      `The leaf certificate has an empty subject and no critical subjectAltName (RFC 5280 §4.2.1.6)`,
    );
  }
  if (!pinned && cert.keyUsage !== undefined && cert.keyUsage & (1 << KeyUsageBit.keyCertSign)) {
    return fail(
      "profile_violation",
      `The leaf certificate ${label(node)} asserts keyCertSign without being a CA (RFC 5280 §4.2.1.9)`,
    );
  }
  if (!pinned) {
    const validity = checkValidity(node, 0, ctx.now);
    if (validity) return validity;
  }
  if (cert.keyUsage !== undefined && !(cert.keyUsage & (1 << KeyUsageBit.digitalSignature))) {
    return fail(
      "bad_key_usage",
      `The leaf certificate ${label(node)} may not sign (its key usage lacks digitalSignature)`,
    );
  }
  const eku = checkEku(ctx, node, 0);
  if (eku) return eku;
  const key = publicKey(node, 0);
  return isFailure(key) ? key : undefined;
}

/** Checks on a would-be issuer that do not depend on the path below it; remembered per certificate. */
function checkIssuer(ctx: Context, node: Node): Failure | undefined {
  if (node.issuerChecks !== undefined) return node.issuerChecks ?? undefined;
  const result = checkIssuerOnce(ctx, node);
  node.issuerChecks = result ?? null;
  return result;
}

function checkIssuerOnce(ctx: Context, node: Node): Failure | undefined {
  const { cert } = node;
  const index = 1; // any non-leaf position
  if (cert.version !== 3 && !node.anchor) {
    return fail(
      "unsupported_version",
      `The intermediate certificate ${label(node)} is X.509 v${cert.version}, not v3`,
    );
  }
  const critical = checkUnknownCritical(node, index);
  if (critical) return critical;
  if (cert.subject.rdns.length === 0) {
    return fail("profile_violation", `A CA certificate has an empty subject (RFC 5280 §4.1.2.6)`);
  }
  // A v1 trust anchor is a CA by being trusted (RFC 5280 §6.1.4 (k) allows out-of-band knowledge).
  if (cert.version === 3 && !cert.basicConstraints?.ca) {
    return fail(
      "not_a_ca",
      `The ${role(node, index)} ${label(node)} is not a CA (${
        cert.basicConstraints ? "basicConstraints cA is false" : "it has no basicConstraints"
      }) but would issue a certificate in the path`,
    );
  }
  if (cert.keyUsage !== undefined && !(cert.keyUsage & (1 << KeyUsageBit.keyCertSign))) {
    return fail(
      "bad_key_usage",
      `The ${role(node, index)} ${label(node)} may not sign certificates (its key usage lacks keyCertSign)`,
    );
  }
  const validity = checkValidity(node, index, ctx.now);
  if (validity) return validity;
  const eku = checkEku(ctx, node, index);
  if (eku) return eku;
  const key = publicKey(node, index);
  return isFailure(key) ? key : undefined;
}

/** The pathLenConstraint check for `issuer` above `path` (RFC 5280 §4.2.1.9: self-issued ones don't count). */
function checkPathLen(issuer: Node, path: readonly Node[]): Failure | undefined {
  const limit = issuer.cert.basicConstraints?.pathLen;
  if (limit === undefined) return undefined;
  let below = 0;
  for (let i = 1; i < path.length; i++) if (!path[i]!.cert.selfIssued) below++;
  if (below <= limit) return undefined;
  return fail(
    "path_len_exceeded",
    `The ${role(issuer, 1)} ${label(issuer)} allows ${limit} intermediate certificate${
      limit === 1 ? "" : "s"
    } below it (pathLenConstraint), but the path has ${below}`,
  );
}

function note(ctx: Context, failure: Failure): void {
  if (!ctx.best || RANK[failure.code] > RANK[ctx.best.code]) ctx.best = failure;
}

function ordered(candidates: readonly Node[] | undefined, child: Certificate): readonly Node[] {
  if (!candidates) return [];
  const aki = child.authorityKeyId;
  if (!aki || candidates.length < 2) return candidates;
  // A hint only: matching key identifiers first, unknown next, mismatching last (as Go does).
  const score = (n: Node): number => {
    const ski = n.cert.subjectKeyId;
    return ski === undefined ? 1 : sameBytes(ski, aki) ? 0 : 2;
  };
  return [...candidates].sort((a, b) => score(a) - score(b));
}

function issuersOf(
  ctx: Context,
  node: Node,
): { readonly anchors: readonly Node[]; readonly pool: readonly Node[] } {
  if (!node.issuers) {
    const key = bytesKey(node.cert.issuer.der);
    node.issuers = {
      anchors: ordered(ctx.anchors.bySubject.get(key), node.cert),
      pool: ordered(ctx.pool.bySubject.get(key), node.cert),
    };
  }
  return node.issuers;
}

/** Name constraints of every CA in `path` + `anchor` against the certificates below it. */
function checkPathConstraints(ctx: Context, path: readonly Node[], anchor: Node): Failure | undefined {
  const issuers = [...path.slice(1), anchor];
  for (let j = 0; j < issuers.length; j++) {
    const issuer = issuers[j]!;
    const nc = issuer.cert.nameConstraints;
    if (!nc) continue;
    for (let i = 0; i <= j; i++) {
      const sub = path[i]!;
      // Self-issued intermediates are exempt; the leaf never is (RFC 5280 §6.1.4 (b), §4.2.1.10).
      if (i > 0 && sub.cert.selfIssued) continue;
      const key = `${issuer.id}>${sub.id}`;
      let result = ctx.constraints.get(key);
      if (result === undefined) {
        const violation = checkNameConstraints(nc, constrainedNames(sub.cert), ctx.budget);
        result = violation === undefined ? null : fail(
          "name_constraint_violation",
          `The ${role(sub, i)} ${label(sub)} breaks the name constraints of ${role(issuer, j + 1)} ${
            label(issuer)
          }: ${violation}`,
        );
        ctx.constraints.set(key, result);
      }
      if (result) return result;
    }
  }
  return undefined;
}

async function checkSignature(
  ctx: Context,
  subject: Node,
  index: number,
  issuer: Node,
): Promise<Failure | undefined> {
  const memo = `${issuer.id}>${subject.id}`;
  const known = ctx.signatures.get(memo);
  if (known !== undefined) return known ?? undefined;
  const key = publicKey(issuer, index + 1);
  let result: Failure | null;
  if (isFailure(key)) {
    result = key;
  } else {
    if (--ctx.budget.signatures < 0) {
      throw new BudgetExceeded(`${ctx.maxSignatureChecks} signature checks (maxSignatureChecks)`);
    }
    const { cert } = subject;
    const outcome = await ctx.verifySignature(cert.signatureAlgorithm, key, cert.tbs, cert.signature);
    result = outcome === "valid" ? null : outcome === "unsupported"
      ? fail(
        "unsupported_signature_algorithm",
        `The ${role(subject, index)} ${label(subject)} is signed with an unsupported algorithm ` +
          `(${cert.signatureAlgorithmOid})`,
      )
      : fail(
        "bad_signature",
        `The signature on the ${role(subject, index)} ${label(subject)} does not verify with the key of ${
          role(issuer, index + 1)
        } ${label(issuer)}`,
      );
  }
  ctx.signatures.set(memo, result);
  return result ?? undefined;
}

/** Everything left once `path` reaches `anchor`: the anchor's own checks, name constraints, signatures. */
async function completePath(ctx: Context, path: readonly Node[], anchor: Node): Promise<Failure | undefined> {
  const failure = checkIssuer(ctx, anchor) ?? checkPathLen(anchor, path) ??
    checkPathConstraints(ctx, path, anchor);
  if (failure) return failure;
  // From the top down, as RFC 5280 §6.1.3 processes the path.
  for (let i = path.length - 1; i >= 0; i--) {
    const bad = await checkSignature(ctx, path[i]!, i, i === path.length - 1 ? anchor : path[i + 1]!);
    if (bad) return bad;
  }
  return undefined;
}

/**
 * Extend `path` (leaf first) to a trust anchor, depth first: anchors, then pool certificates, each
 * candidate checked and the next tried on failure. `depth` counts the non-self-issued intermediates.
 */
async function extend(ctx: Context, path: Node[], depth: number): Promise<Node[] | undefined> {
  const head = path[path.length - 1]!;
  const index = path.length - 1;
  const { anchors, pool } = issuersOf(ctx, head);
  const issuerKey = bytesKey(head.cert.issuer.der);
  for (
    const broken of [...(ctx.anchors.broken.get(issuerKey) ?? []), ...(ctx.pool.broken.get(issuerKey) ?? [])]
  ) {
    note(ctx, broken.failure);
  }
  if (anchors.length === 0 && pool.length === 0) {
    note(
      ctx,
      fail(
        "unknown_issuer",
        head.cert.selfIssued && index === 0
          ? `The leaf certificate ${label(head)} is self-signed and is not a trust anchor`
          : `No trust anchor or intermediate certificate has the subject "${
            formatName(head.cert.issuer)
          }", which issued the ${role(head, index)} ${label(head)}`,
      ),
    );
    return undefined;
  }
  for (const anchor of anchors) {
    if (ctx.onPath.has(anchor.identity)) continue; // a self-signed certificate from the pool already
    if (--ctx.budget.visits < 0) throw new BudgetExceeded("candidate issuers");
    const failure = await completePath(ctx, path, anchor);
    if (!failure) return [...path, anchor];
    note(ctx, failure);
  }
  let blockedByDepth = false;
  for (const candidate of pool) {
    // Prevent loops (RFC 4158 §5.2): the same subject and key may appear only once.
    if (ctx.onPath.has(candidate.identity)) continue;
    const nextDepth = depth + (candidate.cert.selfIssued ? 0 : 1);
    if (nextDepth > ctx.maxDepth) {
      blockedByDepth = true;
      continue;
    }
    if (--ctx.budget.visits < 0) throw new BudgetExceeded("candidate issuers");
    const failure = checkIssuer(ctx, candidate) ?? checkPathLen(candidate, path);
    if (failure) {
      note(ctx, failure);
      continue;
    }
    path.push(candidate);
    ctx.onPath.add(candidate.identity);
    const found = await extend(ctx, path, nextDepth);
    ctx.onPath.delete(candidate.identity);
    path.pop();
    if (found) return found;
  }
  if (blockedByDepth) {
    note(
      ctx,
      fail(
        "chain_too_long",
        `A path through ${label(head)} needs more than ${ctx.maxDepth} intermediate certificate${
          ctx.maxDepth === 1 ? "" : "s"
        } (maxDepth)`,
      ),
    );
  }
  return undefined;
}

function store(
  inputs: readonly (string | Uint8Array)[],
  anchor: boolean,
  first: number,
  identities: Map<string, number>,
): Store {
  const nodes: Node[] = [];
  const bySubject = new Map<string, Node[]>();
  const broken = new Map<string, Broken[]>();
  const seen = new Set<string>();
  for (const input of inputs) {
    let ders: Uint8Array[];
    try {
      ders = toDerList(input);
    } catch {
      continue; // junk in a pool or store is ignored
    }
    for (const der of ders) {
      const key = bytesKey(der);
      if (seen.has(key)) continue;
      seen.add(key);
      let cert: Certificate;
      try {
        cert = parseCertificate(der);
      } catch (error) {
        if (!(error instanceof CertError)) throw error;
        const subject = looseSubject(der);
        if (subject === undefined) continue; // it cannot be anyone's issuer
        const what = anchor ? "trust anchor" : "intermediate certificate";
        const entry: Broken = {
          failure: fail(error.code, `The ${what} "${formatName(subject)}" is malformed: ${error.message}`),
        };
        const subjectKey = bytesKey(subject.der);
        const list = broken.get(subjectKey);
        if (list) list.push(entry);
        else broken.set(subjectKey, [entry]);
        continue;
      }
      const node: Node = {
        id: first + nodes.length,
        der,
        cert,
        anchor,
        identity: identityOf(cert, identities),
      };
      nodes.push(node);
      const subjectKey = bytesKey(cert.subject.der);
      const list = bySubject.get(subjectKey);
      if (list) list.push(node);
      else bySubject.set(subjectKey, [node]);
    }
  }
  return { bySubject, broken, nodes };
}

function identityOf(cert: Certificate, identities: Map<string, number>): number {
  const key = bytesKey(cert.subject.der) + "\u0000" + bytesKey(cert.spki);
  let id = identities.get(key);
  if (id === undefined) {
    id = identities.size;
    identities.set(key, id);
  }
  return id;
}

function checkOptions(opts: VerifyOptions): { now: number; maxDepth: number; maxSignatureChecks: number } {
  if (typeof opts !== "object" || opts === null) {
    throw new TypeError("Cannot verify certificate chain: expected an options object");
  }
  if (typeof opts.leaf !== "string" && !(opts.leaf instanceof Uint8Array)) {
    throw new TypeError("Cannot verify certificate chain: leaf must be a PEM string or DER bytes");
  }
  if (!Array.isArray(opts.trustAnchors)) {
    throw new TypeError("Cannot verify certificate chain: trustAnchors must be an array");
  }
  if (opts.intermediates !== undefined && !Array.isArray(opts.intermediates)) {
    throw new TypeError("Cannot verify certificate chain: intermediates must be an array");
  }
  if (opts.purpose !== "server" && opts.purpose !== "client") {
    throw new TypeError(
      `Cannot verify certificate chain: purpose "${opts.purpose}" is not "server" or "client"`,
    );
  }
  if (opts.peerName !== undefined && typeof opts.peerName !== "string") {
    throw new TypeError("Cannot verify certificate chain: peerName must be a string");
  }
  const time = opts.time ?? new Date();
  if (!(time instanceof Date) || Number.isNaN(time.getTime())) {
    throw new TypeError("Cannot verify certificate chain: time must be a valid Date");
  }
  const maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 0 || maxDepth > MAX_MAX_DEPTH) {
    throw new RangeError(
      `Cannot verify certificate chain: maxDepth ${maxDepth} is not an integer from 0 to ${MAX_MAX_DEPTH}`,
    );
  }
  const maxSignatureChecks = opts.maxSignatureChecks ?? DEFAULT_MAX_SIGNATURE_CHECKS;
  if (
    !Number.isSafeInteger(maxSignatureChecks) || maxSignatureChecks < 1 ||
    maxSignatureChecks > MAX_MAX_SIGNATURE_CHECKS
  ) {
    throw new RangeError(
      `Cannot verify certificate chain: maxSignatureChecks ${maxSignatureChecks} is not an integer from 1 to ${MAX_MAX_SIGNATURE_CHECKS}`,
    );
  }
  return { now: Math.floor(time.getTime() / 1000), maxDepth, maxSignatureChecks };
}

/**
 * Verify a peer's certificate chain: build a path from `leaf` through `intermediates` to one of
 * `trustAnchors`, check it at `time` for `purpose`, and check that the leaf names `peerName`.
 *
 * Checked for every certificate in the path: the validity period; X.509 v3 (trust anchors may be v1);
 * no unknown critical extension; basicConstraints (issuers are CAs, the leaf is not; pathLenConstraint,
 * not counting self-issued certificates); keyUsage (keyCertSign for issuers; digitalSignature for the leaf
 * when the extension is present); extendedKeyUsage, when present, includes serverAuth or clientAuth
 * (on intermediates and anchors too, as rustls-webpki and Go do); name constraints of every CA over the
 * names of all certificates below it (self-issued intermediates excepted); and every signature: RSA
 * PKCS#1 v1.5 and RSA-PSS with SHA-256/384/512 (RSA keys of 2048 to 8192 bits), ECDSA on P-256 and P-384
 * with SHA-256/384, and Ed25519. The leaf's own public key must be of a supported type and size too.
 * See the module documentation for how paths are searched and how trust anchors are treated.
 *
 * @param opts What to verify, against which anchors, for what.
 * @returns `{ ok: true, path }` with the DER path from the leaf to the anchor, or `{ ok: false, code,
 * reason }`. Bad certificates never throw.
 * @throws {TypeError} If an option has the wrong type, or `time` is an invalid Date.
 * @throws {RangeError} If `maxDepth` or `maxSignatureChecks` is out of range.
 *
 * @example Reject an unrelated peer certificate
 * ```ts
 * import assert from "node:assert/strict";
 * import { verifyCertificateChain } from "./mod.ts";
 * const result = await verifyCertificateChain({
 *   leaf: new Uint8Array([0x30, 0x00]),
 *   trustAnchors: [],
 *   purpose: "server",
 * });
 * assert.deepEqual(result.ok ? undefined : result.code, "bad_encoding");
 * ```
 */
export async function verifyCertificateChain(opts: VerifyOptions): Promise<VerifyResult> {
  const { now, maxDepth, maxSignatureChecks } = checkOptions(opts);
  let reference: ReferenceId | undefined;
  if (opts.peerName !== undefined) {
    try {
      reference = parsePeerName(opts.peerName);
    } catch (error) {
      return {
        ok: false,
        code: "bad_peer_name",
        reason: error instanceof Error ? error.message : String(error),
      };
    }
  }

  let leafDer: Uint8Array | undefined;
  try {
    [leafDer] = toDerList(opts.leaf);
  } catch (error) {
    return {
      ok: false,
      code: "bad_encoding",
      reason: `The leaf certificate's PEM cannot be decoded: ${(error as Error).message}`,
    };
  }
  if (leafDer === undefined) {
    return {
      ok: false,
      code: "bad_encoding",
      reason: "The leaf certificate's PEM holds no CERTIFICATE block",
    };
  }
  let leafCert: Certificate;
  try {
    leafCert = parseCertificate(leafDer);
  } catch (error) {
    if (!(error instanceof CertError)) throw error;
    return { ok: false, code: error.code, reason: `The leaf certificate is malformed: ${error.message}` };
  }

  const identities = new Map<string, number>();
  const anchors = store(opts.trustAnchors, true, 1, identities);
  const pool = store(opts.intermediates ?? [], false, 1 + anchors.nodes.length, identities);
  const ctx: Context = {
    purpose: opts.purpose,
    eku: opts.purpose === "server" ? SERVER_AUTH : CLIENT_AUTH,
    now,
    maxDepth,
    maxSignatureChecks,
    anchors,
    pool,
    budget: { signatures: maxSignatureChecks, visits: 10_000, comparisons: 250_000 },
    signatures: new Map(),
    verifySignature: opts.verifySignature ?? verifyX509Signature,
    constraints: new Map(),
    onPath: new Set(),
    best: undefined,
  };
  const leaf: Node = {
    id: 0,
    der: leafDer,
    cert: leafCert,
    anchor: false,
    identity: identityOf(leafCert, identities),
  };

  // The leaf is a trust anchor itself, byte for byte: a directly trusted (often self-signed) certificate.
  const pinned = anchors.nodes.some((a) => ctEqual(a.der, leafDer));
  const leafFailure = checkLeaf(ctx, leaf, pinned);
  if (leafFailure) return { ok: false, ...leafFailure };

  // The name before the path, as Go's crypto/x509 does: it is cheap, and no path can make a wrong name right.
  if (reference && !certificateMatches(leafCert, reference)) {
    const names = (leafCert.subjectAltName ?? []).filter((n) => n.type === "dns" || n.type === "ip").length;
    return {
      ok: false,
      code: "name_mismatch",
      reason: `The leaf certificate ${label(leaf)} is not valid for ${
        reference.kind === "ip" ? "IP address" : "name"
      } "${opts.peerName}" (${
        names === 0
          ? "it has no DNS or IP subjectAltName"
          : `none of its ${names} subjectAltName entries match`
      })`,
    };
  }

  // A leaf with the subject and key of a trust anchor is trusted as it is (a pinned certificate).
  if (anchors.nodes.some((a) => a.identity === leaf.identity)) return { ok: true, path: [leafDer.slice()] };

  let path: Node[] | undefined;
  ctx.onPath.add(leaf.identity);
  try {
    path = await extend(ctx, [leaf], 0);
  } catch (error) {
    if (!(error instanceof BudgetExceeded)) throw error;
    return { ok: false, code: "budget_exceeded", reason: error.message };
  }
  if (!path) {
    const best = ctx.best ??
      fail("unknown_issuer", `No path from ${label(leaf)} to a trust anchor was found`);
    return { ok: false, ...best };
  }
  return { ok: true, path: path.map((n) => n.der.slice()) };
}
