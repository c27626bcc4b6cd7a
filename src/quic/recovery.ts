/**
 * Loss detection and recovery (RFC 9002): RTT estimation, per-space sent-packet tracking,
 * packet- and time-threshold loss detection, and the probe timeout including the handshake
 * anti-deadlock rules. Congestion control is delegated to a {@link CongestionController}.
 * @module
 */
import type { CongestionController } from "./congestion/new_reno.ts";
import { QuicError, TransportError } from "./errors.ts";
import type { SentPacket } from "./sent_frames.ts";

/** Packet number spaces: 0 Initial, 1 Handshake, 2 Application. */
export type SpaceId = 0 | 1 | 2;

const K_PACKET_THRESHOLD = 3;
const K_TIME_THRESHOLD = 9 / 8;
const K_GRANULARITY = 1;
const K_INITIAL_RTT = 333;
const K_PERSISTENT_CONGESTION_THRESHOLD = 3;

/** RTT estimator (RFC 9002 §5). */
export class RttEstimator {
  /** Most recent sample. */
  latest = 0;
  /** Smoothed RTT. */
  smoothed: number = K_INITIAL_RTT;
  /** RTT variation. */
  rttvar: number = K_INITIAL_RTT / 2;
  /** Minimum RTT seen. */
  min: number = Infinity;
  /** Whether any sample was taken. */
  hasSample = false;
  /** Folds in a sample (RFC 9002 §5.3). */
  update(latest: number, ackDelay: number, handshakeConfirmed: boolean, maxAckDelay: number): void {
    this.latest = latest;
    if (!this.hasSample) {
      this.hasSample = true;
      this.min = latest;
      this.smoothed = latest;
      this.rttvar = latest / 2;
      return;
    }
    this.min = Math.min(this.min, latest);
    if (handshakeConfirmed) ackDelay = Math.min(ackDelay, maxAckDelay);
    let adjusted = latest;
    if (latest >= this.min + ackDelay) adjusted = latest - ackDelay;
    this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.smoothed - adjusted);
    this.smoothed = 0.875 * this.smoothed + 0.125 * adjusted;
  }
  /** PTO base duration without max_ack_delay. */
  get ptoBase(): number {
    return this.smoothed + Math.max(4 * this.rttvar, K_GRANULARITY);
  }
}

/** Recovery state of one packet number space. */
export class SpaceRecovery {
  /** Packets in flight or awaiting acknowledgement, ascending packet number. */
  sent = new Map<number, SentPacket>();
  /** Largest acknowledged packet number (-1 none). */
  largestAcked: number = -1;
  /** Time at which the next packet is declared lost by time threshold. */
  lossTime: number | undefined;
  /** Time the most recent ack-eliciting packet was sent. */
  lastAckElicitingTime = 0;
  /** Ack-eliciting packets in flight. */
  ackElicitingInFlight = 0;
  /** Next packet number to send. */
  nextPn = 0;
}

/** Context the PTO calculation needs from the connection. */
export interface RecoveryContext {
  /** Handshake confirmed (RFC 9001 §4.1.2). */
  handshakeConfirmed: boolean;
  /** We are a client. */
  isClient: boolean;
  /** Handshake keys are available. */
  hasHandshakeKeys: boolean;
  /** Peer has validated our address (client: got a Handshake ACK or handshake confirmed). */
  peerValidated: boolean;
  /** Server blocked by the anti-amplification limit. */
  amplificationBlocked: boolean;
  /** Which spaces still have keys. */
  spaceActive: (s: SpaceId) => boolean;
  /** Peer's max_ack_delay in ms. */
  maxAckDelay: number;
}

/** Result of processing an ACK. */
export interface AckResult {
  /** Newly acknowledged packets. */
  acked: SentPacket[];
  /** Packets declared lost. */
  lost: SentPacket[];
}

