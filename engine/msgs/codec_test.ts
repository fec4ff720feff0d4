import assert from "node:assert/strict";
import { TlsError } from "../errors.ts";
import { Reader, Writer } from "./codec.ts";
import {
  decodeAlpn,
  decodeClientShares,
  decodeClientVersions,
  decodeCookie,
  decodeEmpty,
  decodeExtensions,
  decodePskModes,
  decodeServerNameList,
  decodeServerShare,
  decodeU16,
  decodeU16List,
  type Extension,
} from "./extensions.ts";
import {
  decodeCertificate,
  decodeCertificate12,
  decodeCertificateRequest,
  decodeCertificateRequest12,
  decodeCertificateVerify,
  decodeClientHello,
  decodeClientKeyExchange12,
  decodeEncryptedExtensions,
  decodeFinished,
  decodeKeyUpdate,
  decodeNewSessionTicket,
  decodeNewSessionTicket12,
  decodeServerHello,
  decodeServerKeyExchange12,
  encodeCertificate,
  encodeCertificate12,
  encodeCertificateRequest,
  encodeCertificateRequest12,
  encodeCertificateVerify,
  encodeClientHello,
  encodeClientKeyExchange12,
  encodeEcdheParams,
  encodeEncryptedExtensions,
  encodeFinished,
  encodeKeyUpdate,
  encodeNewSessionTicket,
  encodeNewSessionTicket12,
  encodeServerHello,
  encodeServerKeyExchange12,
} from "./handshake.ts";

/** Deterministic bytes (xorshift32), so failures reproduce. */
function rng(seed: number): (n: number) => Uint8Array {
  let x = seed >>> 0 || 1;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  };
}

/** Call `fn`, which must throw a TlsError; return it. */
function tlsError(fn: () => unknown): TlsError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof TlsError, `expected a TlsError, got ${e}`);
    return e;
  }
  assert.fail("expected a TlsError, nothing was thrown");
}

// ---- Reader ---------------------------------------------------------------------------------------

Deno.test("Reader.u8(), u16(), u24() and u32() read big-endian, u32 without going negative", () => {
  const r = new Reader(Uint8Array.of(1, 2, 3, 4, 5, 6, 0xff, 0xff, 0xff, 0xff), "Test");
  assert.equal(r.u8(), 1);
  assert.equal(r.u16(), 0x0203);
  assert.equal(r.u24(), 0x040506);
  assert.equal(r.u32(), 0xffffffff);
  assert.equal(r.left, 0);
  r.end();
});

Deno.test("Reader.bytes() and the integer reads on short input are decode_error with the message name and offset", () => {
  const r = new Reader(Uint8Array.of(1, 2, 3), "ServerHello", 4);
  r.u8();
  const e = tlsError(() => r.u24());
  assert.equal(e.alert, "decode_error");
  assert.equal(e.code, "invalid_message.too_short");
  assert.equal(e.where, "ServerHello+5");
  assert.equal(tlsError(() => new Reader(new Uint8Array(0), "X").u8()).where, "X+0");
  assert.equal(tlsError(() => new Reader(new Uint8Array(3), "X").bytes(4)).code, "invalid_message.too_short");
});

Deno.test("Reader.vec8() enforces <min..max> and reports the offset of the length", () => {
  const short = new Reader(Uint8Array.of(9, 1, 0xaa), "ClientHello", 4);
  short.u8();
  const e = tlsError(() => short.vec8(2, 4, "cookie"));
  assert.equal(e.code, "invalid_message.bad_length");
  assert.equal(e.alert, "decode_error");
  assert.equal(e.where, "ClientHello+5");
  assert.match(e.message, /cookie length 1 is outside 2\.\.4/);
  assert.equal(
    tlsError(() => new Reader(Uint8Array.of(5, 1, 2, 3, 4, 5), "X").vec8(0, 4)).code,
    "invalid_message.bad_length",
  );
  assert.deepEqual(new Reader(Uint8Array.of(2, 7, 8), "X").vec8(2, 4), Uint8Array.of(7, 8));
});

Deno.test("Reader.vec16() and vec24() with a length past the end are too_short", () => {
  assert.equal(
    tlsError(() => new Reader(Uint8Array.of(0, 5, 1, 2), "X").vec16()).code,
    "invalid_message.too_short",
  );
  assert.equal(
    tlsError(() => new Reader(Uint8Array.of(0, 0, 5, 1), "X").vec24()).code,
    "invalid_message.too_short",
  );
  assert.equal(tlsError(() => new Reader(Uint8Array.of(0), "X").vec16()).code, "invalid_message.too_short");
});

