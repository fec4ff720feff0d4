// Copyright 2026 the airlock authors. MIT license.

/**
 * Certificate compression (RFC 8879) in memory: the codecs at every length bound, round trips with each
 * algorithm the runtime has (the server's Certificate, and the client's under client authentication), the
 * sizes gained on a CA-issued chain, and tampering: lengths that lie, a decompression bomb, an algorithm that
 * was not offered, a CompressedCertificate that was never negotiated. Interop with GnuTLS and Chromium is in
 * tests/interop/cert_compression_test.ts.
 */

import assert from "node:assert/strict";
import {
  type CertCompressor,
  certCompressors,
  createBioPair,
  createClient,
  createServer,
  loadPrivateKey,
  type MessageInfo,
  on,
  TicketKeys,
  type TlsEngine,
  type TlsSession,
  webZlibCompressor,
} from "../mod.ts";
import {
  handshake,
  handshakeExpectingFailure,
  type Pair,
  type PairOptions,
  transfer,
} from "../testing/pair.ts";
import { editClientHello, rejects, seededPair as pair } from "../testing/reject.ts";
import { onProtectedMessages } from "../testing/tamper.ts";
import { generateChain } from "../testing/pki.ts";
import { HandshakeType as H } from "../engine/msgs/enums.ts";
import { encodeCertificate } from "../engine/msgs/handshake.ts";
import {
  decodeCompressCertificate,
  decodeCompressedCertificate,
  encodeCompressCertificate,
  encodeCompressedCertificate,
} from "../engine/msgs/compressed_certificate.ts";
import { TlsError } from "../engine/errors.ts";

const ALL = certCompressors();
const byName = (n: string) => ALL.find((c) => c.name === n)!;
const web = webZlibCompressor()!;

/** Every compressor to run a round trip with: the runtime's, and the web-standard zlib. */
const CASES: readonly CertCompressor[] = [...ALL, web];

function messages(e: TlsEngine): MessageInfo[] {
  const out: MessageInfo[] = [];
  on(e, "message", (m) => out.push(m));
  return out;
}

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof TlsError && e.code === code);
}

function decodeError(fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => e instanceof TlsError && e.alert === "decode_error");
}

// ---- codecs -------------------------------------------------------------------------------------

Deno.test("compress_certificate: algorithms<2..254> of u16, even", () => {
  assert.deepEqual(decodeCompressCertificate(Uint8Array.of(2, 0, 2), "x"), [2]);
  assert.deepEqual(decodeCompressCertificate(encodeCompressCertificate([1, 2, 3]), "x"), [1, 2, 3]);
  const max = Array.from({ length: 127 }, (_, i) => i + 1);
  assert.deepEqual(decodeCompressCertificate(encodeCompressCertificate(max), "x"), max);
  throwsCode(() => decodeCompressCertificate(Uint8Array.of(0), "x"), "invalid_message.bad_length"); // empty
  throwsCode(() => decodeCompressCertificate(Uint8Array.of(3, 0, 1, 0), "x"), "invalid_message.bad_length"); // odd
  const tooLong = new Uint8Array(256);
  tooLong[0] = 255;
  throwsCode(() => decodeCompressCertificate(tooLong, "x"), "invalid_message.bad_length"); // 255 > 254
  throwsCode(
    () => decodeCompressCertificate(Uint8Array.of(2, 0, 1, 9), "x"),
    "invalid_message.trailing_data",
  );
  decodeError(() => decodeCompressCertificate(Uint8Array.of(4, 0, 1), "x")); // shorter than it says
});

Deno.test("CompressedCertificate: algorithm, uint24 uncompressed_length, compressed data<1..2^24-1>", () => {
  const m = { algorithm: 2, uncompressedLength: 0xffffff, compressed: Uint8Array.of(9, 8, 7) };
  const raw = encodeCompressedCertificate(m);
  assert.deepEqual([...raw.subarray(0, 4)], [H.compressedCertificate, 0, 0, 11]);
  assert.deepEqual(decodeCompressedCertificate(raw.subarray(4)), m);
  // Zero-length compressed data is decode_error.
  throwsCode(
    () => decodeCompressedCertificate(Uint8Array.of(0, 1, 0, 0, 10, 0, 0, 0)),
    "invalid_message.bad_length",
  );
  // Truncated anywhere, or with a byte to spare.
  const body = raw.subarray(4);
  for (let n = 0; n < body.length; n++) {
    assert.throws(() => decodeCompressedCertificate(body.subarray(0, n)), TlsError);
  }
  throwsCode(
    () => decodeCompressedCertificate(Uint8Array.of(...body, 0)),
    "invalid_message.trailing_data",
  );
});

