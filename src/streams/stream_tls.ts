/**
 * TLS settings for mesh stream connections (wire.md §12.5): the "insecure" mode (a
 * self-signed `netceptor-insecure-common-name` certificate, ConnType 1) and user TLS from
 * `tls-server` / `tls-client` sections with node-ID SAN checks (ConnType 2).
 * @module
 */
import type { KeyObject } from "node:crypto";
import { makeInsecureServiceCert } from "../certs/self_signed.ts";
import { type ChainVerifier, insecureServiceVerifier } from "../certs/verify.ts";
import {
  clientChainVerifier,
  type LoadedTlsClient,
  type LoadedTlsServer,
  serverChainVerifier,
} from "../certs/tls_config.ts";

/** ALPN of every mesh stream connection. */
export const NETCEPTOR_ALPN = "netceptor";

/** What a stream listener presents and checks. */
export interface StreamServerTls {
  connType: 1 | 2;
  certificateChain: Uint8Array[];
  privateKey: KeyObject;
  requestClientCertificate: boolean;
  requireClientCertificate: boolean;
  /** Verifier for a client's chain, given the dialing node (from the QUIC remote address). */
  verifyClient: (remoteNode: string) => ChainVerifier | undefined;
}

/** What a stream dialer checks. */
export interface StreamClientTls {
  certificateChain?: Uint8Array[];
  privateKey?: KeyObject;
  verifyServer: ChainVerifier;
  /**
   * Key shares in the first ClientHello (TLS default 2: X25519 and P-256). Insecure servers,
   * Go's and ours, take X25519, so one share saves a P-256 key generation (~0.5 ms) per dial.
   */
  initialKeyShares?: number;
}

/** Insecure listener: a fresh self-signed certificate, no client certificates. */
export function insecureServerTls(): StreamServerTls {
  const { certDer, privateKey } = makeInsecureServiceCert();
  return {
    connType: 1,
    certificateChain: [certDer],
    privateKey,
    requestClientCertificate: false,
    requireClientCertificate: false,
    verifyClient: () => undefined,
  };
}

/** Insecure dialer: accept iff the chain has the insecure CN. */
export function insecureClientTls(): StreamClientTls {
  return { verifyServer: insecureServiceVerifier(), initialKeyShares: 1 };
}

/**
 * User-TLS listener from a loaded `tls-server`: with `requireclientcert`, the client's
 * certificate must chain to `clientcas` and name the dialing node (as Go does).
 */
export function userServerTls(loaded: LoadedTlsServer): StreamServerTls {
  const require = loaded.clientAuth === "require";
  return {
    connType: 2,
    certificateChain: loaded.certChainDer,
    privateKey: loaded.privateKey,
    requestClientCertificate: loaded.clientAuth !== "none",
    requireClientCertificate: require,
    verifyClient: (remoteNode) =>
      loaded.clientAuth === "none"
        ? undefined
        : serverChainVerifier(loaded, { expectedNodeId: require ? remoteNode : undefined }),
  };
}

/** User-TLS dialer from a loaded `tls-client`: the server must name `targetNode`. */
export function userClientTls(loaded: LoadedTlsClient, targetNode: string): StreamClientTls {
  return {
    certificateChain: loaded.identity?.certChainDer,
    privateKey: loaded.identity?.privateKey,
    verifyServer: clientChainVerifier(loaded, { expectedNodeId: targetNode }),
  };
}

/** Named TLS configurations loaded at start-up, looked up by name (undefined when unknown). */
export interface TlsLookup {
  client(name: string): LoadedTlsClient | undefined;
  server(name: string): LoadedTlsServer | undefined;
}