Deno.test("Reader.sub() keeps whole-message offsets, and the parent skips the vector", () => {
  const r = new Reader(Uint8Array.of(0, 3, 1, 2, 3, 9), "Certificate", 4);
  const sub = r.sub(2);
  assert.equal(sub.offset, 6);
  assert.deepEqual(sub.bytes(3), Uint8Array.of(1, 2, 3));
  assert.equal(tlsError(() => sub.u8()).where, "Certificate+9");
  assert.equal(r.u8(), 9);
  r.end();
});

Deno.test("Reader.u16List() rejects an odd length and enforces bounds", () => {
  assert.deepEqual(new Reader(Uint8Array.of(0, 4, 0, 1, 0, 2), "X").u16List(2, 10, "list"), [1, 2]);
  assert.equal(
    tlsError(() => new Reader(Uint8Array.of(0, 3, 0, 1, 2), "X").u16List(2, 10, "list")).code,
    "invalid_message.bad_length",
  );
  assert.equal(
    tlsError(() => new Reader(Uint8Array.of(0, 0), "X").u16List(2, 10, "list")).code,
    "invalid_message.bad_length",
  );
  assert.deepEqual(new Reader(Uint8Array.of(2, 3, 4), "X").u16List(2, 254, "versions", 1), [0x0304]);
});

Deno.test("Reader.end() rejects trailing bytes with their offset", () => {
  const r = new Reader(Uint8Array.of(1, 2, 3), "Finished", 4);
  r.u8();
  const e = tlsError(() => r.end());
  assert.equal(e.code, "invalid_message.trailing_data");
  assert.equal(e.alert, "decode_error");
  assert.equal(e.where, "Finished+5");
  assert.match(e.message, /2 trailing bytes/);
});

// ---- Writer ---------------------------------------------------------------------------------------

Deno.test("Writer.u8(), u16(), u24() and u32() write big-endian, and the Writer grows and grows past its initial size", () => {
  const w = new Writer(1).u8(1).u16(0x0203).u24(0x040506).u32(0xfffffffe);
  assert.deepEqual(w.finish(), Uint8Array.of(1, 2, 3, 4, 5, 6, 0xff, 0xff, 0xff, 0xfe));
  const big = new Writer(2).bytes(new Uint8Array(5000).fill(7)).u8(8).finish();
  assert.equal(big.length, 5001);
  assert.equal(big[4999], 7);
  assert.equal(big[5000], 8);
});

Deno.test("Writer.prefixed() nests like the RFC's <..> vectors", () => {
  const w = new Writer(4).prefixed(2, (w) => {
    w.u8(1).prefixed(1, (w) => w.u16(0x0203)).prefixed(3, () => {});
    w.vec(1, Uint8Array.of(9));
  });
  assert.deepEqual(w.finish(), Uint8Array.of(0, 9, 1, 2, 2, 3, 0, 0, 0, 1, 9));
  const r = new Reader(w.finish(), "X");
  const outer = r.sub(2);
  r.end();
  assert.equal(outer.u8(), 1);
  assert.deepEqual(outer.vec8(), Uint8Array.of(2, 3));
  assert.deepEqual(outer.vec24(), new Uint8Array(0));
  assert.deepEqual(outer.vec8(), Uint8Array.of(9));
  outer.end();
});

Deno.test("Writer.prefixed() refuses a body too long for its length field", () => {
  assert.throws(() => new Writer().prefixed(1, (w) => w.bytes(new Uint8Array(256))), RangeError);
  assert.equal(new Writer().prefixed(1, (w) => w.bytes(new Uint8Array(255))).length, 256);
});

// ---- every message: round trip, prefixes, random input -----------------------------------------

type Rand = (n: number) => Uint8Array;
const int = (
  rand: Rand,
  max: number,
) => (((rand(1)[0]! << 16) | (rand(1)[0]! << 8) | rand(1)[0]!) % (max + 1));

function randomExtensions(rand: Rand, min = 0): Extension[] {
  const seen = new Set<number>();
  const out: Extension[] = [];
  const n = Math.max(min, int(rand, 5));
  while (out.length < n) {
    const type = int(rand, 0xffff);
    if (seen.has(type)) continue;
    seen.add(type);
    out.push({ type, data: rand(int(rand, 20)) });
  }
  return out;
}

const extBlockLength = (exts: readonly Extension[]) => exts.reduce((n, e) => n + 4 + e.data.length, 2);

interface Case {
  readonly name: string;
  /** A random message: its encoding (header included) and its decoded form. */
  make(rand: Rand): { raw: Uint8Array; value: unknown };
  decode(body: Uint8Array): unknown;
  /** The one strict prefix length (of the body) that may decode: extensions are optional before TLS 1.3. */
  optionalTail?(value: unknown): number;
}

