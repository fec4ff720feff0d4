// Copyright 2026 the airlock authors. MIT license.

import assert from "node:assert/strict";
import { Writer } from "../msgs/codec.ts";
import { TlsError } from "../errors.ts";
import { nobleProvider } from "../../suites/provider.ts";
import {
  DEFAULT_ECH_SUITES,
  ECH_VERSION,
  encodeEchConfig,
  encodeEchConfigList,
  encodeEchKeyPem,
  generateEchKey,
  MAX_ECH_CONFIGS,
  parseEchConfigList,
  parseEchKeyPem,
} from "./config.ts";

const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const KEY = new Uint8Array(32).fill(9);

/** An ECHConfig written field by field, so that a test can put anything in any field. */
function rawConfig(o: {
  version?: number;
  configId?: number;
  kem?: number;
  key?: Uint8Array;
  suites?: Uint8Array;
  maxName?: number;
  name?: string;
  extensions?: Uint8Array;
  trailing?: Uint8Array;
} = {}): Uint8Array {
  const contents = new Writer()
    .u8(o.configId ?? 1)
    .u16(o.kem ?? 0x0020)
    .vec(2, o.key ?? KEY)
    .vec(2, o.suites ?? Uint8Array.of(0, 1, 0, 1))
    .u8(o.maxName ?? 0)
    .vec(1, new TextEncoder().encode(o.name ?? "public.example"))
    .vec(2, o.extensions ?? new Uint8Array(0))
    .bytes(o.trailing ?? new Uint8Array(0))
    .finish();
  return new Writer().u16(o.version ?? ECH_VERSION).vec(2, contents).finish();
}

const list = (...configs: Uint8Array[]) =>
  new Writer().prefixed(2, (w) => configs.forEach((c) => w.bytes(c))).finish();

function isDecodeError(e: unknown): boolean {
  return e instanceof TlsError && e.alert === "decode_error";
}

Deno.test("ech config: a generated key's configuration encodes and parses back, field for field", () => {
  const key = generateEchKey(
    { publicName: "Public.Example", configId: 42, maximumNameLength: 32 },
    nobleProvider,
    random,
  );
  const [c, ...rest] = parseEchConfigList(encodeEchConfigList([key.config]));
  assert.equal(rest.length, 0);
  assert.equal(c!.configId, 42);
  assert.equal(c!.kemId, 0x0020);
  assert.equal(c!.publicKey.length, 32);
  assert.deepEqual(c!.cipherSuites, DEFAULT_ECH_SUITES);
  assert.equal(c!.maximumNameLength, 32);
  assert.equal(c!.publicName, "public.example");
  assert.deepEqual(c!.encoded, key.config);
  // Two generated keys differ, and a random config id is a byte.
  const other = generateEchKey({ publicName: "public.example" }, nobleProvider, random);
  assert.notDeepEqual(other.privateKey, key.privateKey);
  const [o] = parseEchConfigList(encodeEchConfigList([other.config]));
  assert.ok(o!.configId >= 0 && o!.configId <= 255);
});

Deno.test("ech config: a client skips what it cannot use and keeps the rest, in order", () => {
  const good = rawConfig({ configId: 2 });
  const configs = parseEchConfigList(list(
    rawConfig({ version: 0xfe0c, configId: 1 }), // another version: its contents need not even parse
    good,
    rawConfig({ configId: 3, kem: 0x0010, key: new Uint8Array(65).fill(4) }), // P-256 KEM
    rawConfig({ configId: 4, suites: Uint8Array.of(0, 2, 0, 1) }), // KDF HKDF-SHA384 only
    rawConfig({ configId: 5, extensions: Uint8Array.of(0xfa, 0xfa, 0, 0) }), // mandatory, unknown
    rawConfig({ configId: 6, extensions: Uint8Array.of(0x0a, 0x0a, 0, 1, 7) }), // optional, unknown: kept
    rawConfig({ configId: 7, name: "192.0.2.1" }), // reads as an IPv4 address
    rawConfig({ configId: 8, name: "example.0x1f" }), // so does this
    rawConfig({ configId: 9, name: "bad_name.example" }), // not LDH
    rawConfig({ configId: 10, name: ".example" }), // empty label
    rawConfig({ configId: 11, key: new Uint8Array(31) }), // not an X25519 key
    rawConfig({ configId: 12, suites: Uint8Array.of(0, 1, 0, 1, 0, 1, 0xff, 0xff, 0, 1, 0, 3) }), // export-only dropped
  ));
  assert.deepEqual(configs.map((c) => c.configId), [2, 6, 12]);
  assert.deepEqual(configs[0]!.encoded, good);
  assert.deepEqual(configs[1]!.extensions, [{ type: 0x0a0a, data: Uint8Array.of(7) }]);
  assert.deepEqual(configs[2]!.cipherSuites, [{ kdf: 1, aead: 1 }, { kdf: 1, aead: 3 }]);
  assert.deepEqual(parseEchConfigList(list(rawConfig({ version: 0xfe0c }))), []);
});

