/**
 * Starts a node's `control-service` sections: builds the command table (status, ping,
 * traceroute, reload, connect, work), opens the Unix and TCP listeners, and advertises the
 * service in the mesh with the node's work types.
 * @module
 */
import type { Section } from "../config/types.ts";
import { sectionsOf } from "../config/validate.ts";
import type { ControlCommand } from "../control/types.ts";
import {
  type MeshControlApi,
  pingCommand,
  reloadCommand,
  statusCommand,
  systemFacts,
  tracerouteCommand,
} from "../control/mesh_commands.ts";
import { connectCommand, type StreamDialer } from "../control/connect_command.ts";
import { makeWorkCommand } from "../control/work_command.ts";
import {
  type Closer,
  type ControlServiceContext,
  listenTcpControl,
  listenUnixControl,
  serveConnection,
} from "../control/server.ts";
import type { DuplexConn } from "../control/session.ts";
import { listenTlsControl } from "../control/tls_listener.ts";
import type { LoadedTlsServer } from "../certs/tls_config.ts";
import type { WorkEngine } from "../work/engine.ts";
import type { WorkSigning } from "../work/signing.ts";
import type { Logger } from "../log.ts";
import { type ControlStats, instrumentCommands } from "../control/control_stats.ts";
import type { ReloadResult } from "./reload.ts";

/** Mesh operations the control services need (status/ping/traceroute + advertising). */
export interface ControlMesh extends MeshControlApi {
  advertise(
    service: string,
    connType: 0 | 1 | 2,
    tags: Record<string, string> | null,
    workCommands?: { WorkType: string; Secure: boolean }[],
  ): void;
  unadvertise(service: string): void;
}

/** Running control services. */
export interface ControlServices {
  /** Ports bound by `tcplisten` entries, in section order. */
  tcpPorts: number[];
  /** The shared command table (mesh stream listeners reuse it). */
  commands: ReadonlyMap<string, ControlCommand>;
  close(): void;
}

/** Dependencies of {@link startControlServices}. */
export interface ControlDeps {
  nodeId: string;
  logger: Logger;
  mesh: ControlMesh;
  work: WorkEngine;
  reload: (() => Promise<ReloadResult>) | null;
  version: string;
  dial?: StreamDialer | null;
  /**
   * Listen for control sessions on a mesh stream service (advertised as a Control Service,
   * user TLS when `tlsServer` names a tls-server). Absent: the service is only advertised.
   */
  listenMesh?: (
    service: string,
    tlsServer: string,
    onConnection: (conn: DuplexConn & { remoteNode: string }) => void,
  ) => Closer;
  /** work-signing / work-verification keys (control.md §7); absent = none configured. */
  workSigning?: WorkSigning;
  /** Counters for the metrics endpoint (absent: nothing is counted). */
  stats?: ControlStats;
  /** Named `tls-server` material (current at each call), for `tcptls`. */
  tls?: { serverConfig(name: string): LoadedTlsServer } | null;
}

/** Build the command table shared by every control transport. */
export function buildCommands(deps: ControlDeps): Map<string, ControlCommand> {
  const cmds: ControlCommand[] = [
    statusCommand(deps.mesh, systemFacts(deps.version)),
    pingCommand(deps.mesh),
    tracerouteCommand(deps.mesh),
    reloadCommand(deps.reload),
    connectCommand(deps.dial ?? null),
    makeWorkCommand(deps.work, {
      nodeId: deps.nodeId,
      // work-verification (control.md §7.4): checks tokens over non-Unix transports.
      verifySignature: deps.workSigning?.verifier
        ? (check) => deps.workSigning!.verifier!.verify(check.signature)
        : undefined,
    }),
  ];
  return new Map(cmds.map((c) => [c.name, c]));
}

/** Start every control-service section. Throws (after cleanup) if a listener fails. */
export async function startControlServices(
  sections: readonly Section[],
  deps: ControlDeps,
): Promise<ControlServices> {
  const stats = deps.stats;
  const commands = stats ? instrumentCommands(buildCommands(deps), stats) : buildCommands(deps);
  const ctx: ControlServiceContext = {
    nodeId: deps.nodeId,
    commands,
    logger: deps.logger,
    onSession: stats ? (t) => stats.session(t) : undefined,
  };
  const closers: Closer[] = [];
  const tcpPorts: number[] = [];
  const advertised: string[] = [];
  try {
    for (const s of sectionsOf(sections, "control-service")) {
      if (s.filename) closers.push(await listenUnixControl(ctx, s.filename, s.permissions));
      if (s.tcplisten) {
        let l;
        if (s.tcptls) {
          const name = s.tcptls;
          const tls = deps.tls;
          if (!tls) throw new Error(`unknown TLS config ${name}`);
          tls.serverConfig(name);
          l = await listenTlsControl(ctx, s.tcplisten, () => tls.serverConfig(name));
        } else {
          if (s.tls) {
            deps.logger.warning(
              `control-service ${s.service}: tls is set but tcptls is not; the TCP listener ${s.tcplisten} is not encrypted`,
            );
          }
          l = listenTcpControl(ctx, s.tcplisten);
        }
        closers.push(l);
        tcpPorts.push(l.port);
      }
      if (s.service) {
        if (deps.listenMesh) {
          // Reachable over the mesh (stream service); the listener advertises it.
          closers.push(
            deps.listenMesh(
              s.service,
              s.tls,
              (conn) => serveConnection(ctx, conn, "mesh", conn.remoteNode),
            ),
          );
        } else {
          deps.mesh.advertise(s.service, s.tls ? 2 : 1, { type: "Control Service" });
          advertised.push(s.service);
        }
      }
    }
  } catch (e) {
    for (const c of closers) c.close();
    for (const a of advertised) deps.mesh.unadvertise(a);
    throw e;
  }
  return {
    tcpPorts,
    commands,
    close() {
      for (const c of closers) c.close();
      for (const a of advertised) deps.mesh.unadvertise(a);
    },
  };
}
