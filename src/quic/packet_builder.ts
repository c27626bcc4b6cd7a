/**
 * The output path of a QUIC connection: coalesces one packet per packet number space into a
 * datagram (RFC 9000 §12.2), writes each packet's frames in place in a reused scratch buffer
 * (ACK, HANDSHAKE_DONE, PATH_RESPONSE, RETIRE_CONNECTION_ID, stream control, CRYPTO, STREAM,
 * PING or CONNECTION_CLOSE), pads Initial datagrams (§14.1), then seals and protects them and
 * records them for loss recovery. Congestion control and pacing gate what may be sent.
 * @module
 */
import { Pacer } from "./congestion/pacer.ts";
import { type ConnectionHost, ConnectionPart, type ConnectionParts } from "./connection_parts.ts";
import { TransportError } from "./errors.ts";
import { packetNumberLength, writeLongHeader, writeShortHeader } from "./packet.ts";
import { protectHeader, TAG_LEN } from "./packet_protection.ts";
import type { SpaceId } from "./recovery.ts";
import type { SentFrame, SentPacket } from "./sent_frames.ts";
import { Writer } from "./varint.ts";

/** What {@link PacketBuilder} needs from its connection beyond the shared parts. */
export interface PacketBuilderHost extends ConnectionHost {
  /** True once the TLS handshake completed. */
  readonly handshakeComplete: boolean;
  /** Starts a 1-RTT key update (refused while one is unanswered). */
  initiateKeyUpdate(): boolean;
}

/** One packet written into the datagram, not yet sealed. */
interface Built {
  sp: SpaceId;
  start: number;
  pn: number;
  pnLen: number;
  pnOffset: number;
  lengthOffset: number;
  payloadStart: number;
  payloadEnd: number;
  frames: SentFrame[];
  ackEliciting: boolean;
  padded: boolean;
}

/** Builds a connection's outgoing datagrams and holds what is queued only for them. */
export class PacketBuilder extends ConnectionPart<PacketBuilderHost> {
  /** Paces ack-eliciting 1-RTT packets over the RTT. */
  readonly pacer: Pacer;
  /** Address validation token for Initial packets (from a Retry). */
  token: Uint8Array = new Uint8Array(0);
  /** PATH_CHALLENGE data to answer with PATH_RESPONSE (at most 4 kept). */
  readonly pathResponses: Uint8Array[] = [];
  /** HANDSHAKE_DONE is to be sent (server). */
  handshakeDonePending = false;
  #sentHandshakePacket = false;
  readonly #scratch: Uint8Array;

  /** Takes the connection's fixed parts from `host` once; asks it for the rest per datagram. */
  constructor(parts: ConnectionParts, host: PacketBuilderHost) {
    super(parts, host);
    this.#scratch = new Uint8Array(Math.max(1500, this.config.maxDatagramSize));
    this.pacer = new Pacer(this.config.maxDatagramSize);
  }

  /** Remembers a PATH_CHALLENGE to answer, keeping the latest four. */
  onPathChallenge(data: Uint8Array): void {
    this.pathResponses.push(data.slice());
    if (this.pathResponses.length > 4) this.pathResponses.shift();
  }

  /**
   * Writes the next datagram into the scratch buffer and returns a view of it, or undefined
   * when there is nothing to send now.
   */
  buildDatagram(): Uint8Array | undefined {
    const host = this.host;
    const state = host.state;
    if (state === "closed" || state === "draining") return undefined;
    const closing = state === "closing";
    if (closing && !this.close.sendPending) return undefined;
    const handshakeComplete = host.handshakeComplete;
    const now = host.now;
    // Until the peer's max_udp_payload_size is known, stay within the 1200 bytes every QUIC
    // path carries (a Go peer reads at most 1452-byte datagrams).
    const budget = this.av.budget(
      Math.min(this.config.maxDatagramSize, host.peerParams?.maxUdpPayloadSize ?? 1200),
    );
    if (budget < 64) return undefined;
    const buf = this.#scratch.subarray(0, budget);
    const w = new Writer(buf);
    const built: Built[] = [];
    let hasInitial = false, initialEliciting = false;
    for (const sp of [0, 1, 2] as SpaceId[]) {
      const space = this.spaces[sp];
      if (!space.keys || space.discarded) continue;
      if (sp === 2 && !closing && !handshakeComplete && !this.#hasApp1RttData()) continue;
      if (sp === 2 && closing && !handshakeComplete && this.isClient) continue;
      if (budget - w.pos < 48) break;
      const b = this.#buildPacket(sp, w, budget, closing, now);
      if (!b) continue;
      w.pos = b.payloadEnd + TAG_LEN;
      built.push(b);
      if (sp === 0) {
        hasInitial = true;
        if (b.ackEliciting) initialEliciting = true;
      }
      if (sp === 1 && this.isClient && !this.#sentHandshakePacket) {
        this.#sentHandshakePacket = true;
      }
    }
    if (built.length === 0) return undefined;
    // padding (RFC 9000 §14.1): client Initial datagrams, and server ack-eliciting Initials
    if (hasInitial && (this.isClient || initialEliciting)) {
      this.#padDatagram(w, built[built.length - 1], Math.min(budget, 1200));
    }
    let end = 0;
    for (let i = 0; i < built.length; i++) end = this.#seal(buf, built[i], closing, now);
    this.#afterDatagram(closing);
    this.av.bytesSent += end;
    this.stats.bytesSent += end;
    return buf.subarray(0, end);
  }

  /** Zero-pads the datagram to `target` bytes inside its last packet's payload. */
  #padDatagram(w: Writer, last: Built, target: number): void {
    if (w.pos >= target) return;
    const pad = target - w.pos;
    w.buf.fill(0, last.payloadEnd, last.payloadEnd + pad);
    last.payloadEnd += pad;
    w.pos = target;
  }

