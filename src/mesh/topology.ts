/**
 * The mesh topology as one node knows it (wire.md §5.4 steps 4–6, §5.7, §5.8): a directed cost
 * table `costs[node][neighbor]`, the (epoch, sequence) last accepted per node, and shortest-path
 * next hops computed from it.
 *
 * Compact: each node name gets a small integer index, and rows, the reverse index and the
 * route computation work on index arrays. Every node holds a row per known node, so string-keyed
 * Maps and Sets per row were most of a big mesh's memory and of its update cost.
 * @module
 */

import type { RoutingUpdate } from "./messages.ts";
import { OWNER_FIELDS, REC, ROW_LEN, ROW_START, RowPool } from "./row_pool.ts";
import { ByteIndex } from "./byte_index.ts";
import { findInRow, HopTable, ROW_MAP_MIN, shortestPaths } from "./shortest_paths.ts";
import { internAscii } from "./intern.ts";
import { connArrays, GoUpdate, joinU64, u64Hi, u64Lo } from "./update_fast.ts";

/** The (epoch, sequence) pair last accepted from a node, and when (`clock.now()`). */
export interface NodeVersion {
  epoch: bigint;
  sequence: bigint;
  at: number;
}

/** What {@link Topology.applyUpdate} concluded. */
export type ApplyResult =
  | { accepted: false }
  | {
    accepted: true;
    newNode: boolean;
    changed: boolean;
    /** A known node came back with a larger epoch: it restarted. */
    restarted: boolean;
  };

/** Result of a route computation. */
export interface Routes {
  /** Destination → next-hop peer. Self is not included. */
  nextHop: Map<string, string>;
  /** Destination → total path cost. */
  pathCost: Map<string, number>;
}

const REJECTED: ApplyResult = { accepted: false };
/** The accepted results, shared (one per combination: no object per update), by flag bits. */
const ACCEPTED: readonly ApplyResult[] = Array.from({ length: 8 }, (_, k) =>
  Object.freeze({
    accepted: true as const,
    newNode: (k & 1) !== 0,
    changed: (k & 2) !== 0,
    restarted: (k & 4) !== 0,
  }));

/** Epoch and sequence of the update read last by {@link readVersion}, as 32-bit halves. */
let vEh = 0, vEl = 0, vSh = 0, vSl = 0;

/** Read `u`'s epoch and sequence into the halves above (no BigInt for a fast-path update). */
function readVersion(u: RoutingUpdate): void {
  if (u instanceof GoUpdate) {
    vEh = u.epochHi;
    vEl = u.epochLo;
    vSh = u.seqHi;
    vSl = u.seqLo;
  } else {
    vEh = u64Hi(u.UpdateEpoch);
    vEl = u64Lo(u.UpdateEpoch);
    vSh = u64Hi(u.UpdateSequence);
    vSl = u64Lo(u.UpdateSequence);
  }
}

/** Sign of (ah, al) − (bh, bl) as u64 halves. */
function cmp(ah: number, al: number, bh: number, bl: number): number {
  return ah !== bh ? (ah < bh ? -1 : 1) : al === bl ? 0 : al < bl ? -1 : 1;
}

/**
 * The topology's fields in each node's record of the row pool (row_pool.ts: one cache line
 * per node instead of one per field and array). Epoch and sequence as u32 halves (read back
 * with `>>> 0`); KNOWN 1: the node has an accepted version.
 */
const E_HI = OWNER_FIELDS, E_LO = E_HI + 1, S_HI = E_HI + 2, S_LO = E_HI + 3;
/** Least-recently-accepted list links, reverse index head and length, scratch mark and slot. */
const PREV = E_HI + 4, NEXT = E_HI + 5, IN_HEAD = E_HI + 6, IN_COUNT = E_HI + 7;
const MARK = E_HI + 8, SLOT = E_HI + 9, KNOWN = E_HI + 10;
/** Float64 slot of `at` (when the version was accepted) in a record: its last 8 bytes. */
const AT_F = REC / 2 - 1;
/** Marks are reset before the stamp would leave the int32 range. */
const MAX_STAMP = 2 ** 30;

