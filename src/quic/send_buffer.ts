/**
 * Send-side buffer for CRYPTO and STREAM data: keeps written bytes until acknowledged, hands out
 * ranges to transmit (lost ranges first, then new data) and tracks the FIN.
 * @module
 */
import { RangeSet } from "./range_set.ts";

/** Written-but-unacknowledged bytes of one stream. */
export class SendBuffer {
  /** Total bytes written (the next write offset). */
  writeOffset = 0;
  /** Next never-sent offset. */
  unsent = 0;
  /** Every byte below this offset is acknowledged. */
  ackedPrefix = 0;
  /** FIN requested by the application. */
  finWritten = false;
  /** FIN sent at least once and not since declared lost. */
  finPending = false;
  /** FIN acknowledged. */
  finAcked = false;
  #acked = new RangeSet();
  #lost = new RangeSet();
  #chunks: Uint8Array[] = [];
  #chunkBase = 0; // offset of chunks[0]
  #head = 0; // index of first live chunk

  /** Appends bytes (the caller applies flow control). The array must not be mutated later. */
  write(data: Uint8Array): void {
    if (data.length === 0) return;
    this.#chunks.push(data);
    this.writeOffset += data.length;
  }

  /** Bytes written but not yet acknowledged. */
  get unacked(): number {
    return this.writeOffset - this.ackedPrefix;
  }

  /** True if there is anything (data or FIN) to transmit. */
  get hasPending(): boolean {
    return !this.#lost.empty || this.unsent < this.writeOffset ||
      (this.finWritten && !this.finPending && !this.finAcked);
  }

  /** True when all data and the FIN are acknowledged. */
  get allAcked(): boolean {
    return this.finWritten && this.finAcked && this.ackedPrefix === this.writeOffset;
  }

  /**
   * Picks the next range to send, at most `maxLen` bytes: lost data first, then new data.
   * Returns offset, length and whether the FIN goes with it.
   */
  next(maxLen: number): { off: number; len: number; fin: boolean } | undefined {
    if (!this.#lost.empty) {
      const r = this.#lost.popFirst(maxLen)!;
      const fin = this.finWritten && r[1] === this.writeOffset && !this.finAcked;
      if (fin) this.finPending = true;
      return { off: r[0], len: r[1] - r[0], fin };
    }
    if (this.unsent < this.writeOffset) {
      const off = this.unsent;
      const len = Math.min(maxLen, this.writeOffset - off);
      this.unsent += len;
      const fin = this.finWritten && this.unsent === this.writeOffset;
      if (fin) this.finPending = true;
      return { off, len, fin };
    }
    if (this.finWritten && !this.finPending && !this.finAcked) {
      this.finPending = true;
      return { off: this.writeOffset, len: 0, fin: true };
    }
    return undefined;
  }

  /** Copies bytes [off, off+len) into `out` at `pos`. */
  copy(off: number, len: number, out: Uint8Array, pos: number): void {
    let base = this.#chunkBase;
    let i = this.#head;
    const cs = this.#chunks;
    while (i < cs.length && base + cs[i].length <= off) {
      base += cs[i].length;
      i++;
    }
    let done = 0;
    while (done < len && i < cs.length) {
      const c = cs[i];
      const start = off + done - base;
      const take = Math.min(c.length - start, len - done);
      out.set(start === 0 && take === c.length ? c : c.subarray(start, start + take), pos + done);
      done += take;
      base += c.length;
      i++;
    }
  }

  /** Marks [off, off+len) (and the FIN if `fin`) acknowledged. Returns true if the prefix advanced. */
  ack(off: number, len: number, fin: boolean): boolean {
    if (fin) this.finAcked = true;
    if (len === 0) return false;
    this.#acked.insert(off, off + len);
    this.#lost.remove(off, off + len);
    const first = this.#acked.starts[0];
    if (first !== 0 || this.#acked.ends[0] <= this.ackedPrefix) return false;
    this.ackedPrefix = this.#acked.ends[0];
    // drop fully acknowledged chunks
    const cs = this.#chunks;
    while (this.#head < cs.length && this.#chunkBase + cs[this.#head].length <= this.ackedPrefix) {
      this.#chunkBase += cs[this.#head].length;
      this.#head++;
    }
    if (this.#head > 64 && this.#head * 2 > cs.length) {
      this.#chunks = cs.slice(this.#head);
      this.#head = 0;
    }
    return true;
  }

  /** Marks [off, off+len) (and the FIN if `fin`) lost: it will be resent unless acknowledged. */
  lost(off: number, len: number, fin: boolean): void {
    if (fin && !this.finAcked) this.finPending = false;
    if (len === 0) return;
    const end = off + len;
    // add only the unacknowledged parts
    let cur = Math.max(off, this.ackedPrefix);
    const st = this.#acked.starts, en = this.#acked.ends;
    for (let i = 0; i < st.length && cur < end; i++) {
      if (en[i] <= cur) continue;
      if (st[i] >= end) break;
      if (st[i] > cur) this.#lost.insert(cur, st[i]);
      cur = Math.max(cur, en[i]);
    }
    if (cur < end) this.#lost.insert(cur, end);
    if (!this.#lost.empty && this.finWritten && this.#lost.max()! + 1 === this.writeOffset) {
      this.finPending = false;
    }
  }

  /** Drops everything (after a reset). */
  clear(): void {
    this.#chunks = [];
    this.#head = 0;
    this.#lost.clear();
    this.unsent = this.writeOffset;
  }
}
