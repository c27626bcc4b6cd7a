/**
 * Per packet-number-space state (Initial, Handshake, Application): keys, received packet
 * numbers, the ACK policy (immediate vs delayed, ack decimation), and the CRYPTO streams.
 * @module
 */
import { writeAckFrame } from "./frame.ts";
import type { KeyPair } from "./packet_protection.ts";
import { RangeSet } from "./range_set.ts";
import { RecvBuffer } from "./recv_buffer.ts";
import { SendBuffer } from "./send_buffer.ts";
import type { SentFrame } from "./sent_frames.ts";
import type { Writer } from "./varint.ts";

/** State of one packet number space. */
export class PacketSpace {
  /** Packet protection keys (both directions), once installed. */
  keys?: KeyPair;
  /** Keys were discarded; the space is dead. */
  discarded = false;
  /** Received packet numbers (duplicate detection, bounded). */
  received = new RangeSet();
  /** Packet numbers still to report in ACK frames (pruned when our ACK is acknowledged). */
  toAck = new RangeSet();
  /** Largest packet number received. */
  largestRecv: number = -1;
  /** When it was received. */
  largestRecvTime = 0;
  /** Ack-eliciting packets since our last ACK. */
  elicitingSinceAck = 0;
  /** An ACK must go out now. */
  ackNeeded = false;
  /** A delayed ACK is due at this time. */
  ackDeadline?: number;
  /** Any packet arrived since our last ACK. */
  newSinceAck = false;
  /** Outgoing CRYPTO data. */
  cryptoSend = new SendBuffer();
  /** Incoming CRYPTO data. */
  cryptoRecv = new RecvBuffer();
  /** Probe packets still to send after a PTO. */
  probes = 0;
  /** A PING is requested (keep-alive or probe). */
  pingPending = false;

  /** True if `pn` was seen already (or is too old to tell). */
  isDuplicate(pn: number): boolean {
    return this.received.contains(pn) || (this.received.length > 0 && pn < this.received.min()!);
  }

  /**
   * Records a processed packet and decides when to acknowledge it: at once when `immediate`,
   * when out of order, or every `threshold` ack-eliciting packets; otherwise after `delay` ms.
   */
  onReceived(
    pn: number,
    eliciting: boolean,
    now: number,
    immediate: boolean,
    threshold: number,
    delay: number,
  ): void {
    this.received.insert(pn, pn + 1);
    this.received.trimTo(256);
    this.toAck.insert(pn, pn + 1);
    this.toAck.trimTo(32);
    const outOfOrder = pn !== this.largestRecv + 1;
    if (pn > this.largestRecv) {
      this.largestRecv = pn;
      this.largestRecvTime = now;
    }
    this.newSinceAck = true;
    if (!eliciting) return;
    this.elicitingSinceAck++;
    if (immediate || outOfOrder || this.elicitingSinceAck >= threshold) this.ackNeeded = true;
    else if (this.ackDeadline === undefined) this.ackDeadline = now + delay;
  }

  /** Writes an ACK frame if there is anything to report; returns true if written. */
  writeAck(w: Writer, end: number, now: number, isApp: boolean, frames: SentFrame[]): boolean {
    if (this.toAck.empty) return false;
    const delay = isApp ? Math.max(0, Math.floor(((now - this.largestRecvTime) * 1000) / 8)) : 0;
    const largest = this.toAck.max()!;
    if (!writeAckFrame(w, this.toAck, delay, end - w.pos)) return false;
    frames.push({ t: "ack", largest });
    this.ackNeeded = false;
    this.newSinceAck = false;
    this.elicitingSinceAck = 0;
    this.ackDeadline = undefined;
    return true;
  }

  /** The peer got an ACK of ours up to `largest`: stop reporting those packet numbers. */
  onAckAcknowledged(largest: number): void {
    this.toAck.removeBelow(largest + 1);
  }

  /** Drops keys and all sending state (RFC 9001 §4.9). */
  discard(): void {
    this.discarded = true;
    this.keys = undefined;
    this.ackNeeded = false;
    this.ackDeadline = undefined;
    this.probes = 0;
    this.pingPending = false;
    this.cryptoSend = new SendBuffer();
  }
}
