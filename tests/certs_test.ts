/**
 * Certificates in the handshake: verification by trust anchors (on by default once anchors are given),
 * each failure's alert and code, the caller's own verdict (verifyPeer, WANT_RETRY_VERIFY), mTLS both
 * ways, and the server's choice among several chains by SNI and signature scheme.
 */
import assert from "node:assert/strict";
import { drain, handshake, handshakeExpectingFailure, transfer, writeAll } from "../testing/pair.ts";
import { assertFailed, assertReceived } from "../testing/reject.ts";
import {
  generateChain,
  imitatedCa,
  intermediate,
  issue,
  leaf,
  NOW,
  root,
  type TestCert,
  type TestChain,
  type TestKey,
  testKey,
} from "../testing/pki.ts";
import { type CryptoProvider, nobleProvider } from "../suites/provider.ts";
import {
  type AlertName,
  type ClientConfig,
  createBioPair,
  createClient,
  createServer,
  loadPrivateKey,
  type ServerConfig,
  SslError,
  type VerifyErrorCode,
} from "../mod.ts";

interface Setup {
  client: Partial<ClientConfig>;
  /** Leave trustAnchors out of the client's config. */
  noAnchors?: boolean;
  server?: Partial<ServerConfig>;
  chain?: TestChain;
}

async function pairWith(s: Setup) {
  const chain = s.chain ?? (await generateChain({ intermediate: true, dnsNames: ["server.test"] }));
  const key = await loadPrivateKey(chain.keyPkcs8);
  const c = createBioPair(), sb = createBioPair();
  const anchors = s.noAnchors ? {} : { trustAnchors: [chain.rootPem] };
  const client = createClient({ serverName: "server.test", ...anchors, ...s.client }, c.engine);
  const server = createServer({ certificates: [{ chain: chain.chain, key }], ...s.server }, sb.engine);
  return { client, server, c, s: sb, chain };
}

Deno.test("trustAnchors: a chain through an intermediate to the root is accepted", async () => {
  const p = await pairWith({ client: {} });
  await handshake(p);
  assert.equal(p.client.handshakeInfo?.peerCertificates.length, 2);
  assert.deepEqual(p.client.peerCertificates[0], p.chain.chain[0]);
});

Deno.test("trustAnchors: another root is unknown_ca", async () => {
  const other = await generateChain();
  const p = await pairWith({ client: { trustAnchors: [other.rootPem] } });
  await handshakeExpectingFailure(p);
  assertFailed(p.client, "unknown_ca", "certificate.unknown_issuer");
  assert.equal(p.server.error?.code, "alert_received.unknown_ca");
});

Deno.test("trustAnchors: a missing intermediate is unknown_ca", async () => {
  const chain = await generateChain({ intermediate: true, dnsNames: ["server.test"] });
  const p = await pairWith({ chain: { ...chain, chain: [chain.chain[0]!] }, client: {} });
  await handshakeExpectingFailure(p);
  assertFailed(p.client, "unknown_ca", "certificate.unknown_issuer");
});

Deno.test("trustAnchors: the wrong name is bad_certificate", async () => {
  const p = await pairWith({ client: { serverName: "other.test" } });
  await handshakeExpectingFailure(p);
  assertFailed(p.client, "bad_certificate", "certificate.name_mismatch");
});

Deno.test("trustAnchors: an expired certificate is certificate_expired", async () => {
  const p = await pairWith({ client: { now: () => Date.parse("2040-01-01T00:00:00Z") } });
  await handshakeExpectingFailure(p);
  assertFailed(p.client, "certificate_expired", "certificate.expired");
});

Deno.test("trustAnchors: an IP address name is checked against iPAddress SANs", async () => {
  const chain = await generateChain({ dnsNames: ["server.test"], ipAddresses: ["127.0.0.1"] });
  const ok = await pairWith({ chain, client: { serverName: "127.0.0.1" } });
  await handshake(ok);
  const bad = await pairWith({ chain, client: { serverName: "127.0.0.2" } });
  await handshakeExpectingFailure(bad);
  assertFailed(bad.client, "bad_certificate", "certificate.name_mismatch");
});

