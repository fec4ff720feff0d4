// Copyright 2026 the airlock authors. MIT license.

import assert from "node:assert/strict";
import { HandshakeJoiner } from "./layer.ts";
import { frame } from "../msgs/handshake.ts";
import { bytesCopied } from "../../testing/pair.ts";

const message = (type: number, n: number) => frame(type, new Uint8Array(n).map((_, i) => i * 7));

Deno.test("HandshakeJoiner joins a message from fragments, and several messages from one fragment", () => {
  const j = new HandshakeJoiner(1 << 16);
  const a = message(1, 300), b = message(2, 5), c = message(11, 0);
  for (let i = 0; i < a.length; i += 7) {
    assert.equal(j.take(), undefined);
    j.push(a.subarray(i, i + 7));
  }
  assert.deepEqual(j.take()?.raw, a);
  j.push(new Uint8Array([...b, ...c, ...a.subarray(0, 2)]));
  assert.deepEqual(j.take()?.body, b.subarray(4));
  assert.deepEqual(j.take()?.raw, c);
  assert.equal(j.take(), undefined);
  assert.equal(j.buffered, 2);
  j.push(a.subarray(2, 3));
  j.push(a.subarray(3));
  const m = j.take()!;
  assert.deepEqual([m.type, m.raw], [1, a]);
  assert.equal(j.buffered, 0);
});

Deno.test("HandshakeJoiner refuses a length above the limit as soon as the header is whole", () => {
  const j = new HandshakeJoiner(1024);
  const big = message(11, 1025);
  for (let i = 0; i < 3; i++) j.push(big.subarray(i, i + 1));
  assert.throws(() => j.push(big.subarray(3, 4)), /length 1025 exceeds the limit of 1024/);
  // A ClientHello (type 1) may be as long as its fields allow: 131,396 bytes, not one more.
  const hello = new HandshakeJoiner(1024);
  hello.push(Uint8Array.of(1, 0x02, 0x01, 0x44));
  assert.equal(hello.take(), undefined);
  assert.throws(
    () => new HandshakeJoiner(1024).push(Uint8Array.of(1, 0x02, 0x01, 0x45)),
    /131397 exceeds the limit of 131396/,
  );
});

Deno.test("security: HandshakeJoiner reassembles 1-byte fragments with linear copying, not quadratic", () => {
  // Issue #15, finding 2: every fragment copied all that was buffered, n^2/2 bytes for n fragments.
  const m = message(1, 16384 - 4);
  const j = new HandshakeJoiner(1 << 16);
  let raw: Uint8Array | undefined;
  const copied = bytesCopied(() => {
    for (let i = 0; i < m.length; i++) j.push(m.subarray(i, i + 1));
    raw = j.take()?.raw;
  });
  assert.deepEqual(raw, m);
  assert.ok(copied <= 3 * m.length, `${copied} bytes copied to join ${m.length}`);
});

Deno.test("HandshakeJoiner takes fragments as ranges of a larger array, short and long", () => {
  const a = message(1, 300), b = message(2, 5);
  const chunk = new Uint8Array([9, 9, ...a, ...b, 9]);
  const j = new HandshakeJoiner(1 << 16);
  // Byte by byte, then a long range (copied with set()), then a range holding a whole message.
  for (let i = 2; i < 12; i++) j.push(chunk, i, i + 1);
  assert.equal(j.buffered, 10);
  j.push(chunk, 12, 2 + a.length);
  assert.deepEqual(j.take()?.raw, a);
  j.push(chunk, 2 + a.length, 2 + a.length + b.length);
  assert.deepEqual(j.take()?.raw, b);
  assert.equal(j.buffered, 0);
  j.push(chunk, 5, 5);
  assert.equal(j.buffered, 0, "an empty range adds nothing");
});
