/**
 * The sans-IO parts of `work-kubernetes`: runtime-param gating (upstream's texts), the pod
 * manifest, pod status classification, kubeconfig parsing, and the exactly-once log cursor
 * across reconnects (the API server's behaviour on `sinceTime` is reproduced by replaying
 * lines from the start of the cursor's second).
 */
import { assert, assertEquals, assertThrows } from "../helpers/assert.ts";
import {
  buildPod,
  classifyPod,
  finishedOutcome,
  kubeAllocate,
  redactExtra,
  SaveThrottle,
  type WorkKubernetesConfig,
} from "../../src/work/kubernetes_core.ts";
import { LogCursor, parseKubeTime, sinceTimeFor } from "../../src/work/kube_log_cursor.ts";
import { parseKubeconfig } from "../../src/work/kube_config.ts";
import type { Pod } from "../../src/work/kube_client.ts";
import { kubeTimingsFromEnv } from "../../src/work/kubernetes_unit.ts";
import { DEFAULT_KUBE_TIMINGS } from "../../src/work/kubernetes_run.ts";

const AWX_RUNTIME: WorkKubernetesConfig = {
  worktype: "kubernetes-runtime-auth",
  namespace: "",
  image: "",
  command: "",
  params: "",
  authmethod: "runtime",
  kubeconfig: "",
  pod: "",
  allowruntimeauth: true,
  allowruntimecommand: false,
  allowruntimeparams: true,
  allowruntimepod: true,
  deletepodonrestart: true,
  streammethod: "logger",
  verifysignature: false,
};

const noFiles = (p: string): string => {
  throw new Error(`open ${p}: no such file or directory`);
};

Deno.test("params: each runtime param needs its allow flag (upstream texts)", () => {
  const strict = { ...AWX_RUNTIME, allowruntimeauth: false, allowruntimepod: false };
  assertThrows(
    () => kubeAllocate(strict, { secret_kube_pod: "x" }, noFiles),
    "secret_kube_pod provided but not allowed",
  );
  assertThrows(
    () => kubeAllocate(strict, { kube_namespace: "x" }, noFiles),
    "kube_namespace provided but not allowed",
  );
  assertThrows(
    () => kubeAllocate(AWX_RUNTIME, { kube_image: "x", secret_kube_config: "k" }, noFiles),
    "kube_image provided but not allowed",
  );
  assertThrows(
    () => kubeAllocate(AWX_RUNTIME, {}, noFiles),
    "param secret_kube_config must be provided if AuthMethod=runtime",
  );
  const cmd = { ...AWX_RUNTIME, allowruntimecommand: true };
  assertThrows(
    () =>
      kubeAllocate(
        cmd,
        { secret_kube_config: "k", secret_kube_pod: "p", kube_image: "i" },
        noFiles,
      ),
    "params kube_command, kube_image, kube_params not compatible with secret_kube_pod",
  );
  assertThrows(
    () =>
      kubeAllocate(AWX_RUNTIME, { secret_kube_config: "k", pod_pending_timeout: "5 min" }, noFiles),
    "time: unknown unit",
  );
  const withPodFile = { ...AWX_RUNTIME, pod: "/nonexistent/pod.yml" };
  assertThrows(
    () => kubeAllocate(withPodFile, { secret_kube_config: "k" }, noFiles),
    "could not read pod:",
  );
});

Deno.test("params: AWX's submission becomes ExtraData; secrets are redacted", () => {
  const ked = kubeAllocate(AWX_RUNTIME, {
    secret_kube_config: "KUBECONFIG-TEXT",
    secret_kube_pod: "POD-TEXT",
    pod_pending_timeout: "5m",
  }, noFiles);
  assertEquals(ked.KubeConfig, "KUBECONFIG-TEXT");
  assertEquals(ked.KubePod, "POD-TEXT");
  assertEquals(ked.PodPendingTimeout, 300_000);
  const shown = redactExtra(ked) as Record<string, unknown>;
  assertEquals(shown.KubeConfig, "");
  assertEquals(shown.KubePod, "");
  assert(!("PodPendingTimeout" in shown));
  const cmd = kubeAllocate(
    { ...AWX_RUNTIME, authmethod: "incluster", image: "img", params: "-a", namespace: "n" },
    { kube_params: "-b 'c d'" },
    noFiles,
  );
  assertEquals(cmd.Params, "-a -b 'c d'");
});

