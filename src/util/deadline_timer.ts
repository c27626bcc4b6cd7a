/**
 * The one-shot timer the shells keep for their sans-IO core's next deadline (MeshNode for the
 * Router, QuicDriver for the QUIC endpoint).
 * @module
 */

/**
 * A timer armed for an absolute deadline on a caller's clock. A pending timer that fires no
 * later than a new deadline is kept: deadlines that move later with every message (idle
 * timers) then cost no timer churn, and an early firing just re-arms.
 */
export class DeadlineTimer {
  #timer?: ReturnType<typeof setTimeout>;
  #at = Infinity;

  /**
   * @param now the clock the deadlines are on (ms)
   * @param fire called when a deadline is reached (the timer is then unarmed)
   */
  constructor(private readonly now: () => number, private readonly fire: () => void) {}

  /** Arm for deadline `at` (ms on `now`'s clock); undefined disarms. */
  arm(at: number | undefined): void {
    if (at === undefined) return this.cancel();
    if (this.#timer !== undefined && this.#at <= at) return;
    this.cancel();
    this.#at = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#at = Infinity;
      this.fire();
    }, Math.max(0, Math.ceil(at - this.now())));
  }

  /** Disarm. */
  cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#at = Infinity;
  }
}
