/**
 * Wires mesh stream services into the node: the dialer used by `connect` and remote work
 * (insecure, or user TLS from a named `tls-client` that must name the target node), and
 * listeners for control services reachable over the mesh.
 *
 * QUIC and its TLS 1.3 (src/streams, src/quic: Node's crypto layer and ~half of the program)
 * are loaded with `import()` on first use, after the node has bound its control socket and
 * backend listeners, so a node starts answering before it has parsed them.
 * @module
 */
import type { MeshNode } from "../mesh/mesh_node.ts";
import type { MeshStreamConn, StreamListener } from "../streams/stream_service.ts";
import type { TlsLookup } from "../streams/stream_tls.ts";
import type { Logger } from "../log.ts";

export type { TlsLookup } from "../streams/stream_tls.ts";

type StreamModules = [
  typeof import("../streams/stream_service.ts"),
  typeof import("../streams/stream_tls.ts"),
];
let loaded: Promise<StreamModules> | null = null;

/** Load the stream layer (QUIC, its TLS) once; later calls share the first load. */
export function loadStreams(): Promise<StreamModules> {
  loaded ??= Promise.all([
    import("../streams/stream_service.ts"),
    import("../streams/stream_tls.ts"),
  ]);
  return loaded;
}

/** Build the stream dialer: `tlsClient` "" = insecure mode. */
export function makeStreamDialer(
  mesh: MeshNode,
  logger: Logger,
  tls: TlsLookup | null,
): (node: string, service: string, tlsClient: string) => Promise<MeshStreamConn> {
  return async (node, service, tlsClient) => {
    const [{ dialStream }, { userClientTls }] = await loadStreams();
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

/** Listen for stream connections on `service` (user TLS if `tlsServer` is named). */
export async function listenStreamService(
  mesh: MeshNode,
  service: string,
  opts: {
    logger: Logger;
    tlsServer: string;
    tls: TlsLookup | null;
    tags: Record<string, string> | null;
    onConnection: (conn: MeshStreamConn) => void;
  },
): Promise<StreamListener> {
  let serverTls;
  if (opts.tlsServer) {
    const loaded = opts.tls?.server(opts.tlsServer);
    if (!loaded) throw new Error(`unknown TLS config ${opts.tlsServer}`);
    serverTls = (await loadStreams())[1].userServerTls(loaded);
  }
  const [{ StreamListener }] = await loadStreams();
  const listener = StreamListener.listen(mesh, service, {
    logger: opts.logger,
    tls: serverTls,
    advertise: { tags: opts.tags },
  });
  (async () => {
    while (true) {
      const c = await listener.accept();
      if (!c) return;
      opts.onConnection(c);
    }
  })();
  return listener;
}
