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
import { RouteHeap } from "./route_heap.ts";
import { RowPool } from "./row_pool.ts";
import { ByteIndex } from "./byte_index.ts";
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
/** Rows longer than this get a target → position map for cost lookups (hubs). */
const ROW_MAP_MIN = 12;

/**
 * Topology table plus per-node versions for one local node. Applying an update costs
 * O(edges of the old and new row), not a scan of the table: a reverse index `inbound[n]`
 * (nodes whose row has an edge to `n`) finds the edges to drop (wire.md §5.4 step 6).
 */
export class Topology {
  /**
   * Last accepted (epoch, sequence) and when, per node index, epoch and sequence as high and
   * low 32-bit halves (numbers: no BigInt kept or compared; epoch high -1: no version); a node
   * with a version keeps its index. Per-index arrays, not a Map of objects: every node holds
   * one per known node.
   */
  readonly #eHi: number[] = [];
  readonly #eLo: number[] = [];
  readonly #sHi: number[] = [];
  readonly #sLo: number[] = [];
  readonly #at: number[] = [];
  /** Nodes with a version, least recently accepted first: a list threaded through indices. */
  readonly #prev: number[] = [];
  readonly #next: number[] = [];
  #head = -1;
  #tail = -1;
  #known = 0;
  /** Directed edges in the table. */
  edgeCount = 0;
  readonly #names: string[] = [];
  /** Name → index, by string or by the bytes of a name in a message (see byte_index.ts). */
  readonly #index = new ByteIndex(this.#names);
  readonly #free: number[] = [];
  /** Row of each node: edge targets and their costs, in a shared pool (see row_pool.ts). */
  readonly #rows = new RowPool();
  /** Target → position in a long row, built on demand. */
  readonly #pos: (Map<number, number> | undefined)[] = [];
  /**
   * Inbound lists: nodes whose row holds an edge to `n` (unordered), singly linked through an
   * edge pool of typed arrays (`#inHead[n]` = first slot or -1): a small array per node, copied
   * on each append, was the largest allocation of a big mesh's convergence.
   */
  readonly #inHead: number[] = [];
  readonly #inCount: number[] = [];
  #eFrom = new Int32Array(64);
  #eNext = new Int32Array(64);
  /** Slots handed out so far; freed ones are chained from `#eFree`. */
  #eTop = 0;
  #eFree = -1;
  /** Scratch marks for row replacement. */
  readonly #mark: number[] = [];
  readonly #scratchTo: number[] = [];
  readonly #scratchListed: number[] = [];
  readonly #scratchCost: number[] = [];
  /** Scratch: position of a kept target in the new row. */
  readonly #slot: number[] = [];
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
    let i = this.#index.get(name);
    if (i >= 0) return i;
    i = this.#free.pop() ?? this.#names.length;
    this.#index.set(name, i);
    this.#names[i] = name;
    this.#rows.init(i);
    this.#pos[i] = undefined;
    this.#inHead[i] = -1;
    this.#inCount[i] = 0;
    this.#mark[i] = 0;
    this.#slot[i] = 0;
    this.#eHi[i] = -1;
    this.#eLo[i] = this.#sHi[i] = this.#sLo[i] = 0;
    this.#at[i] = 0;
    this.#prev[i] = this.#next[i] = -1;
    this.onName?.(name);
    return i;
  }

  /** Frees the index of a node nothing refers to any more. */
  #release(i: number): void {
    if (
      i === this.#self || this.#rows.len[i] >= 0 || this.#inCount[i] > 0 || this.#eHi[i] >= 0
    ) return;
    if (this.#index.get(this.#names[i]) !== i) return; // freed already
    this.#index.delete(this.#names[i]);
    this.#names[i] = "";
    this.#free.push(i);
  }

  /** Position of `to` in the row of `from`, or -1. */
  #find(from: number, to: number): number {
    const p = this.#rows, n = p.len[from], s = p.start[from], t = p.to;
    if (n < ROW_MAP_MIN) {
      for (let k = 0; k < n; k++) if (t[s + k] === to) return k;
      return -1;
    }
    let m = this.#pos[from];
    if (m === undefined) {
      m = new Map();
      for (let k = 0; k < n; k++) m.set(t[s + k], k);
      this.#pos[from] = m;
    }
    return m.get(to) ?? -1;
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
    return this.#eHi[i] >= 0;
  }

  /** Edges in the row of the node at index `i`. */
  rowSizeAt(i: number): number {
    return Math.max(0, this.#rows.len[i]);
  }

  /** Edges in `node`'s row. */
  rowSize(node: string): number {
    const i = this.#index.get(node);
    return i < 0 ? 0 : Math.max(0, this.#rows.len[i]);
  }

  #setEdge(from: number, to: number, cost: number): void {
    const k = this.#find(from, to), p = this.#rows;
    if (k >= 0) {
      p.cost[p.start[from] + k] = cost;
      return;
    }
    const n = Math.max(0, p.len[from]);
    const s = p.reserve(from, n + 1, false);
    p.to[s + n] = to;
    p.cost[s + n] = cost;
    p.len[from] = n + 1;
    this.#pos[from]?.set(to, n);
    this.#inAdd(to, from);
    this.edgeCount++;
  }

  #deleteEdge(from: number, to: number): void {
    const k = this.#find(from, to);
    if (k < 0) return;
    // keeps the order of the rest (tie-breaking of routes)
    const p = this.#rows, s = p.start[from], n = p.len[from];
    p.to.copyWithin(s + k, s + k + 1, s + n);
    p.cost.copyWithin(s + k, s + k + 1, s + n);
    p.len[from] = n - 1;
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
    return i >= 0 && this.#eHi[i] >= 0;
  }

  /** The version last accepted from `node`, if any (a copy). */
  version(node: string): NodeVersion | undefined {
    const i = this.#index.get(node);
    if (i < 0 || this.#eHi[i] < 0) return undefined;
    return {
      epoch: joinU64(this.#eHi[i], this.#eLo[i]),
      sequence: joinU64(this.#sHi[i], this.#sLo[i]),
      at: this.#at[i],
    };
  }

  /** The remote node whose last accepted update is oldest, with that version. */
  oldest(): [string, NodeVersion] | undefined {
    if (this.#head < 0) return undefined;
    const name = this.#names[this.#head];
    return [name, this.version(name)!];
  }

  #unlink(i: number): void {
    const p = this.#prev[i], n = this.#next[i];
    if (p >= 0) this.#next[p] = n;
    else this.#head = n;
    if (n >= 0) this.#prev[n] = p;
    else this.#tail = p;
    this.#prev[i] = this.#next[i] = -1;
  }

  #linkLast(i: number): void {
    this.#prev[i] = this.#tail;
    this.#next[i] = -1;
    if (this.#tail >= 0) this.#next[this.#tail] = i;
    else this.#head = i;
    this.#tail = i;
  }

  /** Forget `node` entirely: its version and its row (edges into it stay with their owners). */
  forget(node: string): void {
    const i = this.#index.get(node);
    if (i < 0) return;
    if (this.#eHi[i] >= 0) {
      this.#eHi[i] = -1;
      this.#unlink(i);
      this.#known--;
    }
    const p = this.#rows, s = p.start[i];
    const row = Array.from(p.to.subarray(s, s + Math.max(0, p.len[i])));
    p.free(i);
    if (i === this.#self) p.len[i] = 0;
    this.#pos[i] = undefined;
    for (const to of row) this.#dropInbound(to, i);
    this.#release(i);
  }

  /** The index of the node of the update {@link applyUpdate} accepted last. */
  appliedIndex = -1;

  /**
   * Apply a normal (non-duplicate-notice) update from another node: version check, then row
   * replacement and removal of edges into `NodeID` from nodes it no longer lists. `at`: the
   * index of `NodeID` ({@link indexOf}) if the caller looked it up already (each lookup hashes
   * the name: 4 per accepted update were 3.5% of a 1,000-node convergence).
   */
  applyUpdate(u: RoutingUpdate, now = 0, at = -2): ApplyResult {
    const i = at === -2 ? this.#index.get(u.NodeID) : at;
    readVersion(u);
    const known = i >= 0 && this.#eHi[i] >= 0;
    const byEpoch = known ? cmp(vEh, vEl, this.#eHi[i], this.#eLo[i]) : 1;
    if (byEpoch < 0) return REJECTED;
    if (byEpoch === 0 && cmp(vSh, vSl, this.#sHi[i], this.#sLo[i]) <= 0) return REJECTED;
    const restarted = known && byEpoch > 0;
    const j = i >= 0 ? i : this.#ensure(u.NodeID);
    this.appliedIndex = j;
    if (known) this.#unlink(j);
    else this.#known++;
    this.#eHi[j] = vEh;
    this.#eLo[j] = vEl;
    this.#sHi[j] = vSh;
    this.#sLo[j] = vSl;
    this.#at[j] = now;
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
    listed.length = 0;
    const r = u instanceof GoUpdate ? u.ranges : undefined;
    if (r !== undefined) {
      if (r === null) return null;
      const b = (u as GoUpdate).body, st = r.starts, en = r.ends;
      for (let k = 0; k < st.length; k++) {
        const t = this.#index.getBytes(b, st[k], en[k]);
        listed.push(t >= 0 ? t : this.#ensure(internAscii(b, st[k], en[k])));
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
    const p = this.#rows, n = p.len[i], listed = this.#scratchListed;
    if (costs === null || n < 0) return costs === null && n < 0;
    if (listed.length !== n) return false;
    for (let k = 0; k < listed.length; k++) {
      const pos = this.#find(i, listed[k]);
      if (pos < 0 || p.cost[p.start[i] + pos] !== costs[k]) return false;
    }
    return true;
  }

  /** New row for `i` (the resolved list): kept edges stay in place, new ones follow in order. */
  #replaceRow(i: number, costsIn: number[] | null): void {
    const costs = costsIn ?? [];
    const stamp = ++this.#stamp, mark = this.#mark;
    const listed = this.#scratchListed;
    for (let k = 0; k < listed.length; k++) mark[listed[k]] = stamp;
    const p = this.#rows, os = p.start[i], on = Math.max(0, p.len[i]);
    // built in scratch arrays, then copied into the row's block (exact size if it moves)
    const to = this.#scratchTo, cost = this.#scratchCost;
    to.length = cost.length = listed.length;
    let j = 0;
    for (let k = 0; k < on; k++) {
      const t = p.to[os + k];
      if (mark[t] === stamp) {
        mark[t] = -stamp; // kept: its cost is set below
        this.#slot[t] = j;
        to[j] = t;
        cost[j++] = p.cost[os + k];
      } else this.#dropInbound(t, i);
    }
    for (let k = 0; k < listed.length; k++) {
      const t = listed[k];
      if (mark[t] === -stamp) {
        cost[this.#slot[t]] = costs[k];
        continue;
      }
      to[j] = t;
      cost[j++] = costs[k];
      this.#inAdd(t, i);
      this.edgeCount++;
    }
    // a node that lists nobody still has a (possibly empty) row
    const s = p.reserve(i, j, true);
    for (let k = 0; k < j; k++) {
      p.to[s + k] = to[k];
      p.cost[s + k] = cost[k];
    }
    p.len[i] = j;
    this.#pos[i] = undefined;
    if (this.#inCount[i] === 0) return;
    ++this.#stamp;
    for (const t of listed) mark[t] = this.#stamp;
    // the next slot is read first: a deletion frees only the slot being visited
    for (let e = this.#inHead[i]; e >= 0;) {
      const from = this.#eFrom[e];
      e = this.#eNext[e];
      if (from !== this.#self && mark[from] !== this.#stamp) this.#deleteEdge(from, i);
    }
  }

  /** Note that `from`'s row holds an edge to `to`. */
  #inAdd(to: number, from: number): void {
    let e = this.#eFree;
    if (e >= 0) this.#eFree = this.#eNext[e];
    else {
      e = this.#eTop++;
      if (e === this.#eFrom.length) {
        const f = new Int32Array(e * 2), n = new Int32Array(e * 2);
        f.set(this.#eFrom);
        n.set(this.#eNext);
        this.#eFrom = f;
        this.#eNext = n;
      }
    }
    this.#eFrom[e] = from;
    this.#eNext[e] = this.#inHead[to];
    this.#inHead[to] = e;
    this.#inCount[to]++;
  }

  /** The edge `from` → `to` left `from`'s row (already rewritten by the caller). */
  #dropInbound(to: number, from: number): void {
    this.edgeCount--;
    const ef = this.#eFrom, en = this.#eNext;
    for (let prev = -1, e = this.#inHead[to]; e >= 0; prev = e, e = en[e]) {
      if (ef[e] !== from) continue;
      if (prev < 0) this.#inHead[to] = en[e];
      else en[prev] = en[e];
      en[e] = this.#eFree;
      this.#eFree = e;
      this.#inCount[to]--;
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
    if (i < 0 || this.#eHi[i] < 0) return;
    const dh = u64Hi(u.SuspectedDuplicate), dl = u64Lo(u.SuspectedDuplicate);
    readVersion(u);
    if (
      cmp(dh, dl, this.#eHi[i], this.#eLo[i]) === 0 && cmp(vEh, vEl, dh, dl) < 0
    ) {
      this.#eHi[i] = vEh;
      this.#eLo[i] = vEl;
      this.#sHi[i] = vSh;
      this.#sLo[i] = vSl;
    }
  }

  /**
   * Shortest paths from self (Dijkstra). Only nodes that are keys of the table are routable;
   * an edge is used only when both ends announce it (a→b and b→a), at the larger of the two
   * costs, so one node cannot attract traffic by claiming a cheap edge to another; edges with
   * a non-finite or non-positive cost are ignored. Ties go to the first relaxation found.
   */
  computeRoutes(): Routes {
    const nextHop = new Map<string, string>();
    const pathCost = new Map<string, number>();
    this.#dijkstra((dest, hop, cost) => {
      nextHop.set(dest, hop);
      pathCost.set(dest, cost);
    });
    return { nextHop, pathCost };
  }

  /** Destination → next-hop peer (what the route table needs; no path costs). */
  computeNextHops(): Map<string, string> {
    const nextHop = new Map<string, string>();
    this.#dijkstra((dest, hop) => nextHop.set(dest, hop));
    return nextHop;
  }

  #dijkstra(found: (dest: string, hop: string, cost: number) => void): void {
    const n = this.#names.length, names = this.#names, p = this.#rows;
    const rs = p.start, rl = p.len, to = p.to, costs = p.cost;
    const dist = new Float64Array(n).fill(Infinity);
    const first = new Int32Array(n);
    const done = new Uint8Array(n);
    const heap = new RouteHeap();
    const self = this.#self;
    dist[self] = 0;
    heap.push(0, self);
    while (heap.size > 0) {
      const d = heap.topCost, node = heap.pop();
      if (done[node]) continue;
      done[node] = 1;
      if (node !== self) found(names[node], names[first[node]], d);
      const s = rs[node], len = rl[node];
      for (let k = 0; k < len; k++) {
        const nb = to[s + k];
        if (done[nb] || rl[nb] < 0) continue;
        const b = this.#find(nb, node);
        if (b < 0) continue;
        const fwd = costs[s + k], back = costs[rs[nb] + b];
        const c = fwd > back ? fwd : back;
        if (!(c > 0) || !Number.isFinite(c) || !(fwd > 0)) continue;
        const nd = d + c;
        if (nd < dist[nb]) {
          dist[nb] = nd;
          first[nb] = node === self ? nb : first[node];
          heap.push(nd, nb);
        }
      }
    }
  }

  /** A plain-object copy of the cost table (status output). */
  snapshot(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (let i = 0; i < this.#names.length; i++) {
      const p = this.#rows, s = p.start[i], n = p.len[i];
      if (n < 0) continue;
      const r: Record<string, number> = {};
      for (let k = 0; k < n; k++) r[this.#names[p.to[s + k]]] = p.cost[s + k];
      out[this.#names[i]] = r;
    }
    return out;
  }
}
