/**
 * The JSR package as `deno publish` would make it: the JSDoc of every entry point passes `deno doc --lint`
 * (every exported symbol documented, no private type in a public signature), and `deno publish --dry-run`
 * succeeds (slow types, the files it would publish). docs/api.md, the API reference, is what `npm run docs`
 * (scripts/api_docs.mjs) writes from that JSDoc, so a JSDoc change without it fails here.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DENO = existsSync(join(ROOT, "node_modules", ".bin", "deno"))
  ? join(ROOT, "node_modules", ".bin", "deno")
  : "deno";
const ENTRY_POINTS: string[] = Object.values(
  JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")).exports,
);

function deno(args: string[]): { code: number | null; out: string } {
  const r = spawnSync(DENO, args, {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 300_000,
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

Deno.test("package: deno doc --lint finds nothing on the exported entry points", () => {
  assert.deepEqual(ENTRY_POINTS.sort(), [
    "./adapters/mod.ts",
    "./adapters/node.ts",
    "./bio/mod.ts",
    "./mod.ts",
  ]);
  const r = deno(["doc", "--lint", ...ENTRY_POINTS]);
  assert.equal(r.code, 0, r.out);
  assert.doesNotMatch(r.out, /error\[/, r.out);
});

Deno.test("package: deno publish --dry-run succeeds and publishes no tests, fuzz corpus or benchmarks", () => {
  const r = deno(["publish", "--dry-run", "--allow-dirty"]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /Dry run complete/);
  const files = r.out.split("\n").filter((l) => /^\s+file:\/\//.test(l));
  assert.ok(files.length > 20, r.out);
  assert.ok(files.some((l) => /\/mod\.ts \(/.test(l)), r.out);
  assert.deepEqual(files.filter((l) => /_test\.ts|\/fuzz\/|\/bench\/|\/tests\//.test(l)), []);
});

Deno.test("package: docs/api.md is what scripts/api_docs.mjs writes from the JSDoc (npm run docs)", () => {
  const r = spawnSync("node", ["scripts/api_docs.mjs", "--check"], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, NO_COLOR: "1" },
  });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}${r.error ?? ""}`);
});
