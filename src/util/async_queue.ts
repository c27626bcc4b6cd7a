/**
 * A closable queue whose takers wait: the accept/receive queues of the mesh endpoints, stream
 * listeners and the QUIC driver.
 * @module
 */

/**
 * Items handed to waiting takers first, else queued (up to `limit`). After {@link close}
 * takers get the items still queued, then null.
 *
 * @example
 * ```ts
 * const q = new AsyncQueue<number>();
 * q.push(1);
 * await q.take(); // 1
 * q.close();
 * await q.take(); // null
 * ```
 */
export class AsyncQueue<T> {
  #items: T[] = [];
  #waiters: ((item: T | null) => void)[] = [];
  #closed = false;

  /** @param limit most items kept while nobody waits; {@link push} drops beyond it. */
  constructor(readonly limit = Infinity) {}

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Items waiting to be taken. */
  get length(): number {
    return this.#items.length;
  }

  /** Hand `item` to a waiting taker or queue it. False when dropped (closed, or full). */
  push(item: T): boolean {
    if (this.#closed) return false;
    const w = this.#waiters.shift();
    if (w) w(item);
    else if (this.#items.length < this.limit) this.#items.push(item);
    else return false;
    return true;
  }

  /** The next item; null once closed and drained. */
  take(): Promise<T | null> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift()!);
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Stop accepting items and wake every waiting taker with null; `drop` discards queued ones. */
  close(drop = false): void {
    this.#closed = true;
    if (drop) this.#items = [];
    for (const w of this.#waiters.splice(0)) w(null);
  }
}
