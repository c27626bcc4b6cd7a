/**
 * The per-link queue of flooded messages (routing updates of other nodes, service ads,
 * duplicate notices) between the {@link Router} and a link, sans-IO. Messages are keyed by
 * what they describe (origin node, or node + service): a newer message for a key replaces the
 * queued one in place, so the queue never holds two for the same origin and its length is
 * bounded by the number of known nodes and ads. The router releases it in paced slices (see
 * {@link LinkQueue.release}), so a replay of the whole state to a new neighbour never blocks
 * keepalives or data.
 *
 * Ownership: the bytes put in a queue are shared by every link's queue (and by the router's
 * stored updates and ads): nobody modifies them after `put`, and the shell must not modify a
 * `send` output's bytes either.
 * @module
 */

import type { LimitLog, MeshLimits } from "./limits.ts";

/** Bytes released to one link per pacing window. */
export const SLICE_BYTES = 64 * 1024;
/** Pacing window (ms). */
export const PACE_MS = 10;
/** Bytes waiting in the link's own send buffer above which nothing more is released. */
export const BACKLOG_LOW_WATER = 256 * 1024;

/**
 * What a queued message describes: a number is the topology index of the origin node of a
 * routing update (the flood path: no string hashed per message and link), a string any other
 * key (ads: node + service; duplicate notices). An index freed and reused for another node
 * while its update is queued makes the newer node's update replace it: the old node was
 * forgotten, so its update no longer matters.
 */
export type FloodKey = string | number;

/**
 * Keyed, coalescing FIFO of flood messages for one link: the messages in arrival order (a
 * released or dropped one leaves a hole until the FIFO empties), and the position of each
 * key's message by index (a typed array) or, for string keys, in a Map.
 */
export class LinkQueue {
  /**
   * Position `p` holds its key at `2p` and its message at `2p + 1` (undefined: a hole): one
   * array, so a lookup reads one line of it, not one of a key array and one of a message array
   * (every copy of a flood a peer sends us is looked up here).
   */
  #fifo: (FloodKey | Uint8Array | undefined)[] = [];
  #head = 0;
  #tail = 0;
  /** Position + 1 of the queued message of each index key (0: none). */
  #byIndex = new Int32Array(0);
  readonly #byName = new Map<string, number>();
  #count = 0;
  #bytes = 0;
  #windowAt = -Infinity;
  #windowBytes = 0;
  /** The router's `now` since when the queue is waiting on a full link, if it is. */
  blockedSince?: number;
  /** In its {@link FloodQueues}' pending set (kept there: no set insertion per message). */
  pending = false;

  /** Messages queued. */
  get size(): number {
    return this.#count;
  }

  /** Bytes queued. */
  get bytes(): number {
    return this.#bytes;
  }

  /** FIFO slots in use, holes included (tests: at most about twice {@link size} + 64). */
  get slots(): number {
    return this.#tail;
  }

