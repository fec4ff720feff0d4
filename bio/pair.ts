// Copyright 2026 the airlock authors. MIT license.
// This module is browser compatible.

/**
 * {@linkcode createBioPair}: two connected in-memory {@linkcode Bio} halves, like OpenSSL's
 * `BIO_new_bio_pair`. The engine holds one half; the caller moves bytes between the other half and its
 * transport (a socket, a stream, another engine).
 *
 * @module
 */

import { type Bio, ByteQueue } from "./bio.ts";
import { checkCount } from "./_check.ts";

/** Both halves of a BIO pair. */
export interface BioPair {
  /** The half the engine holds. */
  readonly engine: Bio;
  /** The half the caller pumps to its transport. */
  readonly network: Bio;
}

/** Options for {@linkcode createBioPair}. */
export interface BioPairOptions {
  /**
   * Bytes each direction can hold: an integer of at least 1.
   *
   * @default {17 * 1024 + 512}
   */
  capacity?: number;
  /** Bytes the engine can write before the network half reads them (overrides `capacity`). */
  engineCapacity?: number;
  /** Bytes the network half can write before the engine reads them (overrides `capacity`). */
  networkCapacity?: number;
}

/** Default capacity of each direction: one full TLS record (5 + 2^14 + 256) with room to spare. */
export const DEFAULT_BIO_CAPACITY: number = 17 * 1024 + 512;

/** One direction of a pair: the bytes in flight and whether the writer has shut down. */
interface Direction {
  readonly queue: ByteQueue;
  closed: boolean;
}

/** A half that writes into `#out` and reads from `#in`. */
class BioHalf implements Bio {
  readonly #out: Direction;
  readonly #in: Direction;
  readonly #name: string;

  constructor(out: Direction, incoming: Direction, name: string) {
    this.#out = out;
    this.#in = incoming;
    this.#name = name;
  }

  get capacity(): number {
    return this.#out.queue.capacity;
  }

  get eof(): boolean {
    return this.#in.closed && this.#in.queue.size === 0;
  }

  write(data: Uint8Array): number {
    return this.#outgoing().write(data);
  }

  give(data: Uint8Array): number {
    return this.#outgoing().give(data);
  }

  #outgoing(): ByteQueue {
    if (this.#out.closed) {
      throw new TypeError(`Cannot write to the ${this.#name} half: it was shut down for writing`);
    }
    return this.#out.queue;
  }

  read(max?: number): Uint8Array {
    return this.#in.queue.read(max);
  }

  peek(max?: number): Uint8Array {
    return this.#in.queue.peek(max);
  }

  pending(): number {
    return this.#in.queue.size;
  }

  writeGuarantee(): number {
    return this.#out.closed ? 0 : this.#out.queue.free;
  }

  shutdownWrite(): void {
    this.#out.closed = true;
  }
}

/**
 * Create two connected in-memory BIO halves. Bytes written to `engine` are read from `network` and the other
 * way round; each direction holds at most its capacity, so a write returns how much it accepted and the
 * writer retries once the reader has drained some (back-pressure, OpenSSL's `SSL_ERROR_WANT_WRITE`).
 *
 * @param options Capacities of the two directions.
 * @returns The `engine` half and the `network` half.
 * @throws {RangeError} If a capacity is not an integer or is less than 1.
 * @throws {TypeError} If a capacity is not a number.
 *
 * @example Moving bytes both ways, with a short write when full
 * ```ts
 * import assert from "node:assert/strict";
 * import { createBioPair } from "@airlock/tls/bio";
 *
 * const { engine, network } = createBioPair({ capacity: 8 });
 * assert.equal(engine.write(new TextEncoder().encode("hello, world")), 8); // only 8 bytes fit
 * assert.equal(engine.writeGuarantee(), 0);
 * assert.equal(new TextDecoder().decode(network.read()), "hello, w");
 * assert.equal(engine.writeGuarantee(), 8);
 *
 * network.write(new Uint8Array([1, 2, 3]));
 * network.shutdownWrite();
 * assert.equal(engine.pending(), 3);
 * assert.equal(engine.eof, false); // not before the bytes are read
 * assert.deepEqual(engine.read(), new Uint8Array([1, 2, 3]));
 * assert.equal(engine.eof, true);
 * ```
 */
export function createBioPair(options: BioPairOptions = {}): BioPair {
  const capacity = options.capacity === undefined
    ? DEFAULT_BIO_CAPACITY
    : checkCount(options.capacity, "capacity", 1);
  const engineCapacity = options.engineCapacity === undefined
    ? capacity
    : checkCount(options.engineCapacity, "engineCapacity", 1);
  const networkCapacity = options.networkCapacity === undefined
    ? capacity
    : checkCount(options.networkCapacity, "networkCapacity", 1);
  const toNetwork: Direction = { queue: new ByteQueue(engineCapacity), closed: false };
  const toEngine: Direction = { queue: new ByteQueue(networkCapacity), closed: false };
  return {
    engine: new BioHalf(toNetwork, toEngine, "engine"),
    network: new BioHalf(toEngine, toNetwork, "network"),
  };
}