/**
 * Topology table plus per-node versions for one local node. Applying an update costs
 * O(edges of the old and new row), not a scan of the table: a reverse index `inbound[n]`
 * (nodes whose row has an edge to `n`) finds the edges to drop (wire.md §5.4 step 6).
 */
export class Topology {
  /**
   * Per node index, in its record of the row pool (fields above): the last accepted (epoch,
   * sequence) and when (no BigInt kept or compared; a node with a version keeps its index);
   * nodes with a version in a list, least recently accepted first (PREV, NEXT).
   */
  #head = -1;
  #tail = -1;
  #known = 0;
  /** Directed edges in the table. */
  edgeCount = 0;
  /** Indices freed so far (while it stays the same, every index names the same node). */
  releases = 0;
  /** The results of the last route computation ({@link computeHops}). */
  readonly hops = new HopTable();
  readonly #names: string[] = [];
  /** Name → index, by string or by the bytes of a name in a message (see byte_index.ts). */
  readonly #index = new ByteIndex(this.#names);
  readonly #free: number[] = [];
  /** Row of each node (edge targets and costs in a shared pool) and its record: row_pool.ts. */
  readonly #rows = new RowPool();
  /** Target → position in a long row, built on demand. */
  readonly #pos: (Map<number, number> | undefined)[] = [];
  /**
   * Inbound lists: nodes whose row holds an edge to `n` (unordered), singly linked through an
   * edge pool (IN_HEAD of `n`'s record = first slot or -1; per slot `2e` the source node and
   * `2e + 1` the next slot): a small array per node, copied on each append, was the largest
   * allocation of a big mesh's convergence.
   */
  #edges = new Int32Array(128);
  /** Slots handed out so far; freed ones are chained from `#eFree`. */
  #eTop = 0;
  #eFree = -1;
  /** Scratch for row replacement (with the MARK and SLOT fields of the records). */
  #scratchTo = new Int32Array(16);
  readonly #scratchListed: number[] = [];
  #scratchCost = new Float64Array(16);
  #stamp = 0;
  readonly #self: number;

  /**
   * Called with each name the table starts to hold (a node or a peer named in a row), once
   * until the name is dropped again: the router registers it for data-header lookups.
   */
  onName?: (name: string) => void;

  /** `self` is the local node ID. */
  constructor(readonly self: string) {
    this.#self = this.#ensure(self);
  }

