/**
 * A sans-IO QUIC v1 connection (RFC 9000/9001/9002) in the style of quinn-proto: datagrams and
 * timer expiries in, datagrams and events out, time always passed in as milliseconds. It never
 * touches sockets or clocks, and malformed or hostile input never throws out of `handle()`.
 * @module
 */
import {
  DEFAULT_TRANSPORT,
  type TlsFactory,
  type TlsSession,
  type TransportConfig,
} from "./config.ts";
import { NewReno } from "./congestion/new_reno.ts";
import { Pacer } from "./congestion/pacer.ts";
import { localParameters, validatePeerCids } from "./connection_params.ts";
import { KeyPhases } from "./key_phase.ts";
import { PeerCids } from "./peer_cids.ts";
import { PacketSpace } from "./spaces.ts";
import { cryptoError, QuicError, TransportError } from "./errors.ts";
import { type Frame, parseFrames } from "./frame.ts";
import {
  decodePacketNumber,
  type PacketHeader,
  packetNumberLength,
  parseHeader,
  writeLongHeader,
  writeShortHeader,
} from "./packet.ts";
import {
  initialKeys,
  PacketKeys,
  protectHeader,
  retryIntegrityTag,
  TAG_LEN,
  unprotectHeader,
} from "./packet_protection.ts";
import { Recovery, type RecoveryContext, type SpaceId } from "./recovery.ts";
import type { SentFrame, SentPacket } from "./sent_frames.ts";
import { type ConnectionEvent, Streams } from "./streams.ts";
import type { EncryptionLevel } from "./tls/types.ts";
import {
  decodeTransportParameters,
  encodeTransportParameters,
  type TransportParameters,
} from "./transport_parameters.ts";
import { Writer } from "./varint.ts";

export type { ConnectionEvent } from "./streams.ts";

/** Lifecycle states. */
export type ConnectionState = "handshake" | "established" | "closing" | "draining" | "closed";

/** Options for creating a connection (normally done by QuicEndpoint). */
export interface ConnectionOptions {
  /** Role. */
  role: "client" | "server";
  /** Creates the TLS session from our encoded transport parameters. */
  tls: TlsFactory;
  /** Transport settings (defaults from {@link DEFAULT_TRANSPORT}). */
  transport?: Partial<TransportConfig>;
  /** Our source connection ID. */
  localCid: Uint8Array;
  /** Client: random initial DCID. Server: the client's SCID. */
  remoteCid: Uint8Array;
  /** Server: the DCID of the client's first Initial. */
  originalDcid?: Uint8Array;
  /** Server: stateless reset token for our CID. */
  statelessResetToken?: Uint8Array;
  /** Client: SNI. */
  serverName?: string;
  /** Time of creation (ms). */
  now: number;
}

const LEVELS: EncryptionLevel[] = ["initial", "handshake", "application"];

function eqBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A QUIC connection state machine. */
export class QuicConnection {
  /** Role of this side. */
  readonly isClient: boolean;
  /** Effective transport settings. */
  readonly config: TransportConfig;
  /** Our connection ID. */
  readonly localCid: Uint8Array;
  /** Destination connection ID we currently use. */
  get remoteCid(): Uint8Array {
    return this.#cids.active;
  }
  /** Negotiated ALPN ("" until the handshake completes). */
  alpn = "";
  /** Peer's certificate chain (DER, leaf first). */
  peerCertificates: Uint8Array[] = [];
  /** Peer's transport parameters once known. */
  peerParams?: TransportParameters;
  /** Counters for diagnostics. */
  readonly stats = {
    packetsSent: 0,
    packetsReceived: 0,
    packetsLost: 0,
    ptos: 0,
    bytesSent: 0,
    bytesReceived: 0,
    keyUpdates: 0,
  };
  /** Why the connection closed, once it has. */
  closeReason?: { code: number; reason: string; byPeer: boolean; isApplication: boolean };

