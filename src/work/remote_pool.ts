/**
 * Idle control connections of remote work, kept for a moment and reused (control.md §6.4,
 * §6.7). Every `work status` poll loop, cancel and release of a remote unit used to dial a
 * fresh mesh stream — a QUIC + TLS handshake on both nodes and a banner round trip — although
 * the remote control service (ours and Go's) keeps reading commands on a connection until EOF.
 * A status loop that ends hands its connection back here; the release that follows, and the
 * next unit's status loop, take it instead of dialling. `work submit` and `work results` take
 * the connection over and never come here.
 *
 * Bounded: at most {@link MAX_IDLE_PER_NODE} idle connections per node and TLS config and
 * {@link MAX_IDLE_TOTAL} in all; each is closed after {@link IDLE_MS} unused. A pooled
 * connection may have died meanwhile (the remote node restarted): callers retry such a failure
 * once on a fresh connection.
 * @module
 */
import type { RemoteControlClient } from "./remote_control_client.ts";

/** Idle connections kept per (node, TLS client). */
export const MAX_IDLE_PER_NODE = 16;
/** Idle connections kept in all. */
export const MAX_IDLE_TOTAL = 256;
/** How long an idle connection is kept (ms): a little above the status poll period cap. */
export const IDLE_MS = 3000;

/**
 * How long the first `work status` reply on a pooled connection may take before the connection
 * is taken for dead (its node restarted while it sat idle) and a fresh one is dialled.
 */
export const REUSED_REPLY_MS = 5000;

/**
 * How long a status loop told to stop (its stdout mirror finished) still waits for the reply to
 * the poll it already sent. Cutting that read short left the reply unread and the connection
 * unusable, so it was closed instead of kept; a status reply is one file read on the executor.
 */
export const STOPPING_REPLY_MS = 5000;

/**
 * How long a cancel or release on a pooled connection may wait for its reply before the
 * connection is taken for dead (its node restarted while it sat idle, and no error reached us:
 * over the mesh that would otherwise last until the QUIC idle timeout) and the request is sent
 * again on a fresh one. Above the executor's wait for a cancelled job to end (12 s, engine.ts
 * `cancelWaitMs`), so a slow but live release is not resent.
 */
export const REUSED_OP_REPLY_MS = 20_000;

interface Idle {
  client: RemoteControlClient;
  timer: ReturnType<typeof setTimeout>;
}

/** A pool of idle, bannered control connections keyed by remote node and TLS client name. */
export class ControlConnPool {
  readonly #idle = new Map<string, Idle[]>();
  #count = 0;
  #closed = false;

  constructor(private readonly idleMs = IDLE_MS) {}

  static #key(node: string, tlsClient: string): string {
    return `${node}\u0000${tlsClient}`;
  }

  /** Idle connections held now. */
  get size(): number {
    return this.#count;
  }

  /** The most recently returned idle connection to `node`, or null. */
  take(node: string, tlsClient: string): RemoteControlClient | null {
    const key = ControlConnPool.#key(node, tlsClient);
    const list = this.#idle.get(key);
    while (list && list.length > 0) {
      const e = list.pop()!;
      this.#count--;
      clearTimeout(e.timer);
      if (list.length === 0) this.#idle.delete(key);
      if (!e.client.closed) return e.client;
    }
    return null;
  }

  /**
   * Keep `client` (between requests: the last reply fully read) for reuse; closes it instead
   * when it is closed already, the pool is full or closed.
   */
  put(node: string, tlsClient: string, client: RemoteControlClient): void {
    if (client.closed) return;
    const key = ControlConnPool.#key(node, tlsClient);
    const list = this.#idle.get(key) ?? [];
    if (this.#closed || list.length >= MAX_IDLE_PER_NODE || this.#count >= MAX_IDLE_TOTAL) {
      client.close();
      return;
    }
    const e: Idle = {
      client,
      timer: setTimeout(() => {
        const i = list.indexOf(e);
        if (i >= 0) {
          list.splice(i, 1);
          this.#count--;
          if (list.length === 0 && this.#idle.get(key) === list) this.#idle.delete(key);
        }
        client.close();
      }, this.idleMs),
    };
    list.push(e);
    this.#idle.set(key, list);
    this.#count++;
  }

  /** Close the idle connections to `node` (one of them was found dead). */
  discard(node: string, tlsClient: string): void {
    const key = ControlConnPool.#key(node, tlsClient);
    const list = this.#idle.get(key);
    if (!list) return;
    this.#idle.delete(key);
    for (const e of list) {
      clearTimeout(e.timer);
      e.client.close();
    }
    this.#count -= list.length;
  }

  /** Close every idle connection; later {@link put}s close theirs at once. */
  close(): void {
    this.#closed = true;
    for (const list of this.#idle.values()) {
      for (const e of list) {
        clearTimeout(e.timer);
        e.client.close();
      }
    }
    this.#idle.clear();
    this.#count = 0;
  }
}
