/**
 * Minimal assertions for tests (JSR's @std/assert is unreachable from our machines).
 * @module
 */
import { hex } from "./data.ts";

/** Thrown by failed assertions. */
export class AssertionError extends Error {
  override name = "AssertionError";
}

/** Assert that `cond` is truthy. */
export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new AssertionError(msg);
}

function fmt(v: unknown): string {
  try {
    return Deno.inspect(v, { depth: 8, iterableLimit: 50, strAbbreviateSize: 400 });
  } catch {
    return String(v);
  }
}

/** Deep structural equality (arrays, typed arrays, plain objects, Maps, Sets, BigInt, Dates). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    if (x.length !== y.length || a.constructor !== b.constructor) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !deepEqual(v, b.get(k))) return false;
    return true;
  }
  if (a instanceof Set && b instanceof Set) {
    if (a.size !== b.size) return false;
    for (const v of a) if (!b.has(v)) return false;
    return true;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object), kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) {
      return false;
    }
  }
  return true;
}

/** Assert deep equality. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  if (!deepEqual(actual, expected)) {
    throw new AssertionError(
      `${msg ? msg + ": " : ""}values differ\n  actual:   ${fmt(actual)}\n  expected: ${
        fmt(expected)
      }`,
    );
  }
}

/** Assert deep inequality. */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  if (deepEqual(actual, expected)) {
    throw new AssertionError(`${msg ? msg + ": " : ""}values are equal: ${fmt(actual)}`);
  }
}

/** Assert `text` contains `part`. */
export function assertStringIncludes(text: string, part: string, msg?: string): void {
  if (!text.includes(part)) {
    throw new AssertionError(
      `${msg ? msg + ": " : ""}expected ${fmt(text)} to include ${fmt(part)}`,
    );
  }
}

/** Assert `text` matches `re`. */
export function assertMatch(text: string, re: RegExp, msg?: string): void {
  if (!re.test(text)) {
    throw new AssertionError(`${msg ? msg + ": " : ""}expected ${fmt(text)} to match ${re}`);
  }
}

/** Assert `fn` throws (optionally an error whose message includes `includes`). Returns it. */
export function assertThrows(fn: () => unknown, includes?: string): Error {
  try {
    fn();
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    if (includes !== undefined && !err.message.includes(includes)) {
      throw new AssertionError(`error ${fmt(err.message)} does not include ${fmt(includes)}`);
    }
    return err;
  }
  throw new AssertionError("expected function to throw");
}

/** Assert the promise from `fn` rejects (optionally with a message including `includes`). */
export async function assertRejects(
  fn: () => Promise<unknown>,
  includes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    if (includes !== undefined && !err.message.includes(includes)) {
      throw new AssertionError(`error ${fmt(err.message)} does not include ${fmt(includes)}`);
    }
    return err;
  }
  throw new AssertionError("expected promise to reject");
}

/** Asserts two byte arrays are equal; on a mismatch names the lengths and the first difference. */
export function assertBytesEqual(actual: Uint8Array, expected: Uint8Array, msg?: string): void {
  const n = Math.min(actual.length, expected.length);
  let i = 0;
  while (i < n && actual[i] === expected[i]) i++;
  if (i === n && actual.length === expected.length) return;
  throw new AssertionError(
    `${msg ? msg + ": " : ""}bytes differ at offset ${i} ` +
      `(got ${actual.length} bytes, want ${expected.length})`,
  );
}

/** Asserts `actual` (bytes, or hex) equals the hex `expectedHex` (whitespace in it ignored). */
export function assertHexEquals(
  actual: Uint8Array | string,
  expectedHex: string,
  msg?: string,
): void {
  assertEquals(
    typeof actual === "string" ? actual : hex(actual),
    expectedHex.replace(/\s+/g, ""),
    msg,
  );
}
