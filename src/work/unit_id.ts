/**
 * Work unit IDs: 8 characters from `[0-9a-zA-Z]`, drawn with the crypto RNG (control.md §4.1).
 * Every ID that arrives from outside is checked with {@link isValidUnitId} before it is used
 * to build a path, so `../x` or `a/b` can never reach the file system.
 * @module
 */

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** Length of unit IDs this node generates. */
export const UNIT_ID_LENGTH = 8;

/** Longest unit ID accepted from requests or found on disk. */
export const MAX_UNIT_ID_LENGTH = 64;

/** Draw a fresh random unit ID (unbiased rejection sampling over 62 symbols). */
export function newUnitId(): string {
  let out = "";
  const buf = new Uint8Array(16);
  while (out.length < UNIT_ID_LENGTH) {
    crypto.getRandomValues(buf);
    for (const b of buf) {
      if (b >= 248) continue; // 248 = 4 * 62; keeps the draw uniform
      out += ALPHABET[b % 62];
      if (out.length === UNIT_ID_LENGTH) break;
    }
  }
  return out;
}

/** True if `id` is a non-empty alphanumeric string of at most 64 characters (safe as a path part). */
export function isValidUnitId(id: unknown): id is string {
  return typeof id === "string" && id.length > 0 && id.length <= MAX_UNIT_ID_LENGTH &&
    /^[0-9A-Za-z]+$/.test(id);
}
