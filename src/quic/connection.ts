/**
 * A sans-IO QUIC v1 connection (RFC 9000/9001/9002) in the style of quinn-proto: datagrams and
 * timer expiries in, datagrams and events out, time always passed in as milliseconds. It never
 * touches sockets or clocks, and malformed or hostile input never throws out of `handle()`.
 * @module
 */
import { AddressValidation } from "./address_validation.ts";
import {
  DEFAULT_TRANSPORT,
  type TlsFactory,
  type TlsSession,
  type TransportConfig,
} from "./config.ts";
import { NewReno } from "./congestion/new_reno.ts";
import type { ConnectionState, ConnectionStats } from "./connection_events.ts";
import { localParameters, validatePeerCids } from "./connection_params.ts";
import { cryptoError, QuicError, TransportError } from "./errors.ts";
import { IdleTimer } from "./idle_timer.ts";
import { KeyPhases } from "./key_phase.ts";
import { type CloseFrame, CloseState, type ConnectionParts } from "./connection_parts.ts";
import { PacketBuilder, type PacketBuilderHost } from "./packet_builder.ts";
import { initialKeys, PacketKeys } from "./packet_protection.ts";
import { PacketReceiver, type PacketReceiverHost } from "./packet_receiver.ts";
import { PeerCids } from "./peer_cids.ts";
import { Recovery, type RecoveryContext, type SpaceId } from "./recovery.ts";
import { PacketSpace } from "./spaces.ts";
import { type ConnectionEvent, Streams } from "./streams.ts";
import type { EncryptionLevel } from "./tls/types.ts";
import {
  decodeTransportParameters,
  encodeTransportParameters,
  type TransportParameters,
} from "./transport_parameters.ts";
import { errorText } from "../util/error_text.ts";

