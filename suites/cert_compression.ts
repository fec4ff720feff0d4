// Copyright 2026 the airlock authors. MIT license.
// This module is browser compatible.

/**
 * Certificate compression codecs (RFC 8879): what `certificateCompression` in a client or server
 * configuration takes. A {@link CertCompressor} compresses a Certificate message body and decompresses one
 * without ever producing more than the `uncompressed_length` the peer announced.
 *
 * What {@link certCompressors} finds on each runtime:
 *
 * | runtime                    | zlib (1)                                  | brotli (2)  | zstd (3)                             |
 * | -------------------------- | ----------------------------------------- | ----------- | ------------------------------------ |
 * | Node ≥ 20.16, Bun, Deno    | node:zlib, synchronous                    | node:zlib   | node:zlib where it has it (Node ≥ 22.15, Bun, Deno) |
 * | browsers, other runtimes   | `CompressionStream("deflate")`, async     | none        | none                                 |
 *
 * node:zlib is reached through `process.getBuiltinModule` the first time it is needed, never imported, so a
 * browser bundle does not pull it in. Its decompression is bounded by `maxOutputLength`: it stops with an
 * error once the output would pass the announced length, before allocating more. The web-standard
 * `DecompressionStream` is fed 64 bytes at a time and read as it goes, so a bomb stops within one slice's
 * worth of output (deflate expands at most about 1032:1) past the bound.
 *
 * No pure-JavaScript brotli or zstd decoder is bundled. Of the npm ones, `brotli` (2.1.0) bounds its output
 * when given the length, but allocates a ring buffer of 2^window_bits bytes, up to 16 MiB chosen by the peer,
 * and carries a 0.8 MB dictionary module into every bundle; `fzstd` (0.1.1, decompression only) throws once
 * a caller's buffer is full, but sizes its window from the frame header, also the peer's choice; the rest are
 * WebAssembly builds of 200 KB and more (brotli-wasm, brotli-dec-wasm, zstddec) or unmaintained. So brotli and
 * zstd are offered only where node:zlib has them; a browser application that wants them can wrap a decoder of
 * its choice in a {@link CertCompressor}.
 *
 * @module
 */

import { getBuiltinModule } from "./node_crypto.ts";

/**
 * One certificate compression algorithm (RFC 8879 §3): its code point, how to compress a Certificate message
 * body, and how to decompress one to at most a given length.
 *
 * @example A compressor of your own (here: zlib through node:zlib)
 * ```ts
 * import assert from "node:assert/strict";
 * import { deflateSync, inflateSync } from "node:zlib";
 * import type { CertCompressor } from "./cert_compression.ts";
 *
 * const zlib: CertCompressor = {
 *   algorithm: 1,
 *   name: "zlib",
 *   compress: (data) => new Uint8Array(deflateSync(data)),
 *   decompress: (data, length) => new Uint8Array(inflateSync(data, { maxOutputLength: Math.max(1, length) })),
 * };
 * const body = new Uint8Array(1000).fill(7);
 * assert.deepEqual(await zlib.decompress(await zlib.compress!(body), 1000), body);
 * ```
 */
export interface CertCompressor {
  /** The CertificateCompressionAlgorithm code point: 1 zlib, 2 brotli, 3 zstd (RFC 8879 §7.3). */
  readonly algorithm: number;
  /** Its name, e.g. "brotli", for messages and the `message` event. */
  readonly name: string;
  /**
   * Compress a Certificate message body (RFC 8879 §4). Without it this algorithm is only offered for
   * receiving. A promise makes the engine wait (WANT_ASYNC); the server keeps the result per chain.
   */
  readonly compress?: (data: Uint8Array) => Uint8Array | Promise<Uint8Array>;
  /**
   * Decompress `data`, which the peer says is `length` bytes once decompressed. It must fail (throw or reject)
   * rather than produce more than `length` bytes, and should stop as soon as it would, without allocating the
   * rest. The engine refuses any output that is not exactly `length` bytes.
   */
  decompress(data: Uint8Array, length: number): Uint8Array | Promise<Uint8Array>;
}

