// Copyright 2026 the airlock authors. MIT license.

// Runs the project's Deno.test files on Node or Bun:
//
//   node tests/_runner/run.mjs node|bun [file-or-directory...]
//
// Without paths it runs every test file under tests/, bio/, engine/, suites/, verify/, adapters/ and cli/ (skipping node_modules and
// tests/_runner). The files run in one child process, `node --import tsx entry.ts <files>` or
// `bun entry.ts <files>`, which prints one line per test and closes with `N passed, N failed`. The exit code is
// the child's: non-zero when a test failed or none ran.
//
// Environment: AIRLOCK_TEST_TIMEOUT_MS (per test, default 120000) is read by entry.ts;
// AIRLOCK_RUN_TIMEOUT_MS (the whole run, default 1800000) kills a child that hangs anyway.
//
// Plain JavaScript on purpose: Node 20 starts it without a loader.

import { spawn } from "node:child_process";
import { existsSync, readdirSync, realpathSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, "..", "..");
export const DEFAULT_ROOTS = ["tests", "bio", "engine", "suites", "verify", "adapters", "cli"];
const RUNNER_DIR = join(ROOT, "tests", "_runner");
const SKIP_DIRS = new Set(["node_modules", ".git"]);
// The names `deno test` picks up in a directory: *_test.ts, *.test.ts, test.ts and the JS/TSX variants.
const TEST_FILE = /(?:^|[._])test\.(?:ts|tsx|mts|js|jsx|mjs)$/;

/** The default roots that exist, relative to the repository root. */
export function defaultRoots() {
  return DEFAULT_ROOTS.filter((dir) => existsSync(join(ROOT, dir)));
}

function walk(dir, out) {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name < b.name ? -1 : 1);
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (SKIP_DIRS.has(entry.name) || entry.name.startsWith(".") || resolve(path) === RUNNER_DIR) continue;
      walk(path, out);
    } else if (entry.isFile() && TEST_FILE.test(entry.name)) {
      out.push(path);
    }
  }
}

/**
 * Expand files and directories (relative to `base`) into a sorted, de-duplicated list of absolute test
 * file paths. A file named explicitly is kept even if its name does not look like a test.
 */
export function findTestFiles(paths, base = process.cwd()) {
  const seen = new Set();
  const files = [];
  for (const p of paths) {
    const abs = resolve(base, p);
    if (!existsSync(abs)) throw new Error(`Cannot find tests in "${p}": no such file or directory`);
    const found = [];
    if (statSync(abs).isDirectory()) walk(abs, found);
    else found.push(abs);
    for (const file of found) {
      const real = realpathSync(file);
      if (seen.has(real)) continue; // A file is never run twice, however it was named.
      seen.add(real);
      files.push(real);
    }
  }
  return files;
}

function command(runtime, entry, files) {
  if (runtime === "node") {
    return { bin: process.execPath, args: ["--import", "tsx", entry, ...files] };
  }
  if (runtime === "bun") {
    const bin = join(ROOT, "node_modules", ".bin", process.platform === "win32" ? "bun.exe" : "bun");
    if (!existsSync(bin)) throw new Error(`Cannot run tests on bun: ${bin} is missing (run npm ci)`);
    return { bin, args: [entry, ...files] };
  }
  throw new Error(`Cannot run tests on "${runtime}": expected node or bun`);
}

function parseTimeout(name, fallback) {
  const value = process.env[name];
  if (value === undefined || value === "") return fallback;
  const ms = Number(value);
  if (!Number.isSafeInteger(ms) || ms < 1) {
    throw new Error(`Cannot use ${name} "${value}": expected a positive integer`);
  }
  return ms;
}

async function main(argv) {
  const [runtime, ...paths] = argv;
  if (runtime !== "node" && runtime !== "bun") {
    console.error("usage: node tests/_runner/run.mjs node|bun [file-or-directory...]");
    return 2;
  }
  const files = paths.length > 0 ? findTestFiles(paths) : findTestFiles(defaultRoots(), ROOT);
  if (files.length === 0) {
    console.log("FAIL no test files found");
    console.log("0 passed, 0 failed");
    return 1;
  }
  const { bin, args } = command(runtime, join(RUNNER_DIR, "entry.ts"), files);
  console.log(`# ${runtime}: ${files.length} test file(s): ${files.map((f) => relative(ROOT, f)).join(" ")}`);
  const runTimeout = parseTimeout("AIRLOCK_RUN_TIMEOUT_MS", 30 * 60_000);
  const child = spawn(bin, args, { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
  const forward = (signal) => child.kill(signal);
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);
  const watchdog = setTimeout(() => {
    console.log(`FAIL the ${runtime} run took longer than ${runTimeout}ms: killing it`);
    child.kill("SIGKILL");
  }, runTimeout);
  const code = await new Promise((done) => {
    child.on("error", (error) => {
      console.log(`FAIL cannot start ${bin}: ${error.message}`);
      done(1);
    });
    child.on("exit", (status, signal) => done(signal ? 1 : status ?? 1));
  });
  clearTimeout(watchdog);
  return code;
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
