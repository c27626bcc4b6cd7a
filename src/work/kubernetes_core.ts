/**
 * Decisions of the `work-kubernetes` work type, free of I/O: which runtime params a section
 * allows (upstream's texts), the pod manifest a unit creates, what a pod's status means for
 * the unit, and the Details it shows. The I/O shell is kubernetes_unit.ts / kubernetes_run.ts.
 * @module
 */
import { parse as parseYaml } from "yaml";
import { DurationError, formatGoDuration, parseGoDuration } from "../gocompat/duration.ts";
import { combineParams } from "./command_unit.ts";
import type { Pod } from "./kube_client.ts";
import type { SectionBase, WorkKubernetesSection } from "../config/types.ts";
import { shlexSplit } from "../gocompat/shlex.ts";

/** A `work-kubernetes` section (config.md §3.10, control.md §5.5): the typed config keys. */
export type WorkKubernetesConfig = Omit<WorkKubernetesSection, keyof SectionBase>;

/**
 * The unit's ExtraData (upstream's KubeExtraData field names). `KubeConfig` and `KubePod` are
 * secrets: blanked in every control reply. `PodPendingTimeout` (ms, ours) is kept on disk so a
 * restarted node still knows it, and never shown.
 */
export interface KubeExtraData {
  Image: string;
  Command: string;
  Params: string;
  KubeNamespace: string;
  KubeConfig: string;
  KubePod: string;
  PodName: string;
  PodPendingTimeout?: number;
}

/** The name of the container that gets the payload and whose output is the result. */
export const WORKER_CONTAINER = "worker";

/** Container waiting reasons that mean the pod will not start without outside help. */
const START_FAILURES = new Set([
  "ImagePullBackOff",
  "ErrImagePull",
  "InvalidImageName",
  "ErrImageNeverPull",
  "CreateContainerConfigError",
  "CreateContainerError",
]);

/** Reads a file named in the configuration (pod spec, kubeconfig). */
export type ReadFile = (path: string) => string;

/**
 * Validate a submission's params against the section and build the unit's ExtraData
 * (upstream's SetFromParams, same error texts).
 */
export function kubeAllocate(
  cfg: WorkKubernetesConfig,
  params: Record<string, string>,
  read: ReadFile,
): KubeExtraData {
  const ked: KubeExtraData = {
    Image: cfg.image,
    Command: cfg.command,
    Params: "",
    KubeNamespace: cfg.namespace,
    KubeConfig: "",
    KubePod: "",
    PodName: "",
  };
  try {
    ked.KubePod = cfg.pod ? read(cfg.pod) : "";
  } catch (e) {
    throw new Error(`could not read pod: ${(e as Error).message}`);
  }
  try {
    ked.KubeConfig = cfg.kubeconfig ? read(cfg.kubeconfig) : "";
  } catch (e) {
    throw new Error(`could not read kubeconfig: ${(e as Error).message}`);
  }
  const user: Record<string, string> = {};
  const gates: [string, boolean][] = [
    ["kube_command", cfg.allowruntimecommand],
    ["kube_image", cfg.allowruntimecommand],
    ["kube_params", cfg.allowruntimeparams],
    ["kube_namespace", cfg.allowruntimeauth],
    ["secret_kube_config", cfg.allowruntimeauth],
    ["secret_kube_pod", cfg.allowruntimepod],
    ["pod_pending_timeout", cfg.allowruntimeparams],
  ];
  for (const [name, allowed] of gates) {
    const v = params[name];
    if (v === undefined || v === "") continue;
    if (!allowed) throw new Error(`${name} provided but not allowed`);
    user[name] = v;
  }
  if (user.kube_namespace) ked.KubeNamespace = user.kube_namespace;
  if (user.secret_kube_config) ked.KubeConfig = user.secret_kube_config;
  if (cfg.authmethod.toLowerCase() === "runtime" && ked.KubeConfig === "") {
    throw new Error("param secret_kube_config must be provided if AuthMethod=runtime");
  }
  const pod = user.secret_kube_pod ?? "";
  if (pod && (user.kube_params || user.kube_command || user.kube_image)) {
    throw new Error(
      "params kube_command, kube_image, kube_params not compatible with secret_kube_pod",
    );
  }
  if (user.pod_pending_timeout) {
    try {
      ked.PodPendingTimeout = parseGoDuration(user.pod_pending_timeout);
    } catch (e) {
      if (e instanceof DurationError) throw new Error(e.message);
      throw e;
    }
  }
  if (user.kube_command) ked.Command = user.kube_command;
  if (user.kube_image) ked.Image = user.kube_image;
  if (pod) {
    ked.KubePod = pod;
    ked.Image = "";
    ked.Command = "";
  } else if (!ked.KubePod) {
    ked.Params = combineParams(cfg.params, user.kube_params ?? "");
  }
  return ked;
}

