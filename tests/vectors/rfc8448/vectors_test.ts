// Self-consistency checks for the RFC 8448 Section 3 extraction in simple_1rtt.json.
// A mis-copied, truncated or page-break-corrupted value should make one of these fail.
import assert from "node:assert/strict";
import { x25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { expand, extract } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { rfc8448Simple as v, rfc8448SimpleHex, type Rfc8448SimpleName } from "./mod.ts";

const enc = new TextEncoder();

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function byteAt(b: Uint8Array, i: number): number {
  const x = b[i];
  if (x === undefined) throw new RangeError(`index ${i} out of range (length ${b.length})`);
  return x;
}

const u16 = (b: Uint8Array, off: number) => (byteAt(b, off) << 8) | byteAt(b, off + 1);
const u24 = (b: Uint8Array, off: number) => (byteAt(b, off) << 16) | u16(b, off + 1);

function assertContains(hay: Rfc8448SimpleName, needle: Rfc8448SimpleName): number {
  const h = hex(v[hay]);
  const n = hex(v[needle]);
  let at = h.indexOf(n);
  while (at >= 0 && at % 2 !== 0) at = h.indexOf(n, at + 1);
  assert.ok(at >= 0, `${needle} not found inside ${hay}`);
  return at / 2;
}

function assertEq(actual: Uint8Array, expected: Uint8Array, what: string) {
  assert.equal(hex(actual), hex(expected), what);
}

/** HKDF-Expand-Label (RFC 8446 Section 7.1) info encoding. */
function hkdfLabel(label: string, context: Uint8Array, length: number): Uint8Array {
  const l = enc.encode("tls13 " + label);
  return concat(
    new Uint8Array([length >> 8, length & 0xff, l.length]),
    l,
    new Uint8Array([context.length]),
    context,
  );
}

function expandLabel(secret: Uint8Array, label: string, context: Uint8Array, length: number): Uint8Array {
  return expand(sha256, secret, hkdfLabel(label, context, length), length);
}

const EMPTY = new Uint8Array(0);

const handshakeMessages: [Rfc8448SimpleName, number][] = [
  ["clientHello", 1],
  ["serverHello", 2],
  ["newSessionTicket", 4],
  ["encryptedExtensions", 8],
  ["certificate", 11],
  ["certificateVerify", 15],
  ["serverFinished", 20],
  ["clientFinished", 20],
];

// [record, inner plaintext, inner content type, key, iv, sequence number]
const protectedRecords: [
  Rfc8448SimpleName,
  Rfc8448SimpleName,
  number,
  Rfc8448SimpleName,
  Rfc8448SimpleName,
  number,
][] = [
  [
    "serverEncryptedFlightRecord",
    "serverEncryptedFlightPlaintext",
    22,
    "serverHandshakeKey",
    "serverHandshakeIv",
    0,
  ],
  ["clientFinishedRecord", "clientFinished", 22, "clientHandshakeKey", "clientHandshakeIv", 0],
  ["newSessionTicketRecord", "newSessionTicket", 22, "serverApplicationKey", "serverApplicationIv", 0],
  [
    "serverApplicationDataRecord",
    "serverApplicationDataPlaintext",
    23,
    "serverApplicationKey",
    "serverApplicationIv",
    1,
  ],
  ["serverAlertRecord", "serverAlertPlaintext", 21, "serverApplicationKey", "serverApplicationIv", 2],
  [
    "clientApplicationDataRecord",
    "clientApplicationDataPlaintext",
    23,
    "clientApplicationKey",
    "clientApplicationIv",
    0,
  ],
  ["clientAlertRecord", "clientAlertPlaintext", 21, "clientApplicationKey", "clientApplicationIv", 1],
];

Deno.test("rfc8448 vectors: JSON is lowercase hex with expected sizes", () => {
  for (const [name, s] of Object.entries(rfc8448SimpleHex)) {
    assert.match(s, /^(?:[0-9a-f]{2})*$/, name);
  }
  const sizes: Partial<Record<Rfc8448SimpleName, number>> = {
    clientX25519Private: 32,
    clientX25519Public: 32,
    serverX25519Private: 32,
    serverX25519Public: 32,
    clientRandom: 32,
    serverRandom: 32,
    clientHello: 196,
    clientHelloRecord: 201,
    serverHello: 90,
    serverHelloRecord: 95,
    encryptedExtensions: 40,
    certificate: 445,
    certificateVerify: 136,
    serverFinished: 36,
    serverEncryptedFlightPlaintext: 657,
    serverEncryptedFlightRecord: 679,
    clientFinished: 36,
    clientFinishedRecord: 58,
    newSessionTicket: 205,
    newSessionTicketRecord: 227,
    clientApplicationDataRecord: 72,
    serverApplicationDataRecord: 72,
    clientAlertRecord: 24,
    serverAlertRecord: 24,
    serverHandshakeKey: 16,
    serverHandshakeIv: 12,
    clientHandshakeKey: 16,
    clientHandshakeIv: 12,
    serverApplicationKey: 16,
    serverApplicationIv: 12,
    clientApplicationKey: 16,
    clientApplicationIv: 12,
    rsaModulus: 128,
    rsaPrivateExponent: 128,
    certificateVerifySignature: 128,
  };
  for (const [name, size] of Object.entries(sizes)) {
    assert.equal(v[name as Rfc8448SimpleName].length, size, name);
  }
});

Deno.test("rfc8448 vectors: record framing", () => {
  for (const name of Object.keys(v) as Rfc8448SimpleName[]) {
    if (!name.endsWith("Record")) continue;
    const rec = v[name];
    assert.ok([0x16, 0x17].includes(byteAt(rec, 0)), `${name} content type`);
    assert.equal(byteAt(rec, 1), 3, `${name} legacy_record_version major`);
    assert.equal(u16(rec, 3), rec.length - 5, `${name} record length field`);
  }
  assertEq(
    v.clientHelloRecord,
    concat(
      new Uint8Array([0x16, 0x03, 0x01, v.clientHello.length >> 8, v.clientHello.length & 0xff]),
      v.clientHello,
    ),
    "clientHelloRecord = 16 03 01 len clientHello",
  );
  assertEq(
    v.serverHelloRecord,
    concat(
      new Uint8Array([0x16, 0x03, 0x03, v.serverHello.length >> 8, v.serverHello.length & 0xff]),
      v.serverHello,
    ),
    "serverHelloRecord = 16 03 03 len serverHello",
  );
  for (const [rec, pt] of protectedRecords) {
    // TLSCiphertext: opaque_type application_data, 03 03, content || type(1) || tag(16), no padding in the trace.
    assertEq(v[rec].subarray(0, 3), new Uint8Array([0x17, 0x03, 0x03]), `${rec} header`);
    assert.equal(u16(v[rec], 3), v[pt].length + 1 + 16, `${rec} length vs ${pt}`);
  }
  assert.equal(hex(v.serverEncryptedFlightRecord.subarray(0, 5)), "17030302a2");
});

Deno.test("rfc8448 vectors: handshake message framing and contents", () => {
  for (const [name, type] of handshakeMessages) {
    assert.equal(byteAt(v[name], 0), type, `${name} msg_type`);
    assert.equal(u24(v[name], 1), v[name].length - 4, `${name} u24 length`);
  }
  assertEq(
    v.serverEncryptedFlightPlaintext,
    concat(v.encryptedExtensions, v.certificate, v.certificateVerify, v.serverFinished),
    "server flight = EE || Certificate || CertificateVerify || Finished",
  );
  assert.equal(hex(v.clientHello.subarray(0, 4)), "010000c0");
  // legacy_version 03 03 then Random at offset 6, for both hellos.
  assertEq(v.clientHello.subarray(6, 38), v.clientRandom, "clientRandom at offset 6");
  assertEq(v.serverHello.subarray(6, 38), v.serverRandom, "serverRandom at offset 6");
  // key_share entries: group x25519 (00 1d), key length 32.
  const chKs = assertContains("clientHello", "clientX25519Public");
  assert.equal(hex(v.clientHello.subarray(chKs - 4, chKs)), "001d0020");
  const shKs = assertContains("serverHello", "serverX25519Public");
  assert.equal(hex(v.serverHello.subarray(shKs - 4, shKs)), "001d0020");
  // Certificate: context "" , list, one entry of cert_data + empty extensions.
  const certAt = assertContains("certificate", "serverCertificateDer");
  assert.equal(certAt, 11);
  assert.equal(u24(v.certificate, 8), v.serverCertificateDer.length);
  assert.equal(hex(v.certificate.subarray(certAt + v.serverCertificateDer.length)), "0000");
  assert.equal(u16(v.serverCertificateDer, 2) + 4, v.serverCertificateDer.length, "DER SEQUENCE length");
  assertContains("serverCertificateDer", "rsaModulus");
  // CertificateVerify: rsa_pss_rsae_sha256 (08 04), u16 signature length, signature.
  assert.equal(hex(v.certificateVerify.subarray(4, 6)), "0804");
  assert.equal(u16(v.certificateVerify, 6), v.certificateVerifySignature.length);
  assertEq(v.certificateVerify.subarray(8), v.certificateVerifySignature, "CertificateVerify signature tail");
  // Finished messages carry the verify_data printed by "calculate finished".
  assertEq(v.serverFinished.subarray(4), v.serverFinishedVerifyData, "server Finished verify_data");
  assertEq(v.clientFinished.subarray(4), v.clientFinishedVerifyData, "client Finished verify_data");
  // NewSessionTicket: lifetime(4) age_add(4) nonce<u8> ticket<u16> extensions<u16>.
  assert.equal(byteAt(v.newSessionTicket, 12), v.ticketNonce.length);
  assertEq(v.newSessionTicket.subarray(13, 13 + v.ticketNonce.length), v.ticketNonce, "ticket_nonce");
  // close_notify alerts: level warning(1), description close_notify(0).
  assert.equal(hex(v.clientAlertPlaintext), "0100");
  assert.equal(hex(v.serverAlertPlaintext), "0100");
});

Deno.test("rfc8448 vectors: x25519 keys and shared secret", () => {
  assertEq(x25519.getPublicKey(v.clientX25519Private), v.clientX25519Public, "client public key");
  assertEq(x25519.getPublicKey(v.serverX25519Private), v.serverX25519Public, "server public key");
  assertEq(
    x25519.getSharedSecret(v.clientX25519Private, v.serverX25519Public),
    v.ecdheSharedSecret,
    "client-side ECDHE",
  );
  assertEq(
    x25519.getSharedSecret(v.serverX25519Private, v.clientX25519Public),
    v.ecdheSharedSecret,
    "server-side ECDHE",
  );
});

Deno.test("rfc8448 vectors: key schedule (HKDF-SHA256)", () => {
  const zeros = new Uint8Array(32);
  assertEq(v.earlySecretIkm, zeros, "early IKM");
  assertEq(v.masterSecretIkm, zeros, "master IKM");
  assertEq(sha256(EMPTY), v.emptyHash, "empty hash");
  assertEq(extract(sha256, zeros, zeros), v.earlySecret, "early secret");
  assertEq(hkdfLabel("derived", v.emptyHash, 32), v.derivedInfo, "derived info");
  assertEq(
    expandLabel(v.earlySecret, "derived", v.emptyHash, 32),
    v.derivedForHandshake,
    "derived (handshake)",
  );
  assertEq(
    extract(sha256, v.ecdheSharedSecret, v.derivedForHandshake),
    v.handshakeSecret,
    "handshake secret",
  );

  const thSh = sha256(concat(v.clientHello, v.serverHello));
  assertEq(thSh, v.transcriptHashServerHello, "transcript hash CH..SH");
  assertEq(hkdfLabel("c hs traffic", thSh, 32), v.clientHandshakeTrafficInfo, "c hs info");
  assertEq(hkdfLabel("s hs traffic", thSh, 32), v.serverHandshakeTrafficInfo, "s hs info");
  assertEq(
    expandLabel(v.handshakeSecret, "c hs traffic", thSh, 32),
    v.clientHandshakeTrafficSecret,
    "c hs traffic",
  );
  assertEq(
    expandLabel(v.handshakeSecret, "s hs traffic", thSh, 32),
    v.serverHandshakeTrafficSecret,
    "s hs traffic",
  );
  assertEq(
    expandLabel(v.handshakeSecret, "derived", v.emptyHash, 32),
    v.derivedForMaster,
    "derived (master)",
  );
  assertEq(extract(sha256, zeros, v.derivedForMaster), v.masterSecret, "master secret");

  assertEq(hkdfLabel("key", EMPTY, 16), v.trafficKeyInfo, "key info");
  assertEq(hkdfLabel("iv", EMPTY, 12), v.trafficIvInfo, "iv info");
  const keys: [Rfc8448SimpleName, Rfc8448SimpleName, Rfc8448SimpleName][] = [
    ["serverHandshakeTrafficSecret", "serverHandshakeKey", "serverHandshakeIv"],
    ["clientHandshakeTrafficSecret", "clientHandshakeKey", "clientHandshakeIv"],
    ["serverApplicationTrafficSecret", "serverApplicationKey", "serverApplicationIv"],
    ["clientApplicationTrafficSecret", "clientApplicationKey", "clientApplicationIv"],
  ];
  for (const [secret, key, iv] of keys) {
    assertEq(expandLabel(v[secret], "key", EMPTY, 16), v[key], key);
    assertEq(expandLabel(v[secret], "iv", EMPTY, 12), v[iv], iv);
  }

  assertEq(hkdfLabel("finished", EMPTY, 32), v.finishedInfo, "finished info");
  assertEq(
    expandLabel(v.serverHandshakeTrafficSecret, "finished", EMPTY, 32),
    v.serverFinishedKey,
    "s finished key",
  );
  assertEq(
    expandLabel(v.clientHandshakeTrafficSecret, "finished", EMPTY, 32),
    v.clientFinishedKey,
    "c finished key",
  );
  const thCv = sha256(
    concat(v.clientHello, v.serverHello, v.encryptedExtensions, v.certificate, v.certificateVerify),
  );
  assertEq(hmac(sha256, v.serverFinishedKey, thCv), v.serverFinishedVerifyData, "server verify_data");

  const thSf = sha256(concat(v.clientHello, v.serverHello, v.serverEncryptedFlightPlaintext));
  assertEq(thSf, v.transcriptHashServerFinished, "transcript hash CH..server Finished");
  assertEq(hmac(sha256, v.clientFinishedKey, thSf), v.clientFinishedVerifyData, "client verify_data");
  assertEq(hkdfLabel("c ap traffic", thSf, 32), v.clientApplicationTrafficInfo, "c ap info");
  assertEq(hkdfLabel("s ap traffic", thSf, 32), v.serverApplicationTrafficInfo, "s ap info");
  assertEq(hkdfLabel("exp master", thSf, 32), v.exporterMasterInfo, "exp master info");
  assertEq(
    expandLabel(v.masterSecret, "c ap traffic", thSf, 32),
    v.clientApplicationTrafficSecret,
    "c ap traffic",
  );
  assertEq(
    expandLabel(v.masterSecret, "s ap traffic", thSf, 32),
    v.serverApplicationTrafficSecret,
    "s ap traffic",
  );
  assertEq(expandLabel(v.masterSecret, "exp master", thSf, 32), v.exporterMasterSecret, "exporter master");

  const thCf = sha256(
    concat(v.clientHello, v.serverHello, v.serverEncryptedFlightPlaintext, v.clientFinished),
  );
  assertEq(thCf, v.transcriptHashClientFinished, "transcript hash CH..client Finished");
  assertEq(hkdfLabel("res master", thCf, 32), v.resumptionMasterInfo, "res master info");
  assertEq(
    expandLabel(v.masterSecret, "res master", thCf, 32),
    v.resumptionMasterSecret,
    "resumption master",
  );
  assertEq(hkdfLabel("resumption", v.ticketNonce, 32), v.ticketPskInfo, "resumption info");
  assertEq(expandLabel(v.resumptionMasterSecret, "resumption", v.ticketNonce, 32), v.ticketPsk, "ticket PSK");
});

Deno.test("rfc8448 vectors: protected records decrypt (AES-128-GCM)", async () => {
  for (const [rec, pt, type, key, iv, seq] of protectedRecords) {
    const nonce = v[iv].slice();
    nonce[11] = byteAt(nonce, 11) ^ seq; // seq < 256
    const k = await crypto.subtle.importKey("raw", v[key], "AES-GCM", false, ["decrypt"]);
    const inner = new Uint8Array(
      await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: nonce, additionalData: v[rec].slice(0, 5), tagLength: 128 },
        k,
        v[rec].slice(5),
      ),
    );
    assertEq(inner, concat(v[pt], new Uint8Array([type])), `${rec} inner plaintext`);
  }
});

