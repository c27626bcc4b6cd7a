/**
 * The seeded name hash of the mesh, shared by src/mesh/intern.ts, src/mesh/byte_index.ts and
 * the routing-update scanner (which computes it while reading a name, so a name is hashed once
 * per message): a per-process random seed, so a peer cannot choose names that collide, an
 * FNV-style running hash, and a murmur3-style finaliser that spreads it over all bits.
 * @module
 */

/** Random per process (`crypto.getRandomValues` at load): the start value of every name hash. */
export const HASH_SEED: number = crypto.getRandomValues(new Uint32Array(1))[0] | 0;

/** Finish running hash `h` of a name of `len` characters or bytes (murmur3's fmix32 with the length). */
export function finishHash(h: number, len: number): number {
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** The last name hashed or given a known hash (see {@link rememberNameHash}) and its hash. */
let memoName = "", memoHash = finishHash(HASH_SEED, 0);

/**
 * The seeded hash of `s` by its UTF-16 code units. A name just read from a message (whose hash
 * the decoder computed while scanning it) is not hashed again: the router looks the same
 * NodeID up two or three times per update (the memo comparison is a pointer comparison then).
 */
export function hashName(s: string): number {
  if (s === memoName) return memoHash;
  let h = HASH_SEED;
  for (let k = 0; k < s.length; k++) h = Math.imul(h ^ s.charCodeAt(k), 0x01000193);
  memoName = s;
  return memoHash = finishHash(h, s.length);
}

/** Tell {@link hashName} that `s` hashes to `h` (its bytes' {@link hashAscii}, computed already). */
export function rememberNameHash(s: string, h: number): void {
  memoName = s;
  memoHash = h;
}

/** The seeded hash of the bytes `b[start, end)` (equal to {@link hashName} for ASCII). */
export function hashAscii(b: Uint8Array, start: number, end: number): number {
  let h = HASH_SEED;
  for (let k = start; k < end; k++) h = Math.imul(h ^ b[k], 0x01000193);
  return finishHash(h, end - start);
}