Deno.test("verifyPeer runs after the anchors and can still refuse", async () => {
  let seen = 0;
  const p = await pairWith({ client: { verifyPeer: ({ chain }) => ((seen = chain.length), false) } });
  await handshakeExpectingFailure(p);
  assert.equal(seen, 2);
  assertFailed(p.client, "bad_certificate", "certificate.rejected");
});

Deno.test("retryVerify stops with WANT_RETRY_VERIFY and resumes on setVerifyResult()", async (t) => {
  for (const verdict of [true, false]) {
    await t.step(`verdict ${verdict}`, async () => {
      const p = await pairWith({ noAnchors: true, client: { retryVerify: true } });
      let stopped = false;
      for (let i = 0; i < 50 && !stopped; i++) {
        const r = p.client.doHandshake();
        if (r < 0 && p.client.getError(r) === SslError.WANT_RETRY_VERIFY) stopped = true;
        if (r < 0 && p.client.getError(r) === SslError.WANT_ASYNC) await p.client.asyncWait();
        const rs = p.server.doHandshake();
        if (rs < 0 && p.server.getError(rs) === SslError.WANT_ASYNC) await p.server.asyncWait();
        transfer(p);
      }
      assert.ok(stopped, "never stopped for the verdict");
      assert.equal(p.client.peerCertificates.length, 2);
      // Every call keeps saying WANT_RETRY_VERIFY until the verdict is in.
      assert.equal(p.client.getError(p.client.read(new Uint8Array(1))), SslError.WANT_RETRY_VERIFY);
      assert.equal(p.client.setVerifyResult(verdict), 1);
      if (verdict) {
        await handshake(p);
        assert.ok(p.client.isHandshakeDone);
      } else {
        await handshakeExpectingFailure(p);
        assertFailed(p.client, "bad_certificate", "certificate.rejected");
      }
    });
  }
});

Deno.test("createClient() refuses a configuration that would not verify", () => {
  const { engine } = createBioPair();
  assert.throws(() => createClient({ serverName: "x.test" }, engine), TypeError);
  assert.throws(() => createClient({ trustAnchors: [new Uint8Array(1)] }, engine), TypeError);
});

async function mtls(opts: {
  clientChain?: TestChain | undefined;
  required?: boolean;
  anchors?: string[];
  client?: Partial<ClientConfig>;
  server?: Partial<ServerConfig>;
}) {
  const clientRoot = opts.clientChain ??
    (await generateChain({ dnsNames: ["client.test"], eku: ["clientAuth"] }));
  const clientKey = await loadPrivateKey(clientRoot.keyPkcs8);
  return pairWith({
    client: {
      ...(opts.clientChain !== undefined || !("clientChain" in opts)
        ? { clientCertificate: { chain: clientRoot.chain, key: clientKey } }
        : {}),
      ...opts.client,
    },
    server: {
      clientAuth: { required: opts.required ?? true, trustAnchors: opts.anchors ?? [clientRoot.rootPem] },
      ...opts.server,
    },
  });
}

Deno.test("mTLS: the server verifies the client's chain and sees it", async () => {
  const clientChain = await generateChain({
    intermediate: true,
    dnsNames: ["client.test"],
    eku: ["clientAuth"],
  });
  const p = await mtls({ clientChain });
  await handshake(p);
  assert.deepEqual(p.server.handshakeInfo?.peerCertificates[0], clientChain.chain[0]);
  assert.equal(await writeAll(p.client, new TextEncoder().encode("hi")), 2);
  transfer(p);
  assert.equal(new TextDecoder().decode(await drain(p.server)), "hi");
});

