/**
 * Cross-checks verifyCertificateChain() against `openssl verify -x509_strict -purpose sslserver` on chains
 * made by testing/pki.ts: for each scenario both must accept, or both must reject. Needs the `openssl`
 * command; without it the test fails and says so.
 *
 * @module
 */

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyCertificateChain, type VerifyErrorCode } from "../verify/mod.ts";
import { intermediate, leaf, NOW, root, type TestCert, testKey } from "../testing/pki.ts";

interface Scenario {
  readonly name: string;
  readonly leaf: TestCert;
  readonly intermediates: readonly TestCert[];
  readonly roots: readonly TestCert[];
  readonly hostname: string;
  /** What both verifiers should say. */
  readonly ok: boolean;
  /** Airlock's code when it rejects. */
  readonly code?: VerifyErrorCode;
}

function opensslVersion(): string {
  const run = spawnSync("openssl", ["version"], { encoding: "utf8" });
  if (run.error || run.status !== 0) {
    throw new Error(
      `Cannot run "openssl version" (${run.error?.message ?? `exit ${run.status}`}): ` +
        "tests/openssl_verify_test.ts needs the openssl command on PATH",
    );
  }
  return run.stdout.trim();
}

async function scenarios(): Promise<Scenario[]> {
  const rootKey = await testKey("p256", 1);
  const interKey = await testKey("p256", 2);
  const leafKey = await testKey("p256", 3);
  const r = await root("CN=Interop Root", rootKey);
  const i = await intermediate("CN=Interop Intermediate", interKey, r);
  const good = await leaf("www.example.com", leafKey, i);
  const other = await root("CN=Other Root", await testKey("p256", 9));

  const expiredLeaf = await leaf("www.example.com", leafKey, i, {
    notAfter: new Date("2026-01-01T00:00:00Z"),
  });

  const notCa = await intermediate("CN=Not A CA", interKey, r, { ca: false, keyUsage: ["digitalSignature"] });
  const underNotCa = await leaf("www.example.com", leafKey, notCa);

  const lenZero = await intermediate("CN=Path Length Zero", interKey, r, { ca: 0 });
  const second = await intermediate("CN=Second Level", await testKey("p256", 4), lenZero);
  const tooDeep = await leaf("www.example.com", leafKey, second);
  const lenOne = await intermediate("CN=Path Length One", interKey, r, { ca: 1 });
  const secondOk = await intermediate("CN=Second Level", await testKey("p256", 4), lenOne);
  const deepEnough = await leaf("www.example.com", leafKey, secondOk);

  const constrained = await intermediate("CN=Constrained", interKey, r, {
    permitted: [{ dns: "example.com" }],
    excluded: [{ dns: "secret.example.com" }],
  });
  const inside = await leaf("www.example.com", leafKey, constrained);
  const outside = await leaf("www.example.org", leafKey, constrained);
  const excluded = await leaf("db.secret.example.com", leafKey, constrained);

  const ok = (name: string, l: TestCert, inter: TestCert[], hostname = "www.example.com"): Scenario => ({
    name,
    leaf: l,
    intermediates: inter,
    roots: [r],
    hostname,
    ok: true,
  });
  const bad = (
    name: string,
    code: VerifyErrorCode,
    l: TestCert,
    inter: TestCert[],
    roots = [r],
    hostname = "www.example.com",
  ): Scenario => ({ name, leaf: l, intermediates: inter, roots, hostname, ok: false, code });
  return [
    ok("good chain", good, [i]),
    bad("expired leaf", "expired", expiredLeaf, [i]),
    bad("wrong root", "unknown_issuer", good, [i], [other]),
    bad("missing intermediate", "unknown_issuer", good, []),
    bad("intermediate with CA:FALSE", "not_a_ca", underNotCa, [notCa]),
    bad("pathlen exceeded", "path_len_exceeded", tooDeep, [lenZero, second]),
    ok("pathlen respected", deepEnough, [lenOne, secondOk]),
    ok("name inside permitted subtree", inside, [constrained]),
    bad(
      "name outside permitted subtree",
      "name_constraint_violation",
      outside,
      [constrained],
      [r],
      "www.example.org",
    ),
    bad(
      "name in excluded subtree",
      "name_constraint_violation",
      excluded,
      [constrained],
      [r],
      "db.secret.example.com",
    ),
    bad("hostname mismatch", "name_mismatch", good, [i], [r], "mail.example.com"),
  ];
}

Deno.test("verifyCertificateChain() agrees with openssl verify -x509_strict", async (t) => {
  const version = opensslVersion();
  const dir = await mkdtemp(join(tmpdir(), "airlock-openssl-"));
  try {
    const attime = String(Math.floor(NOW.getTime() / 1000));
    for (const s of await scenarios()) {
      await t.step(s.name, async () => {
        const files = {
          root: join(dir, "root.pem"),
          inter: join(dir, "inter.pem"),
          leaf: join(dir, "leaf.pem"),
        };
        await writeFile(files.root, s.roots.map((c) => c.pem).join(""));
        await writeFile(files.inter, s.intermediates.map((c) => c.pem).join(""));
        await writeFile(files.leaf, s.leaf.pem);
        const args = [
          "verify",
          "-x509_strict",
          "-purpose",
          "sslserver",
          "-attime",
          attime,
          "-verify_hostname",
          s.hostname,
          "-CAfile",
          files.root,
          ...(s.intermediates.length > 0 ? ["-untrusted", files.inter] : []),
          files.leaf,
        ];
        // openssl rejects an empty -untrusted file, so an empty pool leaves the option out.
        const run = spawnSync("openssl", args, { encoding: "utf8" });
        const openssl = run.status === 0;
        const ours = await verifyCertificateChain({
          leaf: s.leaf.pem,
          intermediates: s.intermediates.map((c) => c.pem),
          trustAnchors: s.roots.map((c) => c.pem),
          purpose: "server",
          peerName: s.hostname,
          time: NOW,
        });
        const detail = `${version}: ${(run.stdout + run.stderr).trim()}\nairlock: ${
          ours.ok ? "ok" : `${ours.code}: ${ours.reason}`
        }`;
        assert.equal(openssl, s.ok, `openssl disagrees with the scenario\n${detail}`);
        assert.equal(ours.ok, openssl, `airlock and openssl disagree\n${detail}`);
        if (!ours.ok) assert.equal(ours.code, s.code, detail);
      });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
