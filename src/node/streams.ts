/**
 * Wires mesh stream services into the node: the dialer used by `connect` and remote work
 * (insecure, or user TLS from a named `tls-client` that must name the target node), and
 * listeners for control services reachable over the mesh.
 *
 * QUIC and its TLS 1.3 (src/streams, src/quic: Node's crypto layer and ~half of the program)
 * are loaded with `import()` on first use: the first dial, or the first datagram for a
 * listener. An idle node never loads them.
 * @module
 */
import type { MeshNode } from "../mesh/mesh_node.ts";
import type { MeshStreamConn } from "../streams/stream_service.ts";
import { LazyStreamListener } from "./lazy_listener.ts";
import type { TlsLookup } from "../streams/stream_tls.ts";
import type { Logger } from "../log.ts";

export type { TlsLookup } from "../streams/stream_tls.ts";

type StreamModules = [
  typeof import("../streams/stream_service.ts"),
  typeof import("../streams/stream_tls.ts"),
];
let loaded: Promise<StreamModules> | null = null;
let layerUp = false;

/**
 * Load the stream layer (QUIC, its TLS) once; later calls share the first load. The first
 * call logs (debug) why: an idle node never loads it.
 */
export function loadStreams(logger: Logger, why: string): Promise<StreamModules> {
  if (!loaded) logger.debug(`loading the stream layer (QUIC, TLS): ${why}`);
  loaded ??= Promise.all([
    import("../streams/stream_service.ts"),
    import("../streams/stream_tls.ts"),
  ]).then((m) => {
    layerUp = true;
    return m;
  });
  return loaded;
}

/** Whether this process has loaded the stream layer (QUIC, TLS, Node's crypto) yet. */
export function streamLayerLoaded(): boolean {
  return layerUp;
}

/** Build the stream dialer: `tlsClient` "" = insecure mode. */
export function makeStreamDialer(
  mesh: MeshNode,
  logger: Logger,
  tls: TlsLookup | null,
): (node: string, service: string, tlsClient: string) => Promise<MeshStreamConn> {
  return async (node, service, tlsClient) => {
    const [{ dialStream }, { userClientTls }] = await loadStreams(
      logger,
      `dial ${service} on ${node}`,
    );
    let clientTls;
    if (tlsClient) {
      const loaded = tls?.client(tlsClient);
      if (!loaded) throw new Error(`unknown TLS config ${tlsClient}`);
      const target = node.toLowerCase() === "localhost" ? mesh.nodeId : node;
      clientTls = userClientTls(loaded, target);
    }
    return await dialStream(mesh, node, service, { logger, tls: clientTls });
  };
}

/**
 * Listen for stream connections on `service` (user TLS if `tlsServer` is named). The service
 * is bound and advertised at once; QUIC and TLS load on its first datagram
 * ({@link LazyStreamListener}).
 */
export function listenStreamService(
  mesh: MeshNode,
  service: string,
  opts: {
    logger: Logger;
    tlsServer: string;
    tls: TlsLookup | null;
    tags: Record<string, string> | null;
    onConnection: (conn: MeshStreamConn) => void;
  },
): LazyStreamListener {
  const tlsConfig = opts.tlsServer ? opts.tls?.server(opts.tlsServer) : undefined;
  if (opts.tlsServer && !tlsConfig) throw new Error(`unknown TLS config ${opts.tlsServer}`);
  return new LazyStreamListener(mesh, service, {
    logger: opts.logger,
    connType: tlsConfig ? 2 : 1,
    tags: opts.tags,
    onConnection: opts.onConnection,
    factory: async (endpoint) => {
      const [{ StreamListener }, { userServerTls }] = await loadStreams(
        opts.logger,
        `first datagram for ${service}`,
      );
      return StreamListener.listen(mesh, service, {
        logger: opts.logger,
        tls: tlsConfig ? userServerTls(tlsConfig) : undefined,
        advertise: null,
        endpoint,
      });
    },
  });
}
