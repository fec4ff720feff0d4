import assert from "node:assert/strict";
import { AlertDescription } from "../engine/alert.ts";
import { nobleProvider, webCryptoProvider } from "../suites/provider.ts";
import { nodeCryptoProvider } from "../suites/node_crypto.ts";
import {
  alertForVerifyError,
  type CertificateSignatureCheck,
  verifyCertificateChain,
  type VerifyErrorCode,
  type VerifyOptions,
} from "./mod.ts";
import {
  type CertSpec,
  imitatedCa,
  intermediate,
  issue,
  leaf,
  NOW,
  root,
  simplePki,
  type TestCert,
  testKey,
  utf8,
} from "../testing/pki.ts";

/** Verify for server auth at NOW with www.example.com as the peer, overridable. */
function verify(
  chain: { leaf: TestCert; inter?: TestCert[]; root: TestCert[] },
  extra: Partial<VerifyOptions> = {},
) {
  return verifyCertificateChain({
    leaf: chain.leaf.der,
    intermediates: (chain.inter ?? []).map((c) => c.der),
    trustAnchors: chain.root.map((c) => c.pem),
    purpose: "server",
    peerName: "www.example.com",
    time: NOW,
    ...extra,
  });
}

async function expectOk(
  chain: Parameters<typeof verify>[0],
  extra: Partial<VerifyOptions> = {},
): Promise<Uint8Array[]> {
  const result = await verify(chain, extra);
  assert.ok(result.ok, result.ok ? "" : `expected success, got ${result.code}: ${result.reason}`);
  return result.path;
}

async function expectFail(
  chain: Parameters<typeof verify>[0],
  code: VerifyErrorCode,
  extra: Partial<VerifyOptions> = {},
): Promise<string> {
  const result = await verify(chain, extra);
  assert.ok(!result.ok, `expected ${code}, got success`);
  assert.equal(result.code, code, result.reason);
  assert.match(result.reason, /^[A-Z]/);
  return result.reason;
}

Deno.test("verifyCertificateChain() accepts root → intermediate → leaf and returns the path", async () => {
  const pki = await simplePki();
  const path = await expectOk({ leaf: pki.leaf, inter: [pki.inter], root: [pki.root] });
  assert.deepEqual(path, [pki.leaf.der, pki.inter.der, pki.root.der]);
});

Deno.test("verifyCertificateChain() takes PEM and DER, several PEM blocks per string, junk and duplicates", async () => {
  const pki = await simplePki();
  const other = await root("CN=Other Root", await testKey("p256", 9));
  const result = await verifyCertificateChain({
    leaf: pki.leaf.pem,
    intermediates: [
      "not a certificate",
      new Uint8Array([1, 2, 3]),
      pki.inter.pem + pki.inter.pem,
      pki.inter.der,
    ],
    trustAnchors: [other.pem + pki.root.pem],
    purpose: "server",
    peerName: "www.example.com",
    time: NOW,
  });
  assert.ok(result.ok);
  assert.equal(result.path.length, 3);
});

Deno.test("verifyCertificateChain() verifies each key type", async (t) => {
  for (const kind of ["p256", "p384", "ed25519", "rsa2048"] as const) {
    await t.step(kind, async () => {
      const pki = await simplePki(kind);
      await expectOk({ leaf: pki.leaf, inter: [pki.inter], root: [pki.root] });
      const forged = await leaf("www.example.com", await testKey(kind, 3), pki.inter, { tamper: true });
      const reason = await expectFail(
        { leaf: forged, inter: [pki.inter], root: [pki.root] },
        "bad_signature",
      );
      assert.match(reason, /"CN=www\.example\.com".*"CN=Test Intermediate"/);
    });
  }
});

Deno.test("verifyCertificateChain() verifies RSA PKCS#1 v1.5 and RSA-PSS with SHA-256/384/512", async (t) => {
  const rootKey = await testKey("rsa2048", 1);
  const r = await root("CN=RSA Root", rootKey);
  for (
    const sigAlg of [
      "rsa-pkcs1-sha256",
      "rsa-pkcs1-sha384",
      "rsa-pkcs1-sha512",
      "rsa-pss-sha256",
      "rsa-pss-sha384",
      "rsa-pss-sha512",
    ] as const
  ) {
    await t.step(sigAlg, async () => {
      const l = await leaf("www.example.com", await testKey("p256", 3), r, { sigAlg });
      await expectOk({ leaf: l, root: [r] });
      const bad = await leaf("www.example.com", await testKey("p256", 3), r, { sigAlg, tamper: true });
      await expectFail({ leaf: bad, root: [r] }, "bad_signature");
    });
  }
});

