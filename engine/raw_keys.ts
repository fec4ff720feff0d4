/**
 * Raw public keys (RFC 7250) in TLS 1.3, for both roles: the client_certificate_type and
 * server_certificate_type extensions, the choice of a certificate type, and the peer's raw key (a Certificate
 * whose one entry is a SubjectPublicKeyInfo, RFC 8446 §4.4.2) judged against pinned keys or a callback.
 *
 *   client: offer the types (ClientHello) → check the server's choice (EncryptedExtensions)
 *           → the server's key (Certificate) → [our raw key for a CertificateRequest]
 *   server: choose the types (ClientHello) → answer them (EncryptedExtensions) → present our raw key
 *           (Certificate) → [the client's key (Certificate)]
 *
 * TLS 1.3 only: a TLS 1.2 server ignores the extensions (RFC 7250 §4.2, outcome 1) and a client that offers
 * raw keys must speak TLS 1.3 only (createClient refuses otherwise).
 * @module
 */

import {
  type ClientRawPublicKeys,
  type RawPublicKeyInfo,
  type RawPublicKeyTrust,
  samePublicKey,
  type ServerCert,
} from "./config.ts";
import { incompatible, invalidCertificate, invalidMessage, misbehaved } from "./errors.ts";
import { Reader, Writer } from "./msgs/codec.ts";
import { ExtensionType as E } from "./msgs/enums.ts";
import { type Extension, findExtension } from "./msgs/extensions.ts";
import type { State, Step } from "./state.ts";
import { ctEqual } from "../suites/bytes.ts";
import { pemDecode } from "../suites/pem.ts";
import { type PublicKey, publicKeyFromSpki, type SigningKey } from "../suites/sign.ts";

/** Certificate types (RFC 7250 §3, the IANA TLS Certificate Types registry). */
export const CertificateType = { x509: 0, rawPublicKey: 2 } as const;

/** A certificate type's name, as configurations spell it. */
export type CertificateTypeName = "X509" | "RawPublicKey";

const IDS: Readonly<Record<CertificateTypeName, number>> = { X509: 0, RawPublicKey: 2 };

/** The name of certificate type `id`. */
export function certificateTypeName(id: number): CertificateTypeName | `unknown(${number})` {
  return id === 0 ? "X509" : id === 2 ? "RawPublicKey" : `unknown(${id})`;
}

/** Ids for configured type names, in order, without repeats; a RangeError for anything else. */
export function certificateTypeIds(names: readonly string[], what: string): number[] {
  if (names.length === 0) throw new RangeError(`Cannot configure ${what}: the list is empty`);
  const out: number[] = [];
  for (const n of names) {
    const id = Object.hasOwn(IDS, n) ? IDS[n as CertificateTypeName] : undefined;
    if (id === undefined) {
      throw new RangeError(`Cannot configure ${what}: "${n}" is not "RawPublicKey" or "X509"`);
    }
    if (out.includes(id)) throw new RangeError(`Cannot configure ${what}: "${n}" appears twice`);
    out.push(id);
  }
  return out;
}

// ---- Codecs (RFC 7250 §4.1) ----------------------------------------------------------------------

/** The ClientHello form: `CertificateType client_certificate_types<1..2^8-1>` (the same for the server's). */
export function decodeCertificateTypeList(data: Uint8Array, what: string): number[] {
  const r = new Reader(data, what);
  const list = [...r.vec8(1, 255, "certificate_types")];
  r.end();
  return list;
}

/** Encode the ClientHello form. */
export function encodeCertificateTypeList(types: readonly number[]): Uint8Array {
  return new Writer(1 + types.length).vec(1, Uint8Array.from(types)).finish();
}

/** The EncryptedExtensions form: one `CertificateType`. */
export function decodeCertificateType(data: Uint8Array, what: string): number {
  const r = new Reader(data, what);
  const t = r.u8();
  r.end();
  return t;
}

// ---- Trust in a peer's raw key -------------------------------------------------------------------

