/**
 * TLS over an already-connected `Deno.Conn` (e.g. a backend's TCP connection) using node:tls,
 * with OUR verifier deciding after the handshake. The result is a `Deno.Conn`-shaped byte
 * stream (`read`/`write`/`close`) plus the peer's chain and node IDs, so a backend can pass
 * them on as verified node IDs (we check node IDs on backends, upstream issue #417).
 * @module
 */

import { Duplex } from "node:stream";
import * as tls from "node:tls";
import { sanNamesOf } from "./x509_parse.ts";
import { parseCertificate } from "./x509_parse.ts";
import type { LoadedTlsClient, LoadedTlsServer } from "./tls_config.ts";
import { clientChainVerifier, serverChainVerifier } from "./tls_config.ts";
import {
  clientConnectOptions,
  goTlsParams,
  peerCertificateChain,
  serverSecureContextOptions,
} from "./tls_node.ts";
import type { ChainVerifier } from "./verify.ts";
import { errorText } from "../util/error_text.ts";

/** A `Deno.Conn`-shaped byte stream (structurally a mesh `ByteStream`). */
export interface ConnLike {
  /** Read into `buf`; number of bytes, or null at end of stream. */
  read(buf: Uint8Array): Promise<number | null>;
  /** Write all of `bytes`; resolves with its length. */
  write(bytes: Uint8Array): Promise<number>;
  /** Close both directions. */
  close(): void;
}

/** Outcome of a successful handshake. */
export interface TlsHandshakeResult {
  /** Decrypted byte stream. */
  stream: ConnLike;
  /** Peer chain as DER, leaf first (empty if the peer sent none). */
  peerChain: Uint8Array[];
  /** Receptor node IDs in the peer's leaf certificate (empty if none / no certificate). */
  peerNodeIds: string[];
  /** Negotiated ALPN protocol, or false. */
  alpn: string | false;
  /** The underlying node:tls socket. */
  socket: tls.TLSSocket;
}

/** Handshake options. */
export interface TlsOverConnOptions {
  /** Replaces the default verifier (the loaded config's backend verifier). */
  verifier?: ChainVerifier;
  /** ALPN protocols to offer / accept. */
  alpn?: string[];
  /** Handshake timeout (default 15 s, Go's TLS dial timeout). */
  timeoutMs?: number;
  /** Extra secure-context options (e.g. {@link goTlsParams}). */
  contextOptions?: tls.SecureContextOptions;
}

function duplexOf(conn: Deno.Conn): Duplex {
  // Deno's web streams and @types/node's differ only in declaration details.
  type WebPair = Parameters<typeof Duplex.fromWeb>[0];
  return Duplex.fromWeb({ readable: conn.readable, writable: conn.writable } as unknown as WebPair);
}

