/**
 * The `work-kubernetes` work type: each unit runs as a pod (control.md §5.5). This node talks
 * to the API server itself (no detached runner): a node that stops leaves the pod running and
 * a restarted node picks the unit up again (Running units resume copying the log where they
 * stopped; Pending ones fail, and their pod is deleted when `deletepodonrestart`).
 *
 * `streammethod: tcp` (upstream: the pod connects back to the node) is accepted and treated
 * like `logger`: output always comes from the pod's log.
 *
 * Loaded lazily by the node (only when a `work-kubernetes` section exists).
 * @module
 */
import {
  defaultKubeconfigPath,
  inClusterConnection,
  type KubeConnection,
  loadKubeconfigFile,
  parseKubeconfig,
} from "./kube_config.ts";
import { KubeClient } from "./kube_client.ts";
import {
  buildPod,
  kubeAllocate,
  type KubeExtraData,
  redactExtra,
  type WorkKubernetesConfig,
} from "./kubernetes_core.ts";
import { DEFAULT_KUBE_TIMINGS, KubeRun, type KubeRunTimings } from "./kubernetes_run.ts";
import { isComplete, type StatusFileData, WorkState } from "./status_file.ts";
import type { UnitContext, WorkOpResult, WorkUnitType } from "./unit_type.ts";

export type { WorkKubernetesConfig } from "./kubernetes_core.ts";

/**
 * Timings from the environment (tests): `RECEPTOR_KUBE_POLL_MS`,
 * `RECEPTOR_KUBE_RECONNECT_LIMIT_MS`, `RECEPTOR_KUBE_ATTACH_GRACE_MS`.
 */
export function kubeTimingsFromEnv(): KubeRunTimings {
  const num = (name: string, dflt: number) => {
    const v = Number(Deno.env.get(name) ?? "");
    return Number.isFinite(v) && v > 0 ? v : dflt;
  };
  return {
    ...DEFAULT_KUBE_TIMINGS,
    pollMs: num("RECEPTOR_KUBE_POLL_MS", DEFAULT_KUBE_TIMINGS.pollMs),
    reconnectLimitMs: num(
      "RECEPTOR_KUBE_RECONNECT_LIMIT_MS",
      DEFAULT_KUBE_TIMINGS.reconnectLimitMs,
    ),
    attachGraceMs: num("RECEPTOR_KUBE_ATTACH_GRACE_MS", DEFAULT_KUBE_TIMINGS.attachGraceMs),
  };
}

/** One configured `work-kubernetes` type. */
export class KubeUnitType implements WorkUnitType {
  readonly name: string;
  readonly verifySignature: boolean;
  readonly advertise = true;
  readonly #cfg: WorkKubernetesConfig;
  readonly #auth: string;
  readonly #timings: KubeRunTimings;
  readonly #runs = new Map<string, AbortController>();

  constructor(cfg: WorkKubernetesConfig, timings: KubeRunTimings = kubeTimingsFromEnv()) {
    this.#cfg = cfg;
    this.name = cfg.worktype;
    this.verifySignature = cfg.verifysignature;
    this.#auth = cfg.authmethod.toLowerCase();
    this.#timings = timings;
  }

  /** Runtime params, each behind its allow flag (upstream's texts). */
  allocate(params: Record<string, string>): unknown {
    return kubeAllocate(this.#cfg, params, (p) => Deno.readTextFileSync(p));
  }

  /** Secrets (kubeconfig, pod spec) never leave the node in a status. */
  redact(status: StatusFileData): StatusFileData {
    return { ...status, ExtraData: redactExtra(status.ExtraData) };
  }

  /** The API connection for a unit, by the section's auth method. */
  #connection(ked: KubeExtraData): KubeConnection {
    switch (this.#auth) {
      case "incluster":
        return inClusterConnection();
      case "runtime":
        return parseKubeconfig(ked.KubeConfig, null);
      default: {
        if (!ked.KubeConfig) return loadKubeconfigFile(defaultKubeconfigPath());
        const path = this.#cfg.kubeconfig;
        const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/") + 1) : "";
        return parseKubeconfig(
          ked.KubeConfig,
          (p) => Deno.readTextFileSync(p.startsWith("/") ? p : dir + p),
        );
      }
    }
  }

