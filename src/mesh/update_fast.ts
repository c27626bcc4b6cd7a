/**
 * Routing updates in Go's own layout (its field order, no whitespace, strings without escapes)
 * read by a hand scanner over the message bytes (no text string per update): every node
 * decodes every update of the mesh, and the general path (lossless JSON parser; before this, a
 * regex plus `JSON.parse` of the Connections) costs several times more. Anything laid out
 * otherwise gives undefined and the general decoder in messages.ts decides, so the accepted
 * language is unchanged. The update it gives, {@link GoUpdate}, is in go_update.ts.
 * @module
 */

import type { RoutingUpdate } from "./messages.ts";
import { internAscii } from "./intern.ts";
import { finishHash, HASH_SEED, rememberNameHash } from "../util/seeded_hash.ts";
import {
  type ConnArrays,
  type ConnRanges,
  GoUpdate,
  joinU64,
  noteHashedRanges,
  scratchHashes,
} from "./go_update.ts";

export {
  type ConnArrays,
  connArrays,
  connCount,
  type ConnRanges,
  GoUpdate,
  joinU64,
  u64Hi,
  u64Lo,
} from "./go_update.ts";

const utf8 = new TextEncoder();
/** A name's bytes as the whole body's decoding reads them (a leading U+FEFF is kept, not dropped as a BOM). */
const utf8d = new TextDecoder("utf-8", { ignoreBOM: true });
/** Scanner cursor (decoding is synchronous and never re-entered). */
let pos = 0;

