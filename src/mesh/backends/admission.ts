/**
 * Admission control for listeners before the mesh handshake: a connection is "unauthenticated"
 * from accept until the mesh has accepted the peer's node ID (TLS and the routing-update
 * handshake both count). Each listener holds at most `max` such connections — more are closed
 * at once, with a log line — and closes any that has not completed the handshake within
 * `timeoutMs`. This bounds what peers that never finish (or never start) cost a node.
 * @module
 */
import type { Logger } from "../../log.ts";

/** Default cap on unauthenticated connections per listener. */
export const DEFAULT_MAX_UNAUTHENTICATED = 256;
/**
 * Default time a connection has to complete the TLS and mesh handshakes (ms): a little more
 * than the router's own give-up (11 initial updates a second apart, as Go), so a peer that
 * talks but never identifies sees Go's behaviour, and a silent one is dropped soon after.
 */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 12_000;
/** At most one "cap reached" log line per this many ms per listener. */
const LOG_EVERY_MS = 10_000;

/** Limits of one listener. */
export interface AdmissionLimits {
  /** Unauthenticated connections held at once (> 0). */
  maxUnauthenticated?: number;
  /** Time to complete the handshakes (ms, > 0). */
  handshakeTimeoutMs?: number;
}

/** One admitted connection: call {@link established} or {@link closed} exactly when they happen. */
export interface AdmissionTicket {
  /** The mesh accepted the peer: no longer counted, no timeout. */
  established(): void;
  /** The connection ended (before or after the handshake). */
  closed(): void;
}

/** Counts a listener's unauthenticated connections and times them out. */
export class Admission {
  readonly max: number;
  readonly timeoutMs: number;
  #count = 0;
  #refused = 0;
  /** Unauthenticated connections in admission order (so deadlines are in order too). */
  #pending = new Map<number, Pending>();
  #nextKey = 0;
  #timer?: ReturnType<typeof setTimeout>;
  #lastLog = -Infinity;

  constructor(
    private readonly what: string,
    limits: AdmissionLimits,
    private readonly logger: Logger,
  ) {
    this.max = limits.maxUnauthenticated ?? DEFAULT_MAX_UNAUTHENTICATED;
    this.timeoutMs = limits.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  }

  /** Unauthenticated connections held now. */
  get count(): number {
    return this.#count;
  }

  /** Connections refused because the cap was reached, since start. */
  get refused(): number {
    return this.#refused;
  }

  /**
   * Admit a new connection, or return null (the caller closes it) when the cap is reached.
   * `onTimeout` runs if the handshake has not completed within the timeout.
   */
  admit(desc: string, onTimeout: () => void): AdmissionTicket | null {
    if (this.#count >= this.max) {
      this.#refused++;
      const now = Date.now();
      if (now - this.#lastLog >= LOG_EVERY_MS) {
        this.#lastLog = now;
        this.logger.warning(
          `${this.what}: ${this.max} connections are already waiting for their handshake ` +
            `(maxunauthenticated); refusing ${desc} (${this.#refused} refused so far)`,
        );
      }
      return null;
    }
    this.#count++;
    const entry: Pending = { deadline: Date.now() + this.timeoutMs, desc, onTimeout };
    const key = this.#nextKey++;
    this.#pending.set(key, entry);
    this.#arm();
    const release = () => {
      if (this.#pending.delete(key)) this.#count--;
    };
    return { established: release, closed: release };
  }

  /** One timer for the oldest pending connection (all share the timeout, so it is first). */
  #arm(): void {
    if (this.#timer !== undefined) return;
    const first = this.#pending.values().next();
    if (first.done) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#sweep();
    }, Math.max(0, first.value.deadline - Date.now()) + 10);
  }

  #sweep(): void {
    const now = Date.now();
    for (const [key, p] of this.#pending) {
      if (p.deadline > now) break;
      this.#pending.delete(key);
      this.#count--;
      this.logger.debug(
        `${p.desc}: handshake not completed within ${this.timeoutMs / 1000}s; closing`,
      );
      try {
        p.onTimeout();
      } catch (e) {
        this.logger.error(`${p.desc}: closing after handshake timeout failed: ${e}`);
      }
    }
    this.#arm();
  }

  /** Stop the timer (the listener closed). */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

interface Pending {
  deadline: number;
  desc: string;
  onTimeout: () => void;
}
