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
