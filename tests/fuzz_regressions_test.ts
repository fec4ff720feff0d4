/**
 * Fuzzing regressions: every finding becomes a named test here, with its input under fuzz/regressions/TARGET/
 * (replayed through the same target function the fuzzer ran), and the whole seed corpus is replayed on every
 * runtime, so the invariants of fuzz/invariant.ts are enforced by the test suite and not only by the fuzzer.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeClientShares } from "../engine/msgs/extensions.ts";
import { fuzzEngine, prepare } from "../fuzz/engine_target.ts";
import { fuzzCertificate, fuzzExtension, fuzzMessage, fuzzRecord } from "../fuzz/decoders.ts";
import { InvariantViolation, runEngineOnInput } from "../fuzz/invariant.ts";
import {
  recordScenario,
  scenarioConfig,
  type ScenarioName,
  type Transcript,
  wireBytes,
} from "../fuzz/transcript.ts";
import { handshake, makePair, writeAll } from "../testing/pair.ts";

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

Deno.test("fuzz regression: TLS 1.2 AES-GCM seals a Node Buffer at any offset (was RangeError: local.internal)", async () => {
  // Found by the tls12 fuzz scenario (the input is fuzz/regressions/server/tls12-gcm-unaligned-buffer): Jazzer.js
  // passes a Node Buffer, whose slice() is a view, and the fuzzer's peer sealed bytes cut from it with
  // Protection12. aligned() in suites/aead.ts copied an unaligned plaintext with slice(), for a Buffer another
  // view at the same offset, and noble's CTR threw on it. TLS 1.3 copies the content into the TLSInnerPlaintext
  // first; TLS 1.2 seals write()'s bytes as they are, so a write() of a Buffer view at an offset that is not a
  // multiple of 4, or of a Buffer cut into records at a record_size_limit that is not one either, ended the
  // connection with internal_error. Now the Uint8Array constructor copies.
  const tls12 = { maxVersion: "TLSv1.2", cipherSuites: ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"] } as const;
  for (const [limit, data] of [[0, Buffer.alloc(24).subarray(1)], [1001, Buffer.alloc(3000)]] as const) {
    const p = await makePair({ client: limit ? { ...tls12, recordSizeLimit: limit } : tls12 });
    await handshake(p);
    assert.equal(await writeAll(p.server, data), data.length, p.server.error?.message);
  }
});

// Inputs the fuzzers found, one named test each (fuzz/regressions/TARGET/NAME, see docs/fuzzing.md).
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

/** A recorded scenario's flights, replayed to a fresh engine in each role, end in a clean close. */
async function replaysInBothRoles(scenario: ScenarioName, t: Transcript): Promise<void> {
  for (const role of ["client", "server"] as const) {
    const peer = role === "client" ? t.server : t.client;
    const r = await runEngineOnInput(role, [wireBytes(peer)], {
      config: await scenarioConfig(scenario),
      authentic: peer.appData,
    });
    assert.equal(r.outcome, "closed", `${scenario} ${role}: ${r.error?.message}`);
    assert.ok(r.handshakeDone);
  }
}

Deno.test("fuzz scenarios: the external PSK ones replay to a clean close in both roles, with no certificate", async () => {
  for (const scenario of ["psk", "psk-ke", "psk-hrr"] as const) {
    const t = await recordScenario(scenario);
    // The (last) ServerHello carries pre_shared_key (41): the PSK was selected, and no Certificate followed.
    const sh = t.server.records.findLast((r) => r.body[0] === 2 && r.key === undefined)!.body;
    assert.ok(containsExtension(sh, 41), `${scenario}: ServerHello selects a PSK`);
    assert.ok(!t.server.records.some((r) => r.innerType === 22 && r.content?.[0] === 11), "no Certificate");
    await replaysInBothRoles(scenario, t);
  }
});

Deno.test("fuzz scenarios: the ECH ones replay to a clean close in both roles; the client hello is the outer one", async () => {
  for (const scenario of ["ech", "ech-hrr", "ech-grease"] as const) {
    const t = await recordScenario(scenario);
    // Every ClientHello on the wire names the public name (accepted) or the fixture's name (GREASE), and
    // carries encrypted_client_hello (0xfe0d).
    const hellos = t.client.records.filter((r) => r.type === 22 && r.body[0] === 1 && r.key === undefined);
    assert.ok(hellos.length >= 1);
    for (const h of hellos) {
      const text = new TextDecoder().decode(h.body);
      assert.equal(text.includes("public.fuzz"), scenario !== "ech-grease", `${scenario}: outer name`);
      assert.equal(
        text.includes("localhost"),
        scenario === "ech-grease",
        `${scenario}: no inner name in clear`,
      );
    }
    await replaysInBothRoles(scenario, t);
  }
});

/** Whether a ServerHello body (header included) carries extension `type` (a scan of its extension list). */
function containsExtension(msg: Uint8Array, type: number): boolean {
  let o = 4 + 34 + 1 + msg[4 + 34]! + 3 + 2;
  while (o + 4 <= msg.length) {
    if (((msg[o]! << 8) | msg[o + 1]!) === type) return true;
    o += 4 + ((msg[o + 2]! << 8) | msg[o + 3]!);
  }
  return false;
}

// TLS 1.3 and TLS 1.2 (whose protected records keep their real type: handshake, alert, application_data).
for (
  const [scenario, suffix] of [["basic", ""], ["tls12", " (TLS 1.2)"], [
    "rawpk-mtls",
    " (raw public keys)",
  ]] as const
) {
  Deno.test(`fuzz invariant: plaintext the peer never sealed is reported${suffix}`, async () => {
    // Replay the server's real flights to a client, but tell the checker no payload is authentic: the client
    // reads the server's data, and the checker must call that out.
    const t = await recordScenario(scenario);
    const config = await scenarioConfig(scenario);
    await assert.rejects(
      runEngineOnInput("client", [wireBytes(t.server)], { config, authentic: [] }),
      (e: unknown) => e instanceof InvariantViolation && /never sealed/.test(e.message),
    );
    const ok = await runEngineOnInput("client", [wireBytes(t.server)], {
      config: await scenarioConfig(scenario),
      authentic: t.server.appData,
    });
    assert.equal(ok.outcome, "closed");
    assert.equal(ok.received, t.server.appData.reduce((s, a) => s + a.length, 0));
  });

  Deno.test(`fuzz invariant: a flipped ciphertext byte ends in bad_record_mac with no plaintext${suffix}`, async () => {
    const t = await recordScenario(scenario);
    const wire = wireBytes(t.server);
    // Flip one byte in each protected record in turn: never plaintext, always bad_record_mac.
    let failures = 0;
    for (let i = 0, at = 0; i < t.server.records.length; i++) {
      const len = t.server.records[i]!.body.length;
      if (t.server.records[i]!.key !== undefined) {
        const bad = wire.slice();
        bad[at + 5 + (len >> 1)]! ^= 0x20;
        const r = await runEngineOnInput("client", [bad], {
          config: await scenarioConfig(scenario),
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
}
