/**
 * Assembles a running node from a parsed invocation: logger, mesh, backends, work engine,
 * control services; runs until SIGINT/SIGTERM (or a duplicate-node shutdown) and returns
 * the process exit code. Start-up errors are thrown as ConfigError/Error for the CLI to
 * print as one `Error: ...` line.
 * @module
 */
import type { Invocation, Section } from "../config/types.ts";
import { hasBackend, nodeSection, sectionsOf, validateSections } from "../config/validate.ts";
import { ConfigError } from "../config/errors.ts";
import { type LogFormat, Logger, type LogLevel, parseLogLevel } from "../log.ts";
import { compileFirewallRules } from "../mesh/firewall.ts";
import { MeshNode } from "../mesh/mesh_node.ts";
import { LIMIT_CONFIG_KEYS, type MeshLimits } from "../mesh/limits.ts";
import { type RunningBackend, startBackends } from "./backends.ts";
import { WorkEngine } from "../work/engine.ts";
import { runCommandRunner } from "../cli/command_runner.ts";
import { VERSION } from "../version.ts";
import { type ControlServices, startControlServices } from "./control.ts";
import { makeReloader } from "./reload.ts";
import { loadWorkSigning, signWork } from "../work/signing.ts";
import { denoUnitDeps, DenoUnitType } from "../work/deno_unit.ts";
import { registerRemoteWork } from "../work/remote_unit.ts";
import { RetentionSweep } from "../work/retention_sweep.ts";
import { listenStreamService, makeStreamDialer, type TlsLookup } from "./streams.ts";
import { NodeTls } from "./tls.ts";
import { type NodeServices, startServices } from "./services.ts";
import { errorText } from "../util/error_text.ts";
import { ControlStats } from "../control/control_stats.ts";
import { type ObservabilityEndpoint, startObservability } from "./http/server.ts";

/** Node-level options that are not part of the upstream config format. */
export interface NodeRunOptions {
  logFormat?: LogFormat;
  /** Called once the node is fully up (tests, demo). */
  onReady?: (node: RunningNode) => void;
}

/** Handles to the parts of a running node. */
export interface RunningNode {
  nodeId: string;
  logger: Logger;
  mesh: MeshNode;
  work: WorkEngine;
  backends: RunningBackend[];
  control: ControlServices;
  /** The `observability` HTTP endpoint, when configured. */
  observability?: ObservabilityEndpoint;
}

function effectiveLogLevel(sections: readonly Section[]): LogLevel {
  const ll = sectionsOf(sections, "log-level")[0];
  if (!ll) return "info";
  return parseLogLevel(ll.level || "error");
}

const NOT_IMPLEMENTED = new Set([
  "ip-router",
  "work-kubernetes",
]);

