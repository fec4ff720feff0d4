/**
 * Extension codecs (RFC 8446 §4.2): the generic list (with duplicate detection) and one
 * decode/encode pair per extension body we understand. Which extension may appear in which message is
 * checked by {@link checkAllowed}.
 * @module
 */

import { invalidMessage, misbehaved } from "../errors.ts";
import { extensionName, ExtensionType as E, HandshakeType as H } from "./enums.ts";
import { Reader, Writer } from "./codec.ts";

/** An extension as it is on the wire: a type and its body. */
export interface Extension {
  /** The ExtensionType, e.g. 0 for server_name. */
  readonly type: number;
  /** The extension_data, without the type and length. */
  readonly data: Uint8Array;
}

/**
 * Decode `Extension extensions<min..2^16-1>`; duplicates are illegal_parameter (RFC 8446 §4.2). The list's
 * length bounds the count (at most 16,383 empty extensions), and decoding is linear in it: any number of
 * unknown extensions is ignored, as OpenSSL does, not refused.
 */
export function decodeExtensions(r: Reader, min = 0): Extension[] {
  const list = r.sub(2, min, 0xffff, "extensions");
  const out: Extension[] = [];
  const seen = new Set<number>();
  while (list.left > 0) {
    const at = list.offset;
    const type = list.u16();
    const data = list.vec16(0, 0xffff, extensionName(type));
    if (seen.has(type)) {
      throw misbehaved(
        "duplicate_extension",
        `Cannot accept ${r.what}: extension ${extensionName(type)} appears twice`,
        `${r.what}+${at}`,
      );
    }
    seen.add(type);
    out.push({ type, data });
  }
  return out;
}

/** Encode an extension list. */
export function encodeExtensions(w: Writer, exts: readonly Extension[]): void {
  w.prefixed(2, (w) => {
    for (const e of exts) w.u16(e.type).vec(2, e.data);
  });
}

/** The body of extension `type`, if present. */
export function findExtension(exts: readonly Extension[], type: number): Uint8Array | undefined {
  return exts.find((e) => e.type === type)?.data;
}

// Which extensions each message may carry (RFC 8446 §4.2 table). Unknown types are allowed in
// ClientHello only (a server ignores them); in anything a server sends, an extension we did not offer
// is unsupported_extension, which the client checks against what it sent.
const ALLOWED: Record<number, readonly number[]> = {
  [H.serverHello]: [E.keyShare, E.preSharedKey, E.supportedVersions],
  [H.encryptedExtensions]: [
    E.serverName,
    E.maxFragmentLength,
    E.supportedGroups,
    E.alpn,
    E.recordSizeLimit,
    E.earlyData,
    E.heartbeat,
    E.clientCertificateType,
    E.serverCertificateType,
    E.useSrtp,
    E.quicTransportParameters,
    E.encryptedClientHello,
  ],
  [H.certificateRequest]: [
    E.statusRequest,
    E.signatureAlgorithms,
    E.signedCertificateTimestamp,
    E.certificateAuthorities,
    E.oidFilters,
    E.signatureAlgorithmsCert,
    E.compressCertificate, // RFC 8879 §3
  ],
  [H.certificate]: [E.statusRequest, E.signedCertificateTimestamp],
  [H.newSessionTicket]: [E.earlyData],
};
const HRR_ALLOWED: readonly number[] = [E.keyShare, E.cookie, E.supportedVersions, E.encryptedClientHello];
/** A TLS 1.2 ServerHello carries what TLS 1.3 moved to EncryptedExtensions, and the 1.2-only ones. */
const SH12_ALLOWED: readonly number[] = [
  E.serverName,
  E.maxFragmentLength,
  E.statusRequest,
  E.ecPointFormats,
  E.alpn,
  E.signedCertificateTimestamp,
  E.extendedMasterSecret,
  E.recordSizeLimit,
  E.sessionTicket,
  E.renegotiationInfo,
];

/**
 * Check that every extension in a message the peer sent is allowed there (RFC 8446 §4.2: "If an
 * implementation receives an extension which it recognizes and which is not specified for the message
 * in which it appears, it MUST abort the handshake with an illegal_parameter alert"). A server-sent
 * extension of a type the client never offered is unsupported_extension; the caller passes `offered`.
 */
export function checkAllowed(
  what: string,
  msgType: number | "hrr" | "sh12",
  exts: readonly Extension[],
  offered?: ReadonlySet<number>,
): void {
  const allowed = msgType === "hrr" ? HRR_ALLOWED : msgType === "sh12" ? SH12_ALLOWED : ALLOWED[msgType];
  for (const e of exts) {
    if (offered && !offered.has(e.type)) {
      // RFC 8446 §4.2: responses must only contain extensions the client offered.
      throw misbehaved(
        "unsolicited_extension",
        `Cannot accept ${what}: extension ${extensionName(e.type)} was not offered`,
        what,
      );
    }
    if (allowed && KNOWN.has(e.type) && !allowed.includes(e.type)) {
      throw misbehaved(
        "extension_not_allowed",
        `Cannot accept ${what}: extension ${extensionName(e.type)} is not allowed in this message`,
        what,
      );
    }
  }
}