/** Adapt a connected TLSSocket to {@link ConnLike}, with back-pressure. */
export function socketToConnLike(sock: tls.TLSSocket): ConnLike {
  const queue: Uint8Array[] = [];
  let queued = 0;
  let ended = false;
  let waiter: (() => void) | null = null;
  const wake = () => {
    const w = waiter;
    waiter = null;
    w?.();
  };
  sock.on("data", (d: Uint8Array) => {
    queue.push(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    queued += d.byteLength;
    if (queued > 1 << 20) sock.pause();
    wake();
  });
  const finish = () => {
    ended = true;
    wake();
  };
  sock.on("end", finish);
  sock.on("close", finish);
  sock.on("error", finish);
  return {
    async read(buf: Uint8Array): Promise<number | null> {
      while (!queue.length) {
        if (ended) return null;
        await new Promise<void>((r) => (waiter = r));
      }
      const head = queue[0];
      const n = Math.min(buf.length, head.length);
      buf.set(head.subarray(0, n));
      if (n === head.length) queue.shift();
      else queue[0] = head.subarray(n);
      queued -= n;
      if (queued <= 1 << 19 && sock.isPaused()) sock.resume();
      return n;
    },
    write(bytes: Uint8Array): Promise<number> {
      return new Promise((resolve, reject) => {
        if (sock.destroyed) {
          reject(new Error("tls: use of closed connection"));
          return;
        }
        sock.write(bytes, (err?: Error | null) => err ? reject(err) : resolve(bytes.length));
      });
    },
    close(): void {
      sock.destroy();
    },
  };
}

/** Node IDs in the leaf of `chain` (empty when there is none or it cannot be parsed). */
export function chainNodeIds(chain: Uint8Array[]): string[] {
  if (!chain.length) return [];
  try {
    return sanNamesOf(parseCertificate(chain[0])).nodeIds;
  } catch {
    // an unparsable peer certificate names no node IDs (verification reports it)
    return [];
  }
}

/**
 * Wait for the handshake on `sock`, then run `verifier` on the peer chain. Rejects (and
 * destroys the socket) with the failed check, a handshake error, or a timeout.
 */
export function completeHandshake(
  sock: tls.TLSSocket,
  readyEvent: "secure" | "secureConnect",
  verifier: ChainVerifier,
  timeoutMs: number,
): Promise<TlsHandshakeResult> {
  return new Promise((resolve, reject) => {
    let done = false;
    const fail = (msg: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      reject(new Error(msg));
    };
    const timer = setTimeout(() => fail("tls: handshake timed out"), timeoutMs);
    sock.once("error", (e: Error) => fail(`tls: handshake failed: ${e.message}`));
    sock.once("close", () => fail("tls: connection closed during handshake"));
    sock.once(readyEvent, () => {
      if (done) return;
      let chain: Uint8Array[];
      try {
        chain = peerCertificateChain(sock);
      } catch (e) {
        fail(`tls: cannot read peer certificate: ${errorText(e)}`);
        return;
      }
      const why = verifier(chain);
      if (why) {
        fail(why);
        return;
      }
      done = true;
      clearTimeout(timer);
      resolve({
        stream: socketToConnLike(sock),
        peerChain: chain,
        peerNodeIds: chainNodeIds(chain),
        alpn: sock.alpnProtocol ?? false,
        socket: sock,
      });
    });
  });
}

/**
 * Server side: TLS handshake on an accepted connection with a loaded `tls-server`. Rejects
 * (and closes) when the handshake fails or the verifier refuses the client.
 */
export function tlsServerOverConn(
  conn: Deno.Conn,
  loaded: LoadedTlsServer,
  opts: TlsOverConnOptions = {},
): Promise<TlsHandshakeResult> {
  const o = serverSecureContextOptions(loaded, { alpn: opts.alpn });
  const sock = new tls.TLSSocket(duplexOf(conn), {
    isServer: true,
    secureContext: tls.createSecureContext({ ...o, ...opts.contextOptions }),
    requestCert: o.requestCert,
    rejectUnauthorized: false,
    ALPNProtocols: o.ALPNProtocols,
  });
  return completeHandshake(
    sock,
    "secure",
    opts.verifier ?? serverChainVerifier(loaded),
    opts.timeoutMs ?? 15_000,
  );
}

/**
 * Server side on a socket a `net.Server` accepted (control service, observability): wraps `raw`
 * with `loaded`'s context and Go's TLS parameters for its minimum version, then waits for the
 * handshake and the client check. Returns the TLS socket at once, beside the handshake's outcome
 * (which rejects, and closes, when the handshake fails or the verifier refuses the client).
 */
export function tlsServerOverSocket(
  raw: Duplex,
  loaded: LoadedTlsServer,
  timeoutMs: number,
): { sock: tls.TLSSocket; handshake: Promise<TlsHandshakeResult> } {
  const o = serverSecureContextOptions(loaded);
  const sock = new tls.TLSSocket(raw, {
    isServer: true,
    secureContext: tls.createSecureContext({ ...o, ...goTlsParams(loaded.minVersion) }),
    requestCert: o.requestCert,
    rejectUnauthorized: false,
  });
  const handshake = completeHandshake(sock, "secure", serverChainVerifier(loaded), timeoutMs);
  return { sock, handshake };
}

/**
 * Client side: TLS handshake on a dialed connection with a loaded `tls-client`; by default the
 * server is verified by DNS/IP name `host` (backend semantics). Rejects on failure.
 */
export function tlsClientOverConn(
  conn: Deno.Conn,
  loaded: LoadedTlsClient,
  host: string,
  opts: TlsOverConnOptions = {},
): Promise<TlsHandshakeResult> {
  const sock = tls.connect({
    ...clientConnectOptions(loaded, { host, alpn: opts.alpn }),
    ...opts.contextOptions,
    socket: duplexOf(conn),
  });
  const verifier = opts.verifier ?? clientChainVerifier(loaded, { expectedHost: host });
  return completeHandshake(sock, "secureConnect", verifier, opts.timeoutMs ?? 15_000);
}
