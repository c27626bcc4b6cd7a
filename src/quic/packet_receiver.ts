/**
 * The input path of a QUIC connection: splits a datagram into packets, handles Retry (RFC 9000
 * §17.2.5) and stateless resets (§10.3), removes header and packet protection (with 1-RTT key
 * phases), dispatches each frame to the part of the connection that owns it, and applies what
 * ACK frames reveal: acknowledged and lost packets' frames go back to their owners.
 * @module
 */
import { type ConnectionHost, ConnectionPart, type ConnectionParts } from "./connection_parts.ts";
import { QuicError, TransportError } from "./errors.ts";
import { type Frame, parseFrames } from "./frame.ts";
import { decodePacketNumber, type PacketHeader, parseHeader } from "./packet.ts";
import { initialKeys, retryIntegrityTag, unprotectHeader } from "./packet_protection.ts";
import type { PacketBuilder } from "./packet_builder.ts";
import type { RecoveryContext, SpaceId } from "./recovery.ts";
import type { SentFrame, SentPacket } from "./sent_frames.ts";

const LEVEL_NAMES = ["initial", "handshake", "application"];

/** What {@link PacketReceiver} needs from its connection beyond the shared parts. */
export interface PacketReceiverHost extends ConnectionHost {
  /** The connection's output side (close resends, PATH_RESPONSE, HANDSHAKE_DONE, token). */
  readonly builder: PacketBuilder;
  /** What loss recovery needs to know about the handshake and address validation. */
  recoveryCtx(): RecoveryContext;
  /** Hands in-order CRYPTO data of space `sp` to TLS and processes what TLS produces. */
  handleCrypto(sp: SpaceId, data: Uint8Array): void;
  /** Records why the connection closed and starts draining until `deadline`. */
  drain(code: number, reason: string, isApplication: boolean, deadline: number): void;
  /** The probe timeout duration (ms). */
  ptoDuration(): number;
  /** The handshake is confirmed (client: HANDSHAKE_DONE received). */
  confirmHandshake(): void;
}

function eqBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Receives a connection's datagrams and applies their frames. */
export class PacketReceiver extends ConnectionPart<PacketReceiverHost> {
  /** Client: a packet from the server arrived (no Retry accepted after that). */
  gotServerPacket = false;
  /** The SCID of the peer's first Initial. */
  peerInitialScid?: Uint8Array;
  /** Client: the SCID of the Retry we accepted. */
  retryScid?: Uint8Array;
  readonly #builder: PacketBuilder;

  /** Takes the connection's fixed parts from `host` once; asks it for the rest per packet. */
  constructor(parts: ConnectionParts, host: PacketReceiverHost) {
    super(parts, host);
    this.#builder = host.builder;
  }

  /** Processes one received datagram; throws QuicError on a protocol violation. */
  handleDatagram(dg: Uint8Array): void {
    const host = this.host;
    const state = host.state;
    if (state === "closed" || state === "draining") return;
    if (state === "closing") {
      if (this.close.sends < 16) this.close.sendPending = true;
      return;
    }
    this.av.bytesRecv += dg.length;
    this.stats.bytesReceived += dg.length;
    let off = 0;
    let anyOk = false;
    while (off < dg.length) {
      const h = parseHeader(dg, off, this.config.cidLength);
      if (typeof h === "string") break;
      off = h.end;
      if (h.type === "retry") {
        this.#handleRetry(dg.subarray(h.start, h.end), h);
        return;
      }
      if (h.type === "version_negotiation" || h.type === "0rtt") continue;
      if (
        !eqBytes(h.dcid, this.localCid) &&
        !(h.type === "initial" && !this.isClient && eqBytes(h.dcid, this.originalDcid))
      ) {
        continue;
      }
      if (this.#handlePacket(dg, h)) anyOk = true;
      const st = host.state;
      if (st !== "handshake" && st !== "established") return;
    }
    if (!anyOk && dg.length >= 21 && this.#isStatelessReset(dg)) {
      host.drain(0, "stateless reset", false, host.now);
    }
  }

  #isStatelessReset(dg: Uint8Array): boolean {
    const tail = dg.subarray(dg.length - 16);
    return this.cids.resetTokens.some((t) => eqBytes(t, tail));
  }

