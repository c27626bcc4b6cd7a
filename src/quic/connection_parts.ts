/**
 * The fixed parts of a QUIC connection that the connection, its packet builder and its packet
 * receiver share, declared once ({@link ConnectionParts}), and the close state the three of them
 * read and write ({@link CloseState}). The builder and receiver copy the parts into their own
 * fields once, at construction ({@link ConnectionPart}), so the per-packet paths read them
 * directly rather than through the connection.
 * @module
 */
import type { AddressValidation } from "./address_validation.ts";
import type { TransportConfig } from "./config.ts";
import type { ConnectionState, ConnectionStats } from "./connection_events.ts";
import type { IdleTimer } from "./idle_timer.ts";
import type { KeyPhases } from "./key_phase.ts";
import type { PeerCids } from "./peer_cids.ts";
import type { Recovery, SpaceId } from "./recovery.ts";
import type { PacketSpace } from "./spaces.ts";
import type { Streams } from "./streams.ts";
import type { TransportParameters } from "./transport_parameters.ts";

/** The CONNECTION_CLOSE a closing connection sends. */
export interface CloseFrame {
  /** Error code. */
  code: number;
  /** Reason phrase. */
  reason: string;
  /** Application error (0x1d) rather than transport error (0x1c). */
  isApplication: boolean;
  /** Frame type that caused a transport error (0 if none). */
  frameType: number;
}

/** What a closing or draining connection keeps: what it sends, how often, and until when. */
export class CloseState {
  /** What CONNECTION_CLOSE carries once closing. */
  frame?: CloseFrame;
  /** A CONNECTION_CLOSE packet is to be sent (once, and again per packet received). */
  sendPending = false;
  /** CONNECTION_CLOSE packets sent so far. */
  sends = 0;
  /** When closing or draining ends and the connection is closed (ms). */
  deadline?: number;
}

/** A connection's long-lived objects: created once with it, never replaced. */
export interface ConnectionParts {
  /** We are the client. */
  readonly isClient: boolean;
  /** Effective transport settings. */
  readonly config: TransportConfig;
  /** Our connection ID. */
  readonly localCid: Uint8Array;
  /** Client: our first Initial's DCID. Server: the DCID of the client's first Initial. */
  readonly originalDcid: Uint8Array;
  /** Counters to update. */
  readonly stats: ConnectionStats;
  /** Initial, Handshake and Application spaces, by {@link SpaceId}. */
  readonly spaces: readonly PacketSpace[];
  /** Loss recovery and congestion control. */
  readonly recovery: Recovery;
  /** The stream table. */
  readonly streams: Streams;
  /** The peer's connection IDs. */
  readonly cids: PeerCids;
  /** 1-RTT key phases. */
  readonly phases: KeyPhases;
  /** Anti-amplification accounting. */
  readonly av: AddressValidation;
  /** Idle and keep-alive clock. */
  readonly idle: IdleTimer;
  /** CONNECTION_CLOSE to send and the closing/draining deadline. */
  readonly close: CloseState;
}

/** The values of a connection that change, read through it when needed. */
export interface ConnectionHost {
  /** Current lifecycle state. */
  readonly state: ConnectionState;
  /** Current time (ms). */
  readonly now: number;
  /** Peer's transport parameters once known. */
  readonly peerParams?: TransportParameters;
  /** Drops a packet number space's keys and recovery state. */
  discardSpace(sp: SpaceId): void;
}

/** A class whose instances carry a copy of the parts, as fields of their own. */
const PartsCopy = class {
  constructor(parts: ConnectionParts) {
    Object.assign(this, parts);
  }
} as new (parts: ConnectionParts) => ConnectionParts;

/**
 * Base of the packet builder and receiver: copies the connection's {@link ConnectionParts}
 * into fields once, so the per-packet paths read them directly rather than through the host.
 */
export abstract class ConnectionPart<H extends ConnectionHost> extends PartsCopy {
  /** The connection, for the values that change. */
  protected readonly host: H;

  /** Takes the connection's fixed parts once and keeps `host` for the rest. */
  constructor(parts: ConnectionParts, host: H) {
    super(parts);
    this.host = host;
  }
}