Deno.test("certCompressors() gives zlib everywhere, brotli with node:zlib, in our order or the one asked", () => {
  const names = ALL.map((c) => c.name);
  assert.ok(names.includes("zlib") && names.includes("brotli"), names.join());
  assert.deepEqual(names.filter((n) => n !== "zstd"), ["brotli", "zlib"]);
  assert.deepEqual(certCompressors(["zlib", "brotli"]).map((c) => c.algorithm), [1, 2]);
});

Deno.test("certificateCompression: more than 127, a duplicate or a non-uint16 algorithm is refused", async () => {
  const many = Array.from({ length: 128 }, (_, i) => ({ ...web, algorithm: i }));
  await assert.rejects(pair({ client: { certificateCompression: many } }), RangeError);
  await assert.rejects(pair({ client: { certificateCompression: [web, web] } }), RangeError);
  await assert.rejects(
    pair({ server: { certificateCompression: [{ ...web, algorithm: 70000 }] } }),
    RangeError,
  );
});

// ---- round trips --------------------------------------------------------------------------------

for (const c of CASES) {
  const label = c === web ? "zlib (CompressionStream)" : c.name;
  Deno.test(`round trip: the server sends its Certificate compressed with ${label}`, async () => {
    const p = await pair({
      client: { certificateCompression: [c] },
      server: { certificateCompression: [c] },
    });
    const [cm, sm] = [messages(p.client), messages(p.server)];
    await handshake(p);
    const got = cm.find((m) => m.type === H.compressedCertificate && m.direction === "received");
    assert.equal(got?.compression, c.name);
    assert.equal(got?.name, "CompressedCertificate");
    assert.ok(!cm.some((m) => m.type === H.certificate));
    assert.ok(sm.some((m) => m.type === H.compressedCertificate && m.direction === "sent"));
    assert.equal(p.client.handshakeInfo?.peerCertificates.length, 1);
  });

  Deno.test(`round trip: the client compresses its Certificate with ${label} when the CertificateRequest asks`, async () => {
    const client = await generateChain({ intermediate: true });
    const p = await pair({
      client: {
        certificateCompression: [c],
        clientCertificate: { chain: client.chain, key: await loadPrivateKey(client.keyPkcs8) },
      },
      server: {
        certificateCompression: [c],
        clientAuth: { required: true, trustAnchors: [client.rootDer] },
      },
    });
    const sm = messages(p.server);
    await handshake(p);
    const got = sm.filter((m) => m.type === H.compressedCertificate);
    assert.deepEqual(got.map((m) => [m.direction, m.compression]), [["sent", c.name], ["received", c.name]]);
    assert.deepEqual(p.server.handshakeInfo?.peerCertificates, client.chain);
  });
}

Deno.test("a server with compression off ignores compress_certificate unread; with it on, a malformed one is decode_error", async () => {
  // tlsfuzzer's test-tls13-large-number-of-extensions sends extension 27, empty or random, as filler.
  const filler = (data: Uint8Array) =>
    editClientHello((ch) => ({ ...ch, extensions: [...ch.extensions, { type: 27, data }] }));
  const cases = [
    [new Uint8Array(0), "invalid_message.too_short"],
    [Uint8Array.of(3, 0, 1, 0), "invalid_message.bad_length"], // an odd list
  ] as const;
  for (const [data, code] of cases) {
    // The edit changes the transcript, so the handshake cannot finish; what matters is that the server answers
    // the ClientHello (the client then fails to open its flight) instead of refusing it.
    const off = await pair({});
    const sent = messages(off.server);
    await handshakeExpectingFailure(off, filler(data));
    assert.ok(sent.some((m) => m.type === H.serverHello && m.direction === "sent"));
    assert.equal(off.client.error?.code, "decrypt");
    assert.notEqual(off.server.error?.alert, "decode_error");
    const on = await pair({ server: { certificateCompression: ALL } });
    await rejects(on, "server", "decode_error", code, filler(data));
  }
});

Deno.test("round trip: the server picks its first algorithm the client offered", async () => {
  const p = await pair({
    client: { certificateCompression: certCompressors(["zlib", "brotli"]) },
    server: { certificateCompression: certCompressors(["brotli", "zlib"]) },
  });
  const cm = messages(p.client);
  await handshake(p);
  assert.equal(cm.find((m) => m.type === H.compressedCertificate)?.compression, "brotli");
});