  /**
   * Seals and header-protects packet `b` in place, then records it as sent (for loss recovery
   * unless closing, pacing and the idle timer). Returns where the sealed packet ends.
   */
  #seal(buf: Uint8Array, b: Built, closing: boolean, now: number): number {
    const sealedLen = b.payloadEnd - b.payloadStart + TAG_LEN;
    if (b.lengthOffset >= 0) {
      const len = b.pnLen + sealedLen;
      buf[b.lengthOffset] = 0x40 | (len >> 8);
      buf[b.lengthOffset + 1] = len & 0xff;
    }
    const keys = this.spaces[b.sp].keys!.write;
    // the AEAD reads all of its input before we copy the ciphertext over it
    const plain = buf.subarray(b.payloadStart, b.payloadEnd);
    keys.sealInto(b.pn, buf.subarray(b.start, b.payloadStart), plain, buf, b.payloadStart);
    protectHeader(keys.hp, buf.subarray(b.start), b.pnOffset - b.start, b.pnLen);
    const end = b.payloadStart + sealedLen;
    const size = end - b.start;
    const sent: SentPacket = {
      pn: b.pn,
      time: now,
      size,
      ackEliciting: b.ackEliciting,
      inFlight: b.ackEliciting || b.padded,
      frames: b.frames,
    };
    if (!closing) this.recovery.onSent(b.sp, sent);
    this.stats.packetsSent++;
    if (b.ackEliciting) this.pacer.onSent(size);
    if (b.ackEliciting) this.idle.onElicitingSent(now);
    return end;
  }

  /**
   * After a datagram went out: counts a CONNECTION_CLOSE send, starts a due key update, and a
   * client drops its Initial keys once it sent a Handshake packet (RFC 9001 §4.9.1).
   */
  #afterDatagram(closing: boolean): void {
    if (closing) {
      this.close.sendPending = false;
      this.close.sends++;
    }
    if (this.phases.writePackets >= this.config.keyUpdateInterval) this.host.initiateKeyUpdate();
    if (
      this.isClient && this.#sentHandshakePacket && !this.spaces[0].discarded &&
      this.spaces[1].keys
    ) {
      this.host.discardSpace(0);
    }
  }

  #hasApp1RttData(): boolean {
    // server may send 1-RTT data before completion; keep it simple: only after completion
    return false;
  }

  /** Builds one packet's header and frames in place (unsealed). */
  #buildPacket(
    sp: SpaceId,
    w: Writer,
    budget: number,
    closing: boolean,
    now: number,
  ): Built | undefined {
    const rs = this.recovery.spaces[sp];
    const start = w.pos;
    const pn = rs.nextPn;
    const pnLen = packetNumberLength(pn, rs.largestAcked);
    // header written inline: a helper returning both offsets would allocate per packet
    let lengthOffset = -1, pnOffset: number;
    if (sp === 2) {
      pnOffset = writeShortHeader(w, this.cids.active, this.phases.writePhase, pn, pnLen);
      this.phases.writePackets++;
    } else {
      const r = writeLongHeader(
        w,
        sp === 0 ? "initial" : "handshake",
        this.cids.active,
        this.localCid,
        sp === 0 ? this.token : undefined,
        pn,
        pnLen,
      );
      lengthOffset = r.lengthOffset;
      pnOffset = r.pnOffset;
    }
    const payloadStart = w.pos;
    const end = budget - TAG_LEN;
    if (end - payloadStart < 8) {
      w.pos = start;
      return undefined;
    }
    const frames: SentFrame[] = [];
    let eliciting = false;
    if (closing) {
      this.#writeClose(sp, w, end);
    } else {
      eliciting = this.#writeFrames(sp, w, end, now, frames);
      if (w.pos === payloadStart) {
        w.pos = start;
        return undefined;
      }
    }
    rs.nextPn++;
    padForSample(w, payloadStart, pnLen);
    return {
      sp,
      start,
      pn,
      pnLen,
      pnOffset,
      lengthOffset,
      payloadStart,
      payloadEnd: w.pos,
      frames,
      ackEliciting: eliciting,
      padded: false,
    };
  }

  /**
   * Writes the pending CONNECTION_CLOSE; outside 1-RTT an application close goes as a transport
   * one without its reason (RFC 9000 §10.2.3).
   */
  #writeClose(sp: SpaceId, w: Writer, end: number): void {
    const cf = this.close.frame!;
    const app = cf.isApplication && sp === 2;
    const reason = sp === 2 || !cf.isApplication ? cf.reason : "";
    const code = cf.isApplication && sp !== 2 ? TransportError.APPLICATION_ERROR : cf.code;
    const rb = new TextEncoder().encode(reason).subarray(0, Math.max(0, end - w.pos - 24));
    w.u8(app ? 0x1d : 0x1c);
    w.varint(code);
    if (!app) w.varint(cf.frameType);
    w.varint(rb.length);
    w.bytes(rb);
  }

  /**
   * Writes the packet's frames up to `end`: an ACK when due, then, unless congestion or pacing
   * holds back (probes always go), 1-RTT control frames, CRYPTO, STREAM, else a PING when one
   * is owed. Returns whether the packet is ack-eliciting.
   */
  #writeFrames(sp: SpaceId, w: Writer, end: number, now: number, frames: SentFrame[]): boolean {
    const space = this.spaces[sp];
    const cc = this.recovery.cc;
    const probing = space.probes > 0;
    const congested = !probing &&
      (cc.bytesInFlight + this.config.maxDatagramSize > cc.window ||
        (sp === 2 &&
          !this.pacer.allows(now, cc.window, this.recovery.rtt.smoothed)));
    // ACK
    const wantAck = space.ackNeeded || (space.newSinceAck && !space.toAck.empty);
    const hasOther = probing || space.pingPending || !congested && this.#hasElicitingData(sp);
    if (space.ackNeeded || (hasOther && wantAck)) {
      space.writeAck(w, end, now, sp === 2, frames);
    }
    if (congested && !probing) return false;
    const before = w.pos;
    if (sp === 2) this.#write1RttControl(w, end, frames);
    this.#writeCrypto(sp, w, end, frames);
    if (sp === 2) this.streams.writeStreams(w, end, frames);
    let eliciting = w.pos > before;
    if (!eliciting && (space.pingPending || probing)) {
      w.u8(0x01);
      frames.push({ t: "ping" });
      eliciting = true;
    }
    if (eliciting) {
      space.pingPending = false;
      if (space.probes > 0) space.probes--;
    }
    return eliciting;
  }

  /** HANDSHAKE_DONE, PATH_RESPONSE, RETIRE_CONNECTION_ID and stream control frames. */
  #write1RttControl(w: Writer, end: number, frames: SentFrame[]): void {
    if (this.handshakeDonePending && end - w.pos > 1) {
      w.u8(0x1e);
      frames.push({ t: "handshake_done" });
      this.handshakeDonePending = false;
    }
    while (this.pathResponses.length && end - w.pos > 9) {
      w.u8(0x1b);
      w.bytes(this.pathResponses.shift()!);
    }
    this.cids.writeRetires(w, end, frames);
    this.streams.writeControl(w, end, frames);
  }

  #hasElicitingData(sp: SpaceId): boolean {
    const space = this.spaces[sp];
    if (space.cryptoSend.hasPending) return true;
    if (sp !== 2) return false;
    return this.handshakeDonePending || this.pathResponses.length > 0 ||
      this.cids.hasPending ||
      this.streams.hasControl || this.streams.hasData;
  }

  #writeCrypto(sp: SpaceId, w: Writer, end: number, frames: SentFrame[]): void {
    const cs = this.spaces[sp].cryptoSend;
    while (cs.hasPending) {
      const room = end - w.pos - 1 - 8 - 2;
      if (room < 16) return;
      const r = cs.next(room);
      if (!r || r.len === 0) return;
      w.u8(0x06);
      w.varint(r.off);
      w.varint(r.len);
      cs.copy(r.off, r.len, w.buf, w.pos);
      w.pos += r.len;
      frames.push({ t: "crypto", off: r.off, len: r.len });
    }
  }
}

/** Header protection samples 16 bytes starting 4 bytes after the packet number. */
function padForSample(w: Writer, payloadStart: number, pnLen: number): void {
  const min = 4 - pnLen;
  while (w.pos - payloadStart < min) w.u8(0);
}