  #track(unit: UnitContext): { ac: AbortController; signal: AbortSignal } {
    this.#runs.get(unit.id)?.abort();
    const ac = new AbortController();
    this.#runs.set(unit.id, ac);
    return { ac, signal: AbortSignal.any([ac.signal, unit.signal]) };
  }

  #run(unit: UnitContext, client: KubeClient, signal: AbortSignal, ked: KubeExtraData): KubeRun {
    return new KubeRun(unit, client, signal, this.#timings, async () => {
      const s = await unit.load();
      const x = s.ExtraData as KubeExtraData;
      if (!x.PodName) return;
      const ns = x.KubeNamespace || ked.KubeNamespace;
      await client.deletePod(ns, x.PodName);
      unit.logger.info(`[${unit.id}] deleted pod ${ns}/${x.PodName} of the failed unit`);
    });
  }

  /** Connect (errors fail the start), then create and follow the pod in the background. */
  async start(unit: UnitContext): Promise<void> {
    await unit.update((s) => {
      s.State = WorkState.Pending;
      s.Detail = "Connecting to Kubernetes";
      s.StdoutSize = 0;
    });
    const ked = (await unit.load()).ExtraData as KubeExtraData;
    const conn = this.#connection(ked);
    if (!ked.KubeNamespace) {
      if (!conn.namespace) throw new Error("could not determine namespace");
      ked.KubeNamespace = conn.namespace;
      await unit.update((s) => {
        (s.ExtraData as KubeExtraData).KubeNamespace = conn.namespace;
      });
    }
    const plan = buildPod(ked, unit.workType);
    const client = new KubeClient(conn);
    const { ac, signal } = this.#track(unit);
    const run = this.#run(unit, client, signal, ked);
    run.runNew(ked, plan).finally(() => this.#done(unit.id, client, ac));
  }

  #done(id: string, client: KubeClient, ac: AbortController): void {
    client.close();
    if (this.#runs.get(id) === ac) this.#runs.delete(id);
  }

  /** Resume a Running unit's log copy; fail a Pending one (deleting its pod if configured). */
  async restart(unit: UnitContext): Promise<void> {
    const s = await unit.load();
    if (isComplete(s.State) || s.State === WorkState.Canceled) return;
    const ked = s.ExtraData as KubeExtraData;
    if (s.State === WorkState.Running && ked.PodName) {
      const client = new KubeClient(this.#connection(ked));
      const { ac, signal } = this.#track(unit);
      unit.logger.info(`[${unit.id}] resuming pod ${ked.KubeNamespace}/${ked.PodName}`);
      this.#run(unit, client, signal, ked).runResumed(ked.KubeNamespace, ked.PodName)
        .finally(() => this.#done(unit.id, client, ac));
      return;
    }
    if (this.#cfg.deletepodonrestart && ked.PodName) {
      await this.#deletePod(unit, ked);
      throw new Error(
        `work unit was pending when the node stopped; pod ${ked.KubeNamespace}/${ked.PodName} deleted (deletepodonrestart)`,
      );
    }
    throw new Error("work unit is not in running state, cannot be restarted");
  }

  async #deletePod(unit: UnitContext, ked: KubeExtraData): Promise<void> {
    if (!ked.PodName) return;
    let client: KubeClient | null = null;
    try {
      client = new KubeClient(this.#connection(ked));
      await client.deletePod(ked.KubeNamespace, ked.PodName);
      unit.logger.info(`[${unit.id}] deleted pod ${ked.KubeNamespace}/${ked.PodName}`);
    } catch (e) {
      unit.logger.warning(
        `[${unit.id}] Pod ${ked.PodName} could not be deleted: ${(e as Error).message}`,
      );
    } finally {
      client?.close();
    }
  }

  /** Stop following, mark Canceled (finished units stay), delete the pod. */
  async cancel(unit: UnitContext): Promise<WorkOpResult> {
    this.#runs.get(unit.id)?.abort();
    this.#runs.delete(unit.id);
    const s = await unit.update((s) => {
      if (isComplete(s.State)) return;
      s.State = WorkState.Canceled;
      s.Detail = "Canceled";
    });
    await this.#deletePod(unit, s.ExtraData as KubeExtraData);
    return "done";
  }

  /** Cancel (which deletes the pod); the engine then removes the unit. */
  async release(unit: UnitContext, _force: boolean): Promise<WorkOpResult> {
    this.#runs.get(unit.id)?.abort();
    this.#runs.delete(unit.id);
    const s = await unit.load().catch(() => null);
    if (s) await this.#deletePod(unit, s.ExtraData as KubeExtraData);
    return "done";
  }

  /** Node shutdown: stop following logs; pods keep running for the next start. */
  close(): void {
    for (const ac of this.#runs.values()) ac.abort();
    this.#runs.clear();
  }
}
