/**
 * The mesh topology as one node knows it (wire.md §5.4 steps 4–6, §5.7, §5.8): a directed cost
 * table `costs[node][neighbor]`, the (epoch, sequence) last accepted per node, and shortest-path
 * next hops computed from it.
 * @module
 */

import type { RoutingUpdate } from "./messages.ts";

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

function sameRow(a: Record<string, number> | null, b: Map<string, number> | undefined): boolean {
  // Go compares with reflect.DeepEqual: a nil map differs from an empty one.
  if (a === null || b === undefined) return a === null && b === undefined;
  const keys = Object.keys(a);
  if (keys.length !== b.size) return false;
  for (const k of keys) if (b.get(k) !== a[k]) return false;
  return true;
}

/** Min-heap of (cost, seq, node) used by the route computation. */
class Heap {
  #items: [number, number, string][] = [];
  get size(): number {
    return this.#items.length;
  }
  push(item: [number, number, string]): void {
    const a = this.#items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }
  pop(): [number, number, string] {
    const a = this.#items;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && less(a[l], a[m])) m = l;
        if (r < a.length && less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

function less(x: [number, number, string], y: [number, number, string]): boolean {
  return x[0] < y[0] || (x[0] === y[0] && x[1] < y[1]);
}

/**
 * Topology table plus per-node versions for one local node. Applying an update costs
 * O(edges of the old and new row), not a scan of the table: a reverse index `inbound[n]`
 * (nodes whose row has an edge to `n`) finds the edges to drop (wire.md §5.4 step 6).
 */
export class Topology {
  /** `costs[node][neighbor]` — exposed in status as KnownConnectionCosts. */
  readonly costs = new Map<string, Map<string, number>>();
  /**
   * Last accepted (epoch, sequence) per remote node, least recently accepted first (an
   * accepted update moves its node to the end).
   */
  readonly versions = new Map<string, NodeVersion>();
  /** `inbound[n]`: nodes whose row holds an edge to `n`. */
  readonly #inbound = new Map<string, Set<string>>();

  /** `self` is the local node ID. */
  constructor(readonly self: string) {}

  #row(node: string): Map<string, number> {
    let r = this.costs.get(node);
    if (!r) {
      r = new Map();
      this.costs.set(node, r);
    }
    return r;
  }

  /** Directed edges in the table. */
  edgeCount = 0;

  /** Edges in `node`'s row. */
  rowSize(node: string): number {
    return this.costs.get(node)?.size ?? 0;
  }

  #setEdge(from: string, to: string, cost: number): void {
    const row = this.#row(from);
    if (!row.has(to)) this.edgeCount++;
    row.set(to, cost);
    let s = this.#inbound.get(to);
    if (!s) this.#inbound.set(to, s = new Set());
    s.add(from);
  }

  #deleteEdge(from: string, to: string): void {
    if (this.costs.get(from)?.delete(to)) this.edgeCount--;
    const s = this.#inbound.get(to);
    if (s) {
      s.delete(from);
      if (s.size === 0) this.#inbound.delete(to);
    }
  }

  /** A connection to `peer` was established: both directed edges get `cost`. */
  addLocalEdge(peer: string, cost: number): void {
    this.#setEdge(this.self, peer, cost);
    this.#setEdge(peer, this.self, cost);
  }

  /** The connection to `peer` ended: both directed edges go. */
  removeLocalEdge(peer: string): void {
    this.#deleteEdge(peer, this.self);
    this.#deleteEdge(this.self, peer);
  }

  /** Number of remote nodes with a stored version. */
  get knownNodes(): number {
    return this.versions.size;
  }

  /** The remote node whose last accepted update is oldest, with that version. */
  oldest(): [string, NodeVersion] | undefined {
    for (const e of this.versions) return e;
    return undefined;
  }

  /** Forget `node` entirely: its version and its row (edges into it stay with their owners). */
  forget(node: string): void {
    this.versions.delete(node);
    const row = this.costs.get(node);
    if (row) { for (const to of [...row.keys()]) this.#deleteEdge(node, to); }
    if (node !== this.self) this.costs.delete(node);
  }

  /**
   * Apply a normal (non-duplicate-notice) update from another node: version check, then row
   * replacement and removal of edges into `NodeID` from nodes it no longer lists.
   */
  applyUpdate(u: RoutingUpdate, now = 0): ApplyResult {
    const known = this.versions.get(u.NodeID);
    if (known) {
      if (u.UpdateEpoch < known.epoch) return { accepted: false };
      if (u.UpdateEpoch === known.epoch && u.UpdateSequence <= known.sequence) {
        return { accepted: false };
      }
    }
    const restarted = known !== undefined && u.UpdateEpoch > known.epoch;
    this.versions.delete(u.NodeID);
    this.versions.set(u.NodeID, { epoch: u.UpdateEpoch, sequence: u.UpdateSequence, at: now });
    const changed = !sameRow(u.Connections, this.costs.get(u.NodeID));
    if (changed) this.#replaceRow(u.NodeID, u.Connections);
    return { accepted: true, newNode: !known, changed, restarted };
  }

  #replaceRow(node: string, conns: Record<string, number> | null): void {
    const c = conns ?? {};
    const old = this.costs.get(node);
    if (old) {
      for (const to of [...old.keys()]) if (!Object.hasOwn(c, to)) this.#deleteEdge(node, to);
    }
    this.#row(node); // a node that lists nobody still has a (possibly empty) row
    for (const [to, cost] of Object.entries(c)) this.#setEdge(node, to, cost);
    const into = this.#inbound.get(node);
    if (!into) return;
    for (const from of [...into]) {
      if (from !== this.self && !Object.hasOwn(c, from)) this.#deleteEdge(from, node);
    }
  }

  /**
   * Apply a suspected-duplicate notice: if the stored epoch for `NodeID` equals the suspected
   * one and the notice's epoch is older (a genuine notice comes from the older instance),
   * adopt the notice's (epoch, sequence). Connections are not applied. A notice claiming a
   * newer epoch would let a forger silence the node's real updates, so it is not adopted.
   */
  applyDuplicateNotice(u: RoutingUpdate): void {
    const known = this.versions.get(u.NodeID);
    if (known && known.epoch === u.SuspectedDuplicate && u.UpdateEpoch < known.epoch) {
      known.epoch = u.UpdateEpoch;
      known.sequence = u.UpdateSequence;
    }
  }

  /**
   * Shortest paths from self (Dijkstra). Only nodes that are keys of the table are routable;
   * an edge is used only when both ends announce it (a→b and b→a), at the larger of the two
   * costs, so one node cannot attract traffic by claiming a cheap edge to another; edges with
   * a non-finite or non-positive cost are ignored. Ties go to the first relaxation found.
   */
  computeRoutes(): Routes {
    const dist = new Map<string, number>([[this.self, 0]]);
    /** First hop of the best path found so far (set with the predecessor: O(1) per edge). */
    const first = new Map<string, string>();
    const done = new Set<string>();
    const heap = new Heap();
    let seq = 0;
    heap.push([0, seq++, this.self]);
    while (heap.size > 0) {
      const [d, , node] = heap.pop();
      if (done.has(node)) continue;
      done.add(node);
      const row = this.costs.get(node);
      if (!row) continue;
      for (const [nb, fwd] of row) {
        if (done.has(nb)) continue;
        const back = this.costs.get(nb)?.get(node);
        if (back === undefined) continue;
        const c = fwd > back ? fwd : back;
        if (!(c > 0) || !Number.isFinite(c) || !(fwd > 0)) continue;
        const nd = d + c;
        const old = dist.get(nb);
        if (old === undefined || nd < old) {
          dist.set(nb, nd);
          first.set(nb, node === this.self ? nb : first.get(node)!);
          heap.push([nd, seq++, nb]);
        }
      }
    }
    const nextHop = new Map<string, string>();
    const pathCost = new Map<string, number>();
    for (const dest of done) {
      if (dest === this.self) continue;
      pathCost.set(dest, dist.get(dest)!);
      nextHop.set(dest, first.get(dest)!);
    }
    return { nextHop, pathCost };
  }

  /** A plain-object copy of the cost table (status output). */
  snapshot(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [node, row] of this.costs) out[node] = Object.fromEntries(row);
    return out;
  }
}
