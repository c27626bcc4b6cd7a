/**
 * Interned node names for the routing-update decoder: a name read from a message's text (or
 * ASCII bytes) is looked up by a seeded hash over its characters and, if seen before, the same
 * string object is returned instead of a new one. Every node decodes every update of the mesh
 * and each names ~5 nodes: a fresh string per name was a large part of the allocation (GC), and
 * every table keyed by it (topology index, versions, queues, stored updates) had to hash it
 * afresh; an interned string keeps its hash.
 *
 * Hostile input: the hash is seeded from `crypto.getRandomValues` at load, probing stops after
 * {@link MAX_PROBES} slots (a name that does not fit is simply not interned: a new string, as
 * before), names longer than {@link MAX_INTERN_LENGTH} are never interned, and the table holds
 * at most {@link MAX_INTERNED} names (it is emptied when full, like the queue-key cache). So a
 * peer choosing colliding or endless new names costs at most a few probes per name and a
 * bounded table, never a different reading: a hit is only returned after comparing every
 * character.
 * @module
 */
import {
  finishHash,
  HASH_SEED,
  hashAscii,
  hashName,
  rememberNameHash,
} from "../util/seeded_hash.ts";
import { NAME_BYTES, onNameCacheFull, placeName, recentRef, rememberRef } from "./name_bytes.ts";

/** Most names held (the table is emptied when full). */
export const MAX_INTERNED = 16_384;
/** Longer names are never interned. */
export const MAX_INTERN_LENGTH = 64;
/** Most slots (a power of two: load factor ≤ 1/2 at {@link MAX_INTERNED}). */
const MAX_SLOTS = MAX_INTERNED * 2;
/** Slots of a new (or emptied) table; it doubles when half full, up to {@link MAX_SLOTS}. */
const MIN_SLOTS = 1024;
/** Slots looked at before giving up on a name. */
const MAX_PROBES = 8;

/**
 * Per slot, interleaved: the name's hash >> 1 (a small integer: stored unboxed; the probe
 * starts at its low bits), the name (0: empty slot) and where its bytes are in the shared
 * copy (name_bytes.ts; -1: none), which a lookup by bytes compares instead of reading the
 * string (`charCodeAt` per character was most of this lookup's time). One cache line per probe
 * instead of one in a hash array and one in a name array: the NodeID of every decoded update
 * is interned, and this table is cold between two updates. Sized to what it holds (1,000
 * names in 2,048 slots: 16 KiB, not the 256 KiB of the largest table), for the same reason.
 */
let table: (number | string)[] = new Array(3 * MIN_SLOTS).fill(0);
let mask = MIN_SLOTS - 1;
let count = 0;

function clear(): void {
  table = new Array(3 * MIN_SLOTS).fill(0);
  mask = MIN_SLOTS - 1;
  count = 0;
}

/** Twice the slots, every name put again (one that no longer fits its probe run is dropped). */
function grow(): void {
  const old = table, slots = 2 * (mask + 1);
  table = new Array(3 * slots).fill(0);
  mask = slots - 1;
  count = 0;
  for (let i = 0; i < old.length; i += 3) {
    if (old[i + 1] !== 0) put(old[i + 1] as string, old[i] as number, old[i + 2] as number);
  }
}

/**
 * Put `s` (hash >> 1 `hs`, bytes at place `ref`) in the first free slot of its probe run, if
 * there is one.
 */
function put(s: string, hs: number, ref: number): void {
  const i = freeSlot(hs);
  if (i >= 0) fill(i, s, hs, ref);
}

/** The first free slot of the probe run of hash >> 1 `hs`, or -1 if there is none. */
function freeSlot(hs: number): number {
  for (let p = 0, i = hs & mask; p < MAX_PROBES; p++, i = (i + 1) & mask) {
    if (table[3 * i + 1] === 0) return i;
  }
  return -1;
}

function fill(i: number, s: string, hs: number, ref: number): void {
  table[3 * i] = hs;
  table[3 * i + 1] = s;
  table[3 * i + 2] = ref;
  count++;
}

