/**
 * The rows of the {@link Topology} (edge targets and their costs per node index) in two shared
 * typed arrays instead of two small JS arrays per row: every node holds a row per known node,
 * so a 1,000-node mesh's routers held two million small arrays (≈160 bytes each on the heap),
 * each copied by the young-generation collector before it settled. Here a row is a block
 * (start, length, capacity) of the pool; a row that outgrows its block moves to the pool's end
 * and the pool is compacted once the abandoned blocks outweigh the live ones.
 *
 * Each index has one record of {@link REC} int32 slots in {@link RowPool.meta}: the row's
 * block first, then the owner's per-node fields (the topology's version, LRU links, reverse
 * index, marks): one cache line per node instead of one per field. Applying an update touches
 * ~5 nodes of a table that does not fit in the cache (1,000 routers × 1,000 nodes), and ~15
 * parallel per-field arrays made that ~60 cache misses.
 *
 * Bound: pool slots ≤ 8/3 × (live capacity + the block being placed) + {@link MIN_SLOTS}
 * (a pool under a quarter garbage doubles, else it is compacted to twice what is live:
 * amortised O(1) per slot written either way). Callers
 * re-read {@link RowPool.to} and {@link RowPool.cost} after {@link RowPool.reserve}: it may
 * replace them, and {@link RowPool.meta} after {@link RowPool.init}.
 * @module
 */

const MIN_SLOTS = 256;

/** Int32 slots per index record in {@link RowPool.meta} (64 bytes: one cache line). */
export const REC = 16;
/** Record slots of the row: first pool slot, edges (-1: no row), slots held. */
export const ROW_START = 0, ROW_LEN = 1, ROW_CAP = 2;
/** First record slot free for the owner (slots 3 … {@link REC} − 1). */
export const OWNER_FIELDS = 3;

/** Row blocks of edge targets (`to`) and costs (`cost`) per node index. */
export class RowPool {
  to = new Int32Array(MIN_SLOTS);
  cost = new Float64Array(MIN_SLOTS);
  /** Per index, {@link REC} slots: the row's (ROW_START, ROW_LEN, ROW_CAP), then the owner's. */
  meta = new Int32Array(16 * REC);
  /** The same memory as float64s ({@link REC} / 2 per index) for the owner's float fields. */
  metaF = new Float64Array(this.meta.buffer);
  /** Indices initialised so far (highest + 1). */
  #indices = 0;
  /** Slots handed out from the pool's end so far; slots held by live rows. */
  #top = 0;
  #live = 0;

  /** Index `i` starts with no row and a zeroed record. */
  init(i: number): void {
    if ((i + 1) * REC > this.meta.length) {
      const m = new Int32Array(Math.max(2 * this.meta.length, (i + 1) * REC));
      m.set(this.meta);
      this.meta = m;
      this.metaF = new Float64Array(m.buffer);
    }
    const m = this.meta, b = i * REC;
    for (let k = 0; k < REC; k++) m[b + k] = 0; // (a `fill` call per index was 2% of a flood)
    m[b + ROW_LEN] = -1;
    if (i >= this.#indices) this.#indices = i + 1;
  }

  /** First slot of `i`'s row. */
  startOf(i: number): number {
    return this.meta[i * REC + ROW_START];
  }

  /** Edges in `i`'s row (-1: no row). */
  lenOf(i: number): number {
    return this.meta[i * REC + ROW_LEN];
  }

  /** Set the number of edges in `i`'s row (within what {@link reserve} made room for). */
  setLen(i: number, n: number): void {
    this.meta[i * REC + ROW_LEN] = n;
  }

  /** Slots held by `i`'s row. */
  capOf(i: number): number {
    return this.meta[i * REC + ROW_CAP];
  }

  /** Drop `i`'s row (back to no row); its slots are garbage until the next compaction. */
  free(i: number): void {
    const b = i * REC;
    this.#live -= this.meta[b + ROW_CAP];
    this.meta[b + ROW_LEN] = -1;
    this.meta[b + ROW_CAP] = 0;
  }

  /**
   * Room for `n` edges in `i`'s row, its current edges kept in place (a row is created empty if
   * there was none). `exact`: a new block holds exactly `n` (rows replaced whole), else it
   * doubles (rows grown one edge at a time). Returns the row's first slot.
   */
  reserve(i: number, n: number, exact: boolean): number {
    const m = this.meta, b = i * REC;
    if (m[b + ROW_LEN] < 0) m[b + ROW_LEN] = 0;
    const cap = m[b + ROW_CAP];
    if (n <= cap) return m[b + ROW_START];
    const want = exact ? n : Math.max(4, n, 2 * cap);
    if (this.#top + want > this.to.length) this.#makeRoom(want);
    const s = this.#top, old = m[b + ROW_START], l = m[b + ROW_LEN];
    if (l >= 16) {
      this.to.copyWithin(s, old, old + l);
      this.cost.copyWithin(s, old, old + l);
    } else { // a short or new row: two copyWithin calls per new row were 1.1% of a flood
      const t = this.to, c = this.cost;
      for (let k = 0; k < l; k++) {
        t[s + k] = t[old + k];
        c[s + k] = c[old + k];
      }
    }
    this.#live += want - cap;
    m[b + ROW_START] = s;
    m[b + ROW_CAP] = want;
    this.#top += want;
    return s;
  }

  /**
   * A bigger pool: copied whole when little of it is garbage (a pool that only grows, as in a
   * mesh's first convergence: one memcpy, no walk over every index's record), else compacted
   * into a new pool of twice the live slots plus `want`.
   */
  #makeRoom(want: number): void {
    if (4 * (this.#top - this.#live) < this.#top) {
      const size = Math.max(2 * this.to.length, this.#top + want);
      const to = new Int32Array(size), cost = new Float64Array(size);
      to.set(this.to.subarray(0, this.#top));
      cost.set(this.cost.subarray(0, this.#top));
      this.to = to;
      this.cost = cost;
      return;
    }
    const need = this.#live + want;
    // twice what is needed (smaller than before if most of the pool was garbage): the half
    // left over keeps compactions amortised O(1) per slot written
    const size = Math.max(MIN_SLOTS, Math.ceil((2 * need) / MIN_SLOTS) * MIN_SLOTS);
    const to = new Int32Array(size), cost = new Float64Array(size);
    const oldTo = this.to, oldCost = this.cost, m = this.meta;
    let at = 0;
    for (let b = 0, end = this.#indices * REC; b < end; b += REC) {
      const c = m[b + ROW_CAP];
      if (c === 0) continue;
      const s = m[b + ROW_START], l = m[b + ROW_LEN];
      for (let k = 0; k < l; k++) { // rows are short: a loop, no view objects
        to[at + k] = oldTo[s + k];
        cost[at + k] = oldCost[s + k];
      }
      m[b + ROW_START] = at;
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
