/**
 * The per-link queue of flooded messages (routing updates of other nodes, service ads,
 * duplicate notices) between the {@link Router} and a link, sans-IO. Messages are keyed by
 * what they describe (origin node, or node + service): a newer message for a key replaces the
 * queued one in place, so the queue never holds two for the same origin and its length is
 * bounded by the number of known nodes and ads. The router releases it in paced slices (see
 * {@link LinkQueue.release}), so a replay of the whole state to a new neighbour never blocks
 * keepalives or data.
 * @module
 */

/** Bytes released to one link per pacing window. */
export const SLICE_BYTES = 64 * 1024;
/** Pacing window (ms). */
export const PACE_MS = 10;
/** Bytes waiting in the link's own send buffer above which nothing more is released. */
export const BACKLOG_LOW_WATER = 256 * 1024;

/** Keyed, coalescing FIFO of flood messages for one link. */
export class LinkQueue {
  readonly #items = new Map<string, Uint8Array>();
  #bytes = 0;
  #windowAt = -Infinity;
  #windowBytes = 0;
  /** `clock.now()` since when the queue is waiting on a full link, if it is. */
  blockedSince?: number;

  /** Messages queued. */
  get size(): number {
    return this.#items.size;
  }

  /** Bytes queued. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Queue `bytes` under `key`, replacing (in place) a message queued for the same key. */
  put(key: string, bytes: Uint8Array): void {
    const old = this.#items.get(key);
    if (old) this.#bytes -= old.length;
    this.#items.set(key, bytes);
    this.#bytes += bytes.length;
  }

  /** Drop everything. */
  clear(): void {
    this.#items.clear();
    this.#bytes = 0;
  }

  /**
   * Hand queued messages to `send` in order, at most {@link SLICE_BYTES} per {@link PACE_MS}
   * window and none while `backlog` (bytes the link has not written yet) exceeds
   * {@link BACKLOG_LOW_WATER}. Returns when to try again, or undefined once empty.
   */
  release(now: number, backlog: number, send: (bytes: Uint8Array) => void): number | undefined {
    if (this.#items.size === 0) {
      this.blockedSince = undefined;
      return undefined;
    }
    if (backlog > BACKLOG_LOW_WATER) {
      this.blockedSince ??= now;
      return now + PACE_MS;
    }
    this.blockedSince = undefined;
    if (now >= this.#windowAt + PACE_MS) {
      this.#windowAt = now;
      this.#windowBytes = 0;
    }
    for (const [key, bytes] of this.#items) {
      if (this.#windowBytes >= SLICE_BYTES) return this.#windowAt + PACE_MS;
      this.#items.delete(key);
      this.#bytes -= bytes.length;
      this.#windowBytes += bytes.length;
      send(bytes);
    }
    return undefined;
  }
}
