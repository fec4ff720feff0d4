// Copyright 2026 the airlock authors. MIT license.
// This module is browser compatible.

/**
 * A bounded byte queue and the {@linkcode Bio} interface, one half of an in-memory BIO pair.
 *
 * Each direction of a pair is one {@linkcode ByteQueue}: a ring buffer of fixed capacity. A write accepts at
 * most the free space (a short write is how back-pressure shows, like OpenSSL's `BIO_write` returning less
 * than asked), and a read copies out only the bytes it returns, so pumping any amount of data through a
 * small queue costs O(n) in total.
 *
 * @module
 */

import { checkCount } from "./_check.ts";

/** One half of a BIO pair. Bytes written to one half are read from the other. */
export interface Bio {
  /**
   * Write as much of `data` as fits.
   *
   * @param data The bytes to queue for the other half.
   * @returns The number of bytes accepted, from the start of `data` (0 when the outgoing buffer is full).
   * @throws {TypeError} If this half was shut down for writing.
   */
  write(data: Uint8Array): number;
  /**
   * Like `write`, but the caller hands `data` over and never touches it again, so the implementation may keep
   * the array instead of copying it (an engine gives its sealed records this way). Optional: without it,
   * `write` is used.
   *
   * @param data The bytes to queue; they belong to the BIO once accepted.
   * @returns The number of bytes accepted, from the start of `data`.
   */
  give?(data: Uint8Array): number;
  /**
   * Read up to `max` bytes that the other half wrote.
   *
   * @param max The most bytes to return (default: all that are buffered).
   * @returns A fresh array owned by the caller; empty when nothing is there.
   */
  read(max?: number): Uint8Array;
  /**
   * Look at up to `max` buffered incoming bytes without consuming them.
   *
   * @param max The most bytes to return (default: all that are buffered).
   * @returns A fresh copy of the first buffered bytes.
   */
  peek(max?: number): Uint8Array;
  /**
   * Bytes waiting to be read on this half.
   *
   * @returns The number of buffered incoming bytes.
   */
  pending(): number;
  /**
   * How many bytes a {@linkcode Bio.write} on this half is guaranteed to accept right now: the free space
   * in the outgoing buffer (OpenSSL's `BIO_ctrl_get_write_guarantee`).
   *
   * @returns The free space in the outgoing buffer; 0 after {@linkcode Bio.shutdownWrite}.
   */
  writeGuarantee(): number;
  /**
   * Half-close: no more writes from this half. Once the other half has read everything, it sees EOF.
   * Calling it again does nothing.
   */
  shutdownWrite(): void;
  /** True when the other half shut down its write side and all its bytes have been read. */
  readonly eof: boolean;
  /** Capacity of the outgoing buffer, in bytes. */
  readonly capacity: number;
}

/** Storage a queue grows to at least once a second write lands in it; it doubles from there up to the capacity. */
const INITIAL_STORAGE = 4096;
/** Storage of a queue that holds nothing (shared: it is never written). */
const EMPTY = new Uint8Array(0);

/**
 * A bounded FIFO of bytes: a ring buffer that never holds more than `capacity` bytes.
 *
 * Storage is allocated on demand: a write into an empty queue takes just what it needs (or, with
 * {@linkcode ByteQueue.give}, the array itself), more writes double it up to `capacity`, and a queue that is
 * read empty lets go of it, so an idle queue holds no storage (OpenSSL's SSL_MODE_RELEASE_BUFFERS, always
 * on). Reads and writes copy only the bytes they move; a read of everything in one piece copies nothing.
 *
 * @example Short writes when the queue is full
 * ```ts
 * import assert from "node:assert/strict";
 * import { ByteQueue } from "@airlock/tls/bio";
 *
 * const q = new ByteQueue(4);
 * assert.equal(q.write(new Uint8Array([1, 2, 3, 4, 5, 6])), 4);
 * assert.equal(q.free, 0);
 * assert.deepEqual(q.read(3), new Uint8Array([1, 2, 3]));
 * assert.equal(q.write(new Uint8Array([7, 8])), 2);
 * assert.deepEqual(q.read(), new Uint8Array([4, 7, 8]));
 * ```
 */
export class ByteQueue {
  /** The most bytes the queue holds. */
  readonly capacity: number;
  #buf: Uint8Array;
  #head = 0;
  #size = 0;

  /**
   * Create an empty queue.
   *
   * @param capacity The most bytes the queue holds: an integer of at least 1.
   * @throws {RangeError} If `capacity` is not an integer or is less than 1.
   */
  constructor(capacity: number) {
    this.capacity = checkCount(capacity, "capacity", 1);
    this.#buf = EMPTY;
  }

  /**
   * The number of buffered bytes.
   *
   * @returns How many bytes a {@linkcode ByteQueue.read} would return at most.
   */
  get size(): number {
    return this.#size;
  }

  /**
   * The free space.
   *
   * @returns How many bytes a {@linkcode ByteQueue.write} accepts right now.
   */
  get free(): number {
    return this.capacity - this.#size;
  }

