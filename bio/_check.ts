// Copyright 2026 the airlock authors. MIT license.
// This module is browser compatible.

/**
 * Check that `value` is an integer in `[min, Number.MAX_SAFE_INTEGER]` and return it.
 *
 * @param value The value to check.
 * @param name The argument name used in the error message.
 * @param min The smallest allowed value.
 * @returns `value`, narrowed to a number.
 */
export function checkCount(value: unknown, name: string, min: number): number {
  if (typeof value !== "number") {
    throw new TypeError(`Cannot use "${name}": expected a number, got ${typeof value}`);
  }
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`Cannot use "${name}" of ${value}: expected an integer of at least ${min}`);
  }
  return value;
}
