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
  /**
   * Settles once the mesh stream listeners (`service`) are up; they are started after the
   * Unix and TCP sockets are bound. Rejects if one cannot listen.
   */
  meshReady: Promise<void>;
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
  ) => Closer | Promise<Closer>;
  /**
   * Resolves once the work engine has scanned its units and every work type is registered;
   * `work` commands wait for it (the socket is bound before that, to answer `status` early).
   */
  workReady?: Promise<void>;
  /** work-signing / work-verification keys (control.md §7); absent = none configured. */
  workSigning?: WorkSigning;
  /** Counters for the metrics endpoint (absent: nothing is counted). */
  stats?: ControlStats;
  /** Named `tls-server` material (current at each call), for `tcptls`. */
  tls?: { serverConfig(name: string): LoadedTlsServer } | null;
}

/**
 * Build the command table shared by every control transport. `status` waits for `adsReady`
 * (when given): the socket is bound before the node's own services are advertised, and a
 * `status` asked that early must still list them (with their work commands).
 */
export function buildCommands(
  deps: ControlDeps,
  adsReady?: Promise<void>,
): Map<string, ControlCommand> {
  const cmds: ControlCommand[] = [
    gated(statusCommand(deps.mesh, systemFacts(deps.version)), adsReady),
    pingCommand(deps.mesh),
    tracerouteCommand(deps.mesh),
    reloadCommand(deps.reload),
    connectCommand(deps.dial ?? null),
    gated(
      makeWorkCommand(deps.work, {
        nodeId: deps.nodeId,
        // work-verification (control.md §7.4): checks tokens over non-Unix transports.
        verifySignature: deps.workSigning?.verifier
          ? (check) => deps.workSigning!.verifier!.verify(check.signature)
          : undefined,
      }),
      deps.workReady,
    ),
  ];
  return new Map(cmds.map((c) => [c.name, c]));
}

/** `cmd`, waiting for `ready` (when given) before each run. */
function gated(cmd: ControlCommand, ready: Promise<void> | undefined): ControlCommand {
  if (!ready) return cmd;
  return {
    name: cmd.name,
    run: async (session, request) => {
      await ready;
      return await cmd.run(session, request);
    },
  };
}

/** Start every control-service section. Throws (after cleanup) if a listener fails. */
export async function startControlServices(
  sections: readonly Section[],
  deps: ControlDeps,
): Promise<ControlServices> {
  const stats = deps.stats;
  // Resolved once every mesh listener below has advertised its service (or start-up failed).
  const adsReady = Promise.withResolvers<void>();
  const table = buildCommands(deps, adsReady.promise);
  const commands = stats ? instrumentCommands(table, stats) : table;
  const ctx: ControlServiceContext = {
    nodeId: deps.nodeId,
    commands,
    logger: deps.logger,
    onSession: stats ? (t) => stats.session(t) : undefined,
  };
  const closers: Closer[] = [];
  const tcpPorts: number[] = [];
  const advertised: string[] = [];
  const meshListens: Promise<void>[] = [];
  let closed = false;
  const keep = (c: Closer) => closed ? c.close() : void closers.push(c);
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
          const { listenTlsControl } = await import("../control/tls_listener.ts");
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
          // Reachable over the mesh (stream service); the listener advertises it. Started
          // without waiting: QUIC loads while the remaining sockets are bound.
          const listening = Promise.resolve(
            deps.listenMesh(
              s.service,
              s.tls,
              (conn) => serveConnection(ctx, conn, "mesh", conn.remoteNode),
            ),
          );
          meshListens.push(listening.then(keep));
        } else {
          deps.mesh.advertise(s.service, s.tls ? 2 : 1, { type: "Control Service" });
          advertised.push(s.service);
        }
      }
    }
  } catch (e) {
    adsReady.resolve();
    closed = true; // mesh listeners still starting close themselves once up (see keep)
    for (const m of meshListens) m.catch(() => {});
    for (const c of closers) c.close();
    for (const a of advertised) deps.mesh.unadvertise(a);
    throw e;
  }
  const meshReady = Promise.all(meshListens).then(() => {});
  meshReady.catch(() => {}); // the node awaits it; never an unhandled rejection here
  meshReady.finally(() => adsReady.resolve()).catch(() => {});
  return {
    tcpPorts,
    commands,
    meshReady,
    close() {
      closed = true;
      for (const c of closers) c.close();
      for (const a of advertised) deps.mesh.unadvertise(a);
    },
  };
}
