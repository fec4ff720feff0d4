/**
 * Handshake messages (RFC 8446 §4): one decode/encode pair per message. Decoders take the message body
 * (without the 4-byte header) and reject trailing bytes; encoders return the whole message with its header,
 * which is what the transcript hashes.
 * @module
 */

import { misbehaved } from "../errors.ts";
import { decodeExtensions, encodeExtensions, type Extension } from "./extensions.ts";
import { HandshakeType as H } from "./enums.ts";
import { Reader, Writer } from "./codec.ts";

/** A handshake message as framed: type, body, and the raw bytes (header + body) for the transcript. */
export interface HandshakeMessage {
  readonly type: number;
  readonly body: Uint8Array;
  readonly raw: Uint8Array;
}

/** Frame a message body with its 4-byte header. */
export function frame(type: number, body: Uint8Array): Uint8Array {
  return new Writer(body.length + 4).u8(type).u24(body.length).bytes(body).finish();
}

/** The special random that marks a ServerHello as a HelloRetryRequest (RFC 8446 §4.1.3). */
export const HRR_RANDOM: Uint8Array = Uint8Array.from([
  0xcf,
  0x21,
  0xad,
  0x74,
  0xe5,
  0x9a,
  0x61,
  0x11,
  0xbe,
  0x1d,
  0x8c,
  0x02,
  0x1e,
  0x65,
  0xb8,
  0x91,
  0xc2,
  0xa2,
  0x11,
  0x16,
  0x7a,
  0xbb,
  0x8c,
  0x5e,
  0x07,
  0x9e,
  0x09,
  0xe2,
  0xc8,
  0xa8,
  0x33,
  0x9c,
]);

/** ClientHello (RFC 8446 §4.1.2). */
export interface ClientHello {
  readonly legacyVersion: number;
  readonly random: Uint8Array;
  readonly sessionId: Uint8Array;
  readonly cipherSuites: readonly number[];
  readonly compressionMethods: Uint8Array;
  readonly extensions: readonly Extension[];
}

/** Decode a ClientHello body. */
export function decodeClientHello(body: Uint8Array): ClientHello {
  const r = new Reader(body, "ClientHello", 4);
  const legacyVersion = r.u16();
  const random = r.bytes(32);
  const sessionId = r.vec8(0, 32, "legacy_session_id");
  const cipherSuites = r.u16List(2, 0xfffe, "cipher_suites");
  const compressionMethods = r.vec8(1, 255, "legacy_compression_methods");
  // Extensions may be absent entirely in a pre-1.3 ClientHello.
  const extensions = r.left === 0 ? [] : decodeExtensions(r);
  r.end();
  return { legacyVersion, random, sessionId, cipherSuites, compressionMethods, extensions };
}

/** Encode a ClientHello. */
export function encodeClientHello(m: ClientHello): Uint8Array {
  const w = new Writer(512).u16(m.legacyVersion).bytes(m.random).vec(1, m.sessionId);
  w.prefixed(2, (w) => {
    for (const s of m.cipherSuites) w.u16(s);
  });
  w.vec(1, m.compressionMethods);
  encodeExtensions(w, m.extensions);
  return frame(H.clientHello, w.finish());
}

/** ServerHello or HelloRetryRequest (RFC 8446 §4.1.3, §4.1.4). */
export interface ServerHello {
  readonly legacyVersion: number;
  readonly random: Uint8Array;
  readonly sessionId: Uint8Array;
  readonly cipherSuite: number;
  readonly compressionMethod: number;
  readonly extensions: readonly Extension[];
}

/** Whether a ServerHello is a HelloRetryRequest. */
export function isHelloRetryRequest(sh: ServerHello): boolean {
  return sh.random.every((b, i) => b === HRR_RANDOM[i]);
}

/** Decode a ServerHello body. */
export function decodeServerHello(body: Uint8Array): ServerHello {
  const r = new Reader(body, "ServerHello", 4);
  const legacyVersion = r.u16();
  const random = r.bytes(32);
  const sessionId = r.vec8(0, 32, "legacy_session_id_echo");
  const cipherSuite = r.u16();
  const compressionMethod = r.u8();
  const extensions = r.left === 0 ? [] : decodeExtensions(r);
  r.end();
  return { legacyVersion, random, sessionId, cipherSuite, compressionMethod, extensions };
}

