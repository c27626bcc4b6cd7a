/**
 * A node's named TLS configurations (`tls-server` / `tls-client`, config.md §3.5–3.6): loaded
 * once at start-up through src/certs (one-line errors naming the file), offered to TCP
 * backends as {@link StreamWrapper}s, and hot-reloaded when a certificate, key or CA file
 * changes or on SIGHUP. New connections use the newest material; established ones are left
 * alone. A failed reload keeps the previous material and logs why.
 *
 * Node identity (our extension, closing upstream issue #417): after a backend handshake the
 * node IDs named in the peer certificate's otherName SANs are handed to the mesh as
 * `verifiedNodeIds`, so a peer announcing any other ID is refused — in both directions —
 * unless the local config has `skipreceptornamescheck` (or `insecureskipverify` on a client,
 * or a server that does not ask for client certificates).
 * @module
 */
import { Duplex } from "node:stream";
import * as tls from "node:tls";
import type { Section } from "../config/types.ts";
import { ConfigError } from "../config/errors.ts";
import {
  clientChainVerifier,
  type LoadedTlsClient,
  type LoadedTlsServer,
  loadTlsClient,
  loadTlsServer,
  serverChainVerifier,
} from "../certs/tls_config.ts";
import {
  clientConnectOptions,
  GO_CURVES,
  GO_TLS12_CIPHERS,
  peerCertificateChain,
  serverSecureContextOptions,
} from "../certs/tls_node.ts";
import { socketToConnLike } from "../certs/tls_stream.ts";
import { parseCertificate, sanNamesOf } from "../certs/x509_parse.ts";
import type { ChainVerifier } from "../certs/verify.ts";
import type { StreamWrapper } from "../mesh/backends/tcp.ts";
import type { ByteStream } from "../mesh/backends/stream_link.ts";
import type { TlsWrappers } from "./backends.ts";
import type { Logger } from "../log.ts";

/** Go's TLS dial timeout (config.md §4.3); also bounds a listener's handshake. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 15_000;

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
export function goTlsParams(minVersion: "TLSv1.2" | "TLSv1.3"): tls.SecureContextOptions {
  return minVersion === "TLSv1.3"
    ? { ecdhCurve: GO_CURVES }
    : { ecdhCurve: GO_CURVES, ciphers: CIPHERS_GO };
}

/** Node IDs in the leaf of `chain` (empty when there is none or it cannot be parsed). */
export function chainNodeIds(chain: Uint8Array[]): string[] {
  if (!chain.length) return [];
  try {
    return sanNamesOf(parseCertificate(chain[0])).nodeIds;
  } catch {
    return [];
  }
}

/** A connected, verified TLS socket and its peer chain. */
export interface VerifiedTls {
  /** Peer chain (DER, leaf first). */
  peerChain: Uint8Array[];
  /** The node:tls socket (nothing reads from it yet). */
  socket: tls.TLSSocket;
}

/** A verified TLS session adapted to a byte stream. */
export interface TlsSession extends VerifiedTls {
  /** Decrypted byte stream. */
  stream: ByteStream;
}

function duplexOf(conn: Deno.Conn): Duplex {
  type WebPair = Parameters<typeof Duplex.fromWeb>[0];
  return Duplex.fromWeb({ readable: conn.readable, writable: conn.writable } as unknown as WebPair);
}

/** Wait for the handshake, run `verifier` on the peer chain; rejects with the failed check. */
export function completeHandshake(
  sock: tls.TLSSocket,
  readyEvent: "secure" | "secureConnect",
  verifier: ChainVerifier,
  timeoutMs: number,
): Promise<VerifiedTls> {
  return new Promise((resolve, reject) => {
    let done = false;
    const fail = (msg: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      reject(new Error(msg));
    };
    const timer = setTimeout(() => fail("TLS handshake timed out"), timeoutMs);
    sock.once("error", (e: Error) => fail(`TLS handshake failed: ${e.message}`));
    sock.once("close", () => fail("connection closed during TLS handshake"));
    sock.once(readyEvent, () => {
      if (done) return;
      let chain: Uint8Array[];
      try {
        chain = peerCertificateChain(sock);
      } catch (e) {
        fail(`cannot read peer certificate: ${(e as Error).message}`);
        return;
      }
      const why = verifier(chain);
      if (why) {
        fail(why);
        return;
      }
      done = true;
      clearTimeout(timer);
      resolve({ peerChain: chain, socket: sock });
    });
  });
}