export type { ConnectionEvent, ConnectionState, ConnectionStats } from "./connection_events.ts";

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
    return this.#p.cids.active;
  }
  /** Negotiated ALPN ("" until the handshake completes). */
  alpn = "";
  /** Peer's certificate chain (DER, leaf first). */
  peerCertificates: Uint8Array[] = [];
  /** Peer's transport parameters once known. */
  peerParams?: TransportParameters;
  /** Counters for diagnostics. */
  readonly stats: ConnectionStats = {
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
  readonly #p: ConnectionParts;
  #events: ConnectionEvent[] = [];
  #handshakeComplete = false;
  #handshakeConfirmed = false;
  #now: number;
  readonly #tx: PacketBuilder;
  readonly #rx: PacketReceiver;
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
    this.#now = opts.now;
    const c = this.config;
    const originalDcid = this.isClient ? opts.remoteCid : opts.originalDcid!;
    const spaces = [new PacketSpace(), new PacketSpace(), new PacketSpace()];
    spaces[0].keys = initialKeys(originalDcid, this.isClient);
    const recovery = new Recovery(new NewReno(c.maxDatagramSize));
    const streams = new Streams(this.isClient, c, this.#events); // reads the StreamLimits part
    streams.rtt = () => recovery.rtt.smoothed;
    streams.now = () => this.#now;
    this.#p = {
      isClient: this.isClient,
      config: c,
      localCid: this.localCid,
      originalDcid,
      stats: this.stats,
      spaces,
      recovery,
      streams,
      cids: new PeerCids(opts.remoteCid, c.activeConnectionIdLimit),
      phases: new KeyPhases(),
      av: new AddressValidation(this.isClient),
      idle: new IdleTimer(c.handshakeTimeout, opts.now),
      close: new CloseState(),
    };
    const host = QuicConnection.#hostOf(this);
    this.#tx = new PacketBuilder(this.#p, host);
    this.#rx = new PacketReceiver(this.#p, host);
    const tp = localParameters(
      c,
      this.isClient,
      this.localCid,
      this.#p.originalDcid,
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

  /** The view of `conn` that its packet builder and packet receiver work through. */
  static #hostOf(conn: QuicConnection): PacketBuilderHost & PacketReceiverHost {
    return {
      get builder() {
        return conn.#tx;
      },
      get state() {
        return conn.#state;
      },
      get now() {
        return conn.#now;
      },
      get handshakeComplete() {
        return conn.#handshakeComplete;
      },
      get peerParams() {
        return conn.peerParams;
      },
      discardSpace: (sp) => conn.#discardSpace(sp),
      initiateKeyUpdate: () => conn.initiateKeyUpdate(),
      recoveryCtx: () => conn.#recoveryCtx(),
      handleCrypto: (sp, data) => {
        conn.#tls.handleCrypto(LEVELS[sp], data);
        conn.#drainTls();
      },
      drain: (code, reason, isApplication, deadline) => {
        conn.#closeReasonSet(code, reason, true, isApplication);
        conn.#state = "draining";
        conn.#p.close.deadline = deadline;
      },
      ptoDuration: () => conn.#ptoDuration(),
      confirmHandshake: () => conn.#confirmHandshake(),
    };
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
    return this.#p.recovery.rtt.smoothed;
  }
  /** RTT estimator state in ms (diagnostics). */
  get rttStats(): { smoothed: number; min: number; latest: number; variation: number } {
    const r = this.#p.recovery.rtt;
    return { smoothed: r.smoothed, min: r.min, latest: r.latest, variation: r.rttvar };
  }
  /** Bytes in flight (diagnostics). */
  get bytesInFlight(): number {
    return this.#p.recovery.cc.bytesInFlight;
  }
  /** Congestion window in bytes (diagnostics). */
  get congestionWindow(): number {
    return this.#p.recovery.cc.window;
  }
  /** Stateless reset tokens announced by the peer (for the endpoint's detection). */
  get peerResetTokens(): readonly Uint8Array[] {
    return this.#p.cids.resetTokens;
  }

  // ---------------------------------------------------------------- application API

  /** Next event for the application. */
  poll(): ConnectionEvent | undefined {
    return this.#events.shift();
  }
  /** Opens a bidirectional stream; null if the peer's limit is reached or not yet known. */
  openBidi(): number | null {
    if (!this.peerParams && !this.#handshakeComplete) return null;
    return this.#p.streams.open(true);
  }
  /** Opens a unidirectional stream; null if the peer's limit is reached. */
  openUni(): number | null {
    if (!this.peerParams) return null;
    return this.#p.streams.open(false);
  }
  /** Queues bytes on a stream; returns how many were accepted (flow control, buffer limits). */
  write(id: number, data: Uint8Array): number {
    if (this.#state === "closing" || this.#state === "draining" || this.#state === "closed") {
      throw new QuicError(TransportError.NO_ERROR, "connection is closed");
    }
    return this.#p.streams.write(id, data);
  }
  /** Ends the stream's send side (FIN). */
  finish(id: number): void {
    this.#p.streams.finish(id);
  }
  /** Reads up to `max` bytes: empty = nothing yet, null = end of stream (FIN, or reset). */
  read(id: number, max?: number): Uint8Array | null {
    return this.#p.streams.read(id, max);
  }
  /** Abandons sending on a stream (RESET_STREAM with `code`). */
  resetStream(id: number, code: number): void {
    this.#p.streams.reset(id, code);
  }
  /** Asks the peer to stop sending on a stream (STOP_SENDING with `code`). */
  stopSending(id: number, code: number): void {
    this.#p.streams.stopSending(id, code);
  }

  /**
   * Sends an ack-eliciting PING now (once established): probes a path that just came back, so
   * lost data is retransmitted on its ACK, or a peer that lost the connection answers with a
   * stateless reset, instead of waiting for the keep-alive or idle timer.
   */
  ping(now: number): void {
    this.#now = Math.max(this.#now, now);
    if (this.#state !== "established" || !this.#handshakeComplete) return;
    this.#p.spaces[2].pingPending = true;
  }

  /** Closes the connection with CONNECTION_CLOSE (application error by default). */
  close(now: number, code: number, reason: string, application = true): void {
    this.#now = Math.max(this.#now, now);
    this.#startClose({ code, reason, isApplication: application, frameType: 0 }, false);
  }

  /** Current 1-RTT key phase bit we send with. */
  get keyPhase(): number {
    return this.#p.phases.writePhase;
  }

  /**
   * Starts a key update (RFC 9001 §6): new write keys now, the peer follows. Refused (false)
   * before the handshake is confirmed or while our previous update is not yet answered.
   */
  initiateKeyUpdate(): boolean {
    const space = this.#p.spaces[2];
    if (!this.#handshakeConfirmed || !space.keys || this.#state !== "established") return false;
    if (!this.#p.phases.initiate(space.keys)) return false;
    this.stats.keyUpdates++;
    return true;
  }

  // ---------------------------------------------------------------- input

  /** Processes one received datagram. Never throws. */
  handle(now: number, datagram: Uint8Array): void {
    this.#now = Math.max(this.#now, now);
    this.#safely(() => this.#rx.handleDatagram(datagram));
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
            reason: `internal error: ${errorText(e)}`,
            isApplication: false,
            frameType: 0,
          },
          false,
        );
      }
    }
  }

  #drainTls(): void {
    for (let ev = this.#tls.poll(); ev; ev = this.#tls.poll()) {
      switch (ev.kind) {
        case "send": {
          const idx = LEVELS.indexOf(ev.level);
          this.#p.spaces[idx].cryptoSend.write(ev.data);
          break;
        }
        case "secret": {
          const sp = ev.level === "handshake" ? 1 : 2;
          const space = this.#p.spaces[sp];
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
      peerInitialScid: this.#rx.peerInitialScid,
      originalDcid: this.#p.originalDcid,
      retryScid: this.#rx.retryScid,
    });
    if (this.isClient && tp.statelessResetToken) this.#p.cids.addResetToken(tp.statelessResetToken);
    this.peerParams = tp;
    this.alpn = alpn;
    this.peerCertificates = certs;
    this.#p.streams.setPeerParams(tp);
    const ours = this.config.maxIdleTimeout, theirs = tp.maxIdleTimeout;
    this.#p.idle.timeout = ours && theirs ? Math.min(ours, theirs) : ours || theirs || 0;
    this.#handshakeComplete = true;
    this.#state = "established";
    this.#events.push({ type: "handshakeComplete" });
    if (!this.isClient) {
      this.#tx.handshakeDonePending = true;
      this.#confirmHandshake();
    }
  }

  #confirmHandshake(): void {
    if (this.#handshakeConfirmed) return;
    this.#handshakeConfirmed = true;
    this.#p.av.validatedByPeer = true;
    if (!this.#p.spaces[0].discarded) this.#discardSpace(0);
    if (!this.#p.spaces[1].discarded) this.#discardSpace(1);
  }

  #discardSpace(sp: SpaceId): void {
    this.#p.spaces[sp].discard();
    this.#p.recovery.discard(sp);
  }

  #closeReasonSet(code: number, reason: string, byPeer: boolean, isApplication: boolean): void {
    if (this.closeReason) return;
    this.closeReason = { code, reason, byPeer, isApplication };
    this.#events.push({ type: "connectionClosed", code, reason, byPeer, isApplication });
  }

  #startClose(frame: CloseFrame, byPeer: boolean): void {
    if (this.#state === "closing" || this.#state === "draining" || this.#state === "closed") return;
    this.#closeReasonSet(frame.code, frame.reason, byPeer, frame.isApplication);
    this.#p.close.frame = frame;
    this.#state = "closing";
    this.#p.close.sendPending = true;
    this.#p.close.deadline = this.#now + 3 * this.#ptoDuration();
  }

  #ptoDuration(): number {
    return this.#p.recovery.rtt.ptoBase + (this.peerParams?.maxAckDelay ?? 25);
  }

  #recoveryCtx(): RecoveryContext {
    return {
      handshakeConfirmed: this.#handshakeConfirmed,
      isClient: this.isClient,
      hasHandshakeKeys: !!this.#p.spaces[1].keys,
      peerValidated: !this.isClient || this.#p.av.validatedByPeer,
      amplificationBlocked: this.#p.av.blocked,
      spaceActive: (s) => !!this.#p.spaces[s].keys,
      maxAckDelay: this.peerParams?.maxAckDelay ?? 25,
    };
  }

  // ---------------------------------------------------------------- timers

  /** Earliest time handleTimeout() must be called, or undefined. */
  pollTimeout(): number | undefined {
    if (this.#state === "closed") return undefined;
    if (this.#state === "closing" || this.#state === "draining") return this.#p.close.deadline;
    let t = Infinity;
    if (this.#p.idle.timeout) t = Math.min(t, this.#p.idle.deadline(this.#ptoDuration()));
    const ka = this.#keepAliveDeadline();
    if (ka !== undefined) t = Math.min(t, ka);
    for (const s of this.#p.spaces) if (s.ackDeadline !== undefined) t = Math.min(t, s.ackDeadline);
    const lt = this.#p.recovery.timer(this.#now, this.#recoveryCtx());
    if (lt) t = Math.min(t, lt[0]);
    const pd = this.#tx.pacer.deadline(
      this.#now,
      this.#p.recovery.cc.window,
      this.#p.recovery.rtt.smoothed,
    );
    if (pd !== undefined) t = Math.min(t, pd);
    return t === Infinity ? undefined : t;
  }

  #keepAliveDeadline(): number | undefined {
    const ka = this.config.keepAliveInterval;
    if (!ka || !this.#handshakeComplete) return undefined;
    return this.#p.idle.keepAliveDeadline(ka);
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
      if (this.#p.close.deadline !== undefined && now >= this.#p.close.deadline) {
        this.#state = "closed";
      }
      return;
    }
    if (this.#p.idle.timeout && now >= this.#p.idle.deadline(this.#ptoDuration())) {
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
      this.#p.spaces[2].pingPending = true;
      this.#p.idle.lastKeepAlive = now;
    }
    for (const s of this.#p.spaces) {
      if (s.ackDeadline !== undefined && now >= s.ackDeadline) {
        s.ackNeeded = true;
        s.ackDeadline = undefined;
      }
    }
    const ctx = this.#recoveryCtx();
    const lt = this.#p.recovery.timer(now, ctx);
    if (lt && lt[0] <= now) {
      const r = this.#p.recovery.onTimeout(now, ctx);
      if (r.lost) this.#rx.onPacketsLost(r.lost[0], r.lost[1]);
      if (r.probe !== undefined) {
        this.stats.ptos++;
        this.#armProbe(r.probe);
      }
    }
  }

  #armProbe(sp: SpaceId): void {
    const space = this.#p.spaces[sp];
    if (!space.keys) {
      // anti-deadlock with keys gone: probe at the best available level
      const alt = ([1, 0, 2] as SpaceId[]).find((s) => this.#p.spaces[s].keys);
      if (alt === undefined) return;
      return this.#armProbe(alt);
    }
    space.probes = 2;
    if (sp !== 2) {
      // resend all unacknowledged crypto data in this space
      for (const p of this.#p.recovery.spaces[sp].sent.values()) {
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
      out = this.#tx.buildDatagram();
    });
    if (!out && this.#state === "closing" && this.#p.close.sendPending) {
      // an error was raised while building: send the close now
      this.#safely(() => {
        out = this.#tx.buildDatagram();
      });
    }
    return out && !borrow ? out.slice() : out;
  }
}