Deno.test("rfc8448 vectors: RSA key and CertificateVerify signature", async () => {
  const big = (b: Uint8Array) => BigInt("0x" + (hex(b) || "0"));
  const mod = (a: bigint, m: bigint) => ((a % m) + m) % m;
  const n = big(v.rsaModulus);
  const e = big(v.rsaPublicExponent);
  const d = big(v.rsaPrivateExponent);
  const p = big(v.rsaPrime1);
  const q = big(v.rsaPrime2);
  assert.equal(p * q, n, "n = p * q");
  assert.equal(e, 65537n);
  const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));
  const lambda = (p - 1n) * (q - 1n) / gcd(p - 1n, q - 1n);
  assert.equal(mod(d * e, lambda), 1n, "d * e = 1 mod lcm(p-1, q-1)");
  assert.equal(mod(d, p - 1n), big(v.rsaExponent1), "exponent1 = d mod (p-1)");
  assert.equal(mod(d, q - 1n), big(v.rsaExponent2), "exponent2 = d mod (q-1)");
  assert.equal(mod(big(v.rsaCoefficient) * q, p), 1n, "coefficient = q^-1 mod p");

  const b64url = (b: Uint8Array) =>
    btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const pub = await crypto.subtle.importKey(
    "jwk",
    { kty: "RSA", n: b64url(v.rsaModulus), e: b64url(v.rsaPublicExponent), alg: "PS256", ext: true },
    { name: "RSA-PSS", hash: "SHA-256" },
    false,
    ["verify"],
  );
  const thCert = sha256(concat(v.clientHello, v.serverHello, v.encryptedExtensions, v.certificate));
  const signed = concat(
    new Uint8Array(64).fill(0x20),
    enc.encode("TLS 1.3, server CertificateVerify"),
    new Uint8Array([0]),
    thCert,
  );
  const ok = await crypto.subtle.verify(
    { name: "RSA-PSS", saltLength: 32 },
    pub,
    v.certificateVerifySignature,
    signed,
  );
  assert.equal(ok, true, "CertificateVerify RSA-PSS signature verifies");
});
