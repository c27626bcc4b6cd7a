/**
 * The route computation of the {@link Topology} (Dijkstra over its row pool), by node index:
 * the results are typed arrays reused from one computation to the next, and the route table
 * compares them by index. A Map of names built per computation (and three Map walks to compare
 * it with the previous one) was a third of a route computation in a 1,000-node convergence.
 * @module
 */

import { RouteHeap } from "./route_heap.ts";
import { REC, ROW_LEN, ROW_START, type RowPool } from "./row_pool.ts";

/** Rows longer than this get a target → position map for cost lookups (hubs). */
export const ROW_MAP_MIN = 12;

/** Position of `to` in the row of `from`, or -1; `pos` caches long rows' positions. */
export function findInRow(
  p: RowPool,
  pos: (Map<number, number> | undefined)[],
  from: number,
  to: number,
): number {
  const b = from * REC, n = p.meta[b + ROW_LEN], s = p.meta[b + ROW_START], t = p.to;
  if (n < ROW_MAP_MIN) {
    for (let k = 0; k < n; k++) if (t[s + k] === to) return k;
    return -1;
  }
  let m = pos[from];
  if (m === undefined) {
    m = new Map();
    for (let k = 0; k < n; k++) m.set(t[s + k], k);
    pos[from] = m;
  }
  return m.get(to) ?? -1;
}

/**
 * Routes of the last computation, by node index: `order[0, count)` the reachable nodes (self
 * excluded) in the order found, and for each of them `hop` (the peer's index) and `dist` (path
 * cost). Entries of other indices are stale. Overwritten by the next computation.
 */
export class HopTable {
  count = 0;
  order = new Int32Array(0);
  hop = new Int32Array(0);
  dist = new Float64Array(0);
}

/**
 * Shortest paths from `self` over the rows of `p` (indices below `n`) into `out`. Only nodes
 * with a row are routable; an edge is used only when both ends announce it (a→b and b→a), at
 * the larger of the two costs, so one node cannot attract traffic by claiming a cheap edge to
 * another; edges with a non-finite or non-positive cost are ignored. Ties go to the first
 * relaxation found.
 */
export function shortestPaths(
  p: RowPool,
  pos: (Map<number, number> | undefined)[],
  n: number,
  self: number,
  out: HopTable,
): void {
  if (out.hop.length < n) {
    const size = Math.max(n, 2 * out.hop.length);
    out.order = new Int32Array(size);
    out.hop = new Int32Array(size);
    out.dist = new Float64Array(size);
  }
  const m = p.meta, to = p.to, costs = p.cost, order = out.order, first = out.hop;
  const dist = out.dist.fill(Infinity, 0, n);
  const done = new Uint8Array(n);
  const heap = new RouteHeap();
  let count = 0;
  dist[self] = 0;
  heap.push(0, self);
  while (heap.size > 0) {
    const d = heap.topCost, node = heap.pop();
    if (done[node]) continue;
    done[node] = 1;
    if (node !== self) order[count++] = node;
    const s = m[node * REC + ROW_START], len = m[node * REC + ROW_LEN];
    for (let k = 0; k < len; k++) {
      const nb = to[s + k];
      if (done[nb] || m[nb * REC + ROW_LEN] < 0) continue;
      const b = findInRow(p, pos, nb, node);
      if (b < 0) continue;
      const fwd = costs[s + k], back = costs[m[nb * REC + ROW_START] + b];
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
  out.count = count;
}
