/**
 * Memory of routing-update IDs already processed (wire.md §5.4 step 3, §5.6): an ID is kept for
 * one hour; a sweep every half hour forgets older ones. At most `maxEntries` are kept: the
 * oldest is forgotten first (harmless: a normal update seen again is still dropped by its
 * (epoch, sequence)).
 * @module
 */

const ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/**
 * Digit (1–62) of each alphanumeric character code; 0 for any other byte (256 entries: a byte
 * indexes it without a range check). Exported for readers that compute a key while scanning.
 */
export const SEEN_DIGIT: Uint8Array = new Uint8Array(256);
const DIGIT = SEEN_DIGIT;
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
    const d = DIGIT[b[i]];
    if (d === 0) return undefined;
    v = v * 63 + d;
  }
  return v;
}

/** Where the peek (update_peek.ts) last read an UpdateID's numeric key, and the key (or -1). */
let peekedBytes: Uint8Array | undefined, peekedStart = -1;
const peekedKeyCell = new Float64Array(1); // a double in a module-level `let` is boxed per store

/**
 * Note that the UpdateID at `bytes[start…]` has seen key `key` (-1: a string key): the
 * decoder of the same message takes it instead of reading the ID again (1% of the 1,000-node
 * convergence). The bytes must not change while they are handled (the router's rule).
 */
export function notePeekedKey(bytes: Uint8Array | undefined, start: number, key: number): void {
  peekedBytes = bytes;
  peekedStart = start;
  peekedKeyCell[0] = key;
}

/** The numeric seen key noted for the UpdateID at `bytes[start…]`, or -1. */
export function peekedKey(bytes: Uint8Array, start: number): number {
  return bytes === peekedBytes && start === peekedStart ? peekedKeyCell[0] : -1;
}

/** Seed of the numeric-key hash (a peer chooses UpdateIDs: it must not pick colliding ones). */
const SEED = crypto.getRandomValues(new Uint32Array(2));
/** 2^-32: `k * TWO_M32` is exact (a power of two), a multiplication instead of a division. */
const TWO_M32 = 2 ** -32;

/** The smallest power of two ≥ `n`. */
function pow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Slot of numeric key `k` (1 ≤ k < 2^53) in a table of `mask + 1` slots. */
function home(k: number, mask: number): number {
  let h = (k >>> 0) ^ SEED[0];
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) ^
    Math.imul(((k * TWO_M32) >>> 0) ^ SEED[1], 0xc2b2ae35); // k < 2^53: the high part, floored
  h = Math.imul(h ^ (h >>> 13), 0x27d4eb2f);
  return (h ^ (h >>> 16)) & mask;
}

/**
 * Update-ID dedupe set with time-based expiry and a size bound. Numeric keys (see
 * {@link seenKey}: what Go and we send) live in an open-addressing table of typed arrays (seeded
 * hash, linear probing, backward-shift deletion), in insertion order in a ring that the sweep
 * and the size bound consume from its oldest end: every node remembers every update of the mesh,
 * and a Map of boxed numbers cost a heap object per ID and a pointer chase per lookup. Other IDs
 * use a Map.
 */
export class SeenSet {
  #keys = new Float64Array(64);
  #numCount = 0;
  readonly #strings = new Map<string, number>();
  /** Ring of (key, time) in insertion order; `#ringStr[i]` is set for a string key. */
  #ringKey = new Float64Array(64);
  #ringTime = new Float64Array(64);
  #ringStr: (string | undefined)[] = new Array(64).fill(undefined);
  #head = 0;
  #len = 0;

  /** `expireMs` = how long an ID is remembered; `maxEntries` = most IDs kept. */
  constructor(readonly expireMs = 3_600_000, readonly maxEntries = Infinity) {}

  /** Record `id` at `now`; returns false if it was already there. */
  add(id: string, now: number): boolean {
    return this.addKey(seenKey(id), now);
  }

