// Bundle the CLI for the npm package's `airlock` bin: cli/airlock.ts → dist/airlock.mjs (ESM, Node ≥ 20), with
// the npm dependencies left as imports. Run by `npm install` (the "prepare" script) and `npm run build`.
import { build } from "esbuild";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";

await build({
  entryPoints: ["cli/airlock.ts"],
  outfile: "dist/airlock.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  logLevel: "warning",
});
// The entry's own hashbang runs Deno; the bundle runs on Node.
const out = readFileSync("dist/airlock.mjs", "utf8").replace(/^#!.*\n/, "");
writeFileSync("dist/airlock.mjs", "#!/usr/bin/env node\n" + out);
chmodSync("dist/airlock.mjs", 0o755);