/** Start a node and run it until it is told to stop; resolves to the exit code. */
export async function startNode(
  inv: Extract<Invocation, { kind: "node" }>,
  opts: NodeRunOptions = {},
): Promise<number> {
  const sections = inv.sections;
  const runner = sectionsOf(sections, "command-runner")[0];
  if (runner) {
    return await runCommandRunner({
      command: runner.command,
      params: runner.params,
      unitdir: runner.unitdir,
    });
  }
  validateSections(sections);
  const logger = new Logger({ level: effectiveLogLevel(sections), format: opts.logFormat });
  const node = nodeSection(sections);
  const nodeId = node.id;
  for (const s of sections) {
    if (NOT_IMPLEMENTED.has(s.kind)) {
      logger.once("warning", `${s.kind} is not implemented yet in receptor for Deno; ignored`);
    }
  }
  let firewall;
  try {
    firewall = compileFirewallRules(node.firewallrules);
  } catch (e) {
    throw new ConfigError(errorText(e), {
      source: node.source,
      section: "node",
      field: "firewallrules",
      origin: "section",
    });
  }

  const nodeTls = NodeTls.load(sections, nodeId, logger);
  const limits: Partial<MeshLimits> = {};
  for (const [key, name] of Object.entries(LIMIT_CONFIG_KEYS)) {
    const v = (node as unknown as Record<string, unknown>)[key];
    if (typeof v === "number" && v > 0) limits[name] = v;
  }
  const mesh = new MeshNode({
    nodeId,
    logger,
    firewall,
    maxIdleMs: node.maxidleconnectiontimeout,
    limits,
  });
  const datadir = node.datadir === ""
    ? `${Deno.env.get("TMPDIR") ?? "/tmp"}/receptor`
    : node.datadir;
  const work = new WorkEngine({
    nodeId,
    dataDir: datadir,
    logger,
    workTypes: sectionsOf(sections, "work-command"),
  });
  await work.init();
  // work-retention (not upstream): automatic release of finished units.
  const retention = sectionsOf(sections, "work-retention")[0];
  const sweep = retention
    ? new RetentionSweep({
      engine: work,
      logger,
      limits: { maxAgeMs: retention.maxage, maxCount: retention.maxcount },
      intervalMs: retention.interval,
    })
    : null;
  // work-deno (not upstream): Deno-sandboxed work types on the same runner machinery.
  for (const s of sectionsOf(sections, "work-deno")) {
    await work.registerType(new DenoUnitType(s, denoUnitDeps(logger)));
  }

  let backends: RunningBackend[] = [];
  let control: ControlServices | undefined;
  let services: NodeServices | undefined;
  let observability: ObservabilityEndpoint | undefined;
  const controlStats = new ControlStats();
  const cleanup = async () => {
    await observability?.close();
    for (const b of backends) b.close();
    services?.close();
    control?.close();
    nodeTls.close();
    await sweep?.close();
    await work.close();
    mesh.close();
  };
  try {
    const reload = inv.reloadFile
      ? makeReloader(inv, {
        logger,
        restart: async (newSections) => {
          // Wait until closed listeners have released their ports before binding them again.
          await Promise.all(backends.map((b) => b.close()));
          backends = startBackends(newSections, mesh, logger, nodeTls);
        },
      })
      : null;
    // work-signing / work-verification key files (control.md §7), loaded once at start-up.
    const workSigning = loadWorkSigning(sections, nodeId);
    // Remote work (control.md §6) dials the target's `control` service over the mesh.
    const tlsLookup: TlsLookup = nodeTls.lookup();
    const streamDial = makeStreamDialer(mesh, logger, tlsLookup);
    await registerRemoteWork(work, {
      dial: (remoteNode, tlsClient) => streamDial(remoteNode, "control", tlsClient),
      logger,
      sign: (remoteNode) => signWork(workSigning.signer, remoteNode),
      signingLifetimeMs: workSigning.signer?.lifetimeMs,
      hasTlsClient: (name) => tlsLookup.client(name) !== undefined,
      releaseGiveUpMs: retention?.releasegiveup,
      routeBack: (node, signal) =>
        new Promise<void>((resolve) => {
          const done = () => {
            off();
            signal.removeEventListener("abort", done);
            resolve();
          };
          const off = mesh.onRouteAdded((n) => n === node && done());
          if (signal.aborted) done();
          else signal.addEventListener("abort", done);
        }),
    });
    sweep?.start();
    mesh.setWorkCommands(work.advertisedWorkCommands());
    // Services first: once the control socket exists, the proxies are listening too.
    services = await startServices(sections, { mesh, logger, tls: tlsLookup });
    control = await startControlServices(sections, {
      nodeId,
      workSigning,
      logger,
      mesh,
      work,
      reload,
      version: VERSION,
      stats: controlStats,
      tls: nodeTls,
      dial: streamDial,
      listenMesh: (service, tlsServer, onConnection) =>
        listenStreamService(mesh, service, {
          logger,
          tlsServer,
          tls: tlsLookup,
          tags: { type: "Control Service" },
          onConnection,
        }),
    });
    backends = startBackends(sections, mesh, logger, nodeTls);
    const obs = sectionsOf(sections, "observability")[0];
    if (obs) {
      observability = await startObservability(obs, {
        nodeId,
        version: VERSION,
        mesh,
        work,
        control: controlStats,
        logger,
        tlsServer: (name) => nodeTls.serverConfig(name),
      });
    }
  } catch (e) {
    await cleanup();
    throw e;
  }
  if (!hasBackend(sections)) {
    logger.warning("Nothing to do - no backends are running.");
    console.log("Run receptor --help for command line instructions.");
    await cleanup();
    return 1;
  }
  nodeTls.watch();
  logger.info("Initialization complete");

  observability?.setReady();
  const running: RunningNode = {
    nodeId,
    logger,
    mesh,
    work,
    backends,
    control: control!,
    observability,
  };
  opts.onReady?.(running);

  const code = await new Promise<number>((resolve) => {
    const onSignal = (sig: Deno.Signal) => () => {
      logger.info(`Received ${sig}, shutting down`);
      resolve(0);
    };
    const handlers: [Deno.Signal, () => void][] = [
      ["SIGINT", onSignal("SIGINT")],
      ["SIGTERM", onSignal("SIGTERM")],
    ];
    for (const [s, h] of handlers) Deno.addSignalListener(s, h);
    mesh.onShutdown((reason) => {
      logger.error(`Shutting down: ${reason}`);
      resolve(1);
    });
  });
  observability?.setShuttingDown();
  await cleanup();
  return code;
}
