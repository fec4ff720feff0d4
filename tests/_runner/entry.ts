// Copyright 2026 the airlock authors. MIT license.

/**
 * Runs `Deno.test` files on Node (through tsx) and Bun. Started by `run.mjs` as
 * `node --import tsx entry.ts <file>...` or `bun entry.ts <file>...`.
 *
 * It installs a minimal `globalThis.Deno` with `test` (plus `test.ignore` and `test.only`), imports each file
 * in order, and runs the tests that file registered, one at a time, each under a timeout
 * (`AIRLOCK_TEST_TIMEOUT_MS`, default 120 s). `t.step` is supported, nested and awaited. It prints one line
 * per test, then `N passed, N failed` (`, N skipped` when tests were ignored), and exits: 1 when a test
 * failed or none ran.
 *
 * @module
 */

import { relative } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";

type TestFn = (t: TestContext) => void | Promise<void>;

interface TestOptions {
  name?: string;
  fn?: TestFn;
  ignore?: boolean;
  only?: boolean;
  [other: string]: unknown;
}

interface TestDefinition {
  name: string;
  fn: TestFn;
  ignore: boolean;
  only: boolean;
  file: string;
}

interface TestContext {
  readonly name: string;
  readonly origin: string;
  readonly parent: TestContext | undefined;
  step(
    nameOrOptions: string | TestOptions | TestFn,
    fn?: TestFn | TestOptions,
  ): Promise<boolean>;
}

const DEFAULT_TIMEOUT_MS = 120_000;

const timeoutMs = parseTimeout(process.env.AIRLOCK_TEST_TIMEOUT_MS);
let currentFile = "";
let registered: TestDefinition[] = [];

/** Errors raised outside any awaited promise (a stray rejection or a throw in a timer) during a test. */
let strayErrors: unknown[] = [];

function parseTimeout(value: string | undefined): number {
  if (value === undefined || value === "") return DEFAULT_TIMEOUT_MS;
  const ms = Number(value);
  if (!Number.isSafeInteger(ms) || ms < 1) {
    throw new RangeError(`Cannot use AIRLOCK_TEST_TIMEOUT_MS "${value}": expected a positive integer`);
  }
  return ms;
}

/** Normalize the `Deno.test` overloads into one definition, as Deno does. */
function define(args: unknown[], extra: { ignore?: boolean; only?: boolean }): TestDefinition {
  const [a, b, c] = args;
  let options: TestOptions;
  if (typeof a === "string") {
    if (typeof b === "function") options = { name: a, fn: b as TestFn };
    else if (typeof b === "object" && b !== null && typeof c === "function") {
      options = { ...(b as TestOptions), name: a, fn: c as TestFn };
    } else throw new TypeError(`Cannot register test "${a}": missing test function`);
  } else if (typeof a === "function") {
    options = { name: a.name, fn: a as TestFn };
  } else if (typeof a === "object" && a !== null) {
    options = { ...(a as TestOptions) };
    if (typeof b === "function") {
      options.fn = b as TestFn;
      options.name ??= b.name;
    }
  } else {
    throw new TypeError("Cannot register test: unknown Deno.test overload");
  }
  if (typeof options.fn !== "function") {
    throw new TypeError(`Cannot register test "${options.name}": missing test function`);
  }
  if (!options.name) throw new TypeError("Cannot register test: the name is empty");
  return {
    name: options.name,
    fn: options.fn,
    ignore: extra.ignore ?? options.ignore === true,
    only: extra.only ?? options.only === true,
    file: currentFile,
  };
}

function test(...args: unknown[]): void {
  registered.push(define(args, {}));
}
test.ignore = (...args: unknown[]): void => {
  registered.push(define(args, { ignore: true }));
};
test.only = (...args: unknown[]): void => {
  registered.push(define(args, { only: true }));
};

Object.defineProperty(globalThis, "Deno", { value: { test }, configurable: true, writable: true });

process.on("unhandledRejection", (reason) => {
  strayErrors.push(reason);
});
process.on("uncaughtException", (error) => {
  strayErrors.push(error);
});

/** Stack frames from this file are noise in a test's failure report. */
const OWN_FRAME = `${fileURLToPath(import.meta.url)}:`;

function formatError(error: unknown): string {
  if (error instanceof Error) {
    const stack = error.stack ?? `${error.name}: ${error.message}`;
    const text = stack.split("\n").filter((line) => !line.includes(OWN_FRAME)).join("\n");
    return error.cause === undefined ? text : `${text}\nCaused by: ${formatError(error.cause)}`;
  }
  return `Thrown value: ${String(error)}`;
}

function indent(text: string, prefix: string): string {
  return text.split("\n").map((line) => prefix + line).join("\n");
}

function elapsed(start: number): string {
  return `${Math.round(performance.now() - start)}ms`;
}

/** Run `fn` and resolve to its error, or `undefined`; give up after `ms`. */
async function runWithTimeout(fn: () => unknown, ms: number, what: string): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<{ error: unknown }>((resolve) => {
    timer = setTimeout(
      () => resolve({ error: new Error(`Test timed out: ${what} ran longer than ${ms}ms`) }),
      ms,
    );
  });
  try {
    const outcome = await Promise.race([
      (async () => {
        await fn();
        return { error: undefined };
      })().catch((error: unknown) => ({ error })),
      timeout,
    ]);
    return outcome.error;
  } finally {
    clearTimeout(timer);
  }
}

