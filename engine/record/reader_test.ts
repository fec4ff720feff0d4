// Copyright 2026 the airlock authors. MIT license.

import assert from "node:assert/strict";
import { RecordReader } from "./layer.ts";

const header = (type: number, length: number) => Uint8Array.of(type, 3, 3, length >>> 8, length & 0xff);
const body = (n: number) => new Uint8Array(n).map((_, i) => i * 7);

Deno.test("RecordReader keeps a whole body handed over (owned) instead of copying it", () => {
  const r = new RecordReader();
  r.push(header(23, 3000), true);
  assert.equal(r.wanted(), 3000);
  assert.equal(r.buffered, 5);
  const b = body(3000);
  r.push(b, true);
  assert.deepEqual(r.peek(), { type: 23, length: 3000 });
  const rec = r.take()!;
  assert.equal(rec.body.buffer, b.buffer, "the same memory");
  assert.deepEqual(rec.header, header(23, 3000));
  assert.equal(r.buffered, 0);
  assert.equal(r.wanted(), 5);
});

Deno.test("RecordReader copies bytes it does not own, and bodies that come in pieces", () => {
  const r = new RecordReader();
  const b = body(3000);
  r.push(header(23, 3000));
  r.push(b); // not owned: copied
  b.fill(0);
  assert.deepEqual(r.take()!.body, body(3000));
  // Header and body in one owned chunk, the body split over two pushes.
  const chunk = new Uint8Array([...header(22, 100), ...body(60)]);
  r.push(chunk, true);
  assert.equal(r.wanted(), 40);
  r.push(body(100).subarray(60), true);
  const rec = r.take()!;
  assert.deepEqual(rec.body, body(100));
  chunk.fill(0);
  assert.deepEqual(rec.body, body(100), "pieces are copied into the record's own body");
  // An empty body.
  r.push(header(21, 0), true);
  assert.deepEqual(r.take()!.body, new Uint8Array(0));
});
