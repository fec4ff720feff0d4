/**
 * A small, strict flag parser for the CLI, with openssl-style names (`--connect`, `--tls1.3`): flags are
 * declared with their kind, unknown flags and missing values are errors, repeatable flags collect.
 * @module
 */

/** How a flag takes its value. */
export type FlagKind = "string" | "boolean" | "list";

/** A flag declaration: kind, and a line of help. */
export interface FlagSpec {
  readonly kind: FlagKind;
  readonly help: string;
}

/** Parsed flags and positional arguments. */
export interface Parsed {
  readonly strings: ReadonlyMap<string, string>;
  readonly lists: ReadonlyMap<string, readonly string[]>;
  readonly booleans: ReadonlySet<string>;
  readonly positional: readonly string[];
}

/** A usage error: the CLI prints it on one line and exits 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Parse `argv` against `specs`. `--flag value` and `--flag=value` are both accepted. */
export function parseFlags(argv: readonly string[], specs: Readonly<Record<string, FlagSpec>>): Parsed {
  const strings = new Map<string, string>();
  const lists = new Map<string, string[]>();
  const booleans = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--") || arg === "--") {
      if (arg === "--") positional.push(...argv.slice(i + 1));
      else positional.push(arg);
      if (arg === "--") break;
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = specs[name];
    if (!spec) throw new UsageError(`unknown flag --${name}`);
    if (spec.kind === "boolean") {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      booleans.add(name);
      continue;
    }
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("--")) throw new UsageError(`--${name} needs a value`);
      value = next;
      i++;
    }
    if (spec.kind === "list") lists.set(name, [...(lists.get(name) ?? []), value]);
    else {
      if (strings.has(name)) throw new UsageError(`--${name} given twice`);
      strings.set(name, value);
    }
  }
  return { strings, lists, booleans, positional };
}

/** The help text for a set of flags. */
export function flagHelp(specs: Readonly<Record<string, FlagSpec>>): string {
  const width = Math.max(...Object.keys(specs).map((k) => k.length)) + 4;
  return Object.entries(specs)
    .map(([k, s]) => `  --${k}${s.kind === "boolean" ? "" : " X"}`.padEnd(width + 6) + s.help)
    .join("\n");
}

/** Split a comma- or colon-separated list. */
export function splitList(value: string): string[] {
  return value.split(/[,:]/).map((s) => s.trim()).filter((s) => s.length > 0);
}
