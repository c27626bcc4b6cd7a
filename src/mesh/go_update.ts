/**
 * A routing update as the fast scanner (update_fast.ts) reads it: {@link GoUpdate}, with the
 * helpers that read its Connections without making names, and the 64-bit halves its versions
 * are kept as.
 * @module
 */

import type { RoutingUpdate } from "./messages.ts";
import { internAscii } from "./intern.ts";
import { peekedKey, seenKeyOfBytes } from "./seen_set.ts";
import { hashAscii } from "../util/seeded_hash.ts";

const ZERO = 0n;

/** The ASCII bytes `t[s, e)` as a string. */
function ascii(t: Uint8Array, s: number, e: number): string {
  return String.fromCharCode.apply(null, t.subarray(s, e) as unknown as number[]);
}

/** The 64-bit value of (high, low) 32-bit halves. */
export function joinU64(h: number, l: number): bigint {
  if (h === 0) return l === 0 ? ZERO : BigInt(l);
  return (BigInt(h) << 32n) | BigInt(l);
}

/** The high 32 bits of a u64 `b` as a number. */
export function u64Hi(b: bigint): number {
  return Number(b >> 32n);
}

/** The low 32 bits of a u64 `b` as a number. */
export function u64Lo(b: bigint): number {
  return Number(b & 0xffffffffn);
}

/** A routing update's Connections as parallel arrays; `null` for JSON null. */
export type ConnArrays = { peers: string[]; costs: number[] } | null;

/**
 * A fast-path update's Connections as where each peer name's characters are in the body
 * (printable ASCII, no escapes) and its cost; `null` for JSON null. No string is made: the
 * topology finds a known peer by its bytes and hash ({@link GoUpdate.keyHash}).
 */
export type ConnRanges = { starts: number[]; ends: number[]; costs: number[] } | null;

/**
 * The keys' seeded hashes of the ranges last scanned (written by the scanner while it reads
 * the keys; read by {@link GoUpdate.keyHash} while those ranges are {@link hashedRanges}).
 */
export const scratchHashes: number[] = [];
/** The ranges whose key hashes {@link scratchHashes} holds: the last ones scanned, if any. */
let hashedRanges: ConnRanges | undefined;

/** The scanner's note: {@link scratchHashes} now holds the key hashes of `r` (or of none). */
export function noteHashedRanges(r: ConnRanges | undefined): void {
  hashedRanges = r;
}

/**
 * A routing update decoded by the fast path for the router: Connections are kept as arrays
 * (building an object keyed by node names costs more than the rest of the decoding) and
 * become a record only when read; epoch and sequence are kept as 32-bit halves in numbers
 * (every node decodes every update of the mesh: a BigInt parse and two BigInts kept per
 * update and node were avoidable), the UpdateID as its place in the bytes (its seen-set key
 * is read from them), the ForwardingNode likewise (compared, never kept). The bigint and
 * string fields are made when read. `body` holds the JSON text from `jsonStart` on (the
 * router's: the whole message, its type byte first; no view made), for re-flooding; it must
 * stay unmodified while the update is used.
 * Note: `{...u}` does not copy the accessor fields; name the fields instead.
 */
export class GoUpdate implements RoutingUpdate {
  #conns: Record<string, number> | null | undefined;
  #arrays: ConnArrays | undefined;
  /** Undefined once Connections was replaced. */
  #ranges: ConnRanges | undefined;
  #id: string | undefined;
  #fwd: string | undefined;
  #epoch: bigint | undefined;
  #seq: bigint | undefined;

  constructor(
    public NodeID: string,
    /** Where the UpdateID's characters are in `body`. */
    readonly idStart: number,
    readonly idEnd: number,
    /** UpdateEpoch and UpdateSequence as high and low 32-bit halves. */
    public epochHi: number,
    public epochLo: number,
    public seqHi: number,
    public seqLo: number,
    conns: ConnRanges | ConnArrays,
    /** Where the ForwardingNode's characters are in `body`. */
    readonly fwdStart: number,
    readonly fwdEnd: number,
    public SuspectedDuplicate: bigint,
    readonly body: Uint8Array,
    /** Where the JSON text starts in `body`. */
    readonly jsonStart: number,
  ) {
    if (conns !== null && "peers" in conns) this.#arrays = conns;
    else this.#ranges = conns;
  }

