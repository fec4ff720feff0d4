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

const DENO_JSON = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8"));
const PACKAGE_JSON = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));

Deno.test("package: deno.json's import map names each npm dependency at package.json's range, and nothing else", () => {
  const expected = Object.fromEntries(
    Object.entries(PACKAGE_JSON.dependencies as Record<string, string>).map(([name, range]) => [
      name,
      `npm:${name}@${range}`,
    ]),
  );
  assert.deepEqual(DENO_JSON.imports, expected);
});

Deno.test("package: every bare import of the published sources is in deno.json's import map", () => {
  const r = deno(["publish", "--dry-run", "--allow-dirty"]);
  assert.equal(r.code, 0, r.out);
  const files = [...r.out.matchAll(/^\s+file:\/\/(\S+\.ts) \(/gm)].map((m) => m[1]!);
  assert.ok(files.length > 20, r.out);
  const bare = new Set<string>();
  for (const file of files) {
    // Imports and re-exports, outside JSDoc examples (whose `@airlock/tls` is the package itself).
    const code = readFileSync(file, "utf8").replace(/\/\*\*[\s\S]*?\*\//g, "");
    for (const m of code.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"([^".][^"]*)"/gm)) {
      const spec = m[1]!;
      if (spec.startsWith("node:")) continue;
      bare.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!);
    }
  }
  assert.ok(bare.has("@noble/curves"), [...bare].join(", "));
  assert.deepEqual([...bare].filter((name) => !(name in DENO_JSON.imports)), []);
});

Deno.test("package: the npm package exports the JSR package's entry points, built, with their types", () => {
  const subpaths = Object.keys(DENO_JSON.exports).sort();
  assert.deepEqual(Object.keys(PACKAGE_JSON.exports).filter((k) => k !== "./package.json").sort(), subpaths);
  for (const subpath of subpaths) {
    const source: string = DENO_JSON.exports[subpath].replace(/^\.\//, "").replace(/\.ts$/, "");
    assert.deepEqual(PACKAGE_JSON.exports[subpath], {
      types: `./dist/${source}.d.ts`,
      default: `./dist/${source}.js`,
    });
  }
  assert.equal(PACKAGE_JSON.private, undefined, "an npm package must not be private");
  assert.equal(PACKAGE_JSON.version, DENO_JSON.version);
  assert.equal(PACKAGE_JSON.bin.airlock, "dist/airlock.mjs");
  // Nothing runs at a consumer's install: only "prepare" (a clone's or `npm pack`'s build).
  const lifecycle = ["preinstall", "install", "postinstall"].filter((s) => s in PACKAGE_JSON.scripts);
  assert.deepEqual(lifecycle, []);
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