Deno.test("mTLS: no client certificate when one is required is certificate_required", async () => {
  const p = await mtls({ clientChain: undefined, required: true });
  await handshakeExpectingFailure(p);
  assertFailed(p.server, "certificate_required", "certificate.required");
  // The client finished its side first; the server's alert shows on its next read.
  const r = p.client.read(new Uint8Array(16));
  assert.equal(p.client.getError(r), SslError.SSL);
  assert.equal(p.client.error?.code, "alert_received.certificate_required");
});

Deno.test("mTLS: no client certificate is fine when it is only requested", async () => {
  const p = await mtls({ clientChain: undefined, required: false });
  await handshake(p);
  assert.equal(p.server.handshakeInfo?.peerCertificates.length, 0);
});

Deno.test("mTLS: a client chain from another CA is unknown_ca", async () => {
  const other = await generateChain();
  const p = await mtls({ anchors: [other.rootPem] });
  await handshakeExpectingFailure(p);
  assertFailed(p.server, "unknown_ca", "certificate.unknown_issuer");
});

Deno.test("mTLS: a certificate for serverAuth only is refused for a client", async () => {
  const serverOnly = await generateChain({ dnsNames: ["client.test"], eku: ["serverAuth"] });
  const p = await mtls({ clientChain: serverOnly });
  await handshakeExpectingFailure(p);
  assert.equal(p.server.error?.code, "certificate.bad_extended_key_usage");
});

Deno.test("mTLS: the client sees certificate_authorities and may pick by them", async () => {
  const clientChain = await generateChain({ dnsNames: ["client.test"], eku: ["clientAuth"] });
  const key = await loadPrivateKey(clientChain.keyPkcs8);
  let authorities = 0;
  const p = await mtls({
    clientChain,
    client: {
      clientCertificate: (req) => {
        authorities = req.certificateAuthorities.length;
        return { chain: clientChain.chain, key };
      },
    },
  });
  await handshake(p);
  assert.equal(authorities, 1);
  assert.equal(p.server.handshakeInfo?.peerCertificates.length, 1);
});

Deno.test("mTLS: an RSA client key signs through WebCrypto (WANT_ASYNC)", async () => {
  const clientChain = await generateChain({
    keyType: "rsa-2048",
    dnsNames: ["client.test"],
    eku: ["clientAuth"],
  });
  const p = await mtls({ clientChain });
  await handshake(p);
  assert.equal(p.server.handshakeInfo?.peerCertificates.length, 1);
});

Deno.test("mTLS: a server can decide about the client with retryVerify", async () => {
  const p = await mtls({ server: { clientAuth: { required: true, retryVerify: true } } });
  let stopped = false;
  for (let i = 0; i < 50 && !p.server.isHandshakeDone; i++) {
    for (const e of [p.client, p.server]) {
      const r = e.doHandshake();
      if (r < 0 && e.getError(r) === SslError.WANT_ASYNC) await e.asyncWait();
      if (r < 0 && e.getError(r) === SslError.WANT_RETRY_VERIFY) {
        stopped = true;
        assert.equal(e.peerCertificates.length, 1);
        e.setVerifyResult(true);
      }
    }
    transfer(p);
  }
  await handshake(p);
  assert.ok(stopped);
});