  #ensure(name: string): number {
    const i = this.#index.get(name);
    return i >= 0 ? i : this.#add(name);
  }

  /** A new index for `name`, which the table does not hold (no lookup: one hash less). */
  #add(name: string): number {
    const i = this.#free.pop() ?? this.#names.length;
    this.#index.set(name, i);
    this.#names[i] = name;
    this.#rows.init(i); // a zeroed record, no row
    const m = this.#rows.meta, b = i * REC;
    m[b + IN_HEAD] = m[b + PREV] = m[b + NEXT] = -1;
    this.#pos[i] = undefined;
    this.onName?.(name);
    return i;
  }

  /** Frees the index of a node nothing refers to any more. */
  #release(i: number): void {
    const m = this.#rows.meta, b = i * REC;
    if (i === this.#self || m[b + ROW_LEN] >= 0 || m[b + IN_COUNT] > 0 || m[b + KNOWN]) return;
    if (this.#index.get(this.#names[i]) !== i) return; // freed already
    this.releases++;
    this.#index.delete(this.#names[i]);
    this.#names[i] = "";
    this.#free.push(i);
  }

  /** Position of `to` in the row of `from`, or -1. */
  #find(from: number, to: number): number {
    return findInRow(this.#rows, this.#pos, from, to);
  }

  /** Indices handed out so far (per-index arrays of callers are this long). */
  get indexCount(): number {
    return this.#names.length;
  }

  /** The name of the node at index `i` ("" or undefined: free). */
  nameAt(i: number): string {
    return this.#names[i];
  }

  /** The index of `node` (what the flood queues key its routing update by), or -1. */
  indexOf(node: string): number {
    return this.#index.get(node);
  }

  /** {@link indexOf} the node whose ASCII name is the bytes `b[start, end)`. */
  indexOfBytes(b: Uint8Array, start: number, end: number): number {
    return this.#index.getBytes(b, start, end);
  }

  /** True if the node at index `i` has an accepted update. */
  isKnownAt(i: number): boolean {
    return this.#rows.meta[i * REC + KNOWN] === 1;
  }

  /** Edges in the row of the node at index `i`. */
  rowSizeAt(i: number): number {
    return Math.max(0, this.#rows.lenOf(i));
  }

  /** Edges in `node`'s row. */
  rowSize(node: string): number {
    const i = this.#index.get(node);
    return i < 0 ? 0 : Math.max(0, this.#rows.lenOf(i));
  }

  #setEdge(from: number, to: number, cost: number): void {
    const k = this.#find(from, to), p = this.#rows;
    if (k >= 0) {
      p.cost[p.startOf(from) + k] = cost;
      return;
    }
    const n = Math.max(0, p.lenOf(from));
    const s = p.reserve(from, n + 1, false);
    p.to[s + n] = to;
    p.cost[s + n] = cost;
    p.setLen(from, n + 1);
    this.#pos[from]?.set(to, n);
    this.#inAdd(to, from);
    this.edgeCount++;
  }

  #deleteEdge(from: number, to: number): void {
    const k = this.#find(from, to);
    if (k < 0) return;
    // keeps the order of the rest (tie-breaking of routes)
    const p = this.#rows, s = p.startOf(from), n = p.lenOf(from);
    p.to.copyWithin(s + k, s + k + 1, s + n);
    p.cost.copyWithin(s + k, s + k + 1, s + n);
    p.setLen(from, n - 1);
    this.#pos[from] = undefined;
    this.#dropInbound(to, from);
  }

  /** A connection to `peer` was established: both directed edges get `cost`. */
  addLocalEdge(peer: string, cost: number): void {
    const p = this.#ensure(peer);
    this.#setEdge(this.#self, p, cost);
    this.#setEdge(p, this.#self, cost);
  }

  /** The connection to `peer` ended: both directed edges go. */
  removeLocalEdge(peer: string): void {
    const p = this.#index.get(peer);
    if (p < 0) return;
    this.#deleteEdge(this.#self, p);
    this.#deleteEdge(p, this.#self);
  }

  /** Number of remote nodes with a stored version. */
  get knownNodes(): number {
    return this.#known;
  }

  /** True if an update of `node` was accepted (it has a version). */
  isKnown(node: string): boolean {
    const i = this.#index.get(node);
    return i >= 0 && this.isKnownAt(i);
  }

  /** The version last accepted from `node`, if any (a copy). */
  version(node: string): NodeVersion | undefined {
    const i = this.#index.get(node);
    if (i < 0 || !this.isKnownAt(i)) return undefined;
    const m = this.#rows.meta, b = i * REC;
    return {
      epoch: joinU64(m[b + E_HI] >>> 0, m[b + E_LO] >>> 0),
      sequence: joinU64(m[b + S_HI] >>> 0, m[b + S_LO] >>> 0),
      at: this.#rows.metaF[(b >> 1) + AT_F],
    };
  }

  /** The remote node whose last accepted update is oldest, with that version. */
  oldest(): [string, NodeVersion] | undefined {
    if (this.#head < 0) return undefined;
    const name = this.#names[this.#head];
    return [name, this.version(name)!];
  }

  #unlink(i: number): void {
    const m = this.#rows.meta, b = i * REC, p = m[b + PREV], n = m[b + NEXT];
    if (p >= 0) m[p * REC + NEXT] = n;
    else this.#head = n;
    if (n >= 0) m[n * REC + PREV] = p;
    else this.#tail = p;
    m[b + PREV] = m[b + NEXT] = -1;
  }

  #linkLast(i: number): void {
    const m = this.#rows.meta, b = i * REC;
    m[b + PREV] = this.#tail;
    m[b + NEXT] = -1;
    if (this.#tail >= 0) m[this.#tail * REC + NEXT] = i;
    else this.#head = i;
    this.#tail = i;
  }

  /** Forget `node` entirely: its version and its row (edges into it stay with their owners). */
  forget(node: string): void {
    const i = this.#index.get(node);
    if (i < 0) return;
    if (this.isKnownAt(i)) {
      this.#rows.meta[i * REC + KNOWN] = 0;
      this.#unlink(i);
      this.#known--;
    }
    const p = this.#rows, s = p.startOf(i);
    const row = Array.from(p.to.subarray(s, s + Math.max(0, p.lenOf(i))));
    p.free(i);
    if (i === this.#self) p.setLen(i, 0);
    this.#pos[i] = undefined;
    for (const to of row) this.#dropInbound(to, i);
    this.#release(i);
  }

  /** The index of the node of the update {@link applyUpdate} accepted last. */
  appliedIndex = -1;

  /**
   * Apply a normal (non-duplicate-notice) update from another node: version check, then row
   * replacement and removal of edges into `NodeID` from nodes it no longer lists. `at`: the
   * index of `NodeID` (exactly what {@link indexOf} gives now) if the caller looked it up: each
   * lookup hashes the name (4 per accepted update were 3.5% of a 1,000-node convergence).
   */
  applyUpdate(u: RoutingUpdate, now = 0, at = -2): ApplyResult {
    const i = at === -2 ? this.#index.get(u.NodeID) : at;
    readVersion(u);
    let m = this.#rows.meta, b = i * REC;
    const known = i >= 0 && m[b + KNOWN] === 1;
    const byEpoch = known ? cmp(vEh, vEl, m[b + E_HI] >>> 0, m[b + E_LO] >>> 0) : 1;
    if (byEpoch < 0) return REJECTED;
    if (byEpoch === 0 && cmp(vSh, vSl, m[b + S_HI] >>> 0, m[b + S_LO] >>> 0) <= 0) {
      return REJECTED;
    }
    const restarted = known && byEpoch > 0;
    const j = i >= 0 ? i : this.#add(u.NodeID);
    this.appliedIndex = j;
    if (known) this.#unlink(j);
    else this.#known++;
    m = this.#rows.meta; // #ensure may have grown it
    b = j * REC;
    m[b + KNOWN] = 1;
    m[b + E_HI] = vEh;
    m[b + E_LO] = vEl;
    m[b + S_HI] = vSh;
    m[b + S_LO] = vSl;
    this.#rows.metaF[(b >> 1) + AT_F] = now;
    this.#linkLast(j);
    const costs = this.#resolve(u);
    const changed = !this.#sameRow(j, costs);
    if (changed) this.#replaceRow(j, costs);
    return ACCEPTED[(known ? 0 : 1) | (changed ? 2 : 0) | (restarted ? 4 : 0)];
  }

  /**
   * The indices of the peers `u` lists, into the scratch list (each held from now on), and
   * their costs; null for a null Connections. A fast-path update's peers are found by their
   * bytes: no string is made for a name the table holds.
   */
  #resolve(u: RoutingUpdate): number[] | null {
    const listed = this.#scratchListed;
    // emptied by pops: `length = 0` drops the backing store (every update grew it again),
    // 60-70 vs ~15 ns per update in a micro-benchmark, ~4% of the 1,000-node convergence
    while (listed.length > 0) listed.pop();
    const r = u instanceof GoUpdate ? u.ranges : undefined;
    if (r !== undefined) {
      if (r === null) return null;
      const g = u as GoUpdate, b = g.body, st = r.starts, en = r.ends;
      for (let k = 0; k < st.length; k++) {
        // a name not found by its bytes is not held (no second lookup by string)
        const h = g.keyHash(k), t = this.#index.getHashed(b, st[k], en[k], h);
        listed.push(t >= 0 ? t : this.#add(internAscii(b, st[k], en[k], h)));
      }
      return r.costs;
    }
    const c = connArrays(u);
    if (c === null) return null;
    for (let k = 0; k < c.peers.length; k++) listed.push(this.#ensure(c.peers[k]));
    return c.costs;
  }

  /**
   * Is the row of `i` the resolved list (scratch) with `costs`? Go compares with
   * reflect.DeepEqual: a nil map differs from an empty one.
   */
  #sameRow(i: number, costs: number[] | null): boolean {
    const p = this.#rows, n = p.lenOf(i), listed = this.#scratchListed;
    if (costs === null || n < 0) return costs === null && n < 0;
    if (listed.length !== n) return false;
    for (let k = 0; k < listed.length; k++) {
      const pos = this.#find(i, listed[k]);
      if (pos < 0 || p.cost[p.startOf(i) + pos] !== costs[k]) return false;
    }
    return true;
  }

  /** A fresh mark stamp (marks are cleared before the stamp would leave the int32 range). */
  #nextStamp(): number {
    if (this.#stamp >= MAX_STAMP) {
      const m = this.#rows.meta;
      for (let b = MARK; b < m.length; b += REC) m[b] = 0;
      this.#stamp = 0;
    }
    return ++this.#stamp;
  }

  /** New row for `i` (the resolved list): kept edges stay in place, new ones follow in order. */
  #replaceRow(i: number, costsIn: number[] | null): void {
    const costs = costsIn ?? [];
    const stamp = this.#nextStamp(), m = this.#rows.meta;
    const listed = this.#scratchListed;
    for (let k = 0; k < listed.length; k++) m[listed[k] * REC + MARK] = stamp;
    const p = this.#rows, ib = i * REC, os = m[ib + ROW_START], on = Math.max(0, m[ib + ROW_LEN]);
    // built in scratch arrays, then copied into the row's block (exact size if it moves)
    // typed, grown when short: setting a JS array's length per row was 1.9% of a flood
    if (this.#scratchTo.length < listed.length) {
      this.#scratchTo = new Int32Array(2 * listed.length);
      this.#scratchCost = new Float64Array(2 * listed.length);
    }
    const to = this.#scratchTo, cost = this.#scratchCost;
    let j = 0;
    for (let k = 0; k < on; k++) {
      const t = p.to[os + k], tb = t * REC;
      if (m[tb + MARK] === stamp) {
        m[tb + MARK] = -stamp; // kept: its cost is set below
        m[tb + SLOT] = j;
        to[j] = t;
        cost[j++] = p.cost[os + k];
      } else this.#dropInbound(t, i);
    }
    for (let k = 0; k < listed.length; k++) {
      const t = listed[k];
      if (m[t * REC + MARK] === -stamp) {
        cost[m[t * REC + SLOT]] = costs[k];
        continue;
      }
      to[j] = t;
      cost[j++] = costs[k];
      this.#inAdd(t, i);
      this.edgeCount++;
    }
    // a node that lists nobody still has a (possibly empty) row
    const s = p.reserve(i, j, true), pt = p.to, pc = p.cost;
    for (let k = 0; k < j; k++) {
      pt[s + k] = to[k];
      pc[s + k] = cost[k];
    }
    m[ib + ROW_LEN] = j;
    if (on >= ROW_MAP_MIN) this.#pos[i] = undefined; // only long rows have one
    if (m[ib + IN_COUNT] === 0) return;
    const again = this.#nextStamp();
    for (let k = 0; k < listed.length; k++) m[listed[k] * REC + MARK] = again;
    // the next slot is read first: a deletion frees only the slot being visited
    for (let e = m[ib + IN_HEAD]; e >= 0;) {
      const from = this.#edges[2 * e];
      e = this.#edges[2 * e + 1];
      if (from !== this.#self && m[from * REC + MARK] !== again) this.#deleteEdge(from, i);
    }
  }

  /** Note that `from`'s row holds an edge to `to`. */
  #inAdd(to: number, from: number): void {
    let e = this.#eFree;
    if (e >= 0) this.#eFree = this.#edges[2 * e + 1];
    else {
      e = this.#eTop++;
      if (2 * e === this.#edges.length) {
        const g = new Int32Array(4 * e);
        g.set(this.#edges);
        this.#edges = g;
      }
    }
    const m = this.#rows.meta, tb = to * REC;
    this.#edges[2 * e] = from;
    this.#edges[2 * e + 1] = m[tb + IN_HEAD];
    m[tb + IN_HEAD] = e;
    m[tb + IN_COUNT]++;
  }

  /** The edge `from` → `to` left `from`'s row (already rewritten by the caller). */
  #dropInbound(to: number, from: number): void {
    this.edgeCount--;
    const ed = this.#edges, m = this.#rows.meta, tb = to * REC;
    for (let prev = -1, e = m[tb + IN_HEAD]; e >= 0; prev = e, e = ed[2 * e + 1]) {
      if (ed[2 * e] !== from) continue;
      if (prev < 0) m[tb + IN_HEAD] = ed[2 * e + 1];
      else ed[2 * prev + 1] = ed[2 * e + 1];
      ed[2 * e + 1] = this.#eFree;
      this.#eFree = e;
      m[tb + IN_COUNT]--;
      break;
    }
    this.#release(to);
  }

  /**
   * Apply a suspected-duplicate notice: if the stored epoch for `NodeID` equals the suspected
   * one and the notice's epoch is older (a genuine notice comes from the older instance),
   * adopt the notice's (epoch, sequence). Connections are not applied. A notice claiming a
   * newer epoch would let a forger silence the node's real updates, so it is not adopted.
   */
  applyDuplicateNotice(u: RoutingUpdate): void {
    const i = this.#index.get(u.NodeID);
    if (i < 0 || !this.isKnownAt(i)) return;
    const dh = u64Hi(u.SuspectedDuplicate), dl = u64Lo(u.SuspectedDuplicate);
    readVersion(u);
    const m = this.#rows.meta, b = i * REC;
    if (cmp(dh, dl, m[b + E_HI] >>> 0, m[b + E_LO] >>> 0) === 0 && cmp(vEh, vEl, dh, dl) < 0) {
      m[b + E_HI] = vEh;
      m[b + E_LO] = vEl;
      m[b + S_HI] = vSh;
      m[b + S_LO] = vSl;
    }
  }

  /**
   * Shortest paths from self by index, into {@link hops} (see shortest_paths.ts for the rules:
   * only edges both ends announce, at the larger cost; ties to the first relaxation found).
   */
  computeHops(): HopTable {
    shortestPaths(this.#rows, this.#pos, this.#names.length, this.#self, this.hops);
    return this.hops;
  }

  /** {@link computeHops} as destination → next-hop peer and → path cost, by name. */
  computeRoutes(): Routes {
    const nextHop = new Map<string, string>();
    const pathCost = new Map<string, number>();
    const h = this.computeHops(), names = this.#names;
    for (let k = 0; k < h.count; k++) {
      const d = h.order[k];
      nextHop.set(names[d], names[h.hop[d]]);
      pathCost.set(names[d], h.dist[d]);
    }
    return { nextHop, pathCost };
  }

  /** A plain-object copy of the cost table (status output). */
  snapshot(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (let i = 0; i < this.#names.length; i++) {
      const p = this.#rows, s = p.startOf(i), n = p.lenOf(i);
      if (n < 0) continue;
      const r: Record<string, number> = {};
      for (let k = 0; k < n; k++) r[this.#names[p.to[s + k]]] = p.cost[s + k];
      out[this.#names[i]] = r;
    }
    return out;
  }
}
