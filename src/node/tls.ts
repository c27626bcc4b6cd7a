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
import type { Section } from "../config/types.ts";
import { ConfigError } from "../config/errors.ts";
import {
  clientChainVerifier,
  type LoadedTlsClient,
  type LoadedTlsServer,
  loadTlsClient,
  loadTlsServer,
} from "../certs/tls_config.ts";
import { goTlsParams } from "../certs/tls_node.ts";
import { tlsClientOverConn, tlsServerOverConn } from "../certs/tls_stream.ts";
import type { StreamWrapper } from "../mesh/backends/tcp.ts";
import type { TlsWrappers } from "./backends.ts";
import type { Logger } from "../log.ts";
import { errorText } from "../util/error_text.ts";

/** Go's TLS dial timeout (config.md §4.3); also bounds a listener's handshake. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 15_000;

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
        throw new ConfigError(errorText(e), {
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
        const s = await tlsServerOverConn(conn, loaded, {
          timeoutMs: TLS_HANDSHAKE_TIMEOUT_MS,
          contextOptions: goTlsParams(loaded.minVersion),
        });
        const check = loaded.clientAuth !== "none" && !loaded.section.skipreceptornamescheck;
        return { stream: s.stream, verifiedNodeIds: check ? s.peerNodeIds : undefined };
      },
    };
  }

  /** Dialer-side wrapper for backends using the `tls-client` named `name`. */
  client(name: string): StreamWrapper {
    this.clientConfig(name);
    return {
      client: async (conn, host) => {
        const loaded = this.clientConfig(name);
        const s = await tlsClientOverConn(conn, loaded, host, {
          timeoutMs: TLS_HANDSHAKE_TIMEOUT_MS,
          contextOptions: goTlsParams(loaded.minVersion),
          verifier: clientChainVerifier(loaded, { expectedHost: host.replace(/^\[|\]$/g, "") }),
        });
        const check = !loaded.insecureSkipVerify && !loaded.section.skipreceptornamescheck;
        return { stream: s.stream, verifiedNodeIds: check ? s.peerNodeIds : undefined };
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
      // signals unavailable on this platform: reload through the control service only
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
