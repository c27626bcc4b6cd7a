/**
 * NewReno congestion control as specified for QUIC (RFC 9002 §7, Appendix B), in bytes.
 * @module
 */

/** A congestion controller the recovery module drives. */
export interface CongestionController {
  /** Congestion window in bytes. */
  readonly window: number;
  /** Bytes currently in flight. */
  readonly bytesInFlight: number;
  /** A packet of `size` bytes was sent and counts in flight. */
  onSent(size: number): void;
  /** A packet sent at `sentTime` with `size` bytes was acknowledged. */
  onAcked(size: number, sentTime: number, now: number): void;
  /** Packets were declared lost; `largestLostSentTime` is when the newest of them was sent. */
  onLost(totalSize: number, largestLostSentTime: number, now: number, persistent: boolean): void;
  /** Packets were removed from flight without being acked or lost (key discard). */
  onRemoved(size: number): void;
}

/** RFC 9002 NewReno. */
export class NewReno implements CongestionController {
  window: number;
  bytesInFlight = 0;
  #ssthresh = Infinity;
  #recoveryStart = -Infinity;
  #acc = 0;
  readonly #mss: number;
  readonly #min: number;
  /** Initial window per RFC 9002 §7.2 for `maxDatagramSize`. */
  constructor(maxDatagramSize: number) {
    this.#mss = maxDatagramSize;
    this.window = Math.min(10 * maxDatagramSize, Math.max(14720, 2 * maxDatagramSize));
    this.#min = 2 * maxDatagramSize;
  }
  /** Slow-start threshold. */
  get ssthresh(): number {
    return this.#ssthresh;
  }
  onSent(size: number): void {
    this.bytesInFlight += size;
  }
  onRemoved(size: number): void {
    this.bytesInFlight = Math.max(0, this.bytesInFlight - size);
  }
  onAcked(size: number, sentTime: number, _now: number): void {
    this.bytesInFlight = Math.max(0, this.bytesInFlight - size);
    if (sentTime <= this.#recoveryStart) return;
    if (this.window < this.#ssthresh) {
      this.window += size;
    } else {
      this.#acc += size;
      if (this.#acc >= this.window) {
        this.#acc -= this.window;
        this.window += this.#mss;
      }
    }
  }
  onLost(totalSize: number, largestLostSentTime: number, now: number, persistent: boolean): void {
    this.bytesInFlight = Math.max(0, this.bytesInFlight - totalSize);
    if (largestLostSentTime > this.#recoveryStart) {
      this.#recoveryStart = now;
      this.#ssthresh = Math.max(this.window / 2, this.#min);
      this.window = this.#ssthresh;
      this.#acc = 0;
    }
    if (persistent) {
      this.window = this.#min;
      this.#recoveryStart = -Infinity;
    }
  }
}