/** Encode a ServerHello. */
export function encodeServerHello(m: ServerHello): Uint8Array {
  const w = new Writer(256).u16(m.legacyVersion).bytes(m.random).vec(1, m.sessionId);
  w.u16(m.cipherSuite).u8(m.compressionMethod);
  encodeExtensions(w, m.extensions);
  return frame(H.serverHello, w.finish());
}

/** Decode EncryptedExtensions (RFC 8446 §4.3.1). */
export function decodeEncryptedExtensions(body: Uint8Array): Extension[] {
  const r = new Reader(body, "EncryptedExtensions", 4);
  const exts = decodeExtensions(r);
  r.end();
  return exts;
}

/** Encode EncryptedExtensions. */
export function encodeEncryptedExtensions(exts: readonly Extension[]): Uint8Array {
  const w = new Writer();
  encodeExtensions(w, exts);
  return frame(H.encryptedExtensions, w.finish());
}

/** CertificateRequest (RFC 8446 §4.3.2). */
export interface CertificateRequest {
  readonly context: Uint8Array;
  readonly extensions: readonly Extension[];
}

/** Decode a CertificateRequest body. */
export function decodeCertificateRequest(body: Uint8Array): CertificateRequest {
  const r = new Reader(body, "CertificateRequest", 4);
  const context = r.vec8(0, 255, "certificate_request_context");
  const extensions = decodeExtensions(r, 2);
  r.end();
  return { context, extensions };
}

/** Encode a CertificateRequest. */
export function encodeCertificateRequest(m: CertificateRequest): Uint8Array {
  const w = new Writer().vec(1, m.context);
  encodeExtensions(w, m.extensions);
  return frame(H.certificateRequest, w.finish());
}

/** One CertificateEntry (X.509 only). */
export interface CertificateEntry {
  readonly certData: Uint8Array;
  readonly extensions: readonly Extension[];
}

/** Certificate (RFC 8446 §4.4.2). */
export interface Certificate {
  readonly context: Uint8Array;
  readonly entries: readonly CertificateEntry[];
}

/** Decode a Certificate body. */
export function decodeCertificate(body: Uint8Array): Certificate {
  const r = new Reader(body, "Certificate", 4);
  const context = r.vec8(0, 255, "certificate_request_context");
  const list = r.sub(3, 0, 0xffffff, "certificate_list");
  r.end();
  const entries: CertificateEntry[] = [];
  while (list.left > 0) {
    const certData = list.vec24(1, 0xffffff, "cert_data");
    const extensions = decodeExtensions(list);
    entries.push({ certData, extensions });
  }
  return { context, entries };
}

/** Encode a Certificate. */
export function encodeCertificate(m: Certificate): Uint8Array {
  const w = new Writer(4096).vec(1, m.context);
  w.prefixed(3, (w) => {
    for (const e of m.entries) {
      w.vec(3, e.certData);
      encodeExtensions(w, e.extensions);
    }
  });
  return frame(H.certificate, w.finish());
}

/** CertificateVerify (RFC 8446 §4.4.3). */
export interface CertificateVerify {
  readonly scheme: number;
  readonly signature: Uint8Array;
}

/** Decode a CertificateVerify body. */
export function decodeCertificateVerify(body: Uint8Array): CertificateVerify {
  const r = new Reader(body, "CertificateVerify", 4);
  const scheme = r.u16();
  const signature = r.vec16(0, 0xffff, "signature"); // may be empty (RFC 8446 §4.4.3): it then fails to verify
  r.end();
  return { scheme, signature };
}

/** Encode a CertificateVerify. */
export function encodeCertificateVerify(m: CertificateVerify): Uint8Array {
  return frame(H.certificateVerify, new Writer().u16(m.scheme).vec(2, m.signature).finish());
}

/** Decode Finished (RFC 8446 §4.4.4): verify_data of exactly the hash length. */
export function decodeFinished(body: Uint8Array, hashLen: number): Uint8Array {
  const r = new Reader(body, "Finished", 4);
  const v = r.bytes(hashLen);
  r.end();
  return v;
}

/** Encode Finished. */
export function encodeFinished(verifyData: Uint8Array): Uint8Array {
  return frame(H.finished, verifyData);
}

/** NewSessionTicket (RFC 8446 §4.6.1). */
export interface NewSessionTicket {
  readonly lifetime: number;
  readonly ageAdd: number;
  readonly nonce: Uint8Array;
  readonly ticket: Uint8Array;
  readonly extensions: readonly Extension[];
}