Deno.test("round trip: without an algorithm in common, or without an offer, the Certificate goes uncompressed", async () => {
  for (
    const [client, server] of [
      [[byName("zlib")], [byName("brotli")]],
      [[], ALL],
      [ALL, []],
    ] as const
  ) {
    const p = await pair({
      client: { certificateCompression: client },
      server: { certificateCompression: server },
    });
    const cm = messages(p.client);
    await handshake(p);
    assert.ok(cm.some((m) => m.type === H.certificate && m.direction === "received"));
  }
});

Deno.test("round trip: through a HelloRetryRequest, and a resumption (no certificate) after a compressed handshake", async () => {
  const tickets = { store: new TicketKeys() };
  const p = await pair({
    client: { certificateCompression: ALL, groups: ["secp256r1", "x25519"], keyShareCount: 1 },
    server: { certificateCompression: ALL, groups: ["x25519"], tickets },
  });
  const cm = messages(p.client);
  const sessions: TlsSession[] = [];
  on(p.client, "session", (s) => sessions.push(s));
  await handshake(p);
  assert.equal(p.client.handshakeInfo?.helloRetry, true);
  assert.ok(cm.some((m) => m.type === H.compressedCertificate));
  // Read the tickets, then resume: PSK mode sends no certificate at all.
  transfer(p);
  p.client.read(new Uint8Array(1));
  assert.ok(sessions.length > 0);
  const q = await pair({
    client: { certificateCompression: ALL, session: sessions[0]! },
    server: { certificateCompression: ALL, tickets },
  });
  await handshake(q);
  assert.equal(q.client.handshakeInfo?.resumed, true);
});

Deno.test("round trip: a raw public key's Certificate (RFC 7250) goes compressed too", async () => {
  const key = await loadPrivateKey((await generateChain({ keyType: "ed25519" })).keyPkcs8);
  const c = createBioPair(), s = createBioPair();
  const client = createClient({
    serverName: "localhost",
    minVersion: "TLSv1.3",
    rawPublicKeys: { pinnedKeys: [key.publicKey.spki] },
    certificateCompression: ALL,
  }, c.engine);
  const server = createServer({
    certificates: [],
    minVersion: "TLSv1.3",
    rawPublicKey: { key },
    certificateCompression: ALL,
  }, s.engine);
  const cm = messages(client);
  await handshake({ client, server, c, s });
  assert.ok(cm.some((m) => m.type === H.compressedCertificate && m.direction === "received"));
  assert.equal(client.handshakeInfo?.peerCertificateType, "RawPublicKey");
});

Deno.test("round trip: TLS 1.2 ignores compress_certificate", async () => {
  const p = await pair({
    client: { certificateCompression: ALL, maxVersion: "TLSv1.2" },
    server: { certificateCompression: ALL },
  });
  const cm = messages(p.client);
  await handshake(p);
  assert.equal(p.client.handshakeInfo?.version, "TLSv1.2");
  assert.ok(cm.some((m) => m.type === H.certificate));
});

Deno.test("compression shrinks a CA-issued chain: sizes per algorithm", async () => {
  const sizes: string[] = [];
  for (const keyType of ["rsa-2048", "ecdsa-p256"] as const) {
    const chain = await generateChain({ intermediate: true, keyType });
    const body = encodeCertificate({
      context: new Uint8Array(0),
      entries: chain.chain.map((certData) => ({ certData, extensions: [] })),
    }).subarray(4);
    const line: string[] = [];
    for (const c of CASES) {
      const out = await c.compress!(body);
      assert.ok(out.length < body.length, `${c.name}: ${out.length} of ${body.length}`);
      assert.deepEqual(await c.decompress(out, body.length), body);
      line.push(`${c === web ? "zlib (web)" : c.name} ${out.length}`);
    }
    sizes.push(`${keyType} leaf + P-256 intermediate, ${body.length} bytes: ${line.join(", ")}`);
  }
  console.log(sizes.join("\n"));
});

// ---- tampering ----------------------------------------------------------------------------------

/** A pair where both sides offer and use `c` (default zlib). */
function compressing(c: CertCompressor = byName("zlib"), opts: PairOptions = {}): Promise<Pair> {
  return pair({
    ...opts,
    client: { certificateCompression: [c], ...opts.client },
    server: { certificateCompression: [c], ...opts.server },
  });
}

