/**
 * Token-bucket pacer (RFC 9002 §7.7): spreads a congestion window over the RTT so bursts do
 * not overflow receive buffers. Rate = 1.25 × cwnd / smoothed RTT; burst = max(10 datagrams,
 * 2 ms worth of rate).
 * @module
 */

/** Sans-IO pacer driven by the connection's clock. */
export class Pacer {
  #tokens = Infinity;
  #time = 0;
  #blocked = false;
  readonly #mss: number;
  /** Paces datagrams of up to `maxDatagramSize` bytes. */
  constructor(maxDatagramSize: number) {
    this.#mss = maxDatagramSize;
  }
  #rate(cwnd: number, srtt: number): number {
    return (1.25 * cwnd) / Math.max(0.5, srtt);
  }
  /** Refills the bucket and tells whether one more full datagram may go now. */
  allows(now: number, cwnd: number, srtt: number): boolean {
    const rate = this.#rate(cwnd, srtt);
    const cap = Math.max(10 * this.#mss, rate * 2);
    this.#tokens = Math.min(cap, this.#tokens + (now - this.#time) * rate);
    this.#time = now;
    this.#blocked = this.#tokens < this.#mss;
    return !this.#blocked;
  }
  /** Charges a sent ack-eliciting packet. */
  onSent(size: number): void {
    this.#tokens -= size;
  }
  /**
   * When sending may resume after being blocked (small margin against float rounding); undefined
   * once that time has passed, so a stale block never becomes a busy timer.
   */
  deadline(now: number, cwnd: number, srtt: number): number | undefined {
    if (!this.#blocked) return undefined;
    const need = Math.max(0, this.#mss - this.#tokens);
    const t = this.#time + need / this.#rate(cwnd, srtt) + 0.05;
    if (t <= now) {
      this.#blocked = false;
      return undefined;
    }
    return t;
  }
}
