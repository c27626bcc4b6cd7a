/**
 * A set of non-overlapping half-open integer ranges [start, end), kept sorted. Used for received
 * packet numbers (ACK generation), acknowledged stream bytes and retransmission queues. Appending
 * at the end (the common case) is O(1).
 * @module
 */

/** Sorted, merged half-open ranges. */
export class RangeSet {
  /** Starts (inclusive), ascending. */
  starts: number[] = [];
  /** Ends (exclusive), matching `starts`. */
  ends: number[] = [];

  /** Number of disjoint ranges. */
  get length(): number {
    return this.starts.length;
  }
  /** True when empty. */
  get empty(): boolean {
    return this.starts.length === 0;
  }
  /** Smallest member (undefined if empty). */
  min(): number | undefined {
    return this.starts[0];
  }
  /** Largest member (undefined if empty). */
  max(): number | undefined {
    const n = this.ends.length;
    return n ? this.ends[n - 1] - 1 : undefined;
  }
  /** Index of the first range whose end >= v. */
  #lowerEnd(v: number): number {
    let lo = 0, hi = this.ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ends[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  /** Adds [start, end). Returns true if any new value was added. */
  insert(start: number, end: number): boolean {
    if (end <= start) return false;
    const n = this.starts.length;
    if (n === 0 || start > this.ends[n - 1]) {
      this.starts.push(start);
      this.ends.push(end);
      return true;
    }
    if (start >= this.starts[n - 1] && start <= this.ends[n - 1]) {
      if (end <= this.ends[n - 1]) return false;
      this.ends[n - 1] = end;
      return true;
    }
    const i = this.#lowerEnd(start); // first range that ends at or after start
    let j = i;
    while (j < n && this.starts[j] <= end) j++;
    // ranges i..j-1 touch/overlap [start,end)
    if (j === i) {
      this.starts.splice(i, 0, start);
      this.ends.splice(i, 0, end);
      return true;
    }
    const ns = Math.min(start, this.starts[i]);
    const ne = Math.max(end, this.ends[j - 1]);
    let covered = 0;
    for (let k = i; k < j; k++) covered += this.ends[k] - this.starts[k];
    const added = ne - ns > covered;
    this.starts.splice(i, j - i, ns);
    this.ends.splice(i, j - i, ne);
    return added;
  }
  /** True if `v` is in the set. */
  contains(v: number): boolean {
    const i = this.#lowerEnd(v + 1);
    return i < this.starts.length && this.starts[i] <= v;
  }
  /** Removes [start, end). */
  remove(start: number, end: number): void {
    if (end <= start || this.starts.length === 0) return;
    const out: [number[], number[]] = [[], []];
    for (let k = 0; k < this.starts.length; k++) {
      const s = this.starts[k], e = this.ends[k];
      if (e <= start || s >= end) {
        out[0].push(s);
        out[1].push(e);
        continue;
      }
      if (s < start) {
        out[0].push(s);
        out[1].push(start);
      }
      if (e > end) {
        out[0].push(end);
        out[1].push(e);
      }
    }
    this.starts = out[0];
    this.ends = out[1];
  }
  /** Removes and returns the lowest range, clipped to at most `maxLen` values. */
  popFirst(maxLen: number): [number, number] | undefined {
    if (this.starts.length === 0) return undefined;
    const s = this.starts[0];
    const e = Math.min(this.ends[0], s + maxLen);
    if (e === this.ends[0]) {
      this.starts.shift();
      this.ends.shift();
    } else {
      this.starts[0] = e;
    }
    return [s, e];
  }
  /** Drops the lowest ranges so at most `max` remain. */
  trimTo(max: number): void {
    const extra = this.starts.length - max;
    if (extra > 0) {
      this.starts.splice(0, extra);
      this.ends.splice(0, extra);
    }
  }
  /** Removes everything below `v`. */
  removeBelow(v: number): void {
    while (this.starts.length && this.ends[0] <= v) {
      this.starts.shift();
      this.ends.shift();
    }
    if (this.starts.length && this.starts[0] < v) this.starts[0] = v;
  }
  /** Removes all ranges. */
  clear(): void {
    this.starts = [];
    this.ends = [];
  }
}
