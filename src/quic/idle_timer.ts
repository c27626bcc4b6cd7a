/**
 * The idle timeout and keep-alive clock of a connection (RFC 9000 §10.1): restarted by each
 * packet received and by the first ack-eliciting packet sent after it.
 * @module
 */

/** Activity times (ms) behind the idle and keep-alive deadlines. */
export class IdleTimer {
  /** Idle timeout in ms, 0 for none: the handshake timeout until the peer's value is known. */
  timeout: number;
  /** When the last authenticated packet arrived. */
  lastRecv: number;
  /** When the first ack-eliciting packet after `lastRecv` was sent (-Infinity: never). */
  lastElicitingSent = -Infinity;
  /** When the last keep-alive PING was requested (-Infinity: never). */
  lastKeepAlive = -Infinity;

  /** Starts counting at `now` with `timeout` ms. */
  constructor(timeout: number, now: number) {
    this.timeout = timeout;
    this.lastRecv = now;
  }

  /** An ack-eliciting packet went out at `now`. */
  onElicitingSent(now: number): void {
    if (this.lastElicitingSent < this.lastRecv) this.lastElicitingSent = now;
  }

  /** When the connection is idle, never earlier than three probe timeouts (`ptoDuration`). */
  deadline(ptoDuration: number): number {
    const base = Math.max(
      this.lastRecv,
      this.lastElicitingSent === -Infinity ? this.lastRecv : this.lastElicitingSent,
    );
    return base + Math.max(this.timeout, 3 * ptoDuration);
  }

  /** When the next keep-alive PING is due for a keep-alive `interval` in ms. */
  keepAliveDeadline(interval: number): number {
    return Math.max(this.lastRecv, this.lastElicitingSent, this.lastKeepAlive) + interval;
  }
}
