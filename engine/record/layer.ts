/**
 * The record layer (RFC 8446 §5): framing, one direction's protection (Go's halfConn), the incremental
 * record reader with hard caps, and handshake-message reassembly.
 *
 * Limits enforced here (RFC 8446 §5.1, §5.2):
 * - TLSPlaintext.length ≤ 2^14, TLSCiphertext.length ≤ 2^14 + 256, inner plaintext ≤ 2^14 + 1 → record_overflow
 * - zero-length handshake/alert records and all-zero inner plaintexts → unexpected_message
 * - a handshake message larger than the configured maximum → a typed error, never unbounded buffering
 * @module
 */

import type { AeadKey, NativeAeadKey } from "../../suites/aead.ts";
import { concat } from "../../suites/bytes.ts";
import { decryptFailed, invalidMessage, misbehaved, TlsError } from "../errors.ts";
import { ContentType, contentTypeName, handshakeName, HandshakeType } from "../msgs/enums.ts";
import type { HandshakeMessage } from "../msgs/handshake.ts";
import { LIMITS } from "../limits.ts";

/** Largest TLSPlaintext fragment (2^14). */
export const MAX_PLAINTEXT = 16384;
/** Largest TLSCiphertext fragment (2^14 + 256). */
export const MAX_CIPHERTEXT = 16384 + 256;
/** Record header length. */
export const HEADER_LEN = 5;

/** Write a record header and body into one array. */
export function encodeRecord(type: number, version: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_LEN + body.length);
  out[0] = type;
  out[1] = version >>> 8;
  out[2] = version & 0xff;
  out[3] = body.length >>> 8;
  out[4] = body.length & 0xff;
  out.set(body, HEADER_LEN);
  return out;
}

/** A record as framed, before decryption. */
export interface RawRecord {
  readonly type: number;
  readonly version: number;
  /** The 5-byte header (the AAD in TLS 1.3). */
  readonly header: Uint8Array;
  readonly body: Uint8Array;
}

/** Between records the reader takes up to this many bytes at once: one record of the largest size. */
export const READ_AHEAD = HEADER_LEN + MAX_CIPHERTEXT;

/** Storage that holds nothing (shared: it is never written). */
const EMPTY = new Uint8Array(0);

/**
 * Incrementally frames records from bytes pulled off a BIO, holding at most one maximum-size record's worth of
 * them (`READ_AHEAD`, 5 + 2^14 + 256 bytes). Between records it takes that much at once if it is there (see
 * `room()`), so a run of small records costs one BIO read, and frames records out of those bytes one at a
 * time, each only when asked (`ready()`): a bad header is refused only once the records before it are
 * processed, as if each had been read on its own. A record whole in those bytes is handed over as views of
 * them (they are never written: the caller gave them away). One cut off at their end is assembled as the rest
 * comes, and the reader then wants exactly that rest: a header or body that arrives whole in an array the
 * caller gives away (`owned`) is kept as it is, otherwise it is allocated once the header says how long it is.
 * An idle reader holds nothing, and a record costs no copy beyond the arrays the BIO returned (a peer may send
 * 1-byte records; each must stay cheap).
 */
export class RecordReader {
  /** Bytes read ahead, not yet framed: `#ahead[#at, #ahead.length)`. */
  #ahead: Uint8Array = EMPTY;
  #at = 0;
  /** The body length of the record framed at `#at`, or -1 when none is. */
  #framed = -1;
  // A record cut off at the end of the bytes read ahead, assembled as the rest arrives.
  #header: Uint8Array | undefined;
  #headerLen = 0;
  #body: Uint8Array | undefined;
  #bodyTotal = 0;
  #bodyLen = 0;

