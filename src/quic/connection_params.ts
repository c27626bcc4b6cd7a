/**
 * Our transport parameters from a {@link TransportConfig}, and the checks on the peer's
 * connection-ID parameters (RFC 9000 §7.3).
 * @module
 */
import type { TransportConfig } from "./config.ts";
import { QuicError, TransportError } from "./errors.ts";
import { defaultTransportParameters, type TransportParameters } from "./transport_parameters.ts";

/** Builds the transport parameters we announce. */
export function localParameters(
  c: TransportConfig,
  isClient: boolean,
  localCid: Uint8Array,
  originalDcid: Uint8Array,
  statelessResetToken?: Uint8Array,
): TransportParameters {
  const tp = defaultTransportParameters();
  tp.maxIdleTimeout = c.maxIdleTimeout;
  tp.maxUdpPayloadSize = Math.max(1200, c.maxDatagramSize);
  tp.initialMaxData = c.connectionWindow;
  tp.initialMaxStreamDataBidiLocal = c.streamWindow;
  tp.initialMaxStreamDataBidiRemote = c.streamWindow;
  tp.initialMaxStreamDataUni = c.streamWindow;
  tp.initialMaxStreamsBidi = c.maxBidiStreams;
  tp.initialMaxStreamsUni = c.maxUniStreams;
  tp.maxAckDelay = c.maxAckDelay;
  tp.disableActiveMigration = true;
  tp.activeConnectionIdLimit = c.activeConnectionIdLimit;
  tp.initialSourceConnectionId = localCid;
  if (!isClient) {
    tp.originalDestinationConnectionId = originalDcid;
    tp.statelessResetToken = statelessResetToken;
  }
  return tp;
}

function eq(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Authenticates the handshake's connection IDs against the peer's parameters. */
export function validatePeerCids(
  tp: TransportParameters,
  isClient: boolean,
  ids: { peerInitialScid?: Uint8Array; originalDcid: Uint8Array; retryScid?: Uint8Array },
): void {
  const bad = (m: string) => new QuicError(TransportError.TRANSPORT_PARAMETER_ERROR, m);
  if (!eq(tp.initialSourceConnectionId, ids.peerInitialScid)) {
    throw bad("initial_source_connection_id mismatch");
  }
  if (!isClient) return;
  if (!eq(tp.originalDestinationConnectionId, ids.originalDcid)) {
    throw bad("original_destination_connection_id mismatch");
  }
  if (ids.retryScid && !eq(tp.retrySourceConnectionId, ids.retryScid)) {
    throw bad("retry_source_connection_id mismatch");
  }
  if (!ids.retryScid && tp.retrySourceConnectionId) {
    throw bad("unexpected retry_source_connection_id");
  }
}
