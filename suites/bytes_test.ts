import assert from "node:assert/strict";
import { bytesKey, concat, ctEqual, fromHex, toBase64Url, toHex, utf8 } from "./bytes.ts";

Deno.test("concat() joins arrays in order", () => {
  const out = concat(new Uint8Array([1, 2]), new Uint8Array(0), new Uint8Array([3]));
  assert.deepEqual(out, new Uint8Array([1, 2, 3]));
});

Deno.test("concat() handles no arrays and returns a copy", () => {
  assert.deepEqual(concat(), new Uint8Array(0));
  const a = new Uint8Array([7]);
  const out = concat(a);
  out[0] = 8;
  assert.equal(a[0], 7);
});

Deno.test("ctEqual() compares content and length", () => {
  assert.equal(ctEqual(new Uint8Array(0), new Uint8Array(0)), true);
  assert.equal(ctEqual(fromHex("00112233"), fromHex("00112233")), true);
  assert.equal(ctEqual(fromHex("00112233"), fromHex("00112232")), false);
  assert.equal(ctEqual(fromHex("80112233"), fromHex("00112233")), false);
  assert.equal(ctEqual(fromHex("001122"), fromHex("00112233")), false);
  assert.equal(ctEqual(fromHex("00112233"), fromHex("001122")), false);
});

Deno.test("ctEqual() works on subarray views", () => {
  const big = fromHex("ff0102ff");
  assert.equal(ctEqual(big.subarray(1, 3), fromHex("0102")), true);
});

Deno.test("toHex() and fromHex() round-trip every byte value", () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const hex = toHex(all);
  assert.equal(hex.length, 512);
  assert.equal(hex.slice(0, 8), "00010203");
  assert.equal(hex.slice(-4), "feff");
  assert.deepEqual(fromHex(hex), all);
  assert.deepEqual(fromHex(hex.toUpperCase()), all);
});

Deno.test("fromHex() rejects odd length and non-hex characters", () => {
  assert.throws(() => fromHex("abc"), RangeError);
  assert.throws(() => fromHex("zz"), RangeError);
  assert.throws(() => fromHex("0x00"), RangeError);
  assert.throws(() => fromHex("00 11"), RangeError);
  assert.deepEqual(fromHex(""), new Uint8Array(0));
});

Deno.test("utf8() encodes multi-byte characters", () => {
  assert.deepEqual(utf8("tls13 "), fromHex("746c73313320"));
  assert.deepEqual(utf8("é€"), fromHex("c3a9e282ac"));
});

Deno.test("bytesKey: one code point per byte, a different one for each of the 256 values", () => {
  const keys = new Set<string>();
  for (let b = 0; b < 256; b++) {
    const key = bytesKey(Uint8Array.of(b));
    assert.equal(key.length, 1);
    keys.add(key);
  }
  assert.equal(keys.size, 256);
  const a = Uint8Array.of(0x30, 0x81, 0x9d, 0), b = Uint8Array.of(0xff, 0x80);
  assert.equal(bytesKey(concat(a, b)), bytesKey(a) + bytesKey(b));
  assert.equal(bytesKey(new Uint8Array(0)), "");
  // A view keys its own bytes, not its buffer's.
  const whole = Uint8Array.of(1, 2, 3, 4, 5);
  assert.equal(bytesKey(whole.subarray(1, 3)), bytesKey(Uint8Array.of(2, 3)));
});

Deno.test("toBase64Url() is RFC 4648 §5 base64url without padding, for every length and byte value", () => {
  const reference = (bytes: Uint8Array) => {
    let bin = "";
    for (const b of bytes) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.equal(toBase64Url(all), reference(all));
  for (let n = 0; n <= 70; n++) {
    const bytes = crypto.getRandomValues(new Uint8Array(n + 3)).subarray(3); // a view at an offset
    const got = toBase64Url(bytes);
    assert.equal(got, reference(bytes), `length ${n}`);
    assert.match(got, /^[A-Za-z0-9_-]*$/);
  }
  // RFC 4648 §10's vectors, in the URL alphabet and unpadded.
  const rfc: [string, string][] = [["", ""], ["f", "Zg"], ["fo", "Zm8"], ["foo", "Zm9v"], [
    "foobar",
    "Zm9vYmFy",
  ]];
  for (const [text, b64] of rfc) assert.equal(toBase64Url(new TextEncoder().encode(text)), b64);
});