/** Decode a NewSessionTicket body. */
export function decodeNewSessionTicket(body: Uint8Array): NewSessionTicket {
  const r = new Reader(body, "NewSessionTicket", 4);
  const lifetime = r.u32();
  const ageAdd = r.u32();
  const nonce = r.vec8(0, 255, "ticket_nonce");
  const ticket = r.vec16(1, 0xffff, "ticket");
  const extensions = decodeExtensions(r);
  r.end();
  // RFC 8446 §4.6.1: "Servers MUST NOT use any value greater than 604800 seconds (7 days)".
  if (lifetime > 604800) {
    throw misbehaved("ticket_lifetime", "Cannot accept NewSessionTicket: ticket_lifetime exceeds 7 days");
  }
  return { lifetime, ageAdd, nonce, ticket, extensions };
}

/** Encode a NewSessionTicket. */
export function encodeNewSessionTicket(m: NewSessionTicket): Uint8Array {
  const w = new Writer().u32(m.lifetime).u32(m.ageAdd).vec(1, m.nonce).vec(2, m.ticket);
  encodeExtensions(w, m.extensions);
  return frame(H.newSessionTicket, w.finish());
}

/** Encode EndOfEarlyData (RFC 8446 §4.5): an empty body. */
export function encodeEndOfEarlyData(): Uint8Array {
  return frame(H.endOfEarlyData, new Uint8Array(0));
}

/** Decode KeyUpdate (RFC 8446 §4.6.3): returns request_update (0 or 1). */
export function decodeKeyUpdate(body: Uint8Array): 0 | 1 {
  const r = new Reader(body, "KeyUpdate", 4);
  const v = r.u8();
  r.end();
  if (v !== 0 && v !== 1) {
    throw misbehaved("bad_key_update", `Cannot accept KeyUpdate: request_update is ${v}`);
  }
  return v;
}

/** Encode KeyUpdate. */
export function encodeKeyUpdate(requestUpdate: boolean): Uint8Array {
  return frame(H.keyUpdate, Uint8Array.of(requestUpdate ? 1 : 0));
}

// ---- TLS 1.2 (RFC 5246 §7.4, RFC 8422 §5, RFC 5077 §3.3) ---------------------------------------------------

/** An empty-bodied message: HelloRequest or ServerHelloDone. */
export function decodeEmptyMessage(body: Uint8Array, what: string): void {
  new Reader(body, what, 4).end();
}

/** Encode HelloRequest (server → client: "renegotiate"; we never send it but in tests). */
export function encodeHelloRequest(): Uint8Array {
  return frame(H.helloRequest, new Uint8Array(0));
}

/** Encode ServerHelloDone. */
export function encodeServerHelloDone(): Uint8Array {
  return frame(H.serverHelloDone, new Uint8Array(0));
}

/** ServerKeyExchange for ECDHE (RFC 8422 §5.4): named-curve parameters, then the signature over them. */
export interface ServerKeyExchange12 {
  readonly group: number;
  readonly publicKey: Uint8Array;
  readonly scheme: number;
  readonly signature: Uint8Array;
}

/** ECCurveType named_curve (RFC 8422 §5.4); explicit curves are deprecated and refused. */
const NAMED_CURVE = 3;

/** The signed part of a ServerKeyExchange: ServerECDHParams (curve_type, named group, point). */
export function encodeEcdheParams(group: number, publicKey: Uint8Array): Uint8Array {
  return new Writer().u8(NAMED_CURVE).u16(group).vec(1, publicKey).finish();
}

/** Decode an ECDHE ServerKeyExchange body; `params` is the signed part. */
export function decodeServerKeyExchange12(body: Uint8Array): ServerKeyExchange12 & { params: Uint8Array } {
  const r = new Reader(body, "ServerKeyExchange", 4);
  const curveType = r.u8();
  if (curveType !== NAMED_CURVE) {
    throw misbehaved(
      "explicit_curve",
      `Cannot accept ServerKeyExchange: curve_type ${curveType} is not named_curve`,
      "ServerKeyExchange+4",
    );
  }
  const group = r.u16();
  const publicKey = r.vec8(1, 255, "ECPoint");
  const params = body.subarray(0, 4 + publicKey.length);
  const scheme = r.u16();
  const signature = r.vec16(0, 0xffff, "signature"); // may be empty (RFC 8446 §4.4.3): it then fails to verify
  r.end();
  return { group, publicKey, scheme, signature, params };
}

