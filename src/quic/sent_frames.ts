/**
 * What a sent packet carried, recorded so it can be retransmitted (as fresh frames) when the
 * packet is declared lost, or released when it is acknowledged.
 * @module
 */

/** One retransmittable item carried by a sent packet. */
export type SentFrame =
  | { t: "stream"; id: number; off: number; len: number; fin: boolean }
  | { t: "crypto"; off: number; len: number }
  | { t: "max_data" }
  | { t: "max_stream_data"; id: number }
  | { t: "max_streams"; bidi: boolean }
  | { t: "reset"; id: number }
  | { t: "stop"; id: number }
  | { t: "handshake_done" }
  | { t: "retire_cid"; seq: number }
  | { t: "ack"; largest: number }
  | { t: "ping" };

/** A packet in flight (RFC 9002 §A.1.1). */
export interface SentPacket {
  /** Packet number. */
  pn: number;
  /** Time sent (ms). */
  time: number;
  /** Bytes counted in flight. */
  size: number;
  /** Contains ack-eliciting frames. */
  ackEliciting: boolean;
  /** Counts toward bytes in flight. */
  inFlight: boolean;
  /** Retransmittable contents. */
  frames: SentFrame[];
}
