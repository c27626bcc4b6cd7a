/**
 * Send-side buffer for CRYPTO and STREAM data: keeps written bytes until acknowledged, hands out
 * ranges to transmit (lost ranges first, then new data) and tracks the FIN.
 * @module
 */
import { RangeSet } from "./range_set.ts";
import { registerIdleTrim } from "../util/idle_trim.ts";

/** Size of the pooled storage blocks bulk stream data is copied into. */
const BLOCK = 64 * 1024;
/**
 * Released blocks kept for reuse, process-wide (at most MAX_POOLED, i.e. 16 MiB); emptied
 * when the process is idle (src/util/idle_trim.ts).
 */
const pool: Uint8Array[] = [];
const MAX_POOLED = 256;
registerIdleTrim(() => void (pool.length = 0));

/** A block for at least `want` bytes: a pooled 64 KiB block, or a small fresh one. */
function takeBlock(want: number): Uint8Array {
  if (want >= BLOCK / 2) return pool.pop() ?? new Uint8Array(BLOCK);
  return new Uint8Array(Math.max(1024, 1 << Math.ceil(Math.log2(want))));
}

/** Returns a block nobody reads any more to the pool (small blocks are left to the GC). */
function giveBlock(b: Uint8Array): void {
  if (b.length === BLOCK && pool.length < MAX_POOLED) pool.push(b);
}

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
  /** Storage blocks holding [chunkBase, writeOffset); `#used[i]` bytes of block i are data. */
  #chunks: Uint8Array[] = [];
  #used: number[] = [];
  #chunkBase = 0; // offset of chunks[head]
  #head = 0; // index of first live chunk

  /**
   * Appends a copy of `data` (the caller applies flow control and may reuse its array at once).
   * Bulk data goes into pooled 64 KiB blocks, so a busy stream neither allocates nor leaves
   * garbage per write; small streams start with small blocks.
   */
  write(data: Uint8Array): void {
    let off = 0;
    const cs = this.#chunks, used = this.#used;
    while (off < data.length) {
      let last = cs.length - 1;
      if (last < this.#head || used[last] === cs[last].length) {
        const prev = last >= this.#head ? cs[last].length : 0;
        cs.push(takeBlock(Math.max(data.length - off, prev * 2)));
        used.push(0);
        last++;
      }
      const block = cs[last];
      const n = Math.min(block.length - used[last], data.length - off);
      block.set(n === data.length ? data : data.subarray(off, off + n), used[last]);
      used[last] += n;
      off += n;
    }
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
    const cs = this.#chunks, used = this.#used;
    while (i < cs.length && base + used[i] <= off) {
      base += used[i];
      i++;
    }
    let done = 0;
    while (done < len && i < cs.length) {
      const start = off + done - base;
      const take = Math.min(used[i] - start, len - done);
      out.set(cs[i].subarray(start, start + take), pos + done);
      done += take;
      base += used[i];
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
    const cs = this.#chunks, used = this.#used;
    // a block is released once acknowledged and full (the last one may still be filling)
    while (
      this.#head < cs.length && used[this.#head] === cs[this.#head].length &&
      this.#chunkBase + used[this.#head] <= this.ackedPrefix
    ) {
      this.#chunkBase += used[this.#head];
      giveBlock(cs[this.#head]);
      this.#head++;
    }
    if (this.#head > 64 && this.#head * 2 > cs.length) {
      this.#chunks = cs.slice(this.#head);
      this.#used = used.slice(this.#head);
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
    for (let i = this.#head; i < this.#chunks.length; i++) giveBlock(this.#chunks[i]);
    this.#chunkBase = this.writeOffset;
    this.#chunks = [];
    this.#used = [];
    this.#head = 0;
    this.#lost.clear();
    this.unsent = this.writeOffset;
  }
}
