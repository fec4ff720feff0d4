/**
 * Plain-text tables with footnotes, for the bench's output.
 * @module
 */

/** A table cell: a figure, or text ("n/a [2]"). */
export type Cell = number | string | undefined;

/** Footnotes shared by all tables of a run: the same text gets the same number. */
export class Notes {
  readonly #texts: string[] = [];

  /** The marker for `text`, e.g. "[3]". */
  ref(text: string): string {
    let i = this.#texts.indexOf(text);
    if (i < 0) i = this.#texts.push(text) - 1;
    return `[${i + 1}]`;
  }

  /** All footnotes, numbered. */
  get all(): readonly string[] {
    return this.#texts.map((t, i) => `[${i + 1}] ${t}`);
  }
}

/** A figure with about three significant digits (1234, 123, 12.3, 1.23, 0.123). */
export function figure(x: number): string {
  if (!Number.isFinite(x)) return "n/a";
  const a = Math.abs(x);
  if (a >= 100 || a === 0) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(2);
}

/** A ratio a / b, or "" when either is missing. */
export function ratio(a: Cell, b: Cell): string {
  return typeof a === "number" && typeof b === "number" && b > 0 ? figure(a / b) : "";
}

/** Print a table: the first column left-aligned, the others right-aligned. */
export function printTable(
  title: string,
  header: readonly string[],
  rows: readonly (readonly Cell[])[],
): void {
  const text = rows.map((r) => r.map((c) => (typeof c === "number" ? figure(c) : c ?? "")));
  const widths = header.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
  console.log(`\n${title}`);
  console.log(line(header));
  for (const r of text) console.log(line(r));
}