Deno.test("the server picks its certificate by SNI, then by the client's signature schemes", async () => {
  const a = await generateChain({ dnsNames: ["a.test"] });
  const b = await generateChain({ keyType: "ed25519", dnsNames: ["b.test"] });
  const certificates = [
    { chain: a.chain, key: await loadPrivateKey(a.keyPkcs8) },
    { chain: b.chain, key: await loadPrivateKey(b.keyPkcs8) },
  ];
  const run = async (
    serverName: string,
    anchor: TestChain | undefined,
    extra: Partial<ClientConfig> = {},
  ) => {
    const c = createBioPair(), s = createBioPair();
    const verify = anchor ? { trustAnchors: [anchor.rootPem] } : { verifyPeer: () => true };
    const client = createClient({ serverName, ...verify, ...extra }, c.engine);
    const server = createServer({ certificates }, s.engine);
    const p = { client, server, c, s };
    await handshake(p);
    return client.handshakeInfo!.signatureScheme;
  };
  assert.equal(await run("b.test", b), "ed25519");
  assert.equal(await run("a.test", a), "ecdsa_secp256r1_sha256");
  // Unknown name: the first certificate is the default.
  assert.equal(await run("c.test", undefined), "ecdsa_secp256r1_sha256");
  // A client that can only verify Ed25519 gets the Ed25519 chain whatever it asks for: the one usable
  // chain, taken without reading its name.
  assert.equal(await run("b.test", b, { signatureSchemes: ["ed25519"] }), "ed25519");
  assert.equal(await run("a.test", undefined, { signatureSchemes: ["ed25519"] }), "ed25519");
  assert.equal(await run("c.test", undefined, { signatureSchemes: ["ed25519"] }), "ed25519");
});

// Every path-validation failure, through a real handshake: the client sends the mapped alert, surfaces
// the verifier's code, and the server hears the alert.
const FAILURES: {
  name: string;
  code: VerifyErrorCode;
  alert: AlertName;
  build: (k: Keys) => Promise<{ root: TestCert; chain: TestCert[] }>;
}[] = [
  {
    name: "an intermediate without cA",
    code: "not_a_ca",
    alert: "certificate_unknown",
    build: async (k) => {
      const r = await root("CN=R", k.root);
      const i = await intermediate("CN=I", k.inter, r, { ca: false });
      return { root: r, chain: [await leaf("server.test", k.leaf, i), i] };
    },
  },
  {
    name: "a path longer than the root's pathLenConstraint",
    code: "path_len_exceeded",
    alert: "certificate_unknown",
    build: async (k) => {
      const r = await root("CN=R", k.root, { ca: 0 });
      const i = await intermediate("CN=I", k.inter, r);
      return { root: r, chain: [await leaf("server.test", k.leaf, i), i] };
    },
  },
  {
    name: "a leaf whose signature was tampered with",
    code: "bad_signature",
    alert: "bad_certificate",
    build: async (k) => {
      const r = await root("CN=R", k.root);
      return { root: r, chain: [await leaf("server.test", k.leaf, r, { tamper: true })] };
    },
  },
  {
    name: "an unknown critical extension",
    code: "unknown_critical_extension",
    alert: "unsupported_certificate",
    build: async (k) => {
      const r = await root("CN=R", k.root);
      const ext = { oid: "1.3.6.1.4.1.55555.1", critical: true, value: new Uint8Array([5, 0]) };
      return { root: r, chain: [await leaf("server.test", k.leaf, r, { extensions: [ext] })] };
    },
  },
  {
    name: "a 1024-bit RSA intermediate",
    code: "weak_key",
    alert: "unsupported_certificate",
    build: async (k) => {
      const r = await root("CN=R", k.root);
      const i = await intermediate("CN=I", await testKey("rsa1024", 9), r);
      return { root: r, chain: [await leaf("server.test", k.leaf, i), i] };
    },
  },
  {
    name: "a leaf for clientAuth only",
    code: "bad_extended_key_usage",
    alert: "unsupported_certificate",
    build: async (k) => {
      const r = await root("CN=R", k.root);
      return { root: r, chain: [await leaf("server.test", k.leaf, r, { eku: ["clientAuth"] })] };
    },
  },
  {
    name: "a leaf not yet valid",
    code: "not_yet_valid",
    alert: "certificate_expired",
    build: async (k) => {
      const r = await root("CN=R", k.root);
      return {
        root: r,
        chain: [await leaf("server.test", k.leaf, r, { notBefore: new Date("2030-01-01") })],
      };
    },
  },
  {
    name: "a name outside the root's name constraints",
    code: "name_constraint_violation",
    alert: "certificate_unknown",
    build: async (k) => {
      const r = await root("CN=R", k.root, { permitted: [{ dns: "other.test" }] });
      return { root: r, chain: [await leaf("server.test", k.leaf, r)] };
    },
  },
  {
    name: "an intermediate without keyCertSign",
    code: "bad_key_usage",
    alert: "unsupported_certificate",
    build: async (k) => {
      const r = await root("CN=R", k.root);
      const i = await intermediate("CN=I", k.inter, r, { keyUsage: ["digitalSignature"] });
      return { root: r, chain: [await leaf("server.test", k.leaf, i), i] };
    },
  },
];