Deno.test("buildPod: worker container gets stdin; name becomes generateName; namespace", () => {
  const spec = `apiVersion: v1
kind: Pod
metadata:
  name: automation-job-7
  namespace: awx-jobs
  labels: {ansible-awx: x}
spec:
  containers:
  - name: worker
    image: quay.io/ansible/awx-ee:latest
    args: [ansible-runner, worker, --private-data-dir=/runner]
`;
  const ked = kubeAllocate(
    AWX_RUNTIME,
    { secret_kube_config: "k", secret_kube_pod: spec },
    noFiles,
  );
  const plan = buildPod(ked, "kubernetes-runtime-auth");
  assertEquals(plan.namespace, "awx-jobs");
  const m = plan.manifest as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
  assertEquals(m.metadata.generateName, "automation-job-7-");
  assertEquals(m.metadata.name, undefined);
  assertEquals(m.spec.restartPolicy, "Never");
  const c = (m.spec.containers as Record<string, unknown>[])[0];
  assertEquals([c.stdin, c.stdinOnce], [true, true]);
  assertThrows(
    () => buildPod({ ...ked, KubePod: spec.replace("name: worker", "name: other") }, "t"),
    "at least one container must be named worker",
  );
  const simple = buildPod(
    {
      ...ked,
      KubePod: "",
      Image: "busybox",
      Command: "sh -c",
      Params: "'echo hi'",
      KubeNamespace: "n",
    },
    "Kube",
  );
  const sc =
    ((simple.manifest.spec as Record<string, unknown>).containers as Record<string, unknown>[])[0];
  assertEquals(sc.command, ["sh", "-c"]);
  assertEquals(sc.args, ["echo hi"]);
  assertEquals((simple.manifest.metadata as Record<string, unknown>).generateName, "kube-");
});

function pod(status: Pod["status"]): Pod {
  return { metadata: { name: "p", namespace: "n" }, status };
}

Deno.test("classifyPod: running, pending why, image pull failure, exit codes", () => {
  assertEquals(classifyPod(pod({ phase: "Pending" })).kind, "pending");
  const unsched = classifyPod(pod({
    phase: "Pending",
    conditions: [{
      type: "PodScheduled",
      status: "False",
      reason: "Unschedulable",
      message: "0/1 nodes are available",
    }],
  }));
  assertEquals(unsched, { kind: "pending", why: "Unschedulable: 0/1 nodes are available" });
  assertEquals(
    classifyPod(pod({
      phase: "Running",
      conditions: [{ type: "Ready", status: "True" }],
    })).kind,
    "running",
  );
  assertEquals(
    classifyPod(pod({
      phase: "Pending",
      containerStatuses: [{
        name: "worker",
        state: { waiting: { reason: "ImagePullBackOff", message: "nope" } },
      }],
    })),
    { kind: "cannot-start", reason: "ImagePullBackOff", message: "nope" },
  );
  assertEquals(
    classifyPod(pod({
      phase: "Failed",
      containerStatuses: [{
        name: "worker",
        state: { terminated: { exitCode: 3, message: "boom" } },
      }],
    })),
    { kind: "terminated", exitCode: 3, message: "boom" },
  );
  assertEquals(finishedOutcome(0, ""), { ok: true, detail: "Finished" });
  assertEquals(finishedOutcome(3, "boom"), {
    ok: false,
    detail: "container failed with exit code 3: boom",
  });
});

Deno.test("kubeconfig: AWX's shape parses; insecure-skip-tls-verify is refused clearly", () => {
  const text = `---
apiVersion: v1
kind: Config
preferences: {}
clusters:
- name: https://k:6443
  cluster: {server: "https://k:6443", certificate-authority-data: ${btoa("PEM")}}
users:
- name: https://k:6443
  user: {token: tok}
contexts:
- name: https://k:6443
  context: {cluster: "https://k:6443", user: "https://k:6443", namespace: jobs}
current-context: https://k:6443
`;
  const c = parseKubeconfig(text, null);
  assertEquals([c.server, c.caCerts, c.token, c.namespace], [
    "https://k:6443",
    ["PEM"],
    "tok",
    "jobs",
  ]);
  assertThrows(
    () =>
      parseKubeconfig(
        text.replace("certificate-authority-data", "insecure-skip-tls-verify: true, x"),
        null,
      ),
    "insecure-skip-tls-verify is not supported",
  );
  assertThrows(() => parseKubeconfig("current-context: x\n", null), 'context "x" not found');
  assertThrows(() => parseKubeconfig(": : :", null), "kubeconfig is not valid YAML");
});

// --- the cursor -------------------------------------------------------------------------

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A log as the API serves it: [ns since epoch, text] lines. */
type Line = [bigint, string];

function iso(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  return new Date(ms).toISOString().replace(
    /\.\d+Z$/,
    `.${(ns % 1_000_000_000n).toString().padStart(9, "0")}Z`,
  )
    .replace(/0+Z$/, "Z").replace(/\.Z$/, "Z"); // RFC3339Nano trims trailing zeros
}