/** The names {@link certCompressors} knows. */
export type CertCompressionName = "zlib" | "brotli" | "zstd";

interface NodeZlib {
  deflateSync(data: Uint8Array, options?: object): Uint8Array;
  inflateSync(data: Uint8Array, options?: object): Uint8Array;
  brotliCompressSync?(data: Uint8Array, options?: object): Uint8Array;
  brotliDecompressSync?(data: Uint8Array, options?: object): Uint8Array;
  zstdCompressSync?(data: Uint8Array, options?: object): Uint8Array;
  zstdDecompressSync?(data: Uint8Array, options?: object): Uint8Array;
  constants: Record<string, number>;
}

let zlibModule: NodeZlib | null | undefined;

/** node:zlib, or null where the runtime has none. */
function nodeZlib(): NodeZlib | null {
  if (zlibModule !== undefined) return zlibModule;
  try {
    zlibModule = (getBuiltinModule()?.("node:zlib") as NodeZlib | undefined) ?? null;
  } catch {
    zlibModule = null;
  }
  return zlibModule;
}

/** A Buffer's bytes as a plain Uint8Array, without a copy. */
function plain(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** A node:zlib codec: `compress` and `decompress` are its synchronous calls, the latter bounded by `maxOutputLength`. */
function nodeCodec(
  algorithm: number,
  name: CertCompressionName,
  compress: (data: Uint8Array) => Uint8Array,
  decompress: (data: Uint8Array, options: object) => Uint8Array,
): CertCompressor {
  return Object.freeze({
    algorithm,
    name,
    compress: (data: Uint8Array) => plain(compress(data)),
    // maxOutputLength: node:zlib stops with ERR_BUFFER_TOO_LARGE once the output would pass it (at least 1).
    decompress: (data: Uint8Array, length: number) =>
      plain(decompress(data, { maxOutputLength: Math.max(1, length) })),
  });
}

/** The node:zlib compressor for `name`, or undefined where this runtime's node:zlib lacks it. */
function nodeCompressor(z: NodeZlib, name: CertCompressionName): CertCompressor | undefined {
  const c = z.constants;
  switch (name) {
    case "zlib":
      return nodeCodec(1, name, (d) => z.deflateSync(d, { level: 9 }), (d, o) => z.inflateSync(d, o));
    case "brotli": {
      const { brotliCompressSync: compress, brotliDecompressSync: decompress } = z;
      if (!compress || !decompress) return undefined;
      const params = { [c.BROTLI_PARAM_QUALITY!]: 11, [c.BROTLI_PARAM_MODE!]: c.BROTLI_MODE_GENERIC };
      return nodeCodec(2, name, (d) => compress(d, { params }), (d, o) => decompress(d, o));
    }
    case "zstd": {
      const { zstdCompressSync: compress, zstdDecompressSync: decompress } = z;
      if (!compress || !decompress) return undefined;
      const params = { [c.ZSTD_c_compressionLevel!]: 19 };
      return nodeCodec(3, name, (d) => compress(d, { params }), (d, o) => decompress(d, o));
    }
  }
}

/**
 * Run `data` through a web-standard (De)CompressionStream `chunk` bytes at a time (64 by default, so that a
 * decompression is stopped soon after its output passes `max`), failing once the output passes `max`.
 */
async function throughStream(
  stream: CompressionStream | DecompressionStream,
  data: Uint8Array,
  max: number,
  chunk = 64,
): Promise<Uint8Array> {
  let at = 0;
  const input = new ReadableStream<BufferSource>({
    pull(controller) {
      if (at >= data.length) return controller.close();
      controller.enqueue(data.slice(at, at += chunk));
    },
  }, { highWaterMark: 0 });
  const reader = input.pipeThrough<Uint8Array>(stream).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel().catch(() => {});
      throw new RangeError(`Cannot decompress: the output passes ${max} bytes`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let n = 0;
  for (const chunk of chunks) out.set(chunk, n), n += chunk.length;
  return out;
}

/**
 * zlib (RFC 1950) through the web-standard `CompressionStream("deflate")` and `DecompressionStream("deflate")`:
 * what browsers have. Asynchronous: a handshake that uses it waits through WANT_ASYNC. {@link certCompressors}
 * gives it where there is no node:zlib.
 *
 * @returns The zlib compressor, or undefined where the runtime has no `DecompressionStream`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { webZlibCompressor } from "./cert_compression.ts";
 *
 * const zlib = webZlibCompressor()!;
 * const body = new Uint8Array(4096).fill(1);
 * const compressed = await zlib.compress!(body);
 * assert.ok(compressed.length < 100);
 * assert.deepEqual(await zlib.decompress(compressed, 4096), body);
 * await assert.rejects(async () => await zlib.decompress(compressed, 4000));
 * ```
 */
export function webZlibCompressor(): CertCompressor | undefined {
  if (typeof DecompressionStream !== "function" || typeof CompressionStream !== "function") return undefined;
  return Object.freeze({
    algorithm: 1,
    name: "zlib",
    // Compressed in one piece: Deno's CompressionStream ends a deflate block at each chunk it is given.
    compress: (data: Uint8Array) =>
      throughStream(new CompressionStream("deflate"), data, Infinity, Math.max(1, data.length)),
    decompress: (data: Uint8Array, length: number) =>
      throughStream(new DecompressionStream("deflate"), data, length),
  });
}

/**
 * The certificate compressors this runtime has, in our preference order (brotli, zstd, zlib), or the ones
 * `names` lists, in its order (a name the runtime lacks is left out): node:zlib's on Node, Bun and Deno,
 * {@link webZlibCompressor} elsewhere. Pass them as `certificateCompression` to a client (which then offers
 * them) or a server (which then compresses its Certificate for a client that offers one, and asks a client to
 * compress its own).
 *
 * @param names The algorithms wanted (default: all that the runtime has).
 * @returns The compressors, possibly none.
 *
 * @example Offer what the runtime can decompress
 * ```ts
 * import assert from "node:assert/strict";
 * import { certCompressors } from "./cert_compression.ts";
 *
 * const all = certCompressors();
 * assert.ok(all.some((c) => c.name === "zlib"));
 * assert.deepEqual(certCompressors(["zlib"]).map((c) => c.algorithm), [1]);
 * ```
 */
export function certCompressors(names?: readonly CertCompressionName[]): CertCompressor[] {
  const wanted = names ?? ["brotli", "zstd", "zlib"];
  const z = nodeZlib();
  const out: CertCompressor[] = [];
  for (const name of wanted) {
    const c = z ? nodeCompressor(z, name) : name === "zlib" ? webZlibCompressor() : undefined;
    if (c) out.push(c);
  }
  return out;
}

/**
 * Check a `certificateCompression` list: at most 127 compressors (the extension holds 2..254 bytes), each with
 * a distinct algorithm in 0..65535 and a `decompress` function. Returns a frozen copy.
 *
 * @param list The configured compressors (undefined: none).
 * @returns The same compressors, frozen.
 */
export function checkCertCompressors(list: readonly CertCompressor[] | undefined): readonly CertCompressor[] {
  if (list === undefined) return Object.freeze([]);
  if (list.length > 127) {
    throw new RangeError(`Cannot configure certificateCompression: ${list.length} algorithms, more than 127`);
  }
  const seen = new Set<number>();
  for (const c of list) {
    if (!Number.isInteger(c?.algorithm) || c.algorithm < 0 || c.algorithm > 0xffff) {
      throw new RangeError(
        `Cannot configure certificateCompression: algorithm ${c?.algorithm} is not a uint16`,
      );
    }
    if (typeof c.decompress !== "function") {
      throw new TypeError(`Cannot configure certificateCompression: "${c.name}" has no decompress function`);
    }
    if (seen.has(c.algorithm)) {
      throw new RangeError(`Cannot configure certificateCompression: algorithm ${c.algorithm} appears twice`);
    }
    seen.add(c.algorithm);
  }
  return Object.freeze([...list]);
}
