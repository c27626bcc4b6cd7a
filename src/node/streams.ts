/**
 * Wires mesh stream services into the node: the dialer used by `connect` and remote work
 * (insecure, or user TLS from a named `tls-client` that must name the target node), and
 * listeners for control services reachable over the mesh.
 * @module
 */
import type { MeshNode } from "../mesh/mesh_node.ts";
import { dialStream, type MeshStreamConn, StreamListener } from "../streams/stream_service.ts";
import { type TlsLookup, userClientTls, userServerTls } from "../streams/stream_tls.ts";
import type { Logger } from "../log.ts";

export type { TlsLookup } from "../streams/stream_tls.ts";

/** Build the stream dialer: `tlsClient` "" = insecure mode. */
export function makeStreamDialer(
  mesh: MeshNode,
  logger: Logger,
  tls: TlsLookup | null,
): (node: string, service: string, tlsClient: string) => Promise<MeshStreamConn> {
  return (node, service, tlsClient) => {
    let clientTls;
    if (tlsClient) {
      const loaded = tls?.client(tlsClient);
      if (!loaded) return Promise.reject(new Error(`unknown TLS config ${tlsClient}`));
      const target = node.toLowerCase() === "localhost" ? mesh.nodeId : node;
      clientTls = userClientTls(loaded, target);
    }
    return dialStream(mesh, node, service, { logger, tls: clientTls });
  };
}

/** Listen for stream connections on `service` (user TLS if `tlsServer` is named). */
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
): StreamListener {
  let serverTls;
  if (opts.tlsServer) {
    const loaded = opts.tls?.server(opts.tlsServer);
    if (!loaded) throw new Error(`unknown TLS config ${opts.tlsServer}`);
    serverTls = userServerTls(loaded);
  }
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