const KNOWN = new Set<number>(Object.values(E));

// ---- Bodies -------------------------------------------------------------------------------------

/**
 * server_name in ClientHello (RFC 6066 §3): the host_name entry, if any, in lower case (host names compare
 * without regard to case, and an internationalized one arrives as A-labels).
 */
export function decodeServerNameList(data: Uint8Array, what: string): string | undefined {
  const r = new Reader(data, what);
  const list = r.sub(2, 1, 0xffff, "server_name_list");
  r.end();
  let host: string | undefined;
  while (list.left > 0) {
    const type = list.u8();
    const name = list.vec16(1, 0xffff, "HostName");
    if (type !== 0) continue;
    if (host !== undefined) {
      throw misbehaved("duplicate_server_name", `Cannot accept ${what}: two host_name entries`);
    }
    for (const b of name) {
      if (b === 0 || b > 0x7e) {
        throw invalidMessage(
          "bad_server_name",
          `Cannot accept ${what}: host_name is not printable ASCII`,
          what,
        );
      }
    }
    host = new TextDecoder().decode(name).toLowerCase();
  }
  return host;
}

/** server_name in ClientHello for `host`. */
export function encodeServerNameList(host: string): Uint8Array {
  const name = new TextEncoder().encode(host);
  return new Writer().prefixed(2, (w) => w.u8(0).vec(2, name)).finish();
}

/** A list of u16 in a 2-byte vector (supported_groups, signature_algorithms). */
export function decodeU16List(data: Uint8Array, what: string, label: string, min = 2): number[] {
  const r = new Reader(data, what);
  const out = r.u16List(min, 0xfffe, label);
  r.end();
  return out;
}

/** Encode a u16 list in a 2-byte vector. */
export function encodeU16List(values: readonly number[]): Uint8Array {
  return new Writer().prefixed(2, (w) => {
    for (const v of values) w.u16(v);
  }).finish();
}

/** ALPN ProtocolNameList (RFC 7301 §3.1). */
export function decodeAlpn(data: Uint8Array, what: string): string[] {
  const r = new Reader(data, what);
  const list = r.sub(2, 2, 0xffff, "protocol_name_list");
  r.end();
  const out: string[] = [];
  while (list.left > 0) out.push(new TextDecoder().decode(list.vec8(1, 0xff, "ProtocolName")));
  return out;
}

/** Encode an ALPN ProtocolNameList. */
export function encodeAlpn(protocols: readonly string[]): Uint8Array {
  return new Writer().prefixed(2, (w) => {
    for (const p of protocols) w.vec(1, new TextEncoder().encode(p));
  }).finish();
}

/** supported_versions in ClientHello: `ProtocolVersion versions<2..254>`. */
export function decodeClientVersions(data: Uint8Array, what: string): number[] {
  const r = new Reader(data, what);
  const out = r.u16List(2, 254, "versions", 1);
  r.end();
  return out;
}

/** A single u8 body (max_fragment_length, RFC 6066 §4). */
export function decodeU8(data: Uint8Array, what: string): number {
  const r = new Reader(data, what);
  const v = r.u8();
  r.end();
  return v;
}

/** A single u16 body (supported_versions in ServerHello, record_size_limit, HRR key_share). */
export function decodeU16(data: Uint8Array, what: string): number {
  const r = new Reader(data, what);
  const v = r.u16();
  r.end();
  return v;
}

/** A single u32 body (early_data in NewSessionTicket). */
export function decodeU32(data: Uint8Array, what: string): number {
  const r = new Reader(data, what);
  const v = r.u32();
  r.end();
  return v;
}

/** A single u16 body. */
export function encodeU16(v: number): Uint8Array {
  return new Writer(2).u16(v).finish();
}

/** One KeyShareEntry. */
export interface KeyShareEntry {
  readonly group: number;
  readonly keyExchange: Uint8Array;
}

function decodeEntry(r: Reader): KeyShareEntry {
  const group = r.u16();
  const keyExchange = r.vec16(1, 0xffff, "key_exchange");
  return { group, keyExchange };
}