/** The literal `s` (ASCII) at the cursor: consumed if there. */
function lit(t: Uint8Array, s: Uint8Array): boolean {
  if (pos + s.length > t.length) return false;
  for (let k = 0; k < s.length; k++) if (t[pos + k] !== s[k]) return false;
  pos += s.length;
  return true;
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/** The ASCII bytes `t[s, e)` as a string. */
function ascii(t: Uint8Array, s: number, e: number): string {
  return String.fromCharCode.apply(null, t.subarray(s, e) as unknown as number[]);
}

/**
 * A JSON string without escapes or control characters at the cursor: a node name, interned
 * (see intern.ts). Non-ASCII text is decoded as the whole body's UTF-8 decoding would read it
 * (a string ends at an ASCII quote, never inside a multi-byte sequence). An ASCII name's
 * seeded hash is computed on the way and handed to intern.ts and the topology's index
 * (rememberNameHash): the name's bytes are read once.
 */
function nameStr(t: Uint8Array): string | undefined {
  if (t[pos] !== 0x22) return undefined;
  const s = pos + 1;
  let wide = false, h = HASH_SEED;
  for (let i = s; i < t.length; i++) {
    const c = t[i];
    if (c === 0x22) {
      pos = i + 1;
      if (wide) return utf8d.decode(t.subarray(s, i));
      h = finishHash(h, i - s);
      const name = internAscii(t, s, i, h);
      rememberNameHash(name, h);
      return name;
    }
    if (c === 0x5c || c < 0x20) return undefined;
    if (c > 0x7f) wide = true;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return undefined;
}

const TWO32 = 2 ** 32;
/**
 * High and low 32 bits of the last {@link u64} read (exact numbers: no BigInt made). In a
 * typed array, as every scanner result that is not a small integer: a module-level `let`
 * holding a double boxes it in a new heap number at every store (the allocation profile
 * showed them: ~16 bytes per store, several per decoded update).
 */
const u64Out = new Float64Array(2);

/**
 * An unsigned 64-bit integer in Go's form (no sign, no leading zero, no fraction), read into
 * {@link hi} and {@link lo}; false if there is none or it is above 2^64−1. The first 15 digits
 * are read as one exact double (< 10^15 < 2^53), the rest (≤ 5 of 20) apart and joined with
 * one carry: a division per digit of Go's 19–20-digit epochs was 3% of the 1,000-node
 * convergence.
 */
function u64(t: Uint8Array): boolean {
  const s = pos, len = t.length;
  let i = s, a = 0, b = 0, scale = 1;
  for (const e = Math.min(len, s + 15); i < e; i++) {
    const d = t[i] - 0x30;
    if (d < 0 || d > 9) break;
    a = a * 10 + d;
  }
  // at most 6 more (a 21st digit is refused below, without reading further)
  for (const e = Math.min(len, s + 21); i < e; i++) {
    const d = t[i] - 0x30;
    if (d < 0 || d > 9) break;
    b = b * 10 + d;
    scale *= 10;
  }
  const n = i - s;
  if (n === 0 || n > 20 || (n > 1 && t[s] === 0x30)) return false;
  if (scale === 1 && a < TWO32) {
    u64Out[0] = 0;
    u64Out[1] = a;
  } else {
    const ah = Math.floor(a / TWO32), al = a - ah * TWO32;
    const m = al * scale + b; // < 2^32 · 10^5 < 2^53: exact
    const carry = Math.floor(m / TWO32), h = ah * scale + carry; // < 2^35 · 10^5: exact
    if (h >= TWO32) return false;
    u64Out[0] = h;
    u64Out[1] = m - carry * TWO32;
  }
  pos = i;
  return true;
}

/** A finite JSON number (a connection cost); its value as `JSON.parse` gives it. */
function num(t: Uint8Array): number | undefined {
  const s = pos;
  let i = s;
  if (t[i] === 0x2d) i++;
  const d = i;
  while (isDigit(t[i])) i++;
  if (i === d || (i - d > 1 && t[d] === 0x30)) return undefined;
  let simple = d === s && i - d === 1;
  if (t[i] === 0x2e) {
    simple = false;
    const f = ++i;
    while (isDigit(t[i])) i++;
    if (i === f) return undefined;
  }
  const e = t[i];
  if (e === 0x65 || e === 0x45) {
    simple = false;
    i++;
    const sign = t[i];
    if (sign === 0x2b || sign === 0x2d) i++;
    const f = i;
    while (isDigit(t[i])) i++;
    if (i === f) return undefined;
  }
  if (simple) {
    pos = i;
    return t[s] - 0x30;
  }
  // beyond a double's range (1e400): Go refuses the message, as the general decoder does
  const v = Number(ascii(t, s, i));
  if (!Number.isFinite(v)) return undefined;
  pos = i;
  return v;
}

const scratchStarts: number[] = [];
const scratchEnds: number[] = [];
const scratchCosts: number[] = [];
const PROTO = utf8.encode("__proto__");

/**
 * `null` or an object of string keys to numbers, as byte ranges (keys in text order); keys
 * with other than printable ASCII are read as strings by {@link connectionStrings}.
 */
function connections(t: Uint8Array): ConnRanges | ConnArrays | undefined {
  const at = pos;
  const r = connectionRanges(t);
  if (r !== undefined || !wideKey) return r;
  pos = at;
  return connectionStrings(t);
}

/** Set when {@link connectionRanges} stopped at a key with non-ASCII bytes. */
let wideKey = false;

/** The Connections as byte ranges, or undefined (then {@link wideKey} says why). */
function connectionRanges(t: Uint8Array): ConnRanges | undefined {
  wideKey = false;
  if (lit(t, L_NULL)) return null;
  if (t[pos] !== 0x7b) return undefined;
  pos++;
  if (t[pos] === 0x7d) {
    pos++;
    return { starts: [], ends: [], costs: [] };
  }
  // read into scratch arrays, kept as exact-size copies (a push onto a new array reserves
  // room for 17: such arrays per decoded update were most of the decoder's garbage). The
  // scratch arrays are filled by index and never truncated: `length = 0` dropped their
  // backing stores, so every update grew them again (2% of the 1,000-node convergence).
  const starts = scratchStarts, ends = scratchEnds, costs = scratchCosts, hashes = scratchHashes;
  noteHashedRanges(undefined);
  for (let n = 0;;) {
    const s = pos + 1;
    // "__proto__" would set the prototype, not a key; integer-like keys would be reordered
    // by an object; other text is decoded as a string: the general decoder handles those
    if (!nameRange(t)) {
      wideKey = t[pos] === 0x22;
      return undefined;
    }
    if (t[pos] !== 0x3a || !plainKey(t, s, pos - 1)) return undefined;
    const e = pos - 1;
    pos++;
    const v = num(t);
    if (v === undefined) return undefined;
    starts[n] = s;
    ends[n] = e;
    hashes[n] = nameHash[0];
    costs[n++] = v;
    const c = t[pos++];
    if (c === 0x7d) {
      if (n > 1 && hasRepeat(t, n, starts, ends, hashes)) return undefined;
      // the hashes stay in scratch (read by keyHash before the next decode; one array less
      // per update), the rest is kept as exact-size copies
      const r = { starts: prefix(starts, n), ends: prefix(ends, n), costs: prefix(costs, n) };
      noteHashedRanges(r);
      return r;
    }
    if (c !== 0x2c) return undefined;
  }
}

/**
 * `a[0, n)` as a new exact-size array: an array literal for the usual sizes (allocated inline
 * by the JIT), a slice beyond. Three slice calls per decoded update were 2.2% of the
 * 1,000-node convergence (builtin call overhead, ~70 ns each).
 */
function prefix(a: number[], n: number): number[] {
  switch (n) {
    case 1:
      return [a[0]];
    case 2:
      return [a[0], a[1]];
    case 3:
      return [a[0], a[1], a[2]];
    case 4:
      return [a[0], a[1], a[2], a[3]];
    case 5:
      return [a[0], a[1], a[2], a[3], a[4]];
    case 6:
      return [a[0], a[1], a[2], a[3], a[4], a[5]];
    case 7:
      return [a[0], a[1], a[2], a[3], a[4], a[5], a[6]];
    case 8:
      return [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]];
    default:
      return a.slice(0, n);
  }
}

const scratchPeers: string[] = [];

/** The Connections object with names read as strings (non-ASCII keys), as parallel arrays. */
function connectionStrings(t: Uint8Array): ConnArrays | undefined {
  pos++; // the brace (connectionRanges saw it)
  const peers = scratchPeers, costs = scratchCosts;
  for (let n = 0;;) {
    const k = nameStr(t);
    if (k === undefined || t[pos] !== 0x3a || !plainString(k)) return undefined;
    pos++;
    const v = num(t);
    if (v === undefined) return undefined;
    peers[n] = k;
    costs[n++] = v;
    const c = t[pos++];
    if (c === 0x7d) {
      const p = peers.slice(0, n);
      if (new Set(p).size !== n) return undefined;
      return { peers: p, costs: costs.slice(0, n) };
    }
    if (c !== 0x2c) return undefined;
  }
}

/** False for keys an object would not keep as given, in insertion order. */
function plainString(k: string): boolean {
  if (k === "__proto__") return false;
  for (let i = 0; i < k.length; i++) if (!isDigit(k.charCodeAt(i))) return true;
  return false;
}

/** Are `t[a, a + n)` and `t[b, b + n)` the same bytes? */
function sameBytes(t: Uint8Array, a: number, b: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (t[a + k] !== t[b + k]) return false;
  return true;
}

/** False for keys `t[s, e)` an object would not keep as given, in insertion order. */
function plainKey(t: Uint8Array, s: number, e: number): boolean {
  if (e - s === PROTO.length) {
    let k = 0;
    while (k < PROTO.length && t[s + k] === PROTO[k]) k++;
    if (k === PROTO.length) return false;
  }
  for (let i = s; i < e; i++) if (!isDigit(t[i])) return true;
  return false; // all digits (or empty): possibly an array index
}

/** Is the name `k` the same as name `j` (bytes compared only when the hashes agree)? */
function sameName(t: Uint8Array, st: number[], en: number[], hs: number[], k: number, j: number) {
  const n = en[k] - st[k];
  return hs[k] === hs[j] && en[j] - st[j] === n && sameBytes(t, st[k], st[j], n);
}

/** Open-addressing table of key numbers + 1 for {@link hasRepeat} of many keys (reused). */
let repeatTable = new Int32Array(64);

/**
 * Does one of the first `n` keys appear twice (JSON would keep the last; the general decoder decides)? Keys are
 * told apart by their hashes first: pairwise byte comparison of ~5 keys per update was 4% of
 * the 1,000-node convergence. Many keys go through a hash table (no strings made).
 */
function hasRepeat(t: Uint8Array, n: number, st: number[], en: number[], hs: number[]): boolean {
  if (n < 8) {
    for (let k = 1; k < n; k++) {
      for (let j = 0; j < k; j++) if (sameName(t, st, en, hs, k, j)) return true;
    }
    return false;
  }
  let size = 16;
  while (size < 2 * n) size *= 2;
  if (repeatTable.length < size) repeatTable = new Int32Array(size);
  const tab = repeatTable, m = size - 1;
  tab.fill(0, 0, size);
  for (let k = 0; k < n; k++) {
    let i = hs[k] & m;
    for (; tab[i] !== 0; i = (i + 1) & m) if (sameName(t, st, en, hs, k, tab[i] - 1)) return true;
    tab[i] = k + 1;
  }
  return false;
}

const L_NULL = utf8.encode("null");
const L_NODE = utf8.encode('{"NodeID":');
const L_ID = utf8.encode(',"UpdateID":');
const L_EPOCH = utf8.encode(',"UpdateEpoch":');
const L_SEQ = utf8.encode(',"UpdateSequence":');
const L_CONNS = utf8.encode(',"Connections":');
const L_FWD = utf8.encode(',"ForwardingNode":');
const L_DUP = utf8.encode(',"SuspectedDuplicate":');
const L_END = utf8.encode("}");

/**
 * The Go-layout update in the bytes `t` from `start` on (no intermediate record), or
 * undefined.
 */
function scan(t: Uint8Array, start: number): GoUpdate | undefined {
  pos = start;
  if (!lit(t, L_NODE)) return undefined;
  const node = nameStr(t);
  if (node === undefined || !lit(t, L_ID)) return undefined;
  const idStart = pos + 1;
  if (!alnumString(t)) return undefined;
  const idEnd = pos - 1;
  if (!lit(t, L_EPOCH) || !u64(t)) return undefined;
  const eh = u64Out[0], el = u64Out[1];
  if (!lit(t, L_SEQ) || !u64(t)) return undefined;
  const sh = u64Out[0], sl = u64Out[1];
  if (!lit(t, L_CONNS)) return undefined;
  const conns = connections(t);
  if (conns === undefined || !lit(t, L_FWD)) return undefined;
  // compared with the sender, never kept: no string made (printable ASCII, as the UpdateID)
  const fwdStart = pos + 1;
  if (!alnumString(t)) return undefined;
  const fwdEnd = pos - 1;
  if (!lit(t, L_DUP) || !u64(t)) return undefined;
  const dup = joinU64(u64Out[0], u64Out[1]);
  if (!lit(t, L_END) || pos !== t.length) return undefined;
  return new GoUpdate(
    node,
    idStart,
    idEnd,
    eh,
    el,
    sh,
    sl,
    conns,
    fwdStart,
    fwdEnd,
    dup,
    t,
    start,
  );
}

/** The seeded hash (util/seeded_hash.ts) of the name just read by {@link nameRange}. */
const nameHash = new Int32Array(1);

/**
 * A JSON string of printable ASCII without escapes at the cursor (a Connections key as Go and
 * we send it), kept as its place in the bytes, its seeded hash into {@link nameHash}: the
 * topology's index and the intern table take it instead of hashing the name again.
 */
function nameRange(t: Uint8Array): boolean {
  if (t[pos] !== 0x22) return false;
  const s = pos + 1;
  let h = HASH_SEED;
  for (let i = s; i < t.length; i++) {
    const c = t[i];
    if (c === 0x22) {
      pos = i + 1;
      nameHash[0] = finishHash(h, i - s);
      return true;
    }
    if (c === 0x5c || c < 0x20 || c > 0x7e) return false;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return false;
}

/**
 * A JSON string of printable ASCII without escapes at the cursor (an UpdateID as Go and we
 * send it: kept as its place in the bytes, no string made); anything else is left to the
 * general decoder.
 */
function alnumString(t: Uint8Array): boolean {
  if (t[pos] !== 0x22) return false;
  for (let i = pos + 1; i < t.length; i++) {
    const c = t[i];
    if (c === 0x22) {
      pos = i + 1;
      return true;
    }
    if (c === 0x5c || c < 0x20 || c > 0x7e) return false;
  }
  return false;
}

/**
 * The routing update in the whole message `message` (its type byte first, then the JSON
 * body) as a {@link GoUpdate} if laid out as Go does: no view of the body is made (one typed
 * array object per decoded update).
 */
export function decodeGoLayoutLazy(message: Uint8Array): GoUpdate | undefined {
  return scan(message, 1);
}

/**
 * The routing update in the body bytes `body` if laid out exactly as Go writes one, else
 * undefined.
 *
 * @example
 * ```ts
 * decodeGoLayoutUpdate(new TextEncoder().encode(
 *   '{"NodeID":"a","UpdateID":"x","UpdateEpoch":1,"UpdateSequence":2,' +
 *     '"Connections":{"b":1},"ForwardingNode":"a","SuspectedDuplicate":0}',
 * ));
 * ```
 */
export function decodeGoLayoutUpdate(body: Uint8Array): RoutingUpdate | undefined {
  const f = scan(body, 0);
  if (f === undefined) return undefined;
  return {
    NodeID: f.NodeID,
    UpdateID: f.UpdateID,
    UpdateEpoch: f.UpdateEpoch,
    UpdateSequence: f.UpdateSequence,
    Connections: f.Connections,
    ForwardingNode: f.ForwardingNode,
    SuspectedDuplicate: f.SuspectedDuplicate,
  };
}
