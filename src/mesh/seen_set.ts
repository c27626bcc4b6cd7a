/**
 * Memory of routing-update IDs already processed (wire.md §5.4 step 3, §5.6): an ID is kept for
 * one hour; a sweep every half hour forgets older ones. At most `maxEntries` are kept: the
 * oldest is forgotten first (harmless: a normal update seen again is still dropped by its
 * (epoch, sequence)).
 * @module
 */

/** Update-ID dedupe set with time-based expiry and a size bound. */
export class SeenSet {
  #seen = new Map<string, number>();
  /** `expireMs` = how long an ID is remembered; `maxEntries` = most IDs kept. */
  constructor(readonly expireMs = 3_600_000, readonly maxEntries = Infinity) {}
  /** Record `id` at `now`; returns false if it was already there. */
  add(id: string, now: number): boolean {
    if (this.#seen.has(id)) return false;
    if (this.#seen.size >= this.maxEntries) {
      for (const old of this.#seen.keys()) {
        this.#seen.delete(old);
        break;
      }
      this.onEvict?.();
    }
    this.#seen.set(id, now);
    return true;
  }
  /** True if `id` is remembered. */
  has(id: string): boolean {
    return this.#seen.has(id);
  }
  /** Called when an ID is forgotten early because the set is full. */
  onEvict?: () => void;
  /** Forget IDs recorded more than `expireMs` before `now`. */
  sweep(now: number): void {
    for (const [id, t] of this.#seen) {
      if (now - t <= this.expireMs) break; // insertion order is time order
      this.#seen.delete(id);
    }
  }
  /** Number of remembered IDs. */
  get size(): number {
    return this.#seen.size;
  }
}
