// Copyright 2026 the airlock authors. MIT license.

/**
 * The import graph of the product code (issue #17): no cycles between files, and no import from a lower
 * layer to a higher one. Layers, bottom first:
 *
 *   0  bio/, suites/der.ts   byte queues and the DER reader: depend on nothing of ours
 *   1  suites/               the crypto provider, keys and signatures (reads keys and certificates with der.ts)
 *   2  verify/               certificate paths and names; checks signatures with suites/, so it sits above it
 *   3  engine/               the TLS state machines; verifies peers with verify/
 *   4  mod.ts                the public barrel
 *   5  adapters/             runtime glue over the public API
 *   6  cli/ bench/ examples/ fuzz/ (and testing/, tests/ as targets)   tools that use everything below
 *
 * verify/ is above suites/ and not the other way round because a certificate check needs a signature check,
 * while a key loader only needs to read DER. Inside engine/ the sub-folders import each other freely, as
 * long as no file cycle forms: the TLS 1.2 and TLS 1.3 state files are leaves under their hello.ts.
 *
 * Imports are read with a regular expression (static `import`/`export … from`, `import type`, and bare
 * `import "…"`), from node:fs and node:path only, so the test runs on Deno, Node and Bun.
 * @module
 */

import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const PRODUCT = [
  "bio",
  "suites",
  "verify",
  "engine",
  "mod.ts",
  "adapters",
  "cli",
  "bench",
  "examples",
  "fuzz",
];

/** A file's layer (see the module doc), from its path relative to the root with `/` separators. */
export function layerOf(path: string): number {
  if (path === "suites/der.ts" || path.startsWith("bio/")) return 0;
  if (path.startsWith("suites/")) return 1;
  if (path.startsWith("verify/")) return 2;
  if (path.startsWith("engine/")) return 3;
  if (path === "mod.ts") return 4;
  if (path.startsWith("adapters/")) return 5;
  return 6;
}

/** The relative specifiers a module imports or re-exports statically, `import type` included. */
export function relativeImports(source: string): string[] {
  const found: string[] = [];
  const from = /^[ \t]*(?:import|export)\b[^;'"`]*?\bfrom\s*(["'])(\.[^"']*)\1/gm;
  const bare = /^[ \t]*import\s*(["'])(\.[^"']*)\1/gm;
  for (const re of [from, bare]) {
    for (const m of source.matchAll(re)) found.push(m[2]!);
  }
  return found;
}

/** Every product .ts file that is not a test, relative to the root with `/` separators. */
function productFiles(): string[] {
  const out: string[] = [];
  const walk = (path: string) => {
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path).sort()) {
        if (name !== "node_modules" && !name.startsWith(".")) walk(join(path, name));
      }
    } else if (path.endsWith(".ts") && !/[._]test\.ts$/.test(path)) {
      out.push(relative(ROOT, path).split(sep).join("/"));
    }
  };
  for (const p of PRODUCT) walk(join(ROOT, p));
  return out;
}

/** file → the files it imports, all relative to the root. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of productFiles()) {
    const source = readFileSync(join(ROOT, file), "utf8");
    const targets = relativeImports(source).map((spec) =>
      relative(ROOT, resolve(ROOT, dirname(file), spec)).split(sep).join("/")
    );
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** The cycles a depth-first walk meets, each as a path that starts and ends at the same file. */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const done = new Set<string>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const visit = (node: string) => {
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (onStack.has(next)) cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!done.has(next) && graph.has(next)) visit(next);
    }
    stack.pop();
    onStack.delete(node);
    done.add(node);
  };
  for (const node of [...graph.keys()].sort()) if (!done.has(node)) visit(node);
  return cycles;
}

Deno.test("relativeImports() reads static imports, re-exports and import type, across lines", () => {
  const source = [
    'import { a } from "./a.ts";',
    'import type { B } from "../b.ts";',
    "import {",
    "  c,",
    "  type D,",
    '} from "./c.ts";',
    'export { e } from "./e.ts";',
    'export * from "./f.ts";',
    'import "./g.ts";',
    'import x from "node:fs";',
    ' * import { doc } from "./example_in_a_doc_comment.ts";',
    'const h = Array.from("./h.ts");',
  ].join("\n");
  assert.deepEqual(relativeImports(source), ["./a.ts", "../b.ts", "./c.ts", "./e.ts", "./f.ts", "./g.ts"]);
});

Deno.test("findCycles() reports the path of a cycle and none in a tree", () => {
  const tree = new Map([["a", ["b", "c"]], ["b", ["c"]], ["c", []]]);
  assert.deepEqual(findCycles(tree), []);
  const cyclic = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]]]);
  assert.deepEqual(findCycles(cyclic), [["a", "b", "c", "a"]]);
});

Deno.test("the product code has no import cycle", () => {
  const graph = importGraph();
  assert.ok(graph.size > 50, `Cannot check the import graph: only ${graph.size} files found`);
  const cycles = findCycles(graph);
  assert.deepEqual(cycles.map((c) => c.join(" → ")), [], "Import cycles found");
});

Deno.test("no file imports from a higher layer", () => {
  const wrong: string[] = [];
  for (const [file, targets] of importGraph()) {
    for (const target of targets) {
      if (layerOf(target) > layerOf(file)) {
        wrong.push(`${file} (layer ${layerOf(file)}) → ${target} (layer ${layerOf(target)})`);
      }
    }
  }
  assert.deepEqual(wrong, [], "Imports from a lower layer to a higher one");
});