Deno.test("verifyCertificateChain() rejects weak RSA keys and unsupported algorithms", async () => {
  const weak = await root("CN=Weak Root", await testKey("rsa1024", 1));
  const l = await leaf("www.example.com", await testKey("p256", 3), weak);
  const reason = await expectFail({ leaf: l, root: [weak] }, "weak_key");
  assert.match(reason, /1024-bit RSA key/);
  const weakLeaf = await leaf("www.example.com", await testKey("rsa1024", 2), (await simplePki()).inter);
  await expectFail({ leaf: weakLeaf, root: [] }, "weak_key");

  const ecRoot = await root("CN=EC Root", await testKey("p256", 1));
  const sha1 = await leaf("www.example.com", await testKey("p256", 3), ecRoot, { sigAlg: "ecdsa-sha1" });
  await expectFail({ leaf: sha1, root: [ecRoot] }, "unsupported_signature_algorithm");
  // An RSA algorithm under an EC key is a signature that cannot verify.
  const mismatch = await leaf("www.example.com", await testKey("p256", 3), ecRoot, {
    signer: await testKey("rsa2048", 1),
    sigAlg: "rsa-pkcs1-sha256",
  });
  await expectFail({ leaf: mismatch, root: [ecRoot] }, "bad_signature");
});

Deno.test("verifyCertificateChain() checks the validity period of every certificate, bounds inclusive", async () => {
  const pki = await simplePki();
  const chain = { leaf: pki.leaf, inter: [pki.inter], root: [pki.root] };
  await expectOk(chain, { time: new Date("2025-01-01T00:00:00Z") });
  await expectOk(chain, { time: new Date("2035-01-01T00:00:00.999Z") });
  await expectFail(chain, "not_yet_valid", { time: new Date("2024-12-31T23:59:59Z") });
  const reason = await expectFail(chain, "expired", { time: new Date("2035-01-01T00:00:01Z") });
  assert.match(reason, /leaf certificate "CN=www\.example\.com" expired at 2035-01-01T00:00:00Z/);

  const early = { notAfter: new Date("2026-01-01T00:00:00Z") };
  const expiredInter = await intermediate("CN=Test Intermediate", await testKey("p256", 2), pki.root, early);
  await expectFail({ leaf: pki.leaf, inter: [expiredInter], root: [pki.root] }, "expired");
  const expiredRoot = await root("CN=Test Root", await testKey("p256", 1), early);
  await expectFail({ leaf: pki.leaf, inter: [pki.inter], root: [expiredRoot] }, "expired");
});

Deno.test("verifyCertificateChain() reports unknown issuers", async () => {
  const pki = await simplePki();
  const other = await root("CN=Other Root", await testKey("p256", 9));
  await expectFail({ leaf: pki.leaf, inter: [pki.inter], root: [other] }, "unknown_issuer");
  const reason = await expectFail({ leaf: pki.leaf, root: [pki.root] }, "unknown_issuer");
  assert.match(reason, /"CN=Test Intermediate", which issued the leaf certificate "CN=www\.example\.com"/);
  // A root with the right name but another key: the signature check fails.
  const impostor = await root("CN=Test Root", await testKey("p256", 9));
  await expectFail({ leaf: pki.leaf, inter: [pki.inter], root: [impostor] }, "bad_signature");
});

Deno.test("verifyCertificateChain() trusts a self-signed leaf only when it is itself an anchor", async () => {
  const selfSigned = await issue({
    subject: "CN=www.example.com",
    key: await testKey("p256", 5),
    ca: false,
    san: [{ dns: "www.example.com" }],
    eku: ["serverAuth"],
  });
  const reason = await expectFail({ leaf: selfSigned, root: [(await simplePki()).root] }, "unknown_issuer");
  assert.match(reason, /self-signed and is not a trust anchor/);
  const path = await expectOk({ leaf: selfSigned, root: [selfSigned] });
  assert.deepEqual(path, [selfSigned.der]);
  // Pinning does not excuse the leaf checks.
  await expectFail({ leaf: selfSigned, root: [selfSigned] }, "name_mismatch", { peerName: "other.example" });
});

Deno.test("verifyCertificateChain() skips a bad candidate issuer and tries the next", async () => {
  const pki = await simplePki();
  const interKey = await testKey("p256", 2);
  const wrongKey = await intermediate("CN=Test Intermediate", await testKey("p256", 8), pki.root);
  const expired = await intermediate("CN=Test Intermediate", interKey, pki.root, {
    notAfter: new Date("2026-01-01T00:00:00Z"),
  });
  for (const bad of [wrongKey, expired]) {
    await expectOk({ leaf: pki.leaf, inter: [bad, pki.inter], root: [pki.root] });
    await expectOk({ leaf: pki.leaf, inter: [pki.inter, bad], root: [pki.root] });
  }
  // With only bad candidates, the most specific failure is reported.
  await expectFail({ leaf: pki.leaf, inter: [wrongKey], root: [pki.root] }, "bad_signature");
  await expectFail({ leaf: pki.leaf, inter: [expired], root: [pki.root] }, "expired");
  await expectFail({ leaf: pki.leaf, inter: [wrongKey, expired], root: [pki.root] }, "expired");
  // Two anchors with the same name: the first has the wrong key.
  const impostor = await root("CN=Test Root", await testKey("p256", 9));
  await expectOk({ leaf: pki.leaf, inter: [pki.inter], root: [impostor, pki.root] });
});

