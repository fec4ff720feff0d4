// Copyright 2026 the airlock authors. MIT license.

// Runs the whole test suite on Deno, then Node, then Bun with the default crypto provider (node:crypto), then
// the tests a provider reaches again on each runtime with the WebCrypto provider and with the noble one (less
// the interop tests against real peers, which the default's pass runs; tests about byte-for-byte
// reproducibility name noble themselves), then the npm package's consumers (tests/consumers/run.mjs), and then
// tlsfuzzer against the CLI server (tests/tlsfuzzer/run.mjs): `npm test`, `deno task test`, or
//
//   node tests/_runner/all.mjs [file-or-directory...]
//
// Each run gets a header (`== deno/noble ==`), its own output, and a timing line. It stops at the first run
// that fails, and closes with one line summing the runs: `N passed, N failed` (`, N skipped` when tests were
// ignored). Deno's first count includes the JSDoc examples (`deno test --doc`). Exits non-zero when
// anything failed or no test ran. AIRLOCK_PROVIDERS=noble (or webcrypto, or node, or a comma-separated list) runs those
// only, the first of them with the whole suite.
//
// Plain JavaScript on purpose: Node 20 starts it without a loader.

import { spawn } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { join, relative, sep } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { defaultRoots, findTestFiles, ROOT } from "./run.mjs";
import { ensureNode26 } from "./node26.mjs";

/**
 * Test files no crypto provider reaches (codecs, BIOs, path validation with its explicit checks, primitives,
 * the CLI's own processes, the runner): the passes after the first leave them out. `suites/provider_test.ts`
 * and `verify/mod_test.ts` compare the providers explicitly, in the first pass.
 */
const PROVIDER_FREE = [
  "bio/",
  "cli/",
  "engine/msgs/",
  "suites/",
  "verify/",
  "tests/runner_test.ts",
  "tests/openssl_verify_test.ts",
  "tests/openssl_semantics_test.ts", // names nobleProvider itself: OpenSSL's semantics do not depend on one
  "tests/package_test.ts", // deno doc and deno publish on the sources
  "tests/examples_test.ts", // runs the examples as processes of their own, on their own providers
  "tests/fleet_test.ts", // its own processes (redis-server, the example's servers); the engine's part is in async_store_test
];

/**
 * Test files the passes after the first leave out although a provider reaches them: the interop tests against
 * real peers (OpenSSL, GnuTLS, NSS, tlslite-ng, Node 26), about a minute per pass. The first pass runs them on
 * the default provider on every runtime; each provider's own primitives meet known answers and every other
 * provider in `suites/provider_test.ts`, and whole handshakes in the in-memory tests every pass runs. This
 * keeps CI within its 30 minutes (issue #20: the full matrix on the default provider, a smaller set across the
 * others).
 */
const FIRST_PASS_ONLY = ["tests/interop/"];

const matches = (f) => (skip) => skip.endsWith("/") ? f.startsWith(skip) : f === skip;

/** The default test files, less those no provider reaches and the interop tests (`FIRST_PASS_ONLY`). */
export function providerTargets() {
  return findTestFiles(defaultRoots(), ROOT)
    .map((f) => relative(ROOT, f).split(sep).join("/"))
    .filter((f) => !PROVIDER_FREE.some(matches(f)) && !FIRST_PASS_ONLY.some(matches(f)));
}

// deno test output is coloured even when piped if the user asked for it; strip escapes before parsing.
// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * Parse `deno test`'s closing line, e.g. `ok | 14 passed (5 steps) | 0 failed | 2 ignored (3s)`.
 * Returns `{ passed, failed, skipped }` or `undefined` when the output has no such line.
 */
export function parseDenoSummary(output) {
  const lines = output.replace(ANSI, "").split(/\r?\n/);
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i].trim();
    if (!/^(?:ok|FAILED) \|/.test(line)) continue;
    const count = (word) => Number(line.match(new RegExp(`(\\d+) ${word}`))?.[1] ?? 0);
    return { passed: count("passed"), failed: count("failed"), skipped: count("ignored") };
  }
  return undefined;
}

/** Parse run.mjs's closing line, `N passed, N failed` with an optional `, N skipped`. */
export function parseRunnerSummary(output) {
  const lines = output.replace(ANSI, "").split(/\r?\n/);
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = lines[i].trim().match(/^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$/);
    if (m) return { passed: Number(m[1]), failed: Number(m[2]), skipped: Number(m[3] ?? 0) };
  }
  return undefined;
}

/** Run a command with its output passed through, keeping the last 64 KiB of stdout to parse. */
function runTee(bin, args, env) {
  return new Promise((done) => {
    const child = spawn(bin, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "inherit"] });
    let tail = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk).slice(-65536);
    });
    const forward = (signal) => child.kill(signal);
    process.on("SIGINT", forward);
    process.on("SIGTERM", forward);
    child.on("error", (error) => {
      console.log(`FAIL cannot start ${bin}: ${error.message}`);
      done({ code: 1, output: tail });
    });
    child.on("close", (status, signal) => {
      process.off("SIGINT", forward);
      process.off("SIGTERM", forward);
      done({ code: signal ? 1 : status ?? 1, output: tail });
    });
  });
}

/** The files Node 26 runs besides its interop role (see main). */
const NODE26_FILES = ["suites/provider_test.ts", "suites/kx_test.ts", "tests/hybrid_test.ts"];

