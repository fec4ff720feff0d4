// Copyright 2026 the airlock authors. MIT license.

/**
 * The decoder fuzz targets: the record framer and handshake reassembly, every handshake message, every extension
 * body, and X.509 certificates. A decoder may only fail with its own typed error (TlsError for the wire, CertError
 * for certificates); anything else thrown is a finding, and so is a decoded message that does not encode back to
 * the same bytes where the encoding is canonical.
 * @module
 */

import { TlsError } from "../engine/errors.ts";
import { ExtensionType as E, HandshakeType as H } from "../engine/msgs/enums.ts";
import * as rawKeys from "../engine/raw_keys.ts";
import * as ext from "../engine/msgs/extensions.ts";
import * as hs from "../engine/msgs/handshake.ts";
import * as cc from "../engine/msgs/compressed_certificate.ts";
import { Reader } from "../engine/msgs/codec.ts";
import { HandshakeJoiner, RecordReader } from "../engine/record/layer.ts";
import { CertError, parseCertificate } from "../verify/_cert.ts";
import { InvariantViolation } from "./invariant.ts";
import { decodeEchClientHello } from "../engine/ech/wire.ts";
import { parseEchConfigList } from "../engine/ech/config.ts";

/** Run `fn`; only `allowed` errors may escape it. */
function only(allowed: readonly (new (...a: never[]) => Error)[], what: string, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (allowed.some((k) => e instanceof k)) return;
    const desc = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    throw new InvariantViolation(`${what} threw ${desc}`, { cause: e });
  }
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Record framing and reassembly: `data` pushed in pieces whose sizes the data itself picks. */
export function fuzzRecord(data: Uint8Array): void {
  only([TlsError], "RecordReader/HandshakeJoiner", () => {
    const reader = new RecordReader();
    const joiner = new HandshakeJoiner(1024 + (data[0] ?? 0) * 64);
    let at = 1;
    while (at < data.length) {
      const n = Math.min(reader.room(), 1 + (data[at]! % 37), data.length - at);
      reader.push(data.subarray(at, at + n));
      at += n;
      for (let rec = reader.take(); rec; rec = reader.take()) {
        if (rec.body.length > 16384 + 256) {
          throw new InvariantViolation("a record over 2^14 + 256 bytes was framed");
        }
        if (rec.type !== 22) continue;
        joiner.push(rec.body);
        for (let m = joiner.take(); m; m = joiner.take()) {
          if (m.raw.length !== m.body.length + 4) {
            throw new InvariantViolation("a message's raw and body disagree");
          }
        }
      }
    }
  });
}

const MESSAGES: Record<number, (body: Uint8Array) => Uint8Array | undefined> = {
  [H.clientHello]: (b) => {
    const m = hs.decodeClientHello(b);
    return m.extensions.length > 0 ? hs.encodeClientHello(m) : undefined;
  },
  [H.serverHello]: (b) => {
    const m = hs.decodeServerHello(b);
    return m.extensions.length > 0 ? hs.encodeServerHello(m) : undefined;
  },
  [H.encryptedExtensions]: (b) => hs.encodeEncryptedExtensions(hs.decodeEncryptedExtensions(b)),
  [H.certificateRequest]: (b) => hs.encodeCertificateRequest(hs.decodeCertificateRequest(b)),
  [H.certificate]: (b) => hs.encodeCertificate(hs.decodeCertificate(b)),
  [H.certificateVerify]: (b) => hs.encodeCertificateVerify(hs.decodeCertificateVerify(b)),
  [H.finished]: (b) => hs.encodeFinished(hs.decodeFinished(b, b.length === 48 ? 48 : 32)),
  [H.newSessionTicket]: (b) => hs.encodeNewSessionTicket(hs.decodeNewSessionTicket(b)),
  [H.keyUpdate]: (b) => hs.encodeKeyUpdate(hs.decodeKeyUpdate(b) === 1),
  [H.compressedCertificate]: (b) => cc.encodeCompressedCertificate(cc.decodeCompressedCertificate(b)),
};
/**
 * The message an input's byte 0 picks, in the order fuzz/make_corpus.ts writes the seeds with (new ones go at
 * the end, so that the seed corpus keeps its meaning).
 */
