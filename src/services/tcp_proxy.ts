/**
 * TCP proxies (config.md §3.9): `tcp-server` listens on a local TCP port and forwards each
 * connection to a mesh stream service; `tcp-client` offers a mesh stream service (ad type
 * `TCP Proxy`) and forwards each connection to a TCP address. Optional TLS on either leg.
 * @module
 */
import type { TcpClientSection, TcpServerSection } from "../config/types.ts";
import { tlsClientOverConn, tlsServerOverConn } from "../certs/tls_stream.ts";
import { connChannel, tlsChannel } from "./channel.ts";
import {
  checkRemoteService,
  clientTlsNamed,
  forwardLocalToMesh,
  type RunningService,
  serveMeshToLocal,
  serverTlsNamed,
  type ServiceDeps,
  ServiceStartError,
} from "./common.ts";
import { errorText } from "../util/error_text.ts";
import { closeQuietly } from "../util/close_quietly.ts";

/** Split `host:port` / `[v6]:port` (Go's net.SplitHostPort rules, simplified). */
export function splitHostPort(address: string): { hostname: string; port: number } {
  const m = /^\[([^\]]*)\]:(\d+)$/.exec(address) ?? /^([^:]*):(\d+)$/.exec(address);
  if (!m) throw new ServiceStartError(`invalid address ${JSON.stringify(address)}`);
  const port = Number(m[2]);
  if (port > 65535) throw new ServiceStartError(`invalid port in address ${address}`);
  return { hostname: m[1], port };
}

function peerName(conn: Deno.Conn): string {
  const a = conn.remoteAddr;
  if (a.transport === "tcp" || a.transport === "udp") return `${a.hostname}:${a.port}`;
  return "unix";
}

/** Start a `tcp-server`: local TCP listener → `remotenode`/`remoteservice` over the mesh. */
export function startTcpServer(s: TcpServerSection, deps: ServiceDeps): RunningService {
  const { logger } = deps;
  checkRemoteService(s.remoteservice);
  const tlsServer = serverTlsNamed(deps, s.tlsserver);
  clientTlsNamed(deps, s.tlsclient);
  const hostname = s.bindaddr || "0.0.0.0";
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname, port: s.port });
  } catch (e) {
    throw new ServiceStartError(`error listening on TCP: ${errorText(e)}`);
  }
  const forwarding = forwardLocalToMesh(listener, deps, {
    what: "TCP connection",
    remotenode: s.remotenode,
    remoteservice: s.remoteservice,
    tlsClient: s.tlsclient,
    local: async (conn) => {
      const name = `TCP ${peerName(conn)}`;
      if (!tlsServer) return connChannel(conn, name);
      try {
        return tlsChannel(await tlsServerOverConn(conn, tlsServer), name);
      } catch (e) {
        logger.error(`Error in TLS handshake with ${name}: ${errorText(e)}`);
        closeQuietly(conn);
        return null;
      }
    },
  });
  const port = (listener.addr as Deno.NetAddr).port;
  logger.debug(
    `tcp-server listening on ${hostname}:${port} for ${s.remotenode}:${s.remoteservice}`,
  );
  return {
    description: `tcp-server ${hostname}:${port} → ${s.remotenode}/${s.remoteservice}`,
    close() {
      forwarding.close();
      closeQuietly(listener);
    },
  };
}

/** Start a `tcp-client`: mesh service `service` → TCP `address`. */
export function startTcpClient(s: TcpClientSection, deps: ServiceDeps): RunningService {
  const { logger } = deps;
  const { hostname, port } = splitHostPort(s.address);
  clientTlsNamed(deps, s.tlsclient);
  const service = serveMeshToLocal(deps, {
    service: s.service,
    tlsServer: s.tlsserver,
    tags: { type: "TCP Proxy", address: s.address },
    description: `tcp-client ${s.service} → ${s.address}`,
    failure: "Error connecting via TCP",
    open: async () => {
      const conn = await Deno.connect({ hostname, port });
      const name = `TCP ${s.address}`;
      const tls = clientTlsNamed(deps, s.tlsclient);
      return {
        channel: tls
          ? tlsChannel(await tlsClientOverConn(conn, tls, hostname), name)
          : connChannel(conn, name),
      };
    },
  });
  logger.debug(`tcp-client: mesh service ${s.service} → TCP ${s.address}`);
  return service;
}
