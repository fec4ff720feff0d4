/**
 * Bad input: each test alters one thing in flight (a record, a message, a field) and asserts the exact alert
 * and code on the side that catches it, that the other side receives that alert, and that the error is sticky.
 * No test may see an exception escape an engine call.
 */
import assert from "node:assert/strict";
import {
  customSigningKey,
  loadPrivateKey,
  nobleProvider,
  on,
  SslError,
  type TlsEngine,
  TlsError,
} from "../mod.ts";
import {
  drain,
  type Filter,
  handshake,
  handshakeExpectingFailure,
  type Pair,
  type PairOptions,
  seededRandom,
  settled,
  step,
  transfer,
  writeAll,
} from "../testing/pair.ts";
import {
  cat,
  chain,
  editPlain,
  type Message,
  onPlainMessages,
  onProtected,
  onProtectedMessages,
  onRecords,
  record,
} from "../testing/tamper.ts";
import { generateTestCertificate } from "../testing/pki.ts";
import { ContentType as CT, ExtensionType as E, HandshakeType as H } from "../engine/msgs/enums.ts";
import {
  decodeServerHello,
  encodeCertificate,
  encodeNewSessionTicket,
  encodeServerHello,
  HRR_RANDOM,
} from "../engine/msgs/handshake.ts";
import {
  encodeAlpn,
  encodeClientShares,
  encodeServerShare,
  encodeU16,
  encodeU16List,
  type Extension,
} from "../engine/msgs/extensions.ts";
import { MAX_CIPHERTEXT, MAX_PLAINTEXT } from "../engine/record/layer.ts";

import {
  assertReceived,
  editClientHello,
  editServerHello,
  rejects,
  rejectsAfter,
  replace,
  seededPair as pair,
  withExt,
  without,
} from "../testing/reject.ts";

const isHrr = (m: Message) =>
  m.type === H.serverHello && decodeServerHello(m.body).random.every((b, i) => b === HRR_RANDOM[i]);

/** Client and server that go through a HelloRetryRequest: the client's one share is x25519, the server wants P-256. */
const HRR: PairOptions = { client: { groups: ["x25519", "secp256r1"] }, server: { groups: ["secp256r1"] } };

// ---- controls: the filters themselves change nothing ------------------------------------------

Deno.test("tamper: identity filters on records and protected records let the handshake and data through", async () => {
  const p = await pair();
  await handshake(
    p,
    chain(onRecords("client", (r) => r), onProtected(p.server, (i) => i), onProtected(p.client, (i) => i)),
  );
  assert.equal(await writeAll(p.client, Uint8Array.of(1, 2, 3)), 3);
  transfer(p, onProtected(p.client, (i) => i));
  assert.deepEqual(await drain(p.server), Uint8Array.of(1, 2, 3));
});

Deno.test("tamper: an unknown extension in ClientHello is ignored, not an error", async () => {
  const p = await pair({ client: { helloExtensions: withExt(0x1234, Uint8Array.of(1, 2)) } });
  await handshake(p);
  assert.equal(p.server.handshakeInfo?.version, "TLSv1.3");
});

// ---- record layer -------------------------------------------------------------------------------

Deno.test("record: an unknown content type is unexpected_message", async () => {
  const p = await pair();
  const f = onRecords("client", (r) => ({ ...r, type: 0x63 }));
  await rejects(p, "server", "unexpected_message", "peer_misbehaved.bad_content_type", f);
});

Deno.test("record: a length above 2^14+256 is record_overflow", async () => {
  const p = await pair();
  const f = onRecords(
    "client",
    (r) => ({ ...r, body: cat(r.body, new Uint8Array(MAX_CIPHERTEXT + 1 - r.body.length)) }),
  );
  await rejects(p, "server", "record_overflow", "peer_misbehaved.record_overflow", f);
});

Deno.test("record: a plaintext handshake record above 2^14 is record_overflow", async () => {
  // A valid ClientHello of about 16.4 KB, fragmented by the client, rejoined into one record (below 2^14+256).
  const p = await pair({
    // No ECH GREASE: the hello is sized to the byte.
    client: {
      groups: ["x25519"],
      ech: { grease: false },
      helloExtensions: withExt(E.padding, new Uint8Array(16200)),
    },
  });
  let held: Uint8Array = new Uint8Array(0);
  const f = onRecords("client", (r, i) => {
    if (i === 0) return void (held = r.body);
    return i === 1 ? { ...r, body: cat(held, r.body) } : r;
  });
  await rejects(p, "server", "record_overflow", "peer_misbehaved.record_overflow", f);
  assert.match(p.server.error!.message, /exceed 16384/);
});

Deno.test("record: a flipped bit in a protected record is bad_record_mac", async () => {
  const p = await pair();
  let flipped = false;
  const f = onRecords("server", (r) => {
    if (r.type !== CT.applicationData || flipped) return r;
    flipped = true;
    const body = r.body.slice();
    body[7]! ^= 0x10;
    return { ...r, body };
  });
  await rejects(p, "client", "bad_record_mac", "decrypt", f);
});

Deno.test("record: a protected record shorter than the AEAD tag is bad_record_mac", async () => {
  const p = await pair();
  await handshake(p);
  p.s.network.write(record(CT.applicationData, new Uint8Array(10)));
  await rejectsAfter(p, "server", "bad_record_mac", "decrypt");
});

Deno.test("record: application data before the handshake is unexpected_message", async () => {
  const p = await pair();
  const f = onRecords("client", (r, i) => (i === 0 ? [{ ...r, type: CT.applicationData }, r] : r));
  await rejects(p, "server", "unexpected_message", "peer_misbehaved.unprotected_data", f);
});

Deno.test("record: an empty plaintext handshake record is unexpected_message", async () => {
  const p = await pair();
  const f = onRecords("client", (r, i) => (i === 0 ? [{ ...r, body: new Uint8Array(0) }, r] : r));
  await rejects(p, "server", "unexpected_message", "peer_misbehaved.empty_handshake_record", f);
});

Deno.test("record: a ChangeCipherSpec with a body other than 0x01 is unexpected_message", async () => {
  const p = await pair();
  const f = onRecords(
    "client",
    (r) => (r.type === CT.changeCipherSpec ? { ...r, body: Uint8Array.of(2) } : r),
  );
  await rejects(p, "server", "unexpected_message", "peer_misbehaved.unexpected_ccs", f);
});

