/**
 * Certificate compression on the wire (RFC 8879): the compress_certificate extension (27), in a ClientHello
 * or a CertificateRequest, and the CompressedCertificate message (25) that takes a Certificate's place.
 * @module
 */

import { Reader, Writer } from "./codec.ts";
import { HandshakeType as H } from "./enums.ts";
import { frame } from "./handshake.ts";

/** compress_certificate (RFC 8879 §3): `CertificateCompressionAlgorithm algorithms<2..2^8-2>`. */
export function decodeCompressCertificate(data: Uint8Array, what: string): number[] {
  const r = new Reader(data, what);
  const out = r.u16List(2, 254, "algorithms", 1);
  r.end();
  return out;
}

/** Encode compress_certificate for 1..127 algorithms. */
export function encodeCompressCertificate(algorithms: readonly number[]): Uint8Array {
  return new Writer(1 + 2 * algorithms.length).prefixed(1, (w) => {
    for (const a of algorithms) w.u16(a);
  }).finish();
}

/** CompressedCertificate (RFC 8879 §4). */
export interface CompressedCertificate {
  /** The CertificateCompressionAlgorithm. */
  readonly algorithm: number;
  /** The length of the Certificate message body once decompressed (uint24). */
  readonly uncompressedLength: number;
  /** The compressed Certificate message body: `opaque compressed_certificate_message<1..2^24-1>`. */
  readonly compressed: Uint8Array;
}

/** Decode a CompressedCertificate body. */
export function decodeCompressedCertificate(body: Uint8Array): CompressedCertificate {
  const r = new Reader(body, "CompressedCertificate", 4);
  const algorithm = r.u16();
  const uncompressedLength = r.u24();
  const compressed = r.vec24(1, 0xffffff, "compressed_certificate_message");
  r.end();
  return { algorithm, uncompressedLength, compressed };
}

/** Encode a CompressedCertificate, header included (what the transcript hashes). */
export function encodeCompressedCertificate(m: CompressedCertificate): Uint8Array {
  const w = new Writer(m.compressed.length + 8).u16(m.algorithm).u24(m.uncompressedLength);
  return frame(H.compressedCertificate, w.vec(3, m.compressed).finish());
}
