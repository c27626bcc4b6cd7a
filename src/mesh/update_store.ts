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

/** Latest update bytes per node, in slabs. */
export class UpdateStore {
  readonly #items = new Map<string, Uint8Array>();
  #slab = new Uint8Array(0);
  #used = 0;
  /** Bytes of slabs (and own buffers) handed out since the last compaction, that included. */
  #allocated = 0;
  #live = 0;

  /** Stored updates. */
  get size(): number {
    return this.#items.size;
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

  /** The stored update of `node`. */
  get(node: string): Uint8Array | undefined {
    return this.#items.get(node);
  }

  /** Store `bytes` (never modified afterwards) as the update of `node`. */
  set(node: string, bytes: Uint8Array): void {
    this.#live += bytes.length - (this.#items.get(node)?.length ?? 0);
    this.#items.set(node, bytes);
    if (this.#allocated > 2 * this.#live + 2 * SLAB_BYTES) this.#compact();
  }

  /** Forget the update of `node`. */
  delete(node: string): void {
    const b = this.#items.get(node);
    if (b === undefined) return;
    this.#live -= b.length;
    this.#items.delete(node);
  }

  /** Every (node, bytes), oldest stored first. */
  entries(): IterableIterator<[string, Uint8Array]> {
    return this.#items.entries();
  }

  #compact(): void {
    const all = new Uint8Array(this.#live);
    let at = 0;
    for (const [node, b] of this.#items) {
      all.set(b, at);
      this.#items.set(node, all.subarray(at, at + b.length));
      at += b.length;
    }
    this.#slab = new Uint8Array(0);
    this.#used = 0;
    this.#allocated = this.#live;
  }
}
