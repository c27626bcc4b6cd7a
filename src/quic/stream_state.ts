/**
 * The state records of one QUIC stream (RFC 9000 §3): its send side (our data, the peer's
 * flow-control limit, reset state) and receive side (reassembly buffer, our advertised limit and
 * window, final size, reset/stop state), with their initial values, and the receive-side limits
 * the stream table is configured with.
 * @module
 */
import { RecvBuffer } from "./recv_buffer.ts";
import { SendBuffer } from "./send_buffer.ts";
import type { TransportConfig } from "./config.ts";

/** The flow-control part of the {@link TransportConfig} the stream table is configured with. */
export type StreamLimits = Pick<
  TransportConfig,
  | "streamWindow"
  | "connectionWindow"
  | "maxStreamWindow"
  | "maxConnectionWindow"
  | "maxBidiStreams"
  | "maxUniStreams"
  | "sendBufferSize"
>;

/** The sending part of a stream (absent on a peer-initiated unidirectional stream). */
export interface SendSide {
  buf: SendBuffer;
  max: number; // peer's limit
  resetCode?: number;
  resetPending: boolean;
  resetAcked: boolean;
  wantWritable: boolean;
  finishedReported: boolean;
}

/** The receiving part of a stream (absent on a local unidirectional stream). */
export interface RecvSide {
  buf: RecvBuffer;
  max: number; // our advertised limit
  window: number;
  finalSize?: number;
  resetCode?: number;
  stopCode?: number;
  stopPending: boolean;
  maxPending: boolean;
  done: boolean; // FIN read or reset delivered
  notified: boolean;
  lastUpdate: number;
}

/** One stream: its ID and whichever sides its direction and initiator give it. */
export interface Stream {
  id: number;
  send?: SendSide;
  recv?: RecvSide;
}

/** A fresh send side whose peer limit is `max`. */
export function newSendSide(max: number): SendSide {
  return {
    buf: new SendBuffer(),
    max,
    resetPending: false,
    resetAcked: false,
    wantWritable: false,
    finishedReported: false,
  };
}

/** A fresh receive side advertising (and auto-tuning from) a `window`-byte window. */
export function newRecvSide(window: number): RecvSide {
  return {
    buf: new RecvBuffer(),
    max: window,
    window,
    stopPending: false,
    maxPending: false,
    done: false,
    notified: false,
    lastUpdate: -Infinity,
  };
}