/** Rewrite the server's CompressedCertificate. */
function editCompressed(p: Pair, fn: (m: ReturnType<typeof decodeCompressedCertificate>) => Uint8Array) {
  return onProtectedMessages(
    p.server,
    (m) =>
      m.type === H.compressedCertificate
        ? { type: m.type, body: fn(decodeCompressedCertificate(m.body)).subarray(4) }
        : m,
  );
}

for (const delta of [1, -1]) {
  Deno.test(`tamper: uncompressed_length ${delta > 0 ? "larger" : "smaller"} than the data is bad_certificate`, async () => {
    for (const c of CASES) {
      const p = await compressing(c);
      const f = editCompressed(
        p,
        (cc) => encodeCompressedCertificate({ ...cc, uncompressedLength: cc.uncompressedLength + delta }),
      );
      await rejects(p, "client", "bad_certificate", "certificate.bad_compressed_certificate", f);
    }
  });
}

Deno.test("tamper: a CompressedCertificate with zero bytes of compressed data is decode_error", async () => {
  const p = await compressing();
  const f = onProtectedMessages(
    p.server,
    (m) =>
      m.type === H.compressedCertificate ? { type: m.type, body: Uint8Array.of(0, 1, 0, 1, 0, 0, 0, 0) } : m,
  );
  await rejects(p, "client", "decode_error", "invalid_message.bad_length", f);
});

Deno.test("tamper: data that does not decompress is bad_certificate", async () => {
  for (const c of CASES) {
    const p = await compressing(c);
    const f = editCompressed(
      p,
      (cc) => encodeCompressedCertificate({ ...cc, compressed: cc.compressed.map((b) => b ^ 0x5a) }),
    );
    await rejects(p, "client", "bad_certificate", "certificate.bad_compressed_certificate", f);
  }
});

/** `data` compressed fast with `algorithm` through node:zlib (the compressors' own settings take long on MiBs). */
function quickly(algorithm: number, data: Uint8Array): Uint8Array {
  const z = process.getBuiltinModule("node:zlib");
  if (algorithm === 2) {
    return z.brotliCompressSync(data, { params: { [z.constants.BROTLI_PARAM_QUALITY]: 1 } });
  }
  if (algorithm === 3) {
    return (z as unknown as { zstdCompressSync(d: Uint8Array): Uint8Array }).zstdCompressSync(data);
  }
  return z.deflateSync(data, { level: 1 });
}

Deno.test("tamper: a bomb stops at uncompressed_length, without the rest being produced", async () => {
  // 64 MiB of zeros, asked for 2000 bytes: each decompressor fails without producing (or allocating) it all.
  const huge = new Uint8Array(64 << 20);
  for (const c of CASES) {
    const compressed = quickly(c.algorithm, huge);
    const before = process.memoryUsage?.().arrayBuffers ?? 0;
    await assert.rejects(async () => await c.decompress(compressed, 2000));
    const grown = (process.memoryUsage?.().arrayBuffers ?? 0) - before;
    assert.ok(grown < 16 << 20, `${c.name}: array buffers grew by ${grown} bytes`);
  }
  // In a handshake: 1 MiB of zeros (about a KiB compressed) said to be 2000 bytes.
  const bomb = new Uint8Array(1 << 20);
  for (const c of CASES) {
    const compressed = quickly(c.algorithm, bomb);
    let asked = -1;
    const spy: CertCompressor = {
      ...c,
      decompress: (data, length) => (asked = length, c.decompress(data, length)),
    };
    const p = await compressing(spy);
    const f = editCompressed(
      p,
      (cc) => encodeCompressedCertificate({ ...cc, uncompressedLength: 2000, compressed }),
    );
    await rejects(p, "client", "bad_certificate", "certificate.bad_compressed_certificate", f);
    assert.equal(asked, 2000);
  }
});

Deno.test("tamper: uncompressed_length past maxHandshakeMessageSize is bad_certificate before decompressing", async () => {
  let calls = 0;
  const zlib = byName("zlib");
  const spy: CertCompressor = { ...zlib, decompress: (d, n) => (calls++, zlib.decompress(d, n)) };
  const p = await compressing(spy, { client: { maxHandshakeMessageSize: 4096 } });
  const f = editCompressed(p, (cc) => encodeCompressedCertificate({ ...cc, uncompressedLength: 4097 }));
  await rejects(p, "client", "bad_certificate", "certificate.compressed_certificate_too_large", f);
  assert.equal(calls, 0);
  // At the bound it is decompressed (and then fails the length check).
  const q = await compressing(spy, { client: { maxHandshakeMessageSize: 4096 } });
  const g = editCompressed(q, (cc) => encodeCompressedCertificate({ ...cc, uncompressedLength: 4096 }));
  await rejects(q, "client", "bad_certificate", "certificate.bad_compressed_certificate", g);
  assert.equal(calls, 1);
});