Deno.test("verifyCertificateChain() finds a path through a cross-signed CA when another path is expired", async () => {
  // old root (expired) ← CA → leaf, and new root ← CA (cross-sign): the "chain of pain".
  const caKey = await testKey("p256", 2);
  const oldRoot = await root("CN=Old Root", await testKey("p256", 6), {
    notAfter: new Date("2026-01-01T00:00:00Z"),
  });
  const newRoot = await root("CN=New Root", await testKey("p256", 7));
  const viaOld = await intermediate("CN=Shared CA", caKey, oldRoot);
  const viaNew = await intermediate("CN=Shared CA", caKey, newRoot);
  const l = await leaf("www.example.com", await testKey("p256", 3), viaOld);
  const path = await expectOk({ leaf: l, inter: [viaOld, viaNew], root: [oldRoot, newRoot] });
  assert.deepEqual(path, [l.der, viaNew.der, newRoot.der]);
});

Deno.test("verifyCertificateChain() does not loop on CAs that sign each other", async () => {
  const pki = await simplePki();
  const aKey = await testKey("p256", 6);
  const bKey = await testKey("p256", 7);
  const a = await issue({ subject: "CN=CA A", key: aKey, issuerName: "CN=CA B", signer: bKey, ca: true });
  const b = await issue({ subject: "CN=CA B", key: bKey, issuerName: "CN=CA A", signer: aKey, ca: true });
  const l = await leaf("www.example.com", await testKey("p256", 3), a);
  await expectFail({ leaf: l, inter: [a, b], root: [pki.root] }, "unknown_issuer");
  // The same CA under two keys, each signing the other, is a loop too.
  const a2 = await issue({ subject: "CN=CA A", key: bKey, issuerName: "CN=CA A", signer: aKey, ca: true });
  const a1 = await issue({ subject: "CN=CA A", key: aKey, issuerName: "CN=CA A", signer: bKey, ca: true });
  await expectFail({ leaf: l, inter: [a1, a2], root: [pki.root] }, "unknown_issuer");
});

async function ladder(length: number): Promise<{ root: TestCert; inters: TestCert[]; leaf: TestCert }> {
  const r = await root("CN=Ladder Root", await testKey("p256", 1));
  const inters: TestCert[] = [];
  let parent = r;
  for (let i = 0; i < length; i++) {
    parent = await intermediate(`CN=Ladder ${i}`, await testKey("p256", 100 + i), parent);
    inters.push(parent);
  }
  return { root: r, inters, leaf: await leaf("www.example.com", await testKey("p256", 3), parent) };
}

Deno.test("verifyCertificateChain() bounds the number of intermediates", async () => {
  const three = await ladder(3);
  const chain = { leaf: three.leaf, inter: three.inters, root: [three.root] };
  await expectOk(chain, { maxDepth: 3 });
  const reason = await expectFail(chain, "chain_too_long", { maxDepth: 2 });
  assert.match(reason, /more than 2 intermediate certificates \(maxDepth\)/);
  await expectFail(
    { leaf: three.leaf, inter: three.inters.slice(2), root: [three.inters[1]!] },
    "chain_too_long",
    {
      maxDepth: 0,
    },
  );
  const nine = await ladder(9);
  await expectFail({ leaf: nine.leaf, inter: nine.inters, root: [nine.root] }, "chain_too_long");
  await expectOk({ leaf: nine.leaf, inter: nine.inters.slice(1), root: [nine.inters[0]!] });
  await assert.rejects(verify(chain, { maxDepth: -1 }), RangeError);
});

Deno.test("verifyCertificateChain() stops within its budget on a pathological pool", async () => {
  // 40 intermediates with one subject and distinct keys, each signed by every other: no root above them.
  const pki = await simplePki();
  const keys = await Promise.all(Array.from({ length: 40 }, (_, i) => testKey("p256", 200 + i)));
  const pool = await Promise.all(
    keys.map((key, i) =>
      issue({
        subject: "CN=Hydra",
        key,
        issuerName: "CN=Hydra",
        signer: keys[(i + 1) % keys.length]!,
        ca: true,
      })
    ),
  );
  const l = await leaf("www.example.com", await testKey("p256", 3), pool[0]!);
  const started = performance.now();
  const result = await verify({ leaf: l, inter: pool, root: [pki.root] }, { maxDepth: 64 });
  assert.equal(result.ok, false);
  assert.ok(
    !result.ok && ["budget_exceeded", "unknown_issuer"].includes(result.code),
    JSON.stringify(result),
  );
  assert.ok(performance.now() - started < 10_000);
});

