/**
 * The node-name hash table (wire.md §7.2–7.3): hash → name for decoding data headers, name →
 * hash (memoised) for encoding them. The first name registered for a hash wins.
 * @module
 */

import { NodeHashCache } from "./highwayhash.ts";

/** Bidirectional node-name ↔ HighwayHash-64 table. */
export class NameTable {
  #byHash = new Map<bigint, string>();
  #cache = new NodeHashCache(1 << 16);

  /** Register `name` (no-op if its hash already maps to a name) and return its hash. */
  add(name: string): bigint {
    const h = this.#cache.hash(name);
    if (!this.#byHash.has(h)) this.#byHash.set(h, name);
    return h;
  }
  /** The hash of `name` without registering it. */
  hash(name: string): bigint {
    return this.#cache.hash(name);
  }
  /** The registered name for `hash`, if any. */
  lookup(hash: bigint): string | undefined {
    return this.#byHash.get(hash);
  }
}