  /** The UpdateID (a string made on first read). */
  get UpdateID(): string {
    return this.#id ??= ascii(this.body, this.idStart, this.idEnd);
  }

  set UpdateID(v: string) {
    this.#id = v;
  }

  /** The ForwardingNode (a string made on first read). */
  get ForwardingNode(): string {
    return this.#fwd ??= ascii(this.body, this.fwdStart, this.fwdEnd);
  }

  set ForwardingNode(v: string) {
    this.#fwd = v;
  }

  /** True if the ForwardingNode is `peer` (compared in the bytes: no string made). */
  forwardedBy(peer: string): boolean {
    if (this.#fwd !== undefined) return this.#fwd === peer;
    const b = this.body, s = this.fwdStart;
    if (this.fwdEnd - s !== peer.length) return false;
    for (let k = 0; k < peer.length; k++) if (b[s + k] !== peer.charCodeAt(k)) return false;
    return true;
  }

  /**
   * {@link seenKey} of the UpdateID, read from the bytes (not kept from the scan: a number
   * field beyond 2^30 is a heap number per update; the ≤ 8 bytes are in the cache).
   */
  get seenKey(): string | number {
    const k = peekedKey(this.body, this.idStart); // the router peeked at this message first
    if (k >= 0) return k;
    return seenKeyOfBytes(this.body, this.idStart, this.idEnd) ?? this.UpdateID;
  }

  /** The epoch (a BigInt made on first read). */
  get UpdateEpoch(): bigint {
    return this.#epoch ??= joinU64(this.epochHi, this.epochLo);
  }

  set UpdateEpoch(v: bigint) {
    this.#epoch = v;
    this.epochHi = u64Hi(v);
    this.epochLo = u64Lo(v);
  }

  /** The sequence (a BigInt made on first read). */
  get UpdateSequence(): bigint {
    return this.#seq ??= joinU64(this.seqHi, this.seqLo);
  }

  set UpdateSequence(v: bigint) {
    this.#seq = v;
    this.seqHi = u64Hi(v);
    this.seqLo = u64Lo(v);
  }

  /** Peer → cost (built on first read). */
  get Connections(): Record<string, number> | null {
    if (this.#conns === undefined) {
      const a = this.arrays!;
      if (a === null) this.#conns = null;
      else {
        const o: Record<string, number> = {};
        for (let i = 0; i < a.peers.length; i++) o[a.peers[i]] = a.costs[i];
        this.#conns = o;
      }
    }
    return this.#conns;
  }

  set Connections(v: Record<string, number> | null) {
    this.#conns = v;
    this.#arrays = this.#ranges = undefined;
  }

  /** The Connections as arrays (names interned on first read), or undefined once replaced. */
  get arrays(): ConnArrays | undefined {
    if (this.#arrays === undefined && this.#ranges !== undefined) {
      const r = this.#ranges, b = this.body;
      this.#arrays = r === null ? null : {
        peers: r.starts.map((s, k) => internAscii(b, s, r.ends[k], this.keyHash(k))),
        costs: r.costs,
      };
    }
    return this.#arrays;
  }

  /**
   * The seeded name hash (util/seeded_hash.ts) of the `k`-th Connections key of
   * {@link GoUpdate.ranges}: the scanner's while this is the last update decoded (the router
   * resolves an update before decoding the next), else computed from the bytes.
   */
  keyHash(k: number): number {
    const r = this.#ranges!;
    return r === hashedRanges ? scratchHashes[k] : hashAscii(this.body, r.starts[k], r.ends[k]);
  }

  /** The Connections as decoded (byte ranges), or undefined once Connections was replaced. */
  get ranges(): ConnRanges | undefined {
    return this.#ranges;
  }
}

/** The number of Connections `u` lists (no names made for a {@link GoUpdate}). */
export function connCount(u: RoutingUpdate): number {
  if (u instanceof GoUpdate) {
    const r = u.ranges;
    if (r !== undefined) return r === null ? 0 : r.costs.length;
  }
  return connArrays(u)?.peers.length ?? 0;
}

/** The Connections of `u` as arrays (no copy for a {@link GoUpdate}). */
export function connArrays(u: RoutingUpdate): ConnArrays {
  if (u instanceof GoUpdate) {
    const a = u.arrays;
    if (a !== undefined) return a;
  }
  const c = u.Connections;
  if (c === null) return null;
  const peers = Object.keys(c);
  return { peers, costs: peers.map((p) => c[p]) };
}
