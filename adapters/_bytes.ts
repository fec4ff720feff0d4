// Copyright 2026 the airlock authors. MIT license.
// This module is browser compatible.

/**
 * Chunk checks shared by the adapters (private).
 *
 * @module
 */

/**
 * View a chunk as a Uint8Array: a Uint8Array as it is, an ArrayBuffer or another view over its bytes.
 *
 * @param chunk The chunk.
 * @param what The start of the error message.
 * @returns The bytes.
 * @throws {TypeError} If the chunk holds no bytes.
 */
export function asBytes(chunk: unknown, what: string): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const kind = chunk === null
    ? "null"
    : typeof chunk === "object"
    ? chunk.constructor?.name ?? "object"
    : typeof chunk;
  throw new TypeError(`${what}: expected a Uint8Array, got ${kind}`);
}

/**
 * Readables known not to be byte streams ({@linkcode nodeSocketStreams}'s): `connectTls` takes a default
 * reader from them at once. For any other readable it first asks for a BYOB reader, and a stream that is not
 * a byte stream refuses with a TypeError: on Node that error formats the whole stream into its message, 3% of
 * a server's CPU time per connection under load.
 */
export const notByteStreams: WeakSet<ReadableStream<Uint8Array>> = new WeakSet();