/** Pinned keys and the callback, normalized: the pins as DER SubjectPublicKeyInfo. */
export interface RawKeyTrust {
  readonly pinned: readonly Uint8Array[];
  readonly verify: RawPublicKeyTrust["verifyKey"];
}

/**
 * Decode the pins (PEM `PUBLIC KEY` blocks or DER SubjectPublicKeyInfo), each checked to parse. Neither
 * pins nor a callback is a TypeError: a raw key is never accepted unchecked.
 */
export function normalizeRawKeyTrust(t: RawPublicKeyTrust | undefined, what: string): RawKeyTrust {
  // A configuration is normalized for every connection: its pins are decoded and checked once.
  const known = t && trusts.get(t);
  if (known) return known;
  const made = decodeTrust(t, what);
  if (t) trusts.set(t, made);
  return made;
}

const trusts = new WeakMap<RawPublicKeyTrust, RawKeyTrust>();

function decodeTrust(t: RawPublicKeyTrust | undefined, what: string): RawKeyTrust {
  const pins = (t?.pinnedKeys ?? []).flatMap((
    k,
  ) => (typeof k === "string" ? pemDecode(k, "PUBLIC KEY") : [k]));
  if (pins.length === 0 && !t?.verifyKey) {
    throw new TypeError(
      `Cannot configure ${what}: pass pinnedKeys or verifyKey (a raw public key is never accepted unchecked)`,
    );
  }
  for (const [i, p] of pins.entries()) {
    try {
      publicKeyFromSpki(p);
    } catch {
      throw new TypeError(
        `Cannot configure ${what}: pinnedKeys[${i}] is not a SubjectPublicKeyInfo we can read`,
      );
    }
  }
  return Object.freeze({ pinned: Object.freeze(pins.map((p) => p.slice())), verify: t?.verifyKey });
}

/** Whether `spki` is one of `pinned`: every pin compared in constant time, with no early exit. */
export function isPinned(pinned: readonly Uint8Array[], spki: Uint8Array): boolean {
  let found = false;
  for (const p of pinned) found = ctEqual(p, spki) || found;
  return found;
}

/**
 * The peer's Certificate under the RawPublicKey type (RFC 7250 §3, RFC 8446 §4.4.2): exactly one entry, a
 * SubjectPublicKeyInfo we can read (bad_certificate otherwise), then pinned or accepted by the callback
 * (bad_certificate otherwise); `next(publicKey)` is the state after (possibly after WANT_ASYNC).
 */
export function acceptRawPublicKey(
  trust: RawKeyTrust,
  entries: readonly Uint8Array[],
  info: Omit<RawPublicKeyInfo, "spki">,
  where: string,
  next: (publicKey: PublicKey) => State,
): Step {
  if (entries.length !== 1) {
    // RFC 8446 §4.4.2: "the certificate_list MUST contain no more than one CertificateEntry" (OpenSSL 3.2:
    // decode_error, "length mismatch").
    throw invalidMessage(
      "raw_key_entries",
      `Cannot accept Certificate: ${entries.length} entries for a raw public key, not one`,
      where,
    );
  }
  const spki = entries[0]!;
  let publicKey: PublicKey;
  try {
    publicKey = publicKeyFromSpki(spki);
  } catch {
    throw invalidCertificate(
      "bad_encoding",
      "Cannot accept Certificate: the raw public key is not a SubjectPublicKeyInfo we can read",
      where,
    );
  }
  const refuse = (): never => {
    throw invalidCertificate(
      "raw_key_not_trusted",
      "Cannot accept Certificate: the raw public key is not pinned and the verifier did not accept it",
      where,
    );
  };
  if (isPinned(trust.pinned, spki)) return next(publicKey);
  if (!trust.verify) return refuse();
  const ok = trust.verify({ ...info, spki: spki.slice() });
  if (ok instanceof Promise) return { pending: ok.then((v) => (v === true ? next(publicKey) : refuse())) };
  return ok === true ? next(publicKey) : refuse();
}

