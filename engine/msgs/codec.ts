/**
 * The wire codec: a bounds-checked {@link Reader} and a length-prefixing {@link Writer}.
 *
 * Every read is checked; a short input throws `invalid_message.too_short` with the message name and the
 * byte offset, and `end()` rejects trailing bytes. Vectors nest the way the RFC's `<a..b>` notation does.
 * @module
 */

import { invalidMessage } from "../errors.ts";

/** A cursor over bytes, named after the message it decodes (for errors). */
export class Reader {
  #buf: Uint8Array;
  #pos = 0;
  #base: number;
  /** The message being decoded, e.g. `ServerHello`. */
  readonly what: string;

  /**
   * @param buf The bytes.
   * @param what The message name used in errors.
   * @param base The offset of `buf[0]` within the whole message (for error offsets).
   */
  constructor(buf: Uint8Array, what: string, base = 0) {
    this.#buf = buf;
    this.what = what;
    this.#base = base;
  }

  /** Offset of the cursor within the whole message. */
  get offset(): number {
    return this.#base + this.#pos;
  }

  /** Bytes left. */
  get left(): number {
    return this.#buf.length - this.#pos;
  }

  /** Where we are, as `Message+offset`. */
  get where(): string {
    return `${this.what}+${this.offset}`;
  }

  #need(n: number): void {
    if (this.left < n) {
      throw invalidMessage(
        "too_short",
        `Cannot decode ${this.what}: needs ${n} more bytes, has ${this.left}`,
        this.where,
      );
    }
  }

  /** One byte. */
  u8(): number {
    this.#need(1);
    return this.#buf[this.#pos++]!;
  }

  /** A big-endian u16. */
  u16(): number {
    this.#need(2);
    const b = this.#buf, p = this.#pos;
    this.#pos += 2;
    return (b[p]! << 8) | b[p + 1]!;
  }

  /** A big-endian u24. */
  u24(): number {
    this.#need(3);
    const b = this.#buf, p = this.#pos;
    this.#pos += 3;
    return (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!;
  }

  /** A big-endian u32. */
  u32(): number {
    this.#need(4);
    const b = this.#buf, p = this.#pos;
    this.#pos += 4;
    return ((b[p]! << 24) >>> 0) + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
  }

  /** A big-endian u64 that fits a JavaScript number exactly (a time in milliseconds, say); throws beyond 2^53. */
  u64(): number {
    const at = this.offset;
    const high = this.u32();
    if (high >= 2 ** 21) {
      throw invalidMessage(
        "bad_length",
        `Cannot decode ${this.what}: a u64 beyond 2^53`,
        `${this.what}+${at}`,
      );
    }
    return high * 2 ** 32 + this.u32();
  }

  /** `n` bytes (a view, not a copy). */
  bytes(n: number): Uint8Array {
    this.#need(n);
    const out = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  /** All remaining bytes. */
  rest(): Uint8Array {
    return this.bytes(this.left);
  }

  #vec(lenBytes: 1 | 2 | 3, min: number, max: number, label: string): Uint8Array {
    const at = this.offset;
    const len = lenBytes === 1 ? this.u8() : lenBytes === 2 ? this.u16() : this.u24();
    if (len < min || len > max) {
      throw invalidMessage(
        "bad_length",
        `Cannot decode ${this.what}: ${label} length ${len} is outside ${min}..${max}`,
        `${this.what}+${at}`,
      );
    }
    return this.bytes(len);
  }

  /** An opaque vector with a 1-byte length, as `opaque x<min..max>`. */
  vec8(min = 0, max = 0xff, label = "vector"): Uint8Array {
    return this.#vec(1, min, max, label);
  }

  /** An opaque vector with a 2-byte length. */
  vec16(min = 0, max = 0xffff, label = "vector"): Uint8Array {
    return this.#vec(2, min, max, label);
  }

  /** An opaque vector with a 3-byte length. */
  vec24(min = 0, max = 0xffffff, label = "vector"): Uint8Array {
    return this.#vec(3, min, max, label);
  }

  /** A sub-reader over a length-prefixed vector, sharing this reader's name and offsets. */
  sub(lenBytes: 1 | 2 | 3, min = 0, max = 0xffffff, label = "vector"): Reader {
    const start = this.offset + lenBytes;
    const body = this.#vec(lenBytes, min, max, label);
    return new Reader(body, this.what, start);
  }

  /** A list of u16 values in a vector with a 2-byte length (`uint16 x<min..max>`); the length must be even. */
  u16List(min: number, max: number, label: string, lenBytes: 1 | 2 = 2): number[] {
    const at = this.offset;
    const r = this.sub(lenBytes, min, max, label);
    if (r.left % 2 !== 0) {
      throw invalidMessage(
        "bad_length",
        `Cannot decode ${this.what}: ${label} has an odd length`,
        `${this.what}+${at}`,
      );
    }
    const out: number[] = [];
    while (r.left > 0) out.push(r.u16());
    return out;
  }

  /** Reject trailing bytes. */
  end(): void {
    if (this.left !== 0) {
      throw invalidMessage(
        "trailing_data",
        `Cannot decode ${this.what}: ${this.left} trailing bytes`,
        this.where,
      );
    }
  }
}

/** A growable byte builder with nested length prefixes. */
export class Writer {
  #buf: Uint8Array;
  #len = 0;

  constructor(initial = 256) {
    this.#buf = new Uint8Array(initial);
  }

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < this.#len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#len;
  }

  /** One byte. */
  u8(v: number): this {
    this.#reserve(1);
    this.#buf[this.#len++] = v & 0xff;
    return this;
  }

  /** A big-endian u16. */
  u16(v: number): this {
    this.#reserve(2);
    this.#buf[this.#len++] = (v >>> 8) & 0xff;
    this.#buf[this.#len++] = v & 0xff;
    return this;
  }

  /** A big-endian u24. */
  u24(v: number): this {
    this.#reserve(3);
    this.#buf[this.#len++] = (v >>> 16) & 0xff;
    this.#buf[this.#len++] = (v >>> 8) & 0xff;
    this.#buf[this.#len++] = v & 0xff;
    return this;
  }

  /** A big-endian u32. */
  u32(v: number): this {
    this.#reserve(4);
    this.u8(v >>> 24).u8(v >>> 16).u8(v >>> 8).u8(v);
    return this;
  }

  /** A big-endian u64 from a non-negative safe integer. */
  u64(v: number): this {
    return this.u32(Math.floor(v / 2 ** 32)).u32(v % 2 ** 32);
  }

  /** Raw bytes. */
  bytes(b: Uint8Array): this {
    this.#reserve(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
    return this;
  }

  /** A vector whose body `fn` writes, prefixed with its length in `lenBytes` bytes. */
  prefixed(lenBytes: 1 | 2 | 3, fn: (w: this) => void): this {
    this.#reserve(lenBytes);
    const at = this.#len;
    this.#len += lenBytes;
    fn(this);
    const n = this.#len - at - lenBytes;
    if (n >= 2 ** (8 * lenBytes)) {
      throw new RangeError(`Cannot encode vector: length ${n} exceeds ${lenBytes} bytes`);
    }
    for (let i = 0; i < lenBytes; i++) this.#buf[at + i] = (n >>> (8 * (lenBytes - 1 - i))) & 0xff;
    return this;
  }

  /** An opaque vector with a length prefix. */
  vec(lenBytes: 1 | 2 | 3, b: Uint8Array): this {
    return this.prefixed(lenBytes, (w) => w.bytes(b));
  }

  /** A copy of what was written. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}
