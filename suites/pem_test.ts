import assert from "node:assert/strict";
import { pemDecode, pemEncode } from "./pem.ts";

Deno.test("pemEncode() and pemDecode() round-trip with 64-character lines", () => {
  const der = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff);
  const pem = pemEncode(der, "CERTIFICATE");
  const lines = pem.trimEnd().split("\n");
  assert.equal(lines[0], "-----BEGIN CERTIFICATE-----");
  assert.equal(lines.at(-1), "-----END CERTIFICATE-----");
  assert.ok(lines.slice(1, -1).every((line) => line.length <= 64));
  assert.equal(lines[1]!.length, 64);
  assert.deepEqual(pemDecode(pem), [der]);
});

Deno.test("pemEncode() handles an empty body and every remainder length", () => {
  for (let n = 0; n < 5; n++) {
    const der = new Uint8Array(n).fill(0xab);
    assert.deepEqual(pemDecode(pemEncode(der, "X")), [der]);
  }
});

Deno.test("pemDecode() returns every block in order and filters by label", () => {
  const text = "leading text\n" +
    pemEncode(new Uint8Array([1]), "CERTIFICATE") +
    "between\n" +
    pemEncode(new Uint8Array([2]), "PRIVATE KEY") +
    pemEncode(new Uint8Array([3]), "CERTIFICATE");
  assert.deepEqual(pemDecode(text), [new Uint8Array([1]), new Uint8Array([2]), new Uint8Array([3])]);
  assert.deepEqual(pemDecode(text, "CERTIFICATE"), [new Uint8Array([1]), new Uint8Array([3])]);
  assert.deepEqual(pemDecode(text, "PRIVATE KEY"), [new Uint8Array([2])]);
  assert.deepEqual(pemDecode(text, "KEY"), []);
  assert.deepEqual(pemDecode(text, "EC PRIVATE KEY"), []);
  assert.deepEqual(pemDecode("no blocks here"), []);
});

Deno.test("pemDecode() accepts CRLF line endings", () => {
  const pem = pemEncode(new Uint8Array([9, 8, 7, 6]), "TEST").replaceAll("\n", "\r\n");
  assert.deepEqual(pemDecode(pem, "TEST"), [new Uint8Array([9, 8, 7, 6])]);
});

Deno.test("pemDecode() rejects bad base64 with SyntaxError", () => {
  const wrap = (body: string) => `-----BEGIN TEST-----\n${body}\n-----END TEST-----\n`;
  assert.throws(() => pemDecode(wrap("AQI*")), SyntaxError);
  assert.throws(() => pemDecode(wrap("AQI")), SyntaxError);
  assert.throws(() => pemDecode(wrap("A===")), SyntaxError);
  assert.throws(() => pemDecode(wrap("AQ==AQ==")), SyntaxError);
  assert.throws(() => pemDecode(wrap("Proc-Type: 4,ENCRYPTED\n\nAQID")), SyntaxError);
});

Deno.test("pemDecode() rejects a block without a matching END line", () => {
  assert.throws(() => pemDecode("-----BEGIN TEST-----\nAQID\n"), SyntaxError);
  assert.throws(() => pemDecode("-----BEGIN TEST-----\nAQID\n-----END OTHER-----\n"), SyntaxError);
});