/** Encode an ECDHE ServerKeyExchange. */
export function encodeServerKeyExchange12(m: ServerKeyExchange12): Uint8Array {
  const w = new Writer().bytes(encodeEcdheParams(m.group, m.publicKey)).u16(m.scheme).vec(2, m.signature);
  return frame(H.serverKeyExchange, w.finish());
}

/** Decode an ECDHE ClientKeyExchange body: the client's point (RFC 8422 §5.7). */
export function decodeClientKeyExchange12(body: Uint8Array): Uint8Array {
  const r = new Reader(body, "ClientKeyExchange", 4);
  const point = r.vec8(1, 255, "ECPoint");
  r.end();
  return point;
}

/** Encode an ECDHE ClientKeyExchange. */
export function encodeClientKeyExchange12(publicKey: Uint8Array): Uint8Array {
  return frame(H.clientKeyExchange, new Writer().vec(1, publicKey).finish());
}

/** TLS 1.2 Certificate: a bare list of DER certificates (RFC 5246 §7.4.2). */
export function decodeCertificate12(body: Uint8Array): Uint8Array[] {
  const r = new Reader(body, "Certificate", 4);
  const list = r.sub(3, 0, 0xffffff, "certificate_list");
  r.end();
  const out: Uint8Array[] = [];
  while (list.left > 0) out.push(list.vec24(1, 0xffffff, "ASN.1Cert"));
  return out;
}

/** Encode a TLS 1.2 Certificate. */
export function encodeCertificate12(chain: readonly Uint8Array[]): Uint8Array {
  const w = new Writer(4096).prefixed(3, (w) => {
    for (const c of chain) w.vec(3, c);
  });
  return frame(H.certificate, w.finish());
}

/** TLS 1.2 CertificateRequest (RFC 5246 §7.4.4). */
export interface CertificateRequest12 {
  /** ClientCertificateType values: 1 rsa_sign, 64 ecdsa_sign (RFC 8422 §5.5). */
  readonly certificateTypes: readonly number[];
  readonly signatureSchemes: readonly number[];
  readonly certificateAuthorities: readonly Uint8Array[];
}

/** Decode a TLS 1.2 CertificateRequest body. */
export function decodeCertificateRequest12(body: Uint8Array): CertificateRequest12 {
  const r = new Reader(body, "CertificateRequest", 4);
  const certificateTypes = [...r.vec8(1, 255, "certificate_types")];
  const sa = r.sub(2, 2, 0xfffe, "supported_signature_algorithms");
  const signatureSchemes: number[] = [];
  while (sa.left > 0) signatureSchemes.push(sa.u16());
  const cas = r.sub(2, 0, 0xffff, "certificate_authorities");
  r.end();
  const certificateAuthorities: Uint8Array[] = [];
  while (cas.left > 0) certificateAuthorities.push(cas.vec16(1, 0xffff, "DistinguishedName"));
  return { certificateTypes, signatureSchemes, certificateAuthorities };
}

/** Encode a TLS 1.2 CertificateRequest. */
export function encodeCertificateRequest12(m: CertificateRequest12): Uint8Array {
  const w = new Writer().vec(1, Uint8Array.from(m.certificateTypes));
  w.prefixed(2, (w) => {
    for (const s of m.signatureSchemes) w.u16(s);
  });
  w.prefixed(2, (w) => {
    for (const n of m.certificateAuthorities) w.vec(2, n);
  });
  return frame(H.certificateRequest, w.finish());
}

/** TLS 1.2 NewSessionTicket (RFC 5077 §3.3). */
export interface NewSessionTicket12 {
  /** Seconds; 0 means unspecified. */
  readonly lifetimeHint: number;
  readonly ticket: Uint8Array;
}

/** Decode a TLS 1.2 NewSessionTicket body. */
export function decodeNewSessionTicket12(body: Uint8Array): NewSessionTicket12 {
  const r = new Reader(body, "NewSessionTicket", 4);
  const lifetimeHint = r.u32();
  const ticket = r.vec16(0, 0xffff, "ticket");
  r.end();
  return { lifetimeHint, ticket };
}

/** Encode a TLS 1.2 NewSessionTicket. */
export function encodeNewSessionTicket12(m: NewSessionTicket12): Uint8Array {
  return frame(H.newSessionTicket, new Writer().u32(m.lifetimeHint).vec(2, m.ticket).finish());
}
