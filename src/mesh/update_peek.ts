/**
 * Reading the head of a routing-update message in Go's layout (`{"NodeID":"…","UpdateID":"…",`)
 * straight from its bytes, without decoding the message: most copies of a flood were seen
 * already, and for them only the UpdateID (and, to cancel a queued copy, the NodeID) matter.
 * Anything laid out otherwise gives undefined and the full decoder decides.
 * @module
 */

import { MSG_ROUTE } from "./messages.ts";
import { notePeekedKey, SEEN_DIGIT, seenKeyOfBytes } from "./seen_set.ts";
import { internAscii } from "./intern.ts";

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const NODE_HEAD = ascii('{"NodeID":"');
const ID_HEAD = ascii('","UpdateID":"');
/** How far into a message the head is looked for (as the old text peek: 1 KiB). */
const PEEK_LIMIT = 1024;
const MAX_ID = 64;

function matchAt(b: Uint8Array, at: number, lit: Uint8Array): boolean {
  if (at + lit.length > b.length) return false;
  for (let i = 0; i < lit.length; i++) if (b[at + i] !== lit[i]) return false;
  return true;
}

/** Set by {@link nodeIdEnd}: the NodeID is plain printable ASCII (no escapes). */
let nodePlain = false;

/**
 * Index of the NodeID's closing quote, or -1 (the JSON string may hold escapes); whether it
 * is plain printable ASCII goes to {@link nodePlain} (found on the way: not scanned again).
 */
function nodeIdEnd(b: Uint8Array): number {
  if (b.length < 2 || b[0] !== MSG_ROUTE || !matchAt(b, 1, NODE_HEAD)) return -1;
  const end = Math.min(b.length, PEEK_LIMIT);
  let plain = true;
  for (let i = 1 + NODE_HEAD.length; i < end; i++) {
    const c = b[i];
    if (c === 0x22) {
      nodePlain = plain;
      return i;
    }
    if (c === 0x5c) {
      i++; // skip the escaped byte
      plain = false;
    } else if (c === 0x0a) return -1;
    else if (c > 0x7e || c < 0x20) plain = false;
  }
  return -1;
}

/**
 * The UpdateID of a routing-update message (type byte included) in Go's layout: 1–64
 * characters [0-9A-Za-z], read from the bytes. Undefined if the message is laid out otherwise.
 */
export function peekUpdateId(bytes: Uint8Array): string | undefined {
  const s = updateIdStart(bytes);
  const e = updateIdEnd(bytes, s);
  if (e < 0) return undefined;
  return String.fromCharCode.apply(null, bytes.subarray(s, e) as unknown as number[]);
}

/** Where the UpdateID's characters start in Go's layout, or -1. */
function updateIdStart(bytes: Uint8Array): number {
  const q = nodeIdEnd(bytes);
  return q < 0 || !matchAt(bytes, q, ID_HEAD) ? -1 : q + ID_HEAD.length;
}

/**
 * [0]: the {@link seenKeyOfBytes} of the UpdateID read last by {@link updateIdEnd} if numeric,
 * else -1 (in a typed array: a module-level `let` holding a double boxes it at every store).
 */
const idKey = new Float64Array(1);

/**
 * The closing quote of a 1–64 character [0-9A-Za-z] UpdateID starting at `s`, or -1; its
 * seen-set key (for up to 8 characters) goes to {@link idKey}, computed in the same pass
 * (the peek, then the key, each walked the ID: together ~4% of the 1,000-node convergence).
 */
function updateIdEnd(bytes: Uint8Array, s: number): number {
  // a failed peek leaves no note (a message object handed in again with other bytes must
  // not find the old key)
  notePeekedKey(undefined, -1, -1);
  if (s < 0) return -1;
  const end = Math.min(bytes.length, s + MAX_ID + 1, PEEK_LIMIT);
  let v = 0;
  for (let i = s; i < end; i++) {
    const d = SEEN_DIGIT[bytes[i]]; // nonzero exactly for [0-9A-Za-z]
    if (d !== 0) {
      v = v * 63 + d;
      continue;
    }
    if (bytes[i] !== 0x22 || i === s || bytes[i + 1] !== 0x2c) return -1;
    idKey[0] = i - s <= 8 ? v : -1;
    notePeekedKey(bytes, s, idKey[0]);
    return i;
  }
  return -1;
}

/** Where the NodeID ends and the UpdateID starts in the message read last by {@link peekHead}. */
let headNodeEnd = -1, headIdStart = -1;
/** Whether that NodeID is plain printable ASCII (its UpdateID's key stays in {@link idKey}). */
let headPlain = false;

/**
 * Read the head of a routing-update message in Go's layout once: returns the index of the
 * closing quote of its UpdateID (two messages whose bytes agree up to it carry the same NodeID
 * and UpdateID), or -1. {@link headKey} and {@link headNode} then read that message's fields
 * without scanning it again (call them before peeking at another message).
 */
export function peekHead(bytes: Uint8Array): number {
  const q = nodeIdEnd(bytes);
  if (q < 0 || !matchAt(bytes, q, ID_HEAD)) return -1;
  headNodeEnd = q;
  headPlain = nodePlain;
  headIdStart = q + ID_HEAD.length;
  return updateIdEnd(bytes, headIdStart);
}

/** The seen-set key of the message just read by {@link peekHead} (which returned `end`). */
export function headKey(bytes: Uint8Array, end: number): string | number {
  const k = idKey[0];
  return k >= 0
    ? k
    : String.fromCharCode.apply(null, bytes.subarray(headIdStart, end) as unknown as number[]);
}

/** Where the NodeID starts in a routing-update message in Go's layout. */
export const HEAD_NODE_START = 1 + NODE_HEAD.length;

/**
 * Where the NodeID of the message just read by {@link peekHead} ends (it starts at
 * {@link HEAD_NODE_START}), or -1 if it is not plain printable ASCII: a known node is then
 * found by its bytes (no string made).
 */
export function plainHeadNodeEnd(_bytes: Uint8Array): number {
  return headPlain ? headNodeEnd : -1;
}

/** The NodeID of the message just read by {@link peekHead}, as {@link peekUpdateNode} gives it. */
export function headNode(bytes: Uint8Array): string | undefined {
  return headPlain ? internAscii(bytes, HEAD_NODE_START, headNodeEnd) : undefined;
}

/**
 * The NodeID of a routing-update message in Go's layout when it is plain ASCII without
 * escapes (the usual case), else undefined. Only a hint: used to find a queued copy to drop.
 */
export function peekUpdateNode(bytes: Uint8Array): string | undefined {
  const q = nodeIdEnd(bytes);
  if (q < 0) return undefined;
  const s = 1 + NODE_HEAD.length;
  for (let i = s; i < q; i++) {
    if (bytes[i] > 0x7e || bytes[i] < 0x20 || bytes[i] === 0x5c) return undefined;
  }
  return internAscii(bytes, s, q);
}

/**
 * The seen-set key ({@link seenKeyOfBytes}) of a routing update's UpdateID read from its bytes
 * in Go's layout: a number for up to 8 alphanumerics (no string made), else the UpdateID
 * string; undefined if the message is laid out otherwise.
 */
export function peekUpdateKey(bytes: Uint8Array): string | number | undefined {
  const s = updateIdStart(bytes);
  const e = updateIdEnd(bytes, s);
  if (e < 0) return undefined;
  return seenKeyOfBytes(bytes, s, e) ??
    String.fromCharCode.apply(null, bytes.subarray(s, e) as unknown as number[]);
}