Deno.test("record: a ChangeCipherSpec before the ClientHello is unexpected_message", async () => {
  const p = await pair();
  const ccs = { type: CT.changeCipherSpec, version: 0x0303, body: Uint8Array.of(1) };
  const f = onRecords("client", (r, i) => (i === 0 ? [ccs, r] : r));
  await rejects(p, "server", "unexpected_message", "peer_misbehaved.unexpected_ccs", f);
});

Deno.test("record: a protected ChangeCipherSpec is unexpected_message", async () => {
  const p = await pair();
  const f = onProtected(
    p.client,
    (i) => (i.type === CT.applicationData ? { type: CT.changeCipherSpec, content: Uint8Array.of(1) } : i),
  );
  await handshake(p, f);
  await writeAll(p.client, Uint8Array.of(1));
  await rejectsAfter(p, "server", "unexpected_message", "peer_misbehaved.bad_content_type", f);
});

Deno.test("record: a ChangeCipherSpec after the handshake is unexpected_message", async () => {
  const p = await pair();
  await handshake(p);
  p.s.network.write(record(CT.changeCipherSpec, Uint8Array.of(1)));
  await rejectsAfter(p, "server", "unexpected_message", "peer_misbehaved.unexpected_ccs");
});

Deno.test("record: an unprotected alert after the handshake is unexpected_message", async () => {
  const p = await pair();
  await handshake(p);
  p.c.network.write(record(CT.alert, Uint8Array.of(2, 40)));
  await rejectsAfter(p, "client", "unexpected_message", "peer_misbehaved.unprotected_record");
});

Deno.test("record: an alert record of three bytes is decode_error", async () => {
  const p = await pair();
  const f = onRecords(
    "server",
    (r, i) => (i === 0 ? { ...r, type: CT.alert, body: Uint8Array.of(2, 40, 0) } : r),
  );
  await rejects(p, "client", "decode_error", "invalid_message.bad_alert", f);
});

Deno.test("record: an empty alert record is unexpected_message, plaintext or protected, padded or not", async () => {
  const plain = await pair();
  const f = onRecords("server", (r, i) => (i === 0 ? { ...r, type: CT.alert, body: new Uint8Array(0) } : r));
  await rejects(plain, "client", "unexpected_message", "peer_misbehaved.empty_alert_record", f);
  for (const padding of [0, 5]) {
    const p = await pair();
    const g = onProtected(
      p.client,
      (i) => (i.type === CT.applicationData ? { type: CT.alert, content: new Uint8Array(0), padding } : i),
    );
    await handshake(p, g);
    await writeAll(p.client, Uint8Array.of(1));
    await rejectsAfter(p, "server", "unexpected_message", "peer_misbehaved.empty_alert_record", g);
  }
});

Deno.test("record: an unknown inner content type is unexpected_message", async () => {
  const p = await pair();
  const f = onProtected(p.client, (i) => (i.type === CT.applicationData ? { ...i, type: 99 } : i));
  await handshake(p, f);
  await writeAll(p.client, Uint8Array.of(1));
  await rejectsAfter(p, "server", "unexpected_message", "peer_misbehaved.bad_content_type", f);
});

Deno.test("record: an all-zero inner plaintext is unexpected_message", async () => {
  const p = await pair();
  const f = onProtected(
    p.client,
    (i) => (i.type === CT.applicationData ? { type: 0, content: new Uint8Array(0), padding: 8 } : i),
  );
  await handshake(p, f);
  await writeAll(p.client, Uint8Array.of(1));
  await rejectsAfter(p, "server", "unexpected_message", "peer_misbehaved.empty_inner_plaintext", f);
});

Deno.test("record: inner content above 2^14 is record_overflow", async () => {
  const p = await pair();
  const f = onProtected(
    p.client,
    (i) => (i.type === CT.applicationData ? { ...i, content: new Uint8Array(MAX_PLAINTEXT + 1) } : i),
  );
  await handshake(p, f);
  await writeAll(p.client, Uint8Array.of(1));
  await rejectsAfter(p, "server", "record_overflow", "peer_misbehaved.record_overflow", f);
});

Deno.test("record: padding that takes the inner plaintext above 2^14+1 is record_overflow", async () => {
  // RFC 8446 §5.4: "the full encoded TLSInnerPlaintext MUST NOT exceed 2^14 + 1 octets".
  const p = await pair();
  const f = onProtected(p.client, (i) => (i.type === CT.applicationData ? { ...i, padding: 100 } : i));
  await handshake(p, f);
  await writeAll(p.client, new Uint8Array(MAX_PLAINTEXT));
  await rejectsAfter(p, "server", "record_overflow", "peer_misbehaved.record_overflow", f);
});

Deno.test("record: content above our record_size_limit is record_overflow", async () => {
  const p = await pair({ client: { recordSizeLimit: 16385 }, server: { recordSizeLimit: 1000 } });
  const f = onProtected(
    p.client,
    (i) => (i.type === CT.applicationData ? { ...i, content: new Uint8Array(1000) } : i),
  );
  await handshake(p, f);
  await writeAll(p.client, Uint8Array.of(1));
  await rejectsAfter(p, "server", "record_overflow", "peer_misbehaved.record_size_limit", f);
});

Deno.test("record: padding that takes the inner plaintext above our record_size_limit is record_overflow", async () => {
  // RFC 8449 §4: in TLS 1.3 the limit covers the whole TLSInnerPlaintext, content type and padding included.
  const p = await pair({ client: { recordSizeLimit: 16385 }, server: { recordSizeLimit: 1000 } });
  const f = onProtected(p.client, (i) => (i.type === CT.applicationData ? { ...i, padding: 10 } : i));
  await handshake(p, f);
  assert.equal(await writeAll(p.client, new Uint8Array(2000)), 2000); // sent as 999 + 999 + 2: the client obeys the limit
  await rejectsAfter(p, "server", "record_overflow", "peer_misbehaved.record_size_limit", f);
});

