// Build the npm package into dist/: tsc compiles the entry points (mod.ts, bio/mod.ts, adapters/mod.ts,
// adapters/node.ts) and the CLI (cli/main.ts) with everything they import to ESM for Node ≥ 20, with .d.ts
// files and source maps (sources inlined), rewriting the `.ts` import specifiers to `.js`
// (tsconfig.build.json); then writes dist/airlock.mjs, the `airlock` bin, which runs dist/cli/main.js.
// Run by `npm install` in a clone (the "prepare" script, which also runs before `npm pack`) and by
// `npm run build`. A consumer installing the package runs nothing: dist/ is in the tarball.
//
// Plain JavaScript on purpose: Node 20 starts it without a loader.
import { spawnSync } from "node:child_process";
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const DIST = join(ROOT, "dist");

rmSync(DIST, { recursive: true, force: true });
const tsc = join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin", "tsc");
const built = spawnSync(process.execPath, [tsc, "-p", join(ROOT, "tsconfig.build.json")], {
  cwd: ROOT,
  stdio: "inherit",
});
if (built.status !== 0) {
  console.error(`build: tsc failed (exit ${built.status ?? built.signal})`);
  process.exit(1);
}

// tsc rewrites the relative `.ts` specifiers of the .js files only; a .d.ts keeps `./stream.ts`, which tsc
// reads as `./stream.d.ts` but other readers of the types (Deno's `npm:`, bundlers' type plugins) do not.
for (const entry of readdirSync(DIST, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith(".d.ts")) continue;
  const file = join(entry.parentPath ?? entry.path, entry.name);
  const text = readFileSync(file, "utf8");
  const fixed = text.replace(/((?:from |import\()")(\.\.?\/[^"]*)\.ts"/g, '$1$2.js"');
  if (fixed !== text) writeFileSync(file, fixed);
}

// The bin: the CLI's entry (cli/airlock.ts) has a Deno hashbang; this one runs the compiled CLI on Node.
const bin = join(DIST, "airlock.mjs");
writeFileSync(
  bin,
  [
    "#!/usr/bin/env node",
    "// The airlock command line (cli/airlock.ts), for Node: see `airlock --help`.",
    'import process from "node:process";',
    'import { main } from "./cli/main.js";',
    "",
    "process.exitCode = await main(process.argv.slice(2));",
    "",
  ].join("\n"),
);
chmodSync(bin, 0o755);
