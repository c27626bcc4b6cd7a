/**
 * Unix socket proxies (config.md §3.9): `unix-socket-server` creates (overwrites) a Unix
 * socket and forwards each connection to a mesh stream service (`tls` = tls-client);
 * `unix-socket-client` offers a mesh service (ad type `Unix Proxy`) and forwards each
 * connection to an existing Unix socket (`tls` = tls-server on the mesh side).
 * @module
 */
import type { UnixSocketClientSection, UnixSocketServerSection } from "../config/types.ts";
import { connChannel } from "./channel.ts";
import { listenUnixLocked } from "../util/unix_socket.ts";
import {
  checkRemoteService,
  clientTlsNamed,
  forwardLocalToMesh,
  type RunningService,
  serveMeshToLocal,
  type ServiceDeps,
} from "./common.ts";

/** Start a `unix-socket-server`: Unix socket `filename` → `remotenode`/`remoteservice`. */
export async function startUnixSocketServer(
  s: UnixSocketServerSection,
  deps: ServiceDeps,
): Promise<RunningService> {
  const { logger } = deps;
  checkRemoteService(s.remoteservice);
  clientTlsNamed(deps, s.tls);
  const sock = await listenUnixLocked(s.filename, s.permissions);
  const forwarding = forwardLocalToMesh(sock.listener, deps, {
    what: "Unix socket connection",
    remotenode: s.remotenode,
    remoteservice: s.remoteservice,
    tlsClient: s.tls,
    local: (conn) => Promise.resolve(connChannel(conn, `Unix socket ${s.filename}`)),
  });
  logger.debug(`unix-socket-server ${s.filename} → ${s.remotenode}:${s.remoteservice}`);
  return {
    description: `unix-socket-server ${s.filename} → ${s.remotenode}/${s.remoteservice}`,
    close() {
      forwarding.close();
      sock.close();
    },
  };
}

/** Start a `unix-socket-client`: mesh service `service` → Unix socket `filename`. */
export function startUnixSocketClient(
  s: UnixSocketClientSection,
  deps: ServiceDeps,
): RunningService {
  const { logger } = deps;
  const service = serveMeshToLocal(deps, {
    service: s.service,
    tlsServer: s.tls,
    tags: { type: "Unix Proxy", filename: s.filename },
    description: `unix-socket-client ${s.service} → ${s.filename}`,
    failure: "Error connecting via Unix socket",
    open: async () => {
      const conn = await Deno.connect({ transport: "unix", path: s.filename });
      return { channel: connChannel(conn, `Unix socket ${s.filename}`) };
    },
  });
  logger.debug(`unix-socket-client: mesh service ${s.service} → ${s.filename}`);
  return service;
}