Deno.test("record: application data inside a fragmented handshake message is unexpected_message", async () => {
  const p = await pair();
  const f = onProtected(p.client, (i) => {
    if (i.type !== CT.handshake || i.content[0] !== H.keyUpdate) return i;
    const data = { type: CT.applicationData, content: Uint8Array.of(1) };
    return [{ ...i, content: i.content.subarray(0, 2) }, data, { ...i, content: i.content.subarray(2) }];
  });
  await handshake(p, f);
  assert.equal(p.client.keyUpdate(), 1);
  await rejectsAfter(p, "server", "unexpected_message", "peer_misbehaved.interleaved_handshake", f);
});

Deno.test("security: a plaintext close_notify injected after the ServerHello is unexpected_message, not a clean close", async () => {
  // Issue #15, finding 3: once the client reads with handshake keys, every record must be protected (RFC 8446 §5).
  const p = await pair();
  const closeNotify = { type: CT.alert, version: 0x0303, body: Uint8Array.of(1, 0) };
  const f = onRecords("server", (r, i) => (i === 0 ? [r, closeNotify] : r));
  await rejects(p, "client", "unexpected_message", "peer_misbehaved.unprotected_record", f);
});

Deno.test("security: a plaintext close_notify to the server after its ServerHello is unexpected_message", async () => {
  // Issue #15, finding 3: the server takes a plaintext fatal alert refusing its ServerHello (the client has no
  // keys yet), never a close_notify, which would end the handshake cleanly.
  const p = await pair();
  const closeNotify = { type: CT.alert, version: 0x0303, body: Uint8Array.of(1, 0) };
  let sh = 0;
  const f = chain(
    onRecords("server", (r) => (r.type === CT.handshake ? (sh++, r) : r)),
    onRecords("client", (r) => (sh > 0 && r.type === CT.changeCipherSpec ? [closeNotify, r] : r)),
  );
  await rejects(p, "server", "unexpected_message", "peer_misbehaved.unprotected_record", f);
});

Deno.test("security: a plaintext alert before any read key is installed still arrives, both roles", async () => {
  // The server refuses the ClientHello (no suite in common): the client has no keys, the alert is plaintext.
  const p = await pair({
    client: { cipherSuites: ["TLS_AES_128_GCM_SHA256"] },
    server: { cipherSuites: ["TLS_CHACHA20_POLY1305_SHA256"] },
  });
  await handshakeExpectingFailure(p);
  assertReceived(p.client, "handshake_failure");
  // The client refuses the HelloRetryRequest: the server, having sent no ServerHello, has no keys either.
  const q = await pair(HRR);
  await handshakeExpectingFailure(q, editServerHello((hrr) => ({ ...hrr, cipherSuite: 0x1305 })));
  assertReceived(q.server, "illegal_parameter");
});

Deno.test("security: a ChangeCipherSpec inside a fragmented handshake message is unexpected_message", async () => {
  // Issue #15, finding 8: RFC 8446 §5.1, no other record type while a handshake message is incomplete.
  const p = await pair();
  let split = false, injected = false;
  const ccs = { type: CT.changeCipherSpec, version: 0x0303, body: Uint8Array.of(1) };
  const f = chain(
    onProtected(p.server, (i) => {
      if (split || i.type !== CT.handshake) return i;
      split = true;
      return [{ ...i, content: i.content.subarray(0, 2) }, { ...i, content: i.content.subarray(2) }];
    }),
    onRecords("server", (r) => {
      if (r.type !== CT.applicationData || injected) return r;
      injected = true;
      return [r, ccs]; // between the two halves
    }),
  );
  await rejects(p, "client", "unexpected_message", "peer_misbehaved.interleaved_handshake", f);
});

// ---- truncation and close -----------------------------------------------------------------------

Deno.test("truncation: the transport ending mid-handshake is SSL with code truncated and no alert (OpenSSL 3's unexpected eof)", async () => {
  const p = await pair();
  const sent: string[] = [];
  on(p.client, "alert", (a) => a.direction === "sent" && sent.push(a.name));
  // Until the ClientHello is out: on WebCrypto it waits for the key share and the GREASE ECH enc.
  await settled(p.client, () => p.client.doHandshake());
  transfer(p);
  await settled(p.server, () => p.server.doHandshake());
  p.c.network.write(p.s.network.read(10)); // half a ServerHello, then EOF
  p.c.network.shutdownWrite();
  for (let i = 0; i < 2; i++) {
    const r = p.client.doHandshake();
    assert.equal(r, -1);
    assert.equal(p.client.getError(r), SslError.SSL);
    assert.equal(p.client.error?.code, "truncated");
    assert.equal(p.client.error?.alert, undefined, "no alert was sent, so the error names none");
  }
  assert.deepEqual(sent, []);
});

Deno.test("truncation: EOF without close_notify after the handshake is read() 0 with SSL/truncated, not ZERO_RETURN", async () => {
  const p = await pair();
  await handshake(p);
  assert.equal(await writeAll(p.server, Uint8Array.of(7)), 1);
  transfer(p);
  p.c.network.shutdownWrite();
  const buf = new Uint8Array(8);
  assert.equal(p.client.read(buf), 1);
  // OpenSSL 3: SSL_read returns 0 and SSL_get_error SSL_ERROR_SSL ("unexpected eof while reading").
  const r = p.client.read(buf);
  assert.equal(r, 0);
  assert.equal(p.client.getError(r), SslError.SSL);
  assert.equal(p.client.error?.code, "truncated");
  assert.equal(p.client.error?.alert, undefined);
  const again = p.client.read(buf);
  assert.equal(again, -1, "sticky");
  assert.equal(p.client.getError(again), SslError.SSL);
});

Deno.test("truncation: with ignoreUnexpectedEof the end of the stream reads as a clean end (SSL_OP_IGNORE_UNEXPECTED_EOF)", async () => {
  const p = await pair({ client: { ignoreUnexpectedEof: true } });
  await handshake(p);
  assert.equal(await writeAll(p.server, Uint8Array.of(7)), 1);
  transfer(p);
  p.c.network.shutdownWrite();
  const buf = new Uint8Array(8);
  assert.equal(p.client.read(buf), 1);
  for (let i = 0; i < 2; i++) {
    const r = p.client.read(buf);
    assert.equal(r, 0);
    assert.equal(p.client.getError(r), SslError.ZERO_RETURN);
  }
  assert.equal(p.client.error, undefined);
});