/** Loss detection across the three packet number spaces. */
export class Recovery {
  /** Per-space state. */
  readonly spaces: [SpaceRecovery, SpaceRecovery, SpaceRecovery] = [
    new SpaceRecovery(),
    new SpaceRecovery(),
    new SpaceRecovery(),
  ];
  /** RTT estimator. */
  readonly rtt = new RttEstimator();
  /** Consecutive PTOs. */
  ptoCount = 0;
  /** Congestion controller. */
  readonly cc: CongestionController;
  /** Uses `cc` for congestion control. */
  constructor(cc: CongestionController) {
    this.cc = cc;
  }

  /** Records a sent packet. */
  onSent(space: SpaceId, p: SentPacket): void {
    const s = this.spaces[space];
    s.sent.set(p.pn, p);
    if (p.inFlight) {
      if (p.ackEliciting) {
        s.lastAckElicitingTime = p.time;
        s.ackElicitingInFlight++;
      }
      this.cc.onSent(p.size);
    }
  }

  /**
   * Processes an ACK frame's ranges ([lo, hi] pairs, largest first). Throws PROTOCOL_VIOLATION if
   * it acknowledges packets never sent.
   */
  onAck(
    space: SpaceId,
    ranges: Array<[number, number]>,
    ackDelay: number,
    now: number,
    ctx: RecoveryContext,
  ): AckResult {
    const s = this.spaces[space];
    const largest = ranges[0][1];
    if (largest >= s.nextPn) {
      throw new QuicError(
        TransportError.PROTOCOL_VIOLATION,
        `ACK of unsent packet ${largest}`,
        false,
        0x02,
      );
    }
    const acked: SentPacket[] = [];
    for (const [lo, hi] of ranges) {
      if (hi - lo + 1 <= s.sent.size) {
        for (let pn = lo; pn <= hi; pn++) {
          const p = s.sent.get(pn);
          if (p) acked.push(p);
        }
      } else {
        for (const p of s.sent.values()) if (p.pn >= lo && p.pn <= hi) acked.push(p);
      }
    }
    if (acked.length === 0) return { acked, lost: [] };
    if (largest > s.largestAcked) s.largestAcked = largest;
    let largestNewly: SentPacket | undefined;
    let anyEliciting = false;
    for (const p of acked) {
      if (!largestNewly || p.pn > largestNewly.pn) largestNewly = p;
      if (p.ackEliciting) anyEliciting = true;
    }
    if (largestNewly && largestNewly.pn === largest && anyEliciting) {
      this.rtt.update(now - largestNewly.time, ackDelay, ctx.handshakeConfirmed, ctx.maxAckDelay);
    }
    for (const p of acked) {
      s.sent.delete(p.pn);
      if (p.inFlight) {
        if (p.ackEliciting) s.ackElicitingInFlight--;
        this.cc.onAcked(p.size, p.time, now);
      }
    }
    const lost = this.detectLoss(space, now);
    if (!(ctx.isClient && !ctx.peerValidated && space === 0)) this.ptoCount = 0;
    return { acked, lost };
  }

  /** Declares packets lost by packet or time threshold (RFC 9002 §6.1). */
  detectLoss(space: SpaceId, now: number): SentPacket[] {
    const s = this.spaces[space];
    s.lossTime = undefined;
    if (s.largestAcked < 0) return [];
    const delay = Math.max(
      K_TIME_THRESHOLD * Math.max(this.rtt.latest, this.rtt.smoothed),
      K_GRANULARITY,
    );
    const lost: SentPacket[] = [];
    for (const p of s.sent.values()) {
      if (p.pn > s.largestAcked) break;
      if (p.time + delay <= now || s.largestAcked >= p.pn + K_PACKET_THRESHOLD) {
        lost.push(p);
      } else {
        const t = p.time + delay;
        if (s.lossTime === undefined || t < s.lossTime) s.lossTime = t;
      }
    }
    if (lost.length) this.#onLost(space, lost, now);
    return lost;
  }

