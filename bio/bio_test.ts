// Copyright 2026 the airlock authors. MIT license.

import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { type Bio, ByteQueue, createBioPair, DEFAULT_BIO_CAPACITY } from "./mod.ts";

/** A small seeded PRNG (mulberry32): the same seed gives the same run on every runtime. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return function next(): number {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** A uniform integer in [lo, hi]. */
function between(next: () => number, lo: number, hi: number): number {
  return lo + (next() % (hi - lo + 1));
}

function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

function filled(length: number, next: () => number): Uint8Array {
  const out = new Uint8Array(length);
  const words = Math.floor(length / 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < words; i++) view.setUint32(i * 4, next());
  for (let i = words * 4; i < length; i++) out[i] = next() & 0xff;
  return out;
}

Deno.test("ByteQueue writes short when full and reads in order across the wrap", () => {
  const q = new ByteQueue(5);
  assert.equal(q.write(bytes(1, 2, 3)), 3);
  assert.deepEqual(q.read(2), bytes(1, 2));
  // The tail wraps around the end of the storage.
  assert.equal(q.write(bytes(4, 5, 6, 7, 8)), 4);
  assert.equal(q.size, 5);
  assert.equal(q.free, 0);
  assert.equal(q.write(bytes(9)), 0);
  assert.deepEqual(q.peek(), bytes(3, 4, 5, 6, 7));
  assert.deepEqual(q.read(), bytes(3, 4, 5, 6, 7));
  assert.equal(q.size, 0);
  assert.deepEqual(q.read(), new Uint8Array(0));
});

Deno.test("ByteQueue grows its storage up to the capacity and keeps the order", () => {
  const next = prng(7);
  const q = new ByteQueue(100_000);
  const a = filled(3000, next);
  const b = filled(50_000, next);
  assert.equal(q.write(a), 3000);
  assert.deepEqual(q.read(1000), a.subarray(0, 1000));
  assert.equal(q.write(b), 50_000);
  assert.deepEqual(q.read(), new Uint8Array([...a.subarray(1000), ...b]));
  assert.equal(q.write(filled(200_000, next)), 100_000);
  assert.equal(q.free, 0);
});

Deno.test("ByteQueue.give() keeps a large array as the storage of an empty queue, and read() hands it on", () => {
  const next = prng(11);
  const q = new ByteQueue(20_000);
  const record = filled(16_405, next);
  const expected = record.slice();
  assert.equal(q.give(record), 16_405);
  assert.equal(q.size, 16_405);
  assert.equal(q.free, 20_000 - 16_405);
  // More bytes behind it grow the storage (a copy), in order.
  const more = filled(3000, next);
  assert.equal(q.write(more), 3000);
  assert.deepEqual(q.read(), new Uint8Array([...expected, ...more]));
  // Given again into the now empty queue: read() of everything returns the same memory, not a copy.
  const again = filled(9000, next);
  assert.equal(q.give(again), 9000);
  const out = q.read();
  assert.equal(out.buffer, again.buffer);
  assert.equal(out.length, 9000);
  // The queue no longer holds it: later writes do not touch what was handed out.
  const snapshot = out.slice();
  q.write(filled(8000, next));
  assert.deepEqual(out, snapshot);
});

Deno.test("ByteQueue.give() keeps a Uint8Array subclass (a Node Buffer) as a plain Uint8Array over its bytes", () => {
  // Buffer's slice() is a view: storage handed on from a Buffer must still slice as Uint8Arrays do.
  class ViewSlicing extends Uint8Array {
    override slice(start?: number, end?: number): Uint8Array<ArrayBuffer> {
      return this.subarray(start, end) as Uint8Array<ArrayBuffer>;
    }
  }
  const q = new ByteQueue(20_000);
  const given = new ViewSlicing(5000).fill(3);
  assert.equal(q.give(given), 5000);
  const out = q.read();
  assert.equal(out.constructor, Uint8Array);
  assert.equal(out.buffer, given.buffer); // still no copy
  const copy = out.slice(0, 10);
  given[0] = 9;
  assert.equal(copy[0], 3);
});