/** ExtraData as control replies show it: secrets blanked, private fields dropped. */
export function redactExtra(extra: unknown): unknown {
  if (extra === null || typeof extra !== "object") return extra;
  const e = extra as KubeExtraData;
  return {
    Image: e.Image,
    Command: e.Command,
    Params: e.Params,
    KubeNamespace: e.KubeNamespace,
    KubeConfig: "",
    KubePod: "",
    PodName: e.PodName,
  };
}

/** The manifest to POST and the namespace to POST it to. */
export interface PodPlan {
  namespace: string;
  manifest: Record<string, unknown>;
}

type Obj = Record<string, unknown>;

/**
 * Build the pod for a unit: the user's pod spec (its `worker` container gets stdin), or one
 * `worker` container from image/command/params. Names are generated from the spec's name or
 * the work type; restartPolicy is Never.
 */
export function buildPod(ked: KubeExtraData, workType: string): PodPlan {
  let namespace = ked.KubeNamespace;
  let generateName = `${workType.toLowerCase()}-`;
  let manifest: Obj;
  if (ked.KubePod) {
    let doc: unknown;
    try {
      doc = parseYaml(ked.KubePod);
    } catch (e) {
      throw new Error(`pod spec is not valid YAML or JSON: ${(e as Error).message}`);
    }
    if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
      throw new Error("pod spec must be a mapping (a Pod object)");
    }
    manifest = structuredClone(doc) as Obj;
    const meta = (manifest.metadata ?? {}) as Obj;
    const spec = (manifest.spec ?? {}) as Obj;
    const containers = Array.isArray(spec.containers) ? spec.containers as Obj[] : [];
    const worker = containers.find((c) => c?.name === WORKER_CONTAINER);
    if (!worker) throw new Error("at least one container must be named worker");
    worker.stdin = true;
    worker.stdinOnce = true;
    spec.restartPolicy = "Never";
    if (typeof meta.namespace === "string" && meta.namespace) namespace = meta.namespace;
    if (typeof meta.name === "string" && meta.name) generateName = `${meta.name}-`;
    delete meta.name;
    meta.generateName = generateName;
    meta.namespace = namespace;
    manifest.metadata = meta;
    manifest.spec = spec;
  } else {
    manifest = {
      metadata: { generateName, namespace },
      spec: {
        containers: [{
          name: WORKER_CONTAINER,
          image: ked.Image,
          command: ked.Command ? shlexSplit(ked.Command) : undefined,
          args: ked.Params ? shlexSplit(ked.Params) : undefined,
          stdin: true,
          stdinOnce: true,
          tty: false,
        }],
        restartPolicy: "Never",
      },
    };
  }
  manifest.apiVersion = "v1";
  manifest.kind = "Pod";
  if (!namespace) throw new Error("could not determine namespace");
  return { namespace, manifest };
}

/** What a pod's status means for its unit. */
export type PodView =
  | { kind: "pending"; why: string }
  | { kind: "running" }
  | { kind: "cannot-start"; reason: string; message: string }
  | { kind: "terminated"; exitCode: number; message: string };