Deno.test("verifyCertificateChain() requires issuers to be CAs and leaves not to be", async () => {
  const pki = await simplePki();
  const interKey = await testKey("p256", 2);
  for (const ca of [false, undefined]) {
    const notCa = await intermediate("CN=Test Intermediate", interKey, pki.root, { ca });
    const l = await leaf("www.example.com", await testKey("p256", 3), notCa);
    const reason = await expectFail({ leaf: l, inter: [notCa], root: [pki.root] }, "not_a_ca");
    assert.match(reason, ca === false ? /cA is false/ : /no basicConstraints/);
  }
  const caLeaf = await leaf("www.example.com", await testKey("p256", 3), pki.inter, {
    ca: true,
    keyUsage: undefined,
  });
  await expectFail({ leaf: caLeaf, inter: [pki.inter], root: [pki.root] }, "ca_used_as_leaf");
  const noBc = await leaf("www.example.com", await testKey("p256", 3), pki.inter, { ca: undefined });
  await expectOk({ leaf: noBc, inter: [pki.inter], root: [pki.root] });
});

Deno.test("verifyCertificateChain() trusts a self-signed CA certificate presented as the leaf when it is itself the anchor", async () => {
  // What `openssl req -x509` makes (CA:TRUE, self-signed), trusted directly, as Go and OpenSSL allow.
  const key = await testKey("p256", 4);
  const spec = { ca: true, keyUsage: undefined, san: [{ dns: "www.example.com" }], eku: undefined };
  const self = await root("CN=www.example.com", key, spec);
  const path = await expectOk({ leaf: self, root: [self] });
  assert.deepEqual(path, [self.der]);
  // Still checked as a leaf: its name, its validity period.
  await expectFail({ leaf: self, root: [self] }, "name_mismatch", { peerName: "other.example.com" });
  const old = await root("CN=www.example.com", key, {
    ...spec,
    notBefore: new Date(NOW.getTime() - 10 * 86400_000),
    notAfter: new Date(NOW.getTime() - 86400_000),
  });
  await expectFail({ leaf: old, root: [old] }, "expired");
  // Not the anchor byte for byte (another anchor, or none): a CA as leaf, with how to make a proper leaf.
  const other = await root("CN=Other Root", await testKey("p256", 5));
  const reason = await expectFail({ leaf: self, root: [other] }, "ca_used_as_leaf");
  assert.match(reason, /CA:FALSE/);
});

Deno.test("verifyCertificateChain() enforces pathLenConstraint, not counting self-issued intermediates", async () => {
  const r = await root("CN=Test Root", await testKey("p256", 1));
  const top = await intermediate("CN=Top CA", await testKey("p256", 2), r, { ca: 0 });
  const below = await intermediate("CN=Lower CA", await testKey("p256", 4), top);
  const l = await leaf("www.example.com", await testKey("p256", 3), below);
  const reason = await expectFail({ leaf: l, inter: [top, below], root: [r] }, "path_len_exceeded");
  assert.match(reason, /"CN=Top CA" allows 0 intermediate certificates below it/);
  const direct = await leaf("www.example.com", await testKey("p256", 3), top);
  await expectOk({ leaf: direct, inter: [top], root: [r] });
  // A root's own pathLenConstraint counts too.
  const strictRoot = await root("CN=Test Root", await testKey("p256", 1), { ca: 0 });
  await expectFail({ leaf: direct, inter: [top], root: [strictRoot] }, "path_len_exceeded");
  // Key rollover: a self-issued certificate (new key signed by the old one) does not count.
  const rolled = await issue({
    subject: "CN=Top CA",
    key: await testKey("p256", 5),
    issuer: top,
    ca: true,
    keyUsage: ["keyCertSign"],
  });
  const afterRollover = await leaf("www.example.com", await testKey("p256", 3), rolled);
  await expectOk({ leaf: afterRollover, inter: [top, rolled], root: [r] });
  // Nor towards maxDepth.
  await expectOk({ leaf: afterRollover, inter: [top, rolled], root: [r] }, { maxDepth: 1 });
});