/** A context whose steps run nested and report under `depth`; `failures` counts failed steps. */
function makeContext(
  name: string,
  origin: string,
  parent: TestContext | undefined,
  depth: number,
  state: { failures: number; running: number },
): TestContext {
  const ctx: TestContext = {
    name,
    origin,
    parent,
    async step(nameOrOptions, maybeFn): Promise<boolean> {
      const def = defineStep(nameOrOptions, maybeFn);
      const pad = "  ".repeat(depth + 1);
      if (def.ignore) {
        console.log(`${pad}skip ${def.name}`);
        return false;
      }
      const inner = { failures: 0, running: 0 };
      const child = makeContext(def.name, origin, ctx, depth + 1, inner);
      const start = performance.now();
      state.running++;
      let error: unknown;
      try {
        await def.fn(child);
      } catch (e) {
        error = e;
      } finally {
        state.running--;
      }
      if (error === undefined && inner.failures > 0) {
        error = new Error(`${inner.failures} nested step(s) failed`);
      }
      if (error === undefined) {
        console.log(`${pad}ok ${def.name} (${elapsed(start)})`);
        return true;
      }
      state.failures++;
      console.log(`${pad}FAIL ${def.name} (${elapsed(start)})`);
      console.log(indent(formatError(error), `${pad}  `));
      return false;
    },
  };
  return ctx;
}

function defineStep(
  nameOrOptions: string | TestOptions | TestFn,
  maybeFn: TestFn | TestOptions | undefined,
): { name: string; fn: TestFn; ignore: boolean } {
  let options: TestOptions;
  if (typeof nameOrOptions === "string") {
    options = typeof maybeFn === "function"
      ? { name: nameOrOptions, fn: maybeFn }
      : { ...maybeFn, name: nameOrOptions };
  } else if (typeof nameOrOptions === "function") {
    options = { name: nameOrOptions.name, fn: nameOrOptions };
  } else {
    options = { ...nameOrOptions };
    if (typeof maybeFn === "function") options.fn = maybeFn;
  }
  if (typeof options.fn !== "function" || !options.name) {
    throw new TypeError(`Cannot run step "${options.name}": expected a name and a function`);
  }
  return { name: options.name, fn: options.fn, ignore: options.ignore === true };
}

interface Totals {
  passed: number;
  failed: number;
  skipped: number;
}

async function runTest(def: TestDefinition, totals: Totals): Promise<void> {
  if (def.ignore) {
    totals.skipped++;
    console.log(`skip ${def.name}`);
    return;
  }
  strayErrors = [];
  const state = { failures: 0, running: 0 };
  const ctx = makeContext(def.name, pathToFileURL(def.file).href, undefined, 0, state);
  const start = performance.now();
  let error = await runWithTimeout(() => def.fn(ctx), timeoutMs, `"${def.name}"`);
  // Let stray rejections from this test surface before judging it.
  await new Promise((resolve) => setTimeout(resolve, 0));
  if (error === undefined && state.failures > 0) error = new Error(`${state.failures} step(s) failed`);
  if (error === undefined && state.running > 0) {
    error = new Error(`${state.running} step(s) were still running when the test ended: await t.step()`);
  }
  if (error === undefined && strayErrors.length > 0) error = strayErrors[0];
  if (error === undefined) {
    totals.passed++;
    console.log(`ok ${def.name} (${elapsed(start)})`);
  } else {
    totals.failed++;
    console.log(`FAIL ${def.name} (${elapsed(start)})`);
    console.log(indent(formatError(error), "  "));
    for (const extra of strayErrors.slice(error === strayErrors[0] ? 1 : 0)) {
      console.log(indent(`Also raised outside the test: ${formatError(extra)}`, "  "));
    }
  }
}

async function main(files: string[]): Promise<number> {
  const totals: Totals = { passed: 0, failed: 0, skipped: 0 };
  const definitions: TestDefinition[] = [];
  // AIRLOCK_PROVIDER picks the default crypto provider before any test file loads (as deno's --preload does).
  await import("./provider.ts");
  for (const file of files) {
    currentFile = file;
    registered = [];
    try {
      await import(pathToFileURL(file).href);
    } catch (error) {
      totals.failed++;
      console.log(`FAIL import ${file}`);
      console.log(indent(formatError(error), "  "));
      continue;
    }
    definitions.push(...registered);
  }
  const onlyUsed = definitions.some((d) => d.only);
  let lastFile = "";
  for (const def of definitions) {
    if (onlyUsed && !def.only) continue;
    if (def.file !== lastFile) {
      console.log(`# ${relative(process.cwd(), def.file) || def.file}`);
      lastFile = def.file;
    }
    await runTest(def, totals);
  }
  if (onlyUsed) {
    totals.failed++;
    console.log(`FAIL "only" was used: the other tests did not run`);
  }
  if (totals.passed + totals.failed === 0) console.log("FAIL no test ran");
  const skipped = totals.skipped > 0 ? `, ${totals.skipped} skipped` : "";
  console.log(`${totals.passed} passed, ${totals.failed} failed${skipped}`);
  return totals.failed > 0 || totals.passed + totals.failed === 0 ? 1 : 0;
}

const files = process.argv.slice(2);
let code = 1;
try {
  code = await main(files);
} catch (error) {
  console.log(formatError(error));
}
// Flush stdout before exiting explicitly: a test may have left timers or sockets open.
process.stdout.write("", () => process.exit(code));
