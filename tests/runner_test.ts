// Copyright 2026 the airlock authors. MIT license.

// The Node/Bun test runner (tests/_runner/) must count exactly what ran, or a broken suite looks green.
// These tests run it on the fixtures in tests/_runner/fixtures/ and check its lines and exit code.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseDenoSummary, parseRunnerSummary } from "./_runner/all.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const FIXTURES = "tests/_runner/fixtures";
const RUNTIMES = existsSync(`${ROOT}node_modules/.bin/bun`) ? ["node", "bun"] : ["node"];

/** Run `node tests/_runner/run.mjs <runtime> <paths>` and collect its exit code and stdout. */
function runner(runtime: string, paths: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("node", ["tests/_runner/run.mjs", runtime, ...paths], {
      cwd: ROOT,
      env: { ...process.env, AIRLOCK_TEST_TIMEOUT_MS: "300" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => out += chunk);
    child.stderr.resume();
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out }));
  });
}

function lastLine(out: string): string {
  return out.trimEnd().split("\n").at(-1) ?? "";
}

Deno.test("run.mjs counts passes, failures, skips and steps, and exits 1 on failure", async (t) => {
  for (const runtime of RUNTIMES) {
    await t.step(runtime, async () => {
      const { code, out } = await runner(runtime, [
        `${FIXTURES}/fail_fixture.ts`,
        `${FIXTURES}/pass_fixture.ts`,
      ]);
      assert.equal(lastLine(out), "7 passed, 4 failed, 2 skipped", out);
      assert.equal(code, 1);
      const lines = out.split("\n");
      for (
        const expected of [
          /^FAIL fails with an assertion \(\d+ms\)$/,
          /^ {2}FAIL bad step \(\d+ms\)$/,
          /^FAIL fails in a step \(\d+ms\)$/,
          /^FAIL times out \(\d+ms\)$/,
          /^FAIL rejects outside the test \(\d+ms\)$/,
          /^ok still runs after failures \(\d+ms\)$/,
          /^ok namedFunction \(\d+ms\)$/,
          /^skip ignored by test\.ignore$/,
          /^ {4}ok inner \(\d+ms\)$/,
          /^ {2}skip ignored step$/,
          /^ok nested steps \(\d+ms\)$/,
        ]
      ) {
        assert.ok(lines.some((line) => expected.test(line)), `no line matches ${expected}:\n${out}`);
      }
      assert.match(out, /Test timed out: "times out" ran longer than 300ms/);
      assert.match(out, /stray rejection/);
      assert.doesNotMatch(out, /must not run/);
    });
  }
});

Deno.test("run.mjs exits 0 when every test passes and runs a file named twice once", async (t) => {
  for (const runtime of RUNTIMES) {
    await t.step(runtime, async () => {
      const pass = `${FIXTURES}/pass_fixture.ts`;
      const { code, out } = await runner(runtime, [pass, `./${pass}`, `${ROOT}${pass}`]);
      assert.equal(lastLine(out), "6 passed, 0 failed, 2 skipped", out);
      assert.equal(code, 0);
      assert.equal(out.split("\n").filter((line) => line.startsWith("ok plain sync")).length, 1);
    });
  }
});

Deno.test("run.mjs fails when no test ran", async (t) => {
  for (const runtime of RUNTIMES) {
    await t.step(runtime, async () => {
      const { code, out } = await runner(runtime, [`${FIXTURES}/empty_fixture.ts`]);
      assert.equal(lastLine(out), "0 passed, 0 failed", out);
      assert.equal(code, 1);
    });
  }
});

Deno.test("all.mjs parses the closing lines of deno test and of run.mjs", () => {
  assert.deepEqual(
    parseDenoSummary(
      "x\n\x1b[0m\x1b[32mok\x1b[0m | 14 passed (5 steps) | 0 failed \x1b[0m\x1b[38;5;245m(3s)\x1b[0m\n",
    ),
    { passed: 14, failed: 0, skipped: 0 },
  );
  assert.deepEqual(
    parseDenoSummary("FAILED | 13 passed | 1 failed (2 steps) | 3 ignored (2s)\n\nerror: Test failed\n"),
    { passed: 13, failed: 1, skipped: 3 },
  );
  assert.equal(parseDenoSummary("error: Type checking failed.\n"), undefined);
  assert.deepEqual(parseRunnerSummary("ok a (1ms)\n21 passed, 0 failed\n"), {
    passed: 21,
    failed: 0,
    skipped: 0,
  });
  assert.deepEqual(parseRunnerSummary("3 passed, 2 failed, 1 skipped\n"), {
    passed: 3,
    failed: 2,
    skipped: 1,
  });
  assert.equal(parseRunnerSummary("  7 passed, 1 failed and more\n"), undefined);
});

Deno.test("run.mjs finds every test file under the default roots and no file of the testing/ kit", async () => {
  const { DEFAULT_ROOTS, findTestFiles } = await import("./_runner/run.mjs");
  const found = (findTestFiles(DEFAULT_ROOTS, ROOT) as string[]).map((f) => f.slice(ROOT.length));
  for (const file of ["tests/interop/openssl_test.ts", "verify/mod_test.ts", "adapters/stream_test.ts"]) {
    assert.ok(found.includes(file), `${file} is found`);
  }
  assert.deepEqual(found.filter((f) => !/_test\.ts$/.test(f)), [], "only *_test.ts files");
  assert.deepEqual(found.filter((f) => f.startsWith("testing/")), [], "nothing from the testing/ kit");
  // The kit holds no test of its own that the roots would miss.
  const kit = (findTestFiles(["testing"], ROOT) as string[]).map((f) => f.slice(ROOT.length));
  assert.deepEqual(kit, []);
});

Deno.test("deno task demo runs in the npm-installed tree, where node_modules/.bin/deno is the npm package's binary", async () => {
  // Deno's task runner takes a bare `deno` for node_modules/.bin/deno and runs that binary as a script
  // (denoland/deno#27114): the tasks say `env deno`.
  const deno = `${ROOT}node_modules/.bin/deno`;
  if (!existsSync(deno)) return; // a Deno-only checkout: nothing in node_modules/.bin to trip over
  const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
    const child = spawn(deno, ["task", "demo"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => out += c);
    child.stderr.setEncoding("utf8").on("data", (c: string) => out += c);
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
  assert.equal(code, 0, out);
  assert.match(out, /client: sent "ping", received "PING"/);
});
