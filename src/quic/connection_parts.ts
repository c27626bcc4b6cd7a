/**
 * The fixed parts of a QUIC connection that its packet builder and packet receiver share; each
 * takes them once at construction so the hot paths reach them through their own fields.
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

/** A connection's long-lived objects plus the few values that change, read when needed. */
export interface ConnectionParts {
  /** We are the client. */
  readonly isClient: boolean;
  /** Effective transport settings. */
  readonly config: TransportConfig;
  /** Our connection ID. */
  readonly localCid: Uint8Array;
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
  readonly addressValidation: AddressValidation;
  /** Idle and keep-alive clock. */
  readonly idle: IdleTimer;
  /** Current lifecycle state. */
  readonly state: ConnectionState;
  /** Current time (ms). */
  readonly now: number;
  /** Peer's transport parameters once known. */
  readonly peerParams?: TransportParameters;
  /** Drops a packet number space's keys and recovery state. */
  discardSpace(sp: SpaceId): void;
}

/**
 * Base of the packet builder and receiver: copies the host's long-lived objects into fields
 * once, so the per-packet paths read them directly rather than through the host.
 */
export abstract class ConnectionPart<H extends ConnectionParts> {
  /** The connection, for the values that change. */
  protected readonly host: H;
  /** We are the client. */
  protected readonly isClient: boolean;
  /** Effective transport settings. */
  protected readonly config: TransportConfig;
  /** Our connection ID. */
  protected readonly localCid: Uint8Array;
  /** Counters to update. */
  protected readonly stats: ConnectionStats;
  /** Packet number spaces. */
  protected readonly spaces: readonly PacketSpace[];
  /** Loss recovery and congestion control. */
  protected readonly recovery: Recovery;
  /** The stream table. */
  protected readonly streams: Streams;
  /** The peer's connection IDs. */
  protected readonly cids: PeerCids;
  /** 1-RTT key phases. */
  protected readonly phases: KeyPhases;
  /** Anti-amplification accounting. */
  protected readonly av: AddressValidation;
  /** Idle and keep-alive clock. */
  protected readonly idle: IdleTimer;

  /** Takes the connection's fixed parts from `host` once. */
  constructor(host: H) {
    this.host = host;
    this.isClient = host.isClient;
    this.config = host.config;
    this.localCid = host.localCid;
    this.stats = host.stats;
    this.spaces = host.spaces;
    this.recovery = host.recovery;
    this.streams = host.streams;
    this.cids = host.cids;
    this.phases = host.phases;
    this.av = host.addressValidation;
    this.idle = host.idle;
  }
}
