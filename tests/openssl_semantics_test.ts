/**
 * OpenSSL's semantics, exactly (issue #16): every script in `tests/openssl_oracle/scripts/` runs on OpenSSL
 * (libssl, through `tests/openssl_oracle/oracle.c`, built here with the system compiler) and on airlock, and
 * each step must give the same return value and the same `SSL_get_error` / `getError` reason, unless the
 * script says why airlock differs on purpose. Both roles, over BIO pairs of the given capacities.
 *
 * Needs a C compiler and libssl's headers (Debian: gcc, libc6-dev, libssl-dev; `.ci/run` installs them) and
 * the openssl program (for the test certificate). It fails, saying what to install, when they are missing.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { comparable, parseOracleOutput, parseScript, runOnAirlock } from "./openssl_oracle/script.ts";
import { requireOpenssl } from "../testing/peers.ts";

const HERE = join(dirname(fileURLToPath(import.meta.url)), "openssl_oracle");
const SCRIPTS = join(HERE, "scripts");

/** Build the oracle once per process; its path and the test certificate's. */
function buildOracle(): { oracle: string; cert: string; key: string } {
  requireOpenssl();
  const dir = mkdtempSync(join(tmpdir(), "airlock-oracle-"));
  const oracle = join(dir, "oracle");
  const cc = spawnSync("cc", ["-O1", "-o", oracle, join(HERE, "oracle.c"), "-lssl", "-lcrypto"], {
    encoding: "utf8",
    timeout: 60_000,
  });
  if (cc.error || cc.status !== 0) {
    throw new Error(
      `Cannot build the OpenSSL oracle (${cc.error?.message ?? cc.stderr.trim()}). ` +
        "Install a C compiler and libssl's headers (e.g. apt-get install gcc libc6-dev libssl-dev)",
    );
  }
  const cert = join(dir, "cert.pem"), key = join(dir, "key.pem");
  const req = spawnSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-subj",
    "/CN=localhost",
    "-days",
    "30",
  ], { encoding: "utf8", timeout: 30_000 });
  if (req.status !== 0) throw new Error(`Cannot make the test certificate: ${req.stderr}`);
  return { oracle, cert, key };
}

let built: ReturnType<typeof buildOracle> | undefined;

/** Run a script on both, and compare. */
async function compare(file: string): Promise<void> {
  built ??= buildOracle();
  const text = readFileSync(join(SCRIPTS, file), "utf8");
  const { steps, oracleInput } = parseScript(text);
  const run = spawnSync(built.oracle, [built.cert, built.key], {
    input: oracleInput,
    encoding: "utf8",
    timeout: 30_000,
  });
  if (run.status !== 0) throw new Error(`The oracle failed on ${file}: ${run.stderr}`);
  const openssl = parseOracleOutput(run.stdout);
  const airlock = await runOnAirlock(
    steps,
    readFileSync(built.cert, "utf8"),
    readFileSync(built.key, "utf8"),
  );
  const diffs: string[] = [];
  for (const step of steps) {
    if (/^(move|drop|inject)\b/.test(step.command)) continue; // byte counts differ between stacks
    const theirs = openssl.get(step.line);
    const ours = airlock.get(step.line);
    assert.ok(theirs !== undefined, `${file}:${step.line}: the oracle gave no result for "${step.command}"`);
    const expected = step.deliberate ? step.deliberate.result : comparable(theirs);
    if (comparable(ours ?? "") !== expected) {
      diffs.push(
        `${file}:${step.line} ${step.command}: OpenSSL ${theirs}, airlock ${ours}` +
          (step.deliberate ? ` (expected ${expected}: ${step.deliberate.reason})` : ""),
      );
    }
  }
  assert.deepEqual(diffs, [], `airlock differs from OpenSSL:\n${diffs.join("\n")}`);
}

Deno.test("openssl semantics: every oracle script gives OpenSSL's results on airlock", async (t) => {
  const files = readdirSync(SCRIPTS).filter((f) => f.endsWith(".txt")).sort();
  assert.ok(files.length > 0, "no scripts");
  for (const file of files) await t.step(file, () => compare(file));
});
