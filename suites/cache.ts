// Copyright 2026 the airlock authors. MIT license.
// This module is browser compatible.

/**
 * Bounded caches of values derived from public inputs that come again and again: a client meets the same
 * server leaf and CA on every handshake, a server normalizes the same PEM chain for every connection, and
 * what is derived from them (a parsed and validated key, a runtime's key object, decoded DER) need not be
 * derived again. The least recently used entry goes first once a cache is full, and keys longer than a bound
 * are not cached at all, so what a peer can pin in memory stays bounded (entries × bound). Never for
 * secrets: the key is the input itself, as a string.
 *
 * @module
 */

import { bytesKey } from "./bytes.ts";

/** Values derived from strings, at most `size` of them, none for a string longer than `maxLength`. */
export class BoundedCache<V> {
  readonly #size: number;
  readonly #maxLength: number;
  readonly #entries = new Map<string, V>();

  /**
   * @param size The most entries kept.
   * @param maxLength The longest key whose value is kept; for longer ones `get` just calls `make`.
   */
  constructor(size: number, maxLength: number) {
    this.#size = size;
    this.#maxLength = maxLength;
  }

  /**
   * The value for `key`, made by `make` on a miss. A `make` that throws caches nothing.
   *
   * @param key What the value is derived from.
   * @param make Derives the value.
   * @returns The cached or new value.
   */
  get(key: string, make: () => V): V {
    if (key.length > this.#maxLength) return make();
    const entries = this.#entries;
    let value = entries.get(key);
    if (value !== undefined) {
      entries.delete(key); // to the back: the most recently used
    } else {
      value = make();
      if (entries.size >= this.#size) entries.delete(entries.keys().next().value!);
    }
    entries.set(key, value);
    return value;
  }
}

/** A {@linkcode BoundedCache} keyed by bytes, each kind of value under a tag of its own. */
export class ByteKeyedCache<V> {
  readonly #cache: BoundedCache<V>;
  readonly #maxLength: number;

  /**
   * @param size The most entries kept.
   * @param maxLength The longest bytes whose value is kept; for longer ones `get` just calls `make`.
   */
  constructor(size: number, maxLength: number) {
    this.#cache = new BoundedCache(size, Infinity);
    this.#maxLength = maxLength;
  }

  /**
   * The value for `bytes` (under `tag`, which keeps kinds of value apart), made by `make` on a miss. A `make`
   * that throws caches nothing.
   *
   * @param tag A prefix to the key: two values derived differently from the same bytes.
   * @param bytes The bytes the value is derived from.
   * @param make Derives the value.
   * @returns The cached or new value.
   */
  get(tag: string, bytes: Uint8Array, make: () => V): V {
    if (bytes.length > this.#maxLength) return make();
    return this.#cache.get(tag + ":" + bytesKey(bytes), make);
  }
}