Deno.test("close: close_notify is ZERO_RETURN, and stays so after EOF", async () => {
  const p = await pair();
  await handshake(p);
  assert.equal(p.server.shutdown(), 0);
  transfer(p);
  p.c.network.shutdownWrite();
  const buf = new Uint8Array(8);
  for (let i = 0; i < 2; i++) {
    const r = p.client.read(buf);
    assert.equal(r, 0);
    assert.equal(p.client.getError(r), SslError.ZERO_RETURN);
  }
  assert.equal(p.client.error, undefined);
  assert.equal(p.client.shutdown(), 1);
});

// ---- ClientHello (the server decides) -------------------------------------------------------------

Deno.test("ClientHello: no supported_versions, to a TLS 1.3-only server, is protocol_version", async () => {
  const p = await pair({
    client: { helloExtensions: without(E.supportedVersions) },
    server: { minVersion: "TLSv1.3" },
  });
  await rejects(p, "server", "protocol_version", "peer_incompatible.no_common_version");
});

Deno.test("ClientHello: supported_versions without TLS 1.3, to a TLS 1.3-only server, is protocol_version", async () => {
  const p = await pair({
    client: { helloExtensions: replace(E.supportedVersions, Uint8Array.of(2, 3, 3)) },
    server: { minVersion: "TLSv1.3" },
  });
  await rejects(p, "server", "protocol_version", "peer_incompatible.no_common_version");
});

Deno.test("ClientHello: no key_share is missing_extension", async () => {
  const p = await pair({ client: { helloExtensions: without(E.keyShare) } });
  await rejects(p, "server", "missing_extension", "peer_misbehaved.missing_key_share");
});

Deno.test("ClientHello: no supported_groups is missing_extension", async () => {
  const p = await pair({ client: { helloExtensions: without(E.supportedGroups) } });
  await rejects(p, "server", "missing_extension", "peer_misbehaved.missing_key_share");
});

Deno.test("ClientHello: no signature_algorithms is missing_extension", async () => {
  const p = await pair({ client: { helloExtensions: without(E.signatureAlgorithms) } });
  await rejects(p, "server", "missing_extension", "peer_misbehaved.missing_signature_algorithms");
});

Deno.test("ClientHello: no common cipher suite is handshake_failure", async () => {
  const p = await pair({
    client: { cipherSuites: ["TLS_CHACHA20_POLY1305_SHA256"] },
    server: { cipherSuites: ["TLS_AES_128_GCM_SHA256"] },
  });
  await rejects(p, "server", "handshake_failure", "peer_incompatible.no_common_cipher_suite");
});

Deno.test("ClientHello: a duplicate extension is illegal_parameter", async () => {
  const p = await pair({ client: { helloExtensions: withExt(E.supportedGroups, encodeU16List([0x1d])) } });
  await rejects(p, "server", "illegal_parameter", "peer_misbehaved.duplicate_extension");
});

Deno.test("ClientHello: a session id length of 33 is decode_error", async () => {
  const p = await pair();
  const f = editPlain("client", H.clientHello, (b) => {
    const out = b.slice();
    out[34] = 33; // after legacy_version (2) and random (32)
    return out;
  });
  await rejects(p, "server", "decode_error", "invalid_message.bad_length", f);
});

Deno.test("ClientHello: a body cut short inside a vector is decode_error", async () => {
  const p = await pair();
  const f = editPlain("client", H.clientHello, (b) => b.subarray(0, b.length - 1));
  await rejects(p, "server", "decode_error", "invalid_message.too_short", f);
});

Deno.test("ClientHello: a trailing byte after the extensions is decode_error", async () => {
  const p = await pair();
  const f = editPlain("client", H.clientHello, (b) => cat(b, Uint8Array.of(0)));
  await rejects(p, "server", "decode_error", "invalid_message.trailing_data", f);
});

Deno.test("ClientHello: a trailing byte inside an extension body is decode_error", async () => {
  const p = await pair({
    client: { helloExtensions: replace(E.supportedVersions, Uint8Array.of(2, 3, 4, 0)) },
  });
  await rejects(p, "server", "decode_error", "invalid_message.trailing_data");
});

Deno.test("ClientHello: compression methods other than [0] are illegal_parameter", async () => {
  const p = await pair();
  const f = editClientHello((ch) => ({ ...ch, compressionMethods: Uint8Array.of(0, 1) }));
  await rejects(p, "server", "illegal_parameter", "peer_misbehaved.compression", f);
});

Deno.test("ClientHello: a key share for a group not in supported_groups is illegal_parameter", async () => {
  const p = await pair({ client: { helloExtensions: replace(E.supportedGroups, encodeU16List([0x17])) } });
  await rejects(p, "server", "illegal_parameter", "peer_misbehaved.share_for_unlisted_group");
});

Deno.test("ClientHello: an all-zero x25519 share is illegal_parameter", async () => {
  const shares = encodeClientShares([{ group: 0x1d, keyExchange: new Uint8Array(32) }]);
  const p = await pair({ client: { helloExtensions: replace(E.keyShare, shares) } });
  await rejects(p, "server", "illegal_parameter", "peer_misbehaved.bad_key_share");
});

Deno.test("ClientHello: an x25519 share of 31 bytes is illegal_parameter", async () => {
  const shares = encodeClientShares([{ group: 0x1d, keyExchange: new Uint8Array(31).fill(9) }]);
  const p = await pair({ client: { helloExtensions: replace(E.keyShare, shares) } });
  await rejects(p, "server", "illegal_parameter", "peer_misbehaved.bad_key_share");
});

Deno.test("ClientHello: two key shares for one group are illegal_parameter", async () => {
  const one = { group: 0x1d, keyExchange: new Uint8Array(32).fill(9) };
  const p = await pair({ client: { helloExtensions: replace(E.keyShare, encodeClientShares([one, one])) } });
  await rejects(p, "server", "illegal_parameter", "peer_misbehaved.duplicate_key_share");
});

Deno.test("ClientHello: ALPN with no protocol in common is no_application_protocol", async () => {
  const p = await pair({ client: { alpnProtocols: ["h2"] }, server: { alpnProtocols: ["http/1.1"] } });
  await rejects(p, "server", "no_application_protocol", "peer_incompatible.no_application_protocol");
});