  /**
   * Append as much of `data` as fits.
   *
   * @param data The bytes to append.
   * @returns The number of bytes accepted, from the start of `data`.
   * @throws {TypeError} If `data` is not a Uint8Array.
   */
  write(data: Uint8Array): number {
    if (!(data instanceof Uint8Array)) {
      throw new TypeError(`Cannot write to the queue: expected a Uint8Array, got ${describe(data)}`);
    }
    const n = Math.min(data.length, this.capacity - this.#size);
    if (n === 0) return 0;
    this.#reserve(this.#size + n);
    const buf = this.#buf;
    const tail = (this.#head + this.#size) % buf.length;
    const first = Math.min(n, buf.length - tail);
    buf.set(data.subarray(0, first), tail);
    if (first < n) buf.set(data.subarray(first, n), 0);
    this.#size += n;
    return n;
  }

  /**
   * Append `data`, taking it over: into an empty queue, the array itself becomes the storage, without a copy
   * (and a `read()` of everything hands it on, again without a copy). Otherwise the same as
   * {@linkcode ByteQueue.write}. The caller must not touch `data` afterwards.
   *
   * @param data The bytes to append; the queue's once accepted.
   * @returns The number of bytes accepted, from the start of `data`.
   * @throws {TypeError} If `data` is not a Uint8Array.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ByteQueue } from "@airlock/tls/bio";
   *
   * const q = new ByteQueue(8192);
   * const record = new Uint8Array(5000).fill(1);
   * assert.equal(q.give(record), 5000);
   * assert.equal(q.read().buffer, record.buffer); // the same bytes, not a copy
   * ```
   */
  give(data: Uint8Array): number {
    if (
      data instanceof Uint8Array && this.#size === 0 && data.length > 0 && data.length <= this.capacity
    ) {
      // A subclass (a Node Buffer, whose slice() is a view, not a copy) is kept as a plain Uint8Array over
      // the same bytes: what the engine cuts from its storage must behave as Uint8Arrays do.
      this.#buf = data.constructor === Uint8Array
        ? data
        : new Uint8Array(data.buffer, data.byteOffset, data.length);
      this.#head = 0;
      this.#size = data.length;
      return data.length;
    }
    return this.write(data);
  }

  /**
   * Remove and return up to `max` bytes from the front.
   *
   * @param max The most bytes to return (default: all).
   * @returns A fresh array owned by the caller; empty when the queue is empty.
   * @throws {RangeError} If `max` is not a non-negative integer.
   */
  read(max?: number): Uint8Array {
    const buf = this.#buf;
    if (
      this.#size > 0 && (max === undefined || max >= this.#size) && this.#head + this.#size <= buf.length
    ) {
      // All of it, in one piece, in storage that an empty queue lets go of anyway: hand the storage over.
      const out = buf.subarray(this.#head, this.#head + this.#size);
      this.#buf = EMPTY;
      this.#head = this.#size = 0;
      return out;
    }
    const out = this.peek(max);
    this.#skip(out.length);
    return out;
  }

  /**
   * Return a copy of up to `max` bytes from the front without removing them.
   *
   * @param max The most bytes to return (default: all).
   * @returns A fresh array owned by the caller; empty when the queue is empty.
   * @throws {RangeError} If `max` is not a non-negative integer.
   */
  peek(max?: number): Uint8Array {
    const limit = max === undefined ? this.#size : checkCount(max, "max", 0);
    const n = Math.min(limit, this.#size);
    const out = new Uint8Array(n);
    if (n === 0) return out;
    const buf = this.#buf;
    const first = Math.min(n, buf.length - this.#head);
    out.set(buf.subarray(this.#head, this.#head + first), 0);
    if (first < n) out.set(buf.subarray(0, n - first), first);
    return out;
  }

  #skip(n: number): void {
    this.#size -= n;
    // An empty queue lets its storage go, so an idle connection holds none; the next write starts afresh.
    if (this.#size === 0) {
      this.#head = 0;
      this.#buf = EMPTY;
    } else this.#head = (this.#head + n) % this.#buf.length;
  }

  /**
   * Grow the storage so it holds `need` bytes, keeping the order: an empty queue to exactly `need` (one
   * record written into it, read out whole, is then handed on without a copy), otherwise to at least
   * INITIAL_STORAGE and double its size (at most to capacity), or to `need` when that is more.
   */
  #reserve(need: number): void {
    const old = this.#buf;
    if (need <= old.length) return;
    const len = this.#size === 0 ? need : Math.max(need, 2 * old.length, INITIAL_STORAGE);
    const next = new Uint8Array(Math.min(len, this.capacity));
    const first = Math.min(this.#size, old.length - this.#head);
    next.set(old.subarray(this.#head, this.#head + first), 0);
    if (first < this.#size) next.set(old.subarray(0, this.#size - first), first);
    this.#buf = next;
    this.#head = 0;
  }
}

/**
 * Name the type of a value for an error message.
 *
 * @param value The value to describe.
 * @returns A short description such as `string` or `ArrayBuffer`.
 */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return value.constructor?.name ?? "object";
  return typeof value;
}
