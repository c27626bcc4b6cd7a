/**
 * Routing updates in Go's own layout (its field order, no whitespace, strings without escapes)
 * read by a hand scanner over the message text: every node decodes every update of the mesh,
 * and the general path (lossless JSON parser; before this, a regex plus `JSON.parse` of the
 * Connections) costs several times more. Anything laid out otherwise gives undefined and the
 * general decoder in messages.ts decides, so the accepted language is unchanged.
 * @module
 */

import type { RoutingUpdate } from "./messages.ts";

const MAX_U64 = (1n << 64n) - 1n;
const ZERO = 0n;
/** Scanner cursor (decoding is synchronous and never re-entered). */
let pos = 0;

function lit(t: string, s: string): boolean {
  if (!t.startsWith(s, pos)) return false;
  pos += s.length;
  return true;
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/** A JSON string without escapes or control characters at the cursor. */
function str(t: string): string | undefined {
  if (t.charCodeAt(pos) !== 0x22) return undefined;
  const s = pos + 1;
  for (let i = s; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c === 0x22) {
      pos = i + 1;
      return t.slice(s, i);
    }
    if (c === 0x5c || c < 0x20) return undefined;
  }
  return undefined;
}

/** An unsigned 64-bit integer in Go's form (no sign, no leading zero, no fraction). */
function u64(t: string): bigint | undefined {
  const s = pos;
  let i = s, v = 0;
  for (let c; i < t.length && isDigit(c = t.charCodeAt(i)); i++) v = v * 10 + (c - 0x30);
  const n = i - s;
  if (n === 0 || n > 20 || (n > 1 && t.charCodeAt(s) === 0x30)) return undefined;
  pos = i;
  if (v === 0) return ZERO;
  if (n <= 15) return BigInt(v); // exact below 2^53
  const b = BigInt(t.slice(s, i));
  return b > MAX_U64 ? undefined : b;
}

/** A JSON number (a connection cost); its value as `JSON.parse` gives it. */
function num(t: string): number | undefined {
  const s = pos;
  let i = s;
  if (t.charCodeAt(i) === 0x2d) i++;
  const d = i;
  while (isDigit(t.charCodeAt(i))) i++;
  if (i === d || (i - d > 1 && t.charCodeAt(d) === 0x30)) return undefined;
  let simple = d === s && i - d === 1;
  if (t.charCodeAt(i) === 0x2e) {
    simple = false;
    const f = ++i;
    while (isDigit(t.charCodeAt(i))) i++;
    if (i === f) return undefined;
  }
  const e = t.charCodeAt(i);
  if (e === 0x65 || e === 0x45) {
    simple = false;
    i++;
    const sign = t.charCodeAt(i);
    if (sign === 0x2b || sign === 0x2d) i++;
    const f = i;
    while (isDigit(t.charCodeAt(i))) i++;
    if (i === f) return undefined;
  }
  pos = i;
  return simple ? t.charCodeAt(s) - 0x30 : Number(t.slice(s, i));
}

/** `null` or an object of string keys to numbers. */
function connections(t: string): Record<string, number> | null | undefined {
  if (lit(t, "null")) return null;
  if (t.charCodeAt(pos) !== 0x7b) return undefined;
  pos++;
  const out: Record<string, number> = {};
  if (t.charCodeAt(pos) === 0x7d) {
    pos++;
    return out;
  }
  for (;;) {
    const k = str(t);
    // "__proto__" would set the prototype, not a key: the general decoder handles it
    if (k === undefined || k === "__proto__" || t.charCodeAt(pos) !== 0x3a) return undefined;
    pos++;
    const v = num(t);
    if (v === undefined) return undefined;
    out[k] = v;
    const c = t.charCodeAt(pos++);
    if (c === 0x7d) return out;
    if (c !== 0x2c) return undefined;
  }
}

/**
 * The routing update in `text` if it is laid out exactly as Go writes one, else undefined.
 *
 * @example
 * ```ts
 * decodeGoLayoutUpdate('{"NodeID":"a","UpdateID":"x","UpdateEpoch":1,"UpdateSequence":2,' +
 *   '"Connections":{"b":1},"ForwardingNode":"a","SuspectedDuplicate":0}');
 * ```
 */
export function decodeGoLayoutUpdate(text: string): RoutingUpdate | undefined {
  pos = 0;
  if (!lit(text, '{"NodeID":')) return undefined;
  const node = str(text);
  if (node === undefined || !lit(text, ',"UpdateID":')) return undefined;
  const id = str(text);
  if (id === undefined || !lit(text, ',"UpdateEpoch":')) return undefined;
  const epoch = u64(text);
  if (epoch === undefined || !lit(text, ',"UpdateSequence":')) return undefined;
  const seq = u64(text);
  if (seq === undefined || !lit(text, ',"Connections":')) return undefined;
  const conns = connections(text);
  if (conns === undefined || !lit(text, ',"ForwardingNode":')) return undefined;
  const fwd = str(text);
  if (fwd === undefined || !lit(text, ',"SuspectedDuplicate":')) return undefined;
  const dup = u64(text);
  if (dup === undefined || !lit(text, "}") || pos !== text.length) return undefined;
  return {
    NodeID: node,
    UpdateID: id,
    UpdateEpoch: epoch,
    UpdateSequence: seq,
    Connections: conns,
    ForwardingNode: fwd,
    SuspectedDuplicate: dup,
  };
}
