/**
 * The node-name hash table (wire.md §7.2–7.3): hash → name for decoding data headers, name →
 * hash (memoised) for encoding them. The first name registered for a hash wins. At most
 * `maxNames` names are registered; further ones are refused (reported through `onFull`).
 * @module
 */

import { NodeHashCache } from "./highwayhash.ts";

/** Bidirectional node-name ↔ HighwayHash-64 table. */
export class NameTable {
  #byHash = new Map<bigint, string>();
  #cache = new NodeHashCache(1 << 16);
  /** Called with a name refused because the table is full. */
  onFull?: (name: string) => void;

  constructor(readonly maxNames = Infinity) {}

  /** Register `name` (no-op if its hash already maps to a name) and return its hash. */
  add(name: string): bigint {
    const h = this.#cache.hash(name);
    if (!this.#byHash.has(h)) {
      if (this.#byHash.size >= this.maxNames) this.onFull?.(name);
      else this.#byHash.set(h, name);
    }
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
  /** Number of registered names. */
  get size(): number {
    return this.#byHash.size;
  }
}
