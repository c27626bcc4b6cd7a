/**
 * What every service proxy needs from the node, the handle it returns, and small shared
 * helpers: named TLS look-ups with clear errors, remote target checks, and the mesh-side
 * listen/dial wrappers with the grace periods used when closing mesh connections.
 * @module
 */
import type { ConnAcceptor } from "../util/unix_socket.ts";
import type { MeshNode } from "../mesh/mesh_node.ts";
import type { Logger } from "../log.ts";
import type { LoadedTlsClient, LoadedTlsServer } from "../certs/tls_config.ts";
import { dialStream, type MeshStreamConn, StreamListener } from "../streams/stream_service.ts";
import { type TlsLookup, userClientTls, userServerTls } from "../streams/stream_tls.ts";
import { meshChannel } from "./channel.ts";
import { type Bridge, bridge, BridgeSet } from "./bridge.ts";
import type { ByteChannel } from "./channel.ts";
import { errorText } from "../util/error_text.ts";

/** Node parts a service uses. */
export interface ServiceDeps {
  mesh: MeshNode;
  logger: Logger;
  /** Named `tls-server` / `tls-client` configurations (null: none configured). */
  tls: TlsLookup | null;
}

/** A started service. */
export interface RunningService {
  /** Section kind and a short description, for logs. */
  readonly description: string;
  /** Stop listening and close live connections. */
  close(): void;
}

/** A service that cannot start (the node reports it and exits). */
export class ServiceStartError extends Error {
  override name = "ServiceStartError";
}

/**
 * Grace before a mesh connection we dialed is closed after a clean exchange: the peer has
 * already sent its FIN (we read it), this only lets our last bytes be acknowledged.
 */
export const DIALER_GRACE_MS = 2_000;
/** Grace on the listening side: the dialer normally closes the connection first. */
export const LISTENER_GRACE_MS = 15_000;

/** The loaded `tls-server` named `name` ("" → undefined). */
export function serverTlsNamed(deps: ServiceDeps, name: string): LoadedTlsServer | undefined {
  if (!name) return undefined;
  const t = deps.tls?.server(name);
  if (!t) throw new ServiceStartError(`unknown TLS config ${name}`);
  return t;
}

/** The loaded `tls-client` named `name` ("" → undefined). */
export function clientTlsNamed(deps: ServiceDeps, name: string): LoadedTlsClient | undefined {
  if (!name) return undefined;
  const t = deps.tls?.client(name);
  if (!t) throw new ServiceStartError(`unknown TLS config ${name}`);
  return t;
}

/** Check a `remoteservice` value (8 bytes at most, wire.md §10). */
export function checkRemoteService(service: string): void {
  if (new TextEncoder().encode(service).length > 8) {
    throw new ServiceStartError(`service name ${service} too long`);
  }
}

/** `localhost` (any case) means this node. */
export function resolveNode(mesh: MeshNode, node: string): string {
  return node.toLowerCase() === "localhost" ? mesh.nodeId : node;
}

/**
 * Listen on mesh stream service `service`, advertised with `tags`; each accepted connection is
 * handed to `onConn` as a channel. Start-up problems become {@link ServiceStartError}s.
 */
export function listenMeshChannels(
  deps: ServiceDeps,
  service: string,
  tlsServer: string,
  tags: Record<string, string>,
  onConn: (ch: ByteChannel, conn: MeshStreamConn) => void,
): StreamListener {
  const loaded = serverTlsNamed(deps, tlsServer);
  let listener: StreamListener;
  try {
    listener = StreamListener.listen(deps.mesh, service, {
      logger: deps.logger,
      tls: loaded ? userServerTls(loaded) : undefined,
      advertise: { tags },
    });
  } catch (e) {
    throw new ServiceStartError(
      `error listening on Receptor network: ${errorText(e)}`,
    );
  }
  (async () => {
    for (;;) {
      const c = await listener.accept();
      if (!c) return;
      const ch = meshChannel(c, `mesh ${c.remoteNode}:${c.remoteService}`, LISTENER_GRACE_MS);
      try {
        onConn(ch, c);
      } catch (e) {
        deps.logger.error(`service ${service}: ${errorText(e)}`);
        ch.close(false);
      }
    }
  })();
  return listener;
}