const CASES: readonly Case[] = [
  {
    name: "ClientHello",
    make(rand) {
      const value = {
        legacyVersion: int(rand, 0xffff),
        random: rand(32),
        sessionId: rand(int(rand, 32)),
        cipherSuites: Array.from({ length: 1 + int(rand, 6) }, () => int(rand, 0xffff)),
        compressionMethods: rand(1 + int(rand, 3)),
        extensions: randomExtensions(rand),
      };
      return { raw: encodeClientHello(value), value };
    },
    decode: decodeClientHello,
    optionalTail: (v) => extBlockLength((v as { extensions: Extension[] }).extensions),
  },
  {
    name: "ServerHello",
    make(rand) {
      const value = {
        legacyVersion: int(rand, 0xffff),
        random: rand(32),
        sessionId: rand(int(rand, 32)),
        cipherSuite: int(rand, 0xffff),
        compressionMethod: int(rand, 0xff),
        extensions: randomExtensions(rand),
      };
      return { raw: encodeServerHello(value), value };
    },
    decode: decodeServerHello,
    optionalTail: (v) => extBlockLength((v as { extensions: Extension[] }).extensions),
  },
  {
    name: "EncryptedExtensions",
    make(rand) {
      const value = randomExtensions(rand);
      return { raw: encodeEncryptedExtensions(value), value };
    },
    decode: decodeEncryptedExtensions,
  },
  {
    name: "CertificateRequest",
    make(rand) {
      const value = { context: rand(int(rand, 8)), extensions: randomExtensions(rand, 1) };
      return { raw: encodeCertificateRequest(value), value };
    },
    decode: decodeCertificateRequest,
  },
  {
    name: "Certificate",
    make(rand) {
      const entries = Array.from({ length: int(rand, 3) }, () => ({
        certData: rand(1 + int(rand, 40)),
        extensions: randomExtensions(rand),
      }));
      const value = { context: rand(int(rand, 8)), entries };
      return { raw: encodeCertificate(value), value };
    },
    decode: decodeCertificate,
  },
  {
    name: "CertificateVerify",
    make(rand) {
      const value = { scheme: int(rand, 0xffff), signature: rand(1 + int(rand, 80)) };
      return { raw: encodeCertificateVerify(value), value };
    },
    decode: decodeCertificateVerify,
  },
  {
    name: "Finished",
    make(rand) {
      const value = rand(32);
      return { raw: encodeFinished(value), value };
    },
    decode: (b) => decodeFinished(b, 32),
  },
  {
    name: "NewSessionTicket",
    make(rand) {
      const value = {
        lifetime: int(rand, 604800),
        ageAdd: ((rand(1)[0]! << 24) >>> 0) + int(rand, 0xffffff),
        nonce: rand(int(rand, 16)),
        ticket: rand(1 + int(rand, 40)),
        extensions: randomExtensions(rand),
      };
      return { raw: encodeNewSessionTicket(value), value };
    },
    decode: decodeNewSessionTicket,
  },
  {
    name: "ServerKeyExchange12",
    make(rand) {
      const group = int(rand, 0xffff), publicKey = rand(1 + int(rand, 97));
      const value = {
        group,
        publicKey,
        scheme: int(rand, 0xffff),
        signature: rand(1 + int(rand, 80)),
        params: encodeEcdheParams(group, publicKey),
      };
      return { raw: encodeServerKeyExchange12(value), value };
    },
    decode: decodeServerKeyExchange12,
  },
  {
    name: "ClientKeyExchange12",
    make(rand) {
      const value = rand(1 + int(rand, 97));
      return { raw: encodeClientKeyExchange12(value), value };
    },
    decode: decodeClientKeyExchange12,
  },
  {
    name: "Certificate12",
    make(rand) {
      const value = Array.from({ length: int(rand, 3) }, () => rand(1 + int(rand, 40)));
      return { raw: encodeCertificate12(value), value };
    },
    decode: decodeCertificate12,
  },
  {
    name: "CertificateRequest12",
    make(rand) {
      const value = {
        certificateTypes: [...rand(1 + int(rand, 3))],
        signatureSchemes: Array.from({ length: 1 + int(rand, 5) }, () => int(rand, 0xffff)),
        certificateAuthorities: Array.from({ length: int(rand, 3) }, () => rand(1 + int(rand, 30))),
      };
      return { raw: encodeCertificateRequest12(value), value };
    },
    decode: decodeCertificateRequest12,
  },
  {
    name: "NewSessionTicket12",
    make(rand) {
      const value = { lifetimeHint: int(rand, 0xffffff), ticket: rand(int(rand, 60)) };
      return { raw: encodeNewSessionTicket12(value), value };
    },
    decode: decodeNewSessionTicket12,
  },
  {
    name: "KeyUpdate",
    make(rand) {
      const value = int(rand, 1) as 0 | 1;
      return { raw: encodeKeyUpdate(value === 1), value };
    },
    decode: decodeKeyUpdate,
  },
];