Deno.test("verifyCertificateChain() accepts a v1 trust anchor but not a v1 intermediate", async () => {
  const v1Root = await issue({ subject: "CN=Legacy Root", key: await testKey("p256", 1), version: 1 });
  const i = await intermediate("CN=Test Intermediate", await testKey("p256", 2), v1Root);
  const l = await leaf("www.example.com", await testKey("p256", 3), i);
  await expectOk({ leaf: l, inter: [i], root: [v1Root] });
  const r = await root("CN=Test Root", await testKey("p256", 1));
  const v1Inter = await issue({
    subject: "CN=Legacy CA",
    key: await testKey("p256", 2),
    issuer: r,
    version: 1,
  });
  const under = await leaf("www.example.com", await testKey("p256", 3), v1Inter);
  await expectFail({ leaf: under, inter: [v1Inter], root: [r] }, "unsupported_version");
});

Deno.test("verifyCertificateChain() checks key usage", async () => {
  const pki = await simplePki();
  const interKey = await testKey("p256", 2);
  const noCertSign = await intermediate("CN=Test Intermediate", interKey, pki.root, {
    keyUsage: ["digitalSignature"],
  });
  const l = await leaf("www.example.com", await testKey("p256", 3), noCertSign);
  await expectFail({ leaf: l, inter: [noCertSign], root: [pki.root] }, "bad_key_usage");
  const noKu = await intermediate("CN=Test Intermediate", interKey, pki.root, { keyUsage: undefined });
  await expectOk({ leaf: l, inter: [noKu], root: [pki.root] });

  const encipherOnly = await leaf("www.example.com", await testKey("p256", 3), pki.inter, {
    keyUsage: ["keyEncipherment"],
  });
  const reason = await expectFail(
    { leaf: encipherOnly, inter: [pki.inter], root: [pki.root] },
    "bad_key_usage",
  );
  assert.match(reason, /digitalSignature/);
  const leafNoKu = await leaf("www.example.com", await testKey("p256", 3), pki.inter, {
    keyUsage: undefined,
  });
  await expectOk({ leaf: leafNoKu, inter: [pki.inter], root: [pki.root] });
  const certSignLeaf = await leaf("www.example.com", await testKey("p256", 3), pki.inter, {
    keyUsage: ["digitalSignature", "keyCertSign"],
  });
  await expectFail({ leaf: certSignLeaf, inter: [pki.inter], root: [pki.root] }, "profile_violation");
});

Deno.test("verifyCertificateChain() checks extended key usage for the purpose on every certificate", async () => {
  const pki = await simplePki();
  const leafKey = await testKey("p256", 3);
  const chain = (l: TestCert, inter = pki.inter) => ({ leaf: l, inter: [inter], root: [pki.root] });
  const clientOnly = await leaf("www.example.com", leafKey, pki.inter, { eku: ["clientAuth"] });
  await expectFail(chain(clientOnly), "bad_extended_key_usage");
  await expectOk(chain(clientOnly), { purpose: "client", peerName: undefined });
  const serverOnly = await leaf("www.example.com", leafKey, pki.inter, { eku: ["serverAuth"] });
  await expectFail(chain(serverOnly), "bad_extended_key_usage", { purpose: "client" });
  const anyOnly = await leaf("www.example.com", leafKey, pki.inter, { eku: ["any"] });
  await expectFail(chain(anyOnly), "bad_extended_key_usage");
  const noEku = await leaf("www.example.com", leafKey, pki.inter, { eku: undefined });
  await expectOk(chain(noEku));

  // An EKU on an intermediate constrains the certificates below it.
  const interKey = await testKey("p256", 2);
  const clientCa = await intermediate("CN=Test Intermediate", interKey, pki.root, { eku: ["clientAuth"] });
  const reason = await expectFail(chain(noEku, clientCa), "bad_extended_key_usage");
  assert.match(reason, /intermediate certificate "CN=Test Intermediate"/);
  const serverCa = await intermediate("CN=Test Intermediate", interKey, pki.root, {
    eku: ["serverAuth", "clientAuth"],
  });
  await expectOk(chain(noEku, serverCa));
});