/**
 * Intern new name `s` (hash >> 1 `hs`), its bytes placed (name_bytes.ts); returns it. A name
 * whose probe run is full is neither interned nor placed: placing it anyway took room in the
 * bounded byte store at every sighting of that name.
 */
function insert(s: string, hs: number): string {
  if (count >= MAX_INTERNED) {
    clear();
    onNameCacheFull?.(`the name intern table held ${MAX_INTERNED} names: emptied`);
  } else if (2 * (count + 1) > mask + 1 && mask + 1 < MAX_SLOTS) grow();
  const i = freeSlot(hs);
  if (i >= 0) fill(i, s, hs, placeName(s));
  return s;
}

/** The interned string equal to `t.slice(start, end)`. */
export function internText(t: string, start: number, end: number): string {
  const len = end - start;
  if (len > MAX_INTERN_LENGTH || len === 0) return t.slice(start, end);
  let h = HASH_SEED;
  for (let k = start; k < end; k++) h = Math.imul(h ^ t.charCodeAt(k), 0x01000193);
  const hs = finishHash(h, len) >> 1;
  probe: for (let p = 0, i = hs & mask; p < MAX_PROBES; p++, i = (i + 1) & mask) {
    const v = table[3 * i + 1];
    if (v === 0) break;
    if (table[3 * i] !== hs) continue;
    const s = v as string;
    if (s.length !== len) continue;
    for (let k = 0; k < len; k++) if (s.charCodeAt(k) !== t.charCodeAt(start + k)) continue probe;
    return s;
  }
  return insert(t.slice(start, end), hs);
}

/**
 * The interned string of the ASCII bytes `b[start, end)` (the caller checked they are ASCII);
 * `h`: their {@link hashAscii} when the caller has it already (the decoder computes it while
 * scanning a name).
 */
export function internAscii(b: Uint8Array, start: number, end: number, h?: number): string {
  const len = end - start;
  if (len > MAX_INTERN_LENGTH || len === 0) return asciiString(b, start, end);
  const full = h ?? hashAscii(b, start, end), hs = full >> 1;
  let s: string | undefined;
  probe: for (let p = 0, i = hs & mask; p < MAX_PROBES; p++, i = (i + 1) & mask) {
    const v = table[3 * i + 1];
    if (v === 0) break;
    if (table[3 * i] !== hs) continue;
    const ref = table[3 * i + 2] as number;
    if (ref >= 0) {
      if ((ref & 255) !== len) continue;
      for (let k = 0, o = ref >>> 8; k < len; k++) {
        if (NAME_BYTES[o + k] !== b[start + k]) continue probe;
      }
      rememberRef(v as string, ref); // a table that holds it next needs no lookup
      s = v as string;
      break;
    }
    const t = v as string;
    if (t.length !== len) continue;
    for (let k = 0; k < len; k++) if (t.charCodeAt(k) !== b[start + k]) continue probe;
    s = t;
    break;
  }
  s ??= insert(asciiString(b, start, end), hs);
  rememberNameHash(s, full); // the table that holds it next hashes it by string: no second pass
  return s;
}

/**
 * The place of `name`'s bytes in name_bytes.ts (interned now if it was not), or -1 if it has
 * none: what a {@link ByteIndex} keeps beside a name it starts to hold.
 */
export function internRef(name: string): number {
  const recent = recentRef(name);
  if (recent !== -2) return recent;
  const len = name.length;
  if (len > MAX_INTERN_LENGTH || len === 0) return -1;
  const hs = hashName(name) >> 1;
  for (let p = 0, i = hs & mask; p < MAX_PROBES; p++, i = (i + 1) & mask) {
    const v = table[3 * i + 1];
    if (v === 0) break;
    if (table[3 * i] === hs && v === name) return table[3 * i + 2] as number;
  }
  insert(name, hs);
  const again = recentRef(name); // placeName noted it (if it has a place)
  return again === -2 ? -1 : again;
}

/** The ASCII bytes `b[start, end)` as a new string (no closure per call: this runs per name). */
function asciiString(b: Uint8Array, start: number, end: number): string {
  return String.fromCharCode.apply(null, b.subarray(start, end) as unknown as number[]);
}

/** Names interned now (tests). */
export function internedCount(): number {
  return count;
}
