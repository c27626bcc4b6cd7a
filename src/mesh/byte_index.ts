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
import { hashAscii, hashName } from "../util/seeded_hash.ts";
import { NAME_BYTES, recentRef } from "./name_bytes.ts";
import { internRef } from "./intern.ts";

/** Name → index (≥ 0) table; the names themselves live in the caller's `names` array. */
export class ByteIndex {
  /**
   * Per slot, interleaved: the name's hash, index + 1 (0: empty), and where its bytes are in
   * the shared {@link NAME_BYTES} (name_bytes.ts: `offset << 8 | length`, or -1: compare the
   * string instead). One cache line per probe, and a hit compares bytes that every table
   * shares (hot) instead of reading the topology's names array and string.
   */
  #table = new Int32Array(3 * 16);
  /** Slots − 1. */
  #mask = 15;
  #count = 0;

  /** `names[i]` is the name at index `i` (the topology's array, read for a string lookup). */
  constructor(readonly names: string[]) {}

  /** Names held. */
  get size(): number {
    return this.#count;
  }

  /** The index of `name`, or -1. */
  get(name: string): number {
    const h = hashName(name), t = this.#table, m = this.#mask;
    // the NodeID just decoded (the usual string lookup) is matched by its place in the shared
    // bytes (equal places are equal names): the topology's names array is not read; other
    // names (or a second place of the same name) are compared as strings
    const ref = recentRef(name);
    for (let i = h & m;; i = (i + 1) & m) {
      const v = t[3 * i + 1];
      if (v === 0) return -1;
      if (t[3 * i] !== h) continue;
      if ((ref >= 0 && t[3 * i + 2] === ref) || this.names[v - 1] === name) return v - 1;
    }
  }

  /** The index of the name whose ASCII bytes are `b[start, end)`, or -1. */
  getBytes(b: Uint8Array, start: number, end: number): number {
    return this.getHashed(b, start, end, hashAscii(b, start, end));
  }

  /** {@link ByteIndex.getBytes} when the bytes' {@link hashAscii} `h` is known (the decoder's). */
  getHashed(b: Uint8Array, start: number, end: number, h: number): number {
    const len = end - start, t = this.#table, m = this.#mask;
    probe: for (let i = h & m;; i = (i + 1) & m) {
      const v = t[3 * i + 1];
      if (v === 0) return -1;
      if (t[3 * i] !== h) continue;
      const ref = t[3 * i + 2];
      if (ref >= 0) {
        if ((ref & 255) !== len) continue;
        for (let k = 0, o = ref >>> 8; k < len; k++) {
          if (NAME_BYTES[o + k] !== b[start + k]) continue probe;
        }
        return v - 1;
      }
      const s = this.names[v - 1];
      if (s.length !== len) continue;
      for (let k = 0; k < len; k++) if (s.charCodeAt(k) !== b[start + k]) continue probe;
      return v - 1;
    }
  }

  /** Hold `name` (not held yet) at index `index`. */
  set(name: string, index: number): void {
    if ((this.#count + 1) * 2 > this.#mask + 1) this.#grow();
    this.#put(hashName(name), index + 1, internRef(name));
    this.#count++;
  }

  #put(h: number, v: number, ref: number): void {
    const t = this.#table, m = this.#mask;
    let i = h & m;
    while (t[3 * i + 1] !== 0) i = (i + 1) & m;
    t[3 * i] = h;
    t[3 * i + 1] = v;
    t[3 * i + 2] = ref;
  }

  #grow(): void {
    const old = this.#table, slots = 2 * (this.#mask + 1);
    this.#table = new Int32Array(3 * slots);
    this.#mask = slots - 1;
    for (let i = 0; i < old.length; i += 3) {
      if (old[i + 1] !== 0) this.#put(old[i], old[i + 1], old[i + 2]);
    }
  }

  /** Stop holding `name` (a no-op if it is not held). */
  delete(name: string): void {
    const h = hashName(name), t = this.#table, m = this.#mask;
    let i = h & m;
    for (;; i = (i + 1) & m) {
      const v = t[3 * i + 1];
      if (v === 0) return;
      if (t[3 * i] === h && this.names[v - 1] === name) break;
    }
    // backward shift: move later entries of the run into the hole when their home allows it
    for (let j = (i + 1) & m;; j = (j + 1) & m) {
      if (t[3 * j + 1] === 0) break;
      const home = t[3 * j] & m;
      if (((j - home) & m) >= ((j - i) & m)) {
        t[3 * i] = t[3 * j];
        t[3 * i + 1] = t[3 * j + 1];
        t[3 * i + 2] = t[3 * j + 2];
        i = j;
      }
    }
    t[3 * i + 1] = 0;
    this.#count--;
  }
}
