/**
 * What a QUIC connection reports to the application: events (handshake completion, stream
 * lifecycle and readiness queued by the stream table, connection close), its lifecycle state
 * and its diagnostic counters.
 * @module
 */

/** Lifecycle states. */
export type ConnectionState = "handshake" | "established" | "closing" | "draining" | "closed";

/** Counters for diagnostics. */
export interface ConnectionStats {
  /** Packets sent. */
  packetsSent: number;
  /** Packets received and processed (not counting duplicates). */
  packetsReceived: number;
  /** Packets declared lost. */
  packetsLost: number;
  /** Probe timeouts. */
  ptos: number;
  /** Datagram bytes sent. */
  bytesSent: number;
  /** Datagram bytes received. */
  bytesReceived: number;
  /** Key updates, ours and the peer's. */
  keyUpdates: number;
}

/** Events a connection reports to the application. */
export type ConnectionEvent =
  | { type: "handshakeComplete" }
  | { type: "streamOpened"; id: number; bidi: boolean }
  | { type: "streamReadable"; id: number }
  | { type: "streamWritable"; id: number }
  | { type: "streamFinished"; id: number }
  | { type: "streamReset"; id: number; code: number }
  | { type: "streamStopped"; id: number; code: number }
  | {
    type: "connectionClosed";
    code: number;
    reason: string;
    byPeer: boolean;
    isApplication: boolean;
  };