function asSession(v: VerifiedTls): TlsSession {
  return { ...v, stream: socketToConnLike(v.socket) };
}

/** Server-side handshake over an accepted connection with the current `tls-server` material. */
export function serverHandshake(
  conn: Deno.Conn,
  loaded: LoadedTlsServer,
  timeoutMs = TLS_HANDSHAKE_TIMEOUT_MS,
): Promise<TlsSession> {
  const o = serverSecureContextOptions(loaded);
  const sock = new tls.TLSSocket(duplexOf(conn), {
    isServer: true,
    secureContext: tls.createSecureContext({ ...o, ...goTlsParams(loaded.minVersion) }),
    requestCert: o.requestCert,
    rejectUnauthorized: false,
  });
  return completeHandshake(sock, "secure", serverChainVerifier(loaded), timeoutMs).then(asSession);
}

/** Client-side handshake over a dialed connection; the server is checked by DNS/IP `host`. */
export function clientHandshake(
  conn: Deno.Conn,
  loaded: LoadedTlsClient,
  host: string,
  timeoutMs = TLS_HANDSHAKE_TIMEOUT_MS,
): Promise<TlsSession> {
  const sock = tls.connect({
    ...clientConnectOptions(loaded, { host }),
    ...goTlsParams(loaded.minVersion),
    socket: duplexOf(conn),
  });
  const verifier = clientChainVerifier(loaded, { expectedHost: host.replace(/^\[|\]$/g, "") });
  return completeHandshake(sock, "secureConnect", verifier, timeoutMs).then(asSession);
}

/** A node's loaded TLS configurations, usable as backend wrappers; see the module doc. */
export class NodeTls implements TlsWrappers {
  readonly #servers = new Map<string, LoadedTlsServer>();
  readonly #clients = new Map<string, LoadedTlsClient>();
  readonly #logger: Logger;
  #watcher: Deno.FsWatcher | null = null;
  #sighup: (() => void) | null = null;
  #debounce: ReturnType<typeof setTimeout> | undefined;

  private constructor(logger: Logger) {
    this.#logger = logger;
  }

  /**
   * Load every `tls-server` / `tls-client` section for node `nodeId` (a later section with the
   * same name replaces an earlier one). Throws a ConfigError: one line naming the file and the problem.
   */
  static load(sections: readonly Section[], nodeId: string, logger: Logger): NodeTls {
    const t = new NodeTls(logger);
    for (const s of sections) {
      try {
        if (s.kind === "tls-server") t.#servers.set(s.name, loadTlsServer(s, nodeId));
        else if (s.kind === "tls-client") t.#clients.set(s.name, loadTlsClient(s, nodeId));
      } catch (e) {
        throw new ConfigError((e as Error).message, {
          source: s.source,
          section: s.kind,
          origin: "section",
        });
      }
    }
    return t;
  }

  /** Current material of the `tls-server` named `name`; throws `unknown TLS config`. */
  serverConfig(name: string): LoadedTlsServer {
    const l = this.#servers.get(name);
    if (!l) throw new Error(`unknown TLS config ${name}`);
    return l;
  }

  /** Current material of the `tls-client` named `name`; throws `unknown TLS config`. */
  clientConfig(name: string): LoadedTlsClient {
    const l = this.#clients.get(name);
    if (!l) throw new Error(`unknown TLS config ${name}`);
    return l;
  }

  /**
   * Name lookups returning the material current at each call (undefined when unknown), for
   * mesh stream services (user TLS) that need the loaded configs rather than wrappers.
   */
  lookup(): {
    client(name: string): LoadedTlsClient | undefined;
    server(name: string): LoadedTlsServer | undefined;
  } {
    return {
      client: (name) => this.#clients.get(name),
      server: (name) => this.#servers.get(name),
    };
  }