/** key_share in ClientHello: `KeyShareEntry client_shares<0..2^16-1>`; one share per group at most. */
export function decodeClientShares(data: Uint8Array, what: string): KeyShareEntry[] {
  const r = new Reader(data, what);
  const list = r.sub(2, 0, 0xffff, "client_shares");
  r.end();
  const out: KeyShareEntry[] = [];
  const groups = new Set<number>(); // linear, not quadratic: 13 000 entries fit in one ClientHello
  while (list.left > 0) {
    const e = decodeEntry(list);
    if (groups.size === groups.add(e.group).size) {
      // RFC 8446 §4.2.8: "Clients MUST NOT offer multiple KeyShareEntry values for the same group."
      throw misbehaved("duplicate_key_share", `Cannot accept ${what}: two key shares for one group`);
    }
    out.push(e);
  }
  return out;
}

/** key_share in ClientHello. */
export function encodeClientShares(shares: readonly KeyShareEntry[]): Uint8Array {
  return new Writer().prefixed(2, (w) => {
    for (const s of shares) w.u16(s.group).vec(2, s.keyExchange);
  }).finish();
}

/** key_share in ServerHello: one KeyShareEntry. */
export function decodeServerShare(data: Uint8Array, what: string): KeyShareEntry {
  const r = new Reader(data, what);
  const e = decodeEntry(r);
  r.end();
  return e;
}

/** key_share in ServerHello. */
export function encodeServerShare(share: KeyShareEntry): Uint8Array {
  return new Writer().u16(share.group).vec(2, share.keyExchange).finish();
}

/** psk_key_exchange_modes: `PskKeyExchangeMode ke_modes<1..255>`. */
export function decodePskModes(data: Uint8Array, what: string): number[] {
  const r = new Reader(data, what);
  const modes = [...r.vec8(1, 255, "ke_modes")];
  r.end();
  return modes;
}

/** cookie: `opaque cookie<1..2^16-1>`. */
export function decodeCookie(data: Uint8Array, what: string): Uint8Array {
  const r = new Reader(data, what);
  const c = r.vec16(1, 0xffff, "cookie");
  r.end();
  return c;
}

/** Require an empty body (e.g. server_name in EncryptedExtensions). */
export function decodeEmpty(data: Uint8Array, what: string): void {
  new Reader(data, what).end();
}

/** certificate_authorities (RFC 8446 §4.2.4): `DistinguishedName authorities<3..2^16-1>`. */
export function decodeCertificateAuthorities(data: Uint8Array, what: string): Uint8Array[] {
  const r = new Reader(data, what);
  const list = r.sub(2, 3, 0xffff, "authorities");
  r.end();
  const out: Uint8Array[] = [];
  while (list.left > 0) out.push(list.vec16(1, 0xffff, "DistinguishedName"));
  return out;
}

/** Encode certificate_authorities from DER distinguished names. */
export function encodeCertificateAuthorities(names: readonly Uint8Array[]): Uint8Array {
  return new Writer().prefixed(2, (w) => {
    for (const n of names) w.vec(2, n);
  }).finish();
}

/** One PskIdentity (RFC 8446 §4.2.11). */
export interface PskIdentity {
  readonly identity: Uint8Array;
  readonly obfuscatedTicketAge: number;
}

/** pre_shared_key in ClientHello: the identities, the binders, and how many bytes the binders take at the end. */
export interface OfferedPsks {
  readonly identities: readonly PskIdentity[];
  readonly binders: readonly Uint8Array[];
  /** Length of the whole `binders` vector, its 2-byte length included: the tail the binder does not cover. */
  readonly bindersLength: number;
}

/** Decode OfferedPsks; identities and binders must pair up (illegal_parameter otherwise). */
export function decodeOfferedPsks(data: Uint8Array, what: string): OfferedPsks {
  const r = new Reader(data, what);
  const ids = r.sub(2, 7, 0xffff, "identities");
  const bindersStart = r.offset;
  const bs = r.sub(2, 33, 0xffff, "binders");
  const bindersLength = r.offset - bindersStart;
  r.end();
  const identities: PskIdentity[] = [];
  while (ids.left > 0) {
    identities.push({ identity: ids.vec16(1, 0xffff, "identity"), obfuscatedTicketAge: ids.u32() });
  }
  const binders: Uint8Array[] = [];
  while (bs.left > 0) binders.push(bs.vec8(32, 255, "PskBinderEntry"));
  if (identities.length !== binders.length) {
    throw misbehaved(
      "psk_binder_count",
      `Cannot accept ${what}: ${identities.length} identities but ${binders.length} binders`,
    );
  }
  return { identities, binders, bindersLength };
}

/** Encode OfferedPsks. */
export function encodeOfferedPsks(
  identities: readonly PskIdentity[],
  binders: readonly Uint8Array[],
): Uint8Array {
  const w = new Writer();
  w.prefixed(2, (w) => {
    for (const i of identities) w.vec(2, i.identity).u32(i.obfuscatedTicketAge);
  });
  w.prefixed(2, (w) => {
    for (const b of binders) w.vec(1, b);
  });
  return w.finish();
}