  /** Position of the message queued under `key`, or -1. */
  #find(key: FloodKey): number {
    const p = typeof key === "number"
      ? (key < this.#byIndex.length ? this.#byIndex[key] - 1 : -1)
      : (this.#byName.get(key) ?? -1);
    return p >= this.#head && this.#fifo[2 * p] === key && this.#fifo[2 * p + 1] !== undefined
      ? p
      : -1;
  }

  #setPos(key: FloodKey, p: number): void {
    if (typeof key === "string") {
      if (p < 0) this.#byName.delete(key);
      else this.#byName.set(key, p);
      return;
    }
    if (key >= this.#byIndex.length) {
      // doubled from 256 (3 allocations per queue for a 1,000-node mesh, not 8 by 1.5×: fresh
      // typed-array memory costs ~0.7 µs per KiB here, and every link of every node grows one)
      let n = Math.max(256, 2 * this.#byIndex.length);
      while (n <= key) n *= 2;
      const grown = new Int32Array(n);
      grown.set(this.#byIndex);
      this.#byIndex = grown;
    }
    this.#byIndex[key] = p + 1;
  }

  /** Queue `bytes` under `key`, replacing (in place) a message queued for the same key. */
  put(key: FloodKey, bytes: Uint8Array): void {
    const p = this.#find(key);
    if (p >= 0) {
      this.#bytes += bytes.length - (this.#fifo[2 * p + 1] as Uint8Array).length;
      this.#fifo[2 * p + 1] = bytes;
      return;
    }
    if (this.#tail > 2 * this.#count + 64) this.#compact();
    const t = this.#tail++;
    this.#fifo[2 * t] = key;
    this.#fifo[2 * t + 1] = bytes;
    this.#setPos(key, t);
    this.#count++;
    this.#bytes += bytes.length;
  }

  /**
   * Drop the message queued under `key` if its first `head + 1` bytes equal those of `bytes`
   * (the peer sent us the same message: for a routing update, `head` is the closing quote of
   * its UpdateID, so equal heads mean the same NodeID and UpdateID; compared byte for byte,
   * no string or closure per copy).
   */
  dropCopy(key: FloodKey, bytes: Uint8Array, head: number): void {
    const p = this.#find(key);
    if (p < 0 || head < 0) return;
    const b = this.#fifo[2 * p + 1] as Uint8Array;
    if (b.length <= head || bytes.length <= head) return;
    for (let i = head; i >= 0; i--) if (b[i] !== bytes[i]) return;
    this.#take(p);
  }

  /** Remove the message at `p` (present) and return it. */
  #take(p: number): Uint8Array {
    const b = this.#fifo[2 * p + 1] as Uint8Array;
    this.#fifo[2 * p + 1] = undefined;
    this.#setPos(this.#fifo[2 * p] as FloodKey, -1);
    this.#count--;
    this.#bytes -= b.length;
    if (this.#count === 0) this.#head = this.#tail = 0; // empty: the arrays are reused
    return b;
  }

  /** Drop everything. */
  clear(): void {
    this.#fifo = [];
    this.#head =
      this.#tail =
      this.#count =
      this.#bytes =
        0;
    this.#byIndex = new Int32Array(0);
    this.#byName.clear();
  }

  /**
   * Move the queued messages to the front of the arrays (holes and released slots gone), so
   * the arrays stay within about twice the messages queued on a link that never empties.
   */
  #compact(): void {
    let q = 0;
    const f = this.#fifo;
    for (let p = this.#head; p < this.#tail; p++) {
      const b = f[2 * p + 1];
      if (b === undefined) continue;
      const key = f[2 * p] as FloodKey;
      f[2 * q] = key;
      f[2 * q + 1] = b;
      this.#setPos(key, q++);
    }
    for (let p = q; p < this.#tail; p++) f[2 * p + 1] = undefined;
    this.#head = 0;
    this.#tail = q;
  }

  /**
   * Hand queued messages to `send` in order, at most {@link SLICE_BYTES} per {@link PACE_MS}
   * window and none while `backlog` (bytes the link has not written yet) exceeds
   * {@link BACKLOG_LOW_WATER}. Returns when to try again, or undefined once empty.
   */
  release(
    now: number,
    backlog: number,
    send: (linkId: number, bytes: Uint8Array) => void,
    linkId: number,
  ): number | undefined {
    if (this.#count === 0) {
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
    while (this.#count > 0) {
      if (this.#windowBytes >= SLICE_BYTES) return this.#windowAt + PACE_MS;
      const p = this.#head++;
      if (this.#fifo[2 * p + 1] === undefined) continue;
      const b = this.#take(p);
      this.#windowBytes += b.length;
      send(linkId, b);
    }
    return undefined;
  }
}

/** What {@link FloodQueues} needs from its router. */
export interface FloodQueuesHost {
  readonly limits: MeshLimits;
  readonly limitLog: LimitLog;
  /** Bytes the link has been handed but not written yet. */
  backlog(linkId: number): number;
  send(linkId: number, bytes: Uint8Array): void;
  /** Close the link (it cannot keep up); the router then calls `remove`. */
  close(linkId: number, reason: string): void;
  /** Peer node of the link, for log lines. */
  peerOf(linkId: number): string | undefined;
}

/** The flood queues of all established links of one router, and their pacing timer. */
export class FloodQueues {
  readonly #host: FloodQueuesHost;
  readonly #queues = new Map<number, LinkQueue>();
  /** Links with something queued. */
  readonly #pending = new Set<number>();
  /** When `release` must run again, if anything waits. */
  paceAt?: number;
  /**
   * The queue looked up last and its link: copies of a flood arrive in runs from one link
   * (a Map lookup per put and per copy otherwise).
   */
  #lastId = -1;
  #last: LinkQueue | undefined;
  /** The queues of a links list handed to {@link putAt} (the same array until it changes). */
  #listLinks?: readonly number[];
  readonly #listQueues: (LinkQueue | undefined)[] = [];

  /** The host's send, bound once (no closure per release). */
  readonly #send: (linkId: number, bytes: Uint8Array) => void;

  constructor(host: FloodQueuesHost) {
    this.#host = host;
    this.#send = (id, bytes) => host.send(id, bytes);
  }

  /** Queue `bytes` under `key` for `linkId`; a link over `maxLinkQueueBytes` is closed. */
  put(linkId: number, key: FloodKey, bytes: Uint8Array): void {
    let q = this.#queue(linkId);
    if (!q) this.#queues.set(linkId, q = new LinkQueue());
    this.#putInto(q, linkId, key, bytes);
  }

  /**
   * {@link put} for `links[i]`, `links` being a list handed in again and again (the router's
   * connection list: the same array until the connections change): its queues are remembered
   * by position, no Map lookup per link and message.
   */
  putAt(links: readonly number[], i: number, key: FloodKey, bytes: Uint8Array): void {
    if (links !== this.#listLinks) {
      this.#listLinks = links;
      this.#listQueues.length = 0;
    }
    let q = this.#listQueues[i];
    if (q === undefined) {
      q = this.#queues.get(links[i]);
      if (!q) this.#queues.set(links[i], q = new LinkQueue());
      this.#listQueues[i] = q;
    }
    this.#putInto(q, links[i], key, bytes);
  }

  #putInto(q: LinkQueue, linkId: number, key: FloodKey, bytes: Uint8Array): void {
    q.put(key, bytes);
    if (!q.pending) {
      q.pending = true;
      this.#pending.add(linkId);
    }
    if (q.bytes > this.#host.limits.maxLinkQueueBytes) {
      const peer = this.#host.peerOf(linkId);
      this.#host.limitLog.hit(
        "maxLinkQueueBytes",
        `closing the link to ${peer}: it cannot keep up`,
      );
      this.#host.close(linkId, "flood queue over its limit");
    }
  }

  #queue(linkId: number): LinkQueue | undefined {
    if (linkId !== this.#lastId) {
      this.#last = this.#queues.get(linkId);
      this.#lastId = this.#last ? linkId : -1; // a miss is not remembered
    }
    return this.#last;
  }

  /** Messages queued for `linkId`. */
  queued(linkId: number): number {
    return this.#queue(linkId)?.size ?? 0;
  }

  /** {@link LinkQueue.dropCopy} on the queue of `linkId`. */
  dropCopy(linkId: number, key: FloodKey, bytes: Uint8Array, head: number): void {
    this.#queue(linkId)?.dropCopy(key, bytes, head);
  }

  /** True if some link has messages waiting to be released. */
  get pending(): boolean {
    return this.#pending.size > 0;
  }

  /** Forget the queue of a closed link. */
  remove(linkId: number): void {
    this.#queues.delete(linkId);
    this.#pending.delete(linkId);
    if (linkId === this.#lastId) this.#lastId = -1;
    this.#listLinks = undefined;
  }

  /** Entries in the longest queue (diagnostics). */
  largest(): number {
    let n = 0;
    for (const q of this.#queues.values()) n = Math.max(n, q.size);
    return n;
  }

  /** Release every queue as far as pacing allows; closes links stuck past `maxLinkStallMs`. */
  release(now: number): void {
    if (this.#pending.size === 0) return;
    const h = this.#host;
    let next: number | undefined;
    for (const id of this.#pending) {
      const q = this.#queues.get(id);
      const again = q?.release(now, h.backlog(id), this.#send, id);
      if (q === undefined || again === undefined) {
        this.#pending.delete(id);
        if (q) q.pending = false;
        continue;
      }
      if (q.blockedSince !== undefined && now - q.blockedSince >= h.limits.maxLinkStallMs) {
        h.limitLog.hit("maxLinkStallMs", `closing the link to ${h.peerOf(id)}: it cannot keep up`);
        h.close(id, "link too slow for the routing traffic");
        continue;
      }
      next = next === undefined ? again : Math.min(next, again);
    }
    this.paceAt = next;
  }
}