interface Keys {
  root: TestKey;
  inter: TestKey;
  leaf: TestKey;
}

Deno.test("every path-validation failure ends the handshake with its alert and code", async (t) => {
  const keys = {
    root: await testKey("p256", 21),
    inter: await testKey("p256", 22),
    leaf: await testKey("p256", 23),
  };
  const leafKey = await loadPrivateKey(
    new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.leaf.privateKey)),
  );
  for (const f of FAILURES) {
    await t.step(f.name, async () => {
      const { root: r, chain } = await f.build(keys);
      const c = createBioPair(), s = createBioPair();
      const client = createClient({
        serverName: "server.test",
        trustAnchors: [r.der],
        now: () => NOW.getTime(),
      }, c.engine);
      const server = createServer(
        { certificates: [{ chain: chain.map((x) => x.der), key: leafKey }] },
        s.engine,
      );
      const p = { client, server, c, s };
      await handshakeExpectingFailure(p);
      assertFailed(client, f.alert, `certificate.${f.code}`);
      assert.equal(server.error?.code, `alert_received.${f.alert}`);
    });
  }
});

// Finding 6 of the security review (issue #15): a chain of a leaf and 100 bogus intermediates, each named like
// the CA the verifier trusts, cost 100 signature checks (about 180 ms) before the peer had proved anything.

/** A provider whose certificate signature checks are counted. */
function countingProvider(): { provider: CryptoProvider; checks: () => number } {
  let n = 0;
  const provider: CryptoProvider = {
    ...nobleProvider,
    verifyX509: (...args) => (n++, nobleProvider.verifyX509(...args)),
  };
  return { provider, checks: () => n };
}

/** The imitated-CA chain of 1 + `count` certificates, with the leaf's key, ready for an engine. */
async function bogusChain(count: number) {
  const { anchor, leaf: l, bogus } = await imitatedCa(count);
  const key = await loadPrivateKey(
    new Uint8Array(await crypto.subtle.exportKey("pkcs8", (await testKey("p384", 3)).privateKey)),
  );
  return { anchor: anchor.pem, certified: { chain: [l.der, ...bogus.map((b) => b.der)], key } };
}

Deno.test("security: an mTLS server refuses 101 client certificates before any signature check", async () => {
  const { anchor, certified } = await bogusChain(100);
  const counted = countingProvider();
  const p = await mtls({
    client: { clientCertificate: certified },
    server: { clientAuth: { required: true, trustAnchors: [anchor] }, provider: counted.provider },
  });
  await handshakeExpectingFailure(p);
  assertFailed(p.server, "bad_certificate", "certificate.too_many_certificates");
  assert.match(p.server.error!.message, /101 certificates, more than maxPeerChainLength \(10\)/);
  assert.equal(counted.checks(), 0);
  transfer(p);
  assertReceived(p.client, "bad_certificate");
});

Deno.test("security: a client refuses a server chain of 101 certificates before any signature check", async () => {
  const { anchor, certified } = await bogusChain(100);
  const counted = countingProvider();
  const p = await pairWith({
    noAnchors: true,
    client: { serverName: "client.test", trustAnchors: [anchor], provider: counted.provider },
    server: { certificates: [certified] },
  });
  await handshakeExpectingFailure(p);
  assertFailed(p.client, "bad_certificate", "certificate.too_many_certificates");
  assert.equal(counted.checks(), 0);
});