Deno.test("ClientHello: pre_shared_key that is not last is illegal_parameter", async () => {
  const psk = { type: E.preSharedKey, data: Uint8Array.of(0, 0) };
  const p = await pair({ client: { helloExtensions: (exts) => [psk, ...exts] } });
  await rejects(p, "server", "illegal_parameter", "peer_misbehaved.psk_not_last");
});

Deno.test("ClientHello: a Finished in its place is unexpected_message", async () => {
  const p = await pair();
  const f = onPlainMessages("client", (m) => ({ ...m, type: H.finished }));
  await rejects(p, "server", "unexpected_message", "peer_misbehaved.unexpected_message", f);
});

Deno.test("ClientHello: a second ClientHello after the server's flight is unexpected_message", async () => {
  const p = await pair();
  const f = onRecords("client", (r, i) => (i === 0 ? [r, r] : r));
  await rejects(p, "server", "unexpected_message", "peer_misbehaved.unprotected_record", f);
});

Deno.test("ClientHello: the retried ClientHello without the cookie is illegal_parameter", async () => {
  const p = await pair({
    client: { ...HRR.client, helloExtensions: without(E.cookie) },
    server: { ...HRR.server, helloRetryCookie: true },
  });
  await rejects(p, "server", "illegal_parameter", "peer_misbehaved.bad_cookie");
});

Deno.test("ClientHello: the retried ClientHello with other cipher suites is illegal_parameter", async () => {
  // RFC 8446 §4.1.2: only the listed changes are allowed; the suite the HelloRetryRequest named must stay.
  const p = await pair(HRR);
  let hellos = 0;
  const f = editClientHello((ch) =>
    hellos++ === 0 ? ch : { ...ch, cipherSuites: ch.cipherSuites.slice(0, -1) }
  );
  await rejects(p, "server", "illegal_parameter", "peer_misbehaved.hello_changed_after_hrr", f);
});

Deno.test("ClientHello: a retried ClientHello that adds, drops or changes another extension is illegal_parameter", async (t) => {
  // RFC 8446 §4.1.2: only key_share, cookie, early_data (dropped), pre_shared_key and padding may change.
  const edits = {
    "record_size_limit changed": (exts: readonly Extension[]) => [
      ...exts.filter((e) => e.type !== E.recordSizeLimit),
      { type: E.recordSizeLimit, data: Uint8Array.of(0x40, 0x00) },
    ],
    "record_size_limit added": (exts: readonly Extension[]) => [
      ...exts,
      { type: E.recordSizeLimit, data: Uint8Array.of(0x40, 0x01) },
    ],
    "an unknown extension added": (
      exts: readonly Extension[],
    ) => [...exts, { type: 0x7777, data: new Uint8Array(1) }],
    "psk_key_exchange_modes dropped": (exts: readonly Extension[]) =>
      exts.filter((e) => e.type !== E.pskKeyExchangeModes),
    "early_data still there": (
      exts: readonly Extension[],
    ) => [...exts, { type: E.earlyData, data: new Uint8Array(0) }],
  };
  for (const [name, edit] of Object.entries(edits)) {
    await t.step(name, async () => {
      const p = await pair(HRR);
      let hellos = 0;
      const f = editClientHello((ch) => hellos++ === 0 ? ch : { ...ch, extensions: edit(ch.extensions) });
      await rejects(p, "server", "illegal_parameter", "peer_misbehaved.hello_changed_after_hrr", f);
    });
  }
  // Padding may change: the server answers (the client's own transcript then fails, at Finished).
  const p = await pair(HRR);
  let hellos = 0;
  const pad = editClientHello((ch) =>
    hellos++ === 0
      ? ch
      : { ...ch, extensions: [...ch.extensions, { type: E.padding, data: new Uint8Array(7) }] }
  );
  await handshakeExpectingFailure(p, pad);
  assert.notEqual(p.server.error?.code, "peer_misbehaved.hello_changed_after_hrr");
  assert.equal(p.client.error?.code, "decrypt", p.client.error?.message);
});

// ---- ServerHello and the server's flight (the client decides) ---------------------------------

Deno.test("ServerHello: a cipher suite the client did not offer is illegal_parameter", async () => {
  const p = await pair({ client: { cipherSuites: ["TLS_AES_128_GCM_SHA256"] } });
  const f = editServerHello((sh) => ({ ...sh, cipherSuite: 0x1302 }));
  await rejects(p, "client", "illegal_parameter", "peer_misbehaved.unoffered_cipher_suite", f);
});

Deno.test("ServerHello: a changed legacy_session_id_echo is illegal_parameter", async () => {
  const p = await pair();
  const f = editServerHello((sh) => ({
    ...sh,
    sessionId: sh.sessionId.map((b, i) => (i === 0 ? b ^ 1 : b)),
  }));
  await rejects(p, "client", "illegal_parameter", "peer_misbehaved.session_id_mismatch", f);
});

Deno.test("ServerHello: no supported_versions (TLS 1.2), to a TLS 1.3-only client, is protocol_version", async () => {
  const p = await pair({ client: { minVersion: "TLSv1.3" } });
  const f = editServerHello((sh) => ({
    ...sh,
    extensions: without(E.supportedVersions)([...sh.extensions]),
  }));
  await rejects(p, "client", "protocol_version", "peer_incompatible.tls13_required", f);
});

Deno.test("ServerHello: TLS 1.2 (no supported_versions) with a TLS 1.3 suite is illegal_parameter", async () => {
  const p = await pair();
  const f = editServerHello((sh) => ({
    ...sh,
    extensions: without(E.supportedVersions)([...sh.extensions]),
  }));
  await rejects(p, "client", "illegal_parameter", "peer_misbehaved.unoffered_cipher_suite", f);
});

Deno.test("ServerHello: supported_versions selecting TLS 1.2 is illegal_parameter", async () => {
  const p = await pair();
  const f = editServerHello((sh) => ({
    ...sh,
    extensions: replace(E.supportedVersions, encodeU16(0x0303))([...sh.extensions]),
  }));
  await rejects(p, "client", "illegal_parameter", "peer_misbehaved.bad_selected_version", f);
});

