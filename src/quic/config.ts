/**
 * Transport configuration for QUIC connections, with the defaults Go receptor uses
 * (wire.md §12.4), and the TLS session seam the connection drives.
 * @module
 */
import type { EncryptionLevel, TlsEvent } from "./tls/types.ts";

export type { EncryptionLevel, TlsEvent } from "./tls/types.ts";

/** Transport settings for a connection. */
export interface TransportConfig {
  /** Our max_idle_timeout in ms (0 disables). Default 30 000. */
  maxIdleTimeout: number;
  /** Idle timeout while the handshake is in progress, ms. Default 15 000. */
  handshakeTimeout: number;
  /** Send a PING after this many idle ms (0 = never). Default 0; Go dialers use 15 000. */
  keepAliveInterval: number;
  /** Initial per-stream receive window. Default 512 KiB. */
  streamWindow: number;
  /** Initial connection receive window. Default 768 KiB. */
  connectionWindow: number;
  /** Auto-tuning cap for the stream window. Default 16 MiB. */
  maxStreamWindow: number;
  /** Auto-tuning cap for the connection window. Default 24 MiB. */
  maxConnectionWindow: number;
  /** Incoming bidirectional streams allowed at once. Default 100. */
  maxBidiStreams: number;
  /** Incoming unidirectional streams allowed at once. Default 100. */
  maxUniStreams: number;
  /** Largest UDP payload we send (1200..1452). Default 1200. */
  maxDatagramSize: number;
  /** Length of our connection IDs (4..20). Default 8. */
  cidLength: number;
  /** active_connection_id_limit we advertise. Default 4. */
  activeConnectionIdLimit: number;
  /** Our max_ack_delay in ms. Default 25. */
  maxAckDelay: number;
  /** Unacknowledged bytes buffered per stream before writes push back. Default 1 MiB. */
  sendBufferSize: number;
  /** Start a key update after this many 1-RTT packets in one key phase (below AEAD limits). */
  keyUpdateInterval: number;
  /** Send an ACK after this many ack-eliciting 1-RTT packets (after the first 100; 2 before). Default 10. */
  ackElicitingThreshold: number;
}

/** Defaults matching Go receptor's quic-go configuration. */
export const DEFAULT_TRANSPORT: TransportConfig = {
  maxIdleTimeout: 30_000,
  handshakeTimeout: 15_000,
  keepAliveInterval: 0,
  streamWindow: 512 * 1024,
  connectionWindow: 768 * 1024,
  maxStreamWindow: 16 * 1024 * 1024,
  maxConnectionWindow: 24 * 1024 * 1024,
  maxBidiStreams: 100,
  maxUniStreams: 100,
  maxDatagramSize: 1200,
  cidLength: 8,
  activeConnectionIdLimit: 4,
  maxAckDelay: 25,
  sendBufferSize: 1024 * 1024,
  ackElicitingThreshold: 10,
  keyUpdateInterval: 1_000_000,
};

/** The TLS 1.3 handshake as the connection drives it (implemented by `tls/handshake.ts`). */
export interface TlsSession {
  /** Starts the handshake (client: queues the ClientHello). */
  start(): void;
  /** Feeds in-order CRYPTO bytes received at `level`. */
  handleCrypto(level: EncryptionLevel, data: Uint8Array): void;
  /** Next event, or undefined. */
  poll(): TlsEvent | undefined;
}

/** Creates the TLS session for a connection, given our encoded transport parameters. */
export type TlsFactory = (transportParameters: Uint8Array, serverName?: string) => TlsSession;