Deno.test("verifyCertificateChain() applies name constraints to all certificates below", async () => {
  const r = await root("CN=Test Root", await testKey("p256", 1));
  const interKey = await testKey("p256", 2);
  const leafKey = await testKey("p256", 3);
  const caWith = (extra: Partial<CertSpec>) => intermediate("CN=Constrained CA", interKey, r, extra);
  const check = async (ca: TestCert, san: CertSpec["san"], peerName: string) => {
    const l = await leaf("x.invalid", leafKey, ca, { san });
    return verify({ leaf: l, inter: [ca], root: [r] }, { peerName });
  };

  const permitted = await caWith({ permitted: [{ dns: "example.com" }, { ip: "192.0.2.0/24" }] });
  assert.ok((await check(permitted, [{ dns: "www.example.com" }], "www.example.com")).ok);
  assert.ok((await check(permitted, [{ dns: "example.com" }], "example.com")).ok);
  assert.ok((await check(permitted, [{ ip: "192.0.2.9" }], "192.0.2.9")).ok);
  for (
    const [san, peer] of [
      [[{ dns: "www.example.org" }], "www.example.org"],
      [[{ dns: "badexample.com" }], "badexample.com"],
      [[{ dns: "www.example.com" }, { dns: "evil.test" }], "www.example.com"],
      [[{ ip: "198.51.100.1" }], "198.51.100.1"],
    ] as const
  ) {
    const result = await check(permitted, san, peer);
    assert.equal(result.ok ? "ok" : result.code, "name_constraint_violation", `${JSON.stringify(san)}`);
  }

  const excluded = await caWith({ excluded: [{ dns: "secret.example.com" }, { ip: "10.0.0.0/8" }] });
  assert.ok((await check(excluded, [{ dns: "www.example.com" }], "www.example.com")).ok);
  for (
    const [san, peer] of [
      [[{ dns: "a.secret.example.com" }], "a.secret.example.com"],
      [[{ dns: "*.example.com" }], "www.example.com"], // the wildcard could stand for secret.example.com
      [[{ ip: "10.1.2.3" }], "10.1.2.3"],
    ] as const
  ) {
    const result = await check(excluded, san, peer);
    assert.equal(result.ok ? "ok" : result.code, "name_constraint_violation", `${JSON.stringify(san)}`);
  }

  // The root's constraints reach the intermediate's own names and the leaf two levels down.
  const constrainedRoot = await root("CN=Test Root", await testKey("p256", 1), {
    permitted: [{ dns: "example.com" }],
  });
  const namedCa = await intermediate("CN=Constrained CA", interKey, constrainedRoot, {
    san: [{ dns: "ca.evil.test" }],
  });
  const l = await leaf("www.example.com", leafKey, namedCa);
  const reason = await expectFail(
    { leaf: l, inter: [namedCa], root: [constrainedRoot] },
    "name_constraint_violation",
  );
  assert.match(reason, /intermediate certificate "CN=Constrained CA".*"ca\.evil\.test"/);
  const plainCa = await intermediate("CN=Constrained CA", interKey, constrainedRoot);
  const far = await leaf("www.evil.test", leafKey, plainCa);
  await expectFail({ leaf: far, inter: [plainCa], root: [constrainedRoot] }, "name_constraint_violation", {
    peerName: "www.evil.test",
  });
  await expectOk({ leaf: l, inter: [plainCa], root: [constrainedRoot] });
});

Deno.test("verifyCertificateChain() rejects unknown critical extensions", async () => {
  const pki = await simplePki();
  const odd = { oid: "1.3.6.1.4.1.55738.666.1", value: utf8("x") };
  const leafKey = await testKey("p256", 3);
  const critical = await leaf("www.example.com", leafKey, pki.inter, {
    extensions: [{ ...odd, critical: true }],
  });
  const reason = await expectFail(
    { leaf: critical, inter: [pki.inter], root: [pki.root] },
    "unknown_critical_extension",
  );
  assert.match(reason, /1\.3\.6\.1\.4\.1\.55738\.666\.1/);
  const plain = await leaf("www.example.com", leafKey, pki.inter, { extensions: [odd] });
  await expectOk({ leaf: plain, inter: [pki.inter], root: [pki.root] });
  const criticalCa = await intermediate("CN=Test Intermediate", await testKey("p256", 2), pki.root, {
    extensions: [{ ...odd, critical: true }],
  });
  await expectFail({ leaf: pki.leaf, inter: [criticalCa], root: [pki.root] }, "unknown_critical_extension");
});

Deno.test("verifyCertificateChain() rejects malformed certificates without throwing", async () => {
  const pki = await simplePki();
  const cases: (string | Uint8Array)[] = [
    new Uint8Array(),
    new Uint8Array([0x30, 0x80, 0, 0]),
    pki.leaf.der.subarray(0, pki.leaf.der.length - 1),
    new Uint8Array([...pki.leaf.der, 0]),
    "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
    "no PEM here",
  ];
  for (const input of cases) {
    const result = await verifyCertificateChain({
      leaf: input,
      trustAnchors: [pki.root.pem],
      purpose: "server",
    });
    assert.equal(result.ok ? "ok" : result.code, "bad_encoding");
  }
  const v1 = await leaf("www.example.com", await testKey("p256", 3), pki.inter, { version: 1 });
  await expectFail({ leaf: v1, inter: [pki.inter], root: [pki.root] }, "unsupported_version");
  const dup = await leaf("www.example.com", await testKey("p256", 3), pki.inter, {
    extensions: [{
      oid: "2.5.29.37",
      value: new Uint8Array([0x30, 0x0a, 0x06, 0x08, 0x2b, 6, 1, 5, 5, 7, 3, 1]),
    }],
  });
  await expectFail({ leaf: dup, inter: [pki.inter], root: [pki.root] }, "profile_violation");
  // A malformed candidate issuer is named in the reason.
  const brokenCa = await intermediate("CN=Test Intermediate", await testKey("p256", 2), pki.root, {
    ca: undefined,
    extensions: [{ oid: "2.5.29.19", value: new Uint8Array([0x30]) }],
  });
  const reason = await expectFail({ leaf: pki.leaf, inter: [brokenCa], root: [pki.root] }, "bad_encoding");
  assert.match(reason, /intermediate certificate "CN=Test Intermediate" is malformed/);
});

