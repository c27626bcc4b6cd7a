/**
 * Memory of routing-update IDs already processed (wire.md §5.4 step 3, §5.6): an ID is kept for
 * one hour; a sweep every half hour forgets older ones.
 * @module
 */

/** Update-ID dedupe set with time-based expiry. */
export class SeenSet {
  #seen = new Map<string, number>();
  /** `expireMs` = how long an ID is remembered. */
  constructor(readonly expireMs = 3_600_000) {}
  /** Record `id` at `now`; returns false if it was already there. */
  add(id: string, now: number): boolean {
    if (this.#seen.has(id)) return false;
    this.#seen.set(id, now);
    return true;
  }
  /** Forget IDs recorded more than `expireMs` before `now`. */
  sweep(now: number): void {
    for (const [id, t] of this.#seen) if (now - t > this.expireMs) this.#seen.delete(id);
  }
  /** Number of remembered IDs. */
  get size(): number {
    return this.#seen.size;
  }
}
