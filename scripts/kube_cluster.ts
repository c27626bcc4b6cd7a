/**
 * A local Kubernetes control plane on free loopback ports, for the `work-kubernetes` tests
 * and for trying the work type by hand: Debian's etcd, kube-apiserver and kube-scheduler
 * v1.34.3 and kwok v0.7.0 (all installed by scripts/peers/kube.ts), its own CA and serving
 * certificate (openssl), a static admin token, service-account keys, one simulated node, and
 * a kubeconfig. kwok plays the kubelet: pods get a lifecycle from the stages below, and pod
 * logs come from one CRI-format file per namespace that the caller writes
 * ({@link KubeCluster.appendLog}).
 *
 * Test stages (kwok `Stage` objects):
 * - a pod whose image is {@link BAD_IMAGE} waits with `ImagePullBackOff`;
 * - any other pod on the node becomes Running and Ready;
 * - a Running pod annotated `receptor.test/exit-code: "<n>"` ends with that exit code
 *   (Succeeded for 0, else Failed);
 * - a deleted pod disappears.
 *
 * By hand: `./node_modules/deno/deno run -A scripts/kube_cluster.ts [namespace...]` starts
 * one and prints the kubeconfig path; Ctrl-C stops it.
 * @module
 */
import { kubeBinaries } from "./peers/kube.ts";
import { freePort } from "./free_port.ts";

/** Image name that the test stages make fail to pull. */
export const BAD_IMAGE = "registry.invalid/no-such-image:1";
/** Annotation that makes a Running pod exit with its value as exit code. */
export const EXIT_ANNOTATION = "receptor.test/exit-code";
/**
 * Server-side watch-list is off: with it (on by default since 1.32) the API server turns every
 * watch that asks for resourceVersion "0" into a streaming "watch list", which it then refuses
 * over Debian's etcd 3.4 ("the required storage feature RequestWatchProgress is disabled").
 * kwok's informers watch from "0", so each of their watches failed at once and kwok only saw
 * pod changes on its re-lists, which back off exponentially (1 s, 2 s, 4 s, ... capped near a
 * minute): the first pod ran at once, later ones after 5, 20, 40 s. With the gate off the
 * watches stay open and every stage applies within a second.
 */
const APISERVER_FEATURE_GATES = "--feature-gates=WatchList=false";
/** The simulated node's name. */
export const NODE_NAME = "kwok-node-0";

/** Options of {@link startKubeCluster}. */
export interface KubeClusterOptions {
  /** Namespaces to create (each gets a `default` service account and its own log file). */
  namespaces: string[];
  /** Working directory (default: a new temp dir, removed by stop()). */
  dir?: string;
}