async function main(paths) {
  const targets = paths.length > 0 ? paths : defaultRoots();
  const deno = join(ROOT, "node_modules", ".bin", process.platform === "win32" ? "deno.exe" : "deno");
  const runner = join(ROOT, "tests", "_runner", "run.mjs");
  const preload = join(ROOT, "tests", "_runner", "provider.ts");
  const base = [
    {
      name: "deno",
      bin: existsSync(deno) ? deno : "deno",
      // The first pass type-checks every file (and the JSDoc examples); the later ones run a subset of the
      // same files, so they skip the check (about 90 s a pass).
      args: (first, files) => [
        "test",
        "-A",
        ...(first ? ["--doc"] : ["--no-check"]),
        "--preload",
        preload,
        ...files,
      ],
      parse: parseDenoSummary,
    },
    {
      name: "node",
      bin: process.execPath,
      args: (_doc, files) => [runner, "node", ...files],
      parse: parseRunnerSummary,
    },
    {
      name: "bun",
      bin: process.execPath,
      args: (_doc, files) => [runner, "bun", ...files],
      parse: parseRunnerSummary,
    },
  ];
  // Every runtime with each crypto provider, the default (node:crypto) first with the whole suite: the tests
  // that are not about reproducibility run on each.
  const providers = (process.env.AIRLOCK_PROVIDERS ?? "node,webcrypto,noble").split(",");
  const runtimes = providers.flatMap((provider, i) =>
    base.map((r) => ({
      name: `${r.name}/${provider}`,
      bin: r.bin,
      // The JSDoc examples, and the files no provider reaches, need one pass only.
      args: r.args(i === 0, i === 0 || paths.length > 0 ? targets : providerTargets()),
      // AIRLOCK_PASS says whether this is the whole suite or a cross-provider pass (tests that run longer in
      // CI run long once).
      env: { ...process.env, AIRLOCK_PROVIDER: provider, AIRLOCK_PASS: i === 0 ? "whole" : "cross" },
      parse: r.parse,
    }))
  );
  // Node 26 (OpenSSL 3.5) for the X25519MLKEM768 interop tests, fetched from npm once (node26.mjs).
  if (paths.length === 0 || paths.some((p) => p.includes("interop"))) {
    const node26 = ensureNode26();
    console.log(
      node26.error ? `Node 26 for tests/interop/pq_test.ts: ${node26.error}` : `Node 26: ${node26.path}`,
    );
    process.env.AIRLOCK_NODE26 = node26.path;
    // And as a runtime for the files about the providers' native paths that Node 20 lacks (node:crypto's
    // and WebCrypto's ML-KEM-768, Node 24.7 and later).
    if (!node26.error && paths.length === 0) {
      runtimes.push({
        name: "node26/node",
        bin: node26.path,
        args: [runner, "node", ...NODE26_FILES.map((f) => join(ROOT, f))],
        env: { ...process.env, AIRLOCK_PROVIDER: "node" },
        parse: parseRunnerSummary,
      });
    }
  }
  const total = { passed: 0, failed: 0, skipped: 0 };
  const timings = [];
  let code = 0;
  for (const runtime of runtimes) {
    console.log(`\n== ${runtime.name} ==`);
    const start = performance.now();
    const result = await runTee(runtime.bin, runtime.args, runtime.env);
    const seconds = ((performance.now() - start) / 1000).toFixed(1);
    timings.push(`${runtime.name} ${seconds}s`);
    const summary = runtime.parse(result.output);
    if (summary) {
      total.passed += summary.passed;
      total.failed += summary.failed;
      total.skipped += summary.skipped;
    }
    console.log(`== ${runtime.name}: exit ${result.code} in ${seconds}s ==`);
    if (result.code !== 0 || !summary || summary.failed > 0) {
      if (!summary) {
        console.log(`FAIL ${runtime.name}: no summary line in its output`);
        total.failed++;
      } else if (summary.failed === 0) {
        console.log(`FAIL ${runtime.name}: exited with ${result.code}`);
        total.failed++;
      }
      code = 1;
      console.log(`Stopping after ${runtime.name} failed.`);
      break;
    }
  }
  // With the whole suite, once every runtime passed, the process-level phases, each a script closing with
  // run.mjs's summary line (each case or script counts as one test); AIRLOCK_<NAME>=skip leaves one out:
  // - consumers (tests/consumers/run.mjs): the packed npm package installed in a fresh folder and used from
  //   Node, tsc, Bun, Deno (as JSR would publish it) and Chromium;
  // - tlsfuzzer against the CLI server (tests/tlsfuzzer/run.mjs). It says so and counts nothing when
  //   tlsfuzzer or python3-ecdsa is absent (AIRLOCK_TLSFUZZER=required, as CI sets, makes that a failure).
  for (const phase of ["consumers", "tlsfuzzer"]) {
    if (code !== 0 || paths.length > 0 || process.env[`AIRLOCK_${phase.toUpperCase()}`] === "skip") continue;
    console.log(`\n== ${phase} ==`);
    const start = performance.now();
    const result = await runTee(process.execPath, [join(ROOT, "tests", phase, "run.mjs")], process.env);
    const seconds = ((performance.now() - start) / 1000).toFixed(1);
    timings.push(`${phase} ${seconds}s`);
    const summary = parseRunnerSummary(result.output);
    if (summary) {
      total.passed += summary.passed;
      total.failed += summary.failed;
      total.skipped += summary.skipped;
    }
    console.log(`== ${phase}: exit ${result.code} in ${seconds}s ==`);
    if (result.code !== 0 || !summary) {
      if (!summary || summary.failed === 0) total.failed++;
      code = 1;
    }
  }
  if (total.passed + total.failed === 0) {
    console.log("FAIL no test ran");
    code = 1;
  }
  console.log(`\n== total (${timings.join(", ")}) ==`);
  const skipped = total.skipped > 0 ? `, ${total.skipped} skipped` : "";
  console.log(`${total.passed} passed, ${total.failed} failed${skipped}`);
  return code;
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      console.error(error instanceof Error ? error.stack : error);
      process.exit(1);
    },
  );
}
