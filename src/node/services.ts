/**
 * Starts the service sections of a node (config.md §3.9): `tcp-server`, `tcp-client`,
 * `udp-server`, `udp-client`, `unix-socket-server`, `unix-socket-client` and
 * `command-service`. A service that cannot start stops the ones already started and throws,
 * so the node fails start-up with one clear error line.
 * @module
 */
import type { Section } from "../config/types.ts";
import type { MeshNode } from "../mesh/mesh_node.ts";
import type { Logger } from "../log.ts";
import type { TlsLookup } from "./streams.ts";
import type { RunningService, ServiceDeps } from "../services/common.ts";
import { startTcpClient, startTcpServer } from "../services/tcp_proxy.ts";
import { startUdpClient, startUdpServer } from "../services/udp_proxy.ts";
import { startUnixSocketClient, startUnixSocketServer } from "../services/unix_proxy.ts";
import { startCommandService } from "../services/command_service.ts";
import { errorText } from "../util/error_text.ts";

import { SERVICE_KINDS } from "./service_kinds.ts";

export { SERVICE_KINDS } from "./service_kinds.ts";

/** The running services of a node. */
export interface NodeServices {
  readonly services: RunningService[];
  /** Stop every service. */
  close(): void;
}

async function startOne(s: Section, deps: ServiceDeps): Promise<RunningService | null> {
  switch (s.kind) {
    case "tcp-server":
      return startTcpServer(s, deps);
    case "tcp-client":
      return startTcpClient(s, deps);
    case "udp-server":
      return startUdpServer(s, deps);
    case "udp-client":
      return startUdpClient(s, deps);
    case "unix-socket-server":
      return await startUnixSocketServer(s, deps);
    case "unix-socket-client":
      return startUnixSocketClient(s, deps);
    case "command-service":
      return startCommandService(s, deps);
    default:
      return null;
  }
}

/** Start every service section in `sections` (in file order). */
export async function startServices(
  sections: readonly Section[],
  deps: { mesh: MeshNode; logger: Logger; tls: TlsLookup | null },
): Promise<NodeServices> {
  const services: RunningService[] = [];
  const closeAll = () => {
    for (const r of services.splice(0).reverse()) {
      try {
        r.close();
      } catch (e) {
        deps.logger.debug(`closing ${r.description}: ${errorText(e)}`);
      }
    }
  };
  for (const s of sections) {
    if (!SERVICE_KINDS.has(s.kind)) continue;
    try {
      const r = await startOne(s, deps);
      if (r) services.push(r);
    } catch (e) {
      closeAll();
      throw new Error(`${s.kind}: ${errorText(e)}`);
    }
  }
  return { services, close: closeAll };
}
