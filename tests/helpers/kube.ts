/**
 * Helpers of the `work-kubernetes` tests: where receptorctl is.
 * @module
 */
const ROOT = new URL("../../", import.meta.url).pathname;

/** receptorctl from the repository's .venv, else PATH; null when there is none. */
export function locateReceptorctlOrNull(): string | null {
  const candidates = [`${ROOT}.venv/bin/receptorctl`];
  for (const d of (Deno.env.get("PATH") ?? "").split(":")) {
    if (d) candidates.push(`${d}/receptorctl`);
  }
  for (const p of candidates) {
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch { /* not here */ }
  }
  return null;
}

/** One change of a pod, as a watch on the API server reported it. */
export interface PodEvent {
  /** ADDED, MODIFIED or DELETED. */
  type: string;
  name: string;
  phase: string;
  /** The waiting/terminated reasons of its containers, e.g. `ImagePullBackOff`. */
  reasons: string[];
  /** When the test saw it (ms since the watch started). */
  atMs: number;
}

/** What {@link watchPods} returns: the events so far, and how to stop. */
export interface PodWatch {
  readonly events: PodEvent[];
  /** The events, one per line, for failure messages. */
  describe(): string;
  stop(): Promise<void>;
}

/** What {@link watchPods} needs of the cluster (scripts/kube_cluster.ts KubeCluster). */
export interface WatchableCluster {
  readonly server: string;
  readonly token: string;
  readonly caPem: string;
  api(
    method: string,
    path: string,
  ): Promise<{ status: number; json: Record<string, unknown> | null }>;
}

function podEvent(type: string, pod: Record<string, unknown>, t0: number): PodEvent {
  const meta = (pod.metadata ?? {}) as Record<string, unknown>;
  const status = (pod.status ?? {}) as Record<string, unknown>;
  const reasons: string[] = [];
  for (const c of (status.containerStatuses ?? []) as Record<string, unknown>[]) {
    for (const s of Object.values((c.state ?? {}) as Record<string, { reason?: string }>)) {
      if (s?.reason) reasons.push(s.reason);
    }
  }
  const phase = String(status.phase ?? "");
  return { type, name: String(meta.name ?? ""), phase, reasons, atMs: Date.now() - t0 };
}

/**
 * Record every change of the pods in `namespace` from now on: a list, then a watch from the
 * list's resourceVersion, so that a pod that lives only for a moment (created, failed and
 * deleted between two polls) is still seen. Resolves once the watch is open.
 */
export async function watchPods(c: WatchableCluster, namespace: string): Promise<PodWatch> {
  const t0 = Date.now();
  const path = `/api/v1/namespaces/${namespace}/pods`;
  const list = await c.api("GET", path);
  if (list.status !== 200) throw new Error(`GET ${path}: ${list.status}`);
  const events: PodEvent[] = [];
  for (const p of (list.json?.items ?? []) as Record<string, unknown>[]) {
    events.push(podEvent("EXISTING", p, t0));
  }
  const rv = (list.json?.metadata as Record<string, string>).resourceVersion;
  const client = Deno.createHttpClient({ caCerts: [c.caPem], http2: false });
  const ac = new AbortController();
  const res = await fetch(`${c.server}${path}?watch=1&resourceVersion=${rv}`, {
    client,
    signal: ac.signal,
    headers: { Authorization: `Bearer ${c.token}` },
  } as RequestInit);
  if (res.status !== 200 || !res.body) {
    client.close();
    throw new Error(`watch ${path}: ${res.status} ${await res.text()}`);
  }
  const reading = (async () => {
    let buf = "";
    for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const ev = JSON.parse(line) as { type: string; object: Record<string, unknown> };
        events.push(podEvent(ev.type, ev.object, t0));
      }
    }
  })().catch(() => {});
  return {
    events,
    describe: () =>
      events.map((e) =>
        `+${e.atMs}ms ${e.type} ${e.name} ${e.phase} ${e.reasons.join(",")}`.trimEnd()
      ).join("\n") || "(no pod events)",
    stop: async () => {
      ac.abort();
      await reading;
      client.close();
    },
  };
}