Deno.test("ServerHello: a compression method other than 0 is illegal_parameter", async () => {
  const p = await pair();
  const f = editServerHello((sh) => ({ ...sh, compressionMethod: 1 }));
  await rejects(p, "client", "illegal_parameter", "peer_misbehaved.compression", f);
});

Deno.test("ServerHello: a key share for a group the client sent no share for is illegal_parameter", async () => {
  const p = await pair();
  const p256 = encodeServerShare({ group: 0x17, keyExchange: new Uint8Array(65).fill(4) });
  const f = editServerHello((sh) => ({ ...sh, extensions: replace(E.keyShare, p256)([...sh.extensions]) }));
  await rejects(p, "client", "illegal_parameter", "peer_misbehaved.wrong_group", f);
});

Deno.test("ServerHello: an all-zero x25519 share is illegal_parameter", async () => {
  const p = await pair();
  const zero = encodeServerShare({ group: 0x1d, keyExchange: new Uint8Array(32) });
  const f = editServerHello((sh) => ({ ...sh, extensions: replace(E.keyShare, zero)([...sh.extensions]) }));
  await rejects(p, "client", "illegal_parameter", "peer_misbehaved.bad_key_share", f);
});

Deno.test("ServerHello: an extension the client did not offer is unsupported_extension", async () => {
  const p = await pair();
  const f = editServerHello((sh) => ({
    ...sh,
    extensions: withExt(0x1234, new Uint8Array(0))([...sh.extensions]),
  }));
  await rejects(p, "client", "unsupported_extension", "peer_misbehaved.unsolicited_extension", f);
});

Deno.test("ServerHello: an EncryptedExtensions in its place is unexpected_message", async () => {
  const p = await pair();
  const f = onPlainMessages("server", (m) => ({ ...m, type: H.encryptedExtensions }));
  await rejects(p, "client", "unexpected_message", "peer_misbehaved.unexpected_message", f);
});

Deno.test("HelloRetryRequest: a second one is unexpected_message", async () => {
  const p = await pair(HRR);
  const f = onPlainMessages("server", (m) => (isHrr(m) ? [m, m] : m));
  await rejects(p, "client", "unexpected_message", "peer_misbehaved.second_hello_retry", f);
});

Deno.test("HelloRetryRequest: a group the client did not offer is illegal_parameter", async () => {
  const p = await pair(HRR);
  const f = onPlainMessages("server", (m) => {
    if (!isHrr(m)) return m;
    const hrr = decodeServerHello(m.body);
    return {
      ...m,
      body: encodeServerHello({
        ...hrr,
        extensions: replace(E.keyShare, encodeU16(0x18))([...hrr.extensions]),
      }).subarray(4),
    };
  });
  await rejects(p, "client", "illegal_parameter", "peer_misbehaved.unoffered_group", f);
});

Deno.test("HelloRetryRequest: a group the client already sent a share for is illegal_parameter", async () => {
  const p = await pair(HRR);
  const f = onPlainMessages("server", (m) => {
    if (!isHrr(m)) return m;
    const hrr = decodeServerHello(m.body);
    return {
      ...m,
      body: encodeServerHello({
        ...hrr,
        extensions: replace(E.keyShare, encodeU16(0x1d))([...hrr.extensions]),
      }).subarray(4),
    };
  });
  await rejects(p, "client", "illegal_parameter", "peer_misbehaved.hrr_for_offered_share", f);
});

