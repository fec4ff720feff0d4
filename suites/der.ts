// This module is browser compatible.
/**
 * A strict DER reader (X.690 §10) for certificates and keys: definite lengths in their shortest form, one-byte
 * tags, no trailing bytes. It hands out subarrays of the input, so the exact bytes of `tbsCertificate`, of
 * names and of the SubjectPublicKeyInfo stay available for signatures and byte-wise name comparison.
 *
 * It sits at the bottom of the layers, below suites/ and verify/: suites/sign.ts reads SubjectPublicKeyInfo
 * with it, verify/_cert.ts whole certificates. Internal (not in suites/mod.ts): errors are
 * {@linkcode DerError}s, which each caller maps to its own (`bad_encoding` in verify/).
 *
 * @module
 */

/** Universal and context tags used by X.509. */
export const Tag = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  teletexString: 0x14,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  universalString: 0x1c,
  bmpString: 0x1e,
  sequence: 0x30,
  set: 0x31,
  /** [n] IMPLICIT/EXPLICIT constructed, e.g. `explicit(0)` is 0xa0. */
  explicit: (n: number): number => 0xa0 | n,
  /** [n] IMPLICIT primitive, e.g. `implicit(2)` is 0x82 (dNSName). */
  implicit: (n: number): number => 0x80 | n,
} as const;

/** A DER encoding rule was broken. The message says which one, for a `bad_encoding` reason. */
export class DerError extends Error {
  /**
   * @param message What is wrong, e.g. `length is not in its shortest form`.
   */
  constructor(message: string) {
    super(message);
    this.name = "DerError";
  }
}

/** One decoded element: its tag, its contents, and its whole encoding (tag, length and contents). */
export interface Tlv {
  readonly tag: number;
  readonly value: Uint8Array;
  readonly raw: Uint8Array;
}

/** Reads consecutive DER elements from a byte array. */
export class DerReader {
  readonly #bytes: Uint8Array;
  #pos = 0;

  /**
   * @param bytes The encoding to read; it is not copied.
   */
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** Whether every byte has been read. */
  atEnd(): boolean {
    return this.#pos >= this.#bytes.length;
  }

  /** The next tag, or undefined at the end. */
  peekTag(): number | undefined {
    return this.#bytes[this.#pos];
  }

  /** Read the next element, whatever its tag. */
  read(): Tlv {
    const b = this.#bytes;
    const start = this.#pos;
    if (start >= b.length) throw new DerError("unexpected end of data");
    const tag = b[start]!;
    if ((tag & 0x1f) === 0x1f) throw new DerError("multi-byte tags are not used by X.509");
    let pos = start + 1;
    if (pos >= b.length) throw new DerError("unexpected end of data in a length");
    const first = b[pos++]!;
    let length: number;
    if (first < 0x80) {
      length = first;
    } else {
      const count = first & 0x7f;
      if (count === 0) throw new DerError("indefinite lengths are not DER");
      if (count > 4) throw new DerError("length is too large");
      if (pos + count > b.length) throw new DerError("unexpected end of data in a length");
      if (b[pos] === 0) throw new DerError("length is not in its shortest form");
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + b[pos++]!;
      if (length < 0x80) throw new DerError("length is not in its shortest form");
    }
    if (length > b.length - pos) throw new DerError("element runs past the end of its container");
    const end = pos + length;
    this.#pos = end;
    return { tag, value: b.subarray(pos, end), raw: b.subarray(start, end) };
  }

  /**
   * Read the next element and require its tag.
   *
   * @param tag The expected tag.
   * @param what The element's name for the error message.
   */
  expect(tag: number, what: string): Tlv {
    const next = this.peekTag();
    if (next !== tag) {
      throw new DerError(
        next === undefined
          ? `${what} is missing`
          : `${what} has tag 0x${next.toString(16)}, expected 0x${tag.toString(16)}`,
      );
    }
    return this.read();
  }

  /**
   * Read the next element if it has this tag.
   *
   * @param tag The tag of the optional element.
   */
  optional(tag: number): Tlv | undefined {
    return this.peekTag() === tag ? this.read() : undefined;
  }

  /**
   * Require that nothing is left.
   *
   * @param what The container's name for the error message.
   */
  end(what: string): void {
    if (!this.atEnd()) throw new DerError(`${what} has trailing data`);
  }
}

/**
 * Read the contents of a DER element that must fill `bytes` exactly.
 *
 * @param bytes One whole element.
 * @param tag Its expected tag.
 * @param what Its name for error messages.
 */
export function readOnly(bytes: Uint8Array, tag: number, what: string): Uint8Array {
  const r = new DerReader(bytes);
  const tlv = r.expect(tag, what);
  r.end(what);
  return tlv.value;
}

/**
 * Check an INTEGER's contents are in their shortest two's-complement form.
 *
 * @param value The INTEGER contents.
 * @param what Its name for error messages.
 */
export function checkInteger(value: Uint8Array, what: string): Uint8Array {
  if (value.length === 0) throw new DerError(`${what} is an empty INTEGER`);
  if (
    value.length > 1 &&
    ((value[0] === 0x00 && value[1]! < 0x80) || (value[0] === 0xff && value[1]! >= 0x80))
  ) {
    throw new DerError(`${what} is not in its shortest form`);
  }
  return value;
}

