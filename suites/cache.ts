// Copyright 2026 the airlock authors. MIT license.
// This module is browser compatible.

/**
 * A bounded cache of values derived from public bytes (a certificate's key, say), keyed by every byte: a
 * client meets the same server leaf and CA on every handshake, and what is derived from them (a parsed and
 * validated key, a runtime's key object) need not be derived again. The least recently used entry goes
 * first once the cache is full, and bytes longer than a bound are not cached at all, so what a peer can
 * pin in memory stays bounded (entries × bound). Never for secrets: the key is the bytes themselves, as a
 * string.
 *
 * @module
 */

import { bytesKey } from "./bytes.ts";

/** Values derived from byte strings, at most `size` of them. */
export class ByteKeyedCache<V> {
  readonly #size: number;
  readonly #maxLength: number;
  readonly #entries = new Map<string, V>();

  /**
   * @param size The most entries kept.
   * @param maxLength The longest bytes whose value is kept; for longer ones `get` just calls `make`.
   */
  constructor(size: number, maxLength: number) {
    this.#size = size;
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
    const id = tag + ":" + bytesKey(bytes);
    const entries = this.#entries;
    let value = entries.get(id);
    if (value !== undefined) {
      entries.delete(id); // to the back: the most recently used
    } else {
      value = make();
      if (entries.size >= this.#size) entries.delete(entries.keys().next().value!);
    }
    entries.set(id, value);
    return value;
  }
}
