/**
 * Peer installer: a real Kubernetes control plane for the `work-kubernetes` tests.
 *
 * - `kube-apiserver` v1.34.3, built from the `k8s.io/kubernetes` Go module through a small
 *   wrapper module whose `replace` lines pin its `./staging/...` modules to the matching
 *   `k8s.io/*` v0.34.3 releases (the monorepo's own go.mod points them at local paths, which do
 *   not exist inside the module zip).
 *   `kube-scheduler` from the same module (pods need a node; kwok simulates the kubelet only).
 * - `kwok` v0.7.0 (`go install`), which simulates nodes, pods, logs and attach.
 * - Debian's `etcd-server` (apt-get).
 *
 * Binaries are cached under `$RECEPTOR_TEST_CACHE/kube/` (default `~/.cache/receptor-deno`).
 * Idempotent: a second run only checks the files. Run alone with
 * `./node_modules/deno/deno run -A scripts/peers/kube.ts`.
 * @module
 */

/** Kubernetes version of the API server we build. */
export const KUBE_VERSION = "v1.34.3";
/** kwok version. */
export const KWOK_VERSION = "v0.7.0";

/** The cache directory holding `kube-apiserver` and `kwok`. */
export function kubeCacheDir(): string {
  const base = Deno.env.get("RECEPTOR_TEST_CACHE") ??
    `${Deno.env.get("HOME") ?? "/tmp"}/.cache/receptor-deno`;
  return `${base}/kube`;
}

/** Paths of the three binaries the local cluster needs. */
export function kubeBinaries(): {
  apiserver: string;
  scheduler: string;
  kwok: string;
  etcd: string;
} {
  const dir = kubeCacheDir();
  return {
    apiserver: `${dir}/kube-apiserver-${KUBE_VERSION}`,
    scheduler: `${dir}/kube-scheduler-${KUBE_VERSION}`,
    kwok: `${dir}/kwok-${KWOK_VERSION}`,
    etcd: "/usr/bin/etcd",
  };
}

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.stat(p);
    return true;
  } catch {
    return false;
  }
}

async function run(cmd: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd: opts.cwd,
    env: opts.env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-5).join(" | ");
    throw new Error(`${cmd.join(" ")} failed: ${err}`);
  }
  return text;
}

async function ensureEtcd(): Promise<void> {
  if (await exists(kubeBinaries().etcd)) return;
  try {
    await run(["apt-get", "install", "-y", "etcd-server"]);
  } catch {
    await run(["apt-get", "update"]);
    await run(["apt-get", "install", "-y", "etcd-server"]);
  }
}

async function ensureKwok(): Promise<void> {
  const target = kubeBinaries().kwok;
  if (await exists(target)) return;
  const gobin = `${kubeCacheDir()}/gobin`;
  await run(["go", "install", `sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}`], {
    env: { GOBIN: gobin, GOFLAGS: "-buildvcs=false" },
  });
  await Deno.rename(`${gobin}/kwok`, target);
}

/** The staging modules the monorepo's go.mod replaces with local paths. */
async function stagingModules(): Promise<string[]> {
  const info = JSON.parse(
    await run(["go", "mod", "download", "-json", `k8s.io/kubernetes@${KUBE_VERSION}`]),
  ) as { GoMod: string };
  const gomod = await Deno.readTextFile(info.GoMod);
  const mods = new Set<string>();
  for (const m of gomod.matchAll(/(k8s\.io\/[\w.\-/]+)\s*=>\s*\.\/staging\//g)) mods.add(m[1]);
  if (mods.size === 0) throw new Error("no ./staging replace lines in k8s.io/kubernetes go.mod");
  return [...mods].sort();
}

/** Build `cmd/<name>` of k8s.io/kubernetes into `target` (through the wrapper module). */
async function ensureKubeCommand(name: string, target: string): Promise<void> {
  if (await exists(target)) return;
  const dir = `${kubeCacheDir()}/apiserver-wrapper`;
  await Deno.mkdir(dir, { recursive: true });
  const staging = await stagingModules();
  const stagingVersion = KUBE_VERSION.replace(/^v1\./, "v0.");
  const gomod = [
    "module receptor-deno/kube-apiserver-wrapper",
    "",
    "go 1.24",
    "",
    `require k8s.io/kubernetes ${KUBE_VERSION}`,
    "",
    ...staging.map((m) => `replace ${m} => ${m} ${stagingVersion}`),
    "",
  ].join("\n");
  await Deno.writeTextFile(`${dir}/go.mod`, gomod);
  await Deno.writeTextFile(
    `${dir}/tools.go`,
    `//go:build tools\n\npackage tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kube-scheduler"\n)\n`,
  );
  const env = { GOFLAGS: "-mod=mod -buildvcs=false" };
  await run(["go", "mod", "tidy", "-e"], { cwd: dir, env });
  await run(["go", "build", "-o", `${target}.tmp`, `k8s.io/kubernetes/cmd/${name}`], {
    cwd: dir,
    env,
  });
  await Deno.rename(`${target}.tmp`, target);
}

/** Install all three; returns the failures (empty when everything is ready). */
export async function ensureKube(): Promise<string[]> {
  await Deno.mkdir(kubeCacheDir(), { recursive: true });
  const failures: string[] = [];
  const bins = kubeBinaries();
  const steps: [string, () => Promise<void>, string][] = [
    ["etcd", ensureEtcd, kubeBinaries().etcd],
    ["kwok", ensureKwok, kubeBinaries().kwok],
    ["kube-apiserver", () => ensureKubeCommand("kube-apiserver", bins.apiserver), bins.apiserver],
    ["kube-scheduler", () => ensureKubeCommand("kube-scheduler", bins.scheduler), bins.scheduler],
  ];
  for (const [name, fn, path] of steps) {
    const t0 = Date.now();
    try {
      await fn();
      console.log(`ready ${name}: ${path} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message}`);
    }
  }
  return failures;
}

if (import.meta.main) {
  const failures = await ensureKube();
  for (const f of failures) console.error(`cannot install ${f}`);
  if (failures.length) Deno.exit(1);
}