Deno.test("ByteQueue.give() copies where it cannot keep the array, and respects the capacity", () => {
  const next = prng(12);
  const q = new ByteQueue(10_000);
  // Too large for the capacity: as much as fits, copied.
  const big = filled(12_000, next);
  assert.equal(q.give(big), 10_000);
  big.fill(0);
  assert.equal(q.read(5000).some((b) => b !== 0), true);
  // Into a queue that is not empty: copied behind what is there.
  const small = filled(4500, next);
  const copy = small.slice();
  assert.equal(q.give(small), 4500);
  small.fill(0);
  assert.deepEqual(q.read().subarray(5000), copy);
  // Into an empty queue, any array is kept as it is, however small, and read() hands the same array on.
  const tiny = bytes(1, 2, 3);
  assert.equal(q.give(tiny), 3);
  assert.equal(q.read().buffer, tiny.buffer);
  // Behind bytes already there, a small array is copied.
  assert.equal(q.write(bytes(4)), 1);
  const more = bytes(5, 6);
  assert.equal(q.give(more), 2);
  more[0] = 9;
  assert.deepEqual(q.read(), bytes(4, 5, 6));
  assert.throws(() => q.give([1] as unknown as Uint8Array), TypeError);
});

Deno.test("ByteQueue: a write into an empty queue is read out whole without a second copy; an emptied queue keeps no storage", () => {
  const next = prng(14);
  const q = new ByteQueue(17_000);
  const a = filled(1000, next), b = filled(1000, next);
  assert.equal(q.write(a), 1000);
  const out = q.read();
  assert.deepEqual(out, a);
  assert.equal(out.buffer.byteLength, 1000, "storage of exactly the bytes written, handed over");
  // The queue let that storage go with the bytes: what comes next cannot land in the array handed out.
  assert.equal(q.write(b), 1000);
  assert.deepEqual(out, a);
  assert.deepEqual(q.read(300), b.subarray(0, 300));
  assert.deepEqual(q.read(), b.subarray(300));
  assert.equal(q.size, 0);
});

Deno.test("ByteQueue.read() of everything, after a partial read, returns the rest in order", () => {
  const next = prng(13);
  const q = new ByteQueue(40_000);
  const a = filled(20_000, next);
  assert.equal(q.write(a), 20_000);
  assert.deepEqual(q.read(5), a.subarray(0, 5));
  const rest = q.read();
  assert.deepEqual(rest, a.subarray(5));
  assert.equal(q.size, 0);
  assert.equal(q.write(bytes(7)), 1);
  assert.deepEqual(rest, a.subarray(5)); // ours now: the queue's next storage is elsewhere
  assert.deepEqual(q.read(), bytes(7));
});

Deno.test("ByteQueue rejects bad arguments", () => {
  assert.throws(() => new ByteQueue(0), RangeError);
  assert.throws(() => new ByteQueue(1.5), RangeError);
  assert.throws(() => new ByteQueue(Number.NaN), RangeError);
  assert.throws(() => new ByteQueue("8" as unknown as number), TypeError);
  const q = new ByteQueue(4);
  assert.throws(() => q.read(-1), RangeError);
  assert.throws(() => q.peek(0.5), RangeError);
  assert.throws(() => q.write([1, 2] as unknown as Uint8Array), TypeError);
});

Deno.test("createBioPair() uses one full TLS record plus slack as the default capacity", () => {
  const { engine, network } = createBioPair();
  assert.equal(DEFAULT_BIO_CAPACITY, 17 * 1024 + 512);
  assert.equal(engine.capacity, DEFAULT_BIO_CAPACITY);
  assert.equal(network.capacity, DEFAULT_BIO_CAPACITY);
  assert.equal(engine.writeGuarantee(), DEFAULT_BIO_CAPACITY);
  assert.equal(engine.pending(), 0);
  assert.equal(engine.eof, false);
  assert.equal(network.eof, false);
});

Deno.test("createBioPair() applies per-direction capacities", () => {
  const { engine, network } = createBioPair({ capacity: 10, engineCapacity: 3 });
  assert.equal(engine.capacity, 3);
  assert.equal(network.capacity, 10);
  assert.equal(engine.write(new Uint8Array(20)), 3);
  assert.equal(network.write(new Uint8Array(20)), 10);
  const other = createBioPair({ networkCapacity: 2 });
  assert.equal(other.engine.capacity, DEFAULT_BIO_CAPACITY);
  assert.equal(other.network.capacity, 2);
});

