/**
 * The events a QUIC connection reports to the application: handshake completion, stream
 * lifecycle and readiness (queued by the stream table), and connection close.
 * @module
 */

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
