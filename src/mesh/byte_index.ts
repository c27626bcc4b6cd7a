/**
 * Node name → topology index, looked up by a string or straight by the bytes of a name in a
 * received message (no string made): every node decodes every routing update of the mesh, and
 * making (or interning) a string per name only to find its index was the largest self time of
 * the flood path after GC. Open addressing with linear probing, at most half full, deletion by
 * backward shift (no tombstones). A string hashes by its UTF-16 code units, a byte range by its
 * bytes: the same for ASCII, and a byte range is only looked up when it is ASCII, so a
 * non-ASCII name is found by string only, as it must be.
 *
 * Hostile input: the hash is seeded from `crypto.getRandomValues` at load, so a peer cannot
 * choose colliding names; every hit compares the whole name. Size is bounded by the topology's
 * own limits (maxKnownNodes and the names rows may hold).
 * @module
 */
import { finishHash, HASH_SEED } from "../util/seeded_hash.ts";

function hashString(s: string): number {
  let h = HASH_SEED;
  for (let k = 0; k < s.length; k++) h = Math.imul(h ^ s.charCodeAt(k), 0x01000193);
  return finishHash(h, s.length);
}

function hashBytes(b: Uint8Array, start: number, end: number): number {
  let h = HASH_SEED;
  for (let k = start; k < end; k++) h = Math.imul(h ^ b[k], 0x01000193);
  return finishHash(h, end - start);
}

/** Name → index (≥ 0) table; the names themselves live in the caller's `names` array. */
export class ByteIndex {
  /** Index + 1 per slot (0: empty). */
  #slots = new Int32Array(16);
  #hashes = new Int32Array(16);
  #mask = 15;
  #count = 0;

  /** `names[i]` is the name at index `i` (the topology's array, read on every hit). */
  constructor(readonly names: string[]) {}

  /** Names held. */
  get size(): number {
    return this.#count;
  }

  /** The index of `name`, or -1. */
  get(name: string): number {
    const h = hashString(name), slots = this.#slots, hashes = this.#hashes, names = this.names;
    for (let i = h & this.#mask;; i = (i + 1) & this.#mask) {
      const v = slots[i];
      if (v === 0) return -1;
      if (hashes[i] === h && names[v - 1] === name) return v - 1;
    }
  }

  /** The index of the name whose ASCII bytes are `b[start, end)`, or -1. */
  getBytes(b: Uint8Array, start: number, end: number): number {
    const h = hashBytes(b, start, end), len = end - start;
    const slots = this.#slots, hashes = this.#hashes, names = this.names;
    probe: for (let i = h & this.#mask;; i = (i + 1) & this.#mask) {
      const v = slots[i];
      if (v === 0) return -1;
      if (hashes[i] !== h) continue;
      const s = names[v - 1];
      if (s.length !== len) continue;
      for (let k = 0; k < len; k++) if (s.charCodeAt(k) !== b[start + k]) continue probe;
      return v - 1;
    }
  }

  /** Hold `name` (not held yet) at index `index`. */
  set(name: string, index: number): void {
    if ((this.#count + 1) * 2 > this.#slots.length) this.#grow();
    this.#put(hashString(name), index);
    this.#count++;
  }

  #put(h: number, index: number): void {
    let i = h & this.#mask;
    while (this.#slots[i] !== 0) i = (i + 1) & this.#mask;
    this.#slots[i] = index + 1;
    this.#hashes[i] = h;
  }

  #grow(): void {
    const slots = this.#slots, hashes = this.#hashes;
    this.#slots = new Int32Array(slots.length * 2);
    this.#hashes = new Int32Array(slots.length * 2);
    this.#mask = slots.length * 2 - 1;
    for (let i = 0; i < slots.length; i++) if (slots[i] !== 0) this.#put(hashes[i], slots[i] - 1);
  }

  /** Stop holding `name` (a no-op if it is not held). */
  delete(name: string): void {
    const h = hashString(name), slots = this.#slots, hashes = this.#hashes, m = this.#mask;
    let i = h & m;
    for (;; i = (i + 1) & m) {
      const v = slots[i];
      if (v === 0) return;
      if (hashes[i] === h && this.names[v - 1] === name) break;
    }
    // backward shift: move later entries of the run into the hole when their home allows it
    for (let j = (i + 1) & m;; j = (j + 1) & m) {
      if (slots[j] === 0) break;
      const home = hashes[j] & m;
      if (((j - home) & m) >= ((j - i) & m)) {
        slots[i] = slots[j];
        hashes[i] = hashes[j];
        i = j;
      }
    }
    slots[i] = 0;
    this.#count--;
  }
}
