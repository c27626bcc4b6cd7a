/**
 * Address validation bookkeeping (RFC 9000 §8.1): a server's anti-amplification limit of three
 * times the bytes received until the client's address is validated, and whether the peer has
 * validated ours (which the client's probe timeout rules depend on, RFC 9002 §6.2.2.1).
 * @module
 */

/** Bytes counted against the amplification limit and the validation flags in both directions. */
export class AddressValidation {
  /** The peer's address is validated: no amplification limit (always true for a client). */
  validated: boolean;
  /** The peer has validated our address (a Handshake ACK arrived or the handshake is confirmed). */
  validatedByPeer = false;
  /** Datagram bytes received. */
  bytesRecv = 0;
  /** Datagram bytes sent. */
  bytesSent = 0;

  /** Starts validated for a client, which chose the server's address itself. */
  constructor(validated: boolean) {
    this.validated = validated;
  }

  /** True while the limit allows no further byte. */
  get blocked(): boolean {
    return !this.validated && this.bytesSent >= 3 * this.bytesRecv;
  }

  /** How many of `max` bytes the next datagram may use under the limit (may be negative). */
  budget(max: number): number {
    return this.validated ? max : Math.min(max, 3 * this.bytesRecv - this.bytesSent);
  }
}