Deno.test("ech config: malformed lists are decode_error TlsErrors, whatever field is wrong", () => {
  const bad: [string, Uint8Array][] = [
    ["empty list", Uint8Array.of(0, 0)],
    ["list shorter than its length", Uint8Array.of(0, 10, 0xfe, 0x0d, 0, 0)],
    ["bytes after the list", Uint8Array.of(...list(rawConfig()), 0)],
    ["contents shorter than their length", list(Uint8Array.of(0xfe, 0x0d, 0, 9, 1, 0))],
    ["bytes after the extensions", list(rawConfig({ trailing: Uint8Array.of(0) }))],
    ["cipher suites of 6 bytes", list(rawConfig({ suites: Uint8Array.of(0, 1, 0, 1, 0, 3) }))],
    ["no cipher suite", list(rawConfig({ suites: new Uint8Array(0) }))],
    ["an empty public key", list(rawConfig({ key: new Uint8Array(0) }))],
    ["an empty public name", list(rawConfig({ name: "" }))],
    ["an extension twice", list(rawConfig({ extensions: Uint8Array.of(0, 1, 0, 0, 0, 1, 0, 0) }))],
    ["an extension cut short", list(rawConfig({ extensions: Uint8Array.of(0, 1, 0, 5, 1) }))],
    ["too many configurations", list(...Array.from({ length: MAX_ECH_CONFIGS + 1 }, () => rawConfig()))],
  ];
  for (const [what, bytes] of bad) {
    assert.throws(() => parseEchConfigList(bytes), isDecodeError, what);
  }
  // The limit is the count, not the size: 64 configurations parse.
  assert.equal(
    parseEchConfigList(list(...Array.from({ length: MAX_ECH_CONFIGS }, () => rawConfig()))).length,
    64,
  );
});

Deno.test("ech config: encoding refuses fields out of range, with the field named", () => {
  const base = { configId: 1, publicKey: KEY, publicName: "public.example" };
  assert.throws(() => encodeEchConfig({ ...base, configId: 256 }), /config id 256/);
  assert.throws(() => encodeEchConfig({ ...base, maximumNameLength: 300 }), /maximum name length/);
  assert.throws(() => encodeEchConfig({ ...base, publicName: "10.0.0.1" }), /IPv4/);
  assert.throws(() => encodeEchConfig({ ...base, publicName: "a..b" }), /LDH/);
  assert.throws(() => encodeEchConfig({ ...base, cipherSuites: [] }), /cipher suites/);
  assert.throws(() => encodeEchConfigList([]), RangeError);
  assert.throws(() => encodeEchConfigList([new Uint8Array(0x10000)]), RangeError);
});

Deno.test("ech config: a key's PEM file reads back, and a file whose parts disagree is refused", () => {
  const key = generateEchKey({ publicName: "public.example", configId: 3 }, nobleProvider, random);
  const pem = encodeEchKeyPem(key);
  assert.match(pem, /-----BEGIN PRIVATE KEY-----[\s\S]*-----BEGIN ECHCONFIG-----/);
  const back = parseEchKeyPem(pem);
  assert.deepEqual(back.privateKey, key.privateKey);
  assert.deepEqual(back.config, key.config);

  const other = generateEchKey({ publicName: "public.example" }, nobleProvider, random);
  const mixed = pem.slice(0, pem.indexOf("-----BEGIN ECHCONFIG")) +
    encodeEchKeyPem(other).slice(encodeEchKeyPem(other).indexOf("-----BEGIN ECHCONFIG"));
  assert.throws(() => parseEchKeyPem(mixed), /not the private key's/);
  assert.throws(() => parseEchKeyPem(pem.slice(0, pem.indexOf("-----BEGIN ECHCONFIG"))), /ECHCONFIG block/);
  const notX25519 = pem.replace(/-----BEGIN PRIVATE KEY-----[\s\S]*?-----END PRIVATE KEY-----\n/, "") +
    "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n-----END PRIVATE KEY-----\n";
  assert.throws(() => parseEchKeyPem(notX25519), /not an X25519 PKCS#8 key/);
});
