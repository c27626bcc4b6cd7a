/**
 * Copies of node names' ASCII bytes, shared by every table of the process, for
 * {@link ByteIndex} and the intern table to compare a name read from a message with a held one
 * without touching the held string: comparing against the topology's string (its slot in the
 * names array, then the string, then `charCodeAt` per character) was two thirds of the
 * index's probe cost in the 1,000-node convergence (~4.5% of it), and the bytes of all names
 * are few and hot.
 *
 * A name gets its place when the intern table (intern.ts) first holds it, and is found again
 * through that table (no map of its own: ~25 bytes per known node less). A place never
 * changes and is never reused (a table may refer to it for as long as it lives), so equal
 * places always mean equal names; a name may get a second place after the intern table was
 * emptied, which only costs room. The store only grows, up to {@link MAX_NAME_BYTES}; past
 * that, or for a name that is not printable ASCII of 1–255 bytes, a name has no place (-1)
 * and is compared as a string, as before. Hostile names thus cost at most this bounded store,
 * never a different reading; once it is full (by hostile or long legitimate churn of names),
 * new names are simply compared as strings, at the speed of before.
 * @module
 */

/** Most bytes of names held. */
export const MAX_NAME_BYTES = 1 << 20;

/**
 * Told (once per process) when the store first refuses a name because it is full, so the
 * bound is logged (the router sets it: a limit line, at most once a minute); the process-wide
 * tables of this module and intern.ts have no logger of their own.
 */
export let onNameCacheFull: ((what: string) => void) | undefined;

/** Set the hook told when a process-wide name cache reaches its bound (see onNameCacheFull). */
export function setNameCacheFullHook(hook: ((what: string) => void) | undefined): void {
  onNameCacheFull = hook;
}

let fullTold = false;

/** The names' bytes, back to back (grown by doubling up to {@link MAX_NAME_BYTES}). */
export let NAME_BYTES: Uint8Array = new Uint8Array(16_384);
let used = 0;
/** The name last placed or found, and its place: the next table to hold a name asks for it. */
let memoName = "", memoRef = -1;

/** The place of `name` if it is the one last placed or found (no lookup), else -2. */
export function recentRef(name: string): number {
  return name === memoName ? memoRef : -2;
}

/** Note that `name` has place `ref` (intern.ts, on a hit). */
export function rememberRef(name: string, ref: number): void {
  memoName = name;
  memoRef = ref;
}

/**
 * A new place for `name`'s bytes in {@link NAME_BYTES}, as `offset << 8 | length`; -1 if it
 * is not printable ASCII of 1–255 bytes or the store is full. Called by intern.ts only.
 */
export function placeName(name: string): number {
  const n = name.length;
  if (n === 0 || n > 255) return -1;
  if (used + n > MAX_NAME_BYTES) {
    if (!fullTold) {
      fullTold = true;
      onNameCacheFull?.(
        `the name byte store is full (${MAX_NAME_BYTES} bytes): new names are compared as strings`,
      );
    }
    return -1;
  }
  for (let k = 0; k < n; k++) {
    const c = name.charCodeAt(k);
    if (c < 0x20 || c > 0x7e) return -1;
  }
  if (used + n > NAME_BYTES.length) {
    const bigger = new Uint8Array(Math.min(MAX_NAME_BYTES, 2 * NAME_BYTES.length));
    bigger.set(NAME_BYTES);
    NAME_BYTES = bigger;
  }
  const at = used;
  for (let k = 0; k < n; k++) NAME_BYTES[at + k] = name.charCodeAt(k);
  used += n;
  const ref = (at << 8) | n;
  rememberRef(name, ref);
  return ref;
}

/** Bytes placed so far (tests). */
export function nameBytesUsed(): number {
  return used;
}