// ---- Client --------------------------------------------------------------------------------------

/** What a client offers: the server's types in preference order, and ours (empty: the extension is not sent). */
export interface ClientCertificateTypes {
  /** server_certificate_type, in preference order; just [X509] means the extension is not sent. */
  readonly server: readonly number[];
  /** client_certificate_type, in preference order; empty means the extension is not sent. */
  readonly client: readonly number[];
}

/**
 * The types a client with `raw` offers (undefined: no raw keys, no extensions): the server's as configured
 * (default RawPublicKey only); its own RawPublicKey when it has `clientKey`, then X509 when it also has a
 * `clientCertificate`.
 */
export function clientCertificateTypes(
  raw: ClientRawPublicKeys | undefined,
  hasClientCertificate: boolean,
): ClientCertificateTypes | undefined {
  if (!raw) return undefined;
  const server = certificateTypeIds(raw.serverTypes ?? ["RawPublicKey"], "rawPublicKeys.serverTypes");
  const client = raw.clientKey
    ? [CertificateType.rawPublicKey, ...(hasClientCertificate ? [CertificateType.x509] : [])]
    : [];
  return { server, client };
}

/** The ClientHello extensions for `types` (RFC 7250 §4.1). */
export function offerCertificateTypes(types: ClientCertificateTypes | undefined): Extension[] {
  if (!types) return [];
  const out: Extension[] = [];
  if (types.client.length > 0) {
    out.push({ type: E.clientCertificateType, data: encodeCertificateTypeList(types.client) });
  }
  if (!(types.server.length === 1 && types.server[0] === CertificateType.x509)) {
    out.push({ type: E.serverCertificateType, data: encodeCertificateTypeList(types.server) });
  }
  return out;
}

/** The types the server chose, as the client reads them from EncryptedExtensions. */
export interface ChosenTypes {
  readonly server: number;
  readonly client: number;
}

/**
 * The server's choices in EncryptedExtensions (RFC 7250 §4.2): each one of the types we offered
 * (illegal_parameter otherwise; checkAllowed already refused one we did not offer at all); an absent answer
 * means X.509, which the client must have offered (unsupported_certificate otherwise, as GnuTLS), unless it
 * resumes a session (no Certificate comes).
 */
export function acceptCertificateTypes(
  types: ClientCertificateTypes | undefined,
  exts: readonly Extension[],
  resumed: boolean,
  where: string,
): ChosenTypes {
  const x509 = CertificateType.x509;
  const pick = (type: number, offered: readonly number[], label: string): number => {
    const data = findExtension(exts, type);
    if (data === undefined) return x509;
    const t = decodeCertificateType(data, `EncryptedExtensions.${label}`);
    if (!offered.includes(t)) {
      throw misbehaved(
        "unoffered_certificate_type",
        `Cannot accept EncryptedExtensions: ${label} ${certificateTypeName(t)} was not offered`,
        where,
      );
    }
    return t;
  };
  const server = pick(E.serverCertificateType, types?.server ?? [x509], "server_certificate_type");
  const client = pick(E.clientCertificateType, types?.client ?? [x509], "client_certificate_type");
  // A resumption has no Certificate: whatever the server answers (or not) authenticates nothing.
  if (server === x509 && types && !types.server.includes(x509) && !resumed) {
    throw incompatible(
      "no_common_certificate_type",
      "Cannot accept EncryptedExtensions: the server did not choose a raw public key, and X.509 was not offered",
      where,
    );
  }
  return { server, client };
}

// ---- Server --------------------------------------------------------------------------------------

/** What a server can present and accept. */
export interface ServerCertificateTypes {
  /** The types it can present, best first: RawPublicKey when it has a raw key, X509 when it has chains. */
  readonly server: readonly number[];
  /** The types it accepts from a client it asks (empty when it asks none). */
  readonly client: readonly number[];
}

