/**
 * Certificate compression in the TLS 1.3 handshake (RFC 8879), for both roles:
 *
 * - offering: a client's ClientHello and a server's CertificateRequest carry compress_certificate with the
 *   algorithms it can decompress ({@link compressionOffer});
 * - sending: the peer that received such an offer may send a CompressedCertificate instead of its Certificate,
 *   with our first algorithm it listed ({@link chooseCompressor}, {@link sendCertificate}); the compressed
 *   bytes are kept per chain and algorithm, in a bounded cache;
 * - receiving: {@link readCompressedCertificate} checks the algorithm was offered (illegal_parameter),
 *   refuses an uncompressed_length past `maxHandshakeMessageSize` before decompressing anything, decompresses
 *   to at most that length, and hands the result on as the Certificate it stands for, which then takes the
 *   ordinary path (context, extensions, `maxPeerChainLength`, verification). The transcript holds the
 *   CompressedCertificate as it was sent (RFC 8879 §4).
 *
 * TLS 1.2 ignores the extension (RFC 8879 §3): nothing here runs there.
 * @module
 */

import { invalidCertificate, misbehaved } from "./errors.ts";
import { compressionAlgorithmName, ExtensionType as E, HandshakeType as H } from "./msgs/enums.ts";
import type { Extension } from "./msgs/extensions.ts";
import type { HandshakeMessage } from "./msgs/handshake.ts";
import {
  decodeCompressCertificate,
  decodeCompressedCertificate,
  encodeCompressCertificate,
  encodeCompressedCertificate,
} from "./msgs/compressed_certificate.ts";
import { andThen, type Context, isPromiseLike, type Step } from "./state.ts";
import { ByteKeyedCache } from "../suites/cache.ts";
import type { CertCompressor } from "../suites/cert_compression.ts";

/** The compress_certificate extension offering `compressors`, or undefined when there are none. */
export function compressionOffer(compressors: readonly CertCompressor[]): Extension | undefined {
  if (compressors.length === 0) return undefined;
  return {
    type: E.compressCertificate,
    data: encodeCompressCertificate(compressors.map((c) => c.algorithm)),
  };
}

/**
 * The compressor to send our Certificate with: the first of ours that compresses and that the peer listed in
 * its compress_certificate body `data` (undefined: the peer sent none). Unknown algorithms are ignored; a
 * malformed list is decode_error (RFC 8879 §3: `algorithms<2..2^8-2>`). With compression off (`ours` empty)
 * the extension is not ours to judge: ignored unread, as any extension we do not implement (tlsfuzzer sends
 * extension 27 as filler among unassigned ones).
 */
export function chooseCompressor(
  ours: readonly CertCompressor[],
  data: Uint8Array | undefined,
  what: string,
): CertCompressor | undefined {
  if (data === undefined || ours.length === 0) return undefined;
  const theirs = decodeCompressCertificate(data, what);
  return ours.find((c) => c.compress !== undefined && theirs.includes(c.algorithm));
}

/** Compressed Certificate bodies by algorithm and body: 64 of them, for bodies of at most 64 KiB. */
const compressed = new ByteKeyedCache<Uint8Array | Promise<Uint8Array>>(64, 1 << 16);

/**
 * Send `certificate` (a whole Certificate message, header included), as a CompressedCertificate when
 * `compressor` is given, then go on with `next` (asynchronously when the compressor is). A compressor that
 * fails, or whose output does not fit the message, leaves the Certificate uncompressed: compression is an
 * option the peer offered, never a reason to fail.
 */
export function sendCertificate(
  cx: Context,
  certificate: Uint8Array,
  compressor: CertCompressor | undefined,
  next: () => Step,
): Step {
  if (!compressor?.compress) {
    cx.sendHandshake(certificate);
    return next();
  }
  const compress = compressor.compress;
  const body = certificate.subarray(4);
  let out: Uint8Array | Promise<Uint8Array> | undefined;
  try {
    out = compressed.get(`${compressor.algorithm}/${compressor.name}`, body, () => compress(body));
  } catch {
    out = undefined;
  }
  const send = (bytes: Uint8Array | undefined): Step => {
    if (bytes === undefined || bytes.length === 0 || bytes.length > 0xffffff) {
      cx.sendHandshake(certificate);
    } else {
      cx.sendHandshake(
        encodeCompressedCertificate({
          algorithm: compressor.algorithm,
          uncompressedLength: body.length,
          compressed: bytes,
        }),
      );
    }
    return next();
  };
  if (isPromiseLike(out)) return andThen(Promise.resolve(out).catch(() => undefined), send);
  return send(out);
}

/**
 * Take a CompressedCertificate (RFC 8879 §4) in answer to our offer of `offered`, and go on with `next` and
 * the Certificate it holds (its `raw` is the CompressedCertificate's, for the transcript):
 * - an algorithm we did not offer: illegal_parameter (`peer_misbehaved.unoffered_compression_algorithm`);
 * - uncompressed_length past `maxHandshakeMessageSize`: bad_certificate
 *   (`certificate.compressed_certificate_too_large`), before any decompression;
 * - data that does not decompress, or not to exactly uncompressed_length bytes: bad_certificate
 *   (`certificate.bad_compressed_certificate`); decompression stops at that length.
 * Asynchronous (WANT_ASYNC) when the decompressor is.
 */
export function readCompressedCertificate(
  cx: Context,
  m: HandshakeMessage,
  offered: readonly CertCompressor[],
  where: string,
  next: (certificate: HandshakeMessage) => Step,
): Step {
  const cc = decodeCompressedCertificate(m.body);
  const name = compressionAlgorithmName(cc.algorithm);
  const decompressor = offered.find((c) => c.algorithm === cc.algorithm);
  if (!decompressor) {
    throw misbehaved(
      "unoffered_compression_algorithm",
      `Cannot accept CompressedCertificate: algorithm ${name} was not offered`,
      where,
    );
  }
  const max = cx.cfg.maxHandshakeMessageSize;
  if (cc.uncompressedLength > max) {
    throw invalidCertificate(
      "compressed_certificate_too_large",
      `Cannot accept CompressedCertificate: uncompressed_length ${cc.uncompressedLength} is more than maxHandshakeMessageSize (${max})`,
      where,
    );
  }
  const failed = () =>
    invalidCertificate(
      "bad_compressed_certificate",
      `Cannot accept CompressedCertificate: it does not decompress to uncompressed_length (${cc.uncompressedLength}) bytes with ${name}`,
      where,
    );
  const check = (body: Uint8Array): Step => {
    if (body.length !== cc.uncompressedLength) throw failed();
    return next({ type: H.certificate, body, raw: m.raw });
  };
  let out: Uint8Array | Promise<Uint8Array>;
  try {
    out = decompressor.decompress(cc.compressed, cc.uncompressedLength);
  } catch {
    throw failed();
  }
  if (!isPromiseLike(out)) return check(out);
  return { pending: Promise.resolve(out).then(check, () => Promise.reject(failed())) };
}
