/**
 * The rows of the {@link Topology} (edge targets and their costs per node index) in two shared
 * typed arrays instead of two small JS arrays per row: every node holds a row per known node,
 * so a 1,000-node mesh's routers held two million small arrays (≈160 bytes each on the heap),
 * each copied by the young-generation collector before it settled. Here a row is a block
 * (start, length, capacity) of the pool; a row that outgrows its block moves to the pool's end
 * and the pool is compacted once the abandoned blocks outweigh the live ones.
 *
 * Bound: pool slots ≤ 2 × (live capacity + the block being placed) + {@link MIN_SLOTS}
 * (compaction is amortised O(1) per slot written: it leaves half the pool free). Callers
 * re-read {@link RowPool.to} and {@link RowPool.cost} after {@link RowPool.reserve}: it may
 * replace them.
 * @module
 */

const MIN_SLOTS = 256;

/** Row blocks of edge targets (`to`) and costs (`cost`) per node index. */
export class RowPool {
  to = new Int32Array(MIN_SLOTS);
  cost = new Float64Array(MIN_SLOTS);
  /** Per index: first slot, edges (-1: no row), slots held. */
  readonly start: number[] = [];
  readonly len: number[] = [];
  readonly cap: number[] = [];
  /** Slots handed out from the pool's end so far; slots held by live rows. */
  #top = 0;
  #live = 0;

  /** Index `i` starts with no row. */
  init(i: number): void {
    this.start[i] = 0;
    this.len[i] = -1;
    this.cap[i] = 0;
  }

  /** Drop `i`'s row (back to no row); its slots are garbage until the next compaction. */
  free(i: number): void {
    this.#live -= this.cap[i];
    this.len[i] = -1;
    this.cap[i] = 0;
  }

  /**
   * Room for `n` edges in `i`'s row, its current edges kept in place (a row is created empty if
   * there was none). `exact`: a new block holds exactly `n` (rows replaced whole), else it
   * doubles (rows grown one edge at a time). Returns the row's first slot.
   */
  reserve(i: number, n: number, exact: boolean): number {
    if (this.len[i] < 0) this.len[i] = 0;
    if (n <= this.cap[i]) return this.start[i];
    const want = exact ? n : Math.max(4, n, 2 * this.cap[i]);
    if (this.#top + want > this.to.length) this.#makeRoom(want);
    const s = this.#top, old = this.start[i], l = this.len[i];
    this.to.copyWithin(s, old, old + l);
    this.cost.copyWithin(s, old, old + l);
    this.#live += want - this.cap[i];
    this.start[i] = s;
    this.cap[i] = want;
    this.#top += want;
    return s;
  }

  /** Compact into a new pool of twice the live slots plus `want`. */
  #makeRoom(want: number): void {
    const need = this.#live + want;
    // twice what is needed (smaller than before if most of the pool was garbage): the half
    // left over keeps compactions amortised O(1) per slot written
    const size = Math.max(MIN_SLOTS, Math.ceil((2 * need) / MIN_SLOTS) * MIN_SLOTS);
    const to = new Int32Array(size), cost = new Float64Array(size);
    const oldTo = this.to, oldCost = this.cost;
    let at = 0;
    for (let i = 0; i < this.len.length; i++) {
      const c = this.cap[i];
      if (c === 0) continue;
      const s = this.start[i], l = this.len[i];
      for (let k = 0; k < l; k++) { // rows are short: a loop, no view objects
        to[at + k] = oldTo[s + k];
        cost[at + k] = oldCost[s + k];
      }
      this.start[i] = at;
      at += c;
    }
    this.to = to;
    this.cost = cost;
    this.#top = at;
  }

  /** Slots of the pool (for memory accounting in tests). */
  get slots(): number {
    return this.to.length;
  }
}
