/**
 * node:tls glue for loaded TLS configurations: option objects for `tls.createServer` /
 * `tls.connect` that leave verification to OUR verifier (node's own check is off:
 * `rejectUnauthorized: false`), and helpers to run a {@link ChainVerifier} on a connected
 * socket (call from the server's `secureConnection` / the client's `secureConnect`).
 * @module
 */

import type {
  ConnectionOptions,
  PeerCertificate,
  SecureContextOptions,
  TlsOptions,
  TLSSocket,
} from "node:tls";
import { parseIp } from "./ip.ts";
import type { LoadedTlsClient, LoadedTlsServer } from "./tls_config.ts";
import type { ChainVerifier } from "./verify.ts";
import { errorText } from "../util/error_text.ts";

/** Go's TLS 1.2 suite list when `mintls13` is false (OpenSSL names). */
export const GO_TLS12_CIPHERS = [
  "ECDHE-RSA-AES256-GCM-SHA384",
  "AES256-GCM-SHA384",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES128-GCM-SHA256",
];

/** Go's curve preferences when `mintls13` is false. */
export const GO_CURVES = "P-521:P-384:P-256";

/**
 * Options for `tls.createServer(...)`. Client certificates are requested when the section asks
 * for them, but never rejected by node: run {@link verifyTlsSocket} with
 * `serverChainVerifier(loaded, ...)` in the `secureConnection` handler.
 */
export function serverSecureContextOptions(
  loaded: LoadedTlsServer,
  opts: { alpn?: string[] } = {},
): TlsOptions {
  const o: TlsOptions = {
    cert: loaded.certPem,
    key: loaded.keyPem,
    minVersion: loaded.minVersion,
    requestCert: loaded.clientAuth !== "none",
    rejectUnauthorized: false,
  };
  if (loaded.caPem) o.ca = loaded.caPem;
  if (opts.alpn) o.ALPNProtocols = opts.alpn;
  return o;
}

/**
 * Options for `tls.connect(...)` to `host`. SNI is sent for DNS names (not IP literals, and not
 * when `noSni`, e.g. for node-ID-verified connections). node's own verification is off: run
 * {@link verifyTlsSocket} with `clientChainVerifier(loaded, ...)` on `secureConnect`.
 */
export function clientConnectOptions(
  loaded: LoadedTlsClient,
  p: { host: string; alpn?: string[]; noSni?: boolean },
): ConnectionOptions {
  const o: ConnectionOptions = {
    host: p.host,
    minVersion: loaded.minVersion,
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
  };
  const bare = p.host.startsWith("[") ? p.host.slice(1, -1) : p.host;
  if (!p.noSni && !parseIp(bare)) o.servername = bare;
  if (loaded.identity) {
    o.cert = loaded.identity.certPem;
    o.key = loaded.identity.keyPem;
  }
  if (p.alpn) o.ALPNProtocols = p.alpn;
  return o;
}

/** The peer's certificate chain as DER, leaf first (from `getPeerCertificate(true)`). */
export function peerCertificateChain(socket: TLSSocket): Uint8Array[] {
  const out: Uint8Array[] = [];
  let c: PeerCertificate | undefined = socket.getPeerCertificate(true) as PeerCertificate;
  const seen = new Set<string>();
  while (c && c.raw && c.raw.length) {
    const key = c.fingerprint256 ?? String(out.length);
    if (seen.has(key)) break;
    seen.add(key);
    out.push(new Uint8Array(c.raw));
    const next: PeerCertificate | undefined =
      (c as { issuerCertificate?: PeerCertificate }).issuerCertificate;
    c = next;
  }
  return out;
}

/** Run `verifier` on a connected socket's peer chain; null when acceptable, else the reason. */
export function verifyTlsSocket(socket: TLSSocket, verifier: ChainVerifier): string | null {
  let chain: Uint8Array[];
  try {
    chain = peerCertificateChain(socket);
  } catch (e) {
    return `cannot read peer certificate: ${errorText(e)}`;
  }
  return verifier(chain);
}

/** TLS 1.3 suites (always allowed) followed by Go's TLS 1.2 list. */
const CIPHERS_GO = [
  "TLS_AES_128_GCM_SHA256",
  "TLS_AES_256_GCM_SHA384",
  "TLS_CHACHA20_POLY1305_SHA256",
  ...GO_TLS12_CIPHERS,
].join(":");

/**
 * Extra node:tls options asking for Go's parameters (curves; TLS 1.2 suites unless mintls13).
 * NOTE: Deno's node:tls (rustls underneath) currently ignores `ecdhCurve` and `ciphers`: it
 * offers its own groups (X25519, P-256, P-384), which a Go peer limited to P-521/P-384/P-256
 * still agrees with.
 */
export function goTlsParams(minVersion: "TLSv1.2" | "TLSv1.3"): SecureContextOptions {
  return minVersion === "TLSv1.3"
    ? { ecdhCurve: GO_CURVES }
    : { ecdhCurve: GO_CURVES, ciphers: CIPHERS_GO };
}