Deno.test("tamper: an algorithm the client did not offer is illegal_parameter", async () => {
  for (const algorithm of [2, 3, 0xffff]) {
    const p = await compressing(byName("zlib"));
    const f = editCompressed(p, (cc) => encodeCompressedCertificate({ ...cc, algorithm }));
    await rejects(p, "client", "illegal_parameter", "peer_misbehaved.unoffered_compression_algorithm", f);
  }
});

/** Replace `sender`'s Certificate with a CompressedCertificate (zlib) of it. */
function compressCertificateOf(sender: TlsEngine) {
  const zlib = byName("zlib");
  return onProtectedMessages(sender, (m) => {
    if (m.type !== H.certificate) return m;
    const compressed = zlib.compress!(m.body) as Uint8Array;
    const raw = encodeCompressedCertificate({ algorithm: 1, uncompressedLength: m.body.length, compressed });
    return { type: H.compressedCertificate, body: raw.subarray(4) };
  });
}

Deno.test("tamper: a CompressedCertificate the client never offered compression for is unexpected_message", async () => {
  const p = await pair({ server: { certificateCompression: ALL } });
  await rejects(
    p,
    "client",
    "unexpected_message",
    "peer_misbehaved.unexpected_message",
    compressCertificateOf(p.server),
  );
  assert.match(
    p.client.error!.message,
    /^Cannot accept compressedCertificate: expected certificate or certificateRequest /,
  );
});

Deno.test("tamper: a server that gets a CompressedCertificate without having offered compression says unexpected_message", async () => {
  const client = await generateChain();
  const p = await pair({
    client: { clientCertificate: { chain: client.chain, key: await loadPrivateKey(client.keyPkcs8) } },
    server: { clientAuth: { required: true, trustAnchors: [client.rootDer] } },
  });
  await rejects(
    p,
    "server",
    "unexpected_message",
    "peer_misbehaved.unexpected_message",
    compressCertificateOf(p.client),
  );
});

Deno.test("a decompressed Certificate still goes through verification and maxPeerChainLength", async () => {
  // Verification on, no trust anchor for the server's self-signed certificate: refused as an uncompressed one is.
  const p = await compressing(byName("zlib"), {
    client: {
      dangerouslyDisableCertificateVerification: false,
      trustAnchors: [(await generateChain()).rootDer],
    },
  });
  const cm = messages(p.client);
  await handshakeExpectingFailure(p);
  assert.ok(cm.some((m) => m.type === H.compressedCertificate));
  assert.ok(p.client.error instanceof TlsError);
  assert.match(p.client.error.code, /^certificate\./);
  // A chain longer than maxPeerChainLength, compressed: too_many_certificates.
  const long = await generateChain({ intermediate: true });
  const q = await pair({
    client: { certificateCompression: [byName("zlib")], maxPeerChainLength: 1 },
    server: {
      certificateCompression: [byName("zlib")],
      certificates: [{ chain: long.chain, key: await loadPrivateKey(long.keyPkcs8) }],
    },
  });
  await rejects(q, "client", "bad_certificate", "certificate.too_many_certificates");
});

Deno.test("the transcript holds the CompressedCertificate as sent: a re-compressed one fails Finished", async () => {
  // Same Certificate, other (valid) compressed bytes: the client accepts the message, then the transcript
  // differs from the server's, and CertificateVerify fails.
  const zlib = byName("zlib");
  const p = await compressing(zlib);
  const f = editCompressed(p, (cc) => {
    const body = zlib.decompress(cc.compressed, cc.uncompressedLength) as Uint8Array;
    const again = process.getBuiltinModule("node:zlib").deflateSync(body, { level: 1 });
    assert.notDeepEqual(new Uint8Array(again), cc.compressed);
    return encodeCompressedCertificate({ ...cc, compressed: new Uint8Array(again) });
  });
  await rejects(p, "client", "decrypt_error", "certificate.bad_signature", f);
});