Deno.test("createBioPair() rejects capacities that are not positive integers", () => {
  for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => createBioPair({ capacity: bad }), RangeError, `capacity ${bad}`);
    assert.throws(() => createBioPair({ engineCapacity: bad }), RangeError, `engineCapacity ${bad}`);
    assert.throws(() => createBioPair({ networkCapacity: bad }), RangeError, `networkCapacity ${bad}`);
  }
  assert.throws(() => createBioPair({ capacity: "5" as unknown as number }), TypeError);
  assert.throws(() => createBioPair({ capacity: 0 }), /Cannot use "capacity" of 0/);
});

Deno.test("createBioPair() writes short when full and reports the write guarantee", () => {
  const { engine, network } = createBioPair({ capacity: 8 });
  assert.equal(engine.write(bytes(1, 2, 3, 4, 5)), 5);
  assert.equal(engine.writeGuarantee(), 3);
  assert.equal(engine.write(bytes(6, 7, 8, 9, 10)), 3);
  assert.equal(engine.writeGuarantee(), 0);
  assert.equal(engine.write(bytes(11)), 0);
  assert.equal(engine.write(new Uint8Array(0)), 0);
  // The other direction is independent.
  assert.equal(network.writeGuarantee(), 8);
  assert.equal(network.pending(), 8);
  assert.deepEqual(network.read(2), bytes(1, 2));
  assert.equal(engine.writeGuarantee(), 2);
  assert.equal(engine.write(bytes(9, 10, 11)), 2);
  assert.deepEqual(network.read(), bytes(3, 4, 5, 6, 7, 8, 9, 10));
});

Deno.test("createBioPair() reads at most max bytes and peeks without consuming", () => {
  const { engine, network } = createBioPair({ capacity: 16 });
  network.write(bytes(10, 20, 30, 40, 50));
  assert.equal(engine.pending(), 5);
  assert.deepEqual(engine.peek(2), bytes(10, 20));
  assert.deepEqual(engine.peek(), bytes(10, 20, 30, 40, 50));
  assert.deepEqual(engine.peek(99), bytes(10, 20, 30, 40, 50));
  assert.equal(engine.pending(), 5);
  assert.deepEqual(engine.read(0), new Uint8Array(0));
  assert.deepEqual(engine.read(3), bytes(10, 20, 30));
  assert.equal(engine.pending(), 2);
  assert.deepEqual(engine.read(99), bytes(40, 50));
  assert.deepEqual(engine.read(), new Uint8Array(0));
  assert.deepEqual(engine.peek(), new Uint8Array(0));
  assert.throws(() => engine.read(-1), RangeError);
  assert.throws(() => engine.peek(Number.NaN), RangeError);
});

Deno.test("createBioPair() returns copies the caller owns", () => {
  const { engine, network } = createBioPair({ capacity: 4 });
  const src = bytes(1, 2, 3);
  engine.write(src);
  src[0] = 99; // The pair copied the bytes on write.
  const peeked = network.peek();
  peeked[1] = 99; // And hands out copies.
  assert.deepEqual(network.read(), bytes(1, 2, 3));
});

Deno.test("createBioPair() signals EOF only after the other half's bytes are drained", () => {
  const { engine, network } = createBioPair({ capacity: 8 });
  network.write(bytes(1, 2, 3));
  network.shutdownWrite();
  network.shutdownWrite(); // Idempotent.
  assert.equal(engine.eof, false);
  assert.deepEqual(engine.read(2), bytes(1, 2));
  assert.equal(engine.eof, false);
  assert.deepEqual(engine.read(), bytes(3));
  assert.equal(engine.eof, true);
  assert.deepEqual(engine.read(), new Uint8Array(0));
  // Half-close: the engine can still write and the network half can still read.
  assert.equal(network.eof, false);
  assert.equal(engine.write(bytes(4, 5)), 2);
  assert.deepEqual(network.read(), bytes(4, 5));
  engine.shutdownWrite();
  assert.equal(network.eof, true);
});

