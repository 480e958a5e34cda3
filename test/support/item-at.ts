/**
 * `list[index]`, asserted to be there: with `noUncheckedIndexedAccess` an index may be undefined,
 * and a test should say so with an assertion, not crash on it or cast it away.
 */

import assert from "node:assert/strict";

export function itemAt<T>(list: ArrayLike<T>, index: number): T {
  const item = list[index];
  assert.ok(item !== undefined, `expected an item at index ${index}, but there are ${list.length}`);
  return item;
}