Deno.test("verifyCertificateChain() checks the peer name against the subjectAltName", async () => {
  const pki = await simplePki();
  const l = await leaf("www.example.com", await testKey("p256", 3), pki.inter, {
    san: [{ dns: "*.example.com" }, { ip: "192.0.2.1" }, { ip: "2001:db8::1" }],
  });
  const chain = { leaf: l, inter: [pki.inter], root: [pki.root] };
  for (
    const peerName of ["www.example.com", "WWW.Example.COM", "www.example.com.", "192.0.2.1", "2001:DB8:0::1"]
  ) {
    await expectOk(chain, { peerName });
  }
  for (const peerName of ["example.com", "a.b.example.com", "192.0.2.2", "::1", "www.example.org"]) {
    await expectFail(chain, "name_mismatch", { peerName });
  }
  await expectOk(chain, { peerName: undefined });
  for (const peerName of ["", "*.example.com", "exa mple.com", "-bad.example.com", "1.2.3.4.5"]) {
    await expectFail(chain, "bad_peer_name", { peerName });
  }
  // The common name is never used.
  const cnOnly = await leaf("www.example.com", await testKey("p256", 3), pki.inter, { san: undefined });
  const reason = await expectFail({ leaf: cnOnly, inter: [pki.inter], root: [pki.root] }, "name_mismatch");
  assert.match(reason, /no DNS or IP subjectAltName/);
});

Deno.test("verifyCertificateChain() rejects bad option types", async () => {
  const pki = await simplePki();
  await assert.rejects(verify({ leaf: pki.leaf, root: [pki.root] }, { time: new Date(NaN) }), TypeError);
  await assert.rejects(
    verify({ leaf: pki.leaf, root: [pki.root] }, { purpose: "both" as "server" }),
    TypeError,
  );
});

Deno.test("alertForVerifyError() gives each code an alert RFC 8446 §6.2 allows for a certificate", () => {
  // Every code once; a Record, so that a new code does not compile until it is listed here.
  const codes: Record<VerifyErrorCode, true> = {
    bad_encoding: true,
    profile_violation: true,
    bad_signature: true,
    name_mismatch: true,
    unsupported_version: true,
    unknown_critical_extension: true,
    unsupported_signature_algorithm: true,
    weak_key: true,
    bad_key_usage: true,
    bad_extended_key_usage: true,
    expired: true,
    not_yet_valid: true,
    unknown_issuer: true,
    chain_too_long: true,
    ca_used_as_leaf: true,
    not_a_ca: true,
    path_len_exceeded: true,
    name_constraint_violation: true,
    budget_exceeded: true,
    bad_peer_name: true,
  };
  // RFC 8446 §6.2 (and RFC 5246 §7.2.2): the alerts that say what is wrong with the peer's certificate.
  // certificate_revoked is one of them, but nothing here checks revocation.
  const certificateAlerts = new Set<string>([
    "bad_certificate",
    "unsupported_certificate",
    "certificate_expired",
    "certificate_unknown",
    "unknown_ca",
  ]);
  for (const code of Object.keys(codes) as VerifyErrorCode[]) {
    const alert = alertForVerifyError(code);
    assert.equal(typeof AlertDescription[alert], "number", `${code}: ${alert} is not an alert`);
    // A bad peerName is the local configuration's fault, not the peer's certificate.
    if (code === "bad_peer_name") assert.equal(alert, "internal_error");
    else assert.ok(certificateAlerts.has(alert), `${code}: ${alert} is not a certificate alert`);
  }
  // The RFC's own words pick these: "has expired or is not currently valid", "the CA certificate could
  // not be located", "contained signatures that did not verify correctly".
  assert.equal(alertForVerifyError("expired"), "certificate_expired");
  assert.equal(alertForVerifyError("not_yet_valid"), "certificate_expired");
  assert.equal(alertForVerifyError("unknown_issuer"), "unknown_ca");
  assert.equal(alertForVerifyError("bad_signature"), "bad_certificate");
  assert.throws(() => alertForVerifyError("nope" as VerifyErrorCode), RangeError);
});

