/**
 * The min-heap of the route computation ({@link Topology.computeRoutes}): (cost, node index)
 * entries in parallel arrays, ties broken by insertion order so equal-cost paths resolve to
 * the first relaxation found.
 * @module
 */

/** Binary min-heap of (cost, insertion sequence) → node index. */
export class RouteHeap {
  readonly #cost: number[] = [];
  readonly #seq: number[] = [];
  readonly #node: number[] = [];
  #next = 0;

  /** Entries in the heap. */
  get size(): number {
    return this.#node.length;
  }

  /** Cost of the smallest entry (undefined when empty). */
  get topCost(): number {
    return this.#cost[0];
  }

  #less(i: number, j: number): boolean {
    const c = this.#cost;
    return c[i] < c[j] || (c[i] === c[j] && this.#seq[i] < this.#seq[j]);
  }

  #swap(i: number, j: number): void {
    const c = this.#cost, s = this.#seq, n = this.#node;
    let t = c[i];
    c[i] = c[j];
    c[j] = t;
    t = s[i];
    s[i] = s[j];
    s[j] = t;
    t = n[i];
    n[i] = n[j];
    n[j] = t;
  }

  /** Add `node` at `cost`. */
  push(cost: number, node: number): void {
    this.#cost.push(cost);
    this.#seq.push(this.#next++);
    this.#node.push(node);
    let i = this.#node.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(i, p)) break;
      this.#swap(i, p);
      i = p;
    }
  }

  /** Remove the smallest entry and return its node. */
  pop(): number {
    const top = this.#node[0];
    const last = this.#node.length - 1;
    this.#swap(0, last);
    this.#cost.pop();
    this.#seq.pop();
    this.#node.pop();
    const len = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < len && this.#less(l, m)) m = l;
      if (r < len && this.#less(r, m)) m = r;
      if (m === i) return top;
      this.#swap(i, m);
      i = m;
    }
  }
}
