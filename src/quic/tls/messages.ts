/**
 * TLS 1.3 handshake messages (RFC 8446 §4): framing and the encode/decode of ClientHello,
 * ServerHello/HelloRetryRequest, EncryptedExtensions, CertificateRequest, Certificate,
 * CertificateVerify and Finished. Decoders raise TlsAlertError (decode_error etc.).
 * @module
 */
import { Reader, Writer } from "./codec.ts";
import { Alert, fail } from "./errors.ts";
import { decodeExtensions, encodeExtensions, type ExtensionList } from "./extensions.ts";

/** Handshake message types. */
export const HandshakeType = {
  clientHello: 1,
  serverHello: 2,
  newSessionTicket: 4,
  endOfEarlyData: 5,
  encryptedExtensions: 8,
  certificate: 11,
  certificateRequest: 13,
  certificateVerify: 15,
  finished: 20,
  keyUpdate: 24,
  messageHash: 254,
} as const;

/** ServerHello.random of a HelloRetryRequest: SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3). */
export const HRR_RANDOM = Uint8Array.from(
  "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c".match(/../g)!.map((h) =>
    parseInt(h, 16)
  ),
);

/** Frames a handshake message: msg_type(1) || uint24 length || body. */
export function frame(type: number, body: Uint8Array): Uint8Array {
  return new Writer().u8(type).vec24(body).finish();
}

/** A decoded ClientHello. */
export interface ClientHello {
  /** 32 random bytes. */
  random: Uint8Array;
  /** legacy_session_id (must be empty in QUIC). */
  sessionId: Uint8Array;
  /** Offered cipher suites. */
  cipherSuites: number[];
  /** legacy_compression_methods. */
  compression: Uint8Array;
  /** Extensions by type. */
  extensions: Map<number, Uint8Array>;
}

/** Encodes a ClientHello body. */
export function encodeClientHello(
  random: Uint8Array,
  cipherSuites: number[],
  exts: ExtensionList,
): Uint8Array {
  const suites = new Writer();
  for (const s of cipherSuites) suites.u16(s);
  const w = new Writer().u16(0x0303).bytes(random).vec8(new Uint8Array(0)).vec16(suites.finish())
    .vec8(new Uint8Array([0])).bytes(encodeExtensions(exts));
  return w.finish();
}

/** Decodes a ClientHello body. */
export function decodeClientHello(body: Uint8Array): ClientHello {
  const r = new Reader(body, "ClientHello");
  r.u16(); // legacy_version, ignored (RFC 8446 §4.1.2)
  const random = r.bytes(32);
  const sessionId = r.vec8();
  if (sessionId.length > 32) fail(Alert.decodeError, "ClientHello: legacy_session_id too long");
  const suiteBytes = r.vec16();
  if (suiteBytes.length === 0 || suiteBytes.length % 2) {
    fail(Alert.decodeError, "ClientHello: bad cipher_suites length");
  }
  const cipherSuites: number[] = [];
  for (let i = 0; i < suiteBytes.length; i += 2) {
    cipherSuites.push((suiteBytes[i] << 8) | suiteBytes[i + 1]);
  }
  const compression = r.vec8();
  if (compression.length === 0) fail(Alert.decodeError, "ClientHello: no compression methods");
  const extensions = r.remaining === 0 ? new Map() : decodeExtensions(r.vec16(), "ClientHello");
  r.end();
  return { random, sessionId, cipherSuites, compression, extensions };
}

/** A decoded ServerHello (or HelloRetryRequest). */
export interface ServerHello {
  /** 32 random bytes (HRR_RANDOM for a HelloRetryRequest). */
  random: Uint8Array;
  /** legacy_session_id_echo. */
  sessionId: Uint8Array;
  /** Selected cipher suite. */
  cipherSuite: number;
  /** legacy_compression_method. */
  compression: number;
  /** Extensions by type. */
  extensions: Map<number, Uint8Array>;
  /** True when random is the HelloRetryRequest value. */
  isHelloRetry: boolean;
}

