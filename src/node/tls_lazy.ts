/**
 * The node's TLS material, loaded (with src/certs and Node's crypto) only when the config has
 * `tls-server` / `tls-client` sections; otherwise a stand-in that knows no names.
 * @module
 */
import type { Section } from "../config/types.ts";
import type { LoadedTlsClient, LoadedTlsServer } from "../certs/tls_config.ts";
import type { StreamWrapper } from "../mesh/backends/tcp.ts";
import type { TlsWrappers } from "./backends.ts";
import type { Logger } from "../log.ts";

/** What the node uses of src/node/tls.ts's NodeTls. */
export interface NodeTlsLike extends TlsWrappers {
  serverConfig(name: string): LoadedTlsServer;
  lookup(): {
    client(name: string): LoadedTlsClient | undefined;
    server(name: string): LoadedTlsServer | undefined;
  };
  server(name: string): StreamWrapper;
  client(name: string): StreamWrapper;
  watch(): void;
  close(): void;
}

function unknown(name: string): never {
  throw new Error(`unknown TLS config ${name}`);
}

/** A config without TLS sections: every name is unknown, nothing to watch. */
const NO_TLS: NodeTlsLike = {
  serverConfig: unknown,
  lookup: () => ({ client: () => undefined, server: () => undefined }),
  server: unknown,
  client: unknown,
  watch: () => {},
  close: () => {},
};

/** Load the node's TLS configs (NodeTls) if it has any, else {@link NO_TLS}. */
export async function loadNodeTls(
  sections: readonly Section[],
  nodeId: string,
  logger: Logger,
): Promise<NodeTlsLike> {
  if (!sections.some((s) => s.kind === "tls-server" || s.kind === "tls-client")) return NO_TLS;
  const { NodeTls } = await import("./tls.ts");
  return NodeTls.load(sections, nodeId, logger);
}