for (const c of CASES) {
  Deno.test(`decode${c.name}() round-trips random messages, and no strict prefix decodes`, () => {
    const rand = rng(c.name.length * 7919);
    for (let i = 0; i < 50; i++) {
      const { raw, value } = c.make(rand);
      const body = raw.subarray(4);
      assert.equal((raw[1]! << 16) | (raw[2]! << 8) | raw[3]!, body.length, "header length");
      assert.deepEqual(c.decode(body), value);
      const tail = c.optionalTail?.(value);
      for (let j = 0; j < body.length; j++) {
        if (tail !== undefined && j === body.length - tail) {
          // Before TLS 1.3 extensions were optional: this prefix is the same message without them.
          assert.deepEqual(c.decode(body.subarray(0, j)), { ...(value as object), extensions: [] });
          continue;
        }
        const e = tlsError(() => c.decode(body.subarray(0, j)));
        assert.equal(e.alert, "decode_error", `${c.name} prefix ${j}/${body.length}: ${e.message}`);
      }
    }
  });
}

const DECODERS: Readonly<Record<string, (b: Uint8Array) => unknown>> = {
  ...Object.fromEntries(CASES.map((c) => [c.name, c.decode])),
  extensions: (b) => decodeExtensions(new Reader(b, "X")),
  server_name: (b) => decodeServerNameList(b, "X"),
  supported_groups: (b) => decodeU16List(b, "X", "named_group_list"),
  alpn: (b) => decodeAlpn(b, "X"),
  supported_versions: (b) => decodeClientVersions(b, "X"),
  u16: (b) => decodeU16(b, "X"),
  client_shares: (b) => decodeClientShares(b, "X"),
  server_share: (b) => decodeServerShare(b, "X"),
  psk_modes: (b) => decodePskModes(b, "X"),
  cookie: (b) => decodeCookie(b, "X"),
  empty: (b) => decodeEmpty(b, "X"),
};

Deno.test("every decoder throws only TlsError on seeded random bytes and on mutated messages", () => {
  const rand = rng(20260101);
  const samples: Uint8Array[] = [];
  for (let i = 0; i < 300; i++) samples.push(rand(int(rand, 80)));
  for (const c of CASES) {
    for (let i = 0; i < 40; i++) {
      const body = c.make(rand).raw.slice(4);
      const at = int(rand, body.length - 1);
      if (body.length > 0) body[at] = rand(1)[0]!;
      samples.push(body);
    }
  }
  for (const [name, decode] of Object.entries(DECODERS)) {
    for (const s of samples) {
      try {
        decode(s);
      } catch (e) {
        assert.ok(e instanceof TlsError, `${name} threw ${e} on ${Array.from(s)}`);
        assert.ok(e.code.startsWith("invalid_message.") || e.code.startsWith("peer_misbehaved."), e.code);
      }
    }
  }
});

Deno.test("decodeKeyUpdate() accepts 0 and 1 only; 2 is illegal_parameter", () => {
  assert.equal(decodeKeyUpdate(Uint8Array.of(0)), 0);
  assert.equal(decodeKeyUpdate(Uint8Array.of(1)), 1);
  const e = tlsError(() => decodeKeyUpdate(Uint8Array.of(2)));
  assert.equal(e.alert, "illegal_parameter");
  assert.equal(e.code, "peer_misbehaved.bad_key_update");
  assert.equal(tlsError(() => decodeKeyUpdate(Uint8Array.of(1, 0))).code, "invalid_message.trailing_data");
});

Deno.test("decodeExtensions() rejects a duplicate type with illegal_parameter at its offset", () => {
  const w = new Writer().prefixed(
    2,
    (w) => w.u16(10).vec(2, Uint8Array.of(1)).u16(10).vec(2, new Uint8Array(0)),
  );
  const e = tlsError(() => decodeExtensions(new Reader(w.finish(), "ClientHello", 38)));
  assert.equal(e.alert, "illegal_parameter");
  assert.equal(e.code, "peer_misbehaved.duplicate_extension");
  assert.equal(e.where, "ClientHello+45");
});

Deno.test("decodeNewSessionTicket() refuses a lifetime above 7 days", () => {
  const raw = encodeNewSessionTicket({
    lifetime: 604801,
    ageAdd: 0,
    nonce: new Uint8Array(0),
    ticket: Uint8Array.of(1),
    extensions: [],
  });
  const e = tlsError(() => decodeNewSessionTicket(raw.subarray(4)));
  assert.equal(e.alert, "illegal_parameter");
  assert.equal(e.code, "peer_misbehaved.ticket_lifetime");
});
