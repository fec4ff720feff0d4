// This module is browser compatible.
/**
 * Byte helpers shared by the crypto provider and the engine: concatenation, a
 * constant-time comparison for MACs and Finished values, hex and UTF-8.
 *
 * @module
 */

const encoder = new TextEncoder();
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * Concatenate byte arrays into a new array.
 *
 * @param parts The arrays to join, in order.
 * @returns A fresh array holding every byte of `parts`.
 *
 * @example Join a header and a body
 * ```ts
 * import assert from "node:assert/strict";
 * import { concat } from "./bytes.ts";
 * assert.deepEqual(concat(new Uint8Array([1]), new Uint8Array([2, 3])), new Uint8Array([1, 2, 3]));
 * ```
 */
export function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Compare two byte arrays in time that depends only on their length.
 *
 * Lengths are treated as public (MACs and Finished values have fixed sizes), so
 * a length mismatch returns `false` at once; equal-length inputs are compared by
 * OR-ing the XOR of every byte pair, with no early exit on the first difference.
 * JavaScript engines promise no timing, so this is algorithmic constant time only.
 *
 * @param a The first array.
 * @param b The second array.
 * @returns Whether `a` and `b` hold the same bytes.
 *
 * @example Check a received MAC
 * ```ts
 * import assert from "node:assert/strict";
 * import { ctEqual } from "./bytes.ts";
 * assert.equal(ctEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])), true);
 * assert.equal(ctEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])), false);
 * ```
 */
export function ctEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * Encode bytes as lower-case hexadecimal.
 *
 * @param bytes The bytes to encode.
 * @returns Two hex digits per byte.
 *
 * @example Encode two bytes
 * ```ts
 * import assert from "node:assert/strict";
 * import { toHex } from "./bytes.ts";
 * assert.equal(toHex(new Uint8Array([0x0a, 0xff])), "0aff");
 * ```
 */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += HEX[byte];
  return out;
}

/**
 * Decode hexadecimal text (either case) into bytes.
 *
 * @param hex An even number of hex digits, with no separators.
 * @returns The decoded bytes.
 * @throws {RangeError} If `hex` has odd length or a non-hex character.
 *
 * @example Decode two bytes
 * ```ts
 * import assert from "node:assert/strict";
 * import { fromHex } from "./bytes.ts";
 * assert.deepEqual(fromHex("0aFF"), new Uint8Array([0x0a, 0xff]));
 * ```
 */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0) {
    throw new RangeError(`Cannot decode hex: length ${hex.length} is odd`);
  }
  if (!/^[0-9a-fA-F]*$/.test(hex)) {
    throw new RangeError("Cannot decode hex: input has a non-hex character");
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Encode bytes as unpadded base64url (RFC 4648 §5), as JSON Web Keys carry them.
 *
 * @param bytes The bytes to encode.
 * @returns The base64url text, without `=` padding.
 *
 * @example Encode three bytes
 * ```ts
 * import assert from "node:assert/strict";
 * import { toBase64Url } from "./bytes.ts";
 * assert.equal(toBase64Url(new Uint8Array([0xfb, 0xff, 0x01])), "-_8B");
 * ```
 */
export function toBase64Url(bytes: Uint8Array): string {
  return (base64UrlOf ??= pickBase64Url())(bytes);
}

/** Bytes to unpadded base64url, by the fastest means at hand (a JWK's key members, per handshake on Node). */
let base64UrlOf: ((bytes: Uint8Array) => string) | undefined;

function pickBase64Url(): (bytes: Uint8Array) => string {
  const B = globalBuffer();
  if (B) return (bytes) => B.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("base64url");
  const native = (Uint8Array.prototype as { toBase64?: unknown }).toBase64;
  if (typeof native === "function") {
    return (bytes) => native.call(bytes, { alphabet: "base64url", omitPadding: true }) as string;
  }
  return (bytes) => {
    let bin = "";
    for (const b of bytes) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
}

/** The runtime's global `Buffer` (Node, Bun), whose native encoders beat the web's for small inputs. */
function globalBuffer():
  | { from(b: ArrayBufferLike, offset: number, length: number): { toString(enc: string): string } }
  | undefined {
  const B = (globalThis as { Buffer?: ReturnType<typeof globalBuffer> }).Buffer;
  return typeof B?.from === "function" ? B : undefined;
}

/**
 * Encode a string as UTF-8.
 *
 * @param text The string to encode.
 * @returns Its UTF-8 bytes.
 *
 * @example Encode a TLS label
 * ```ts
 * import assert from "node:assert/strict";
 * import { utf8 } from "./bytes.ts";
 * assert.deepEqual(utf8("tls13 "), new Uint8Array([0x74, 0x6c, 0x73, 0x31, 0x33, 0x20]));
 * ```
 */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Bytes to a string of one code point per byte, each byte value its own, by the fastest means at hand. */
let keyOf: ((bytes: Uint8Array) => string) | undefined;

function pickKeyOf(): (bytes: Uint8Array) => string {
  const B = globalBuffer();
  if (B) return (bytes) => B.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("latin1");
  try {
    // The WHATWG "latin1" decoder is windows-1252: still a different code point for each byte value.
    const decoder = new TextDecoder("latin1");
    return (bytes) => decoder.decode(bytes);
  } catch {
    return (bytes) => {
      let s = "";
      for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
      return s;
    };
  }
}

/**
 * A string that stands for `bytes` in a Map: equal strings for equal bytes, and different ones otherwise
 * (one code point per byte, each byte value its own). It is not meant to be read. Native decoding: for a
 * 600-byte certificate, a `String.fromCharCode` spread took 26 µs on Node, the WHATWG latin1 `TextDecoder`
 * 3–11 µs on Node, Bun and Deno, and `Buffer`'s latin1 0.2–0.5 µs where there is a global `Buffer` (Node, Bun).
 *
 * @param bytes The bytes.
 * @returns Their key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bytesKey } from "./bytes.ts";
 * assert.equal(bytesKey(Uint8Array.of(1, 2)), bytesKey(Uint8Array.of(1, 2)));
 * assert.notEqual(bytesKey(Uint8Array.of(0x80)), bytesKey(Uint8Array.of(0x81)));
 * ```
 */
export function bytesKey(bytes: Uint8Array): string {
  return (keyOf ??= pickKeyOf())(bytes);
}