/** The local end {@link serveMeshToLocal} bridges a mesh stream to. */
export interface LocalEnd {
  /** The channel to bridge to. */
  channel: ByteChannel;
  /** Drops the end when the service closed while it was being opened (default: close it). */
  discard?(): void;
  /** Called once the bridge runs. */
  bridged?(b: Bridge, remote: ByteChannel): void;
}

/**
 * Serve mesh service `service` by bridging each accepted stream to a local end that `open`
 * makes (`tcp-client`, `unix-socket-client`, `command-service`). A failed `open` is logged as
 * `<failure>: <error>` and closes the stream; an end opened after the service closed is
 * discarded. Closing the returned service stops listening and aborts every bridge.
 */
export function serveMeshToLocal(
  deps: ServiceDeps,
  opts: {
    service: string;
    tlsServer: string;
    tags: Record<string, string>;
    description: string;
    failure: string;
    open: (remote: ByteChannel) => LocalEnd | Promise<LocalEnd>;
  },
): RunningService {
  const { logger } = deps;
  const bridges = new BridgeSet();
  let closed = false;
  const listener = listenMeshChannels(
    deps,
    opts.service,
    opts.tlsServer,
    opts.tags,
    async (remote) => {
      let local: LocalEnd;
      try {
        local = await opts.open(remote);
      } catch (e) {
        logger.error(`${opts.failure}: ${errorText(e)}`);
        remote.close(false);
        return;
      }
      if (closed) {
        if (local.discard) local.discard();
        else local.channel.close(false);
        remote.close(false);
        return;
      }
      const b = bridge(remote, local.channel, logger);
      bridges.add(b);
      local.bridged?.(b, remote);
    },
  );
  return {
    description: opts.description,
    close() {
      if (closed) return;
      closed = true;
      listener.close();
      bridges.abortAll();
    },
  };
}

/** Dial `service` on `node` (user TLS from `tlsClient` naming the target node, if set). */
export async function dialMeshChannel(
  deps: ServiceDeps,
  node: string,
  service: string,
  tlsClient: LoadedTlsClient | undefined,
): Promise<ByteChannel> {
  const target = resolveNode(deps.mesh, node);
  const conn = await dialStream(deps.mesh, target, service, {
    logger: deps.logger,
    tls: tlsClient ? userClientTls(tlsClient, target) : undefined,
  });
  return meshChannel(conn, `mesh ${target}:${service}`, DIALER_GRACE_MS);
}

/**
 * Accept local connections on `listener` and bridge each to `remotenode`/`remoteservice` over
 * the mesh (`tcp-server`, `unix-socket-server`). `local` adapts an accepted connection (and may
 * run a TLS handshake: it logs, closes and returns null on failure). An accept error is logged
 * and retried with a short back-off (an fd shortage must not stop the service for good).
 * Returns a closer that stops accepting and aborts every bridge; the caller closes `listener`.
 */
export function forwardLocalToMesh(
  listener: ConnAcceptor,
  deps: ServiceDeps,
  opts: {
    what: string;
    remotenode: string;
    remoteservice: string;
    tlsClient: string;
    local: (conn: Deno.Conn) => Promise<ByteChannel | null>;
  },
): { close(): void } {
  const { logger } = deps;
  const bridges = new BridgeSet();
  let closed = false;
  const handle = async (conn: Deno.Conn) => {
    const local = await opts.local(conn);
    if (!local) return;
    let remote: ByteChannel;
    try {
      remote = await dialMeshChannel(
        deps,
        opts.remotenode,
        opts.remoteservice,
        clientTlsNamed(deps, opts.tlsClient),
      );
    } catch (e) {
      logger.error(`Error connecting on Receptor network: ${errorText(e)}`);
      local.close(false);
      return;
    }
    if (closed) {
      local.close(false);
      remote.close(false);
      return;
    }
    bridges.add(bridge(local, remote, logger));
  };
  (async () => {
    let backoffMs = 5;
    while (!closed) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
        backoffMs = 5;
      } catch (e) {
        if (closed || e instanceof Deno.errors.BadResource) return;
        logger.error(`Error accepting ${opts.what}: ${errorText(e)}`);
        await new Promise((r) => setTimeout(r, backoffMs));
        backoffMs = Math.min(backoffMs * 2, 1000);
        continue;
      }
      handle(conn);
    }
  })();
  return {
    close() {
      closed = true;
      bridges.abortAll();
    },
  };
}
