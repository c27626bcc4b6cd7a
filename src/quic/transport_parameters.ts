/**
 * QUIC transport parameters (RFC 9000 §18): encoding for the TLS extension and validated
 * decoding of the peer's parameters.
 * @module
 */
import { QuicError, TransportError } from "./errors.ts";
import { Reader, varintSize, Writer } from "./varint.ts";
import { errorText } from "../util/error_text.ts";

/** Transport parameters with RFC defaults applied for absent values. */
export interface TransportParameters {
  /** 0x00, server only. */
  originalDestinationConnectionId?: Uint8Array;
  /** 0x01, ms; 0 = none. */
  maxIdleTimeout: number;
  /** 0x02, server only. */
  statelessResetToken?: Uint8Array;
  /** 0x03. */
  maxUdpPayloadSize: number;
  /** 0x04. */
  initialMaxData: number;
  /** 0x05. */
  initialMaxStreamDataBidiLocal: number;
  /** 0x06. */
  initialMaxStreamDataBidiRemote: number;
  /** 0x07. */
  initialMaxStreamDataUni: number;
  /** 0x08. */
  initialMaxStreamsBidi: number;
  /** 0x09. */
  initialMaxStreamsUni: number;
  /** 0x0a. */
  ackDelayExponent: number;
  /** 0x0b, ms. */
  maxAckDelay: number;
  /** 0x0c. */
  disableActiveMigration: boolean;
  /** 0x0e. */
  activeConnectionIdLimit: number;
  /** 0x0f. */
  initialSourceConnectionId?: Uint8Array;
  /** 0x10, server only. */
  retrySourceConnectionId?: Uint8Array;
}

/** RFC defaults for absent parameters. */
export function defaultTransportParameters(): TransportParameters {
  return {
    maxIdleTimeout: 0,
    maxUdpPayloadSize: 65527,
    initialMaxData: 0,
    initialMaxStreamDataBidiLocal: 0,
    initialMaxStreamDataBidiRemote: 0,
    initialMaxStreamDataUni: 0,
    initialMaxStreamsBidi: 0,
    initialMaxStreamsUni: 0,
    ackDelayExponent: 3,
    maxAckDelay: 25,
    disableActiveMigration: false,
    activeConnectionIdLimit: 2,
  };
}

/** Encodes parameters for the quic_transport_parameters TLS extension. */
export function encodeTransportParameters(p: TransportParameters): Uint8Array {
  const w = new Writer(new Uint8Array(512));
  const num = (id: number, v: number) => {
    w.varint(id);
    w.varint(varintSize(v));
    w.varint(v);
  };
  const bytes = (id: number, v: Uint8Array) => {
    w.varint(id);
    w.varint(v.length);
    w.bytes(v);
  };
  if (p.originalDestinationConnectionId) bytes(0x00, p.originalDestinationConnectionId);
  if (p.maxIdleTimeout) num(0x01, p.maxIdleTimeout);
  if (p.statelessResetToken) bytes(0x02, p.statelessResetToken);
  if (p.maxUdpPayloadSize !== 65527) num(0x03, p.maxUdpPayloadSize);
  num(0x04, p.initialMaxData);
  num(0x05, p.initialMaxStreamDataBidiLocal);
  num(0x06, p.initialMaxStreamDataBidiRemote);
  num(0x07, p.initialMaxStreamDataUni);
  num(0x08, p.initialMaxStreamsBidi);
  num(0x09, p.initialMaxStreamsUni);
  if (p.ackDelayExponent !== 3) num(0x0a, p.ackDelayExponent);
  if (p.maxAckDelay !== 25) num(0x0b, p.maxAckDelay);
  if (p.disableActiveMigration) {
    w.varint(0x0c);
    w.varint(0);
  }
  if (p.activeConnectionIdLimit !== 2) num(0x0e, p.activeConnectionIdLimit);
  if (p.initialSourceConnectionId) bytes(0x0f, p.initialSourceConnectionId);
  if (p.retrySourceConnectionId) bytes(0x10, p.retrySourceConnectionId);
  return w.view().slice();
}

function tpError(msg: string): QuicError {
  return new QuicError(TransportError.TRANSPORT_PARAMETER_ERROR, msg);
}

/** Decodes and validates the peer's parameters; `fromServer` enables server-only parameters. */
export function decodeTransportParameters(
  data: Uint8Array,
  fromServer: boolean,
): TransportParameters {
  const p = defaultTransportParameters();
  const r = new Reader(data);
  const seen = new Set<number>();
  try {
    while (r.remaining > 0) {
      const id = r.varint();
      const len = r.varint();
      const body = r.bytes(len);
      if (seen.has(id)) throw tpError(`duplicate transport parameter 0x${id.toString(16)}`);
      seen.add(id);
      const br = new Reader(body);
      const v = () => {
        const x = br.varint();
        if (br.remaining) {
          throw tpError(`trailing bytes in transport parameter 0x${id.toString(16)}`);
        }
        return x;
      };
      switch (id) {
        case 0x00:
          if (!fromServer) throw tpError("client sent original_destination_connection_id");
          p.originalDestinationConnectionId = body;
          break;
        case 0x01:
          p.maxIdleTimeout = v();
          break;
        case 0x02:
          if (!fromServer) throw tpError("client sent stateless_reset_token");
          if (len !== 16) throw tpError("stateless_reset_token must be 16 bytes");
          p.statelessResetToken = body;
          break;
        case 0x03:
          p.maxUdpPayloadSize = v();
          if (p.maxUdpPayloadSize < 1200) throw tpError("max_udp_payload_size below 1200");
          break;
        case 0x04:
          p.initialMaxData = v();
          break;
        case 0x05:
          p.initialMaxStreamDataBidiLocal = v();
          break;
        case 0x06:
          p.initialMaxStreamDataBidiRemote = v();
          break;
        case 0x07:
          p.initialMaxStreamDataUni = v();
          break;
        case 0x08:
          p.initialMaxStreamsBidi = v();
          if (p.initialMaxStreamsBidi > 2 ** 60) {
            throw tpError("initial_max_streams_bidi above 2^60");
          }
          break;
        case 0x09:
          p.initialMaxStreamsUni = v();
          if (p.initialMaxStreamsUni > 2 ** 60) throw tpError("initial_max_streams_uni above 2^60");
          break;
        case 0x0a:
          p.ackDelayExponent = v();
          if (p.ackDelayExponent > 20) throw tpError("ack_delay_exponent above 20");
          break;
        case 0x0b:
          p.maxAckDelay = v();
          if (p.maxAckDelay >= 2 ** 14) throw tpError("max_ack_delay too large");
          break;
        case 0x0c:
          if (len !== 0) throw tpError("disable_active_migration must be empty");
          p.disableActiveMigration = true;
          break;
        case 0x0d:
          if (!fromServer) throw tpError("client sent preferred_address");
          break; // ignored: we never migrate
        case 0x0e:
          p.activeConnectionIdLimit = v();
          if (p.activeConnectionIdLimit < 2) throw tpError("active_connection_id_limit below 2");
          break;
        case 0x0f:
          p.initialSourceConnectionId = body;
          break;
        case 0x10:
          if (!fromServer) throw tpError("client sent retry_source_connection_id");
          p.retrySourceConnectionId = body;
          break;
        default:
          break; // unknown parameters are ignored
      }
    }
  } catch (e) {
    if (e instanceof QuicError && e.code === TransportError.TRANSPORT_PARAMETER_ERROR) throw e;
    throw tpError(`malformed transport parameters: ${errorText(e)}`);
  }
  return p;
}
