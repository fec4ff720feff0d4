/**
 * Fuzzing regressions: every finding becomes a named test here, with its input under fuzz/regressions/TARGET/
 * (replayed through the same target function the fuzzer ran), and the whole seed corpus is replayed on every
 * runtime, so the invariants of fuzz/invariant.ts are enforced by the test suite and not only by the fuzzer.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeClientShares } from "../engine/msgs/extensions.ts";
import { fuzzEngine, prepare } from "../fuzz/engine_target.ts";
import { fuzzCertificate, fuzzExtension, fuzzMessage, fuzzRecord } from "../fuzz/decoders.ts";
import { InvariantViolation, runEngineOnInput } from "../fuzz/invariant.ts";
import { recordScenario, scenarioConfig, wireBytes } from "../fuzz/transcript.ts";

const fuzzDir = join(dirname(fileURLToPath(import.meta.url)), "..", "fuzz");

const TARGETS: Record<string, (data: Uint8Array) => unknown> = {
  client: (d) => fuzzEngine("client", d),
  server: (d) => fuzzEngine("server", d),
  record: fuzzRecord,
  message: fuzzMessage,
  extension: fuzzExtension,
  certificate: fuzzCertificate,
};

function inputs(dir: string): [string, string, Uint8Array][] {
  const out: [string, string, Uint8Array][] = [];
  if (!existsSync(dir)) return out;
  for (const target of readdirSync(dir).sort()) {
    if (!TARGETS[target]) continue;
    for (const name of readdirSync(join(dir, target)).sort()) {
      out.push([target, name, new Uint8Array(readFileSync(join(dir, target, name)))]);
    }
  }
  return out;
}

// ---- findings -----------------------------------------------------------------------------------------------

Deno.test("fuzz regression: key_share with 13 106 entries decodes in linear time (was O(n²): 0.4-0.8 s)", () => {
  // Found while taking stock of the limits: one 64 KiB ClientHello cost the server up to 0.8 s of CPU in the
  // duplicate-group check of decodeClientShares (engine/msgs/extensions.ts). Now a Set.
  const n = 13106;
  const body = new Uint8Array(2 + n * 5);
  body[0] = (n * 5) >> 8;
  body[1] = (n * 5) & 0xff;
  for (let i = 0; i < n; i++) body.set([i >> 8, i & 0xff, 0, 1, 7], 2 + i * 5);
  const start = performance.now();
  assert.equal(decodeClientShares(body, "key_share").length, n);
  const ms = performance.now() - start;
  assert.ok(ms < 200, `decodeClientShares took ${ms.toFixed(0)} ms`);
});

// Inputs the fuzzers found, one named test each (fuzz/regressions/TARGET/NAME, see the README).
for (const [target, name, data] of inputs(join(fuzzDir, "regressions"))) {
  Deno.test(`fuzz regression: ${target}/${name}`, async () => {
    await prepare();
    await TARGETS[target]!(data);
  });
}

// ---- the seed corpus, and the checker itself ------------------------------------------------------------------

Deno.test("fuzz corpus: every seed input holds the invariants", async () => {
  await prepare();
  const all = inputs(join(fuzzDir, "corpus"));
  assert.ok(all.length > 50, `only ${all.length} seed inputs`);
  for (const [target, name, data] of all) {
    try {
      await TARGETS[target]!(data);
    } catch (e) {
      throw new Error(`${target}/${name}: ${e instanceof Error ? e.message : e}`, { cause: e });
    }
  }
});

Deno.test("fuzz invariant: plaintext the peer never sealed is reported", async () => {
  // Replay the server's real flights to a client, but tell the checker no payload is authentic: the client
  // reads the server's data, and the checker must call that out.
  const t = await recordScenario("basic");
  const config = await scenarioConfig("basic");
  await assert.rejects(
    runEngineOnInput("client", [wireBytes(t.server)], { config, authentic: [] }),
    (e: unknown) => e instanceof InvariantViolation && /never sealed/.test(e.message),
  );
  const ok = await runEngineOnInput("client", [wireBytes(t.server)], {
    config: await scenarioConfig("basic"),
    authentic: t.server.appData,
  });
  assert.equal(ok.outcome, "closed");
  assert.equal(ok.received, t.server.appData.reduce((s, a) => s + a.length, 0));
});

Deno.test("fuzz invariant: a flipped ciphertext byte ends in bad_record_mac with no plaintext", async () => {
  const t = await recordScenario("basic");
  const wire = wireBytes(t.server);
  // Flip one byte in each protected record in turn: never plaintext, always bad_record_mac.
  let failures = 0;
  for (let i = 0, at = 0; at < wire.length; i++) {
    const len = (wire[at + 3]! << 8) | wire[at + 4]!;
    if (wire[at] === 23) {
      const bad = wire.slice();
      bad[at + 5 + (len >> 1)]! ^= 0x20;
      const r = await runEngineOnInput("client", [bad], {
        config: await scenarioConfig("basic"),
        authentic: t.server.appData,
      });
      assert.equal(r.error?.code, "decrypt", `record ${i}: ${r.error?.message}`);
      assert.equal(r.error?.alert, "bad_record_mac");
      failures++;
    }
    at += 5 + len;
  }
  assert.ok(failures >= 4);
});
