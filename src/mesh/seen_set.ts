/**
 * Memory of routing-update IDs already processed (wire.md §5.4 step 3, §5.6): an ID is kept for
 * one hour; a sweep every half hour forgets older ones. At most `maxEntries` are kept: the
 * oldest is forgotten first (harmless: a normal update seen again is still dropped by its
 * (epoch, sequence)).
 * @module
 */

const ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** Digit (1–62) of each alphanumeric character code; 0 for any other. */
const DIGIT = new Uint8Array(128);
for (let i = 0; i < ALNUM.length; i++) DIGIT[ALNUM.charCodeAt(i)] = i + 1;

/**
 * The key an UpdateID is remembered by: a number for 1–8 alphanumerics (what Go and we send:
 * read from a message's bytes without making a string, hashed without one), else the string.
 * Base 63 with digits 1–62 keeps lengths apart; 63^8 < 2^53.
 */
export function seenKey(id: string): string | number {
  if (id.length === 0 || id.length > 8) return id;
  let v = 0;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    const d = c < 128 ? DIGIT[c] : 0;
    if (d === 0) return id;
    v = v * 63 + d;
  }
  return v;
}

/** {@link seenKey} of the UpdateID in `b[start, end)` (ASCII bytes), or undefined if it is a string key. */
export function seenKeyOfBytes(b: Uint8Array, start: number, end: number): number | undefined {
  if (end - start > 8 || end <= start) return undefined;
  let v = 0;
  for (let i = start; i < end; i++) {
    const c = b[i];
    const d = c < 128 ? DIGIT[c] : 0;
    if (d === 0) return undefined;
    v = v * 63 + d;
  }
  return v;
}

/** Update-ID dedupe set with time-based expiry and a size bound. */
export class SeenSet {
  #seen = new Map<string | number, number>();
  /** `expireMs` = how long an ID is remembered; `maxEntries` = most IDs kept. */
  constructor(readonly expireMs = 3_600_000, readonly maxEntries = Infinity) {}
  /** Record `id` at `now`; returns false if it was already there. */
  add(id: string, now: number): boolean {
    const key = seenKey(id);
    if (this.#seen.has(key)) return false;
    if (this.#seen.size >= this.maxEntries) {
      for (const old of this.#seen.keys()) {
        this.#seen.delete(old);
        break;
      }
      this.onEvict?.();
    }
    this.#seen.set(key, now);
    return true;
  }
  /** True if `id` is remembered. */
  has(id: string): boolean {
    return this.#seen.has(seenKey(id));
  }
  /** True if the ID with this {@link seenKey} is remembered. */
  hasKey(key: string | number): boolean {
    return this.#seen.has(key);
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
