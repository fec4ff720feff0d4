// Copyright 2026 the airlock authors. MIT license.
// This module is browser compatible.

/**
 * In-memory BIO pairs: the byte pipes between the airlock engine and whatever transport the caller uses.
 *
 * The engine reads ciphertext from and writes ciphertext to its {@linkcode Bio} half; the caller copies bytes
 * between the `network` half and a socket. Each direction is bounded, so a full pipe shows up as a short write
 * instead of unbounded buffering.
 *
 * @example Pumping bytes through a pair
 * ```ts
 * import assert from "node:assert/strict";
 * import { createBioPair } from "@airlock/tls/bio";
 *
 * const { engine, network } = createBioPair();
 * engine.write(new Uint8Array([0x16, 0x03, 0x01]));
 * const toSocket = network.read();
 * assert.deepEqual(toSocket, new Uint8Array([0x16, 0x03, 0x01]));
 * assert.equal(network.pending(), 0);
 * ```
 *
 * @module
 */

export * from "./bio.ts";
export * from "./pair.ts";