  /**
   * How many bytes to read next, once `ready()` is false: the rest of a record begun, or, between records,
   * up to one record of the largest size.
   */
  room(): number {
    if (this.#headerLen === 0) return READ_AHEAD;
    if (this.#headerLen < HEADER_LEN) return HEADER_LEN - this.#headerLen;
    return this.#bodyTotal - this.#bodyLen;
  }

  /** Bytes held: read ahead, or of a record begun. */
  get buffered(): number {
    return this.#ahead.length - this.#at + this.#headerLen + this.#bodyLen;
  }

  /**
   * Append the next bytes of the stream: only once `ready()` is false, and at most `room()` of them.
   *
   * @param bytes The next bytes of the stream.
   * @param owned The caller gives `bytes` away: the reader may keep them (and hand out views of them) instead
   *   of a copy.
   * @throws {Error} If bytes read ahead still wait to be framed (`ready()` was not asked, or its record not
   *   taken).
   */
  push(bytes: Uint8Array, owned = false): void {
    if (this.#framed >= 0 || this.#at < this.#ahead.length) {
      throw new Error("Cannot push to the record reader: bytes read ahead are still waiting to be framed");
    }
    if (this.#headerLen === 0) {
      this.#ahead = owned ? bytes : bytes.slice();
      this.#at = 0;
      return;
    }
    const used = this.#assemble(bytes, owned);
    if (used === bytes.length) return;
    this.#ahead = owned ? bytes.subarray(used) : bytes.slice(used);
    this.#at = 0;
  }

  /** Add bytes to the record begun (or begin one): returns how many of `bytes` it took. */
  #assemble(bytes: Uint8Array, owned: boolean): number {
    let at = 0;
    if (this.#headerLen < HEADER_LEN) {
      if (owned && this.#headerLen === 0 && bytes.length === HEADER_LEN) {
        this.#header = bytes;
        at = HEADER_LEN;
      } else {
        // Byte by byte: at most 5, and no view to allocate.
        const header = this.#header ??= new Uint8Array(HEADER_LEN);
        for (; at < bytes.length && this.#headerLen + at < HEADER_LEN; at++) {
          header[this.#headerLen + at] = bytes[at]!;
        }
      }
      this.#headerLen += at;
      if (this.#headerLen < HEADER_LEN) return at;
      this.#bodyTotal = checkHeader(this.#header!, 0);
    }
    const rest = Math.min(bytes.length - at, this.#bodyTotal - this.#bodyLen);
    if (this.#body === undefined) {
      if (rest === 0 && this.#bodyTotal > 0) return at; // the body comes with the next push
      if (owned && rest === this.#bodyTotal) {
        this.#body = at === 0 && rest === bytes.length ? bytes : bytes.subarray(at, at + rest);
        this.#bodyLen = rest;
        return at + rest;
      }
      this.#body = new Uint8Array(this.#bodyTotal);
    }
    if (rest > 0) {
      this.#body.set(
        at === 0 && rest === bytes.length ? bytes : bytes.subarray(at, at + rest),
        this.#bodyLen,
      );
      this.#bodyLen += rest;
    }
    return at + rest;
  }

  /**
   * Whether a whole record waits for `take()`. Frames the next one out of the bytes read ahead if it can,
   * checking its header; one cut off at their end becomes the record begun, and `room()` says how much of it
   * is missing.
   *
   * @throws {TlsError} If the next record's header is bad: its content type, version or length.
   */
  ready(): boolean {
    if (this.#framed >= 0) return true;
    if (this.#headerLen > 0) return this.#headerLen === HEADER_LEN && this.#bodyLen === this.#bodyTotal;
    const a = this.#ahead, at = this.#at, left = a.length - at;
    if (left === 0) return false;
    if (left >= HEADER_LEN) {
      const length = checkHeader(a, at);
      if (left >= HEADER_LEN + length) {
        this.#framed = length;
        return true;
      }
    }
    this.#ahead = EMPTY;
    this.#at = 0;
    this.#assemble(at === 0 ? a : a.subarray(at), true);
    return false;
  }

  /** The record waiting for `take()`: its content type and body length; else undefined. */
  peek(): { readonly type: number; readonly length: number } | undefined {
    if (!this.ready()) return undefined;
    if (this.#framed >= 0) return { type: this.#ahead[this.#at]!, length: this.#framed };
    return { type: this.#header![0]!, length: this.#bodyLen };
  }

  /** The next complete record, or undefined if more bytes are needed. Its arrays are handed over. */
  take(): RawRecord | undefined {
    if (!this.ready()) return undefined;
    let header: Uint8Array, body: Uint8Array;
    if (this.#framed >= 0) {
      const a = this.#ahead, at = this.#at;
      header = a.subarray(at, at + HEADER_LEN);
      body = a.subarray(at + HEADER_LEN, this.#skip());
    } else {
      header = this.#header!;
      body = this.#body ?? EMPTY;
      this.#headerLen = this.#bodyLen = this.#bodyTotal = 0;
      this.#header = this.#body = undefined;
    }
    return { type: header[0]!, version: (header[1]! << 8) | header[2]!, header, body };
  }

  /**
   * Take the waiting record (`ready()` is true) and give its body to `joiner`, with no view of it when it
   * was read ahead: a plaintext handshake record, which a peer may send 1 byte at a time.
   */
  takeInto(joiner: HandshakeJoiner): void {
    if (this.#framed < 0) return joiner.push(this.take()!.body);
    const a = this.#ahead, start = this.#at + HEADER_LEN;
    joiner.push(a, start, this.#skip());
  }

  /** Past the record framed in the bytes read ahead; returns where it ends. Those bytes go once all are framed. */
  #skip(): number {
    const end = this.#at + HEADER_LEN + this.#framed;
    this.#framed = -1;
    if (end === this.#ahead.length) {
      this.#ahead = EMPTY;
      this.#at = 0;
    } else {
      this.#at = end;
    }
    return end;
  }
}

/**
 * Check the record header at `bytes[at, at + 5)` (RFC 8446 §5.1): a TLS content type, version 3.x, a length
 * within 2^14 + 256. Returns the body length.
 */
function checkHeader(bytes: Uint8Array, at: number): number {
  const type = bytes[at]!;
  if (
    type !== ContentType.handshake && type !== ContentType.alert &&
    type !== ContentType.applicationData && type !== ContentType.changeCipherSpec
  ) {
    throw misbehaved(
      "bad_content_type",
      `Cannot accept record: content type ${type} is not a TLS content type`,
      "record+0",
    );
  }
  if (bytes[at + 1] !== 3) {
    throw invalidMessage(
      "bad_record_version",
      `Cannot accept record: version 0x${bytes[at + 1]!.toString(16)}${
        bytes[at + 2]!.toString(16)
      } is not TLS`,
      "record+1",
    );
  }
  const bodyLen = (bytes[at + 3]! << 8) | bytes[at + 4]!;
  if (bodyLen > MAX_CIPHERTEXT) {
    throw misbehaved(
      "record_overflow",
      `Cannot accept record: length ${bodyLen} exceeds ${MAX_CIPHERTEXT}`,
      "record+3",
    );
  }
  return bodyLen;
}

/** What opening a protected record gives: the real content type, the content, and the size limits apply to. */
export interface Opened {
  readonly type: number;
  readonly content: Uint8Array;
  /** TLS 1.3: the whole TLSInnerPlaintext (content, type, padding); TLS 1.2: the plaintext length. */
  readonly innerLength: number;
}

/** One direction's record protection, TLS 1.3 ({@link Protection}) or TLS 1.2 ({@link Protection12}). */
export interface RecordProtection {
  /** Records processed with this key. */
  seq: number;
  /** TLS 1.3 hides the content type inside (every protected record is application_data outside). */
  readonly hidesType: boolean;
  seal(type: number, content: Uint8Array, padding?: number): Uint8Array;
  open(rec: RawRecord): Opened;
  tryOpen(rec: RawRecord): Opened | undefined;
  /**
   * Whether a record with `length` bytes of content (or ciphertext) should go through the async pair: the
   * provider holds this key natively and the record is large enough for that to pay.
   */
  prefersNative(length: number): boolean;
  /**
   * `seal` on the native key; the sequence number is taken now, so records keep their order, and `content` is
   * copied now, so the caller may reuse its buffer at once.
   */
  sealAsync(type: number, content: Uint8Array): Promise<Uint8Array>;
  /** `open` on the native key: checks that need no key throw now; the sequence number is taken now. */
  openAsync(rec: RawRecord): Promise<Opened>;
}

/** The per-record nonce: the IV with the sequence number XORed into its last 8 bytes (RFC 8446 §5.3, RFC 7905 §2). */
function xorSequence(iv: Uint8Array, seq: number): Uint8Array {
  const n = iv.slice();
  let s = seq;
  for (let i = n.length - 1; i >= n.length - 8 && s > 0; i--) {
    n[i]! ^= s % 256;
    s = Math.floor(s / 256);
  }
  return n;
}

/** `open`, but undefined (and the sequence number unchanged) when authentication fails. */
function tryOpen(p: RecordProtection, rec: RawRecord): Opened | undefined {
  try {
    return p.open(rec);
  } catch (e) {
    if (e instanceof TlsError && e.code === "decrypt") return undefined;
    throw e;
  }
}

function badMac(message: string): TlsError {
  return decryptFailed(`Cannot open record: ${message}`, "record+5");
}

/** One direction's TLS 1.3 record protection: an AEAD key, a static IV and a sequence number. */
export class Protection implements RecordProtection {
  readonly #key: AeadKey;
  readonly #iv: Uint8Array;
  readonly #native: NativeAeadKey | undefined;
  /** Records processed with this key. */
  seq = 0;

  constructor(key: AeadKey, iv: Uint8Array, native?: NativeAeadKey) {
    this.#key = key;
    this.#iv = iv;
    this.#native = native;
  }

  readonly hidesType = true;

  prefersNative(length: number): boolean {
    return this.#native !== undefined && length >= this.#native.minLength;
  }

  #nonce(): Uint8Array {
    return xorSequence(this.#iv, this.seq);
  }

  /**
   * TLSInnerPlaintext = content || type || zeros(padding) (RFC 8446 §5.2): what follows the content (the
   * `trailer`), the header, and the nonce.
   */
  #prepare(type: number, content: Uint8Array, padding: number) {
    const trailer = new Uint8Array(1 + padding);
    trailer[0] = type;
    const len = content.length + trailer.length + 16;
    const header = Uint8Array.of(ContentType.applicationData, 3, 3, len >>> 8, len & 0xff);
    const nonce = this.#nonce();
    this.seq++;
    return { trailer, header, nonce };
  }

  /** Protect one record. */
  seal(type: number, content: Uint8Array, padding = 0): Uint8Array {
    const { trailer, header, nonce } = this.#prepare(type, content, padding);
    const record = this.#key.seal(nonce, header, content, HEADER_LEN, trailer);
    record.set(header);
    return record;
  }

  async sealAsync(type: number, content: Uint8Array): Promise<Uint8Array> {
    const { trailer, header, nonce } = this.#prepare(type, content, 0);
    return withHeader(header, await this.#native!.seal(nonce, header, concat(content, trailer)));
  }

  /** Like `open`, but undefined (and the sequence number unchanged) when authentication fails. */
  tryOpen(rec: RawRecord): Opened | undefined {
    return tryOpen(this, rec);
  }

  /**
   * Open one record; returns the real content type, the content, and the length of the whole
   * TLSInnerPlaintext (content, type and padding), which is what size limits apply to (RFC 8446 §5.2, §5.4).
   */
  open(rec: RawRecord): Opened {
    const nonce = this.#check(rec);
    const inner = this.#key.open(nonce, rec.header, rec.body);
    if (!inner) throw badMac("authentication failed");
    this.seq++;
    return innerPlaintext(inner);
  }

  openAsync(rec: RawRecord): Promise<Opened> {
    const nonce = this.#check(rec);
    this.seq++;
    return this.#native!.open(nonce, rec.header, rec.body).then((inner) => {
      if (!inner) throw badMac("authentication failed");
      return innerPlaintext(inner);
    });
  }

  /** What can be checked before decrypting; returns the nonce. */
  #check(rec: RawRecord): Uint8Array {
    if (rec.type !== ContentType.applicationData) {
      throw misbehaved(
        "unprotected_record",
        `Cannot accept ${contentTypeName(rec.type)} record: protected records must be application_data`,
        "record+0",
      );
    }
    if (rec.body.length < 17) {
      throw badMac("shorter than the AEAD tag");
    }
    return this.#nonce();
  }
}

/** Header ‖ sealed, in one array. */
function withHeader(header: Uint8Array, sealed: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_LEN + sealed.length);
  out.set(header);
  out.set(sealed, HEADER_LEN);
  return out;
}

/** A decrypted TLSInnerPlaintext: the size limit, then the real type after the zero padding (RFC 8446 §5.4). */
function innerPlaintext(inner: Uint8Array): Opened {
  if (inner.length > MAX_PLAINTEXT + 1) {
    // RFC 8446 §5.4: the full encoded TLSInnerPlaintext, padding included, is at most 2^14 + 1 octets.
    throw misbehaved(
      "record_overflow",
      `Cannot accept record: inner plaintext of ${inner.length} bytes exceeds ${MAX_PLAINTEXT + 1}`,
    );
  }
  let end = inner.length - 1;
  while (end >= 0 && inner[end] === 0) end--;
  if (end < 0) {
    // RFC 8446 §5.4: no non-zero octet in the cleartext.
    throw misbehaved("empty_inner_plaintext", "Cannot accept record: no content type");
  }
  return { type: inner[end]!, content: inner.subarray(0, end), innerLength: inner.length };
}

/**
 * One direction's TLS 1.2 AEAD record protection (RFC 5246 §6.2.3.3): the content type stays visible, the
 * additional data is seq_num ‖ type ‖ version ‖ length. AES-GCM (RFC 5288) sends an 8-byte explicit nonce (our
 * sequence number) after a 4-byte salt from the key block; ChaCha20-Poly1305 (RFC 7905) XORs the sequence
 * number into a 12-byte IV and sends no explicit nonce.
 */
export class Protection12 implements RecordProtection {
  readonly #key: AeadKey;
  readonly #iv: Uint8Array;
  readonly #explicit: number;
  readonly #native: NativeAeadKey | undefined;
  seq = 0;
  readonly hidesType = false;

  /**
   * @param iv The fixed IV from the key block: 4 bytes (AES-GCM) or 12 (ChaCha20-Poly1305).
   * @param native The same key held by the provider, if it has one.
   */
  constructor(key: AeadKey, iv: Uint8Array, native?: NativeAeadKey) {
    this.#key = key;
    this.#iv = iv;
    this.#explicit = iv.length === 4 ? 8 : 0;
    this.#native = native;
  }

  prefersNative(length: number): boolean {
    return this.#native !== undefined && length >= this.#native.minLength;
  }

  #nonce(explicit: Uint8Array | undefined): Uint8Array {
    if (!explicit) return xorSequence(this.#iv, this.seq);
    const n = new Uint8Array(12);
    n.set(this.#iv);
    n.set(explicit, 4);
    return n;
  }

  #aad(type: number, length: number): Uint8Array {
    const a = new Uint8Array(13);
    const v = new DataView(a.buffer);
    v.setUint32(0, Math.floor(this.seq / 2 ** 32));
    v.setUint32(4, this.seq >>> 0);
    a[8] = type;
    a[9] = 3;
    a[10] = 3;
    v.setUint16(11, length);
    return a;
  }

  seal(type: number, content: Uint8Array): Uint8Array {
    const { aad, nonce, explicit } = this.#prepare(type, content);
    const record = this.#key.seal(nonce, aad, content, HEADER_LEN + this.#explicit);
    this.#header(record, type, explicit, record.length - HEADER_LEN);
    return record;
  }

  async sealAsync(type: number, content: Uint8Array): Promise<Uint8Array> {
    const { aad, nonce, explicit } = this.#prepare(type, content);
    // TLS 1.3's inner plaintext is already a copy; here the content itself goes to the native call.
    return this.#frame(type, explicit, await this.#native!.seal(nonce, aad, content.slice()));
  }

  #prepare(type: number, content: Uint8Array) {
    const aad = this.#aad(type, content.length);
    // The sequence number (the AAD's first 8 bytes) is a unique explicit nonce for this key, as OpenSSL and Go
    // send too.
    const explicit = this.#explicit > 0 ? aad.subarray(0, 8) : undefined;
    const nonce = this.#nonce(explicit);
    this.seq++;
    return { aad, nonce, explicit };
  }

  #frame(type: number, explicit: Uint8Array | undefined, sealed: Uint8Array): Uint8Array {
    const len = this.#explicit + sealed.length;
    const out = new Uint8Array(HEADER_LEN + len);
    out.set(sealed, HEADER_LEN + this.#explicit);
    this.#header(out, type, explicit, len);
    return out;
  }

  /** The record header and the explicit nonce, in front of the sealed part. */
  #header(out: Uint8Array, type: number, explicit: Uint8Array | undefined, len: number): void {
    out[0] = type;
    out[1] = 3;
    out[2] = 3;
    out[3] = len >>> 8;
    out[4] = len & 0xff;
    if (explicit) out.set(explicit, HEADER_LEN);
  }

  tryOpen(rec: RawRecord): Opened | undefined {
    return tryOpen(this, rec);
  }

  open(rec: RawRecord): Opened {
    const { nonce, aad, sealed } = this.#check(rec);
    const content = this.#key.open(nonce, aad, sealed);
    if (!content) throw badMac("authentication failed");
    this.seq++;
    return { type: rec.type, content, innerLength: content.length };
  }

  openAsync(rec: RawRecord): Promise<Opened> {
    const { nonce, aad, sealed } = this.#check(rec);
    this.seq++;
    return this.#native!.open(nonce, aad, sealed).then((content) => {
      if (!content) throw badMac("authentication failed");
      return { type: rec.type, content, innerLength: content.length };
    });
  }

  /** What can be checked before decrypting; the nonce, AAD and sealed part. */
  #check(rec: RawRecord) {
    if (rec.body.length < this.#explicit + 16) throw badMac("shorter than the explicit nonce and AEAD tag");
    const explicit = this.#explicit > 0 ? rec.body.subarray(0, this.#explicit) : undefined;
    const sealed = rec.body.subarray(this.#explicit);
    const length = sealed.length - 16;
    if (length > MAX_PLAINTEXT) {
      // RFC 5246 §6.2.3: the plaintext is at most 2^14 bytes.
      throw misbehaved(
        "record_overflow",
        `Cannot accept record: plaintext of ${length} bytes exceeds ${MAX_PLAINTEXT}`,
        "record+3",
      );
    }
    return { nonce: this.#nonce(explicit), aad: this.#aad(rec.type, length), sealed };
  }
}

/** Fragments this short are copied byte by byte: cheaper than a view to copy from. */
const SMALL_COPY = 16;

/**
 * Reassembles handshake messages from handshake-record fragments, bounded by `maxMessage`. A peer may
 * fragment as finely as it likes (RFC 8446 §5.1), so joining is linear: the storage doubles, up to the
 * length the message header gives, and each byte is copied O(1) times; memory stays within twice what came.
 */
export class HandshakeJoiner {
  /** The bytes held are `#buf[#start, #end)`; the storage is ours to write into only when `#own`. */
  #buf: Uint8Array = EMPTY;
  #start = 0;
  #end = 0;
  #own = false;
  readonly #maxMessage: number;

  constructor(maxMessage: number) {
    this.#maxMessage = maxMessage;
  }

  /** Bytes of an incomplete message held. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Add one record's handshake content: `bytes[start, end)`, which must never be written afterwards (the
   * joiner may keep them rather than copy them).
   */
  push(bytes: Uint8Array, start = 0, end = bytes.length): void {
    const n = end - start;
    if (n === 0) return;
    if (this.#start === this.#end) {
      // Nothing held: keep the fragment itself (a record often carries whole messages).
      this.#buf = bytes;
      this.#start = start;
      this.#end = end;
      this.#own = false;
    } else {
      if (!this.#own || this.#end + n > this.#buf.length) this.#grow(n);
      if (n <= SMALL_COPY) {
        // No view to allocate for a few bytes (a peer may send 1-byte records).
        const buf = this.#buf;
        for (let i = start; i < end; i++) buf[this.#end++] = bytes[i]!;
      } else {
        this.#buf.set(bytes.subarray(start, end), this.#end);
        this.#end += n;
      }
    }
    if (this.buffered >= 4) this.#checkLength();
  }

  /**
   * New storage for `more` bytes beyond those held, which move to its start. It doubles, but never past the
   * front message (once its header is whole): joining a message of n bytes copies fewer than 2n in all.
   */
  #grow(more: number): void {
    const held = this.#end - this.#start;
    const need = held + more;
    const message = held >= 4 ? 4 + this.#length() : 0;
    const next = new Uint8Array(Math.max(need, Math.min(2 * need, message)));
    next.set(this.#buf.subarray(this.#start, this.#end));
    this.#buf = next;
    this.#start = 0;
    this.#end = held;
    this.#own = true;
  }

  /** The body length in the front message's header (4 bytes held at least). */
  #length(): number {
    const b = this.#buf, at = this.#start;
    return (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
  }

  #checkLength(): void {
    const len = this.#length();
    const type = this.#buf[this.#start]!;
    // A ClientHello may be as long as its fields allow (LIMITS.maxClientHello), whatever the configured limit.
    const max = type === HandshakeType.clientHello
      ? Math.max(this.#maxMessage, LIMITS.maxClientHello)
      : this.#maxMessage;
    if (len > max) {
      const name = handshakeName(type);
      throw misbehaved(
        "handshake_message_too_large",
        `Cannot accept ${name}: length ${len} exceeds the limit of ${max}`,
        `${name}+1`,
      );
    }
  }

  /** The next complete message, or undefined. */
  take(): HandshakeMessage | undefined {
    const held = this.#end - this.#start;
    if (held < 4) return undefined;
    const total = 4 + this.#length();
    if (held < total) return undefined;
    // Storage of ours that is exactly this message is handed over; anything else is copied out.
    const b = this.#buf;
    const raw = this.#own && b.length === total ? b : b.slice(this.#start, this.#start + total);
    this.#start += total;
    if (this.#start === this.#end) {
      this.#buf = EMPTY;
      this.#start = this.#end = 0;
      this.#own = false;
    } else if (this.buffered >= 4) {
      this.#checkLength();
    }
    return { type: raw[0]!, body: raw.subarray(4), raw };
  }
}
