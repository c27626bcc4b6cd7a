/**
 * The two pieces every seeded name hash of the mesh shares (src/mesh/intern.ts,
 * src/mesh/byte_index.ts): a per-process random seed, so a peer cannot choose names that
 * collide, and a murmur3-style finaliser that spreads an FNV-style running hash over all bits.
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