export const MESSAGE_TYPES: readonly number[] = [
  H.clientHello,
  H.serverHello,
  H.encryptedExtensions,
  H.certificateRequest,
  H.certificate,
  H.certificateVerify,
  H.finished,
  H.newSessionTicket,
  H.keyUpdate,
  H.compressedCertificate,
];

/** One handshake message: byte 0 picks the type, the rest is the body; decode, and re-encode where canonical. */
export function fuzzMessage(data: Uint8Array): void {
  const type = MESSAGE_TYPES[(data[0] ?? 0) % MESSAGE_TYPES.length]!;
  const body = data.subarray(1);
  only([TlsError], `decode ${type}`, () => {
    const again = MESSAGES[type]!(body);
    if (again && !same(again.subarray(4), body)) {
      throw new InvariantViolation(
        `message type ${type} does not re-encode to the bytes it was decoded from`,
      );
    }
  });
}

const EXTENSIONS: ((d: Uint8Array) => unknown)[] = [
  (d) => ext.decodeServerNameList(d, "server_name"),
  (d) => ext.decodeU16List(d, "supported_groups", "named_group_list"),
  (d) => ext.decodeAlpn(d, "alpn"),
  (d) => ext.decodeClientVersions(d, "supported_versions"),
  (d) => ext.decodeU8(d, "max_fragment_length"),
  (d) => ext.decodeU16(d, "record_size_limit"),
  (d) => ext.decodeU32(d, "early_data"),
  (d) => ext.decodeClientShares(d, "key_share"),
  (d) => ext.decodeServerShare(d, "key_share"),
  (d) => ext.decodePskModes(d, "psk_key_exchange_modes"),
  (d) => ext.decodeCookie(d, "cookie"),
  (d) => ext.decodeEmpty(d, "server_name"),
  (d) => ext.decodeCertificateAuthorities(d, "certificate_authorities"),
  (d) => ext.decodeOfferedPsks(d, "pre_shared_key"),
  (d) => {
    // A whole extension list, then the per-message rules.
    const list = ext.decodeExtensions(new Reader(d, "extensions"));
    for (
      const t of [H.serverHello, H.encryptedExtensions, H.certificateRequest, H.newSessionTicket] as const
    ) {
      only([TlsError], "checkAllowed", () => ext.checkAllowed("msg", t, list, new Set([E.alpn, E.keyShare])));
    }
    only([TlsError], "checkAllowed hrr", () => ext.checkAllowed("hrr", "hrr", list));
  },
  // RFC 7250: client/server_certificate_type in ClientHello (a list), in EncryptedExtensions (one type).
  (d) => rawKeys.decodeCertificateTypeList(d, "server_certificate_type"),
  (d) => rawKeys.decodeCertificateType(d, "server_certificate_type"),
  (d) => cc.decodeCompressCertificate(d, "compress_certificate"),
  // Encrypted Client Hello (after the list, so that older seeds keep their decoder).
  (d) => decodeEchClientHello(d, "encrypted_client_hello"),
  (d) => parseEchConfigList(d),
];

/** One extension body: byte 0 picks the decoder, the rest is the body. */
export function fuzzExtension(data: Uint8Array): void {
  const n = (data[0] ?? 0) % EXTENSIONS.length;
  only([TlsError], `extension decoder ${n}`, () => void EXTENSIONS[n]!(data.subarray(1)));
}

/** One DER certificate: parse it (CertError is the only failure allowed). */
export function fuzzCertificate(data: Uint8Array): void {
  only([CertError], "parseCertificate", () => void parseCertificate(data));
}
