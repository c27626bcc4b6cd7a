/**
 * The latest routing update of each known node, as re-flood bytes (what a new neighbour is
 * handed), packed into shared slabs: one `ArrayBuffer` per update cost more than its bytes in
 * a big mesh (a buffer object, a backing-store record and a malloc each; every node stores one
 * update per known node), and allocating them was the largest single cost of a flood.
 *
 * Bound: slabs are never written twice (queued views of a replaced update stay valid), so
 * replaced updates leave garbage in them; when the slab bytes allocated since the last
 * compaction pass twice the live bytes (plus two slabs), the live updates are copied into one
 * exact-size buffer. Slab memory held by stored updates is thus at most 2 × their bytes + 2
 * slabs, and the copying is amortised O(1) per stored byte.
 * @module
 */

/** Bytes of one slab; a message of more than a quarter of it gets a buffer of its own. */
export const SLAB_BYTES = 16 * 1024;

/**
 * Latest update bytes per node, in slabs, by the node's index (the router's topology index: no
 * Map of names). An entry is (buffer, offset, length) in per-index arrays, not a view object: a
 * `Uint8Array` view per stored update was ~10% of a big mesh's kept heap (every node stores one
 * per known node). Views are made when one is read.
 */
export class UpdateStore {
  /** Stored updates. */
  #count = 0;
  /** Per index: the buffer (a slab, or a message's own), offset and length (-1: none). */
  readonly #ref: Uint8Array[] = [];
  readonly #off: number[] = [];
  readonly #len: number[] = [];
  #slab = new Uint8Array(0);
  #used = 0;
  /** Bytes of slabs (and own buffers) handed out since the last compaction, that included. */
  #allocated = 0;
  #live = 0;

  /** Stored updates. */
  get size(): number {
    return this.#count;
  }

  /** Bytes of the stored updates. */
  get bytes(): number {
    return this.#live;
  }

  /** Bytes of slab memory the store accounts for (for tests: the bound above). */
  get allocatedBytes(): number {
    return this.#allocated;
  }

  /** Room for a new message of `n` bytes (filled by the caller before {@link set}). */
  alloc(n: number): Uint8Array {
    if (n > SLAB_BYTES / 4) {
      this.#allocated += n;
      return new Uint8Array(n);
    }
    if (this.#used + n > this.#slab.length) {
      this.#slab = new Uint8Array(SLAB_BYTES);
      this.#used = 0;
      this.#allocated += SLAB_BYTES;
    }
    const v = this.#slab.subarray(this.#used, this.#used + n);
    this.#used += n;
    return v;
  }

  #has(k: number): boolean {
    return k < this.#len.length && this.#len[k] >= 0;
  }

  /** The stored update of node index `k` (a new view). */
  get(k: number): Uint8Array | undefined {
    return this.#has(k) ? this.#view(k) : undefined;
  }

  /** Bytes of the stored update of node index `k` (0: none). */
  lengthOf(k: number): number {
    return this.#has(k) ? this.#len[k] : 0;
  }

  #view(k: number): Uint8Array {
    return this.#ref[k].subarray(this.#off[k], this.#off[k] + this.#len[k]);
  }

  /** Store `bytes` (never modified afterwards) as the update of node index `k`. */
  set(k: number, bytes: Uint8Array): void {
    if (this.#has(k)) this.#live -= this.#len[k];
    else {
      for (let j = this.#len.length; j < k; j++) this.#unset(j);
      this.#count++;
    }
    this.#live += bytes.length;
    const whole = bytes.byteOffset === 0 && bytes.length === bytes.buffer.byteLength;
    this.#ref[k] = bytes.buffer === this.#slab.buffer
      ? this.#slab
      : whole
      ? bytes
      : new Uint8Array(bytes.buffer);
    this.#off[k] = bytes.byteOffset;
    this.#len[k] = bytes.length;
    if (this.#allocated > 2 * this.#live + 2 * SLAB_BYTES) this.#compact();
  }

  #unset(k: number): void {
    this.#ref[k] = EMPTY;
    this.#off[k] = 0;
    this.#len[k] = -1;
  }

  /** Forget the update of node index `k`. */
  delete(k: number): void {
    if (!this.#has(k)) return;
    this.#live -= this.#len[k];
    this.#count--;
    this.#unset(k);
  }

  /** Every (node index, bytes), by index. */
  *entries(): IterableIterator<[number, Uint8Array]> {
    for (let k = 0; k < this.#len.length; k++) if (this.#len[k] >= 0) yield [k, this.#view(k)];
  }

  #compact(): void {
    const all = new Uint8Array(this.#live);
    let at = 0;
    for (let k = 0; k < this.#len.length; k++) {
      if (this.#len[k] < 0) continue;
      all.set(this.#view(k), at);
      this.#ref[k] = all;
      this.#off[k] = at;
      at += this.#len[k];
    }
    this.#slab = new Uint8Array(0);
    this.#used = 0;
    this.#allocated = this.#live;
  }
}

const EMPTY = new Uint8Array(0);