Deno.test("security: maxSignatureChecks bounds the signature checks of a chain within maxPeerChainLength", async () => {
  const { anchor, certified } = await bogusChain(100);
  const counted = countingProvider();
  const p = await mtls({
    client: { clientCertificate: certified },
    server: {
      clientAuth: { required: true, trustAnchors: [anchor] },
      provider: counted.provider,
      maxPeerChainLength: 101,
      maxSignatureChecks: 8,
    },
  });
  await handshakeExpectingFailure(p);
  assertFailed(p.server, "certificate_unknown", "certificate.budget_exceeded");
  assert.equal(counted.checks(), 8);
});

Deno.test("security: maxPeerChainLength and maxSignatureChecks are checked at configuration time", () => {
  const base = { serverName: "server.test", verifyPeer: () => true };
  for (const bad of [0, 257, 1.5, NaN]) {
    assert.throws(
      () => createClient({ ...base, maxPeerChainLength: bad }, createBioPair().engine),
      RangeError,
    );
  }
  for (const bad of [0, 10_001, 2.5]) {
    assert.throws(
      () => createClient({ ...base, maxSignatureChecks: bad }, createBioPair().engine),
      RangeError,
    );
  }
});

Deno.test("a private key that is not the leaf certificate's is refused when the engine is made, not at the first handshake", async () => {
  const a = await generateChain({ keyType: "ecdsa-p256" });
  const b = await generateChain({ keyType: "ecdsa-p256" });
  const rsa = await generateChain({ keyType: "rsa-2048" });
  const keyB = await loadPrivateKey(b.keyPkcs8);
  const keyRsa = await loadPrivateKey(rsa.keyPkcs8);
  const bio = () => createBioPair().engine;
  // Another key of the same type, and a key of another type: both refused, for a server and a client.
  for (const key of [keyB, keyRsa]) {
    assert.throws(
      () => createServer({ certificates: [{ chain: a.chain, key }] }, bio()),
      /certificates\[0\]: the private key \((ec-p256|rsa)\) is not the leaf certificate's \(ec-p256\)/,
    );
    assert.throws(
      () =>
        createClient({
          dangerouslyDisableCertificateVerification: true,
          clientCertificate: { chain: a.chain, key },
        }, bio()),
      TypeError,
    );
  }
  // The second certificate of several is checked too; matching pairs (RSA included) are accepted.
  assert.throws(
    () =>
      createServer({ certificates: [{ chain: b.chain, key: keyB }, { chain: a.chain, key: keyB }] }, bio()),
    /certificates\[1\]/,
  );
  createServer({ certificates: [{ chain: b.chain, key: keyB }, { chain: rsa.chain, key: keyRsa }] }, bio());
});

Deno.test("testing/pki issue() encodes keyUsage as DER: the trailing zero bits are dropped and counted", async () => {
  const key = await testKey("p256", 1);
  // keyUsage OID, critical, then the OCTET STRING holding the BIT STRING.
  const extension = (
    bits: number[],
  ) => [0x06, 0x03, 0x55, 0x1d, 0x0f, 0x01, 0x01, 0xff, 0x04, 4, 0x03, 2, ...bits];
  const has = (der: Uint8Array, want: number[]) => der.some((_, i) => want.every((b, j) => der[i + j] === b));
  const signer = await issue({ subject: "CN=a", key, keyUsage: ["digitalSignature"] });
  assert.ok(has(signer.der, extension([7, 0x80])), "digitalSignature: 7 unused bits");
  const ca = await issue({ subject: "CN=b", key, keyUsage: ["digitalSignature", "keyCertSign", "cRLSign"] });
  assert.ok(has(ca.der, extension([1, 0x86])), "digitalSignature, keyCertSign, cRLSign: 1 unused bit");
});