/** The API's answer for `sinceTime` (second precision): lines at or after it. */
function serve(log: Line[], since: string | undefined): Uint8Array {
  const from = since ? parseKubeTime(since)! : -1n;
  return enc.encode(log.filter(([t]) => t >= from).map(([t, s]) => `${iso(t)} ${s}\n`).join(""));
}

Deno.test("cursor: parses RFC 3339 nano times (trimmed zeros, offsets)", () => {
  assertEquals(parseKubeTime("2026-12-07T00:00:01Z"), 1796601601000000000n);
  assertEquals(parseKubeTime("2026-12-07T00:00:01.5Z"), 1796601601500000000n);
  assertEquals(parseKubeTime("2026-12-07T01:00:01.000000001+01:00"), 1796601601000000001n);
  assertEquals(parseKubeTime("garbage"), null);
  assertEquals(sinceTimeFor({ ts: "1796601601500000000", count: 1 }), "2026-12-07T00:00:01Z");
});

Deno.test("cursor: reconnects at every byte boundary neither lose nor repeat lines", () => {
  const base = 1796601601000000000n;
  // same-time lines (a burst), a second boundary, and a line with spaces and no ASCII
  const log: Line[] = [
    [base, "one"],
    [base, "one"],
    [base + 1n, "two"],
    [base + 999_999_999n, "three  spaced"],
    [base + 1_000_000_000n, "vier \u00fc"],
    [base + 1_000_000_000n, "vier \u00fc"],
    [base + 2_500_000_000n, "last"],
  ];
  const full = dec.decode(serve(log, undefined));
  const want = log.map(([, s]) => `${s}\n`).join("");
  for (let cut = 0; cut <= full.length; cut++) {
    const c = new LogCursor();
    let out = "";
    c.newStream();
    const first = serve(log, undefined).subarray(0, enc.encode(full.slice(0, cut)).length);
    for (const b of c.push(first)) out += dec.decode(b);
    // reconnect from the saved state (as after a restart)
    const c2 = new LogCursor(c.state);
    c2.newStream();
    for (const b of c2.push(serve(log, sinceTimeFor(c2.state)))) out += dec.decode(b);
    for (const b of c2.finish()) out += dec.decode(b);
    assertEquals(out, want, `cut at ${cut}`);
  }
});

Deno.test("cursor: a last line without newline is kept at the end only", () => {
  const c = new LogCursor();
  c.newStream();
  const t = "2026-12-07T00:00:01Z";
  assertEquals(c.push(enc.encode(`${t} a\n${t} tail`)).map((b) => dec.decode(b)), ["a\n"]);
  c.newStream();
  assertEquals(c.push(enc.encode(`${t} a\n${t} tail`)).length, 0);
  assertEquals(c.finish().map((b) => dec.decode(b)), ["tail"]);
});

Deno.test("save throttle: a quiet stream still saves the last chunk of a burst", () => {
  // What a re-opened follow does: the replay chunk, then the next line 40 ms later, then
  // nothing (kwok waits for more). The second chunk falls inside the throttle window.
  const t = new SaveThrottle(250);
  assertEquals(t.dueAfterChunk(1000, true), true, "first chunk saves at once");
  t.saved(1000);
  assertEquals(t.quietDelay(1000, false), null, "nothing unsaved: no trailing save");
  assertEquals(t.dueAfterChunk(1040, true), false, "second chunk is throttled");
  // the cause: without a trailing save, these bytes stay unsaved (StdoutSize stale) until
  // another chunk comes, which a quiet follow never sends
  assertEquals(t.quietDelay(1040, true), 210, "trailing save once the window has passed");
  assertEquals(t.quietDelay(1300, true), 0, "overdue: save at once");
  t.saved(1290);
  assertEquals(t.dueAfterChunk(1400, true), false);
  assertEquals(t.dueAfterChunk(1540, true), true, "steady flow saves every window");
});

Deno.test("timings: every documented RECEPTOR_KUBE_* variable is read, bad values ignored", () => {
  const vars = {
    RECEPTOR_KUBE_POLL_MS: "200",
    RECEPTOR_KUBE_RECONNECT_LIMIT_MS: "3000",
    RECEPTOR_KUBE_ATTACH_GRACE_MS: "1000",
  };
  const saved = Object.keys(vars).map((k) => [k, Deno.env.get(k)] as const);
  try {
    for (const [k, v] of Object.entries(vars)) Deno.env.set(k, v);
    const t = kubeTimingsFromEnv();
    assertEquals([t.pollMs, t.reconnectLimitMs, t.attachGraceMs], [200, 3000, 1000]);
    Deno.env.set("RECEPTOR_KUBE_ATTACH_GRACE_MS", "soon");
    assertEquals(kubeTimingsFromEnv().attachGraceMs, DEFAULT_KUBE_TIMINGS.attachGraceMs);
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
});