Deno.test("HelloRetryRequest: a ServerHello with another cipher suite is illegal_parameter", async () => {
  const p = await pair({
    ...HRR,
    client: { ...HRR.client, cipherSuites: ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"] },
  });
  const f = onPlainMessages("server", (m) => {
    if (m.type !== H.serverHello || isHrr(m)) return m;
    return {
      ...m,
      body: encodeServerHello({ ...decodeServerHello(m.body), cipherSuite: 0x1302 }).subarray(4),
    };
  });
  await rejects(p, "client", "illegal_parameter", "peer_misbehaved.suite_changed_after_hrr", f);
});

Deno.test("EncryptedExtensions: an unknown extension the client did not offer is unsupported_extension", async () => {
  const p = await pair({ server: { encryptedExtensions: withExt(0x1234, new Uint8Array(0)) } });
  await rejects(p, "client", "unsupported_extension", "peer_misbehaved.unsolicited_extension");
});

Deno.test("EncryptedExtensions: early_data that was not offered is unsupported_extension", async () => {
  const p = await pair({ server: { encryptedExtensions: withExt(E.earlyData, new Uint8Array(0)) } });
  await rejects(p, "client", "unsupported_extension", "peer_misbehaved.unsolicited_extension");
});

Deno.test("EncryptedExtensions: ALPN when the client offered none is unsupported_extension", async () => {
  const p = await pair({ server: { encryptedExtensions: withExt(E.alpn, encodeAlpn(["h2"])) } });
  await rejects(p, "client", "unsupported_extension", "peer_misbehaved.unsolicited_extension");
});

Deno.test("EncryptedExtensions: an ALPN protocol the client did not offer is illegal_parameter", async () => {
  const p = await pair({
    client: { alpnProtocols: ["h2"] },
    server: { alpnProtocols: ["h2"], encryptedExtensions: replace(E.alpn, encodeAlpn(["http/1.1"])) },
  });
  await rejects(p, "client", "illegal_parameter", "peer_misbehaved.bad_alpn");
});

Deno.test("EncryptedExtensions: key_share (offered, but not allowed there) is illegal_parameter", async () => {
  const p = await pair({ server: { encryptedExtensions: withExt(E.keyShare, new Uint8Array(0)) } });
  await rejects(p, "client", "illegal_parameter", "peer_misbehaved.extension_not_allowed");
});

Deno.test("EncryptedExtensions: a duplicate extension is illegal_parameter", async () => {
  const p = await pair({ server: { encryptedExtensions: (e) => [...e, ...e] } });
  await rejects(p, "client", "illegal_parameter", "peer_misbehaved.duplicate_extension");
});

Deno.test("EncryptedExtensions: a non-empty server_name body is decode_error", async () => {
  const p = await pair({ server: { encryptedExtensions: replace(E.serverName, Uint8Array.of(0)) } });
  await rejects(p, "client", "decode_error", "invalid_message.trailing_data");
});

Deno.test("Certificate: an empty certificate list is decode_error", async () => {
  const p = await pair();
  const f = onProtectedMessages(
    p.server,
    (m) => (m.type === H.certificate ? { ...m, body: Uint8Array.of(0, 0, 0, 0) } : m),
  );
  await rejects(p, "client", "decode_error", "peer_misbehaved.empty_certificate", f);
});

Deno.test("Certificate: a leaf that does not parse is bad_certificate", async () => {
  const p = await pair();
  const junk = encodeCertificate({
    context: new Uint8Array(0),
    entries: [{ certData: Uint8Array.of(0x30, 3, 1, 2, 3), extensions: [] }],
  });
  const f = onProtectedMessages(
    p.server,
    (m) => (m.type === H.certificate ? { ...m, body: junk.subarray(4) } : m),
  );
  await rejects(p, "client", "bad_certificate", "certificate.bad_encoding", f);
});

Deno.test("Certificate: a chain the verifier rejects is bad_certificate", async () => {
  const p = await pair({
    client: { dangerouslyDisableCertificateVerification: false, verifyPeer: () => false },
  });
  await rejects(p, "client", "bad_certificate", "certificate.rejected");
});

Deno.test("Certificate: a chain an async verifier rejects is bad_certificate", async () => {
  const p = await pair({
    client: { dangerouslyDisableCertificateVerification: false, verifyPeer: () => Promise.resolve(false) },
  });
  await rejects(p, "client", "bad_certificate", "certificate.rejected");
});

Deno.test("Certificate: a verifier that throws is internal_error, and nothing escapes", async () => {
  const verifyPeer = () => {
    throw new Error("verifier bug");
  };
  const p = await pair({ client: { dangerouslyDisableCertificateVerification: false, verifyPeer } });
  await rejects(p, "client", "internal_error", "local.internal");
});

Deno.test("CertificateVerify: a signature over other content is decrypt_error", async () => {
  const cert = await generateTestCertificate("ecdsa-p256");
  const real = await loadPrivateKey(cert.keyPkcs8);
  const liar = customSigningKey(real.publicKey, real.schemes, (s, m) => real.sign(s, m.map((b) => b ^ 1)));
  const p = await pair({ server: { certificates: [{ chain: cert.chain, key: liar }] } });
  await rejects(p, "client", "decrypt_error", "certificate.bad_signature");
});

Deno.test("CertificateVerify: a malformed signature is decrypt_error", async () => {
  const cert = await generateTestCertificate("ecdsa-p256");
  const real = await loadPrivateKey(cert.keyPkcs8);
  const liar = customSigningKey(real.publicKey, real.schemes, () => Uint8Array.of(0x30, 0xff, 1));
  const p = await pair({ server: { certificates: [{ chain: cert.chain, key: liar }] } });
  await rejects(p, "client", "decrypt_error", "certificate.bad_signature");
});

Deno.test("CertificateVerify: an RSA PKCS#1 v1.5 scheme is illegal_parameter", async () => {
  const p = await pair();
  const f = onProtectedMessages(p.server, (m) => {
    if (m.type !== H.certificateVerify) return m;
    const body = m.body.slice();
    body.set([0x04, 0x01]); // rsa_pkcs1_sha256: offered for certificates, never for CertificateVerify
    return { ...m, body };
  });
  await rejects(p, "client", "illegal_parameter", "peer_misbehaved.unoffered_signature_scheme", f);
});

Deno.test("CertificateVerify: a scheme that does not fit the key is illegal_parameter, before any check", async (t) => {
  // rsa_pss_pss_sha256 needs an RSASSA-PSS key, ecdsa_secp384r1_sha384 a P-384 one, ed25519 an Ed25519 one.
  const cases = [
    { key: "rsa-2048", scheme: [0x08, 0x09] },
    { key: "ecdsa-p256", scheme: [0x05, 0x03] },
    { key: "ecdsa-p256", scheme: [0x08, 0x07] },
    { key: "ed25519", scheme: [0x04, 0x03] },
  ] as const;
  for (const c of cases) {
    await t.step(
      `${c.key} with 0x${c.scheme.map((b) => b.toString(16).padStart(2, "0")).join("")}`,
      async () => {
        const p = await pair({ keyType: c.key });
        const f = onProtectedMessages(p.server, (m) => {
          if (m.type !== H.certificateVerify) return m;
          const body = m.body.slice();
          body.set(c.scheme);
          return { ...m, body };
        });
        await rejects(p, "client", "illegal_parameter", "peer_misbehaved.wrong_signature_type", f);
      },
    );
  }
});

Deno.test("CertificateVerify: an empty signature decodes, and fails to verify: decrypt_error", async () => {
  const p = await pair();
  const f = onProtectedMessages(
    p.server,
    (m) => (m.type === H.certificateVerify ? { ...m, body: Uint8Array.of(m.body[0]!, m.body[1]!, 0, 0) } : m),
  );
  await rejects(p, "client", "decrypt_error", "certificate.bad_signature", f);
});

Deno.test("Finished: a wrong server verify_data is decrypt_error", async () => {
  const p = await pair();
  const f = onProtectedMessages(
    p.server,
    (m) => (m.type === H.finished ? { ...m, body: m.body.map((b) => b ^ 0x80) } : m),
  );
  await rejects(p, "client", "decrypt_error", "peer_misbehaved.bad_finished", f);
});

Deno.test("Finished: a wrong client verify_data is decrypt_error", async () => {
  const p = await pair();
  const f = onProtectedMessages(
    p.client,
    (m) => (m.type === H.finished ? { ...m, body: m.body.map((b) => b ^ 0x80) } : m),
  );
  await rejects(p, "server", "decrypt_error", "peer_misbehaved.bad_finished", f);
});

Deno.test("Finished: a trailing byte is decode_error", async () => {
  const p = await pair();
  const f = onProtectedMessages(
    p.server,
    (m) => (m.type === H.finished ? { ...m, body: cat(m.body, Uint8Array.of(0)) } : m),
  );
  await rejects(p, "client", "decode_error", "invalid_message.trailing_data", f);
});

Deno.test("server flight: Certificate before EncryptedExtensions is unexpected_message", async () => {
  const p = await pair();
  let ee: Message | undefined;
  const f = onProtectedMessages(p.server, (m) => {
    if (m.type === H.encryptedExtensions) return void (ee = m);
    return m.type === H.certificate ? [m, ee!] : m;
  });
  await rejects(p, "client", "unexpected_message", "peer_misbehaved.unexpected_message", f);
});

Deno.test("server flight: a missing CertificateVerify is unexpected_message", async () => {
  const p = await pair();
  const f = onProtectedMessages(p.server, (m) => (m.type === H.certificateVerify ? undefined : m));
  await rejects(p, "client", "unexpected_message", "peer_misbehaved.unexpected_message", f);
});

Deno.test("server flight: a ServerHello inside the protected flight is unexpected_message", async () => {
  const p = await pair();
  const sh = { type: H.serverHello, body: new Uint8Array(40) };
  const f = onProtectedMessages(p.server, (m) => (m.type === H.encryptedExtensions ? [m, sh] : m));
  await rejects(p, "client", "unexpected_message", "peer_misbehaved.unexpected_message", f);
});

Deno.test("server flight: the whole flight delivered twice is unexpected_message", async () => {
  // A server signing synchronously writes its whole flight in one turn, so the first chunk is all of it.
  const p = await pair({ server: { provider: nobleProvider } });
  let first = true;
  const twice: Filter = (b, from) => {
    if (from !== "server" || !first || b.length === 0) return b;
    first = false;
    return cat(b, b);
  };
  await handshake(p, twice);
  await rejectsAfter(p, "client", "unexpected_message", "peer_misbehaved.unprotected_record");
});

// ---- after the handshake --------------------------------------------------------------------------

/** A filter that rewrites the next KeyUpdate `sender` sends. */
function editKeyUpdate(sender: TlsEngine, fn: (m: Message) => Message): Filter {
  return onProtectedMessages(sender, (m) => (m.type === H.keyUpdate ? fn(m) : m));
}

Deno.test("KeyUpdate: request_update 2 is illegal_parameter", async () => {
  const p = await pair();
  const f = editKeyUpdate(p.client, (m) => ({ ...m, body: Uint8Array.of(2) }));
  await handshake(p, f);
  assert.equal(p.client.keyUpdate(), 1);
  await rejectsAfter(p, "server", "illegal_parameter", "peer_misbehaved.bad_key_update", f);
});

Deno.test("KeyUpdate: a trailing byte is decode_error", async () => {
  const p = await pair();
  const f = editKeyUpdate(p.server, (m) => ({ ...m, body: Uint8Array.of(0, 0) }));
  await handshake(p, f);
  assert.equal(p.server.keyUpdate(), 1);
  await rejectsAfter(p, "client", "decode_error", "invalid_message.trailing_data", f);
});

Deno.test("KeyUpdate: a valid one with request_update 1 is answered and data still flows", async () => {
  const p = await pair();
  await handshake(p);
  assert.equal(p.client.keyUpdate(true), 1);
  transfer(p);
  assert.equal(p.server.read(new Uint8Array(8)), -1);
  assert.equal(await writeAll(p.server, Uint8Array.of(5)), 1);
  transfer(p);
  assert.deepEqual(await drain(p.client), Uint8Array.of(5));
});

Deno.test("post-handshake: a NewSessionTicket sent to a server is unexpected_message", async () => {
  const p = await pair();
  const f = editKeyUpdate(p.client, () => ({ type: H.newSessionTicket, body: new Uint8Array(13).fill(1) }));
  await handshake(p, f);
  assert.equal(p.client.keyUpdate(), 1);
  await rejectsAfter(p, "server", "unexpected_message", "peer_misbehaved.unexpected_message", f);
});

Deno.test("post-handshake: a ticket lifetime above 7 days is illegal_parameter", async () => {
  const p = await pair();
  const nst = encodeNewSessionTicket({
    lifetime: 604801,
    ageAdd: 0,
    nonce: new Uint8Array(0),
    ticket: Uint8Array.of(1),
    extensions: [],
  });
  const f = editKeyUpdate(p.server, () => ({ type: H.newSessionTicket, body: nst.subarray(4) }));
  await handshake(p, f);
  assert.equal(p.server.keyUpdate(), 1);
  await rejectsAfter(p, "client", "illegal_parameter", "peer_misbehaved.ticket_lifetime", f);
});

Deno.test("post-handshake: a ClientHello after the handshake is unexpected_message", async () => {
  const p = await pair();
  const f = editKeyUpdate(p.client, () => ({ type: H.clientHello, body: new Uint8Array(40) }));
  await handshake(p, f);
  assert.equal(p.client.keyUpdate(), 1);
  await rejectsAfter(p, "server", "unexpected_message", "peer_misbehaved.unexpected_message", f);
});

// ---- no exception escapes -------------------------------------------------------------------------

/** Every engine error must be typed and the peer's fault, never `local.*` (something thrown that was not a TlsError). */
function assertTyped(e: TlsEngine): void {
  if (!e.error) return;
  assert.ok(e.error instanceof TlsError);
  assert.ok(!e.error.code.startsWith("local."), `${e.role}: ${e.error.code}: ${e.error.message}`);
}

/** Pump both engines until both finish, one fails and nothing moves, or nothing moves at all (a stall). */
async function settle(p: Pair, filter: Filter): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const rc = await step(p.client, () => p.client.doHandshake());
    const rs = await step(p.server, () => p.server.doHandshake());
    if (transfer(p, filter) === 0 && (rc === 1 || p.client.error || rs === 1 || p.server.error)) return;
  }
}

Deno.test("no exception escapes: one flipped bit anywhere in the first record of either side", async () => {
  const rnd = seededRandom(7);
  for (let i = 0; i < 160; i++) {
    const p = await pair();
    const r = rnd(3);
    const pos = (r[0]! << 8) | r[1]!, bit = r[2]! % 8;
    const f = onRecords(i % 2 === 0 ? "client" : "server", (rec, j) => {
      if (j !== 0) return rec;
      const body = rec.body.slice();
      body[pos % body.length]! ^= 1 << bit;
      return { ...rec, body };
    });
    await settle(p, f);
    assertTyped(p.client);
    assertTyped(p.server);
  }
});
