/**
 * Receive-side reassembly for CRYPTO and STREAM data: accepts byte ranges at any offset, in any
 * order and with duplicates, and hands out the contiguous prefix without copying.
 * @module
 */

interface Chunk {
  off: number;
  data: Uint8Array;
}

/** Out-of-order byte-range reassembly buffer. */
export class RecvBuffer {
  /** Bytes already handed to the reader. */
  readOffset = 0;
  /** Highest end offset ever received. */
  highest = 0;
  /** Bytes currently buffered. */
  buffered = 0;
  #chunks: Chunk[] = [];

  /** Adds `data` at `off`; parts already read or buffered are dropped. */
  insert(off: number, data: Uint8Array): void {
    let end = off + data.length;
    if (end > this.highest) this.highest = end;
    if (off < this.readOffset) {
      if (end <= this.readOffset) return;
      data = data.subarray(this.readOffset - off);
      off = this.readOffset;
    }
    if (data.length === 0) return;
    const cs = this.#chunks;
    const n = cs.length;
    if (n === 0 || off >= cs[n - 1].off + cs[n - 1].data.length) {
      cs.push({ off, data });
      this.buffered += data.length;
      return;
    }
    // General case: fill only the gaps between existing chunks.
    end = off + data.length;
    let lo = 0, hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cs[mid].off + cs[mid].data.length <= off) lo = mid + 1;
      else hi = mid;
    }
    const pieces: Chunk[] = [];
    let cur = off;
    let i = lo;
    for (; i < n && cs[i].off < end; i++) {
      const c = cs[i];
      if (c.off > cur) pieces.push({ off: cur, data: data.subarray(cur - off, c.off - off) });
      cur = Math.max(cur, c.off + c.data.length);
      if (cur >= end) break;
    }
    if (cur < end) pieces.push({ off: cur, data: data.subarray(cur - off) });
    if (pieces.length === 0) return;
    // insert pieces keeping order
    for (const p of pieces) {
      this.buffered += p.data.length;
      let j = lo;
      while (j < cs.length && cs[j].off < p.off) j++;
      cs.splice(j, 0, p);
      lo = j + 1;
    }
  }

  /** True if the next unread byte is buffered. */
  get readable(): boolean {
    return this.#chunks.length > 0 && this.#chunks[0].off === this.readOffset;
  }

  /** Returns up to `max` contiguous bytes at the read offset (possibly empty), advancing it. */
  read(max = Infinity): Uint8Array {
    const cs = this.#chunks;
    if (cs.length === 0 || cs[0].off !== this.readOffset) return new Uint8Array(0);
    const c = cs[0];
    if (c.data.length <= max) {
      cs.shift();
      this.readOffset += c.data.length;
      this.buffered -= c.data.length;
      return c.data;
    }
    const out = c.data.subarray(0, max);
    c.data = c.data.subarray(max);
    c.off += max;
    this.readOffset += max;
    this.buffered -= max;
    return out;
  }

  /** Drops all buffered data (after a reset). */
  clear(): void {
    this.#chunks = [];
    this.buffered = 0;
  }
}
