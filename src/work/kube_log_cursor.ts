/**
 * Exactly-once pod log copying across reconnects (sans-IO).
 *
 * Logs are read with `timestamps=true`: every line arrives as `<RFC 3339 nano time> <text>`.
 * The cursor remembers the time of the last line it passed on and how many lines with exactly
 * that time it passed on. A reconnect asks for `sinceTime` = that time rounded down to the
 * second (what the API accepts), so the server repeats some lines; the cursor drops every
 * line older than its time and the first `count` lines at its time, and passes on the rest.
 * Upstream dropped every line not strictly newer than the last one (losing lines that share a
 * timestamp) and kept lines it could not place (repeating them); this does neither.
 *
 * The state ({@link CursorState}) is small and is saved beside the unit's stdout together
 * with the stdout length it belongs to, so a restarted node continues at the same place.
 * @module
 */

/** Where the copy stands: last line's time (ns since the epoch, as a decimal string), count. */
export interface CursorState {
  /** Nanoseconds since the epoch of the last line passed on ("" = none yet). */
  ts: string;
  /** Lines passed on whose time is exactly `ts`. */
  count: number;
}

/** Longest line held back waiting for its newline (bytes); longer ones are passed on as is. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

const TS_RE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

/** Parse an RFC 3339 (nano) time to ns since the epoch; null if it is not one. */
export function parseKubeTime(s: string): bigint | null {
  const m = TS_RE.exec(s);
  if (!m) return null;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return null;
  const frac = BigInt((m[2] ?? "").padEnd(9, "0"));
  return BigInt(ms) * 1_000_000n + frac;
}

/** The `sinceTime` for a cursor: its time rounded down to the second, RFC 3339. */
export function sinceTimeFor(state: CursorState): string | undefined {
  if (!state.ts) return undefined;
  const sec = BigInt(state.ts) / 1_000_000_000n;
  return new Date(Number(sec) * 1000).toISOString().replace(/\.\d+Z$/, "Z");
}

const SPACE = 0x20;
const NL = 0x0a;

/** Feeds one log stream at a time through the cursor. */
export class LogCursor {
  #ts: bigint | null;
  #count: number;
  /** Lines at exactly `#ts` seen in the current stream (for skipping the repeated ones). */
  #seenAtTs = 0;
  #pending: Uint8Array[] = [];
  #pendingLen = 0;
  /** Lines passed on that had no readable time (kept, never deduplicated). */
  untimed = 0;

  constructor(state: CursorState = { ts: "", count: 0 }) {
    this.#ts = state.ts ? BigInt(state.ts) : null;
    this.#count = state.count;
  }

  /** The state to save (valid after whole lines, i.e. between {@link push} calls). */
  get state(): CursorState {
    return { ts: this.#ts === null ? "" : this.#ts.toString(), count: this.#count };
  }

  /** Start reading a new stream (a reconnect): forget any half line of the old one. */
  newStream(): void {
    this.#seenAtTs = 0;
    this.#pending = [];
    this.#pendingLen = 0;
  }

  /** Feed bytes of the current stream; returns the output bytes for the unit's stdout. */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NL, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl + 1);
      const line = this.#pendingLen ? this.#join(piece) : piece;
      const kept = this.#line(line);
      if (kept) out.push(kept);
      start = nl + 1;
    }
    if (start < chunk.length) {
      this.#pending.push(chunk.slice(start));
      this.#pendingLen += chunk.length - start;
      if (this.#pendingLen > MAX_LINE_BYTES) {
        const kept = this.#line(this.#join(new Uint8Array(0)));
        if (kept) out.push(kept);
      }
    }
    return out;
  }

  /**
   * The stream ended for good (the pod finished and this was the last read): pass on a last
   * line that had no newline.
   */
  finish(): Uint8Array[] {
    if (!this.#pendingLen) return [];
    const kept = this.#line(this.#join(new Uint8Array(0)));
    return kept ? [kept] : [];
  }

  #join(tail: Uint8Array): Uint8Array {
    const all = new Uint8Array(this.#pendingLen + tail.length);
    let off = 0;
    for (const p of this.#pending) {
      all.set(p, off);
      off += p.length;
    }
    all.set(tail, off);
    this.#pending = [];
    this.#pendingLen = 0;
    return all;
  }

  /** One whole line `<time> <text>`: the text if it is new, else null. */
  #line(line: Uint8Array): Uint8Array | null {
    const sp = line.indexOf(SPACE);
    const ts = sp > 0 && sp <= 40
      ? parseKubeTime(new TextDecoder().decode(line.subarray(0, sp)))
      : null;
    if (ts === null) {
      this.untimed++;
      return line;
    }
    const text = line.subarray(sp + 1);
    if (this.#ts !== null && ts < this.#ts) return null;
    if (this.#ts !== null && ts === this.#ts) {
      this.#seenAtTs++;
      if (this.#seenAtTs <= this.#count) return null;
      this.#count++;
      return text;
    }
    this.#ts = ts;
    this.#count = 1;
    this.#seenAtTs = 1;
    return text;
  }
}
