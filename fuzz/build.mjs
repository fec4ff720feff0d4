// Copyright 2026 the airlock authors. MIT license.

// Bundle each fuzz target, fuzz/targets/NAME.fuzz.ts → fuzz/dist/NAME.fuzz.mjs (ESM for Node 20, top-level await
// allowed, npm packages left as imports so that Jazzer.js instruments airlock's code only).
//
//   node fuzz/build.mjs
import { build } from "esbuild";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** The target names, from fuzz/targets/*.fuzz.ts. */
export function targetNames() {
  return readdirSync(join(here, "targets")).filter((f) => f.endsWith(".fuzz.ts")).map((f) => f.slice(0, -8))
    .sort();
}

/** Bundle every target; returns the output paths by name. */
export async function buildTargets() {
  const out = {};
  for (const name of targetNames()) {
    const outfile = join(here, "dist", `${name}.fuzz.mjs`);
    await build({
      entryPoints: [join(here, "targets", `${name}.fuzz.ts`)],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      packages: "external",
      sourcemap: "inline",
      logLevel: "warning",
    });
    out[name] = outfile;
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const built = await buildTargets();
  console.log(`built ${Object.keys(built).length} fuzz targets into fuzz/dist/`);
}
