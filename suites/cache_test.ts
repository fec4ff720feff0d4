import assert from "node:assert/strict";
import { BoundedCache, ByteKeyedCache } from "./cache.ts";

Deno.test("ByteKeyedCache: one value per tag and bytes, made once, the least recently used dropped first", () => {
  const cache = new ByteKeyedCache<string>(2, 30_000);
  let made = 0;
  const get = (tag: string, ...bytes: number[]) =>
    cache.get(tag, Uint8Array.from(bytes), () => `${tag}${bytes}#${++made}`);
  assert.equal(get("a", 1, 2), "a1,2#1");
  assert.equal(get("a", 1, 2), "a1,2#1", "a hit: not made again");
  assert.equal(get("b", 1, 2), "b1,2#2", "another tag: another value");
  assert.equal(get("a", 1, 2), "a1,2#1"); // now the most recently used
  assert.equal(get("a", 1, 3), "a1,3#3"); // full: "b" 1,2 goes
  assert.equal(get("a", 1, 2), "a1,2#1");
  assert.equal(get("b", 1, 2), "b1,2#4", "dropped, so made again");
  // Bytes that differ only past the first 8 KiB are other keys.
  const big = new Uint8Array(20_000), other = big.slice();
  other[19_999] = 1;
  assert.notEqual(cache.get("x", big, () => "big"), cache.get("x", other, () => "other"));
});

Deno.test("ByteKeyedCache: a make that throws caches nothing", () => {
  const cache = new ByteKeyedCache<number>(4, 100);
  assert.throws(() =>
    cache.get("t", Uint8Array.of(1), () => {
      throw new TypeError("bad key");
    }), TypeError);
  assert.equal(cache.get("t", Uint8Array.of(1), () => 7), 7);
});

Deno.test("ByteKeyedCache: bytes longer than its bound are never kept", () => {
  const cache = new ByteKeyedCache<number>(4, 100);
  let made = 0;
  const long = new Uint8Array(101);
  cache.get("t", long, () => ++made);
  assert.equal(cache.get("t", long, () => ++made), 2);
  assert.equal(cache.get("t", long.subarray(1), () => ++made), 3);
  assert.equal(cache.get("t", long.subarray(1), () => ++made), 3, "100 bytes: kept");
});

Deno.test("BoundedCache: string keys, the least recently used dropped first, none kept past its key bound", () => {
  const cache = new BoundedCache<number>(2, 3);
  let made = 0;
  const get = (key: string) => cache.get(key, () => ++made);
  assert.equal(get("a"), 1);
  assert.equal(get("b"), 2);
  assert.equal(get("a"), 1); // now the most recently used
  assert.equal(get("c"), 3); // full: "b" goes
  assert.equal(get("a"), 1);
  assert.equal(get("b"), 4, "dropped, so made again");
  assert.equal(get("abcd"), 5);
  assert.equal(get("abcd"), 6, "longer than the bound: never kept");
});