  #handleRetry(pkt: Uint8Array, h: PacketHeader): void {
    if (!this.isClient || this.gotServerPacket || this.retryScid || h.token.length === 0) return;
    const tag = retryIntegrityTag(this.originalDcid, pkt.subarray(0, pkt.length - 16));
    if (!eqBytes(tag, pkt.subarray(pkt.length - 16))) return;
    this.retryScid = h.scid.slice();
    this.#builder.token = h.token.slice();
    this.cids.setInitial(this.retryScid);
    this.spaces[0].keys = initialKeys(this.retryScid, true);
    this.recovery.discard(0);
    const cs = this.spaces[0].cryptoSend;
    cs.lost(0, cs.writeOffset, false);
  }

  /** Decrypts and processes one packet; returns true if it authenticated. */
  #handlePacket(dg: Uint8Array, h: PacketHeader): boolean {
    const sp: SpaceId = h.type === "initial" ? 0 : h.type === "handshake" ? 1 : 2;
    const space = this.spaces[sp];
    if (!space.keys || space.discarded) return false;
    const pkt = dg.subarray(h.start, h.end);
    const pnOffset = h.pnOffset - h.start;
    const u = unprotectHeader(space.keys.read.hp, pkt, pnOffset);
    if (!u) return false;
    const pn = decodePacketNumber(space.largestRecv, u.truncatedPn, u.pnLen);
    const sealed = pkt.subarray(pnOffset + u.pnLen);
    let keys = space.keys.read;
    let rotate = false;
    if (sp === 2) ({ keys, rotate } = this.phases.select(space.keys, (u.header[0] >> 2) & 1, pn));
    const plain = keys.open(pn, u.header, sealed);
    if (!plain) return false;
    const reserved = sp === 2 ? u.header[0] & 0x18 : u.header[0] & 0x0c;
    if (reserved !== 0) {
      throw new QuicError(TransportError.PROTOCOL_VIOLATION, "reserved header bits set");
    }
    if (rotate) {
      if (this.phases.writePhase === this.phases.readPhase) this.stats.keyUpdates++; // peer-initiated
      this.phases.rotate(space.keys, keys, pn);
    }
    if (space.isDuplicate(pn)) return true;
    if (this.isClient && !this.gotServerPacket && sp === 0) {
      this.gotServerPacket = true;
      this.peerInitialScid = h.scid.slice();
      this.cids.setInitial(this.peerInitialScid);
    }
    if (!this.isClient && sp === 0 && !this.peerInitialScid) {
      this.peerInitialScid = h.scid.slice();
    }
    const host = this.host;
    if (!this.isClient && sp === 1) {
      this.av.validated = true;
      if (!this.spaces[0].discarded) host.discardSpace(0);
    }
    const now = host.now;
    this.idle.lastRecv = now;
    let frames: Frame[];
    try {
      frames = parseFrames(plain);
    } catch (e) {
      if (e instanceof QuicError) throw e;
      throw new QuicError(TransportError.FRAME_ENCODING_ERROR, String(e));
    }
    if (frames.length === 0) {
      throw new QuicError(TransportError.PROTOCOL_VIOLATION, "packet without frames");
    }
    let eliciting = false;
    for (const f of frames) {
      if (f.type !== "ack" && f.type !== "padding" && f.type !== "connection_close") {
        eliciting = true;
      }
      this.#handleFrame(sp, f);
      const state = host.state;
      if (state !== "handshake" && state !== "established") return true;
    }
    if (space.discarded) return true;
    this.stats.packetsReceived++;
    // ACK every 2nd packet at first, then every `ackElicitingThreshold` (ack decimation),
    // with the delayed-ACK timer at min(max_ack_delay, RTT/4)
    const threshold = this.stats.packetsReceived < 100 ? 2 : this.config.ackElicitingThreshold;
    const delay = Math.min(this.config.maxAckDelay, Math.max(1, this.recovery.rtt.smoothed / 4));
    space.onReceived(pn, eliciting, now, sp !== 2, threshold, delay);
    return true;
  }

  #handleFrame(sp: SpaceId, f: Frame): void {
    if (sp !== 2) {
      const ok = f.type === "padding" || f.type === "ping" || f.type === "ack" ||
        f.type === "crypto" ||
        (f.type === "connection_close" && !f.isApplication);
      if (!ok) {
        throw new QuicError(
          TransportError.PROTOCOL_VIOLATION,
          `frame ${f.type} not allowed in ${LEVEL_NAMES[sp]} packets`,
        );
      }
    }
    switch (f.type) {
      case "padding":
      case "ping":
        return;
      case "ack":
        return this.#onAck(sp, f.ranges, f.delay);
      case "crypto": {
        const space = this.spaces[sp];
        if (f.offset + f.data.length > space.cryptoRecv.readOffset + 1024 * 1024) {
          throw new QuicError(
            TransportError.CRYPTO_BUFFER_EXCEEDED,
            "too much out-of-order CRYPTO data",
          );
        }
        space.cryptoRecv.insert(f.offset, f.data);
        while (space.cryptoRecv.readable) {
          this.host.handleCrypto(sp, space.cryptoRecv.read());
          const state = this.host.state;
          if (state !== "handshake" && state !== "established") return;
        }
        return;
      }
      case "stream":
        return this.streams.onStream(f.id, f.offset, f.data, f.fin);
      case "reset_stream":
        return this.streams.onResetStream(f.id, f.code, f.finalSize);
      case "stop_sending":
        return this.streams.onStopSending(f.id, f.code);
      case "max_data":
        return this.streams.onMaxData(f.max);
      case "max_stream_data":
        return this.streams.onMaxStreamData(f.id, f.max);
      case "max_streams":
        return this.streams.onMaxStreams(f.bidi, f.max);
      case "data_blocked":
      case "stream_data_blocked":
      case "streams_blocked":
        return;
      case "new_token":
        if (!this.isClient) {
          throw new QuicError(TransportError.PROTOCOL_VIOLATION, "client sent NEW_TOKEN");
        }
        return;
      case "new_connection_id":
        return this.cids.onNew(f.seq, f.retirePriorTo, f.cid, f.resetToken);
      case "retire_connection_id":
        if (f.seq > 0) {
          throw new QuicError(
            TransportError.PROTOCOL_VIOLATION,
            `retired unknown CID sequence ${f.seq}`,
          );
        }
        return;
      case "path_challenge":
        return this.#builder.onPathChallenge(f.data);
      case "path_response":
        return;
      case "connection_close": {
        const host = this.host;
        host.drain(f.code, f.reason, f.isApplication, host.now + 3 * host.ptoDuration());
        return;
      }
      case "handshake_done":
        if (!this.isClient) {
          throw new QuicError(TransportError.PROTOCOL_VIOLATION, "client sent HANDSHAKE_DONE");
        }
        this.host.confirmHandshake();
        return;
    }
  }

  #onAck(sp: SpaceId, ranges: Array<[number, number]>, delay: number): void {
    const host = this.host;
    const exp = host.peerParams?.ackDelayExponent ?? 3;
    const ackDelay = sp === 2 ? (delay * 2 ** exp) / 1000 : 0;
    const res = this.recovery.onAck(sp, ranges, ackDelay, host.now, host.recoveryCtx());
    if (sp === 1 && res.acked.length) this.av.validatedByPeer = true;
    for (const p of res.acked) {
      for (const f of p.frames) this.#onFrameAcked(sp, f);
    }
    this.onPacketsLost(sp, res.lost);
  }

  #onFrameAcked(sp: SpaceId, f: SentFrame): void {
    switch (f.t) {
      case "crypto":
        this.spaces[sp].cryptoSend.ack(f.off, f.len, false);
        return;
      case "ack":
        this.spaces[sp].onAckAcknowledged(f.largest);
        return;
      case "retire_cid":
      case "handshake_done":
      case "ping":
        return;
      default:
        this.streams.onAcked(f);
    }
  }

  /** Packets of space `sp` were declared lost: their frames are queued again where needed. */
  onPacketsLost(sp: SpaceId, lost: SentPacket[]): void {
    this.stats.packetsLost += lost.length;
    for (const p of lost) {
      for (const f of p.frames) {
        switch (f.t) {
          case "crypto":
            if (!this.spaces[sp].discarded) this.spaces[sp].cryptoSend.lost(f.off, f.len, false);
            break;
          case "handshake_done":
            this.#builder.handshakeDonePending = true;
            break;
          case "retire_cid":
            this.cids.onLost(f.seq);
            break;
          case "ack":
          case "ping":
            break;
          default:
            this.streams.onLost(f);
        }
      }
    }
  }
}
