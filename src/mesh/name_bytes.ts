/**
 * One process-wide copy of each node name's ASCII bytes, for {@link ByteIndex} to compare a
 * name read from a message with a held one without touching the held string: comparing
 * against the topology's string (its slot in the names array, then the string, then
 * `charCodeAt` per character) was two thirds of the index's probe cost in the 1,000-node
 * convergence (~4.5% of it), and the bytes of all names are few and shared by every table.
 *
 * A name's place never changes and is never reused (a table may refer to it for as long as it
 * lives), so the store only grows, up to {@link MAX_NAME_BYTES} bytes and
 * {@link MAX_NAME_REFS} names; past either, or for a name that is not printable ASCII or is
 * longer than 255 bytes, {@link nameRef} gives -1 and the table compares the string as
 * before. Hostile names thus cost at most this bounded store, never a different reading;
 * once it is full (by hostile or long legitimate churn of names), new names are simply
 * compared as strings, at the speed of before.
 * @module
 */

/** Most bytes of names held. */
export const MAX_NAME_BYTES = 1 << 20;
/** Most names held. */
export const MAX_NAME_REFS = 65_536;

/** The names' bytes, back to back. */
export const NAME_BYTES: Uint8Array = new Uint8Array(MAX_NAME_BYTES);
let used = 0;
const refs = new Map<string, number>();
/** The name last given or told a place, and that place (a new name's table entry follows). */
let memoName = "", memoRef = -1;

/**
 * The place of `name` if it is the one last given or told (no lookup), else -2. Distinct
 * names have distinct places, so equal places mean equal names.
 */
export function recentRef(name: string): number {
  return name === memoName ? memoRef : -2;
}

/** Tell {@link nameRef} that `name` has place `ref` (intern.ts, on a hit: no Map lookup). */
export function rememberRef(name: string, ref: number): void {
  memoName = name;
  memoRef = ref;
}

/**
 * The place of `name`'s bytes in {@link NAME_BYTES} as `offset << 8 | length`, stored on
 * first use; -1 if it is not printable ASCII of 1–255 bytes or the store is full.
 */
export function nameRef(name: string): number {
  if (name === memoName) return memoRef;
  const known = refs.get(name);
  if (known !== undefined) return known;
  const n = name.length;
  if (n === 0 || n > 255 || used + n > MAX_NAME_BYTES || refs.size >= MAX_NAME_REFS) return -1;
  for (let k = 0; k < n; k++) {
    const c = name.charCodeAt(k);
    if (c < 0x20 || c > 0x7e) return -1;
  }
  const at = used;
  for (let k = 0; k < n; k++) NAME_BYTES[at + k] = name.charCodeAt(k);
  used += n;
  const ref = (at << 8) | n;
  refs.set(name, ref);
  rememberRef(name, ref);
  return ref;
}

/** Names and bytes held (tests). */
export function nameBytesUsed(): { names: number; bytes: number } {
  return { names: refs.size, bytes: used };
}