Deno.test("alertForVerifyError() turns real verification failures into the alert the RFC names", async () => {
  const pki = await simplePki();
  const alertFor = async (chain: Parameters<typeof verify>[0], extra: Partial<VerifyOptions> = {}) => {
    const result = await verify(chain, extra);
    assert.ok(!result.ok);
    return alertForVerifyError(result.code);
  };
  const full = { leaf: pki.leaf, inter: [pki.inter], root: [pki.root] };
  assert.equal(await alertFor(full, { time: new Date("2035-01-01T00:00:01Z") }), "certificate_expired");
  assert.equal(await alertFor(full, { time: new Date("2024-12-31T23:59:59Z") }), "certificate_expired");
  const stranger = await root("CN=Another Root", await testKey("p256", 9));
  assert.equal(await alertFor({ ...full, root: [stranger] }), "unknown_ca");
  const forged = await leaf("www.example.com", await testKey("p256", 3), pki.inter, { tamper: true });
  assert.equal(await alertFor({ ...full, leaf: forged }), "bad_certificate");
  assert.equal(await alertFor(full, { peerName: "example.org" }), "bad_certificate");
});

Deno.test("verifyCertificateChain() checks signatures with the verifySignature it is given", async (t) => {
  for (const provider of [nobleProvider, webCryptoProvider, nodeCryptoProvider]) {
    for (const kind of ["p256", "p384", "ed25519", "rsa2048"] as const) {
      await t.step(`${provider.name} ${kind}`, async () => {
        const pki = await simplePki(kind);
        let answers = 0, promises = 0;
        const verifySignature: CertificateSignatureCheck = (...args) => {
          const r = provider.verifyX509(...args);
          answers++;
          if (r instanceof Promise) promises++;
          return r;
        };
        const extra = { verifySignature };
        await expectOk({ leaf: pki.leaf, inter: [pki.inter], root: [pki.root] }, extra);
        const forged = await leaf("www.example.com", await testKey(kind, 3), pki.inter, { tamper: true });
        await expectFail({ leaf: forged, inter: [pki.inter], root: [pki.root] }, "bad_signature", extra);
        // node:crypto checks these in the calling thread: no promise; WebCrypto answers through one.
        if (provider === nodeCryptoProvider) assert.equal(promises, 0, `${promises} of ${answers} awaited`);
        if (provider === webCryptoProvider && kind !== "rsa2048") assert.equal(promises, answers);
      });
    }
  }
  // The check really is the one used: one that refuses everything fails a good chain, and it saw both links.
  const pki = await simplePki();
  const seen: Uint8Array[] = [];
  const refuse: CertificateSignatureCheck = (_alg, _key, message) => (seen.push(message), "invalid");
  await expectFail({ leaf: pki.leaf, inter: [pki.inter], root: [pki.root] }, "bad_signature", {
    verifySignature: refuse,
  });
  assert.ok(seen.length >= 1);
});

Deno.test("security: path building over 100 bogus intermediates stops at maxSignatureChecks", async () => {
  // Finding 6 of issue #15: each intermediate named like the CA cost a signature check (about 180 ms in all).
  const { anchor, leaf: l, bogus } = await imitatedCa(100);
  let checks = 0;
  const counting: CertificateSignatureCheck = (...args) => (checks++, nobleProvider.verifyX509(...args));
  const chain = { leaf: l, inter: bogus, root: [anchor] };
  const options = { purpose: "client", peerName: undefined, verifySignature: counting } as const;
  const reason = await expectFail(chain, "budget_exceeded", { ...options, maxSignatureChecks: 16 });
  assert.equal(checks, 16);
  assert.match(reason, /16 signature checks \(maxSignatureChecks\)/);
  checks = 0;
  await expectFail(chain, "budget_exceeded", options);
  assert.equal(checks, 100, "the default budget is rustls-webpki's");
  await assert.rejects(verify(chain, { maxSignatureChecks: 0 }), RangeError);
  await assert.rejects(verify(chain, { maxSignatureChecks: 10_001 }), RangeError);
});

Deno.test("security: an issuer whose key identifier matches is tried before imitators of its name", async () => {
  // Finding 6 of issue #15, (b): candidates are ordered by subject, then authorityKeyIdentifier against
  // subjectKeyIdentifier, before any signature is checked; 30 imitators listed first cost nothing.
  const pki = await simplePki("p384");
  const imitators = await Promise.all(
    Array.from(
      { length: 30 },
      async (_, i) =>
        intermediate("CN=Test Intermediate", await testKey("p384", 400 + i), pki.root, {
          signer: await testKey("p384", 400 + i),
        }),
    ),
  );
  let checks = 0;
  const counting: CertificateSignatureCheck = (...args) => (checks++, nobleProvider.verifyX509(...args));
  await expectOk({ leaf: pki.leaf, inter: [...imitators, pki.inter], root: [pki.root] }, {
    verifySignature: counting,
  });
  assert.equal(checks, 2);
});
