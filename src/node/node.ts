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
// Static: every node registers remote work at start (and `status` waits for it, through the
// node's own ads), so a lazy import only added a serial module-load wave and its own chunk.
import { registerRemoteWork } from "../work/remote_unit.ts";
import { VERSION } from "../version.ts";
import { type ControlServices, startControlServices } from "./control.ts";
import { makeReloader } from "./reload.ts";
import type { WorkSigning } from "../work/signing.ts";
import type { WorkUnitType } from "../work/unit_type.ts";
import { listenStreamService, makeStreamDialer, type TlsLookup } from "./streams.ts";
import type { NodeServices } from "./services.ts";
import { SERVICE_KINDS } from "./service_kinds.ts";
import { loadNodeTls } from "./tls_lazy.ts";
import { startMemoryReclaimer } from "./memory.ts";
import { errorText } from "../util/error_text.ts";
import { ControlStats } from "../control/control_stats.ts";
import type { ObservabilityEndpoint } from "./http/server.ts";
import type { RetentionSweep } from "../work/retention_sweep.ts";

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
]);

/** Work signing keys: loaded (with jose) only when a section asks for them. */
async function loadSigning(sections: readonly Section[], nodeId: string): Promise<WorkSigning> {
  if (!sections.some((s) => s.kind === "work-signing" || s.kind === "work-verification")) {
    return { signer: null, verifier: null };
  }
  return (await import("../work/signing.ts")).loadWorkSigning(sections, nodeId);
}

function warnNotImplemented(sections: readonly Section[], logger: Logger): void {
  for (const s of sections) {
    if (NOT_IMPLEMENTED.has(s.kind)) {
      logger.once("warning", `${s.kind} is not implemented yet in receptor for Deno; ignored`);
    }
  }
}

/** Compiles the node's firewall rules; a bad rule is a ConfigError naming the field. */
function nodeFirewall(node: ReturnType<typeof nodeSection>) {
  try {
    return compileFirewallRules(node.firewallrules);
  } catch (e) {
    throw new ConfigError(errorText(e), {
      source: node.source,
      section: "node",
      field: "firewallrules",
      origin: "section",
    });
  }
}

/**
 * Signal handlers before anything is bound: the control socket is up early, and a SIGTERM
 * during the rest of start-up must still clean up (remove the socket) instead of killing the
 * process with a stale socket file left behind.
 */
function installSignalHandlers(logger: Logger, exit: PromiseWithResolvers<number>): () => void {
  const handlers: [Deno.Signal, () => void][] = (["SIGINT", "SIGTERM"] as const).map((sig) => [
    sig,
    () => {
      logger.info(`Received ${sig}, shutting down`);
      exit.resolve(0);
    },
  ]);
  for (const [sig, h] of handlers) Deno.addSignalListener(sig, h);
  return () => {
    for (const [sig, h] of handlers) Deno.removeSignalListener(sig, h);
  };
}

/** The mesh node with the `node` section's limits, idle timeout and firewall. */
function buildMesh(
  node: ReturnType<typeof nodeSection>,
  logger: Logger,
  firewall: ReturnType<typeof nodeFirewall>,
): MeshNode {
  const limits: Partial<MeshLimits> = {};
  for (const [key, name] of Object.entries(LIMIT_CONFIG_KEYS)) {
    const v = (node as unknown as Record<string, unknown>)[key];
    if (typeof v === "number" && v > 0) limits[name] = v;
  }
  return new MeshNode({
    nodeId: node.id,
    logger,
    firewall,
    maxIdleMs: node.maxidleconnectiontimeout,
    limits,
    duplicateNotice: node.duplicatenotice,
  });
}

/** Everything a node holds open; `close` releases whatever has been started so far. */
interface NodeParts {
  logger: Logger;
  mesh: MeshNode;
  work: WorkEngine;
  nodeTls: Awaited<ReturnType<typeof loadNodeTls>>;
  /** `nodeTls.lookup()`, taken once. */
  tlsLookup: TlsLookup;
  workReady: PromiseWithResolvers<void>;
  /** Resolved once the advertised work types are known (before the engine's scan). */
  typesKnown: PromiseWithResolvers<void>;
  controlStats: ControlStats;
  dropHandlers: () => void;
  backends: RunningBackend[];
  control?: ControlServices;
  services?: NodeServices;
  observability?: ObservabilityEndpoint;
  sweep?: RetentionSweep;
}

async function closeParts(p: NodeParts): Promise<void> {
  p.dropHandlers();
  p.workReady.resolve(); // release waiting `work` commands; the engine is closing
  p.typesKnown.resolve();
  await p.observability?.close();
  for (const b of p.backends) b.close();
  p.services?.close();
  p.control?.close();
  p.nodeTls.close();
  await p.sweep?.close();
  await p.work.close();
  p.mesh.close();
}

