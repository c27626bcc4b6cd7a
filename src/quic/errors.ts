/**
 * QUIC error codes (RFC 9000 §20) and the typed error that carries them. TLS alerts map to
 * CRYPTO_ERROR 0x100 + alert (RFC 9001 §4.8).
 * @module
 */

/** Transport error codes from RFC 9000 §20.1. */
export const TransportError = {
  NO_ERROR: 0x0,
  INTERNAL_ERROR: 0x1,
  CONNECTION_REFUSED: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  STREAM_LIMIT_ERROR: 0x4,
  STREAM_STATE_ERROR: 0x5,
  FINAL_SIZE_ERROR: 0x6,
  FRAME_ENCODING_ERROR: 0x7,
  TRANSPORT_PARAMETER_ERROR: 0x8,
  CONNECTION_ID_LIMIT_ERROR: 0x9,
  PROTOCOL_VIOLATION: 0xa,
  INVALID_TOKEN: 0xb,
  APPLICATION_ERROR: 0xc,
  CRYPTO_BUFFER_EXCEEDED: 0xd,
  KEY_UPDATE_ERROR: 0xe,
  AEAD_LIMIT_REACHED: 0xf,
  NO_VIABLE_PATH: 0x10,
} as const;

/** CRYPTO_ERROR code for a TLS alert. */
export function cryptoError(alert: number): number {
  return 0x100 + (alert & 0xff);
}

/** A QUIC error with its wire code; `isApplication` selects CONNECTION_CLOSE type 0x1d. */
export class QuicError extends Error {
  /** Transport or application error code. */
  readonly code: number;
  /** True for application error codes. */
  readonly isApplication: boolean;
  /** Frame type that triggered a transport error (0 if unknown). */
  readonly frameType: number;
  /** An error with wire `code`; `frameType` names the offending frame for transport errors. */
  constructor(code: number, message: string, isApplication = false, frameType = 0) {
    super(message);
    this.name = "QuicError";
    this.code = code;
    this.isApplication = isApplication;
    this.frameType = frameType;
  }
}

/** STREAM_STATE_ERROR for a peer's frame of type `frameType` that its stream's state forbids. */
export function streamStateError(message: string, frameType: number): QuicError {
  return new QuicError(TransportError.STREAM_STATE_ERROR, message, false, frameType);
}

/** STREAM_LIMIT_ERROR: a peer's frame of type `frameType` opened more streams than allowed. */
export function streamLimitError(message: string, frameType: number): QuicError {
  return new QuicError(TransportError.STREAM_LIMIT_ERROR, message, false, frameType);
}

/** FINAL_SIZE_ERROR: a peer's frame of type `frameType` contradicts a stream's final size. */
export function finalSizeError(message: string, frameType: number): QuicError {
  return new QuicError(TransportError.FINAL_SIZE_ERROR, message, false, frameType);
}

/** FLOW_CONTROL_ERROR: a peer's frame of type `frameType` exceeded a flow-control limit. */
export function flowControlError(message: string, frameType: number): QuicError {
  return new QuicError(TransportError.FLOW_CONTROL_ERROR, message, false, frameType);
}