  #onLost(space: SpaceId, lost: SentPacket[], now: number): void {
    const s = this.spaces[space];
    let size = 0;
    let largestTime = -Infinity;
    let firstEliciting: number | undefined, lastEliciting = 0;
    for (const p of lost) {
      s.sent.delete(p.pn);
      if (!p.inFlight) continue;
      size += p.size;
      if (p.ackEliciting) {
        s.ackElicitingInFlight--;
        if (firstEliciting === undefined) firstEliciting = p.time;
        lastEliciting = p.time;
      }
      if (p.time > largestTime) largestTime = p.time;
    }
    if (size === 0) return;
    let persistent = false;
    if (this.rtt.hasSample && firstEliciting !== undefined) {
      const dur = (this.rtt.ptoBase + 25) * K_PERSISTENT_CONGESTION_THRESHOLD;
      // simplified: no acknowledged packet can lie between them if none is still tracked
      persistent = lastEliciting - firstEliciting > dur && lost.length >= 2;
    }
    this.cc.onLost(size, largestTime, now, persistent);
  }

  /** Drops a space's state (keys discarded): its packets leave flight without loss signals. */
  discard(space: SpaceId): void {
    const s = this.spaces[space];
    for (const p of s.sent.values()) if (p.inFlight) this.cc.onRemoved(p.size);
    s.sent.clear();
    s.ackElicitingInFlight = 0;
    s.lossTime = undefined;
    s.lastAckElicitingTime = 0;
    this.ptoCount = 0;
  }

  #ptoTimeAndSpace(now: number, ctx: RecoveryContext): [number, SpaceId] | undefined {
    const mult = 2 ** Math.min(this.ptoCount, 16);
    let duration = this.rtt.ptoBase * mult;
    const inFlight = this.spaces[0].ackElicitingInFlight + this.spaces[1].ackElicitingInFlight +
      this.spaces[2].ackElicitingInFlight;
    if (inFlight === 0) {
      if (ctx.hasHandshakeKeys) return [now + duration, 1];
      return [now + duration, 0];
    }
    let best: [number, SpaceId] | undefined;
    for (const sp of [0, 1, 2] as SpaceId[]) {
      const s = this.spaces[sp];
      if (s.ackElicitingInFlight === 0 || !ctx.spaceActive(sp)) continue;
      if (sp === 2) {
        if (!ctx.handshakeConfirmed) return best;
        duration += ctx.maxAckDelay * mult;
      }
      const t = s.lastAckElicitingTime + duration;
      if (!best || t < best[0]) best = [t, sp];
    }
    return best;
  }

  /** When the loss detection timer should fire, and for which space (RFC 9002 §6.2.1). */
  timer(now: number, ctx: RecoveryContext): [number, SpaceId] | undefined {
    let earliest: [number, SpaceId] | undefined;
    for (const sp of [0, 1, 2] as SpaceId[]) {
      const t = this.spaces[sp].lossTime;
      if (t !== undefined && (!earliest || t < earliest[0])) earliest = [t, sp];
    }
    if (earliest) return earliest;
    if (ctx.amplificationBlocked) return undefined;
    const inFlight = this.spaces[0].ackElicitingInFlight + this.spaces[1].ackElicitingInFlight +
      this.spaces[2].ackElicitingInFlight;
    if (inFlight === 0 && (ctx.peerValidated || !ctx.isClient)) return undefined;
    return this.#ptoTimeAndSpace(now, ctx);
  }

  /**
   * Handles the loss detection timer firing. Returns lost packets (time threshold) or the space
   * in which to send probes (PTO).
   */
  onTimeout(
    now: number,
    ctx: RecoveryContext,
  ): { lost?: [SpaceId, SentPacket[]]; probe?: SpaceId } {
    const t = this.timer(now, ctx);
    if (!t || t[0] > now) return {};
    const [, sp] = t;
    if (this.spaces[sp].lossTime !== undefined) {
      return { lost: [sp, this.detectLoss(sp, now)] };
    }
    this.ptoCount++;
    return { probe: sp };
  }
}
