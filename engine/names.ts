/**
 * Human names for wire values that live in suites/ tables.
 * @module
 */

import { SIG_SCHEMES } from "../suites/sign.ts";

const SCHEME_NAMES = new Map<number, string>(Object.entries(SIG_SCHEMES).map(([k, v]) => [v, k]));

/** The name of a signature scheme, or its hex code. */
export function schemeName(id: number): string {
  return SCHEME_NAMES.get(id) ?? `0x${id.toString(16).padStart(4, "0")}`;
}