/** The server's choices for one ClientHello: undefined means the extension is not answered. */
export interface ServerChoice {
  /** The type of our Certificate. */
  readonly server: number;
  /** Whether EncryptedExtensions carries server_certificate_type. */
  readonly answerServer: boolean;
  /** The type the client's Certificate must have; undefined when no client certificate is asked for. */
  readonly client: number | undefined;
  /** Whether EncryptedExtensions carries client_certificate_type. */
  readonly answerClient: boolean;
}

/**
 * RFC 7250 §4.2: for each extension the client sent, the first of its types we support (the client lists
 * them in preference order); none in common is unsupported_certificate. Without the extension the type is
 * X.509. A client type is chosen only when we ask for a certificate: with none in common, an optional request
 * is not made (`client` undefined) and a required one fails.
 */
export function chooseCertificateTypes(
  ours: ServerCertificateTypes,
  exts: readonly Extension[],
  clientRequired: boolean,
  where: string,
): ServerChoice {
  const x509 = [CertificateType.x509];
  const sData = findExtension(exts, E.serverCertificateType);
  const sOffered = sData === undefined
    ? x509
    : decodeCertificateTypeList(sData, "ClientHello.server_certificate_type");
  const server = sOffered.find((t) => ours.server.includes(t));
  if (server === undefined) {
    throw incompatible(
      "no_common_certificate_type",
      sData === undefined
        ? "Cannot accept ClientHello: we have no X.509 certificate and the client does not take raw public keys"
        : "Cannot accept ClientHello: no server certificate type in common",
      where,
    );
  }
  const cData = findExtension(exts, E.clientCertificateType);
  const cOffered = cData === undefined
    ? x509
    : decodeCertificateTypeList(cData, "ClientHello.client_certificate_type");
  let client: number | undefined;
  if (ours.client.length > 0) {
    client = cOffered.find((t) => ours.client.includes(t));
    if (client === undefined && clientRequired) {
      throw incompatible(
        "no_common_certificate_type",
        "Cannot accept ClientHello: a client certificate is required and no client certificate type is in common",
        where,
      );
    }
  }
  return {
    server,
    answerServer: sData !== undefined,
    client,
    answerClient: cData !== undefined && client !== undefined,
  };
}

/**
 * A server's raw key as the chain it sends: one entry, the SubjectPublicKeyInfo (the key's own, or `spki`
 * if it is that key's: a TypeError otherwise).
 */
export function serverRawKey(raw: ServerRawKeyConfig): ServerCert {
  let made = serverKeys.get(raw);
  if (!made) serverKeys.set(raw, made = decodeServerKey(raw));
  return made;
}

type ServerRawKeyConfig = { readonly key: SigningKey; readonly spki?: string | Uint8Array };
/** Each configuration's raw key, checked once (a configuration is normalized for every connection). */
const serverKeys = new WeakMap<ServerRawKeyConfig, ServerCert>();

function decodeServerKey(raw: ServerRawKeyConfig): ServerCert {
  const given = raw.spki === undefined
    ? undefined
    : typeof raw.spki === "string"
    ? pemDecode(raw.spki, "PUBLIC KEY")[0]
    : raw.spki;
  if (given !== undefined) {
    let same = false;
    try {
      same = samePublicKey(publicKeyFromSpki(given), raw.key.publicKey);
    } catch {
      // an unreadable key is not the same
    }
    if (!same) {
      throw new TypeError("Cannot configure rawPublicKey: spki is not the public key of rawPublicKey.key");
    }
  }
  return { chain: [given ?? raw.key.publicKey.spki], key: raw.key };
}

/** The EncryptedExtensions answers for `choice` (RFC 7250 §4.2). */
export function answerCertificateTypes(choice: ServerChoice): Extension[] {
  const out: Extension[] = [];
  if (choice.answerClient) out.push({ type: E.clientCertificateType, data: Uint8Array.of(choice.client!) });
  if (choice.answerServer) out.push({ type: E.serverCertificateType, data: Uint8Array.of(choice.server) });
  return out;
}