  /** {@link SeenSet.add} by {@link seenKey} (read from a message's bytes: no string made). */
  addKey(key: string | number, now: number): boolean {
    if (typeof key !== "number") {
      if (this.#strings.has(key)) return false;
      this.#makeRoom();
      this.#strings.set(key, now);
    } else {
      // looked for and, if new, placed with one probe run (unless keys move first)
      const at = this.#slotOf(key);
      if (at < 0) return false;
      if (this.#makeRoom() || 2 * (this.#numCount + 1) > this.#keys.length) this.#insert(key);
      else {
        this.#keys[at] = key;
        this.#numCount++;
      }
    }
    this.#ringPush(key, now);
    return true;
  }

  /** Forget the oldest ID if the set is full; true if it did (keys may have moved). */
  #makeRoom(): boolean {
    if (this.#len < this.maxEntries) return false;
    this.#dropOldest();
    this.onEvict?.();
    return true;
  }

  /** The free slot where numeric `key` would go, or -1 if it is there already. */
  #slotOf(key: number): number {
    const keys = this.#keys, mask = keys.length - 1;
    for (let i = home(key, mask);; i = (i + 1) & mask) {
      const k = keys[i];
      if (k === key) return -1;
      if (k === 0) return i;
    }
  }

  /** True if `id` is remembered. */
  has(id: string): boolean {
    return this.hasKey(seenKey(id));
  }

  /** True if the ID with this {@link seenKey} is remembered. */
  hasKey(key: string | number): boolean {
    if (typeof key !== "number") return this.#strings.has(key);
    const keys = this.#keys, mask = keys.length - 1;
    for (let i = home(key, mask);; i = (i + 1) & mask) {
      const k = keys[i];
      if (k === key) return true;
      if (k === 0) return false;
    }
  }

  /** Called when an ID is forgotten early because the set is full. */
  onEvict?: () => void;

  /** Forget IDs recorded more than `expireMs` before `now`. */
  sweep(now: number): void {
    while (this.#len > 0 && now - this.#ringTime[this.#head] > this.expireMs) this.#dropOldest();
    // give memory back after a burst (a flood of IDs): tables at most 8x what they hold
    if (this.#keys.length > 64 && 8 * this.#numCount < this.#keys.length) {
      this.#rehash(Math.max(64, pow2(4 * this.#numCount)));
    }
    if (this.#ringKey.length > 64 && 8 * this.#len < this.#ringKey.length) {
      this.#resizeRing(Math.max(64, pow2(2 * this.#len)));
    }
  }

  /** Number of remembered IDs. */
  get size(): number {
    return this.#len;
  }

  #insert(key: number): void {
    if (2 * (this.#numCount + 1) > this.#keys.length) this.#rehash(this.#keys.length * 2);
    const keys = this.#keys, mask = keys.length - 1;
    let i = home(key, mask);
    while (keys[i] !== 0) i = (i + 1) & mask;
    keys[i] = key;
    this.#numCount++;
  }

  #rehash(slots: number): void {
    const old = this.#keys;
    this.#keys = new Float64Array(slots);
    const mask = slots - 1;
    for (let j = 0; j < old.length; j++) {
      const k = old[j];
      if (k === 0) continue;
      let i = home(k, mask);
      while (this.#keys[i] !== 0) i = (i + 1) & mask;
      this.#keys[i] = k;
    }
  }

  /** Remove numeric `key` (present), shifting later entries of its probe run back. */
  #remove(key: number): void {
    const keys = this.#keys, mask = keys.length - 1;
    let i = home(key, mask);
    while (keys[i] !== key) i = (i + 1) & mask;
    for (let j = (i + 1) & mask; keys[j] !== 0; j = (j + 1) & mask) {
      const h = home(keys[j], mask);
      // move keys[j] into the hole at i unless its home lies cyclically in (i, j]
      if (i <= j ? (h <= i || h > j) : (h <= i && h > j)) {
        keys[i] = keys[j];
        i = j;
      }
    }
    keys[i] = 0;
    this.#numCount--;
  }

  #ringPush(key: string | number, now: number): void {
    if (this.#len === this.#ringKey.length) this.#resizeRing(2 * this.#len);
    const at = (this.#head + this.#len) & (this.#ringKey.length - 1);
    if (typeof key === "number") {
      this.#ringKey[at] = key;
      this.#ringStr[at] = undefined;
    } else this.#ringStr[at] = key;
    this.#ringTime[at] = now;
    this.#len++;
  }

  /** Copy the ring, oldest first, into arrays of `size` (a power of two ≥ its length). */
  #resizeRing(size: number): void {
    const n = this.#ringKey.length, keys = new Float64Array(size), times = new Float64Array(size);
    const strs: (string | undefined)[] = new Array(size).fill(undefined);
    for (let k = 0; k < this.#len; k++) {
      const at = (this.#head + k) & (n - 1);
      keys[k] = this.#ringKey[at];
      times[k] = this.#ringTime[at];
      strs[k] = this.#ringStr[at];
    }
    this.#ringKey = keys;
    this.#ringTime = times;
    this.#ringStr = strs;
    this.#head = 0;
  }

  #dropOldest(): void {
    const at = this.#head, s = this.#ringStr[at];
    if (s !== undefined) {
      this.#strings.delete(s);
      this.#ringStr[at] = undefined;
    } else this.#remove(this.#ringKey[at]);
    this.#head = (at + 1) & (this.#ringKey.length - 1);
    this.#len--;
  }
}