/** Encodes a ServerHello (or HRR when random is HRR_RANDOM) body. */
export function encodeServerHello(
  random: Uint8Array,
  sessionId: Uint8Array,
  cipherSuite: number,
  exts: ExtensionList,
): Uint8Array {
  return new Writer().u16(0x0303).bytes(random).vec8(sessionId).u16(cipherSuite).u8(0)
    .bytes(encodeExtensions(exts)).finish();
}

/** Decodes a ServerHello body. */
export function decodeServerHello(body: Uint8Array): ServerHello {
  const r = new Reader(body, "ServerHello");
  const version = r.u16();
  if (version !== 0x0303) {
    fail(Alert.protocolVersion, `ServerHello: legacy_version 0x${version.toString(16)}`);
  }
  const random = r.bytes(32);
  const sessionId = r.vec8();
  const cipherSuite = r.u16();
  const compression = r.u8();
  const extensions = decodeExtensions(r.vec16(), "ServerHello");
  r.end();
  const isHelloRetry = random.every((b, i) => b === HRR_RANDOM[i]);
  return { random, sessionId, cipherSuite, compression, extensions, isHelloRetry };
}

/** Decodes EncryptedExtensions. */
export function decodeEncryptedExtensions(body: Uint8Array): Map<number, Uint8Array> {
  const r = new Reader(body, "EncryptedExtensions");
  const exts = decodeExtensions(r.vec16(), "EncryptedExtensions");
  r.end();
  return exts;
}

/** Encodes EncryptedExtensions. */
export function encodeEncryptedExtensions(exts: ExtensionList): Uint8Array {
  return encodeExtensions(exts);
}

/** A decoded CertificateRequest. */
export interface CertificateRequest {
  /** certificate_request_context (empty during the handshake). */
  context: Uint8Array;
  /** Extensions by type. */
  extensions: Map<number, Uint8Array>;
}

/** Encodes a CertificateRequest. */
export function encodeCertificateRequest(context: Uint8Array, exts: ExtensionList): Uint8Array {
  return new Writer().vec8(context).bytes(encodeExtensions(exts)).finish();
}

/** Decodes a CertificateRequest. */
export function decodeCertificateRequest(body: Uint8Array): CertificateRequest {
  const r = new Reader(body, "CertificateRequest");
  const context = r.vec8();
  const extensions = decodeExtensions(r.vec16(), "CertificateRequest");
  r.end();
  return { context, extensions };
}

/** A decoded Certificate message. */
export interface CertificateMsg {
  /** certificate_request_context. */
  context: Uint8Array;
  /** DER certificates, leaf first (per-entry extensions are ignored). */
  certificates: Uint8Array[];
}

/** Encodes a Certificate message with empty per-entry extensions. */
export function encodeCertificate(context: Uint8Array, chain: Uint8Array[]): Uint8Array {
  const list = new Writer();
  for (const der of chain) list.vec24(der).u16(0);
  return new Writer().vec8(context).vec24(list.finish()).finish();
}

/** Decodes a Certificate message. */
export function decodeCertificate(body: Uint8Array): CertificateMsg {
  const r = new Reader(body, "Certificate");
  const context = r.vec8();
  const list = new Reader(r.vec24(), "Certificate list");
  r.end();
  const certificates: Uint8Array[] = [];
  while (list.remaining > 0) {
    const der = list.vec24();
    if (der.length === 0) fail(Alert.decodeError, "Certificate: empty cert_data");
    list.vec16(); // per-entry extensions (status_request, SCT): not requested, ignored
    certificates.push(der.slice());
  }
  return { context, certificates };
}

/** A decoded CertificateVerify. */
export interface CertificateVerifyMsg {
  /** SignatureScheme. */
  scheme: number;
  /** Signature bytes. */
  signature: Uint8Array;
}

/** Encodes a CertificateVerify. */
export function encodeCertificateVerify(scheme: number, signature: Uint8Array): Uint8Array {
  return new Writer().u16(scheme).vec16(signature).finish();
}

/** Decodes a CertificateVerify. */
export function decodeCertificateVerify(body: Uint8Array): CertificateVerifyMsg {
  const r = new Reader(body, "CertificateVerify");
  const scheme = r.u16();
  const signature = r.vec16();
  r.end();
  return { scheme, signature };
}