/** Resolves once `node` has a route (or `signal` aborts): remote work waits for a route back. */
function routeBack(mesh: MeshNode, node: string, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      off();
      signal.removeEventListener("abort", done);
      resolve();
    };
    const off = mesh.onRouteAdded((n) => n === node && done());
    if (signal.aborted) done();
    else signal.addEventListener("abort", done);
  });
}

/**
 * First phase: what answers first is bound first — services (only if configured), the
 * control sockets, then the backend listeners.
 */
async function startListeners(
  sections: readonly Section[],
  p: NodeParts,
  nodeId: string,
  deps: {
    workSigning: WorkSigning;
    streamDial: ReturnType<typeof makeStreamDialer>;
    reload: ReturnType<typeof makeReloader> | null;
  },
): Promise<void> {
  const { logger, mesh, nodeTls, tlsLookup } = p;
  const { workSigning, streamDial, reload } = deps;
  // Services (tcp-server etc.) before the control socket: once it exists, the proxies are
  // listening too. Nodes without services skip loading them (and the stream layer) here.
  if (sections.some((s) => SERVICE_KINDS.has(s.kind))) {
    const { startServices } = await import("./services.ts");
    p.services = await startServices(sections, { mesh, logger, tls: tlsLookup });
  }
  p.control = await startControlServices(sections, {
    nodeId,
    workSigning,
    logger,
    mesh,
    work: p.work,
    workReady: p.workReady.promise,
    reload,
    version: VERSION,
    stats: p.controlStats,
    tls: nodeTls,
    dial: streamDial,
    // Advertised once the work types are known: a service ad carries them, and the next
    // periodic ad is a minute away.
    listenMesh: async (service, tlsServer, onConnection) =>
      await p.typesKnown.promise.then(() =>
        listenStreamService(mesh, service, {
          logger,
          tlsServer,
          tls: tlsLookup,
          tags: { type: "Control Service" },
          onConnection,
        })
      ),
  });
  p.backends = await startBackends(sections, mesh, logger, nodeTls);
}

/**
 * The work-deno and work-kubernetes types (loaded only by nodes that configure them), built
 * but not yet registered: their names go into the node's ads before the engine's scan.
 */
async function lateWorkTypes(sections: readonly Section[], logger: Logger) {
  const types: WorkUnitType[] = [];
  // work-deno (not upstream): Deno-sandboxed work types on the same runner machinery.
  const denoTypes = sectionsOf(sections, "work-deno");
  if (denoTypes.length) {
    const { denoUnitDeps, DenoUnitType } = await import("../work/deno_unit.ts");
    for (const s of denoTypes) types.push(new DenoUnitType(s, denoUnitDeps(logger)));
  }
  const kubeSections = sectionsOf(sections, "work-kubernetes");
  if (kubeSections.length) {
    const { KubeUnitType } = await import("../work/kubernetes_unit.ts");
    for (const s of kubeSections) types.push(new KubeUnitType(s));
  }
  return types;
}

/** `WorkCommands` of the node's ads: the engine's advertised types, then `late` ones. */
function workCommandsWith(work: WorkEngine, late: readonly WorkUnitType[]) {
  const more = late.filter((t) => t.advertise).map((t) => ({
    WorkType: t.name,
    Secure: t.verifySignature,
  }));
  return [...work.advertisedWorkCommands(), ...more];
}

/**
 * Second phase: the advertised work types are known (the node's ads can go out: `status` and
 * the mesh control service wait for that, `work` commands wait for the rest), the engine scans
 * its units, the configured work types register (remote work always) and the retention sweep
 * starts.
 */
async function startWork(
  sections: readonly Section[],
  p: NodeParts,
  workSigning: WorkSigning,
  streamDial: ReturnType<typeof makeStreamDialer>,
): Promise<void> {
  const { logger, mesh, work, tlsLookup } = p;
  const late = await lateWorkTypes(sections, logger);
  mesh.setWorkCommands(workCommandsWith(work, late));
  p.typesKnown.resolve();
  await work.init();
  for (const t of late) await work.registerType(t);
  // work-retention (not upstream): automatic release of finished units, stuck releases given up.
  const retention = sectionsOf(sections, "work-retention")[0];
  await registerRemoteWork(work, {
    dial: (remoteNode, tlsClient) => streamDial(remoteNode, "control", tlsClient),
    logger,
    sign: async (remoteNode) =>
      (await import("../work/signing.ts")).signWork(workSigning.signer, remoteNode),
    signingLifetimeMs: workSigning.signer?.lifetimeMs,
    hasTlsClient: (name) => tlsLookup.client(name) !== undefined,
    releaseGiveUpMs: retention?.releasegiveup,
    routeBack: (node, signal) => routeBack(mesh, node, signal),
  });
  if (retention) {
    const { RetentionSweep } = await import("../work/retention_sweep.ts");
    p.sweep = new RetentionSweep({
      engine: work,
      logger,
      limits: { maxAgeMs: retention.maxage, maxCount: retention.maxcount },
      intervalMs: retention.interval,
    });
    p.sweep.start();
  }
}