  /** Listener-side wrapper for backends using the `tls-server` named `name`. */
  server(name: string): StreamWrapper {
    this.serverConfig(name);
    return {
      server: async (conn) => {
        const loaded = this.serverConfig(name);
        const s = await serverHandshake(conn, loaded);
        const check = loaded.clientAuth !== "none" && !loaded.section.skipreceptornamescheck;
        return {
          stream: s.stream,
          verifiedNodeIds: check ? chainNodeIds(s.peerChain) : undefined,
        };
      },
    };
  }

  /** Dialer-side wrapper for backends using the `tls-client` named `name`. */
  client(name: string): StreamWrapper {
    this.clientConfig(name);
    return {
      client: async (conn, host) => {
        const loaded = this.clientConfig(name);
        const s = await clientHandshake(conn, loaded, host);
        const check = !loaded.insecureSkipVerify && !loaded.section.skipreceptornamescheck;
        return {
          stream: s.stream,
          verifiedNodeIds: check ? chainNodeIds(s.peerChain) : undefined,
        };
      },
    };
  }

  /** Every certificate, key and CA file in use. */
  files(): string[] {
    const all = [...this.#servers.values(), ...this.#clients.values()].flatMap((l) => l.files);
    return [...new Set(all.map((f) => absolute(f)))];
  }

  /**
   * Re-read every configuration's files. A configuration that fails keeps its previous
   * material (logged as an error). Returns the names that were replaced.
   */
  reload(why: string): string[] {
    const done: string[] = [];
    for (const [name, l] of this.#servers) {
      try {
        this.#servers.set(name, l.reload());
        done.push(name);
      } catch (e) {
        this.#logger.error(`TLS reload (${why}): tls-server ${name} kept its old material: ${e}`);
      }
    }
    for (const [name, l] of this.#clients) {
      try {
        this.#clients.set(name, l.reload());
        done.push(name);
      } catch (e) {
        this.#logger.error(`TLS reload (${why}): tls-client ${name} kept its old material: ${e}`);
      }
    }
    if (done.length) {
      this.#logger.info(`TLS configuration reloaded (${why}): ${done.join(", ")}`);
    }
    return done;
  }

  /**
   * Reload on SIGHUP and whenever one of {@link files} changes (the parent directories are
   * watched, so files replaced by rename are seen too). Changes are debounced by `debounceMs`.
   */
  watch(debounceMs = 300): void {
    if (this.#watcher || (!this.#servers.size && !this.#clients.size)) return;
    const files = new Set(this.files());
    const dirs = [...new Set([...files].map((f) => f.slice(0, f.lastIndexOf("/")) || "/"))];
    const schedule = (why: string) => {
      clearTimeout(this.#debounce);
      this.#debounce = setTimeout(() => this.reload(why), debounceMs);
    };
    try {
      this.#sighup = () => schedule("SIGHUP");
      Deno.addSignalListener("SIGHUP", this.#sighup);
    } catch {
      this.#sighup = null;
    }
    try {
      this.#watcher = Deno.watchFs(dirs, { recursive: false });
    } catch (e) {
      this.#logger.warning(`cannot watch TLS files for changes (SIGHUP still reloads): ${e}`);
      return;
    }
    const w = this.#watcher;
    (async () => {
      try {
        for await (const ev of w) {
          if (ev.kind === "access") continue;
          const hit = ev.paths.find((p) => files.has(p));
          if (hit) schedule(`${hit} changed`);
        }
      } catch { /* watcher closed */ }
    })();
  }

  /** Stop watching (SIGHUP listener and file watcher). */
  close(): void {
    clearTimeout(this.#debounce);
    if (this.#sighup) {
      try {
        Deno.removeSignalListener("SIGHUP", this.#sighup);
      } catch { /* gone */ }
      this.#sighup = null;
    }
    try {
      this.#watcher?.close();
    } catch { /* closed */ }
    this.#watcher = null;
  }
}

function absolute(path: string): string {
  if (path.startsWith("/")) return normalize(path);
  return normalize(`${Deno.cwd()}/${path}`);
}

function normalize(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return "/" + out.join("/");
}
