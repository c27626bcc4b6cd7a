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
  /**
   * Names noted but not hashed yet (hashed on the first lookup miss, or when the table would
   * be full). A list, not a Set: every node notes every node of the mesh once, and a Set entry
   * per name was a large part of a big mesh's kept heap; a name noted twice (dropped from the
   * topology and seen again before a lookup) is simply registered once when hashed.
   */
  #pending: string[] = [];
  #known = new Set<string>();
  #cache = new NodeHashCache(1 << 16);
  /** Called with a name refused because the table is full. */
  onFull?: (name: string) => void;

  constructor(readonly maxNames = Infinity) {}

  /** Register `name` (no-op if its hash already maps to a name) and return its hash. */
  add(name: string): bigint {
    const h = this.#cache.hash(name);
    if (!this.#byHash.has(h)) {
      if (this.#byHash.size >= this.maxNames) this.onFull?.(name);
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
    if (this.#known.has(name)) return;
    this.#pending.push(name);
    if (this.#byHash.size + this.#pending.length >= this.maxNames) this.#flush();
  }

  /** Hash and register every pending name (the limit is checked per name). */
  #flush(): void {
    const p = this.#pending;
    this.#pending = [];
    for (const name of p) this.add(name);
  }

  /** The hash of `name` without registering it. */
  hash(name: string): bigint {
    return this.#cache.hash(name);
  }
  /** The registered name for `hash`, if any. */
  lookup(hash: bigint): string | undefined {
    const n = this.#byHash.get(hash);
    if (n !== undefined || this.#pending.length === 0) return n;
    this.#flush();
    return this.#byHash.get(hash);
  }
  /** Number of registered names. */
  get size(): number {
    return this.#byHash.size + this.#pending.length;
  }
}
