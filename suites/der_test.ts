import assert from "node:assert/strict";
import {
  checkInteger,
  DerError,
  DerReader,
  readBitString,
  readBoolean,
  readOid,
  readTime,
  Tag,
} from "./der.ts";

const bytes = (...values: number[]) => new Uint8Array(values);

Deno.test("DerReader.read() accepts only definite, shortest-form lengths", () => {
  assert.deepEqual(new DerReader(bytes(0x04, 0x02, 1, 2)).read().value, bytes(1, 2));
  const long = new Uint8Array([0x04, 0x81, 0x80, ...new Uint8Array(0x80)]);
  assert.equal(new DerReader(long).read().value.length, 0x80);
  for (
    const bad of [
      bytes(0x04, 0x80, 0, 0), // indefinite
      bytes(0x04, 0x81, 0x01, 0), // long form for a short length
      bytes(0x04, 0x82, 0x00, 0x81, ...new Array(0x81).fill(0)), // leading zero length byte
      bytes(0x04, 0x03, 1, 2), // runs past the end
      bytes(0x1f, 0x81, 0x00, 0x00), // multi-byte tag
      bytes(0x04),
    ]
  ) {
    assert.throws(() => new DerReader(bad).read(), DerError, String(bad));
  }
  const r = new DerReader(bytes(0x05, 0x00, 0x05, 0x00));
  r.expect(Tag.null, "first");
  assert.throws(() => r.end("pair"), /trailing data/);
  assert.throws(() => r.expect(Tag.integer, "an INTEGER"), /tag 0x5, expected 0x2/);
});

Deno.test("checkInteger(), readBoolean() and readBitString() enforce DER forms", () => {
  checkInteger(bytes(0x00, 0x80), "n");
  checkInteger(bytes(0x7f), "n");
  assert.throws(() => checkInteger(bytes(0x00, 0x7f), "n"), /shortest form/);
  assert.throws(() => checkInteger(bytes(0xff, 0x80), "n"), /shortest form/);
  assert.throws(() => checkInteger(bytes(), "n"), /empty/);
  assert.equal(readBoolean(bytes(0xff), "b"), true);
  assert.equal(readBoolean(bytes(0x00), "b"), false);
  assert.throws(() => readBoolean(bytes(0x01), "b"), DerError);
  assert.deepEqual(readBitString(bytes(0x01, 0xfe), "k"), { bytes: bytes(0xfe), unused: 1 });
  assert.throws(() => readBitString(bytes(0x01, 0xff), "k"), /padding/);
  assert.throws(() => readBitString(bytes(0x08, 0x00), "k"), /unused-bit/);
  assert.throws(() => readBitString(bytes(0x01), "k"), /unused-bit/);
});

Deno.test("readOid() decodes arcs and rejects padded sub-identifiers", () => {
  assert.equal(readOid(bytes(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b)), "1.2.840.113549.1.1.11");
  assert.equal(readOid(bytes(0x55, 0x1d, 0x13)), "2.5.29.19");
  assert.equal(readOid(bytes(0x88, 0x37, 0x03)), "2.999.3");
  assert.throws(() => readOid(bytes(0x55, 0x80, 0x1d)), /shortest form/);
  assert.throws(() => readOid(bytes(0x55, 0x9d)), /ends inside/);
  assert.throws(() => readOid(bytes()), /empty/);
});

Deno.test("readTime() reads UTCTime and GeneralizedTime in UTC only", () => {
  const enc = (tag: number, text: string) => ({ tag, value: new TextEncoder().encode(text), raw: bytes() });
  assert.equal(readTime(enc(Tag.utcTime, "491231235959Z")), Date.UTC(2049, 11, 31, 23, 59, 59) / 1000);
  assert.equal(readTime(enc(Tag.utcTime, "500101000000Z")), Date.UTC(1950, 0, 1) / 1000);
  assert.equal(readTime(enc(Tag.generalizedTime, "20500101000000Z")), Date.UTC(2050, 0, 1) / 1000);
  assert.equal(readTime(enc(Tag.generalizedTime, "20240229120000Z")), Date.UTC(2024, 1, 29, 12) / 1000);
  for (
    const [tag, text] of [
      [Tag.utcTime, "4912312359Z"],
      [Tag.utcTime, "491231235959+0100"],
      [Tag.generalizedTime, "20500101000000.5Z"],
      [Tag.generalizedTime, "20230229000000Z"],
      [Tag.generalizedTime, "20231301000000Z"],
      [Tag.generalizedTime, "20231231240000Z"],
      [Tag.generalizedTime, "2023123123595aZ"],
    ] as const
  ) {
    assert.throws(() => readTime(enc(tag, text)), DerError, text);
  }
});
