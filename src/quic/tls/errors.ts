/**
 * TLS alert codes (RFC 8446 §6) and the typed error the handshake engine raises internally.
 * In QUIC an alert is never sent as a record: the transport closes the connection with
 * CRYPTO_ERROR 0x100 + alert (RFC 9001 §4.8).
 * @module
 */

/** TLS alert descriptions used by the handshake engine. */
export const Alert = {
  unexpectedMessage: 10,
  badRecordMac: 20,
  handshakeFailure: 40,
  badCertificate: 42,
  unsupportedCertificate: 43,
  certificateUnknown: 46,
  illegalParameter: 47,
  unknownCa: 48,
  decodeError: 50,
  decryptError: 51,
  protocolVersion: 70,
  internalError: 80,
  missingExtension: 109,
  unsupportedExtension: 110,
  certificateRequired: 116,
  noApplicationProtocol: 120,
} as const;

/** A handshake failure carrying the TLS alert to report. */
export class TlsAlertError extends Error {
  /** The TLS alert code (QUIC uses 0x100 + alert as its CRYPTO_ERROR code). */
  readonly alert: number;
  /** Creates an alert error; `reason` should name the problem and where it was found. */
  constructor(alert: number, reason: string) {
    super(reason);
    this.name = "TlsAlertError";
    this.alert = alert;
  }
}

/** Throws a TlsAlertError with `alert` and `reason`. */
export function fail(alert: number, reason: string): never {
  throw new TlsAlertError(alert, reason);
}
