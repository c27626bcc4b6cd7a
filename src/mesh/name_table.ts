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
  /** Names noted but not hashed yet (hashed on the first lookup miss). */
  #pending = new Set<string>();
  #known = new Set<string>();
  #cache = new NodeHashCache(1 << 16);
  /** Called with a name refused because the table is full. */
  onFull?: (name: string) => void;

  constructor(readonly maxNames = Infinity) {}

  /** Register `name` (no-op if its hash already maps to a name) and return its hash. */
  add(name: string): bigint {
    const h = this.#cache.hash(name);
    if (!this.#byHash.has(h)) {
      this.#pending.delete(name);
      if (this.#byHash.size + this.#pending.size >= this.maxNames) this.onFull?.(name);
      else {
        this.#byHash.set(h, name);
        this.#known.add(name);
      }
    }
    return h;
  }
  /**
   * Register `name` lazily: it is hashed only when a lookup misses. Most known nodes never
   * send us data, and hashing every name of a big mesh on every node is the larger cost.
   */
  note(name: string): void {
    if (this.#known.has(name) || this.#pending.has(name)) return;
    if (this.#byHash.size + this.#pending.size >= this.maxNames) this.onFull?.(name);
    else this.#pending.add(name);
  }

  /** The hash of `name` without registering it. */
  hash(name: string): bigint {
    return this.#cache.hash(name);
  }
  /** The registered name for `hash`, if any. */
  lookup(hash: bigint): string | undefined {
    const n = this.#byHash.get(hash);
    if (n !== undefined || this.#pending.size === 0) return n;
    for (const name of this.#pending) this.add(name);
    this.#pending.clear();
    return this.#byHash.get(hash);
  }
  /** Number of registered names. */
  get size(): number {
    return this.#byHash.size + this.#pending.size;
  }
}
