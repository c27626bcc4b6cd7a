/**
 * The min-heap of the route computation ({@link Topology.computeRoutes}): (cost, node index)
 * entries in parallel typed arrays, ties broken by insertion order so equal-cost paths resolve
 * to the first relaxation found. One heap serves every computation of a topology
 * ({@link RouteHeap.clear}): three JS arrays grown by `push` per computation, and a swap per
 * level, were a third of a route computation.
 * @module
 */

/** Binary min-heap of (cost, insertion sequence) → node index. */
export class RouteHeap {
  #cost = new Float64Array(64);
  #seq = new Int32Array(64);
  #node = new Int32Array(64);
  #size = 0;
  #next = 0;

  /** Entries in the heap. */
  get size(): number {
    return this.#size;
  }

  /** Cost of the smallest entry (only meaningful when not empty). */
  get topCost(): number {
    return this.#cost[0];
  }

  /** Empty the heap (its room is kept for the next computation). */
  clear(): void {
    this.#size = this.#next = 0;
  }

  #grow(): void {
    const n = 2 * this.#node.length;
    const c = new Float64Array(n), s = new Int32Array(n), d = new Int32Array(n);
    c.set(this.#cost);
    s.set(this.#seq);
    d.set(this.#node);
    this.#cost = c;
    this.#seq = s;
    this.#node = d;
  }

  /** Add `node` at `cost` (a later entry goes after earlier ones of the same cost). */
  push(cost: number, node: number): void {
    if (this.#size === this.#node.length) this.#grow();
    const cs = this.#cost, ss = this.#seq, ns = this.#node, q = this.#next++;
    let i = this.#size++;
    while (i > 0) { // the hole moves up: no swaps
      const p = (i - 1) >> 1, pc = cs[p];
      if (pc < cost || (pc === cost && ss[p] < q)) break;
      cs[i] = pc;
      ss[i] = ss[p];
      ns[i] = ns[p];
      i = p;
    }
    cs[i] = cost;
    ss[i] = q;
    ns[i] = node;
  }

  /** Remove the smallest entry and return its node. */
  pop(): number {
    const cs = this.#cost, ss = this.#seq, ns = this.#node, top = ns[0];
    const n = --this.#size;
    if (n <= 0) return top;
    const c = cs[n], q = ss[n], node = ns[n];
    let i = 0;
    for (;;) { // the last entry's hole moves down from the root
      let m = 2 * i + 1;
      if (m >= n) break;
      const r = m + 1;
      if (r < n && (cs[r] < cs[m] || (cs[r] === cs[m] && ss[r] < ss[m]))) m = r;
      if (c < cs[m] || (c === cs[m] && q < ss[m])) break;
      cs[i] = cs[m];
      ss[i] = ss[m];
      ns[i] = ns[m];
      i = m;
    }
    cs[i] = c;
    ss[i] = q;
    ns[i] = node;
    return top;
  }
}
