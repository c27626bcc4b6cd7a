/**
 * Redial back-off for peer backends (wire.md §2.5): 5 s after a session ends, and
 * 5, 7.5, 11.25, 16.875, then 20 s between consecutive failed dials.
 * @module
 */

/** First delay and the cap, in milliseconds. */
export const REDIAL_FIRST_MS = 5000;
/** Longest delay between attempts. */
export const REDIAL_MAX_MS = 20000;

/** Tracks the delay before the next dial attempt. */
export class RedialBackoff {
  #next = REDIAL_FIRST_MS;
  constructor(private readonly firstMs = REDIAL_FIRST_MS, private readonly maxMs = REDIAL_MAX_MS) {
    this.#next = firstMs;
  }
  /** Delay to wait after a failed attempt; grows ×1.5 up to the cap. */
  failure(): number {
    const d = this.#next;
    this.#next = Math.min(this.#next * 1.5, this.maxMs);
    return d;
  }
  /** A transport connect succeeded: the next wait (after the session ends) is the first delay. */
  success(): void {
    this.#next = this.firstMs;
  }
}

/** Split `host:port` or `[v6]:port`; throws with a clear message on bad input. */
export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:]*):(\d+)$/.exec(address);
  if (!m) throw new Error(`invalid address ${JSON.stringify(address)}: expected host:port`);
  const port = Number(m[2]);
  if (port < 0 || port > 65535) throw new Error(`invalid port in address ${address}`);
  return { host: m[1] || "0.0.0.0", port };
}
