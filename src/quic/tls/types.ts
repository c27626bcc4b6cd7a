/**
 * Public types of the sans-IO TLS 1.3 handshake engine used inside QUIC (RFC 9001 §4):
 * encryption levels, cipher suites, the events the engine emits and its options.
 * @module
 */
import type { KeyObject } from "node:crypto";

/** QUIC encryption level that carries a CRYPTO stream (0-RTT carries none). */
export type EncryptionLevel = "initial" | "handshake" | "application";

/** A TLS 1.3 cipher suite as QUIC packet protection needs it (RFC 9001 §5). */
export interface CipherSuiteInfo {
  /** IANA code point, e.g. 0x1301. */
  code: number;
  /** IANA name. */
  name: "TLS_AES_128_GCM_SHA256" | "TLS_AES_256_GCM_SHA384" | "TLS_CHACHA20_POLY1305_SHA256";
  /** Hash of the key schedule (and HKDF for QUIC keys). */
  hash: "sha256" | "sha384";
  /** AEAD for packet protection (node:crypto cipher name). */
  aead: "aes-128-gcm" | "aes-256-gcm" | "chacha20-poly1305";
  /** AEAD key length in bytes. */
  keyLength: number;
}

/** Something the caller must act on; drain with `TlsHandshake.poll()`. */
export type TlsEvent =
  /** Handshake bytes to put in CRYPTO frames at this level. */
  | { kind: "send"; level: EncryptionLevel; data: Uint8Array }
  /** A traffic secret to install for packet protection at `level` in `direction`. */
  | {
    kind: "secret";
    level: "handshake" | "application";
    direction: "read" | "write";
    suite: CipherSuiteInfo;
    secret: Uint8Array;
  }
  /** The handshake finished successfully (client: Finished sent; server: client Finished verified). */
  | {
    kind: "complete";
    alpn: string;
    peerTransportParameters: Uint8Array;
    /** DER, leaf first; empty when the client sent no certificate. */
    peerCertificates: Uint8Array[];
  }
  /** The handshake failed; QUIC closes with CRYPTO_ERROR 0x100 + alert. The engine is dead after this. */
  | { kind: "error"; alert: number; reason: string };

/** Key-exchange groups the engine implements. */
export type KeyShareGroup = "x25519" | "secp256r1" | "secp384r1" | "secp521r1";

/** Options shared by both roles. */
export interface TlsCommonOptions {
  /** Client: protocols offered in order. Server: acceptable protocols in preference order. */
  alpn: string[];
  /** Opaque bytes for extension 0x39 (quic_transport_parameters). */
  transportParameters: Uint8Array;
  /** Our certificate chain, DER, leaf first (required for a server). */
  certificateChain?: Uint8Array[];
  /** Private key of the leaf: RSA, EC P-256/P-384/P-521, or Ed25519. */
  privateKey?: KeyObject;
  /**
   * Caller's verification of the peer chain (DER, leaf first): null accepts, a string rejects
   * with that reason (bad_certificate alert). Without it every chain is accepted; the engine itself
   * only checks that the peer holds the leaf's private key (CertificateVerify).
   */
  verifyPeer?: (chain: Uint8Array[]) => string | null;
  /** Randomness for the hello randoms (injectable for deterministic tests); key pairs use node:crypto. */
  random?: (n: number) => Uint8Array;
  /** Client: supported_groups offer order. Server: preference order. Default x25519, P-256, P-384, P-521. */
  keyShareGroups?: KeyShareGroup[];
  /**
   * Client: cipher suites offered, in order. Server: acceptable suites in preference order.
   * Default 0x1301, 0x1302, 0x1303 (codes outside CIPHER_SUITES are ignored).
   */
  cipherSuites?: number[];
}

/** Client-side options. */
export interface TlsClientOptions extends TlsCommonOptions {
  /** Selects the client role. */
  role: "client";
  /** SNI host name to send; omitted when undefined or empty. */
  serverName?: string;
  /**
   * How many of the first `keyShareGroups` get a key share in the first ClientHello (default 2:
   * X25519 and P-256, so servers restricted to NIST curves need no HelloRetryRequest).
   */
  initialKeyShares?: number;
}

/** Server-side options. */
export interface TlsServerOptions extends TlsCommonOptions {
  /** Selects the server role. */
  role: "server";
  /** Send a CertificateRequest; an empty client Certificate is then accepted. */
  requestClientCertificate?: boolean;
  /** Send a CertificateRequest and fail with certificate_required (116) if none comes. */
  requireClientCertificate?: boolean;
}

/** The three TLS 1.3 cipher suites QUIC can use, keyed by code point. */
export const CIPHER_SUITES: ReadonlyMap<number, CipherSuiteInfo> = new Map([
  [0x1301, {
    code: 0x1301,
    name: "TLS_AES_128_GCM_SHA256",
    hash: "sha256",
    aead: "aes-128-gcm",
    keyLength: 16,
  }],
  [0x1302, {
    code: 0x1302,
    name: "TLS_AES_256_GCM_SHA384",
    hash: "sha384",
    aead: "aes-256-gcm",
    keyLength: 32,
  }],
  [0x1303, {
    code: 0x1303,
    name: "TLS_CHACHA20_POLY1305_SHA256",
    hash: "sha256",
    aead: "chacha20-poly1305",
    keyLength: 32,
  }],
]);