/** Last phase: the `observability` HTTP endpoint, when configured (loaded lazily). */
async function startObservabilityIfConfigured(
  sections: readonly Section[],
  p: NodeParts,
  nodeId: string,
): Promise<void> {
  const obs = sectionsOf(sections, "observability")[0];
  if (!obs) return;
  const { startObservability } = await import("./http/server.ts");
  p.observability = await startObservability(obs, {
    nodeId,
    version: VERSION,
    mesh: p.mesh,
    work: p.work,
    control: p.controlStats,
    logger: p.logger,
    tlsServer: (name) => p.nodeTls.serverConfig(name),
  });
}

/** Runs a started node until SIGINT/SIGTERM or a mesh shutdown; resolves to the exit code. */
async function runUntilExit(
  p: NodeParts,
  nodeId: string,
  exit: PromiseWithResolvers<number>,
  opts: NodeRunOptions,
): Promise<number> {
  const { logger, mesh, observability } = p;
  p.nodeTls.watch();
  logger.info("Initialization complete");
  const stopReclaimer = startMemoryReclaimer(logger);

  observability?.setReady();
  const running: RunningNode = {
    nodeId,
    logger,
    mesh,
    work: p.work,
    backends: p.backends,
    control: p.control!,
    observability,
  };
  opts.onReady?.(running);

  mesh.onShutdown((reason) => {
    logger.error(`Shutting down: ${reason}`);
    exit.resolve(1);
  });
  const code = await exit.promise;
  stopReclaimer();
  observability?.setShuttingDown();
  await closeParts(p);
  return code;
}

/**
 * Start a node and run it until it is told to stop; resolves to the exit code.
 *
 * Start-up order: what answers first is bound first — services (only if configured), the
 * control sockets and the backend listeners (peers started at the same moment can link at
 * once) — then the work engine scans its units (`work` commands wait for it, and `status`
 * waits for the node's own service ads, which follow), and the work types register. The
 * stream layer (QUIC, TLS) loads on the first stream: a dial, or the first datagram for a mesh
 * control listener (src/node/lazy_listener.ts).
 */
export async function startNode(
  inv: Extract<Invocation, { kind: "node" }>,
  opts: NodeRunOptions = {},
): Promise<number> {
  const sections = inv.sections;
  const runner = sectionsOf(sections, "command-runner")[0];
  if (runner) {
    const { runCommandRunner } = await import("../work/command_runner.ts");
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
  warnNotImplemented(sections, logger);
  const firewall = nodeFirewall(node);

  const exit = Promise.withResolvers<number>();
  const dropHandlers = installSignalHandlers(logger, exit);
  const nodeTls = await loadNodeTls(sections, nodeId, logger).catch((e) => {
    dropHandlers();
    throw e;
  });
  const mesh = buildMesh(node, logger, firewall);
  const work = new WorkEngine({
    nodeId,
    dataDir: node.datadir === "" ? `${Deno.env.get("TMPDIR") ?? "/tmp"}/receptor` : node.datadir,
    logger,
    workTypes: sectionsOf(sections, "work-command"),
  });
  const p: NodeParts = {
    logger,
    mesh,
    work,
    nodeTls,
    tlsLookup: nodeTls.lookup(),
    workReady: Promise.withResolvers<void>(),
    typesKnown: Promise.withResolvers<void>(),
    controlStats: new ControlStats(),
    dropHandlers,
    backends: [],
  };
  try {
    const reload = inv.reloadFile
      ? makeReloader(inv, {
        logger,
        restart: async (newSections) => {
          // Wait until closed listeners have released their ports before binding them again.
          await Promise.all(p.backends.map((b) => b.close()));
          p.backends = await startBackends(newSections, mesh, logger, nodeTls);
        },
      })
      : null;
    // work-signing / work-verification key files (control.md §7), loaded once at start-up.
    const workSigning = await loadSigning(sections, nodeId);
    // Remote work (control.md §6) dials the target's `control` service over the mesh.
    const streamDial = makeStreamDialer(mesh, logger, p.tlsLookup);
    await startListeners(sections, p, nodeId, { workSigning, streamDial, reload });
    await startWork(sections, p, workSigning, streamDial);
    mesh.setWorkCommands(work.advertisedWorkCommands());
    p.workReady.resolve();
    await p.control!.meshReady;
    await startObservabilityIfConfigured(sections, p, nodeId);
  } catch (e) {
    await closeParts(p);
    throw e;
  }
  if (!hasBackend(sections)) {
    logger.warning("Nothing to do - no backends are running.");
    console.log("Run receptor --help for command line instructions.");
    await closeParts(p);
    return 1;
  }
  return await runUntilExit(p, nodeId, exit, opts);
}