/** Classify a pod (upstream's podRunningAndReady, plus the worker's exit status). */
export function classifyPod(pod: Pod): PodView {
  const st = pod.status ?? {};
  const worker = (st.containerStatuses ?? []).find((c) => c.name === WORKER_CONTAINER) ??
    st.containerStatuses?.[0];
  if (st.phase === "Succeeded" || st.phase === "Failed") {
    const t = worker?.state?.terminated;
    const exitCode = t ? t.exitCode : st.phase === "Succeeded" ? 0 : -1;
    const message = t?.message || (st.phase === "Failed" ? st.message || st.reason || "" : "");
    return { kind: "terminated", exitCode, message };
  }
  const waiting = worker?.state?.waiting;
  if (waiting?.reason && START_FAILURES.has(waiting.reason)) {
    return { kind: "cannot-start", reason: waiting.reason, message: waiting.message ?? "" };
  }
  const ready = (st.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
  if (ready || (st.phase === "Running" && worker?.state?.running)) return { kind: "running" };
  return { kind: "pending", why: pendingWhy(pod) };
}

function pendingWhy(pod: Pod): string {
  const st = pod.status ?? {};
  const sched = (st.conditions ?? []).find((c) => c.type === "PodScheduled");
  if (sched && sched.status === "False") {
    return `${sched.reason ?? "not scheduled"}${sched.message ? `: ${sched.message}` : ""}`;
  }
  const w = (st.containerStatuses ?? []).find((c) => c.name === WORKER_CONTAINER)?.state?.waiting;
  if (w?.reason) return `${w.reason}${w.message ? `: ${w.message}` : ""}`;
  return `phase ${st.phase ?? "Pending"}`;
}

/** Detail of a unit whose pod cannot start (image pull failure, bad container config). */
export function cannotStartDetail(v: { reason: string; message: string }): string {
  return `Error creating pod: container failed to start, ${v.reason}${
    v.message ? `: ${v.message}` : ""
  }`;
}

/** Detail of a unit whose pod stayed pending past `pod_pending_timeout`. */
export function pendingTimeoutDetail(timeoutMs: number, why: string): string {
  return `Error creating pod: pod still pending after pod_pending_timeout ${
    formatGoDuration(BigInt(Math.round(timeoutMs * 1e6)))
  }: ${why}`;
}

/** Final state for a finished worker container: Succeeded `Finished`, or Failed with why. */
export function finishedOutcome(exitCode: number, message: string): {
  ok: boolean;
  detail: string;
} {
  if (exitCode === 0) return { ok: true, detail: "Finished" };
  const why = message ? `: ${message}` : "";
  if (exitCode < 0) return { ok: false, detail: `Pod failed${why}` };
  return { ok: false, detail: `container failed with exit code ${exitCode}${why}` };
}

/**
 * When a unit persists its log position (cursor + stdout size, which is also the StdoutSize
 * its status reports): at most every `everyMs` while chunks flow, and once more when the
 * stream goes quiet with bytes still unsaved. Without that trailing save, the last chunk of a
 * burst that came within `everyMs` of the previous save stayed unsaved and unreported for as
 * long as the followed stream stayed quiet, i.e. forever for a waiting follow: this is what
 * made output seem to "stop" after a re-opened follow (a replay chunk and the next line
 * arrive close together there).
 */
export class SaveThrottle {
  #last = Number.NEGATIVE_INFINITY;

  /** @param everyMs the least time between two saves while chunks flow */
  constructor(readonly everyMs: number) {}

  /** After a chunk: save now? (`dirty` = bytes not yet saved). */
  dueAfterChunk(now: number, dirty: boolean): boolean {
    return dirty && now - this.#last >= this.everyMs;
  }

  /** How long to wait for the next chunk before saving anyway; null when nothing is unsaved. */
  quietDelay(now: number, dirty: boolean): number | null {
    if (!dirty) return null;
    return Math.max(0, this.#last + this.everyMs - now);
  }

  /** A save happened at `now`. */
  saved(now: number): void {
    this.#last = now;
  }
}
