// Copyright 2026 the airlock authors. MIT license.

import assert from "node:assert/strict";
import { HandshakeJoiner, READ_AHEAD, RecordReader } from "./layer.ts";
import { TlsError } from "../errors.ts";

const header = (type: number, length: number) => Uint8Array.of(type, 3, 3, length >>> 8, length & 0xff);
const body = (n: number) => new Uint8Array(n).map((_, i) => i * 7);
const record = (type: number, b: Uint8Array) => new Uint8Array([...header(type, b.length), ...b]);

Deno.test("RecordReader keeps a whole body handed over (owned) instead of copying it", () => {
  const r = new RecordReader();
  assert.equal(r.room(), READ_AHEAD);
  r.push(header(23, 3000), true);
  assert.equal(r.ready(), false);
  assert.equal(r.room(), 3000);
  assert.equal(r.buffered, 5);
  const b = body(3000);
  r.push(b, true);
  assert.equal(r.ready(), true);
  assert.deepEqual(r.peek(), { type: 23, length: 3000 });
  const rec = r.take()!;
  assert.equal(rec.body.buffer, b.buffer, "the same memory");
  assert.deepEqual(rec.header, header(23, 3000));
  assert.equal(r.buffered, 0);
  assert.equal(r.room(), READ_AHEAD);
});

Deno.test("RecordReader copies bytes it does not own, and bodies that come in pieces", () => {
  const r = new RecordReader();
  const b = body(3000);
  r.push(header(23, 3000));
  assert.equal(r.ready(), false);
  r.push(b); // not owned: copied
  b.fill(0);
  assert.deepEqual(r.take()!.body, body(3000));
  // Header and body in one owned chunk, the body split over two pushes.
  const chunk = record(22, body(100)).subarray(0, 65);
  r.push(chunk, true);
  assert.equal(r.ready(), false);
  assert.equal(r.room(), 40);
  r.push(body(100).subarray(60), true);
  const rec = r.take()!;
  assert.deepEqual(rec.body, body(100));
  chunk.fill(0);
  assert.deepEqual(rec.body, body(100), "pieces are copied into the record's own body");
  // An empty body.
  r.push(header(21, 0), true);
  assert.deepEqual(r.take()!.body, new Uint8Array(0));
});

Deno.test("RecordReader frames many records out of one chunk read ahead, one at a time, as views of it", () => {
  const r = new RecordReader();
  const records = [record(22, body(1)), record(22, body(0)), record(21, body(2)), record(23, body(300))];
  const chunk = new Uint8Array(records.flatMap((x) => [...x]));
  r.push(chunk, true);
  assert.equal(r.buffered, chunk.length);
  for (const [i, x] of records.entries()) {
    assert.equal(r.ready(), true);
    assert.deepEqual(r.peek(), { type: x[0], length: x.length - 5 });
    const rec = r.take()!;
    assert.deepEqual(rec.header, x.subarray(0, 5));
    assert.deepEqual(rec.body, x.subarray(5));
    assert.equal(rec.body.buffer, chunk.buffer, `record ${i}: a view, not a copy`);
  }
  assert.equal(r.ready(), false);
  assert.equal(r.buffered, 0);
  assert.equal(r.take(), undefined);
  assert.equal(r.room(), READ_AHEAD, "between records it reads ahead again");
});

Deno.test("RecordReader assembles a record cut off at the end of a chunk, then reads ahead past it", () => {
  const r = new RecordReader();
  const [a, b, c] = [record(22, body(3)), record(23, body(200)), record(22, body(4))];
  // a whole, then b's first 2 header bytes.
  r.push(new Uint8Array([...a, ...b.subarray(0, 2)]), true);
  assert.deepEqual(r.take()!.body, body(3));
  assert.equal(r.ready(), false);
  assert.equal(r.room(), 3, "the rest of the header");
  r.push(b.subarray(2, 50), true); // more than the header: the rest is the body's start
  assert.equal(r.ready(), false);
  assert.equal(r.room(), 205 - 50);
  assert.equal(r.buffered, 50);
  // The rest of b with c behind it: c is read ahead.
  r.push(new Uint8Array([...b.subarray(50), ...c]), true);
  assert.equal(r.buffered, b.length + c.length);
  assert.deepEqual(r.take()!.body, body(200));
  assert.deepEqual(r.take()!.body, body(4));
  assert.equal(r.buffered, 0);
});

Deno.test("RecordReader refuses a bad header only when the records before it are taken", () => {
  const r = new RecordReader();
  r.push(new Uint8Array([...record(22, body(1)), ...header(99, 1), 0]), true);
  assert.deepEqual(r.take()!.body, body(1));
  assert.throws(
    () => r.ready(),
    (e) => e instanceof TlsError && e.code === "peer_misbehaved.bad_content_type",
  );
  // A length over 2^14 + 256, cut off after its header: refused as soon as the header is whole.
  const s = new RecordReader();
  s.push(new Uint8Array([...record(22, body(1)), 23, 3]), true);
  s.take();
  assert.equal(s.ready(), false);
  assert.throws(() => s.push(Uint8Array.of(3, 0x41, 1), true), /length 16641 exceeds 16640/);
});

Deno.test("RecordReader refuses a push while records read ahead wait", () => {
  const r = new RecordReader();
  r.push(new Uint8Array([...record(22, body(1)), ...record(22, body(1))]), true);
  r.take();
  assert.throws(() => r.push(Uint8Array.of(1)), /still waiting to be framed/);
});

Deno.test("RecordReader.takeInto hands a handshake record's body to the joiner without a view", () => {
  const r = new RecordReader();
  const message = [1, 0, 0, 2, 7, 8];
  // A handshake message in 1-byte records, all in one chunk.
  r.push(new Uint8Array(message.flatMap((x) => [...record(22, Uint8Array.of(x))])), true);
  const j = new HandshakeJoiner(1024);
  while (r.ready()) r.takeInto(j);
  const m = j.take()!;
  assert.deepEqual(m.raw, Uint8Array.from(message));
  assert.equal(r.buffered, 0);
});