async function sh(cmd: string, args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Missing binaries, as `missing <peer>: <how>` lines (empty when all are there). */
export function missingKubePeers(): string[] {
  const how = "run ./node_modules/deno/deno run -A scripts/peers/kube.ts";
  const out: string[] = [];
  for (const [name, path] of Object.entries(kubeBinaries())) {
    try {
      Deno.statSync(path);
    } catch {
      out.push(`missing ${name} (${path}): ${how}`);
    }
  }
  return out;
}

async function makePki(dir: string): Promise<void> {
  const o = "openssl";
  await sh(o, [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=kube-test-ca",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
  ], dir);
  await Deno.writeTextFile(
    `${dir}/san.ext`,
    "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n" +
      "extendedKeyUsage=serverAuth,clientAuth\n",
  );
  await sh(o, [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    "/CN=kube-apiserver/O=system:masters",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
  ], dir);
  await sh(o, [
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    "san.ext",
    "-out",
    "server.crt",
  ], dir);
  await sh(o, ["genrsa", "-out", "sa.key", "2048"], dir);
  await sh(o, ["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"], dir);
}

/** The head of a kwok pod `Stage` named `name`, up to its selector's expressions. */
function stageHead(name: string): string {
  return `apiVersion: kwok.x-k8s.io/v1alpha1\nkind: Stage\nmetadata:\n  name: ${name}\nspec:\n` +
    `  resourceRef:\n    apiGroup: v1\n    kind: Pod\n  selector:\n    matchExpressions:\n`;
}

function podStages(): string {
  const notDeleted = `    - key: '.metadata.deletionTimestamp'\n      operator: 'DoesNotExist'\n`;
  const containers = (state: string, ready: boolean) =>
    `      containerStatuses:\n      {{ range .spec.containers }}\n      - image: {{ .image | Quote }}\n` +
    `        name: {{ .name | Quote }}\n        ready: ${ready}\n        restartCount: 0\n` +
    `        state:\n${state}      {{ end }}\n`;
  const pullBackoff = `${stageHead("pod-image-pull-backoff")}${notDeleted}    - key: '.status.phase'
      operator: 'In'
      values: ['Pending']
    - key: '.spec.containers.[].image'
      operator: 'In'
      values: ['${BAD_IMAGE}']
    - key: '.status.containerStatuses.[].state.waiting.reason'
      operator: 'NotIn'
      values: ['ImagePullBackOff']
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        type: ContainersReady
${
    containers(
      `          waiting:\n            reason: ImagePullBackOff\n            message: 'Back-off pulling image "{{ .image }}"'\n`,
      false,
    )
  }      phase: Pending
`;
  const ready = `${stageHead("pod-ready")}${notDeleted}    - key: '.status.phase'
      operator: 'In'
      values: ['Pending']
    - key: '.spec.containers.[].image'
      operator: 'NotIn'
      values: ['${BAD_IMAGE}']
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'NotIn'
      values: ['True']
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: ContainersReady
${
    containers(`          running:\n            startedAt: {{ $now | Quote }}\n`, true)
  }      hostIP: "127.0.0.1"
      podIP: "10.0.0.2"
      phase: Running
      startTime: {{ $now | Quote }}
`;
  const complete = `${
    stageHead("pod-complete-on-annotation")
  }${notDeleted}    - key: '.status.phase'
      operator: 'In'
      values: ['Running']
    - key: '.metadata.annotations["${EXIT_ANNOTATION}"]'
      operator: 'Exists'
  next:
    statusTemplate: |
      {{ $now := Now }}
      {{ $code := index .metadata.annotations "${EXIT_ANNOTATION}" }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        type: Ready
${
    containers(
      `          terminated:\n            exitCode: {{ $code }}\n            finishedAt: {{ $now | Quote }}\n            reason: {{ if eq $code "0" }}Completed{{ else }}Error{{ end }}\n            startedAt: {{ $now | Quote }}\n`,
      false,
    )
  }      phase: {{ if eq $code "0" }}Succeeded{{ else }}Failed{{ end }}
`;
  const del = `${stageHead("pod-delete")}    - key: '.metadata.deletionTimestamp'
      operator: 'Exists'
  next:
    delete: true
`;
  return [pullBackoff, ready, complete, del].join("---\n");
}

function kwokConfig(dir: string, namespaces: string[]): string {
  const docs = [podStages()];
  for (const ns of namespaces) {
    docs.push(`apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: logs-${ns}
spec:
  selector:
    matchNamespaces: ['${ns}']
  logs:
  - logsFile: ${dir}/logs/${ns}.log
    follow: true
`);
    docs.push(`apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterAttach
metadata:
  name: attach-${ns}
spec:
  selector:
    matchNamespaces: ['${ns}']
  attaches:
  - logsFile: ${dir}/logs/${ns}.attach
`);
  }
  return docs.join("---\n");
}

/** A running local cluster. */
export class KubeCluster {
  readonly procs = new Map<string, Deno.ChildProcess>();
  readonly token = crypto.randomUUID().replaceAll("-", "");
  readonly apiPort = freePort();
  readonly kwokPort = freePort();
  readonly etcdPort = freePort();
  #http: Deno.HttpClient | null = null;
  #lastTs = 0n;

  constructor(readonly dir: string, readonly namespaces: string[], readonly ownDir: boolean) {}

  /** API server URL. */
  get server(): string {
    return `https://127.0.0.1:${this.apiPort}`;
  }

  /** PEM of the cluster CA. */
  get caPem(): string {
    return Deno.readTextFileSync(`${this.dir}/ca.crt`);
  }

  /** Path of an admin kubeconfig (context namespace: the first namespace). */
  get kubeconfigPath(): string {
    return `${this.dir}/kubeconfig`;
  }

  /** An admin kubeconfig shaped like AWX builds one (token, CA data, namespace). */
  kubeconfig(namespace: string, server = this.server): string {
    const ca = btoa(this.caPem);
    return [
      "---",
      "apiVersion: v1",
      "kind: Config",
      "preferences: {}",
      "clusters:",
      `- name: ${server}`,
      "  cluster:",
      `    server: ${server}`,
      `    certificate-authority-data: ${ca}`,
      "users:",
      `- name: ${server}`,
      "  user:",
      `    token: ${this.token}`,
      "contexts:",
      `- name: ${server}`,
      "  context:",
      `    cluster: ${server}`,
      `    user: ${server}`,
      `    namespace: ${namespace}`,
      `current-context: ${server}`,
      "",
    ].join("\n");
  }

  /** Call the API as admin; returns status and parsed JSON (null when not JSON). */
  async api(method: string, path: string, body?: unknown, contentType = "application/json") {
    this.#http ??= Deno.createHttpClient({ caCerts: [this.caPem], http2: false });
    const res = await fetch(`${this.server}${path}`, {
      method,
      client: this.#http,
      headers: { Authorization: `Bearer ${this.token}`, "Content-Type": contentType },
      body: body === undefined ? undefined : JSON.stringify(body),
    } as RequestInit);
    const text = await res.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch { /* not JSON */ }
    return { status: res.status, json: json as Record<string, unknown> | null, text };
  }

  /** The CRI log file kwok serves as the log of every pod in `namespace`. */
  logFile(namespace: string): string {
    return `${this.dir}/logs/${namespace}.log`;
  }

  /**
   * Append lines (without newline) to a namespace's pod log in CRI format. Each call's lines
   * get increasing timestamps unless `sameTimestamp` (then they all share one).
   */
  async appendLog(namespace: string, lines: string[], sameTimestamp = false): Promise<void> {
    let text = "";
    let ts = BigInt(Date.now()) * 1_000_000n;
    if (ts <= this.#lastTs) ts = this.#lastTs + 1n;
    for (const line of lines) {
      if (line.includes("\n")) throw new Error("appendLog: one line at a time");
      text += `${criTime(ts)} stdout F ${line}\n`;
      this.#lastTs = ts;
      if (!sameTimestamp) ts += 1000n;
    }
    await Deno.writeTextFile(this.logFile(namespace), text, { append: true });
  }

  #spawn(name: string, cmd: string, args: string[]): void {
    // each stream drains into its own file: an unread pipe would stall the component
    const open = (suffix: string) =>
      Deno.openSync(`${this.dir}/${name}${suffix}.log`, {
        write: true,
        create: true,
        append: true,
      });
    const p = new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    drainTo(p.stdout, open(".out")).catch(() => {});
    drainTo(p.stderr, open("")).catch(() => {});
    this.procs.set(name, p);
  }

  /** The last lines of a component's log (the file is removed with the cluster's dir). */
  #logTail(name: string, lines = 25): string {
    try {
      return Deno.readTextFileSync(`${this.dir}/${name}.log`).trimEnd().split("\n")
        .slice(-lines).join("\n");
    } catch (e) {
      return `(log unreadable: ${e instanceof Error ? e.message : e})`;
    }
  }

  async #waitUntil(what: string, check: () => Promise<boolean>, ms = 120_000): Promise<void> {
    const deadline = Date.now() + ms;
    let last = "";
    while (Date.now() < deadline) {
      for (const [name, p] of this.procs) {
        const st = await Promise.race([p.status, new Promise((r) => setTimeout(() => r(null), 0))]);
        if (st) {
          throw new Error(
            `${name} exited while waiting for ${what}; the end of ${this.dir}/${name}.log:\n` +
              this.#logTail(name),
          );
        }
      }
      try {
        if (await check()) return;
      } catch (e) {
        last = (e as Error).message;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`timed out waiting for ${what} ${last}`);
  }

  async startEtcd(): Promise<void> {
    const peer = freePort();
    const url = `http://127.0.0.1:${this.etcdPort}`;
    this.#spawn("etcd", kubeBinaries().etcd, [
      "--name=kube-test",
      `--data-dir=${this.dir}/etcd`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-cluster=kube-test=http://127.0.0.1:${peer}`,
      "--log-level=warn",
    ]);
    await this.#waitUntil("etcd", async () => (await fetch(`${url}/health`)).ok);
  }

  async startApiserver(): Promise<void> {
    const d = this.dir;
    await Deno.writeTextFile(`${d}/tokens.csv`, `${this.token},admin,admin,"system:masters"\n`);
    this.#spawn("kube-apiserver", kubeBinaries().apiserver, [
      `--etcd-servers=http://127.0.0.1:${this.etcdPort}`,
      APISERVER_FEATURE_GATES,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${this.apiPort}`,
      `--tls-cert-file=${d}/server.crt`,
      `--tls-private-key-file=${d}/server.key`,
      `--client-ca-file=${d}/ca.crt`,
      `--token-auth-file=${d}/tokens.csv`,
      `--service-account-key-file=${d}/sa.pub`,
      `--service-account-signing-key-file=${d}/sa.key`,
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      "--service-cluster-ip-range=10.96.0.0/16",
      `--kubelet-client-certificate=${d}/server.crt`,
      `--kubelet-client-key=${d}/server.key`,
      "--kubelet-preferred-address-types=InternalIP",
      "--authorization-mode=RBAC",
      "--endpoint-reconciler-type=none",
      // it taints new nodes not-ready; the controller-manager that would lift it is not run
      "--disable-admission-plugins=TaintNodesByCondition",
      "--enable-priority-and-fairness=false",
      "--audit-policy-file=" + `${d}/audit-policy.yaml`,
      "--audit-log-path=" + `${d}/audit.log`,
      "--v=0",
    ]);
    await this.#waitUntil("kube-apiserver /readyz", async () => {
      return (await this.api("GET", "/readyz")).status === 200;
    });
  }

  startScheduler(): void {
    this.#spawn("kube-scheduler", kubeBinaries().scheduler, [
      `--kubeconfig=${this.kubeconfigPath}`,
      `--authentication-kubeconfig=${this.kubeconfigPath}`,
      `--authorization-kubeconfig=${this.kubeconfigPath}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${freePort()}`,
      "--leader-elect=false",
    ]);
  }

  /** Start (or restart) kwok. */
  startKwok(): void {
    this.#spawn("kwok", kubeBinaries().kwok, [
      `--kubeconfig=${this.kubeconfigPath}`,
      `--config=${this.dir}/kwok.yaml`,
      "--manage-all-nodes=true",
      "--node-ip=127.0.0.1",
      `--node-name=${NODE_NAME}`,
      `--node-port=${this.kwokPort}`,
      `--server-address=127.0.0.1:${this.kwokPort}`,
      `--tls-cert-file=${this.dir}/server.crt`,
      `--tls-private-key-file=${this.dir}/server.key`,
      "--node-lease-duration-seconds=0",
    ]);
  }

  /** Stop one component by PID (SIGTERM, then SIGKILL after 5 s). */
  async stopComponent(name: string): Promise<void> {
    const p = this.procs.get(name);
    if (!p) return;
    this.procs.delete(name);
    try {
      p.kill("SIGTERM");
    } catch { /* gone */ }
    const t = setTimeout(() => {
      try {
        p.kill("SIGKILL");
      } catch { /* gone */ }
    }, 5000);
    await p.status;
    clearTimeout(t);
  }

  /** Create the namespaces, their `default` service accounts, and the simulated node. */
  async populate(): Promise<void> {
    for (const ns of this.namespaces) {
      await Deno.writeTextFile(this.logFile(ns), "", { append: true });
      // kwok follows this file as an attach's output. It must exist: without it kwok ends
      // every attach at once, racing our node's stdin (under load the node saw the attach
      // closed before it had half-closed stdin and failed the unit). Empty, the attach stays
      // open like a kubelet's until the node closes it.
      await Deno.writeTextFile(`${this.dir}/logs/${ns}.attach`, "", { append: true });
      if (ns !== "default") {
        await this.#create("/api/v1/namespaces", { metadata: { name: ns } });
      }
    }
    for (const ns of this.namespaces) {
      await this.#waitUntil(`namespace ${ns}`, async () => {
        const r = await this.api("POST", `/api/v1/namespaces/${ns}/serviceaccounts`, {
          metadata: { name: "default" },
        });
        return r.status === 201 || r.status === 409;
      });
    }
    await this.#create("/api/v1/nodes", {
      metadata: {
        name: NODE_NAME,
        annotations: { "kwok.x-k8s.io/node": "fake" },
        labels: { "kubernetes.io/hostname": NODE_NAME, type: "kwok" },
      },
    });
  }

  async #create(path: string, body: unknown): Promise<void> {
    const r = await this.api("POST", path, body);
    if (r.status !== 201 && r.status !== 409) {
      throw new Error(`POST ${path}: ${r.status} ${r.text}`);
    }
  }

  /** Wait until the node is Ready (kwok runs and manages it). */
  async waitNodeReady(): Promise<void> {
    await this.#waitUntil("node Ready", async () => {
      const r = await this.api("GET", `/api/v1/nodes/${NODE_NAME}`);
      const conds = ((r.json?.status as Record<string, unknown>)?.conditions ?? []) as {
        type: string;
        status: string;
      }[];
      return conds.some((c) => c.type === "Ready" && c.status === "True");
    });
  }

  /** Restart kwok (the simulated kubelet: open log streams drop). */
  async restartKwok(): Promise<void> {
    await this.stopComponent("kwok");
    this.startKwok();
    // the node stays Ready across the restart, so that says nothing: wait for kwok's server
    await this.waitKwokServing();
    await this.waitNodeReady();
  }

  /** Wait until kwok's kubelet server accepts connections. */
  async waitKwokServing(): Promise<void> {
    await this.#waitUntil("kwok serving", async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: this.kwokPort });
      conn.close();
      return true;
    });
  }

  /** Stop everything (kwok, scheduler, API server, etcd) by PID; remove the temp dir. */
  async stop(): Promise<void> {
    this.#http?.close();
    this.#http = null;
    for (const n of ["kwok", "kube-scheduler", "kube-apiserver", "etcd"]) {
      await this.stopComponent(n);
    }
    if (this.ownDir) await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Copy a component's output into its log file chunk by chunk. Not `pipeTo(file.writable)`:
 * with that (Deno 2.9) nothing reached the file before the component exited, so a failing
 * test's dump of kwok's log missed everything the running kwok had done.
 */
async function drainTo(stream: ReadableStream<Uint8Array>, file: Deno.FsFile): Promise<void> {
  try {
    for await (const chunk of stream) {
      for (let off = 0; off < chunk.length;) off += await file.write(chunk.subarray(off));
    }
  } finally {
    file.close();
  }
}

function criTime(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const frac = (ns % 1_000_000_000n).toString().padStart(9, "0");
  return new Date(ms).toISOString().replace(/\.\d+Z$/, `.${frac}Z`);
}

/** Start a cluster (throws `missing …` when a peer binary is not installed). */
export async function startKubeCluster(opts: KubeClusterOptions): Promise<KubeCluster> {
  const missing = missingKubePeers();
  if (missing.length) throw new Error(missing.join("; "));
  const ownDir = !opts.dir;
  const dir = opts.dir ?? await Deno.makeTempDir({ prefix: "receptor-kube-" });
  const c = new KubeCluster(dir, opts.namespaces, ownDir);
  try {
    await Deno.mkdir(`${dir}/logs`, { recursive: true });
    await makePki(dir);
    await Deno.writeTextFile(`${dir}/kwok.yaml`, kwokConfig(dir, opts.namespaces));
    await Deno.writeTextFile(
      `${dir}/audit-policy.yaml`,
      "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n" +
        "- level: Metadata\n  resources:\n  - group: ''\n    resources: ['pods/attach', 'pods/log']\n" +
        "- level: None\n",
    );
    await c.startEtcd();
    await c.startApiserver();
    await Deno.writeTextFile(c.kubeconfigPath, c.kubeconfig(opts.namespaces[0] ?? "default"));
    await c.populate();
    c.startScheduler();
    c.startKwok();
    await c.waitKwokServing();
    await c.waitNodeReady();
    return c;
  } catch (e) {
    await c.stop();
    throw e;
  }
}

if (import.meta.main) {
  const namespaces = Deno.args.length ? Deno.args : ["default"];
  const c = await startKubeCluster({ namespaces });
  console.log(`API server ${c.server}`);
  console.log(`kubeconfig ${c.kubeconfigPath}`);
  console.log(`pod logs: ${namespaces.map((n) => c.logFile(n)).join(", ")}`);
  console.log("Ctrl-C stops the cluster");
  const stop = async () => {
    await c.stop();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}
