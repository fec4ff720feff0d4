/**
 * The RFC 7250 codecs and choices on their own: round trips, every strict prefix refused, the server's choice
 * in the client's order, pins compared whole.
 */
import assert from "node:assert/strict";
import { TlsError } from "./errors.ts";
import { ExtensionType as E } from "./msgs/enums.ts";
import {
  CertificateType,
  certificateTypeIds,
  chooseCertificateTypes,
  decodeCertificateType,
  decodeCertificateTypeList,
  encodeCertificateTypeList,
  isPinned,
} from "./raw_keys.ts";

const { x509, rawPublicKey } = CertificateType;

Deno.test("decodeCertificateTypeList() round-trips 1..255 types and refuses every strict prefix", () => {
  for (const n of [1, 2, 254, 255]) {
    const types = Array.from({ length: n }, (_, i) => i % 256);
    const bytes = encodeCertificateTypeList(types);
    assert.deepEqual(decodeCertificateTypeList(bytes, "t"), types);
    for (let cut = 0; cut < bytes.length; cut++) {
      assert.throws(() => decodeCertificateTypeList(bytes.subarray(0, cut), "t"), TlsError);
    }
  }
  assert.throws(
    () => decodeCertificateTypeList(Uint8Array.of(0), "t"),
    (e: TlsError) => e.alert === "decode_error",
  );
});

Deno.test("decodeCertificateType() takes exactly one byte", () => {
  assert.equal(decodeCertificateType(Uint8Array.of(2), "t"), 2);
  assert.throws(() => decodeCertificateType(new Uint8Array(0), "t"), TlsError);
  assert.throws(() => decodeCertificateType(Uint8Array.of(2, 0), "t"), TlsError);
});

Deno.test("certificateTypeIds() takes the two names once each, and nothing inherited", () => {
  assert.deepEqual(certificateTypeIds(["RawPublicKey", "X509"], "x"), [rawPublicKey, x509]);
  for (const bad of [[], ["X509", "X509"], ["toString"], ["constructor"], ["x509"]]) {
    assert.throws(() => certificateTypeIds(bad, "x"), RangeError);
  }
});

Deno.test("chooseCertificateTypes() follows the client's order among what the server has", () => {
  const ext = (type: number, ...types: number[]) => ({ type, data: encodeCertificateTypeList(types) });
  const both = { server: [rawPublicKey, x509], client: [rawPublicKey, x509] };
  const c = chooseCertificateTypes(both, [ext(E.serverCertificateType, x509, rawPublicKey)], false, "w");
  assert.equal(c.server, x509);
  assert.equal(c.answerServer, true);
  // No client_certificate_type: X.509, not answered.
  assert.equal(c.client, x509);
  assert.equal(c.answerClient, false);
  // No extension at all: X.509, which a raw-key-only server does not have.
  assert.throws(
    () => chooseCertificateTypes({ server: [rawPublicKey], client: [] }, [], false, "w"),
    (e: TlsError) => e.alert === "unsupported_certificate",
  );
  // No client type in common: an optional request is dropped, a required one fails.
  const rawOnly = { server: [rawPublicKey], client: [rawPublicKey] };
  const exts = [ext(E.serverCertificateType, rawPublicKey), ext(E.clientCertificateType, x509)];
  assert.equal(chooseCertificateTypes(rawOnly, exts, false, "w").client, undefined);
  assert.throws(() => chooseCertificateTypes(rawOnly, exts, true, "w"), TlsError);
});

Deno.test("isPinned() matches whole keys only", () => {
  const a = Uint8Array.of(1, 2, 3), b = Uint8Array.of(1, 2, 4);
  assert.equal(isPinned([b, a], Uint8Array.of(1, 2, 3)), true);
  assert.equal(isPinned([b], a), false);
  assert.equal(isPinned([a], Uint8Array.of(1, 2)), false);
  assert.equal(isPinned([], a), false);
});