/**
 * Read a non-negative INTEGER that fits a JavaScript number, e.g. pathLenConstraint.
 *
 * @param value The INTEGER contents.
 * @param what Its name for error messages.
 */
export function smallUint(value: Uint8Array, what: string): number {
  checkInteger(value, what);
  if (value[0]! >= 0x80) throw new DerError(`${what} is negative`);
  if (value.length > 6) throw new DerError(`${what} is too large`);
  let n = 0;
  for (const byte of value) n = n * 256 + byte;
  return n;
}

/**
 * Read a BOOLEAN's contents: DER allows only 0x00 and 0xff.
 *
 * @param value The BOOLEAN contents.
 * @param what Its name for error messages.
 */
export function readBoolean(value: Uint8Array, what: string): boolean {
  if (value.length !== 1 || (value[0] !== 0x00 && value[0] !== 0xff)) {
    throw new DerError(`${what} is not a DER BOOLEAN`);
  }
  return value[0] === 0xff;
}

/**
 * Decode an OBJECT IDENTIFIER's contents to dotted form, rejecting non-minimal sub-identifiers.
 *
 * @param value The OID contents.
 */
export function readOid(value: Uint8Array): string {
  if (value.length === 0) throw new DerError("OBJECT IDENTIFIER is empty");
  const arcs: number[] = [];
  let n = 0;
  let fresh = true;
  for (let i = 0; i < value.length; i++) {
    const byte = value[i]!;
    if (fresh && byte === 0x80) throw new DerError("OBJECT IDENTIFIER is not in its shortest form");
    if (n > 2 ** 45) throw new DerError("OBJECT IDENTIFIER arc is too large");
    n = n * 128 + (byte & 0x7f);
    fresh = (byte & 0x80) === 0;
    if (fresh) {
      if (arcs.length === 0) {
        const top = n < 40 ? 0 : n < 80 ? 1 : 2;
        arcs.push(top, n - top * 40);
      } else {
        arcs.push(n);
      }
      n = 0;
    }
  }
  if (!fresh) throw new DerError("OBJECT IDENTIFIER ends inside an arc");
  return arcs.join(".");
}

/**
 * Read a BIT STRING's contents: the unused-bit count, then the bits.
 *
 * @param value The BIT STRING contents.
 * @param what Its name for error messages.
 * @returns The bytes after the unused-bit count and that count.
 */
export function readBitString(value: Uint8Array, what: string): { bytes: Uint8Array; unused: number } {
  if (value.length === 0) throw new DerError(`${what} is an empty BIT STRING`);
  const unused = value[0]!;
  if (unused > 7 || (value.length === 1 && unused !== 0)) {
    throw new DerError(`${what} has an invalid unused-bit count`);
  }
  const bytes = value.subarray(1);
  if (unused > 0 && (bytes[bytes.length - 1]! & ((1 << unused) - 1)) !== 0) {
    throw new DerError(`${what} has non-zero padding bits`);
  }
  return { bytes, unused };
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function digits(text: string, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) throw new DerError("time has a non-digit");
    n = n * 10 + c;
  }
  return n;
}

/**
 * Read an X.509 Time (RFC 5280 §4.1.2.5): UTCTime `YYMMDDHHMMSSZ` (years 1950–2049) or GeneralizedTime
 * `YYYYMMDDHHMMSSZ`, without fractions or offsets.
 *
 * @param tlv The UTCTime or GeneralizedTime element.
 * @returns Seconds since the Unix epoch.
 */
export function readTime(tlv: Tlv): number {
  let text = "";
  for (const byte of tlv.value) text += String.fromCharCode(byte);
  let year: number;
  let rest: number;
  if (tlv.tag === Tag.utcTime) {
    if (text.length !== 13) throw new DerError("UTCTime is not YYMMDDHHMMSSZ");
    const yy = digits(text, 0, 2);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    rest = 2;
  } else if (tlv.tag === Tag.generalizedTime) {
    if (text.length !== 15) throw new DerError("GeneralizedTime is not YYYYMMDDHHMMSSZ");
    year = digits(text, 0, 4);
    rest = 4;
  } else {
    throw new DerError("time is neither UTCTime nor GeneralizedTime");
  }
  if (text[text.length - 1] !== "Z") throw new DerError("time is not in UTC (Z)");
  const month = digits(text, rest, 2);
  const day = digits(text, rest + 2, 2);
  const hour = digits(text, rest + 4, 2);
  const minute = digits(text, rest + 6, 2);
  const second = digits(text, rest + 8, 2);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const monthDays = month === 2 && leap ? 29 : DAYS[month - 1] ?? 0;
  if (month < 1 || month > 12 || day < 1 || day > monthDays || hour > 23 || minute > 59 || second > 59) {
    throw new DerError("time has a field out of range");
  }
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second));
  date.setUTCFullYear(year); // Date.UTC maps years 0–99 to 1900–1999
  return date.getTime() / 1000;
}