  #state: ConnectionState = "handshake";
  #tls: TlsSession;
  #spaces: PacketSpace[];
  #recovery: Recovery;
  #streams: Streams;
  #events: ConnectionEvent[] = [];
  #originalDcid: Uint8Array;
  #retryScid?: Uint8Array;
  #token: Uint8Array = new Uint8Array(0);
  #gotServerPacket = false;
  #peerInitialScid?: Uint8Array;
  #handshakeComplete = false;
  #handshakeConfirmed = false;
  #handshakeDonePending = false;
  #sentHandshakePacket = false;
  #addressValidated: boolean;
  #peerValidatedUs = false;
  #bytesRecv = 0;
  #bytesSent = 0;
  #phases = new KeyPhases();
  // timers
  #now: number;
  #lastRecv: number;
  #lastElicitingSent = -Infinity;
  #lastKeepAlive = -Infinity;
  #idleTimeout: number;
  #closeDeadline?: number;
  #closeFrame?: { code: number; reason: string; isApplication: boolean; frameType: number };
  #closeSendPending = false;
  #closeSends = 0;
  #cids: PeerCids;
  #pathResponses: Uint8Array[] = [];
  #statelessResetToken?: Uint8Array;
  #scratch: Uint8Array;
  #pacer: Pacer;
  #pendingKeys: Array<{ read?: PacketKeys; write?: PacketKeys } | undefined> = [
    undefined,
    undefined,
    undefined,
  ];

  /** Creates a connection; a client queues its ClientHello at once. */
  constructor(opts: ConnectionOptions) {
    this.isClient = opts.role === "client";
    this.config = { ...DEFAULT_TRANSPORT, ...opts.transport };
    this.localCid = opts.localCid;
    this.#originalDcid = this.isClient ? opts.remoteCid : opts.originalDcid!;
    this.#statelessResetToken = opts.statelessResetToken;
    this.#addressValidated = this.isClient;
    this.#now = opts.now;
    this.#lastRecv = opts.now;
    this.#idleTimeout = this.config.handshakeTimeout;
    this.#scratch = new Uint8Array(Math.max(1500, this.config.maxDatagramSize));
    this.#pacer = new Pacer(this.config.maxDatagramSize);
    this.#cids = new PeerCids(opts.remoteCid, this.config.activeConnectionIdLimit);
    this.#spaces = [new PacketSpace(), new PacketSpace(), new PacketSpace()];
    this.#spaces[0].keys = initialKeys(this.#originalDcid, this.isClient);
    this.#recovery = new Recovery(new NewReno(this.config.maxDatagramSize));
    const c = this.config;
    this.#streams = new Streams(this.isClient, {
      streamWindow: c.streamWindow,
      connectionWindow: c.connectionWindow,
      maxStreamWindow: c.maxStreamWindow,
      maxConnectionWindow: c.maxConnectionWindow,
      maxBidiStreams: c.maxBidiStreams,
      maxUniStreams: c.maxUniStreams,
      sendBufferSize: c.sendBufferSize,
    }, this.#events);
    this.#streams.rtt = () => this.#recovery.rtt.smoothed;
    this.#streams.now = () => this.#now;
    const tp = localParameters(
      c,
      this.isClient,
      this.localCid,
      this.#originalDcid,
      opts.statelessResetToken,
    );
    this.#tls = opts.tls(encodeTransportParameters(tp), opts.serverName);
    if (this.isClient) {
      this.#safely(() => {
        this.#tls.start();
        this.#drainTls();
      });
    }
  }

  /** Current lifecycle state. */
  get state(): ConnectionState {
    return this.#state;
  }
  /** True once the TLS handshake completed. */
  get handshakeComplete(): boolean {
    return this.#handshakeComplete;
  }
  /** True when the connection is gone and can be forgotten. */
  get isClosed(): boolean {
    return this.#state === "closed";
  }
  /** Smoothed RTT in ms. */
  get rtt(): number {
    return this.#recovery.rtt.smoothed;
  }
  /** RTT estimator state in ms (diagnostics). */
  get rttStats(): { smoothed: number; min: number; latest: number; variation: number } {
    const r = this.#recovery.rtt;
    return { smoothed: r.smoothed, min: r.min, latest: r.latest, variation: r.rttvar };
  }
  /** Bytes in flight (diagnostics). */
  get bytesInFlight(): number {
    return this.#recovery.cc.bytesInFlight;
  }
  /** Congestion window in bytes (diagnostics). */
  get congestionWindow(): number {
    return this.#recovery.cc.window;
  }
  /** Stateless reset tokens announced by the peer (for the endpoint's detection). */
  get peerResetTokens(): readonly Uint8Array[] {
    return this.#cids.resetTokens;
  }

  // ---------------------------------------------------------------- application API

  /** Next event for the application. */
  poll(): ConnectionEvent | undefined {
    return this.#events.shift();
  }
  /** Opens a bidirectional stream; null if the peer's limit is reached or not yet known. */
  openBidi(): number | null {
    if (!this.peerParams && !this.#handshakeComplete) return null;
    return this.#streams.open(true);
  }
  /** Opens a unidirectional stream; null if the peer's limit is reached. */
  openUni(): number | null {
    if (!this.peerParams) return null;
    return this.#streams.open(false);
  }
  /** Queues bytes on a stream; returns how many were accepted (flow control, buffer limits). */
  write(id: number, data: Uint8Array): number {
    if (this.#state === "closing" || this.#state === "draining" || this.#state === "closed") {
      throw new QuicError(TransportError.NO_ERROR, "connection is closed");
    }
    return this.#streams.write(id, data);
  }
  /** Ends the stream's send side (FIN). */
  finish(id: number): void {
    this.#streams.finish(id);
  }
  /** Reads up to `max` bytes: empty = nothing yet, null = end of stream (FIN, or reset). */
  read(id: number, max?: number): Uint8Array | null {
    return this.#streams.read(id, max);
  }
  /** Abandons sending on a stream (RESET_STREAM with `code`). */
  resetStream(id: number, code: number): void {
    this.#streams.reset(id, code);
  }
  /** Asks the peer to stop sending on a stream (STOP_SENDING with `code`). */
  stopSending(id: number, code: number): void {
    this.#streams.stopSending(id, code);
  }

  /** Closes the connection with CONNECTION_CLOSE (application error by default). */
  close(now: number, code: number, reason: string, application = true): void {
    this.#now = Math.max(this.#now, now);
    this.#startClose({ code, reason, isApplication: application, frameType: 0 }, false);
  }

  /** Current 1-RTT key phase bit we send with. */
  get keyPhase(): number {
    return this.#phases.writePhase;
  }

  /**
   * Starts a key update (RFC 9001 §6): new write keys now, the peer follows. Refused (false)
   * before the handshake is confirmed or while our previous update is not yet answered.
   */
  initiateKeyUpdate(): boolean {
    const space = this.#spaces[2];
    if (!this.#handshakeConfirmed || !space.keys || this.#state !== "established") return false;
    if (!this.#phases.initiate(space.keys)) return false;
    this.stats.keyUpdates++;
    return true;
  }

  // ---------------------------------------------------------------- input

  /** Processes one received datagram. Never throws. */
  handle(now: number, datagram: Uint8Array): void {
    this.#now = Math.max(this.#now, now);
    this.#safely(() => this.#handleDatagram(datagram));
  }

  #safely(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (e instanceof QuicError) {
        this.#startClose({
          code: e.code,
          reason: e.message,
          isApplication: e.isApplication,
          frameType: e.frameType,
        }, false);
      } else {
        this.#startClose(
          {
            code: TransportError.INTERNAL_ERROR,
            reason: `internal error: ${(e as Error)?.message ?? e}`,
            isApplication: false,
            frameType: 0,
          },
          false,
        );
      }
    }
  }

  #handleDatagram(dg: Uint8Array): void {
    if (this.#state === "closed" || this.#state === "draining") return;
    if (this.#state === "closing") {
      if (this.#closeSends < 16) this.#closeSendPending = true;
      return;
    }
    this.#bytesRecv += dg.length;
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
        !(h.type === "initial" && !this.isClient && eqBytes(h.dcid, this.#originalDcid))
      ) {
        continue;
      }
      if (this.#handlePacket(dg, h)) anyOk = true;
      if (this.#state !== "handshake" && this.#state !== "established") return;
    }
    if (!anyOk && dg.length >= 21 && this.#isStatelessReset(dg)) {
      this.#closeReasonSet(0, "stateless reset", true, false);
      this.#state = "draining";
      this.#closeDeadline = this.#now;
    }
  }

  #isStatelessReset(dg: Uint8Array): boolean {
    const tail = dg.subarray(dg.length - 16);
    return this.#cids.resetTokens.some((t) => eqBytes(t, tail));
  }

  #handleRetry(pkt: Uint8Array, h: PacketHeader): void {
    if (!this.isClient || this.#gotServerPacket || this.#retryScid || h.token.length === 0) return;
    const tag = retryIntegrityTag(this.#originalDcid, pkt.subarray(0, pkt.length - 16));
    if (!eqBytes(tag, pkt.subarray(pkt.length - 16))) return;
    this.#retryScid = h.scid.slice();
    this.#token = h.token.slice();
    this.#cids.setInitial(this.#retryScid);
    this.#spaces[0].keys = initialKeys(this.#retryScid, true);
    this.#recovery.discard(0);
    const cs = this.#spaces[0].cryptoSend;
    cs.lost(0, cs.writeOffset, false);
  }

  /** Decrypts and processes one packet; returns true if it authenticated. */
  #handlePacket(dg: Uint8Array, h: PacketHeader): boolean {
    const sp: SpaceId = h.type === "initial" ? 0 : h.type === "handshake" ? 1 : 2;
    const space = this.#spaces[sp];
    if (!space.keys || space.discarded) return false;
    const pkt = dg.subarray(h.start, h.end);
    const pnOffset = h.pnOffset - h.start;
    const u = unprotectHeader(space.keys.read.hp, pkt, pnOffset);
    if (!u) return false;
    const pn = decodePacketNumber(space.largestRecv, u.truncatedPn, u.pnLen);
    const sealed = pkt.subarray(pnOffset + u.pnLen);
    let keys = space.keys.read;
    let rotate = false;
    if (sp === 2) ({ keys, rotate } = this.#phases.select(space.keys, (u.header[0] >> 2) & 1, pn));
    const plain = keys.open(pn, u.header, sealed);
    if (!plain) return false;
    const reserved = sp === 2 ? u.header[0] & 0x18 : u.header[0] & 0x0c;
    if (reserved !== 0) {
      throw new QuicError(TransportError.PROTOCOL_VIOLATION, "reserved header bits set");
    }
    if (rotate) {
      if (this.#phases.writePhase === this.#phases.readPhase) this.stats.keyUpdates++; // peer-initiated
      this.#phases.rotate(space.keys, keys, pn);
    }
    if (space.isDuplicate(pn)) return true;
    if (this.isClient && !this.#gotServerPacket && sp === 0) {
      this.#gotServerPacket = true;
      this.#peerInitialScid = h.scid.slice();
      this.#cids.setInitial(this.#peerInitialScid);
    }
    if (!this.isClient && sp === 0 && !this.#peerInitialScid) {
      this.#peerInitialScid = h.scid.slice();
    }
    if (!this.isClient && sp === 1) {
      this.#addressValidated = true;
      if (!this.#spaces[0].discarded) this.#discardSpace(0);
    }
    this.#lastRecv = this.#now;
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
      if (this.#state !== "handshake" && this.#state !== "established") return true;
    }
    if (space.discarded) return true;
    this.stats.packetsReceived++;
    // ACK every 2nd packet at first, then every `ackElicitingThreshold` (ack decimation),
    // with the delayed-ACK timer at min(max_ack_delay, RTT/4)
    const threshold = this.stats.packetsReceived < 100 ? 2 : this.config.ackElicitingThreshold;
    const delay = Math.min(this.config.maxAckDelay, Math.max(1, this.#recovery.rtt.smoothed / 4));
    space.onReceived(pn, eliciting, this.#now, sp !== 2, threshold, delay);
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
          `frame ${f.type} not allowed in ${LEVELS[sp]} packets`,
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
        const space = this.#spaces[sp];
        if (f.offset + f.data.length > space.cryptoRecv.readOffset + 1024 * 1024) {
          throw new QuicError(
            TransportError.CRYPTO_BUFFER_EXCEEDED,
            "too much out-of-order CRYPTO data",
          );
        }
        space.cryptoRecv.insert(f.offset, f.data);
        while (space.cryptoRecv.readable) {
          this.#tls.handleCrypto(LEVELS[sp], space.cryptoRecv.read());
          this.#drainTls();
          if (this.#state !== "handshake" && this.#state !== "established") return;
        }
        return;
      }
      case "stream":
        return this.#streams.onStream(f.id, f.offset, f.data, f.fin);
      case "reset_stream":
        return this.#streams.onResetStream(f.id, f.code, f.finalSize);
      case "stop_sending":
        return this.#streams.onStopSending(f.id, f.code);
      case "max_data":
        return this.#streams.onMaxData(f.max);
      case "max_stream_data":
        return this.#streams.onMaxStreamData(f.id, f.max);
      case "max_streams":
        return this.#streams.onMaxStreams(f.bidi, f.max);
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
        return this.#cids.onNew(f.seq, f.retirePriorTo, f.cid, f.resetToken);
      case "retire_connection_id":
        if (f.seq > 0) {
          throw new QuicError(
            TransportError.PROTOCOL_VIOLATION,
            `retired unknown CID sequence ${f.seq}`,
          );
        }
        return;
      case "path_challenge":
        this.#pathResponses.push(f.data.slice());
        if (this.#pathResponses.length > 4) this.#pathResponses.shift();
        return;
      case "path_response":
        return;
      case "connection_close":
        this.#closeReasonSet(f.code, f.reason, true, f.isApplication);
        this.#state = "draining";
        this.#closeDeadline = this.#now + 3 * this.#ptoDuration();
        return;
      case "handshake_done":
        if (!this.isClient) {
          throw new QuicError(TransportError.PROTOCOL_VIOLATION, "client sent HANDSHAKE_DONE");
        }
        this.#confirmHandshake();
        return;
    }
  }

  #onAck(sp: SpaceId, ranges: Array<[number, number]>, delay: number): void {
    const exp = this.peerParams?.ackDelayExponent ?? 3;
    const ackDelay = sp === 2 ? (delay * 2 ** exp) / 1000 : 0;
    const res = this.#recovery.onAck(sp, ranges, ackDelay, this.#now, this.#recoveryCtx());
    if (sp === 1 && res.acked.length) this.#peerValidatedUs = true;
    for (const p of res.acked) {
      for (const f of p.frames) this.#onFrameAcked(sp, f);
    }
    this.#onPacketsLost(sp, res.lost);
  }

  #onFrameAcked(sp: SpaceId, f: SentFrame): void {
    switch (f.t) {
      case "crypto":
        this.#spaces[sp].cryptoSend.ack(f.off, f.len, false);
        return;
      case "ack":
        this.#spaces[sp].onAckAcknowledged(f.largest);
        return;
      case "retire_cid":
      case "handshake_done":
      case "ping":
        return;
      default:
        this.#streams.onAcked(f);
    }
  }

  #onPacketsLost(sp: SpaceId, lost: SentPacket[]): void {
    this.stats.packetsLost += lost.length;
    for (const p of lost) {
      for (const f of p.frames) {
        switch (f.t) {
          case "crypto":
            if (!this.#spaces[sp].discarded) this.#spaces[sp].cryptoSend.lost(f.off, f.len, false);
            break;
          case "handshake_done":
            this.#handshakeDonePending = true;
            break;
          case "retire_cid":
            this.#cids.onLost(f.seq);
            break;
          case "ack":
          case "ping":
            break;
          default:
            this.#streams.onLost(f);
        }
      }
    }
  }

  #drainTls(): void {
    for (let ev = this.#tls.poll(); ev; ev = this.#tls.poll()) {
      switch (ev.kind) {
        case "send": {
          const idx = LEVELS.indexOf(ev.level);
          this.#spaces[idx].cryptoSend.write(ev.data);
          break;
        }
        case "secret": {
          const sp = ev.level === "handshake" ? 1 : 2;
          const space = this.#spaces[sp];
          const k = new PacketKeys(ev.suite, ev.secret);
          const pend = this.#pendingKeys[sp] ??= {};
          pend[ev.direction] = k;
          if (pend.read && pend.write) {
            space.keys = { read: pend.read, write: pend.write };
            this.#pendingKeys[sp] = undefined;
          }
          break;
        }
        case "complete":
          this.#onHandshakeComplete(ev.alpn, ev.peerTransportParameters, ev.peerCertificates);
          break;
        case "error":
          throw new QuicError(cryptoError(ev.alert), `TLS: ${ev.reason}`);
      }
    }
  }

  #onHandshakeComplete(alpn: string, tpBytes: Uint8Array, certs: Uint8Array[]): void {
    const tp = decodeTransportParameters(tpBytes, this.isClient);
    validatePeerCids(tp, this.isClient, {
      peerInitialScid: this.#peerInitialScid,
      originalDcid: this.#originalDcid,
      retryScid: this.#retryScid,
    });
    if (this.isClient && tp.statelessResetToken) this.#cids.addResetToken(tp.statelessResetToken);
    this.peerParams = tp;
    this.alpn = alpn;
    this.peerCertificates = certs;
    this.#streams.setPeerParams(tp);
    const ours = this.config.maxIdleTimeout, theirs = tp.maxIdleTimeout;
    this.#idleTimeout = ours && theirs ? Math.min(ours, theirs) : ours || theirs || 0;
    this.#handshakeComplete = true;
    this.#state = "established";
    this.#events.push({ type: "handshakeComplete" });
    if (!this.isClient) {
      this.#handshakeDonePending = true;
      this.#confirmHandshake();
    }
  }

  #confirmHandshake(): void {
    if (this.#handshakeConfirmed) return;
    this.#handshakeConfirmed = true;
    this.#peerValidatedUs = true;
    if (!this.#spaces[0].discarded) this.#discardSpace(0);
    if (!this.#spaces[1].discarded) this.#discardSpace(1);
  }

  #discardSpace(sp: SpaceId): void {
    this.#spaces[sp].discard();
    this.#recovery.discard(sp);
  }

  #closeReasonSet(code: number, reason: string, byPeer: boolean, isApplication: boolean): void {
    if (this.closeReason) return;
    this.closeReason = { code, reason, byPeer, isApplication };
    this.#events.push({ type: "connectionClosed", code, reason, byPeer, isApplication });
  }

  #startClose(
    frame: { code: number; reason: string; isApplication: boolean; frameType: number },
    byPeer: boolean,
  ): void {
    if (this.#state === "closing" || this.#state === "draining" || this.#state === "closed") return;
    this.#closeReasonSet(frame.code, frame.reason, byPeer, frame.isApplication);
    this.#closeFrame = frame;
    this.#state = "closing";
    this.#closeSendPending = true;
    this.#closeDeadline = this.#now + 3 * this.#ptoDuration();
  }

  #ptoDuration(): number {
    return this.#recovery.rtt.ptoBase + (this.peerParams?.maxAckDelay ?? 25);
  }

  #recoveryCtx(): RecoveryContext {
    return {
      handshakeConfirmed: this.#handshakeConfirmed,
      isClient: this.isClient,
      hasHandshakeKeys: !!this.#spaces[1].keys,
      peerValidated: !this.isClient || this.#peerValidatedUs,
      amplificationBlocked: !this.#addressValidated && this.#bytesSent >= 3 * this.#bytesRecv,
      spaceActive: (s) => !!this.#spaces[s].keys,
      maxAckDelay: this.peerParams?.maxAckDelay ?? 25,
    };
  }

  // ---------------------------------------------------------------- timers

  /** Earliest time handleTimeout() must be called, or undefined. */
  pollTimeout(): number | undefined {
    if (this.#state === "closed") return undefined;
    if (this.#state === "closing" || this.#state === "draining") return this.#closeDeadline;
    let t = Infinity;
    if (this.#idleTimeout) t = Math.min(t, this.#idleDeadline());
    const ka = this.#keepAliveDeadline();
    if (ka !== undefined) t = Math.min(t, ka);
    for (const s of this.#spaces) if (s.ackDeadline !== undefined) t = Math.min(t, s.ackDeadline);
    const lt = this.#recovery.timer(this.#now, this.#recoveryCtx());
    if (lt) t = Math.min(t, lt[0]);
    const pd = this.#pacer.deadline(
      this.#now,
      this.#recovery.cc.window,
      this.#recovery.rtt.smoothed,
    );
    if (pd !== undefined) t = Math.min(t, pd);
    return t === Infinity ? undefined : t;
  }

  #idleDeadline(): number {
    const base = Math.max(
      this.#lastRecv,
      this.#lastElicitingSent === -Infinity ? this.#lastRecv : this.#lastElicitingSent,
    );
    return base + Math.max(this.#idleTimeout, 3 * this.#ptoDuration());
  }
  #keepAliveDeadline(): number | undefined {
    const ka = this.config.keepAliveInterval;
    if (!ka || !this.#handshakeComplete) return undefined;
    return Math.max(this.#lastRecv, this.#lastElicitingSent, this.#lastKeepAlive) + ka;
  }

  /** Processes timer expiries at `now`. Never throws. */
  handleTimeout(now: number): void {
    this.#now = Math.max(this.#now, now);
    this.#safely(() => this.#onTimeout());
  }

  #onTimeout(): void {
    const now = this.#now;
    if (this.#state === "closed") return;
    if (this.#state === "closing" || this.#state === "draining") {
      if (this.#closeDeadline !== undefined && now >= this.#closeDeadline) this.#state = "closed";
      return;
    }
    if (this.#idleTimeout && now >= this.#idleDeadline()) {
      this.#closeReasonSet(
        TransportError.NO_ERROR,
        this.#handshakeComplete ? "idle timeout" : "handshake timeout",
        false,
        false,
      );
      this.#state = "closed";
      return;
    }
    const ka = this.#keepAliveDeadline();
    if (ka !== undefined && now >= ka) {
      this.#spaces[2].pingPending = true;
      this.#lastKeepAlive = now;
    }
    for (const s of this.#spaces) {
      if (s.ackDeadline !== undefined && now >= s.ackDeadline) {
        s.ackNeeded = true;
        s.ackDeadline = undefined;
      }
    }
    const ctx = this.#recoveryCtx();
    const lt = this.#recovery.timer(now, ctx);
    if (lt && lt[0] <= now) {
      const r = this.#recovery.onTimeout(now, ctx);
      if (r.lost) this.#onPacketsLost(r.lost[0], r.lost[1]);
      if (r.probe !== undefined) {
        this.stats.ptos++;
        this.#armProbe(r.probe);
      }
    }
  }

  #armProbe(sp: SpaceId): void {
    const space = this.#spaces[sp];
    if (!space.keys) {
      // anti-deadlock with keys gone: probe at the best available level
      const alt = ([1, 0, 2] as SpaceId[]).find((s) => this.#spaces[s].keys);
      if (alt === undefined) return;
      return this.#armProbe(alt);
    }
    space.probes = 2;
    if (sp !== 2) {
      // resend all unacknowledged crypto data in this space
      for (const p of this.#recovery.spaces[sp].sent.values()) {
        for (const f of p.frames) if (f.t === "crypto") space.cryptoSend.lost(f.off, f.len, false);
      }
    }
  }

  // ---------------------------------------------------------------- output

  /**
   * Produces the next datagram to send, or undefined when there is nothing to send now. With
   * `borrow` the result is a view of the connection's scratch buffer, valid only until the next
   * call (for carriers that copy synchronously); otherwise it is a fresh array.
   */
  pollTransmit(now: number, borrow = false): Uint8Array | undefined {
    this.#now = Math.max(this.#now, now);
    let out: Uint8Array | undefined;
    this.#safely(() => {
      out = this.#buildDatagram();
    });
    if (!out && this.#state === "closing" && this.#closeSendPending) {
      // an error was raised while building: send the close now
      this.#safely(() => {
        out = this.#buildDatagram();
      });
    }
    return out && !borrow ? out.slice() : out;
  }

  #buildDatagram(): Uint8Array | undefined {
    if (this.#state === "closed" || this.#state === "draining") return undefined;
    const closing = this.#state === "closing";
    if (closing && !this.#closeSendPending) return undefined;
    // Until the peer's max_udp_payload_size is known, stay within the 1200 bytes every QUIC
    // path carries (a Go peer reads at most 1452-byte datagrams).
    let budget = Math.min(
      this.config.maxDatagramSize,
      this.peerParams?.maxUdpPayloadSize ?? 1200,
    );
    if (!this.#addressValidated) budget = Math.min(budget, 3 * this.#bytesRecv - this.#bytesSent);
    if (budget < 64) return undefined;
    const buf = this.#scratch.subarray(0, budget);
    const w = new Writer(buf);
    const built: Built[] = [];
    let hasInitial = false, initialEliciting = false;
    for (const sp of [0, 1, 2] as SpaceId[]) {
      const space = this.#spaces[sp];
      if (!space.keys || space.discarded) continue;
      if (sp === 2 && !closing && !this.#handshakeComplete && !this.#hasApp1RttData()) continue;
      if (sp === 2 && closing && !this.#handshakeComplete && this.isClient) continue;
      if (budget - w.pos < 48) break;
      const b = this.#buildPacket(sp, w, budget, closing);
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
    const last = built[built.length - 1];
    if (hasInitial && (this.isClient || initialEliciting)) {
      const target = Math.min(budget, 1200);
      if (w.pos < target) {
        const pad = target - w.pos;
        buf.fill(0, last.payloadEnd, last.payloadEnd + pad);
        last.payloadEnd += pad;
        w.pos = target;
      }
    }
    // seal
    let end = 0;
    for (let i = 0; i < built.length; i++) {
      const b = built[i];
      const sealedLen = b.payloadEnd - b.payloadStart + TAG_LEN;
      if (b.lengthOffset >= 0) {
        const len = b.pnLen + sealedLen;
        buf[b.lengthOffset] = 0x40 | (len >> 8);
        buf[b.lengthOffset + 1] = len & 0xff;
      }
      const keys = this.#spaces[b.sp].keys!.write;
      // the AEAD reads all of its input before we copy the ciphertext over it
      const plain = buf.subarray(b.payloadStart, b.payloadEnd);
      keys.sealInto(b.pn, buf.subarray(b.start, b.payloadStart), plain, buf, b.payloadStart);
      protectHeader(keys.hp, buf.subarray(b.start), b.pnOffset - b.start, b.pnLen);
      end = b.payloadStart + sealedLen;
      const size = end - b.start;
      const sent: SentPacket = {
        pn: b.pn,
        time: this.#now,
        size,
        ackEliciting: b.ackEliciting,
        inFlight: b.ackEliciting || b.padded,
        frames: b.frames,
      };
      if (!closing) this.#recovery.onSent(b.sp, sent);
      this.stats.packetsSent++;
      if (b.ackEliciting) this.#pacer.onSent(size);
      if (b.ackEliciting && this.#lastElicitingSent < this.#lastRecv) {
        this.#lastElicitingSent = this.#now;
      }
    }
    if (closing) {
      this.#closeSendPending = false;
      this.#closeSends++;
    }
    if (this.#phases.writePackets >= this.config.keyUpdateInterval) this.initiateKeyUpdate();
    if (
      this.isClient && this.#sentHandshakePacket && !this.#spaces[0].discarded &&
      this.#spaces[1].keys
    ) {
      this.#discardSpace(0);
    }
    this.#bytesSent += end;
    this.stats.bytesSent += end;
    return buf.subarray(0, end);
  }

  #hasApp1RttData(): boolean {
    // server may send 1-RTT data before completion; keep it simple: only after completion
    return false;
  }

  /** Builds one packet's header and frames in place (unsealed). */
  #buildPacket(sp: SpaceId, w: Writer, budget: number, closing: boolean): Built | undefined {
    const space = this.#spaces[sp];
    const rs = this.#recovery.spaces[sp];
    const start = w.pos;
    const pn = rs.nextPn;
    const pnLen = packetNumberLength(pn, rs.largestAcked);
    let lengthOffset = -1, pnOffset: number;
    if (sp === 2) {
      pnOffset = writeShortHeader(w, this.remoteCid, this.#phases.writePhase, pn, pnLen);
      this.#phases.writePackets++;
    } else {
      const r = writeLongHeader(
        w,
        sp === 0 ? "initial" : "handshake",
        this.remoteCid,
        this.localCid,
        sp === 0 ? this.#token : undefined,
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
      const cf = this.#closeFrame!;
      const app = cf.isApplication && sp === 2;
      const reason = sp === 2 || !cf.isApplication ? cf.reason : "";
      const code = cf.isApplication && sp !== 2 ? TransportError.APPLICATION_ERROR : cf.code;
      const rb = new TextEncoder().encode(reason).subarray(0, Math.max(0, end - w.pos - 24));
      w.u8(app ? 0x1d : 0x1c);
      w.varint(code);
      if (!app) w.varint(cf.frameType);
      w.varint(rb.length);
      w.bytes(rb);
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
        ackEliciting: false,
        padded: false,
      };
    }
    const cc = this.#recovery.cc;
    const probing = space.probes > 0;
    const congested = !probing &&
      (cc.bytesInFlight + this.config.maxDatagramSize > cc.window ||
        (sp === 2 &&
          !this.#pacer.allows(this.#now, cc.window, this.#recovery.rtt.smoothed)));
    // ACK
    const wantAck = space.ackNeeded || (space.newSinceAck && !space.toAck.empty);
    const hasOther = probing || space.pingPending || !congested && this.#hasElicitingData(sp);
    if (space.ackNeeded || (hasOther && wantAck)) {
      space.writeAck(w, end, this.#now, sp === 2, frames);
    }
    if (!congested || probing) {
      const before = w.pos;
      if (sp === 2) {
        if (this.#handshakeDonePending && end - w.pos > 1) {
          w.u8(0x1e);
          frames.push({ t: "handshake_done" });
          this.#handshakeDonePending = false;
        }
        while (this.#pathResponses.length && end - w.pos > 9) {
          w.u8(0x1b);
          w.bytes(this.#pathResponses.shift()!);
        }
        this.#cids.writeRetires(w, end, frames);
        this.#streams.writeControl(w, end, frames);
      }
      this.#writeCrypto(sp, w, end, frames);
      if (sp === 2) this.#streams.writeStreams(w, end, frames);
      if (w.pos > before) eliciting = true;
      if (!eliciting && (space.pingPending || probing)) {
        w.u8(0x01);
        frames.push({ t: "ping" });
        eliciting = true;
      }
      if (eliciting) {
        space.pingPending = false;
        if (space.probes > 0) space.probes--;
      }
    }
    if (w.pos === payloadStart) {
      w.pos = start;
      return undefined;
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

  #hasElicitingData(sp: SpaceId): boolean {
    const space = this.#spaces[sp];
    if (space.cryptoSend.hasPending) return true;
    if (sp !== 2) return false;
    return this.#handshakeDonePending || this.#pathResponses.length > 0 ||
      this.#cids.hasPending ||
      this.#streams.hasControl || this.#streams.hasData;
  }

  #writeCrypto(sp: SpaceId, w: Writer, end: number, frames: SentFrame[]): void {
    const cs = this.#spaces[sp].cryptoSend;
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

/** Header protection samples 16 bytes starting 4 bytes after the packet number. */
function padForSample(w: Writer, payloadStart: number, pnLen: number): void {
  const min = 4 - pnLen;
  while (w.pos - payloadStart < min) w.u8(0);
}