Deno.test("createBioPair() throws TypeError on a write after shutdownWrite", () => {
  const { engine, network } = createBioPair({ capacity: 8 });
  engine.shutdownWrite();
  assert.equal(engine.writeGuarantee(), 0);
  assert.throws(() => engine.write(bytes(1)), TypeError);
  assert.throws(() => engine.give!(bytes(1)), TypeError);
  assert.throws(() => engine.write(new Uint8Array(0)), /shut down for writing/);
  assert.equal(network.write(bytes(1)), 1);
  network.shutdownWrite();
  assert.throws(() => network.write(bytes(2)), TypeError);
  assert.deepEqual(engine.read(), bytes(1));
});

Deno.test("createBioPair() moves data one byte at a time with capacity 1", () => {
  const { engine, network } = createBioPair({ capacity: 1 });
  const message = new TextEncoder().encode("one byte at a time");
  const received: number[] = [];
  let offset = 0;
  while (offset < message.length) {
    assert.equal(engine.writeGuarantee(), 1);
    const n = engine.write(message.subarray(offset));
    assert.equal(n, 1);
    offset += n;
    assert.equal(engine.write(message.subarray(offset)), 0);
    assert.equal(network.pending(), 1);
    received.push(...network.read());
  }
  engine.shutdownWrite();
  assert.equal(network.eof, true);
  assert.equal(new TextDecoder().decode(new Uint8Array(received)), "one byte at a time");
});

/**
 * Pump bytes from `source` (generated in chunks by `chunk`) through `from` to `to`, reading with sizes
 * from `readSize`. Returns the SHA-256 of what was sent and of what arrived, and the byte counts.
 */
function pump(
  from: Bio,
  to: Bio,
  total: number,
  chunk: () => number,
  readSize: () => number | undefined,
  seed: number,
) {
  const next = prng(seed);
  const sent = sha256.create();
  const got = sha256.create();
  let sentBytes = 0;
  let gotBytes = 0;
  let pendingChunk: Uint8Array = new Uint8Array(0);
  let closed = false;
  while (gotBytes < total || !closed) {
    if (pendingChunk.length === 0 && sentBytes < total) {
      pendingChunk = filled(Math.min(chunk(), total - sentBytes), next);
      sent.update(pendingChunk);
      sentBytes += pendingChunk.length;
    }
    if (!closed) {
      const guarantee = from.writeGuarantee();
      const n = from.write(pendingChunk);
      assert.equal(n, Math.min(guarantee, pendingChunk.length));
      pendingChunk = pendingChunk.subarray(n);
      if (sentBytes === total && pendingChunk.length === 0) {
        from.shutdownWrite();
        closed = true;
      }
    }
    const data = to.read(readSize());
    got.update(data);
    gotBytes += data.length;
  }
  assert.equal(to.eof, true);
  return { sent: sent.digest(), got: got.digest(), sentBytes, gotBytes };
}

Deno.test("createBioPair() pumps 64 MiB through a 17 KiB pair intact", () => {
  const total = 64 * 1024 * 1024;
  const { engine, network } = createBioPair({ capacity: 17 * 1024 });
  const result = pump(engine, network, total, () => 16 * 1024, () => undefined, 1);
  assert.equal(result.sentBytes, total);
  assert.equal(result.gotBytes, total);
  assert.deepEqual(result.got, result.sent);
});

Deno.test("createBioPair() keeps random chunkings of both directions intact", async (t) => {
  const seeds = [1, 2, 3, 42, 0xdecafbad];
  for (const seed of seeds) {
    await t.step(`seed ${seed}`, () => {
      const next = prng(seed);
      const capacity = between(next, 1, 40_000);
      const { engine, network } = createBioPair({ capacity, networkCapacity: between(next, 1, 40_000) });
      const total = between(next, 0, 1_000_000);
      const toNetwork = pump(
        engine,
        network,
        total,
        () => between(next, 1, 70_000),
        () => (next() % 4 === 0 ? undefined : between(next, 0, 30_000)),
        seed,
      );
      assert.deepEqual(toNetwork.got, toNetwork.sent);
      const back = pump(
        network,
        engine,
        total,
        () => between(next, 1, 5_000),
        () => between(next, 1, 3),
        seed + 1,
      );
      assert.deepEqual(back.got, back.sent);
      assert.equal(back.gotBytes, total);
    });
  }
});
